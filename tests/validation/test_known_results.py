"""The engine against closed-form results, on the teaching scenarios of scenarios/teaching.

Each test reads the scenario's own parameters, checks that its rules have the form
the closed form assumes, simulates with a fixed seed, and compares with a stated
tolerance: four standard errors estimated from the runs themselves (independent
runs), so a correct engine fails a comparison about once in 16,000.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from escalation.experiments.replicates import run_scenario
from escalation.model.engine import parameter_values
from escalation.scenario import Scenario, load_scenario
from escalation.scenario.schema import Quantity
from escalation.validation.evidence import traced_block

TEACHING = Path(__file__).resolve().parents[2] / "scenarios" / "teaching"
SIGMAS = 4.0


def value_of(quantity: Quantity, scenario: Scenario) -> float:
    """A literal, or the value of the parameter it names."""
    if isinstance(quantity, str):
        values = parameter_values(scenario)
        assert quantity in values, f"{quantity!r} is not a parameter: the closed form needs one"
        return values[quantity]
    return float(quantity)


# -- a self-exciting (Hawkes) tempo ------------------------------------------------


def test_hawkes_mean_rate_is_the_stationary_rate() -> None:
    """Mean daily attacks = mu / (1 - alpha/beta) once the start has been forgotten.

    Run ``i`` draws the same numbers whatever the horizon, so the attacks of days
    [burn_in, burn_in + window) of each run are its count over the longer horizon
    minus its count over the shorter one.  After ``burn_in`` days the expected rate
    is within e* r^burn_in of stationary (r = 1 - (1 - n)(1 - e^-beta), e* = mu n /
    (1 - n)): the bound is added to the tolerance.
    """
    scenario = load_scenario(TEACHING / "hawkes_tempo.yaml")
    (tempo,) = [tempo for actor in scenario.actors.values() for tempo in actor.tempo]
    assert tempo.excited_by == (), "cross-excitation has no closed form here"
    mu = value_of(tempo.base_rate, scenario)
    alpha = value_of(tempo.alpha, scenario)
    beta = value_of(tempo.beta, scenario)
    n = alpha / beta
    stationary = mu / (1 - n)

    runs, burn_in, window = 2000, 300, 1000
    short = run_scenario(scenario, runs=runs, seed=2024, horizon_days=burn_in, path_sample=0)
    long = run_scenario(
        scenario, runs=runs, seed=2024, horizon_days=burn_in + window, path_sample=0
    )
    column = f"{tempo.action}_count"
    rates = (long.runs[column] - short.runs[column]).to_numpy() / window

    ratio = 1 - (1 - n) * (1 - math.exp(-beta))
    transient = mu * n / (1 - n) * ratio**burn_in / (1 - ratio) / window
    error = rates.std(ddof=1) / math.sqrt(runs)
    assert abs(rates.mean() - stationary) <= SIGMAS * error + transient
    # The test can tell: a rate 2% off would fail it.
    assert SIGMAS * error + transient < 0.02 * stationary


# -- reciprocity under noise: a four-state Markov chain ------------------------------


def reciprocity_chain(answer: float, noise: float) -> np.ndarray:
    """Transition matrix on (A attacked yesterday, B attacked yesterday), index 2A + B.

    Each side attacks today with probability ``answer`` if the other attacked
    yesterday, else ``noise``, independently of the other side's draw.
    """
    matrix = np.zeros((4, 4))
    for a in (0, 1):
        for b in (0, 1):
            a_attacks = answer if b else noise
            b_attacks = answer if a else noise
            for a_next in (0, 1):
                for b_next in (0, 1):
                    matrix[2 * a + b, 2 * a_next + b_next] = (
                        a_attacks if a_next else 1 - a_attacks
                    ) * (b_attacks if b_next else 1 - b_attacks)
    return matrix


def stationary_distribution(matrix: np.ndarray) -> np.ndarray:
    """pi with pi P = pi and sum(pi) = 1, by numpy.linalg."""
    size = matrix.shape[0]
    system = np.vstack([matrix.T - np.eye(size), np.ones(size)])
    rhs = np.zeros(size + 1)
    rhs[-1] = 1.0
    solution, *_ = np.linalg.lstsq(system, rhs, rcond=None)
    return solution


def test_reciprocity_shares_match_the_stationary_distribution() -> None:
    """Shares of days of mutual restraint, one-sided and mutual attack."""
    scenario = load_scenario(TEACHING / "reciprocity_noise.yaml")
    values = parameter_values(scenario)
    forgive, eps = values["forgive"], values["eps"]
    for me, other in (("a", "b"), ("b", "a")):
        answer, noise = scenario.actors[me].policy
        assert answer.when == f"count(attack, by={other}, within=1) > 0"
        assert answer.probability == "1 - forgive"
        assert noise.when == "true"
        assert noise.probability == "eps"
        assert answer.do == noise.do == "attack"
        assert answer.delay == noise.delay == (0, 0)
        assert answer.cooldown == noise.cooldown == 0
    assert not scenario.perception.detection, "the chain assumes every attack is seen"

    pi = stationary_distribution(reciprocity_chain(1 - forgive, eps))
    expected = {"restraint": pi[0], "one_sided": pi[1] + pi[2], "mutual": pi[3]}
    # The scenario's own closed form: each side attacks on eps / (eps + forgive) of days.
    assert pi[2] + pi[3] == pytest.approx(eps / (eps + forgive))

    runs, burn_in, horizon = 600, 100, 400
    _, events = traced_block(scenario, runs=runs, seed=1995, horizon_days=horizon)
    attacks = events.loc[(events["action"] == "attack") & (events["day"] >= burn_in)]
    days = np.zeros((runs, horizon - burn_in, 2), dtype=bool)
    for side, actor in enumerate(("a", "b")):
        mine = attacks.loc[attacks["actor"] == actor]
        days[mine["run"].to_numpy(), mine["day"].to_numpy() - burn_in, side] = True
    both = days.sum(axis=2)
    observed = {
        "restraint": (both == 0).mean(axis=1),
        "one_sided": (both == 1).mean(axis=1),
        "mutual": (both == 2).mean(axis=1),
    }
    for name, shares in observed.items():
        error = shares.std(ddof=1) / math.sqrt(runs)
        assert abs(shares.mean() - expected[name]) <= SIGMAS * error, name
        assert SIGMAS * error < 0.015, "too few days to tell"


# -- a constant daily hazard: the geometric waiting time -----------------------------


def test_first_strike_day_is_geometric() -> None:
    """P(first strike on day k) = (1 - p)^k p, days counted from 0; mean (1 - p) / p.

    Over the scenario's own horizon H some runs see no strike (their first day is
    NaN), so the mean compared is that of min(D, H), which is exactly
    sum_{k<H} P(D > k) = (1 - p)(1 - (1 - p)^H) / p.
    """
    scenario = load_scenario(TEACHING / "geometric_first_strike.yaml")
    (actor_name,) = scenario.actors
    (rule,) = scenario.actors[actor_name].policy
    assert rule.when == "true"
    assert rule.delay == (0, 0)
    p = value_of(rule.probability, scenario)
    horizon = scenario.horizon_days

    runs = 20000
    results = run_scenario(scenario, runs=runs, seed=7, path_sample=0)
    first = results.runs[f"{rule.do}_first_day"].to_numpy()
    censored = np.where(np.isnan(first), horizon, first)

    expected_mean = (1 - p) * (1 - (1 - p) ** horizon) / p
    assert abs(censored.mean() - expected_mean) <= SIGMAS * censored.std(ddof=1) / math.sqrt(runs)
    assert expected_mean == pytest.approx(99 * (1 - 0.99**365))  # the header's p = 0.01

    on_day_zero = (first == 0).mean()
    assert abs(on_day_zero - p) <= SIGMAS * math.sqrt(p * (1 - p) / runs)

    none = np.isnan(first).mean()
    expected_none = (1 - p) ** horizon
    assert abs(none - expected_none) <= SIGMAS * math.sqrt(
        expected_none * (1 - expected_none) / runs
    )

    # The whole distribution: ten bins of about equal probability below the horizon,
    # and the runs with no strike.
    quantiles = stats.geom.ppf(np.linspace(0, 1 - expected_none, 11)[1:-1], p) - 1
    edges = np.unique(np.concatenate([[0], quantiles + 1, [horizon, horizon + 1]]))
    observed, _ = np.histogram(censored, bins=edges)
    cdf = 1 - (1 - p) ** edges[1:-1]
    probabilities = np.diff(np.concatenate([[0], cdf, [1]]))
    assert stats.chisquare(observed, runs * probabilities).pvalue > 1e-3
