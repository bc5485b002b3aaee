"""The figures of a results folder by kind, read whole or a part at a time."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from escalation import Scenario, SimulationResults
from escalation.kinds import RUN_KINDS
from escalation.plots.gallery import FigureError, example_run, run_figure
from escalation.store import read_results


def png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=40, metadata={"Software": None})
    return buffer.getvalue()


@pytest.mark.parametrize("kind", RUN_KINDS)
def test_a_folder_read_lazily_draws_the_same_figures(mediated_folder: Path, kind: str) -> None:
    whole = read_results(mediated_folder)
    lazy = read_results(mediated_folder, lazy=True)
    assert list(lazy.runs.columns) == ["run"]
    assert png(run_figure(lazy, kind)) == png(run_figure(whole, kind))


def test_the_example_run_is_the_first_of_the_most_common_outcome(
    mediated_results: SimulationResults, mediated_folder: Path
) -> None:
    runs = mediated_results.runs
    counts = runs["outcome"].astype(str).value_counts()
    assert counts.iloc[0] > counts.iloc[1]  # a clear most common outcome
    expected = int(runs.loc[runs["outcome"].astype(str) == counts.index[0], "run"].min())
    assert example_run(mediated_results) == expected
    assert example_run(read_results(mediated_folder, lazy=True)) == expected


def test_a_timeline_of_a_run_the_folder_does_not_hold_is_refused(mediated_folder: Path) -> None:
    lazy = read_results(mediated_folder, lazy=True)
    with pytest.raises(FigureError, match="no run 600; the runs are 0 to 599"):
        run_figure(lazy, "timeline", run=600)


def test_the_results_of_a_large_streamed_job_draw_every_figure(
    tmp_path: Path, mediated_crisis: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Beyond FULL_READ_LIMIT runs a streamed job keeps only the run ids and the
    # cycle lengths in memory; its figures read the rest from its folder.
    import escalation.store as store
    from escalation.experiments.replicates import plan_runs

    monkeypatch.setattr(store, "FULL_READ_LIMIT", 10)
    plan = plan_runs(mediated_crisis, runs=60, seed=5, block_size=25)
    streamed = store.stream_results(mediated_crisis, plan, tmp_path / "streamed")
    assert list(streamed.runs.columns) == ["run"]
    back = read_results(tmp_path / "streamed")
    for kind in ("outcomes", "casualties", "cycles", "survival", "rung"):
        assert png(run_figure(streamed, kind)) == png(run_figure(back, kind)), kind
