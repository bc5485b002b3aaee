"""Truce survival curves against Kaplan-Meier estimates computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from escalation import SimulationResults
from escalation.plots.canvas import caption_of
from escalation.plots.survival import (
    plot_time_to_truce,
    plot_truce_duration,
    truce_spells,
    truce_variable,
)


def _curve(ax):  # type: ignore[no-untyped-def]
    (line,) = [line for line in ax.lines if line.get_gid() == "survival"]
    return np.asarray(line.get_xdata()), np.asarray(line.get_ydata())


def test_time_to_first_truce_is_kaplan_meier_with_censoring() -> None:
    # Five runs with a first truce on days 1, 3, 3, 5, 8 and three with none by day 10:
    # at risk 8, 7, 5, 4 at the event days, so S(1) = 7/8, S(3) = S(1) * 5/7,
    # S(5) = S(3) * 4/5, S(8) = S(5) * 3/4; the three censored runs hold it at 3/8.
    first = [1, 3, 3, 5, 8, np.nan, np.nan, np.nan]
    runs = pd.DataFrame({"truce_first_day": first, "truce_spells": [1] * 5 + [0] * 3})
    ax = plot_time_to_truce(runs, horizon_days=10, seed=2)
    days, percent = _curve(ax)
    s1 = 7 / 8
    s3 = s1 * 5 / 7
    s5 = s3 * 4 / 5
    s8 = s5 * 3 / 4
    np.testing.assert_allclose(days, [0, 1, 3, 5, 8, 10])
    np.testing.assert_allclose(percent, 100 * np.array([1, s1, s3, s5, s8, s8]))
    (censored,) = [line for line in ax.lines if line.get_gid() == "censored"]
    np.testing.assert_allclose(censored.get_xdata(), [10])
    assert ax.get_xlabel() == "day"
    assert ax.get_ylabel() == "runs with no truce yet (%)"
    assert caption_of(ax) == "8 runs, seed 2, 3 with none by day 10"
    assert any(t.get_text() == "median: 5 days" for t in ax.get_legend().get_texts())


def test_spells_are_read_from_the_daily_paths() -> None:
    paths = pd.DataFrame(
        {
            "kind": "path",
            "series": "truce",
            "day": np.tile(np.arange(6), 2),
            "run": np.repeat([3, 4], 6),
            "value": [0, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0],
        }
    )
    spells = truce_spells(paths, "truce")
    assert spells.to_dict("records") == [
        {"run": 3, "start_day": 1, "length": 2, "ended": True},
        {"run": 3, "start_day": 4, "length": 2, "ended": False},
        {"run": 4, "start_day": 0, "length": 1, "ended": True},
    ]
    ax = plot_truce_duration(paths, variable="truce")
    days, percent = _curve(ax)
    # Spells of 1 (ended), 2 (ended), 2 (still on): S(1) = 2/3, S(2) = 2/3 * 1/2.
    np.testing.assert_allclose(days, [0, 1, 2])
    np.testing.assert_allclose(percent, [100, 200 / 3, 100 / 3])
    assert caption_of(ax).startswith("3 spells (1 holding at the end) in the 2 runs")


def test_spells_of_every_run_are_read_from_the_spells_table() -> None:
    spells = pd.DataFrame(
        {
            "run": [3, 3, 4, 9],
            "variable": ["truce", "truce", "truce", "talks"],
            "start_day": [1, 4, 0, 2],
            "length": [2, 2, 1, 7],
            "ended": [True, False, True, True],
        }
    )
    ax = plot_truce_duration(spells, variable="truce", runs=12, seed=4)
    days, percent = _curve(ax)
    # The same spells as the paths above: S(1) = 2/3, S(2) = 2/3 * 1/2.
    np.testing.assert_allclose(days, [0, 1, 2])
    np.testing.assert_allclose(percent, [100, 200 / 3, 100 / 3])
    assert caption_of(ax) == "3 spells (1 holding at the end) in all 12 runs, seed 4"
    ax = plot_truce_duration(spells, variable="ceasefire", runs=12)
    assert any(t.get_text() == "no spell of ceasefire in any of the 12 runs" for t in ax.texts)


def test_the_figure_uses_every_run_not_only_the_sampled_paths(
    mediated_results: SimulationResults,
) -> None:
    from escalation.plots.gallery import run_figure

    spells = mediated_results.spells
    truces = spells[spells["variable"] == "truce"]
    figure = run_figure(mediated_results, "survival")
    caption = caption_of(figure.axes[1])
    assert caption.startswith(
        f"{len(truces):,} spells ({int((~truces['ended']).sum()):,} holding at the end) in all "
        f"{len(mediated_results.runs):,} runs"
    )


def test_curves_of_a_real_run(mediated_results: SimulationResults) -> None:
    runs = mediated_results.runs
    ax = plot_time_to_truce(runs, horizon_days=mediated_results.horizon_days)
    days, percent = _curve(ax)
    assert percent[0] == 100
    assert np.all(np.diff(percent) <= 0)
    never = int(runs["truce_first_day"].isna().sum())
    assert percent[-1] == pytest.approx(100 * never / len(runs))
    ax = plot_truce_duration(mediated_results.timeseries, variable="truce")
    days, percent = _curve(ax)
    assert 0 < percent[-1] < 100
    assert "spells of truce" in ax.get_ylabel()


def test_the_truce_variable_is_found_by_name() -> None:
    assert truce_variable(["blockade", "truce"]) == "truce"
    assert truce_variable(["talks"]) == "talks"
    assert truce_variable(["ceasefire_on", "talks"]) == "ceasefire_on"
    with pytest.raises(ValueError, match="choose one of blockade, talks"):
        truce_variable(["blockade", "talks"])
    with pytest.raises(ValueError, match="the scenario has no boolean variable"):
        truce_variable([])
    with pytest.raises(ValueError, match="no boolean variable 'peace'"):
        truce_variable(["truce"], "peace")
