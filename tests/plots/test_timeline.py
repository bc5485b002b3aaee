"""The rung over time (bands across runs) and one replayed run's acts and answers."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib.text import Annotation

from escalation import Scenario, SimulationResults, run_scenario
from escalation.plots.canvas import caption_of
from escalation.plots.timeline import notable_events, plot_run_timeline, plot_rung_over_time
from escalation.replay import replay_run


def test_rung_bands_median_and_a_few_runs(mediated_results: SimulationResults) -> None:
    series = mediated_results.timeseries
    ladder = [rung.name for rung in mediated_results.scenario.ladder]
    ax = plot_rung_over_time(series, ladder=ladder, n_paths=3, seed=5)
    band = series[(series["kind"] == "band") & (series["series"] == "rung")].sort_values("day")
    (median,) = [line for line in ax.lines if line.get_gid() == "median"]
    np.testing.assert_array_equal(median.get_ydata(), band["q50"].to_numpy())
    (mean,) = [line for line in ax.lines if line.get_gid() == "mean"]
    np.testing.assert_allclose(mean.get_ydata(), band["mean"].to_numpy())
    paths = [line for line in ax.lines if str(line.get_gid()).startswith("path:")]
    assert [line.get_gid() for line in paths] == ["path:0", "path:1", "path:2"]
    assert len(ax.collections) == 2  # the 90% and the 50% bands
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0 calm", "1 talks", "2 strikes"]
    assert ax.get_xlabel() == "day"
    assert "rung" in ax.get_ylabel()
    assert caption_of(ax) == "600 runs, seed 5"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:2] == ["90% of runs", "50% of runs"]
    assert "median" in legend
    assert not [
        line
        for line in plot_rung_over_time(series, n_paths=0).lines
        if line.get_gid() and str(line.get_gid()).startswith("path:")
    ]


def test_rung_over_a_one_day_horizon(mediated_crisis: Scenario) -> None:
    results = run_scenario(mediated_crisis, runs=20, seed=5, horizon_days=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = plot_rung_over_time(results.timeseries)
    assert ax.get_xlim() == (-0.5, 0.5)
    lines = {line.get_gid(): line for line in ax.lines}
    assert lines["median"].get_marker() == "o"  # a line through one day draws nothing
    assert lines["mean"].get_marker() == "o"
    longer = plot_rung_over_time(run_scenario(mediated_crisis, runs=20, seed=5).timeseries)
    assert {line.get_marker() for line in longer.lines} == {"None"}


def test_rung_needs_band_rows() -> None:
    empty = pd.DataFrame(
        {"kind": ["path"], "series": ["truce"], "day": [0], "run": [0], "value": [0.0]}
    )
    with pytest.raises(ValueError, match="no 'band' rows for 'rung'; it has truce"):
        plot_rung_over_time(empty)


def test_a_run_timeline_draws_each_answer_from_its_cause(
    mediated_results: SimulationResults,
) -> None:
    scenario = mediated_results.scenario
    replay = replay_run(scenario, mediated_results.seed, 0, horizon_days=120)
    events = replay.events
    rungs = {name: action.rung for name, action in scenario.actions.items()}
    actors = list(scenario.actors)
    ax = plot_run_timeline(events, actors=actors, rungs=rungs, run=0, seed=5, horizon_days=120)
    notable = events[notable_events(events)]
    answers = notable[notable["cause"].isin(notable["event_id"])]
    assert len(answers) > 0
    arrows = [
        t for t in ax.texts if isinstance(t, Annotation) and str(t.get_gid()).startswith("answer:")
    ]
    assert len(arrows) == len(answers)
    row = {actor: i for i, actor in enumerate(actors)}
    by_id = events.set_index("event_id")
    for arrow in arrows:
        cause, answer = (int(x) for x in str(arrow.get_gid())[len("answer:") :].split("->"))
        assert arrow.xy == (by_id.loc[answer, "day"], row[by_id.loc[answer, "actor"]])
        assert arrow.xyann == (by_id.loc[cause, "day"], row[by_id.loc[cause, "actor"]])
    marks = sum(
        len(c.get_offsets()) for c in ax.collections if str(c.get_gid()).startswith("acts:")
    )
    ticks = sum(
        len(c.get_offsets()) for c in ax.collections if str(c.get_gid()).startswith("routine:")
    )
    assert marks == len(notable)
    assert marks + ticks == len(events)
    assert [t.get_text() for t in ax.get_yticklabels()] == actors
    assert ax.get_xlabel() == "day"
    assert ax.get_xlim() == (-1, 120)
    routine = events[~notable_events(events)]
    assert routine["count"].max() > 1  # some days bundle several acts in one row
    assert caption_of(ax) == (
        f"seed 5, run 0, {len(arrows)} answers, {int(routine['count'].sum()):,} routine acts"
    )
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "strike" in legend
    assert "answers" in legend


def test_every_acting_actor_needs_a_row() -> None:
    events = pd.DataFrame(
        {
            "day": [1],
            "event_id": [5],
            "actor": ["ttp"],
            "action": ["attack"],
            "target": ["x"],
            "rule": [""],
            "count": [1],
            "cause": [-1],
            "chain": [1],
            "deaths_target": [0.0],
            "deaths_actor": [0.0],
        }
    )
    with pytest.raises(ValueError, match="events by actors not given a row: ttp"):
        plot_run_timeline(events, actors=["pakistan"])
