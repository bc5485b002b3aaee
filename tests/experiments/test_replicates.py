"""Reproducibility of batches of runs: seeds, workers, blocks, single runs and replays."""

from __future__ import annotations

import math
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from escalation import (
    EscalationModel,
    Scenario,
    SimulationResults,
    load_scenario,
    replay_run,
    run_scenario,
)
from escalation.experiments import replicates
from escalation.experiments.replicates import (
    DEFAULT_BLOCK_SIZE,
    LARGEST_DEFAULT_BLOCK,
    _run_block_spooled,
    _Spooled,
    _unspool,
    block_tasks,
    combine_blocks,
    default_block_size,
    run_block,
)
from escalation.model.record import UNCLASSIFIED, BlockResult
from escalation.replay import mismatches

RUNS = 30
REFERENCE = Path(__file__).parents[2] / "scenarios" / "pakistan_afghanistan_2025.yaml"


@pytest.fixture(scope="module")
def reference(tiny_crisis: Scenario) -> SimulationResults:
    """The tiny crisis, 30 runs with seed 5, in one block on this process."""
    return run_scenario(tiny_crisis, runs=RUNS, seed=5, workers=1, path_sample=RUNS)


def assert_same(left: SimulationResults, right: SimulationResults) -> None:
    pd.testing.assert_frame_equal(left.runs, right.runs)
    pd.testing.assert_frame_equal(left.cycles, right.cycles)
    pd.testing.assert_frame_equal(left.timeseries, right.timeseries)
    pd.testing.assert_frame_equal(left.spells, right.spells)


def test_results_have_one_row_per_run_in_order(reference: SimulationResults) -> None:
    assert reference.runs["run"].tolist() == list(range(RUNS))
    assert reference.seed == 5
    assert reference.horizon_days == 60
    assert reference.settings["runs"] == RUNS
    # The scenario is rich enough that the comparisons below compare something.
    assert reference.runs["cycles"].sum() > 0
    assert reference.runs["outcome"].nunique() > 1
    assert reference.runs["govt_dead_true"].nunique() > 1


def test_same_seed_gives_identical_frames(
    tiny_crisis: Scenario, reference: SimulationResults
) -> None:
    again = run_scenario(tiny_crisis, runs=RUNS, seed=5, workers=1, path_sample=RUNS)
    assert_same(again, reference)


def test_different_seeds_give_different_runs(
    tiny_crisis: Scenario, reference: SimulationResults
) -> None:
    other = run_scenario(tiny_crisis, runs=RUNS, seed=6, workers=1, path_sample=RUNS)
    assert not other.runs.equals(reference.runs)
    differing = (other.runs["govt_dead_true"] != reference.runs["govt_dead_true"]).mean()
    assert differing > 0.5


def test_seed_zero_is_a_seed(tiny_crisis: Scenario) -> None:
    first = run_scenario(tiny_crisis, runs=5, seed=0, path_sample=0)
    second = run_scenario(tiny_crisis, runs=5, seed=0, path_sample=0)
    assert first.seed == 0
    pd.testing.assert_frame_equal(first.runs, second.runs)


def test_scenario_seed_is_the_default(tiny_crisis: Scenario) -> None:
    assert tiny_crisis.seed == 7
    default = run_scenario(tiny_crisis, runs=5, path_sample=0)
    explicit = run_scenario(tiny_crisis, runs=5, seed=7, path_sample=0)
    assert default.seed == 7
    pd.testing.assert_frame_equal(default.runs, explicit.runs)


def test_drawn_seed_is_recorded_and_reproduces(tiny_crisis: Scenario) -> None:
    unseeded = tiny_crisis.model_copy(update={"seed": None})
    drawn = run_scenario(unseeded, runs=5, path_sample=0)
    assert isinstance(drawn.seed, int)
    again = run_scenario(unseeded, runs=5, seed=drawn.seed, path_sample=0)
    pd.testing.assert_frame_equal(drawn.runs, again.runs)


def test_one_worker_equals_two_processes(
    tiny_crisis: Scenario, reference: SimulationResults
) -> None:
    pooled = run_scenario(tiny_crisis, runs=RUNS, seed=5, workers=2, path_sample=RUNS)
    assert pooled.settings["block_size"] == math.ceil(RUNS / 2)
    assert_same(pooled, reference)


def _assert_same_block(left: BlockResult, right: BlockResult) -> None:
    for name in ("run_ids", "rung_counts"):
        np.testing.assert_array_equal(getattr(left, name), getattr(right, name))
        assert getattr(left, name).dtype == getattr(right, name).dtype
    for name in ("columns", "cycles", "spells", "daily_sums", "paths"):
        mine, theirs = getattr(left, name), getattr(right, name)
        assert list(mine) == list(theirs)
        for key in mine:
            np.testing.assert_array_equal(mine[key], theirs[key])
            assert mine[key].dtype == theirs[key].dtype
    assert left.draws == right.draws
    assert left.outcome_names == right.outcome_names
    assert left.spell_variables == right.spell_variables


def test_a_pool_worker_hands_its_block_back_through_a_file(
    tiny_crisis: Scenario, tmp_path: Path
) -> None:
    (task,) = block_tasks(tiny_crisis, RUNS, 5, 60, RUNS, path_sample=5)
    spooled = _run_block_spooled(task, str(tmp_path))
    assert isinstance(spooled, _Spooled)
    assert [path.name for path in tmp_path.iterdir()] == [f"block-{task.start}.bin"]
    _assert_same_block(_unspool(spooled), run_block(task))
    assert list(tmp_path.iterdir()) == []  # read back, and gone


@pytest.fixture
def sigint_restored() -> Any:
    """Puts back this process's Ctrl-C handler after a test that sets it."""
    handler = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, handler)


def test_a_pool_worker_ignores_ctrl_c_between_blocks_and_stops_its_block_on_it(
    tiny_crisis: Scenario,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sigint_restored: None,
) -> None:
    replicates._start_worker(None)  # as the pool starts each worker
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    os.kill(os.getpid(), signal.SIGINT)  # waiting for a block: nothing happens

    def interrupt(runs: int) -> None:
        os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(replicates, "_WORKER_DAYS", interrupt)  # Ctrl-C on the first day
    (task,) = block_tasks(tiny_crisis, RUNS, 5, 60, RUNS)
    with pytest.raises(KeyboardInterrupt):
        _run_block_spooled(task, str(tmp_path))
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_a_block_that_cannot_be_spooled_comes_back_whole(
    tiny_crisis: Scenario, tmp_path: Path
) -> None:
    (task,) = block_tasks(tiny_crisis, RUNS, 5, 60, RUNS, path_sample=5)
    result = _run_block_spooled(task, str(tmp_path / "missing"))
    assert isinstance(result, BlockResult)
    _assert_same_block(result, run_block(task))


def test_any_executor_gives_the_same_runs(
    tiny_crisis: Scenario, reference: SimulationResults
) -> None:
    with ThreadPoolExecutor(max_workers=3) as executor:
        threaded = run_scenario(
            tiny_crisis, runs=RUNS, seed=5, block_size=4, executor=executor, path_sample=RUNS
        )
    assert_same(threaded, reference)


@pytest.mark.parametrize("block_size", [1, 7, 5000])
def test_block_size_does_not_matter(
    tiny_crisis: Scenario, reference: SimulationResults, block_size: int
) -> None:
    blocked = run_scenario(
        tiny_crisis, runs=RUNS, seed=5, workers=1, block_size=block_size, path_sample=RUNS
    )
    assert_same(blocked, reference)


@pytest.mark.parametrize("workers", [1, 2, 3, 8])
@pytest.mark.parametrize("runs", [1, 7, 10_000, 30_000, 45_000, 59_000, 100_000, 100_001, 10**6])
def test_default_blocks_are_equal_and_keep_every_worker_busy(runs: int, workers: int) -> None:
    size = default_block_size(runs, workers)
    blocks = math.ceil(runs / size)
    if runs <= workers * LARGEST_DEFAULT_BLOCK:
        assert blocks == min(runs, workers)
    else:
        assert size <= DEFAULT_BLOCK_SIZE * 3 // 2
        assert blocks % workers == 0
    assert runs - (blocks - 1) * size > size - blocks  # the last block is nearly full


def test_default_blocks_are_one_per_worker_while_they_fit() -> None:
    assert default_block_size(100_000, 2) == LARGEST_DEFAULT_BLOCK
    assert default_block_size(40_000, 1) == 40_000
    assert default_block_size(10_000, 2) == 5_000
    assert default_block_size(5, 8) == 1


def test_larger_jobs_keep_blocks_near_the_target_in_a_multiple_of_the_workers() -> None:
    assert default_block_size(100_001, 2) == 16_667  # six blocks: already a multiple of two
    assert default_block_size(1_000_000, 2) == DEFAULT_BLOCK_SIZE
    assert default_block_size(160_000, 3) == 26_667  # six blocks, not eight of 20,000
    assert default_block_size(50_001, 1) == 16_667


def test_blocks_combine_in_run_order_whatever_order_they_finish(
    tiny_crisis: Scenario, reference: SimulationResults
) -> None:
    tasks = block_tasks(tiny_crisis, RUNS, 5, 60, 7, path_sample=RUNS)
    assert [(task.start, task.stop) for task in tasks] == [
        (0, 7),
        (7, 14),
        (14, 21),
        (21, 28),
        (28, 30),
    ]
    blocks = [run_block(task) for task in reversed(tasks)]
    combined = combine_blocks(tiny_crisis, 5, 60, blocks)
    assert_same(combined, reference)


def test_spells_are_sorted_by_run_variable_and_start_whatever_order_a_block_lists_them() -> None:
    scenario = load_scenario(REFERENCE)
    tasks = block_tasks(scenario, 60, 5, 120, 25, path_sample=0)
    spells = combine_blocks(scenario, 5, 120, [run_block(task) for task in tasks]).spells
    assert spells["variable"].nunique() > 1
    assert (spells.groupby(["run", "variable"]).size() > 1).any()
    key = spells[["run", "variable", "start_day"]]
    assert key.equals(key.sort_values(["run", "variable", "start_day"], ignore_index=True))
    # Blocks listing their spells latest first give the same table.
    blocks = [run_block(task) for task in tasks]
    for block in blocks:
        block.spells = {name: values[::-1].copy() for name, values in block.spells.items()}
    pd.testing.assert_frame_equal(combine_blocks(scenario, 5, 120, blocks).spells, spells)


@pytest.mark.parametrize("run", [0, 13, RUNS - 1])
def test_a_run_simulated_alone_equals_its_row(
    tiny_crisis: Scenario, reference: SimulationResults, run: int
) -> None:
    model = EscalationModel(tiny_crisis, seed=5, run_ids=[run])
    alone = model.run()
    row = reference.runs.iloc[run]
    names = (*alone.outcome_names, UNCLASSIFIED)  # the index past the last: none held
    assert names[int(alone.columns["outcome_index"][0])] == row["outcome"]
    for name, values in alone.columns.items():
        if name == "outcome_index":
            continue
        value = float(values[0])
        stored = float(row[name])
        if math.isinf(value) or math.isnan(value):
            assert math.isnan(stored), name  # never happened: inf in the model, NaN in the frame
        else:
            assert value == stored, name


@pytest.mark.parametrize("run", [0, 17])
def test_replay_equals_the_stored_row(
    tiny_crisis: Scenario, reference: SimulationResults, run: int
) -> None:
    replay = replay_run(tiny_crisis, reference.seed, run)
    stored = reference.runs.loc[reference.runs["run"] == run].iloc[0]
    assert mismatches(replay, stored) == []
    assert replay.row["outcome"] == stored["outcome"]
    events = replay.events
    for action in tiny_crisis.actions:
        assert events.loc[events["action"] == action, "count"].sum() == stored[f"{action}_count"]
    dead = events.loc[events["target"] == "govt", "deaths_target"].sum()
    assert dead == stored["govt_dead_true"]


def test_mismatches_reports_a_changed_row(
    tiny_crisis: Scenario, reference: SimulationResults
) -> None:
    replay = replay_run(tiny_crisis, reference.seed, 0)
    stored = reference.runs.iloc[0].copy()
    stored["govt_dead_true"] += 1
    problems = mismatches(replay, stored)
    assert len(problems) == 1
    assert problems[0].startswith("govt_dead_true: stored")


def test_path_sample_keeps_the_first_runs(tiny_crisis: Scenario) -> None:
    results = run_scenario(tiny_crisis, runs=12, seed=5, block_size=5, path_sample=3)
    paths = results.timeseries.query("kind == 'path'")
    assert sorted(paths["run"].unique()) == [0, 1, 2]
    assert set(paths["series"].astype(str)) >= {"rung", "govt.casualties", "tension", "talks"}
    rung = paths.loc[paths["series"] == "rung"]
    assert len(rung) == 3 * 60
    # A path ends where the run's own metrics end.
    tension = paths.loc[(paths["series"] == "tension") & (paths["day"] == 59)]
    assert tension.set_index("run")["value"].to_dict() == pytest.approx(
        results.runs.set_index("run").loc[[0, 1, 2], "final_tension"].to_dict()
    )
    for run in (0, 1, 2):
        reached = rung.loc[rung["run"] == run, "value"].max()
        assert reached == results.runs.loc[run, "max_rung"]
    bands = results.timeseries.query("kind == 'band'")
    assert (bands.loc[bands["series"] == "rung", "quantile_sample"] == 12).all()
    assert (bands.loc[bands["series"] == "tension", "quantile_sample"] == 3).all()
    none = run_scenario(tiny_crisis, runs=12, seed=5, path_sample=0)
    assert none.timeseries.query("kind == 'path'").empty


def test_rung_band_is_ordered_and_its_mean_is_the_daily_mean(
    reference: SimulationResults,
) -> None:
    band = reference.timeseries.query("kind == 'band' and series == 'rung'").set_index("day")
    assert band.index.tolist() == list(range(60))
    assert (band["q05"] <= band["q25"]).all()
    assert (band["q25"] <= band["q50"]).all()
    assert (band["q50"] <= band["q75"]).all()
    assert (band["q75"] <= band["q95"]).all()
    # Every run's path is kept (path_sample = runs): the daily rungs, one column per run.
    paths = reference.timeseries.query("kind == 'path' and series == 'rung'")
    daily = paths.pivot_table(index="day", columns="run", values="value")
    assert daily.shape == (60, RUNS)
    np.testing.assert_allclose(band["mean"], daily.mean(axis=1))
    np.testing.assert_array_equal(
        band["q50"], np.quantile(daily, 0.5, axis=1, method="inverted_cdf")
    )
    # Summed over days, the share of runs at rung >= k is the mean of days_at_or_above_k.
    for level in (1, 2):
        share = (daily >= level).mean(axis=1).sum()
        assert share == pytest.approx(reference.runs[f"days_at_or_above_{level}"].mean())


def test_other_bands_average_over_all_runs(reference: SimulationResults) -> None:
    band = reference.timeseries.query("kind == 'band' and series == 'tension'").set_index("day")
    paths = reference.timeseries.query("kind == 'path' and series == 'tension'")
    daily = paths.pivot_table(index="day", columns="run", values="value")
    np.testing.assert_allclose(band["mean"], daily.mean(axis=1))
    assert band.loc[59, "mean"] == pytest.approx(reference.runs["final_tension"].mean())
    assert (band["q05"] <= band["q95"]).all()


def progress_calls(scenario: Scenario, **options: Any) -> list[int]:
    """What ``run_scenario``'s progress callback is called with, in order."""
    seen: list[int] = []
    run_scenario(scenario, seed=1, path_sample=0, progress=seen.append, **options)
    return seen


@pytest.mark.parametrize("workers", [1, 2])
def test_progress_counts_every_run(tiny_crisis: Scenario, workers: int) -> None:
    seen = progress_calls(tiny_crisis, runs=11, block_size=4, workers=workers)
    assert sum(seen) == 11
    assert min(seen) > 0


def test_progress_moves_day_by_day_within_a_block(
    tiny_crisis: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One block of 10 runs over 60 days: a run's worth of run-days every 6 days.
    monkeypatch.setattr(replicates, "PROGRESS_INTERVAL", 0.0)
    assert progress_calls(tiny_crisis, runs=10, workers=1) == [1] * 10


def test_progress_moves_while_pool_workers_run_their_blocks(
    tiny_crisis: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two blocks of 2,000 runs over a year, one per worker: each takes a few tenths of
    # a second, read every hundredth.
    monkeypatch.setattr(replicates, "PROGRESS_INTERVAL", 0.01)
    seen = progress_calls(tiny_crisis, runs=4000, horizon_days=365, workers=2)
    assert sum(seen) == 4000
    assert len(seen) > 2


def test_progress_on_another_executor_counts_blocks_as_they_arrive(
    tiny_crisis: Scenario,
) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        seen = progress_calls(tiny_crisis, runs=11, block_size=4, executor=pool)
    assert seen == [4, 4, 3]


def test_progress_weighs_blocks_by_their_days(tiny_crisis: Scenario) -> None:
    # 20 runs: 10 over 100 days, then 10 over 300 days (4,000 run-days in all).
    tasks = [
        replicates.BlockTask(tiny_crisis, 1, 0, 10, 100),
        replicates.BlockTask(tiny_crisis, 1, 10, 20, 300),
    ]
    seen: list[int] = []
    counter = replicates._Progress(seen.append, tasks)
    counter.update(1000)  # the first block's days: a quarter of the run-days
    counter.block_done(10)  # a block that arrives counts in full
    counter.update(1010)  # no new whole run
    counter.update(2500)
    counter.update(4000)
    assert seen == [5, 5, 2, 8]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"runs": 0}, "runs must be >= 1, got 0"),
        ({"workers": 0}, "workers must be >= 1, got 0"),
        ({"block_size": 0}, "block_size must be >= 1, got 0"),
    ],
)
def test_bad_settings_are_refused(
    tiny_crisis: Scenario, options: dict[str, int], message: str
) -> None:
    settings: dict[str, Any] = {"runs": 5, "seed": 1, **options}
    with pytest.raises(ValueError, match=message):
        run_scenario(tiny_crisis, **settings)


def test_draw_count_does_not_depend_on_the_executor(tiny_crisis: Scenario) -> None:
    alone = run_scenario(tiny_crisis, runs=80, seed=5, block_size=8, path_sample=0)
    with ThreadPoolExecutor(max_workers=4) as executor:
        threaded = run_scenario(
            tiny_crisis, runs=80, seed=5, block_size=8, path_sample=0, executor=executor
        )
    pd.testing.assert_frame_equal(threaded.runs, alone.runs)
    assert threaded.draws == alone.draws
