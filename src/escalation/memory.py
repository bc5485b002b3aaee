"""Give memory that finished blocks freed back to the operating system.

A long streamed job frees each block's tables after writing them, but the C
allocator keeps the freed pages for reuse: glibc's heaps fragment around the
objects that stay, and Arrow's allocator keeps a cache of its own.  Over a
million-run job that is a few hundred megabytes the process holds and never uses
again.  :func:`release_memory` asks both to hand free pages back.

The other way round, a process whose allocator hands every large array back at
once pays for it in page faults: :func:`reuse_large_arrays` undoes that where a
launcher (Dask's nanny) has fixed glibc's thresholds.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys
from collections.abc import Callable
from typing import Any

import pyarrow as pa

__all__ = ["release_memory", "reuse_large_arrays"]

_FIXED_BY = (
    "MALLOC_TRIM_THRESHOLD_",
    "MALLOC_TOP_PAD_",
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_MMAP_MAX_",
)
"""Environment variables that fix glibc's allocation thresholds for a process."""
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
"""``mallopt``'s parameters (glibc's ``malloc.h``)."""
LARGEST_HEAP_ARRAY = 32 * 1024 * 1024
"""The mmap threshold glibc's own adjustment rises to on 64-bit systems (its
``DEFAULT_MMAP_THRESHOLD_MAX``); it keeps the top of the heap up to twice that."""


@functools.cache
def _libc_function(name: str) -> Any:
    """A glibc function, or None where the C library has none (macOS, musl)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return getattr(ctypes.CDLL(None), name, None)
    except OSError:  # pragma: no cover - a static interpreter
        return None


@functools.cache
def reuse_large_arrays() -> bool:
    """Let this process reuse the memory of the large arrays it frees (once a process).

    glibc adjusts its thresholds as a program runs: once a large array it mapped is
    freed, arrays up to that size come from the heap and are reused.  Setting any of
    them (``MALLOC_TRIM_THRESHOLD_`` and its kind) stops that; Dask's nanny sets
    ``MALLOC_TRIM_THRESHOLD_`` for its workers, so there every array above 128 kB (a
    block's row of 16,000 runs) is mapped afresh, and its pages fault in again, each
    time: a block of 50,000 runs spent a third of its time so.  Where the environment
    has fixed the thresholds, and left the mmap threshold alone, this sets them to
    what glibc's adjustment reaches (:data:`LARGEST_HEAP_ARRAY`, the heap's top kept
    up to twice that).  A finished block is trimmed by :func:`release_memory`.

    Returns
    -------
    bool
        Whether the thresholds were set.
    """
    fixed = [name for name in _FIXED_BY if name in os.environ]
    if not fixed or "MALLOC_MMAP_THRESHOLD_" in fixed:
        return False
    mallopt = _libc_function("mallopt")
    if mallopt is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(
        mallopt(_M_MMAP_THRESHOLD, LARGEST_HEAP_ARRAY)
        and mallopt(_M_TRIM_THRESHOLD, 2 * LARGEST_HEAP_ARRAY)
    )


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where the C library has none."""
    function = _libc_function("malloc_trim")
    if function is not None:
        function.argtypes = [ctypes.c_size_t]
        function.restype = ctypes.c_int
    return function


def release_memory() -> bool:
    """Return freed heap pages to the operating system.

    Returns
    -------
    bool
        Whether the C heap could be trimmed (glibc only); Arrow's allocator is
        asked to release its unused memory in any case.
    """
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
