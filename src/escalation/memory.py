"""Give memory that finished blocks freed back to the operating system.

A long streamed job frees each block's tables after writing them, but the C
allocator keeps the freed pages for reuse: glibc's heaps fragment around the
objects that stay, and Arrow's allocator keeps a cache of its own.  Over a
million-run job that is a few hundred megabytes the process holds and never uses
again.  :func:`release_memory` asks both to hand free pages back.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from collections.abc import Callable

import pyarrow as pa

__all__ = ["release_memory"]


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where the C library has none (macOS, musl)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = getattr(ctypes.CDLL(None), "malloc_trim", None)
    except OSError:  # pragma: no cover - a static interpreter
        return None
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
