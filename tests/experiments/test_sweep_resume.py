"""A real ``escalation sweep`` process, interrupted and killed, then resumed.

The resumed sweep's tables must equal those of a sweep that ran without a stop.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from escalation.cli import main
from escalation.experiments.sweep_folder import read_sweep

pytestmark = pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX process groups")

POINTS = 60


def sweep_args(duel_file: Path, out: Path, workers: int) -> list[str]:
    return [
        "sweep",
        str(duel_file),
        "--vary",
        "attack_chance=0.05:0.6",
        "--vary",
        "inert=0:10",
        "--design",
        "lhs",
        "--points",
        str(POINTS),
        "--runs",
        "200",
        "--seed",
        "9",
        "--block-size",
        "150",
        "--out",
        str(out),
        "--workers",
        str(workers),
    ]


def parts(out: Path) -> list[Path]:
    return sorted((out / "parts").glob("point-*.parquet")) if (out / "parts").exists() else []


def stop_midway(args: list[str], out: Path, at_least: int, how: signal.Signals) -> int:
    """Start the sweep in a new process group; send ``how`` once enough points are written."""
    process = subprocess.Popen(
        [sys.executable, "-m", "escalation", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    assert process.stderr is not None
    deadline = time.monotonic() + 60
    try:
        while len(parts(out)) < at_least:
            if process.poll() is not None:
                raise AssertionError(f"the sweep ended first: {process.stderr.read()!r}")
            if time.monotonic() > deadline:
                raise AssertionError("the sweep wrote too few points in 60 s")
            time.sleep(0.01)
        os.killpg(process.pid, how)
        return process.wait(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        process.stderr.close()


def test_a_killed_sweep_resumes_to_the_results_of_an_uninterrupted_one(
    tmp_path: Path, duel_file: Path
) -> None:
    out = tmp_path / "stopped"
    args = sweep_args(duel_file, out, workers=2)

    assert stop_midway(args, out, 2, signal.SIGINT) == 130
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    interrupted = len(parts(out))

    assert stop_midway(args, out, interrupted + 3, signal.SIGKILL) == -signal.SIGKILL
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "running"  # killed: no chance to say otherwise
    written = parts(out)
    assert interrupted + 3 <= len(written) < POINTS
    for part in written:  # every part on disk is whole
        assert len(pd.read_parquet(part)) == 200

    assert main(args) == 0
    assert not (out / "parts").exists()
    assert not list(out.glob(".*.tmp"))
    whole = tmp_path / "whole"
    assert main(sweep_args(duel_file, whole, workers=1)) == 0

    resumed, uninterrupted = read_sweep(out), read_sweep(whole)
    assert resumed.manifest["timings"]["sessions"] == 3
    pd.testing.assert_frame_equal(resumed.points, uninterrupted.points)
    pd.testing.assert_frame_equal(resumed.runs(), uninterrupted.runs())
    pd.testing.assert_frame_equal(resumed.summary, uninterrupted.summary)
