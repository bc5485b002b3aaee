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
