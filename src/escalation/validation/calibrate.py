"""Calibration: the parameter values consistent with the targets, by ABC-SMC.

Each particle is a set of values of the ``--vary`` parameters; it is simulated
(``runs`` runs, traced when a target reads acts) and every target's statistic is
summarised.  Its distance to the record is the weighted Euclidean norm of the
targets' discrepancies (:func:`escalation.validation.check.discrepancy`: for a
range, how far the model's median or interval misses it, 0 inside; for a single
observed value, how far the model's median lies from it), each divided by the
median absolute deviation of that statistic across the prior's simulations, so
that days, deaths and shares weigh alike.  The sampler is
:func:`escalation.validation.smc.abc_smc` (Beaumont et al. 2009).

It is a short implementation rather than pyabc: pyabc 0.13 brings some thirty
packages (ipykernel, redis, SQLAlchemy, scikit-learn...), keeps its populations in
a database, and its multi-core sampler reseeds NumPy's global generator from the
operating system in every worker, so that a calibration could not be reproduced
from a root seed.  Here the result depends on the seed alone, whatever the number
of workers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from escalation import rng
from escalation.experiments.factors import Factor
from escalation.experiments.replicates import pool_context
from escalation.model.plan import Plan, build_plan
from escalation.scenario.schema import Scenario
from escalation.validation.check import Summary, discrepancy, passes, summarise
from escalation.validation.evidence import gather_evidence
from escalation.validation.smc import (
    FloatArray,
    Generation,
    Task,
    UniformPrior,
    abc_smc,
    weighted_quantile,
)
from escalation.validation.statistics import compute, needs_trace
from escalation.validation.targets import Target, Targets

__all__ = ["Calibration", "ParticleSimulator", "calibrate"]


class ParticleSimulator:
    """Simulates one particle: the summaries of every target's statistic.

    Parameters
    ----------
    scenario, targets
        What is calibrated and against what.
    runs, traced_runs
        Runs per particle, and how many of them are traced (for statistics of acts).
    """

    def __init__(
        self,
        scenario: Scenario,
        targets: Targets,
        runs: int,
        traced_runs: int,
        horizon_days: int | None = None,
    ) -> None:
        self.scenario = scenario
        self.targets = targets
        self.runs = runs
        self.traced_runs = traced_runs
        self.horizon_days = horizon_days
        self._plan: Plan | None = None

    def __call__(self, task: tuple[dict[str, float], int]) -> FloatArray:
        """``(parameters, seed)`` -> array of (centre, low, high, n) per target."""
        parameters, seed = task
        if self._plan is None:
            self._plan = build_plan(self.scenario)
        evidence = gather_evidence(
            self.scenario,
            runs=self.runs,
            seed=seed,
            traced_runs=self.traced_runs,
            horizon_days=self.horizon_days,
            parameters=parameters,
            plan=self._plan,
        )
        rows = []
        for target in self.targets.targets:
            summary = summarise(compute(target, evidence), self.targets.interval_of(target))
            rows.append((summary.centre, summary.low, summary.high, summary.n))
        return np.array(rows, dtype=np.float64)


_WORKER: list[ParticleSimulator] = []


def _start_worker(simulator: ParticleSimulator) -> None:
    _WORKER[:] = [simulator]


def _simulate_in_worker(task: tuple[dict[str, float], int]) -> FloatArray:
    return _WORKER[0](task)


def _pool(simulator: ParticleSimulator, workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=pool_context(),
        initializer=_start_worker,
        initargs=(simulator,),
    )


@dataclass
class Calibration:
    """The result of a calibration.

    Attributes
    ----------
    particles
        The accepted particles of the last generation: ``weight``, ``distance``,
        one column per varied parameter (the value simulated), ``model_<id>``,
        each target's statistic as the particle's runs gave it, and ``miss_<id>``,
        how far they missed it (the distance's term), and ``meets_<id>``, whether
        they meet it by its rule.
    history
        The accepted particles of every generation (column ``generation``).
    generations
        Per generation: ``epsilon``, ``accepted``, ``simulated``,
        ``acceptance_rate``, ``seconds``.
    scales
        The scale dividing each target's discrepancy in the distance.
    """

    scenario: Scenario
    targets: Targets
    factors: tuple[Factor, ...]
    particles: pd.DataFrame
    history: pd.DataFrame
    generations: pd.DataFrame
    scales: dict[str, float]
    seed: int
    settings: dict[str, Any] = field(default_factory=dict)

    def intervals(self, interval: float = 0.9) -> dict[str, tuple[float, float, float]]:
        """Per parameter: the weighted (low, median, high) of the accepted values."""
        weights = self.particles["weight"].to_numpy(np.float64)
        tail = (1 - interval) / 2
        result = {}
        for factor in self.factors:
            values = self.particles[factor.name].to_numpy(np.float64)
            result[factor.name] = (
                weighted_quantile(values, weights, tail),
                weighted_quantile(values, weights, 0.5),
                weighted_quantile(values, weights, 1 - tail),
            )
        return result

    def summary(self, interval: float = 0.9) -> pd.DataFrame:
        """Per parameter: the prior range, the weighted quantiles and mean of accepted values."""
        weights = self.particles["weight"].to_numpy(np.float64)
        intervals = self.intervals(interval)
        rows = [
            {
                "parameter": factor.name,
                "prior_low": factor.low,
                "prior_high": factor.high,
                "q05": intervals[factor.name][0],
                "median": intervals[factor.name][1],
                "q95": intervals[factor.name][2],
                "mean": float(
                    np.average(self.particles[factor.name].to_numpy(np.float64), weights=weights)
                ),
            }
            for factor in self.factors
        ]
        return pd.DataFrame(rows).set_index("parameter")

    def met(self) -> pd.Series:
        """Per target: the weighted share of accepted particles whose runs meet it.

        A share near 0 says the varied parameters cannot bring the model to that
        target: the calibration then trades it off against the others.
        """
        weights = self.particles["weight"].to_numpy(np.float64)
        return pd.Series(
            {
                target.id: float(
                    np.sum(weights * self.particles[f"meets_{target.id}"].to_numpy(bool))
                )
                for target in self.targets.targets
            },
            name="met",
        )

    def medians(self) -> dict[str, float]:
        """The weighted median of each parameter (whole numbers for integer parameters)."""
        intervals = self.intervals()
        return {
            f.name: float(round(intervals[f.name][1])) if f.integer else intervals[f.name][1]
            for f in self.factors
        }


def _summary(row: FloatArray) -> Summary:
    return Summary(float(row[0]), float(row[1]), float(row[2]), int(row[3]))


def _miss(target: Target, summary: FloatArray) -> float:
    """How far one particle's runs miss a target (0 for a range target they meet)."""
    return discrepancy(target, _summary(summary))


def _distance(summaries: FloatArray, targets: Targets, scales: FloatArray) -> float:
    gaps = np.array(
        [_miss(target, row) for target, row in zip(targets.targets, summaries, strict=True)]
    )
    if not np.all(np.isfinite(gaps)):
        return math.inf
    weights = np.array([target.weight for target in targets.targets])
    return float(np.sqrt(np.sum(weights * (gaps / scales) ** 2)))


def _scales(summaries: list[FloatArray], targets: Targets) -> FloatArray:
    """MAD of each target's statistic over the prior's particles (a fallback if 0)."""
    centres = np.array([s[:, 0] for s in summaries])
    scales = []
    for column, target in enumerate(targets.targets):
        values = centres[:, column]
        values = values[np.isfinite(values)]
        mad = float(np.median(np.abs(values - np.median(values)))) if values.size else 0.0
        if mad > 0:
            scales.append(mad)
        elif target.range is not None and target.range[1] > target.range[0]:
            scales.append(float(target.range[1] - target.range[0]))
        elif target.observed:
            scales.append(abs(float(target.observed)))
        else:
            scales.append(1.0)
    return np.array(scales)


def calibrate(
    scenario: Scenario,
    targets: Targets,
    factors: Sequence[Factor],
    *,
    particles: int = 100,
    generations: int = 4,
    runs: int = 40,
    traced_runs: int | None = None,
    quantile: float = 0.5,
    min_acceptance: float = 0.02,
    seed: int | None = None,
    horizon_days: int | None = None,
    workers: int = 1,
    executor: Executor | None = None,
    progress: Callable[[int, int, int], None] | None = None,
) -> Calibration:
    """Find the parameter values consistent with ``targets`` by ABC-SMC.

    Parameters
    ----------
    factors
        The parameters to vary and their uniform prior ranges (from ``--vary``).
    particles
        Accepted particles per generation.
    generations
        Most generations, the prior's included.
    runs, traced_runs
        Runs simulated per particle; traced runs default to all of them when a
        target reads acts.
    quantile
        Each generation's tolerance is this quantile of the previous distances.
    min_acceptance
        Stop when a generation accepts fewer than this share of its candidates.
    seed
        The root seed (drawn from the OS if None, recorded in the result).
    workers, executor
        Processes to simulate candidates on, or an executor to map them on.
    progress
        Called as ``progress(generation, accepted, simulated)`` after each batch.

    Raises
    ------
    ValueError
        On impossible settings, or when the prior gives too few particles whose
        every statistic can be measured.
    """
    if not factors:
        raise ValueError("calibration needs at least one parameter to vary")
    if particles < 2:
        raise ValueError(f"particles must be >= 2, got {particles}")
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    if not 0 < min_acceptance < 1:
        raise ValueError(f"min_acceptance must be in (0, 1), got {min_acceptance}")
    if seed is None:
        seed = rng.fresh_seed()
    traced = 0
    if any(needs_trace(target) for target in targets.targets):
        traced = runs if traced_runs is None else min(traced_runs, runs)
    simulator = ParticleSimulator(scenario, targets, runs, traced, horizon_days)
    prior = UniformPrior.of(
        [f.name for f in factors],
        [f.low for f in factors],
        [f.high for f in factors],
        [f.integer for f in factors],
    )
    pool = _pool(simulator, workers) if executor is None and workers > 1 else None

    def simulate(tasks: list[Task]) -> Iterator[FloatArray]:
        if pool is not None:
            return pool.map(_simulate_in_worker, tasks)
        if executor is not None:
            return executor.map(simulator, tasks)
        return map(simulator, tasks)

    scales: list[FloatArray] = []

    def distance_for(prior_summaries: list[FloatArray]) -> Callable[[FloatArray], float]:
        scales.append(_scales(prior_summaries, targets))
        return lambda summaries: _distance(summaries, targets, scales[0])

    try:
        generations_run = abc_smc(
            prior,
            simulate,
            lambda summaries: bool(np.all(np.isfinite(summaries[:, 0]))),
            distance_for,
            seed=seed,
            particles=particles,
            generations=generations,
            quantile=quantile,
            limit=math.ceil(particles / min_acceptance),
            batch=max(4 * workers, 8),
            progress=progress,
        )
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    history = [_population(g, prior, targets) for g in generations_run if g.kept]
    return Calibration(
        scenario=scenario,
        targets=targets,
        factors=tuple(factors),
        particles=history[-1].drop(columns="generation").reset_index(drop=True),
        history=pd.concat(history, ignore_index=True),
        generations=pd.DataFrame([_record(g) for g in generations_run]),
        scales={t.id: float(v) for t, v in zip(targets.targets, scales[0], strict=True)},
        seed=seed,
        settings={
            "particles": particles,
            "generations": generations,
            "runs": runs,
            "traced_runs": traced,
            "quantile": quantile,
            "min_acceptance": min_acceptance,
            "workers": workers,
            "horizon_days": horizon_days or scenario.horizon_days,
        },
    )


def _record(generation: Generation) -> dict[str, float | bool]:
    accepted = len(generation.candidates)
    simulated = generation.simulated
    return {
        "generation": generation.number,
        "epsilon": generation.epsilon,
        "accepted": accepted,
        "simulated": simulated,
        "acceptance_rate": accepted / simulated if simulated else math.nan,
        "seconds": generation.seconds,
        "kept": generation.kept,
    }


def _population(generation: Generation, prior: UniformPrior, targets: Targets) -> pd.DataFrame:
    rows = []
    for index, theta in enumerate(generation.thetas):
        summaries = generation.summaries[index]
        row: dict[str, float | bool] = {
            "generation": generation.number,
            "candidate": generation.candidates[index],
            "weight": float(generation.weights[index]),
            "distance": float(generation.distances[index]),
        }
        row.update(prior.values(theta))
        for target, summary in zip(targets.targets, summaries, strict=True):
            row[f"model_{target.id}"] = float(summary[0])
            row[f"miss_{target.id}"] = _miss(target, summary)
            row[f"meets_{target.id}"] = passes(target, _summary(summary))
        rows.append(row)
    return pd.DataFrame(rows)
