"""The ABC-SMC sampler on its own: prior, importance weights, quantiles, a known posterior."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pytest
from scipy import stats

from escalation.validation.smc import (
    FloatArray,
    Population,
    Task,
    UniformPrior,
    abc_smc,
    weighted_quantile,
)


def test_weighted_quantile() -> None:
    values = np.array([3.0, 1.0, 2.0, 4.0])
    assert weighted_quantile(values, np.ones(4), 0.5) == 2.0
    assert weighted_quantile(values, np.array([0.0, 0.0, 0.0, 1.0]), 0.5) == 4.0
    assert weighted_quantile(values, np.ones(4), 0.0) == 1.0
    assert weighted_quantile(values, np.ones(4), 1.0) == 4.0


def test_whole_numbers_get_equal_prior_weight() -> None:
    prior = UniformPrior.of(["n", "x"], [1, 0.0], [5, 1.0], [True, False])
    assert prior.low.tolist() == [0.5, 0.0]
    assert prior.high.tolist() == [5.5, 1.0]
    assert prior.values(np.array([0.5, 0.25])) == {"n": 1.0, "x": 0.25}
    assert prior.values(np.array([5.49, 0.25]))["n"] == 5.0
    assert prior.inside(np.array([3.0, 0.5]))
    assert not prior.inside(np.array([5.5, 0.5]))


def test_importance_weights_are_prior_over_the_mixture_density() -> None:
    prior = UniformPrior.of(["a", "b"], [0.0, 0.0], [1.0, 1.0], [False, False])
    generator = np.random.default_rng(4)
    parents = generator.uniform(0, 1, (20, 2))
    parent_weights = generator.dirichlet(np.ones(20))
    population = Population.of(parents, parent_weights, prior)
    new = generator.uniform(0, 1, (7, 2))
    density = sum(
        w * stats.multivariate_normal(mean, population.covariance).pdf(new)
        for mean, w in zip(parents, parent_weights, strict=True)
    )
    expected = (1 / density) / (1 / density).sum()
    assert population.weights_of(new) == pytest.approx(expected, rel=1e-9)


def test_a_normal_mean_is_recovered() -> None:
    """Data: 20 draws of N(theta, 1) with mean 0.3; flat prior on [-3, 3].

    With a tolerance going to zero the ABC posterior of theta given the sample mean
    is N(0.3, 1/20) (truncation to [-3, 3] is negligible): median 0.3, standard
    deviation 0.224.  Four generations do not reach zero tolerance, so the check is
    loose: median within 0.15, spread within a factor two.
    """
    observed = 0.3
    prior = UniformPrior.of(["theta"], [-3.0], [3.0], [False])

    def simulate(tasks: list[Task]) -> Iterator[FloatArray]:
        for parameters, seed in tasks:
            draws = np.random.default_rng(seed).normal(parameters["theta"], 1.0, 20)
            yield np.array([[draws.mean()]])

    def distance_for(_: list[FloatArray]) -> Callable[[FloatArray], float]:
        return lambda summaries: abs(float(summaries[0, 0]) - observed)

    generations = abc_smc(
        prior,
        simulate,
        lambda _: True,
        distance_for,
        seed=12,
        particles=300,
        generations=5,
        quantile=0.5,
        limit=30_000,
        batch=50,
    )
    last = generations[-1]
    assert last.kept
    thetas = last.thetas[:, 0]
    median = weighted_quantile(thetas, last.weights, 0.5)
    spread = np.sqrt(
        np.average((thetas - np.average(thetas, weights=last.weights)) ** 2, weights=last.weights)
    )
    assert median == pytest.approx(observed, abs=0.15)
    assert 0.5 * 0.224 < spread < 2 * 0.224
    epsilons = [g.epsilon for g in generations]
    assert epsilons == sorted(epsilons, reverse=True)


def test_the_result_does_not_depend_on_the_batch() -> None:
    prior = UniformPrior.of(["theta"], [0.0], [1.0], [False])

    def simulate(tasks: list[Task]) -> Iterator[FloatArray]:
        for parameters, seed in tasks:
            noise = np.random.default_rng(seed).normal(0, 0.1)
            yield np.array([[parameters["theta"] + noise]])

    def run(batch: int) -> list[float]:
        generations = abc_smc(
            prior,
            simulate,
            lambda _: True,
            lambda _: lambda s: abs(float(s[0, 0]) - 0.5),
            seed=1,
            particles=20,
            generations=3,
            quantile=0.5,
            limit=2000,
            batch=batch,
        )
        return generations[-1].thetas[:, 0].tolist()

    assert run(1) == run(7) == run(64)


def test_a_generation_that_cannot_fill_is_dropped() -> None:
    # The distance is theta itself and the tolerance the smallest of generation 0's:
    # hardly any candidate can beat it, so generation 1 runs out of candidates.
    prior = UniformPrior.of(["theta"], [0.0], [1.0], [False])

    def simulate(tasks: list[Task]) -> Iterator[FloatArray]:
        for parameters, _ in tasks:
            yield np.array([[parameters["theta"]]])

    generations = abc_smc(
        prior,
        simulate,
        lambda _: True,
        lambda _: lambda s: float(s[0, 0]),
        seed=1,
        particles=10,
        generations=3,
        quantile=0.05,
        limit=12,
        batch=4,
    )
    assert [g.kept for g in generations] == [True, False]
    assert generations[1].simulated == 12


def test_a_prior_without_measurable_particles_is_refused() -> None:
    prior = UniformPrior.of(["theta"], [0.0], [1.0], [False])

    def simulate(tasks: list[Task]) -> Iterator[FloatArray]:
        for _ in tasks:
            yield np.array([[np.nan]])

    with pytest.raises(ValueError, match="the prior gave 0 of 5 particles"):
        abc_smc(
            prior,
            simulate,
            lambda s: bool(np.isfinite(s).all()),
            lambda _: lambda s: 0.0,
            seed=1,
            particles=5,
            generations=2,
            quantile=0.5,
            limit=10,
            batch=5,
        )
