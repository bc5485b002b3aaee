"""Handing freed memory back to the operating system."""

from __future__ import annotations

import sys

import psutil
import pytest

from escalation.memory import release_memory


def _glibc() -> bool:
    import ctypes

    try:
        return hasattr(ctypes.CDLL(None), "malloc_trim")
    except OSError:
        return False


def test_release_memory_reports_whether_it_could_trim_the_heap() -> None:
    assert release_memory() is (sys.platform.startswith("linux") and _glibc())


@pytest.mark.skipif(not _glibc(), reason="malloc_trim is glibc's")
def test_release_memory_returns_a_fragmented_heap_to_the_system() -> None:
    # 1 KB objects bypass Python's small-object allocator and come from malloc; the
    # last one kept pins the heap's top, so free() alone cannot shrink it.
    chunks = [bytes(1024) + bytes([i % 256]) for i in range(200_000)]
    keep = chunks[-1]
    del chunks
    process = psutil.Process()
    before = process.memory_info().rss
    assert release_memory()
    after = process.memory_info().rss
    assert keep
    assert before - after > 100 * 2**20


_FAULTS = """
import resource, sys
import numpy as np
from escalation.memory import reuse_large_arrays
if sys.argv[1] == "reuse":
    print(reuse_large_arrays(), file=sys.stderr)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(200):
    row = np.ones(50_000)  # a block's row of 50,000 runs: 400 kB
    del row
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _page_faults(environment: dict[str, str], reuse: bool = True) -> tuple[int, str]:
    """Page faults of a process that makes and frees 200 rows of 400 kB, and what
    `reuse_large_arrays` said there."""
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    done = subprocess.run(
        [sys.executable, "-c", _FAULTS, "reuse" if reuse else "leave"],
        env={**env, **environment}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return int(done.stdout), done.stderr.strip()


@pytest.mark.skipif(not _glibc(), reason="mallopt is glibc's")
def test_large_arrays_are_reused_where_a_launcher_fixed_the_thresholds() -> None:
    # Dask's nanny starts its workers so: every array above 128 kB is mapped afresh,
    # and its 100 pages fault in again each time.
    dask = {"MALLOC_TRIM_THRESHOLD_": "65536"}
    left, _ = _page_faults(dask, reuse=False)
    assert left > 15_000
    reused, changed = _page_faults(dask)
    assert changed == "True"
    assert reused < 2_000
    alone, unchanged = _page_faults({})
    assert unchanged == "False"  # glibc adjusts its thresholds itself
    assert alone < 2_000
    chosen = {**dask, "MALLOC_MMAP_THRESHOLD_": "4096"}
    assert _page_faults(chosen)[1] == "False"  # a threshold the user chose is kept
