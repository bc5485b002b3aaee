"""A sweep folder's lock: one sweep writes to a folder at a time."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from escalation.experiments.sweep_folder import locked

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the lock is POSIX's")

TRY_THE_LOCK = """\
import sys
from pathlib import Path
from escalation.experiments.sweep_folder import locked
with locked(Path(sys.argv[1])):
    print("locked")
"""


def try_the_lock(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", TRY_THE_LOCK, str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_another_process_waits_for_the_lock(tmp_path: Path) -> None:
    with locked(tmp_path):
        refused = try_the_lock(tmp_path)
        assert refused.returncode == 1
        assert "another sweep is writing to this folder" in refused.stderr
    assert try_the_lock(tmp_path).stdout == "locked\n"


def test_a_forked_worker_does_not_keep_the_lock(tmp_path: Path) -> None:
    # A pool's workers, forked while the sweep held the lock, may outlive it for a
    # moment (a sweep killed with kill -9): the folder is free once the sweep is gone.
    with locked(tmp_path):
        worker = multiprocessing.get_context("fork").Process(target=time.sleep, args=(60,))
        worker.start()
    try:
        assert try_the_lock(tmp_path).stdout == "locked\n"
    finally:
        worker.kill()
        worker.join()
