"""The figures of a results folder by kind, read whole or a part at a time."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from escalation import SimulationResults
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
