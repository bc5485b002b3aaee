"""A sweep on a real Dask cluster (two worker processes on loopback) equals one run here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from escalation import Scenario
from escalation.cli import main
from escalation.experiments.design import DesignFactor, DesignSpec
from escalation.experiments.executors import ExecutorHandle, dask_executor, local_pool
from escalation.experiments.experiment import command_line_experiment, sweep_spec
from escalation.experiments.factors import parse_vary
from escalation.experiments.sweep import run_sweep
from escalation.experiments.sweep_folder import read_sweep

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster() -> Iterator[ExecutorHandle]:
    """A local Dask cluster: two worker processes, one thread each, on 127.0.0.1."""
    with dask_executor(workers=2) as handle:
        yield handle


def test_dask_local_pool_and_one_process_agree_run_for_run(
    tmp_path: Path, duel_file: Path, duel: Scenario, cluster: ExecutorHandle
) -> None:
    factors = [
        DesignFactor(parse_vary("attack_chance=0.05:0.6", duel)),
        DesignFactor(parse_vary("answer_chance=0:0.5", duel)),
    ]
    experiment = command_line_experiment(str(duel_file), factors, DesignSpec("lhs", points=12))
    spec = sweep_spec(experiment, runs=60, seed=21)

    run_sweep(spec, tmp_path / "serial")
    with local_pool(2) as pool:
        run_sweep(spec, tmp_path / "pool", executor=pool, block_size=25)
    assert cluster.workers == 2
    assert cluster.description == "dask local cluster, 2 worker processes"
    run_sweep(spec, tmp_path / "dask", executor=cluster, block_size=16)

    serial = read_sweep(tmp_path / "serial")
    for other in (read_sweep(tmp_path / "pool"), read_sweep(tmp_path / "dask")):
        pd.testing.assert_frame_equal(other.points, serial.points)
        pd.testing.assert_frame_equal(other.runs(), serial.runs())
        pd.testing.assert_frame_equal(other.summary, serial.summary)
    assert serial.summary["share_war"].nunique() > 3  # the points differ: a real comparison
    assert read_sweep(tmp_path / "dask").manifest["executor"] == cluster.description


def test_the_command_runs_on_a_running_scheduler(
    tmp_path: Path, duel_file: Path, cluster: ExecutorHandle
) -> None:
    address = cluster.address
    assert address is not None
    assert address.startswith("tcp://127.0.0.1:")
    args = ["sweep", str(duel_file), "--vary", "attack_chance=0.1,0.5", "--runs", "30"]
    assert main([*args, "--scheduler", address, "--out", str(tmp_path / "remote")]) == 0
    assert main([*args, "--workers", "1", "--out", str(tmp_path / "here")]) == 0
    remote, here = read_sweep(tmp_path / "remote"), read_sweep(tmp_path / "here")
    assert remote.manifest["executor"] == f"dask scheduler {address}, 2 worker threads"
    pd.testing.assert_frame_equal(remote.runs(), here.runs())
