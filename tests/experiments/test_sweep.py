"""Sweeps end to end: the tables written, common random numbers, failures, folders."""

from __future__ import annotations

import gc
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from escalation import EscalationModel, Scenario, run_scenario
from escalation.cli import main
from escalation.errors import ResultsError
from escalation.experiments import sweep_folder
from escalation.experiments.design import DesignFactor, DesignSpec
from escalation.experiments.executors import local_pool
from escalation.experiments.experiment import SweepSpec, command_line_experiment, sweep_spec
from escalation.experiments.factors import parse_vary
from escalation.experiments.replicates import LARGEST_DEFAULT_BLOCK
from escalation.experiments.sweep import (
    SweepBatch,
    SweepTask,
    batch_runs,
    run_batch,
    run_sweep,
    run_task,
)
from escalation.experiments.sweep_folder import read_sweep
from escalation.report_text import wilson_interval
from escalation.store import ResultsExistError, write_results

GRID = ("attack_chance=0.1,0.4,0.7", "inert=1,9")


def make_spec(
    scenario_file: Path,
    duel: Scenario,
    vary: Sequence[str] = GRID,
    design: DesignSpec | None = None,
    runs: int = 40,
    seed: int = 3,
) -> SweepSpec:
    factors = [DesignFactor(parse_vary(text, duel)) for text in vary]
    design = design or DesignSpec("grid")
    experiment = command_line_experiment(str(scenario_file), factors, design)
    return sweep_spec(experiment, runs=runs, seed=seed)


@pytest.fixture
def grid_sweep(tmp_path: Path, duel_file: Path, duel: Scenario) -> Path:
    """The 3 x 2 grid of the duel, 40 runs a point, seed 3, run here."""
    out = tmp_path / "grid"
    run_sweep(make_spec(duel_file, duel), out, command=["escalation", "sweep"])
    return out


def test_a_sweep_writes_the_documented_tables(grid_sweep: Path, duel: Scenario) -> None:
    results = read_sweep(grid_sweep)
    assert sorted(p.name for p in grid_sweep.iterdir() if not p.name.startswith(".")) == [
        "manifest.json",
        "points.parquet",
        "runs.parquet",
        "summary.parquet",
    ]
    points = results.points
    assert list(points.columns) == ["point", "attack_chance", "inert"]
    assert points["point"].tolist() == list(range(6))
    runs = results.runs()
    reference = run_scenario(duel, runs=5, seed=3).runs
    assert list(runs.columns) == ["point", "replicate", *reference.columns.drop("run")]
    assert len(runs) == 6 * 40
    assert runs.groupby("point")["replicate"].apply(list).tolist() == [list(range(40))] * 6

    summary = results.summary
    assert summary["point"].tolist() == list(range(6))
    pd.testing.assert_frame_equal(summary[points.columns], points)
    assert (summary["runs"] == 40).all()
    assert not summary["failed"].any()
    assert summary["error"].isna().all()
    shares = summary[["share_war", "share_calm", "share_unclassified"]].sum(axis=1)
    np.testing.assert_allclose(shares, 1.0)
    war = runs.groupby("point")["outcome"].apply(lambda o: (o == "war").sum()).to_numpy()
    np.testing.assert_allclose(summary["share_war"], war / 40)
    low, high = wilson_interval(war, 40)
    np.testing.assert_allclose(summary["share_war_low"], low)
    np.testing.assert_allclose(summary["share_war_high"], high)
    by_point = runs.groupby("point")["attack_count"]
    np.testing.assert_allclose(summary["mean_attack_count"], by_point.mean())
    np.testing.assert_allclose(summary["q95_attack_count"], by_point.quantile(0.95))
    assert {"q05_max_rung", "q50_max_rung", "mean_first_cycle_day"} <= set(summary.columns)
    # A wider gap between attacks means fewer days at war: the sweep measures something.
    assert summary["share_war"].iloc[0] < summary["share_war"].iloc[4]

    manifest = results.manifest
    assert manifest["kind"] == "sweep"
    assert manifest["status"] == "complete"
    assert manifest["seed"] == "3"
    assert manifest["runs_per_point"] == 40
    assert manifest["horizon_days"] == 30
    assert manifest["points"] == 6
    assert manifest["design"]["kind"] == "grid"
    assert [f["name"] for f in manifest["factors"]] == ["attack_chance", "inert"]
    assert Scenario.model_validate(manifest["scenario"]) == duel
    assert manifest["experiment"]["factors"]["inert"]["values"] == [1.0, 9.0]
    assert list(manifest["inputs"]) == [manifest["experiment"]["scenario"]]
    assert manifest["command"] == ["escalation", "sweep"]
    assert manifest["timings"]["simulate_seconds"] > 0
    assert "common random numbers" in manifest["rng"]


def test_each_point_is_run_scenario_with_its_parameters(grid_sweep: Path, duel: Scenario) -> None:
    results = read_sweep(grid_sweep)
    runs = results.runs()
    for point in (1, 4):
        values = results.points.iloc[point]
        alone = run_scenario(
            duel,
            runs=40,
            seed=3,
            parameters={"attack_chance": values["attack_chance"], "inert": values["inert"]},
        ).runs
        mine = runs[runs["point"] == point].drop(columns="point").reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, alone.rename(columns={"run": "replicate"}))


def test_points_share_their_random_numbers(grid_sweep: Path) -> None:
    """Common random numbers: points differing by an inert parameter have identical runs."""
    runs = read_sweep(grid_sweep).runs().drop(columns="point")
    for first, second in ((0, 1), (2, 3), (4, 5)):  # inert 1 and 9, attack_chance the same
        pd.testing.assert_frame_equal(
            runs.iloc[first * 40 : first * 40 + 40].reset_index(drop=True),
            runs.iloc[second * 40 : second * 40 + 40].reset_index(drop=True),
        )


def test_results_do_not_depend_on_workers_or_blocks(
    tmp_path: Path, grid_sweep: Path, duel_file: Path, duel: Scenario
) -> None:
    with local_pool(2) as pool:
        run_sweep(make_spec(duel_file, duel), tmp_path / "pool", executor=pool, block_size=7)
    serial, pooled = read_sweep(grid_sweep), read_sweep(tmp_path / "pool")
    pd.testing.assert_frame_equal(serial.runs(), pooled.runs())
    pd.testing.assert_frame_equal(serial.summary, pooled.summary)
    assert pooled.manifest["workers"] == 2
    assert pooled.manifest["block_size"] == 7


def test_the_default_batch_is_the_largest_block_of_whole_points(
    tmp_path: Path, grid_sweep: Path, duel_file: Path, duel: Scenario
) -> None:
    with local_pool(2) as pool:
        run_sweep(make_spec(duel_file, duel), tmp_path / "pool", executor=pool)
    pooled = read_sweep(tmp_path / "pool")
    pd.testing.assert_frame_equal(read_sweep(grid_sweep).runs(), pooled.runs())
    points = len(pooled.points)
    assert pooled.manifest["block_size"] == batch_runs(points, 40, 2) == -(-points // 2) * 40


@pytest.mark.parametrize("points", [1, 7, 200, 12_345])
@pytest.mark.parametrize("runs", [1, 500, 60_000, 250_000])
@pytest.mark.parametrize("workers", [1, 2, 3])
def test_batches_are_whole_points_or_equal_parts_of_one(
    points: int, runs: int, workers: int
) -> None:
    size = batch_runs(points, runs, workers)
    total = points * runs
    if runs <= size:
        assert size % runs == 0  # whole points
        batches = -(-points // (size // runs))
        if total <= workers * LARGEST_DEFAULT_BLOCK:  # one batch a worker, or fewer
            assert batches <= workers
        else:  # never larger than a block of the same number of runs
            assert size <= LARGEST_DEFAULT_BLOCK
    else:
        parts = -(-runs // size)
        assert parts * size - runs < parts  # equal parts of the point's runs
        assert size <= LARGEST_DEFAULT_BLOCK


def test_a_point_that_fails_is_recorded_and_the_sweep_goes_on(
    tmp_path: Path, duel_file: Path, duel: Scenario
) -> None:
    table = tmp_path / "points.csv"
    # answer_chance 0.7 is in its domain, but the rule's probability 2 * 0.7 is not.
    table.write_text("answer_chance,attack_chance\n0.2,0.5\n0.7,0.5\n0.3,0.5\n")
    spec = make_spec(duel_file, duel, vary=(), design=DesignSpec("table", table=str(table)))
    outcome = run_sweep(spec, tmp_path / "failing")
    assert list(outcome.failures) == [1]
    assert "a probability must be in [0, 1], got 1.4" in outcome.failures[1]
    results = read_sweep(tmp_path / "failing")
    summary = results.summary
    assert summary["failed"].tolist() == [False, True, False]
    assert "ModelError" in str(summary.loc[1, "error"])
    assert summary.loc[1, "runs"] == 0
    assert np.isnan(summary["share_war"].iloc[1])
    assert summary.loc[[0, 2], "share_war"].notna().all()
    assert sorted(results.runs()["point"].unique()) == [0, 2]
    assert results.manifest["failed_points"] == 1


def test_a_complete_sweep_is_not_run_again(
    grid_sweep: Path, duel_file: Path, duel: Scenario
) -> None:
    before = (grid_sweep / "runs.parquet").stat().st_mtime_ns
    outcome = run_sweep(make_spec(duel_file, duel), grid_sweep)
    assert outcome.already_complete
    assert outcome.skipped == 6
    assert (grid_sweep / "runs.parquet").stat().st_mtime_ns == before


def test_another_experiment_in_the_folder_is_refused_unless_forced(
    grid_sweep: Path, duel_file: Path, duel: Scenario
) -> None:
    (grid_sweep / ".lock").unlink()  # a sweep folder copied elsewhere has none
    before = sorted(entry.name for entry in grid_sweep.iterdir())
    with pytest.raises(ResultsExistError, match=r"differs in: runs, seed\); choose another --out"):
        run_sweep(make_spec(duel_file, duel, runs=20, seed=4), grid_sweep)
    assert sorted(entry.name for entry in grid_sweep.iterdir()) == before  # no lock written
    assert read_sweep(grid_sweep).manifest["runs_per_point"] == 40
    run_sweep(make_spec(duel_file, duel, runs=20, seed=4), grid_sweep, force=True)
    assert read_sweep(grid_sweep).manifest["runs_per_point"] == 20
    assert len(read_sweep(grid_sweep).runs()) == 6 * 20


def test_a_folder_that_is_not_a_sweep_is_left_alone(
    tmp_path: Path, duel_file: Path, duel: Scenario
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(ResultsExistError, match="exists and is not a sweep folder"):
        run_sweep(make_spec(duel_file, duel), other)
    assert (other / "notes.txt").read_text() == "mine"
    assert [entry.name for entry in other.iterdir()] == ["notes.txt"]  # not even a lock file
    with pytest.raises(ResultsExistError, match="is not a results folder"):
        run_sweep(make_spec(duel_file, duel), other, force=True)  # --force replaces results only
    assert [entry.name for entry in other.iterdir()] == ["notes.txt"]


def test_a_run_results_folder_is_refused_untouched(
    tmp_path: Path, duel_file: Path, duel: Scenario
) -> None:
    results = tmp_path / "run"
    write_results(run_scenario(duel, runs=3, seed=1, horizon_days=5), results)
    before = sorted(entry.name for entry in results.iterdir())
    with pytest.raises(ResultsExistError, match="exists and is not a sweep folder"):
        run_sweep(make_spec(duel_file, duel), results)
    assert sorted(entry.name for entry in results.iterdir()) == before


def test_a_damaged_manifest_is_a_message_and_the_folder_is_left_alone(
    tmp_path: Path, duel_file: Path, duel: Scenario, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "damaged"
    folder.mkdir()
    (folder / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ResultsError, match=r"manifest.json: damaged, not a JSON manifest"):
        run_sweep(make_spec(duel_file, duel), folder)
    args = ["sweep", str(duel_file), "--vary", "inert=1,2", "--runs", "3", "--workers", "1"]
    assert main([*args, "--out", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "pass --force to replace the folder" in err
    assert "Traceback" not in err
    assert [entry.name for entry in folder.iterdir()] == ["manifest.json"]
    assert (folder / "manifest.json").read_text(encoding="utf-8") == "{not json"
    assert main([*args, "--out", str(folder), "--force"]) == 0
    assert read_sweep(folder).manifest["points"] == 2


def test_a_file_given_as_the_folder_is_refused(
    tmp_path: Path, duel_file: Path, duel: Scenario
) -> None:
    path = tmp_path / "file"
    path.write_text("mine", encoding="utf-8")
    with pytest.raises(ResultsExistError, match="exists and is not a folder"):
        run_sweep(make_spec(duel_file, duel), path)
    assert path.read_text(encoding="utf-8") == "mine"


def test_an_interrupted_sweep_resumes_to_the_same_results(
    tmp_path: Path, grid_sweep: Path, duel_file: Path, duel: Scenario
) -> None:
    finished: list[int] = []

    def stop_after_two_points(runs: int, points: int) -> None:
        finished.append(points)
        if sum(finished) == 2:
            raise KeyboardInterrupt

    out = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(make_spec(duel_file, duel), out, progress=stop_after_two_points)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert len(list((out / "parts").glob("point-*.parquet"))) == 2
    with pytest.raises(sweep_folder.SweepError, match="not complete \\(2 of 6 points\\)"):
        read_sweep(out)
    outcome = run_sweep(make_spec(duel_file, duel), out)
    assert outcome.skipped == 2
    resumed, whole = read_sweep(out), read_sweep(grid_sweep)
    pd.testing.assert_frame_equal(resumed.runs(), whole.runs())
    pd.testing.assert_frame_equal(resumed.summary, whole.summary)
    assert resumed.manifest["timings"]["sessions"] == 2


def test_runs_and_summaries_are_streamed_in_row_groups(
    tmp_path: Path,
    grid_sweep: Path,
    duel_file: Path,
    duel: Scenario,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sweep_folder, "ROW_GROUP_RUNS", 100)
    monkeypatch.setattr(sweep_folder, "SUMMARY_CHUNK", 4)
    run_sweep(make_spec(duel_file, duel), tmp_path / "grouped")
    runs = pq.ParquetFile(tmp_path / "grouped" / "runs.parquet")
    assert runs.metadata.num_rows == 240
    assert runs.metadata.num_row_groups == 2  # three points of 40 runs reach 100
    summary = pq.ParquetFile(tmp_path / "grouped" / "summary.parquet")
    assert summary.metadata.num_row_groups == 2  # 4 points, then the last 2
    grouped, whole = read_sweep(tmp_path / "grouped"), read_sweep(grid_sweep)
    pd.testing.assert_frame_equal(grouped.runs(), whole.runs())
    pd.testing.assert_frame_equal(grouped.summary, whole.summary)


def test_a_consolidation_that_fails_leaves_the_parts_and_no_half_written_table(
    tmp_path: Path, duel_file: Path, duel: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    from escalation.experiments import sweep

    out = tmp_path / "broken"

    def stop(folder: Path, points: pd.DataFrame, spec: SweepSpec) -> dict[int, str]:
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep, "consolidate", stop)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(make_spec(duel_file, duel), out)
    monkeypatch.undo()
    parts = sorted((out / "parts").glob("point-*.parquet"))
    assert len(parts) == 6
    parts[3].write_bytes(b"not parquet")  # read while earlier points are being written
    points = pd.read_parquet(out / "points.parquet")
    with pytest.raises(Exception, match="Parquet"):
        sweep_folder.consolidate(out, points, make_spec(duel_file, duel))
    assert not list(out.glob(".*.tmp"))
    assert not (out / "runs.parquet").exists()
    assert len(list((out / "parts").glob("point-*.parquet"))) == 6


def test_a_worker_keeps_no_model_alive(duel: Scenario) -> None:
    """A worker meets thousands of blocks, some failing: none may stay in memory."""
    fine = SweepTask(duel.model_dump_json(), "duel", 1, 10, 0, (("inert", 2.0),), 0, 5)
    failing = SweepTask(duel.model_dump_json(), "duel", 1, 10, 1, (("answer_chance", 0.9),), 0, 5)

    def live_models() -> int:
        gc.collect()
        return sum(isinstance(o, EscalationModel) for o in gc.get_objects())

    run_task(fine)
    before = live_models()
    for _ in range(3):
        assert run_task(fine).error is None
        assert run_task(failing).error is not None
    assert live_models() == before


def test_a_batch_of_points_equals_its_points_run_one_by_one(duel: Scenario) -> None:
    """One model advancing several points (per-run parameters) changes no run."""
    text = duel.model_dump_json()
    tasks = tuple(
        SweepTask(text, "duel", 3, 30, point, (("answer_chance", chance), ("inert", 2.0)), 0, 40)
        for point, chance in enumerate((0.1, 0.3, 0.45))
    )
    together = run_batch(SweepBatch(tasks))
    for task, result in zip(tasks, together, strict=True):
        alone = run_task(task)
        assert result.error is None
        assert alone.runs is not None
        assert result.runs is not None
        pd.testing.assert_frame_equal(result.runs, alone.runs)
    assert together[0].runs is not None
    assert together[2].runs is not None
    assert not together[0].runs.equals(together[2].runs)  # the points do differ


def test_a_failing_point_in_a_batch_fails_alone(duel: Scenario) -> None:
    text = duel.model_dump_json()
    fine = SweepTask(text, "duel", 1, 10, 0, (("answer_chance", 0.2),), 0, 5)
    failing = SweepTask(text, "duel", 1, 10, 1, (("answer_chance", 0.9),), 0, 5)
    results = run_batch(SweepBatch((fine, failing)))
    assert results[0].error is None
    assert results[0].runs is not None
    assert results[1].error is not None
    assert "ModelError" in results[1].error
