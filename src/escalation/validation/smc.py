"""Approximate Bayesian computation by sequential Monte Carlo (ABC-SMC), generically.

The population Monte Carlo form of Beaumont, Cornuet, Marin & Robert (Biometrika
96(4), 2009; also Toni et al., J. R. Soc. Interface 6, 2009), over a uniform prior
on a box:

1. Generation 0 draws particles from the prior and keeps those whose summaries
   can be measured (``measurable``).
2. Generation ``t`` picks a particle of generation ``t - 1`` by weight, moves it
   by a Gaussian kernel of twice that population's weighted covariance (redrawn
   until it falls inside the box), and keeps it when its distance is at most
   ``epsilon_t``, the ``quantile`` of the previous generation's weighted
   distances.  Its weight is ``prior / sum_j w_j K(theta | theta_j)``.
3. It stops after ``generations`` generations, or when a generation cannot
   accept its particles within ``limit`` candidates (that generation is dropped).

Candidate ``i`` of generation ``t`` draws from ``SeedSequence(seed, spawn_key=(t,
i, 0))`` and simulates with a seed from ``(t, i, 1)``, and candidates are accepted
in their order, so that the result depends on the seed alone, not on how the
simulations were spread over workers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["Generation", "Population", "UniformPrior", "abc_smc", "weighted_quantile"]

FloatArray = NDArray[np.float64]
Task = tuple[dict[str, float], int]
"""What a simulation gets: parameter values by name, and a seed."""


def weighted_quantile(values: FloatArray, weights: FloatArray, q: float) -> float:
    """The ``q`` quantile of ``values`` weighted by ``weights`` (the inverse of the CDF)."""
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    index = int(np.searchsorted(cumulative, q * cumulative[-1], side="left"))
    return float(values[order][min(index, values.size - 1)])


@dataclass(frozen=True)
class UniformPrior:
    """A uniform prior on a box; whole-number coordinates are rounded when simulated.

    A whole-number parameter on ``[low, high]`` is sampled on ``[low - 0.5,
    high + 0.5)`` and rounded, so that every whole value has the same prior weight.
    """

    names: tuple[str, ...]
    low: FloatArray
    high: FloatArray
    integer: NDArray[np.bool_]

    @classmethod
    def of(
        cls,
        names: Sequence[str],
        low: Sequence[float],
        high: Sequence[float],
        integer: Sequence[bool],
    ) -> UniformPrior:
        whole = np.array(integer, dtype=bool)
        low_array = np.array(low, dtype=np.float64)
        high_array = np.array(high, dtype=np.float64)
        return cls(
            tuple(names),
            np.where(whole, low_array - 0.5, low_array),
            np.where(whole, high_array + 0.5, high_array),
            whole,
        )

    def inside(self, theta: FloatArray) -> bool:
        return bool(np.all(theta >= self.low) and np.all(theta < self.high))

    def values(self, theta: FloatArray) -> dict[str, float]:
        """The parameter values simulated for ``theta`` (whole numbers rounded)."""
        used = np.where(self.integer, np.floor(theta + 0.5), theta)
        return {name: float(value) for name, value in zip(self.names, used, strict=True)}


@dataclass(frozen=True)
class Population:
    """A generation's accepted particles, as the next one proposes from them."""

    thetas: FloatArray
    weights: FloatArray
    covariance: FloatArray

    @classmethod
    def of(cls, thetas: FloatArray, weights: FloatArray, prior: UniformPrior) -> Population:
        # Twice the weighted covariance (Beaumont et al. 2009), with a floor that keeps
        # it positive definite when a parameter has collapsed to one value.
        covariance = 2 * np.atleast_2d(np.cov(thetas, rowvar=False, aweights=weights))
        floor = (1e-6 * (prior.high - prior.low)) ** 2
        return cls(thetas, weights, covariance + np.diag(floor))

    def weights_of(self, thetas: FloatArray) -> FloatArray:
        """Normalised importance weights of new particles: prior over proposal density."""
        inverse = np.linalg.inv(self.covariance)
        differences = thetas[:, None, :] - self.thetas[None, :, :]
        exponent = -0.5 * np.einsum("ijk,kl,ijl->ij", differences, inverse, differences)
        exponent += np.log(self.weights)[None, :]
        # log-sum-exp: far from every parent the densities underflow to zero.
        top = exponent.max(axis=1, keepdims=True)
        log_density = top[:, 0] + np.log(np.exp(exponent - top).sum(axis=1))
        weights = np.exp(log_density.min() - log_density)
        return weights / weights.sum()


@dataclass(frozen=True)
class Generation:
    """One generation's outcome.

    ``summaries[i]`` is what the simulation of particle ``i`` returned;
    ``candidates[i]`` its candidate number; ``kept`` is False for a generation that
    could not accept its particles within the limit (and is not a population).
    """

    number: int
    epsilon: float
    thetas: FloatArray
    weights: FloatArray
    distances: FloatArray
    summaries: list[FloatArray]
    candidates: list[int]
    simulated: int
    seconds: float
    kept: bool


def _candidate_rng(seed: int, generation: int, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(generation, index, 0)))


def _simulation_seed(seed: int, generation: int, index: int) -> int:
    sequence = np.random.SeedSequence(seed, spawn_key=(generation, index, 1))
    return int(sequence.generate_state(1, np.uint64)[0])


@dataclass
class _Sampler:
    prior: UniformPrior
    simulate: Callable[[list[Task]], Iterator[FloatArray]]
    seed: int
    particles: int
    limit: int
    batch: int
    progress: Callable[[int, int, int], None] | None

    def propose(self, generation: int, index: int, parent: Population | None) -> FloatArray:
        generator = _candidate_rng(self.seed, generation, index)
        if parent is None:
            return generator.uniform(self.prior.low, self.prior.high)
        while True:
            start = parent.thetas[generator.choice(len(parent.thetas), p=parent.weights)]
            theta = generator.multivariate_normal(start, parent.covariance, method="cholesky")
            if self.prior.inside(theta):
                return theta

    def generation(
        self, number: int, parent: Population | None, accept: Callable[[FloatArray], bool]
    ) -> tuple[list[tuple[int, FloatArray, FloatArray]], int]:
        """Simulate candidates in order until ``particles`` are accepted (or the limit)."""
        accepted: list[tuple[int, FloatArray, FloatArray]] = []
        simulated = 0
        index = 0
        while len(accepted) < self.particles and index < self.limit:
            size = min(self.batch, self.limit - index)
            thetas = [self.propose(number, index + k, parent) for k in range(size)]
            tasks = [
                (self.prior.values(theta), _simulation_seed(self.seed, number, index + k))
                for k, theta in enumerate(thetas)
            ]
            for k, summaries in enumerate(self.simulate(tasks)):
                if len(accepted) >= self.particles:
                    break
                simulated += 1
                if accept(summaries):
                    accepted.append((index + k, thetas[k], summaries))
            index += size
            if self.progress is not None:
                self.progress(number, len(accepted), simulated)
        return accepted, simulated


def abc_smc(
    prior: UniformPrior,
    simulate: Callable[[list[Task]], Iterator[FloatArray]],
    measurable: Callable[[FloatArray], bool],
    distance_for: Callable[[list[FloatArray]], Callable[[FloatArray], float]],
    *,
    seed: int,
    particles: int,
    generations: int,
    quantile: float,
    limit: int,
    batch: int,
    progress: Callable[[int, int, int], None] | None = None,
) -> list[Generation]:
    """Run ABC-SMC; return every generation (the last kept one is the posterior).

    Parameters
    ----------
    simulate
        Maps a batch of tasks to their summaries, in order.
    measurable
        Whether a prior particle's summaries can be compared at all.
    distance_for
        Given generation 0's summaries, the distance function used from then on
        (so that scales can come from the prior's simulations).
    limit
        Most candidates a generation may simulate.
    batch
        Candidates simulated together (results do not depend on it).

    Raises
    ------
    ValueError
        When the prior gives fewer than ``particles`` measurable particles in
        ``limit`` candidates.
    """
    sampler = _Sampler(prior, simulate, seed, particles, limit, batch, progress)
    started = time.perf_counter()
    accepted, simulated = sampler.generation(0, None, measurable)
    if len(accepted) < particles:
        raise ValueError(
            f"the prior gave {len(accepted)} of {particles} particles whose every statistic "
            f"could be measured in {simulated} simulations; widen the ranges or check the "
            "targets"
        )
    distance = distance_for([summaries for _, _, summaries in accepted])
    weights = np.full(particles, 1 / particles)
    result = [_generation(0, math.inf, accepted, weights, distance, simulated, started, True)]
    for number in range(1, generations):
        parent_generation = result[-1]
        parent = Population.of(parent_generation.thetas, parent_generation.weights, prior)
        epsilon = weighted_quantile(parent_generation.distances, parent.weights, quantile)
        started = time.perf_counter()
        accepted, simulated = sampler.generation(number, parent, _within(distance, epsilon))
        if len(accepted) < particles:
            empty = np.zeros(0)
            result.append(
                _generation(number, epsilon, accepted, empty, distance, simulated, started, False)
            )
            break
        weights = parent.weights_of(np.array([theta for _, theta, _ in accepted]))
        result.append(
            _generation(number, epsilon, accepted, weights, distance, simulated, started, True)
        )
    return result


def _within(
    distance: Callable[[FloatArray], float], epsilon: float
) -> Callable[[FloatArray], bool]:
    """Acceptance at tolerance ``epsilon``."""

    def accept(summaries: FloatArray) -> bool:
        return distance(summaries) <= epsilon

    return accept


def _generation(
    number: int,
    epsilon: float,
    accepted: list[tuple[int, FloatArray, FloatArray]],
    weights: FloatArray,
    distance: Callable[[FloatArray], float],
    simulated: int,
    started: float,
    kept: bool,
) -> Generation:
    return Generation(
        number=number,
        epsilon=epsilon,
        thetas=np.array([theta for _, theta, _ in accepted]),
        weights=weights,
        distances=np.array([distance(summaries) for _, _, summaries in accepted]),
        summaries=[summaries for _, _, summaries in accepted],
        candidates=[candidate for candidate, _, _ in accepted],
        simulated=simulated,
        seconds=time.perf_counter() - started,
        kept=kept,
    )
