"""Tempos: daily counts of repeated acts from a self- and cross-exciting (Hawkes) process.

Statistical checks use a fixed seed and a tolerance of five standard errors (from
the closed-form variance where there is one): a correct engine would pass for
practically any seed, while a wrong mean or a wrong rule fails.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from small_scenarios import scenario, simulate, within_se


def test_casualties_of_a_tempo_scale_with_the_count_of_acts() -> None:
    subject = scenario(
        """\
        actors:
          a:
            name: A
            kind: armed_group
            tempo: [{action: attack, target: b, base_rate: 1.5}]
          b: {name: B, kind: state}
        actions:
          attack:
            rung: 0
            hostile: true
            casualties: {target: {distribution: fixed, mean: 2}}
        """
    )
    runs = simulate(subject, 100)
    np.testing.assert_array_equal(runs["b_dead_true"], 2 * runs["attack_count"])
    assert within_se(runs["attack_count"], 45, math.sqrt(45))


def test_hawkes_tempo_mean_count_follows_its_recursion() -> None:
    """E[rate] obeys the kernel's recursion; the stationary rate is base / (1 - alpha/beta)."""
    base, alpha, beta, horizon = 0.5, 0.3, 0.6, 120
    subject = scenario(
        f"""\
        actors:
          a:
            name: A
            kind: armed_group
            tempo: [{{action: raid, base_rate: {base}, alpha: {alpha}, beta: {beta}}}]
        actions:
          raid: {{rung: 0}}
        """,
        horizon=horizon,
    )
    decay = math.exp(-beta)
    excitation, expected = 0.0, 0.0
    for _ in range(horizon):
        rate = base + excitation
        expected += rate
        excitation = excitation * decay + (alpha / beta) * (1 - decay) * rate
    assert rate == pytest.approx(base / (1 - alpha / beta), rel=1e-3)
    counts = simulate(subject, 3000)["raid_count"]
    assert within_se(counts, expected, counts.std())


def test_hawkes_tempo_started_at_its_stationary_rate_stays_there() -> None:
    base, alpha, beta, horizon = 0.5, 0.3, 0.6, 60
    ratio = alpha / beta
    subject = scenario(
        f"""\
        actors:
          a:
            name: A
            kind: armed_group
            tempo:
              - {{action: raid, base_rate: {base}, alpha: {alpha}, beta: {beta},
                  initial_excitation: {base * ratio / (1 - ratio)}}}
        actions:
          raid: {{rung: 0}}
        """,
        horizon=horizon,
    )
    counts = simulate(subject, 3000)["raid_count"]
    assert within_se(counts, horizon * base / (1 - ratio), counts.std())


def test_cross_excitation_adds_a_decaying_jump() -> None:
    jump, beta, horizon = 2.0, 0.7, 10
    subject = scenario(
        f"""\
        actors:
          a:
            name: A
            kind: state
            policy: [{{id: spark, when: "day == 0", do: provoke}}]
          b:
            name: B
            kind: armed_group
            tempo:
              - action: raid
                base_rate: 0
                beta: {beta}
                excited_by: [{{action: provoke, by: a, jump: {jump}}}]
        actions:
          provoke: {{rung: 1}}
          raid: {{rung: 0}}
        """,
        horizon=horizon,
    )
    # The act of day 0 raises the rate by the jump on day 1, then it decays by e^-beta a day.
    decay = math.exp(-beta)
    expected = jump * (1 - decay ** (horizon - 1)) / (1 - decay)
    counts = simulate(subject, 4000)["raid_count"]
    assert within_se(counts, expected, math.sqrt(expected))  # Poisson: variance = mean
    first = simulate(subject, 200)["raid_first_day"]
    assert first.min() == 1
