"""Tests for escalation.report_text."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from escalation.report_text import summary_text, wilson_interval


@pytest.mark.parametrize("trials", [1, 7, 40, 1000, 5001, 123457])
def test_every_share_lies_in_its_wilson_interval(trials: int) -> None:
    # At 0 and at every trial the bounds are exactly 0 and 1: a bound an ulp short
    # of them puts the share outside its own interval (and breaks error bars).
    k = np.unique(np.linspace(0, trials, 50).round().astype(int))
    low, high = wilson_interval(k, trials)
    share = k / trials
    assert (low <= share).all()
    assert (share <= high).all()
    assert low[0] == 0.0
    assert high[-1] == 1.0
    assert (low[1:] > 0.0).all()
    assert (high[:-1] < 1.0).all()


def test_wilson_interval_matches_scipy() -> None:
    for k, n in [(0, 20), (3, 20), (20, 20), (517, 1000)]:
        low, high = wilson_interval(k, n)
        ci = stats.binomtest(k, n).proportion_ci(0.95, method="wilson")
        assert float(low) == pytest.approx(ci.low, abs=1e-12)
        assert float(high) == pytest.approx(ci.high, abs=1e-12)


def test_a_scenario_without_cycles_says_so() -> None:
    from escalation import load_scenario_text, run_scenario

    quiet = load_scenario_text(
        """\
name: quiet
horizon_days: 20
ladder: [{rung: 0, name: calm}]
actors:
  a:
    name: A
    kind: state
    tempo: [{action: patrol, base_rate: 0.5}]
actions:
  patrol: {rung: 0}
outcomes: [{id: any, when: "true"}]
"""
    )
    text = summary_text(run_scenario(quiet, runs=10, seed=1))
    assert "no run has a retaliation cycle" in text
    assert "nan" not in text
    assert text.splitlines()[1].startswith("10 runs x 20 days, seed 1, ")
    one = summary_text(run_scenario(quiet, runs=1, seed=1, horizon_days=1))
    assert one.splitlines()[1].startswith("1 run x 1 day, seed 1, ")


def test_the_median_first_day_is_of_the_runs_where_the_variable_held() -> None:
    from escalation import load_scenario_text, run_scenario

    rare = load_scenario_text(
        """\
name: rare
horizon_days: 40
ladder: [{rung: 0, name: calm}]
world:
  truce: {initial: false}
actors:
  a:
    name: A
    kind: state
    policy:
      - {id: sometimes, when: "true", do: declare, probability: 0.01}
actions:
  declare:
    rung: 0
    effects: [{set: truce, value: 1}]
outcomes: [{id: any, when: "true"}]
"""
    )
    results = run_scenario(rare, runs=200, seed=3)
    runs = results.runs
    held = runs.loc[runs["truce_days"] > 0, "truce_first_day"]
    assert 0 < len(held) < len(runs) / 2  # most runs never see a truce
    lines = summary_text(results).splitlines()
    (header,) = [line for line in lines if line.startswith("World")]
    assert header.endswith("first day if ever (median)")
    (row,) = [line for line in lines if line.startswith("truce ")]
    assert float(row.split()[-1]) == held.median()
