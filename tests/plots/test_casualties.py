"""Casualty boxes: true and claimed per actor, a log scale when the tails need one."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from escalation import SimulationResults
from escalation.plots.canvas import caption_of
from escalation.plots.casualties import needs_log_scale, plot_casualties
from escalation.plots.palette import ACTOR_COLOURS
from escalation.plots.timeline import plot_run_timeline
from escalation.replay import replay_run


def _boxes(ax) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {patch.get_gid(): patch for patch in ax.patches if patch.get_gid()}


def test_true_and_claimed_boxes_per_actor(mediated_results: SimulationResults) -> None:
    runs = mediated_results.runs
    ax = plot_casualties(runs, seed=mediated_results.seed)
    boxes = _boxes(ax)
    actors = ["ttp", "pakistan", "taliban"]
    assert set(boxes) == {f"{a}:{k}" for a in actors for k in ("true", "claimed")}
    assert [t.get_text() for t in ax.get_yticklabels()] == actors
    for actor in actors:
        true = boxes[f"{actor}:true"]
        claimed = boxes[f"{actor}:claimed"]
        assert to_hex(true.get_facecolor()) == ACTOR_COLOURS[actor].lower()
        assert to_hex(claimed.get_edgecolor()) == ACTOR_COLOURS[actor].lower()
        assert claimed.get_hatch()
        # The box spans the 25th to the 75th percentile of the runs' deaths.
        low, high = np.quantile(runs[f"{actor}_dead_true"], [0.25, 0.75])
        xs = true.get_path().vertices[:, 0]
        assert (xs.min(), xs.max()) == pytest.approx((low, high))
    assert ax.get_xscale() == "linear"
    assert ax.get_xlabel() == "deaths over the horizon (people)"
    assert caption_of(ax) == "600 runs, seed 5"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["true", "claimed by the enemy"]


def _notes(ax) -> list[str]:  # type: ignore[no-untyped-def]
    return [text.get_text() for text in ax.texts]


def test_a_box_of_width_zero_says_how_often_there_were_none() -> None:
    runs = pd.DataFrame(
        {
            "a_dead_true": np.r_[np.zeros(97), 5.0, 6.0, 7.0],
            "a_dead_claimed": np.zeros(100),
            "b_dead_true": np.r_[np.zeros(60), np.ones(40)],
            "b_dead_claimed": np.r_[np.zeros(99), 2.0],
        }
    )
    notes = _notes(plot_casualties(runs))
    assert notes.count("true: none in 95% of runs") == 1  # a: 3 of 100 runs had deaths
    assert "claimed by the enemy: none in any run" in notes  # a: no claim at all
    assert "claimed by the enemy: none in 95% of runs" in notes  # b: one claim


def test_no_deaths_at_all_is_said_without_a_warning() -> None:
    runs = pd.DataFrame({"a_dead_true": np.zeros(10), "a_dead_claimed": np.zeros(10)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = plot_casualties(runs)
    assert "no deaths in any run" in _notes(ax)


def test_a_heavy_tail_gets_a_log_scale() -> None:
    generator = np.random.default_rng(1)
    heavy = generator.negative_binomial(0.3, 0.3 / (0.3 + 400), 2000).astype(float)
    light = generator.poisson(30, 2000).astype(float)
    runs = pd.DataFrame(
        {
            "pakistan_dead_true": heavy,
            "pakistan_dead_claimed": 3 * heavy,
            "ttp_dead_true": light,
            "ttp_dead_claimed": light,
        }
    )
    assert needs_log_scale([heavy])
    assert not needs_log_scale([light])
    ax = plot_casualties(runs)
    assert ax.get_xscale() == "symlog"
    assert "log scale" in ax.get_xlabel()
    assert plot_casualties(runs, log=False).get_xscale() == "linear"
    assert plot_casualties(runs, actors=["ttp"]).get_xscale() == "linear"


def test_an_actor_keeps_its_colour_across_figures(
    mediated_results: SimulationResults,
) -> None:
    scenario = mediated_results.scenario
    actors = list(scenario.actors)
    deaths = plot_casualties(mediated_results.runs, colour_actors=actors)
    replay = replay_run(scenario, mediated_results.seed, 0, horizon_days=120)
    timeline = plot_run_timeline(replay.events, actors=actors, colour_actors=actors)
    box = _boxes(deaths)["pakistan:true"]
    labels = {t.get_text(): to_hex(t.get_color()) for t in timeline.get_yticklabels()}
    assert to_hex(box.get_facecolor()) == labels["pakistan"] == ACTOR_COLOURS["pakistan"].lower()
    # 'broker' is no actor of the reference crisis: a colour of its own all the same.
    assert labels["broker"] not in {labels[a] for a in ("ttp", "pakistan", "taliban")}


def test_an_unknown_actor_is_named() -> None:
    runs = pd.DataFrame({"ttp_dead_true": [1.0], "ttp_dead_claimed": [1.0]})
    with pytest.raises(ValueError, match="no deaths columns for 'isis'; the runs table has ttp"):
        plot_casualties(runs, actors=["isis"])
