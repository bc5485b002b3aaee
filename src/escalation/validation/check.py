"""Check a scenario against targets: run it, compute each statistic, compare.

For each target the model's sample is summarised by its centre (the median, or
the share) and its central interval (quantiles, or the Wilson interval of a
share); the observed value's percentile in the sample says where the record falls
(mid-rank, so that a value tied with many simulated ones sits in their middle);
the target's rule says whether it passes (see :mod:`escalation.validation.targets`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from escalation import rng
from escalation.report_text import wilson_interval
from escalation.scenario.schema import Scenario
from escalation.validation.evidence import Evidence, gather_evidence
from escalation.validation.statistics import Sample, compute, needs_trace
from escalation.validation.targets import Target, Targets

__all__ = [
    "CheckResult",
    "Summary",
    "check_scenario",
    "compare",
    "discrepancy",
    "evaluate",
    "passes",
    "percentile_of",
    "summarise",
]


@dataclass(frozen=True)
class Summary:
    """A sample summarised: its centre, central interval and size."""

    centre: float
    low: float
    high: float
    n: int


def summarise(sample: Sample, interval: float) -> Summary:
    """Median and central quantiles of values; share and Wilson interval of a share.

    An empty sample has NaN for centre and interval.
    """
    n = sample.n
    if n == 0:
        return Summary(math.nan, math.nan, math.nan, 0)
    if sample.kind == "share":
        successes = int(sample.values.sum())
        low, high = wilson_interval(successes, n, interval)
        return Summary(successes / n, float(low), float(high), n)
    # Rounded so that 0.9 gives the 5% and 95% quantiles, not 4.999...%.
    tail = round((1 - interval) / 2, 12)
    low, centre, high = np.quantile(sample.values, [tail, 0.5, 1 - tail])
    return Summary(float(centre), float(low), float(high), n)


def percentile_of(values: np.ndarray, value: float) -> float:
    """The mid-rank percentile of ``value`` among ``values`` (0 to 100; NaN if empty)."""
    if values.size == 0:
        return math.nan
    below = np.count_nonzero(values < value)
    equal = np.count_nonzero(values == value)
    return float(100 * (below + 0.5 * equal) / values.size)


def _gap(low: float, high: float, value: float) -> float:
    """How far ``value`` lies outside ``[low, high]`` (0 inside)."""
    return max(low - value, 0.0, value - high)


def discrepancy(target: Target, summary: Summary) -> float:
    """How far the model misses the target, in the statistic's unit; 0 when it passes.

    ``observed_in_interval`` is measured from the model's *median* to the observed
    value, not from its interval: a calibration then seeks models centred on the
    record rather than any model wide enough to contain it.  NaN (no sample) is inf.
    """
    if math.isnan(summary.centre):
        return math.inf
    rule = target.rule
    if rule == "observed_in_interval":
        assert target.observed is not None
        return abs(summary.centre - target.observed)
    assert target.range is not None
    low, high = float(target.range[0]), float(target.range[1])
    if rule == "median_in_range":
        return _gap(low, high, summary.centre)
    if rule == "interval_overlaps_range":
        return max(low - summary.high, 0.0, summary.low - high)
    return max(summary.low - low, 0.0) + max(high - summary.high, 0.0)


def passes(target: Target, summary: Summary) -> bool:
    """Whether a summary of the model meets the target by its rule (never when empty)."""
    if summary.n == 0:
        return False
    rule = target.rule
    if rule == "observed_in_interval":
        assert target.observed is not None
        return summary.low <= target.observed <= summary.high
    assert target.range is not None
    low, high = float(target.range[0]), float(target.range[1])
    if rule == "median_in_range":
        return low <= summary.centre <= high
    if rule == "interval_overlaps_range":
        return summary.low <= high and low <= summary.high
    return summary.low <= low and high <= summary.high


def evaluate(target: Target, sample: Sample, interval: float) -> dict[str, Any]:
    """One row of the check table: the model's summary, the record, pass or fail."""
    summary = summarise(sample, interval)
    values = sample.values
    low, high = (
        (float(target.range[0]), float(target.range[1])) if target.range else (math.nan, math.nan)
    )
    share = sample.kind == "share"
    note = "" if summary.n else f"the model produced no {sample.per} to measure"
    return {
        "id": target.id,
        "statistic": target.statistic,
        "kind": sample.kind,
        "unit": sample.unit,
        "per": sample.per,
        "n": summary.n,
        "centre": summary.centre,
        "low": summary.low,
        "high": summary.high,
        "interval": interval,
        "observed": math.nan if target.observed is None else float(target.observed),
        "range_low": low,
        "range_high": high,
        "percentile": (
            math.nan
            if share or target.observed is None
            else percentile_of(values, float(target.observed))
        ),
        "percentile_low": math.nan if share else percentile_of(values, low),
        "percentile_high": math.nan if share else percentile_of(values, high),
        "rule": target.rule,
        "passed": passes(target, summary),
        "discrepancy": discrepancy(target, summary),
        "note": note,
        "source": target.source,
        "description": target.description,
    }


def compare(targets: Targets, evidence: Evidence) -> tuple[pd.DataFrame, dict[str, Sample]]:
    """Compute every target's sample from ``evidence`` and judge it."""
    rows = []
    samples: dict[str, Sample] = {}
    for target in targets.targets:
        sample = compute(target, evidence)
        samples[target.id] = sample
        rows.append(evaluate(target, sample, targets.interval_of(target)))
    return pd.DataFrame(rows), samples


@dataclass
class CheckResult:
    """The targets compared with a scenario's runs.

    Attributes
    ----------
    table
        One row per target: ``centre``, ``low``, ``high`` (the model), ``observed``,
        ``range_low``, ``range_high``, ``percentile``, ``rule``, ``passed``...
    samples
        The model's sample of each target, by id (for figures).
    """

    scenario: Scenario
    targets: Targets
    table: pd.DataFrame
    samples: dict[str, Sample]
    seed: int
    runs: int
    traced_runs: int
    horizon_days: int
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """Whether every target passes."""
        return bool(self.table["passed"].all())

    def text(self) -> str:
        """The check as a terminal table."""
        from escalation.validation.report import check_text

        return check_text(self)


def check_scenario(
    scenario: Scenario,
    targets: Targets,
    *,
    runs: int | None = None,
    traced_runs: int | None = None,
    seed: int | None = None,
    horizon_days: int | None = None,
    parameters: dict[str, float] | None = None,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> CheckResult:
    """Run ``scenario`` and compare it with every target.

    Parameters
    ----------
    runs, traced_runs
        Default to the targets file's ``runs`` and ``traced_runs``; traced runs are
        simulated only if some target's statistic reads acts.
    seed
        The root seed: the scenario's if None, else one drawn from the OS (recorded
        in the result).
    """
    runs = targets.runs if runs is None else runs
    traced = targets.traced_runs if traced_runs is None else traced_runs
    if not any(needs_trace(target) for target in targets.targets):
        traced = 0
    if seed is None:
        seed = scenario.seed if scenario.seed is not None else rng.fresh_seed()
    evidence = gather_evidence(
        scenario,
        runs=runs,
        seed=seed,
        traced_runs=traced,
        horizon_days=horizon_days,
        parameters=parameters,
        workers=workers,
        progress=progress,
    )
    table, samples = compare(targets, evidence)
    return CheckResult(
        scenario=scenario,
        targets=targets,
        table=table,
        samples=samples,
        seed=seed,
        runs=runs,
        traced_runs=int(evidence.traced_runs.size),
        horizon_days=evidence.horizon_days,
        settings={
            "runs": runs,
            "traced_runs": int(evidence.traced_runs.size),
            "horizon_days": evidence.horizon_days,
            "parameters": dict(parameters or {}),
            "statistics": sorted({t.statistic for t in targets.targets}),
        },
    )
