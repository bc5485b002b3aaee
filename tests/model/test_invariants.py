"""Invariants that hold for any scenario: checked with Hypothesis on random small scenarios.

Each example draws the numbers of a three-actor scenario (casualty distributions and
means, probabilities, delays, cooldowns, claims, detection, a Hawkes tempo) and a
seed, runs it briefly, and checks what must hold whatever the numbers are.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalation import SimulationResults, load_scenario_text, run_scenario

LADDER_SIZE = 4
HORIZON = 30
RUNS = 16


def numbers(low: float, high: float) -> st.SearchStrategy[str]:
    """Numbers as YAML reads them: a decimal point and no exponent ("5e-324" is text in YAML)."""
    return st.floats(low, high).map(lambda value: f"{value:.6f}")


probabilities = numbers(0.0, 1.0)
means = numbers(0.0, 20.0)
rungs = st.integers(0, LADDER_SIZE - 1)


@st.composite
def casualties(draw: st.DrawFn) -> str:
    distribution = draw(st.sampled_from(["fixed", "poisson", "negative_binomial"]))
    mean = draw(means)
    if distribution == "negative_binomial":
        dispersion = draw(numbers(0.05, 10.0))
        return f"{{distribution: {distribution}, mean: {mean}, dispersion: {dispersion}}}"
    return f"{{distribution: {distribution}, mean: {mean}}}"


@st.composite
def delays(draw: st.DrawFn) -> str:
    low = draw(st.integers(0, 3))
    return f"[{low}, {low + draw(st.integers(0, 3))}]"


@st.composite
def scenarios(draw: st.DrawFn) -> str:
    """The YAML text of a random scenario of three actors answering each other."""
    beta = draw(st.floats(0.1, 2.0))
    alpha = beta * draw(st.floats(0.0, 0.9))  # a stationary tempo: alpha / beta < 1
    values: dict[str, Any] = {
        "base_rate": draw(numbers(0.0, 2.0)),
        "alpha": f"{alpha:.6f}",
        "beta": f"{beta:.6f}",
        "raid_casualties": draw(casualties()),
        "strike_casualties": draw(casualties()),
        "strike_own": draw(casualties()),
        "answer": draw(probabilities),
        "revenge": draw(probabilities),
        "threshold": draw(st.integers(0, 5)),
        "delay": draw(delays()),
        "cooldown": draw(st.integers(0, 3)),
        "raid_rung": draw(rungs),
        "strike_rung": draw(rungs),
        "revenge_rung": draw(rungs),
        "detect": draw(probabilities),
        "blame": draw(probabilities),
        "inflation": draw(numbers(0.1, 10.0)),
        "sigma": draw(numbers(0.0, 1.5)),
        "admitted": draw(probabilities),
        "war_days": draw(st.integers(0, HORIZON)),
    }
    return """\
name: random_crisis
horizon_days: {horizon}
ladder:
  - {{rung: 0, name: calm}}
  - {{rung: 1, name: raid}}
  - {{rung: 2, name: strike}}
  - {{rung: 3, name: war}}
world:
  anger: {{initial: 0.5, min: 0, max: 1}}
  talks: {{initial: false}}
actors:
  m:
    name: Militants
    kind: armed_group
    tempo:
      - {{action: raid, target: g, base_rate: {base_rate}, alpha: {alpha}, beta: {beta}}}
    policy:
      - {{id: revenge, when: "count(strike, by=g, within=2) > 0", do: bomb, target: g,
          probability: {revenge}}}
  g:
    name: Government
    kind: state
    policy:
      - {{id: hit, when: "casualties(raid, within=3) + count(bomb, within=3) > {threshold}",
          do: strike, target: m, probability: {answer}, delay: {delay},
          cooldown: {cooldown}}}
      - {{id: talk, when: "anger < 0.3", do: parley, probability: 0.5}}
  n: {{name: Neighbour, kind: regional_power}}
actions:
  raid:
    rung: {raid_rung}
    hostile: true
    casualties: {{target: {raid_casualties}}}
  strike:
    rung: {strike_rung}
    hostile: true
    casualties: {{target: {strike_casualties}, actor: {strike_own}}}
    effects: [{{add: anger, value: 0.2}}]
  bomb:
    rung: {revenge_rung}
    hostile: true
    casualties: {{target: {raid_casualties}}}
    effects: [{{multiply: anger, value: 0.5}}]
  parley:
    rung: 0
    effects: [{{set: talks, value: 1}}]
perception:
  detection:
    - {{observer: g, actor: m, probability: {detect}}}
  misattribution:
    - {{observer: g, actual: m, perceived: n, probability: {blame}}}
  claims:
    - {{actor: g, enemy_inflation_median: {inflation}, enemy_inflation_sigma: {sigma},
        own_admitted_share: {admitted}}}
outcomes:
  - {{id: war, when: "days_at_or_above(2) >= {war_days}"}}
  - {{id: talks, when: "days_with(talks) > 0"}}
""".format(horizon=HORIZON, **values)


def simulate(text: str, seed: int) -> SimulationResults:
    return run_scenario(load_scenario_text(text), runs=RUNS, seed=seed, path_sample=4)


@settings(max_examples=25, deadline=None, database=None)
@given(text=scenarios(), seed=st.integers(0, 2**64 - 1))
def test_invariants_of_any_scenario(text: str, seed: int) -> None:
    results = simulate(text, seed)
    runs = results.runs
    assert len(runs) == RUNS

    for actor in ("m", "g", "n"):
        for kind in ("true", "claimed", "admitted"):
            column = runs[f"{actor}_dead_{kind}"]
            assert column.notna().all()
            assert (column >= 0).all(), (actor, kind)
        # Admitted deaths are a share of the true ones.
        assert (runs[f"{actor}_dead_admitted"] <= runs[f"{actor}_dead_true"] + 1e-9).all()
    assert (runs["n_dead_true"] == 0).all()  # nobody acts on the neighbour

    assert runs["max_rung"].between(0, LADDER_SIZE - 1).all()
    levels = [runs[f"days_at_or_above_{level}"] for level in range(1, LADDER_SIZE)]
    assert (levels[0] <= HORIZON).all()
    for lower, higher in zip(levels, levels[1:], strict=False):
        assert (higher <= lower).all()
    reached = runs["max_rung"].to_numpy()
    for level, days in enumerate(levels, start=1):
        np.testing.assert_array_equal(days.to_numpy() > 0, reached >= level)

    shares = results.outcome_shares()
    assert shares["share"].sum() == pytest.approx(1.0, abs=1e-12)
    assert set(runs["outcome"].astype(str)) <= {"war", "talks", "unclassified"}

    assert (results.cycles["length"] >= 2).all()
    assert (runs["cycle_length_max"] >= 2).sum() == (runs["cycles"] > 0).sum()
    assert runs["cycles"].sum() == len(results.cycles)

    band = results.timeseries.query("kind == 'band' and series == 'rung'")
    assert len(band) == HORIZON
    for statistic in ("mean", "q05", "q50", "q95"):
        assert band[statistic].between(0, LADDER_SIZE - 1).all()
    assert (band["q05"] <= band["q50"]).all()
    assert (band["q50"] <= band["q95"]).all()
    paths = results.timeseries.query("kind == 'path' and series == 'rung'")
    assert paths["value"].between(0, LADDER_SIZE - 1).all()

    assert runs["final_anger"].between(0, 1).all()
    assert (runs["talks_days"] <= HORIZON).all()
