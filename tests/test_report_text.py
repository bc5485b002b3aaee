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
