"""Global sensitivity of a sweep's outputs: Sobol indices and Morris elementary effects.

The outputs are per-point and replicate-averaged: a column of the sweep's
summary, an outcome share (``share_open_war``) or a metric's mean
(``mean_max_rung``).  Sobol indices (first order ``S1`` and total ``ST``, with
bootstrap intervals) need a ``sobol`` design; Morris effects (``mu_star``,
``sigma``) a ``morris`` design.  Both are SALib's
(:func:`SALib.analyze.sobol.analyze`, :func:`SALib.analyze.morris.analyze`),
their bootstrap seeded from a fixed child of the sweep's root seed.

The averaging over a point's replicates leaves Monte Carlo noise in the
outputs; it inflates the indices of every factor a little (an inert factor's
``ST`` is not exactly 0), less so the more runs per point.

References
----------
Saltelli, A. et al. (2010). Variance based sensitivity analysis of model output.
Computer Physics Communications 181(2), 259-270.
Morris, M. D. (1991). Factorial sampling plans for preliminary computational
experiments. Technometrics 33(2), 161-174.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from escalation.experiments.design import DesignFactor, DesignSpec, make_design
from escalation.experiments.distributions import value_index
from escalation.experiments.sweep_folder import SweepResults
from escalation.scenario.errors import did_you_mean

__all__ = [
    "AnalysisError",
    "analysis_seed",
    "default_outputs",
    "morris_table",
    "output_column",
    "output_values",
    "sensitivity",
    "sobol_pairs_table",
    "sobol_sensitivity",
    "sobol_table",
    "uneven_morris_factors",
    "unit_sample",
]

ANALYSIS_STREAM = 2
"""The child of the root seed that seeds bootstrap resampling."""

FloatArray = NDArray[np.float64]


class AnalysisError(ValueError):
    """An analysis that the sweep cannot support (wrong design, failed points, NaN output)."""


def analysis_seed(root_seed: int) -> int:
    """The bootstrap seed of an analysis: a fixed child of the sweep's root seed.

    Never 0: SALib's Sobol analysis takes a seed of 0 for "no seed" and then draws
    from NumPy's global generator.
    """
    state = np.random.SeedSequence(root_seed, spawn_key=(ANALYSIS_STREAM,)).generate_state(1)
    return int(state[0]) + 1


def output_column(summary: pd.DataFrame, name: str) -> str:
    """The summary column an output name means.

    ``share_war`` and ``mean_max_rung`` are columns; ``war`` means ``share_war``
    (an outcome) and ``max_rung`` means ``mean_max_rung`` (a metric).
    """
    for candidate in (name, f"share_{name}", f"mean_{name}"):
        if candidate in summary.columns and _is_output(candidate):
            return candidate
    outputs = [c for c in summary.columns if _is_output(c)]
    names = outputs + [c.removeprefix("share_") for c in outputs if c.startswith("share_")]
    raise AnalysisError(
        f"no output {name!r} in the sweep{did_you_mean(name, names)}; outputs are outcome "
        "shares (share_OUTCOME, or the outcome's name) and metric means (mean_METRIC)"
    )


def _is_output(column: str) -> bool:
    if column.startswith("share_"):
        return not column.endswith(("_low", "_high"))
    return column.startswith(("mean_", "q05_", "q50_", "q95_"))


def default_outputs(summary: pd.DataFrame) -> list[str]:
    """Every outcome share that varies across the points."""
    ok = summary[~summary["failed"]]
    return [
        column
        for column in summary.columns
        if column.startswith("share_") and _is_output(column) and ok[column].nunique() > 1
    ]


def output_values(results: SweepResults, output: str) -> FloatArray:
    """An output per point, in point order; every point must have run and defined it."""
    summary = results.summary.sort_values("point")
    failed = summary["failed"].to_numpy(dtype=bool)
    if failed.any():
        points = ", ".join(str(p) for p in summary["point"][failed].head(5))
        raise AnalysisError(
            f"{int(failed.sum())} of {failed.size} points failed (points {points}...); "
            "sensitivity indices "
            "need every point of the design"
        )
    values = summary[output].to_numpy(dtype=np.float64)
    if np.isnan(values).any():
        raise AnalysisError(
            f"{output} is undefined (NaN) at {int(np.isnan(values).sum())} of {values.size} "
            "points: no run there had the event it measures"
        )
    return values


def unit_sample(results: SweepResults) -> FloatArray:
    """The design's sample in the unit cube, regenerated from the manifest and the seed."""
    manifest = results.manifest
    factors = [DesignFactor.from_dict(f) for f in manifest["factors"]]
    settings = {k: v for k, v in manifest["design"].items() if k in DesignSpec.__annotations__}
    design = make_design(factors, DesignSpec(**settings), results.seed)
    stored = results.points.sort_values("point")[results.factor_names].to_numpy(np.float64)
    made = design.points[results.factor_names].to_numpy(np.float64)
    if design.unit is None or made.shape != stored.shape or not np.array_equal(made, stored):
        raise AnalysisError(
            "the design regenerated from the seed differs from points.parquet (another "
            "version of SALib or SciPy?); the Morris sample cannot be recovered"
        )
    return design.unit


def sobol_table(
    names: list[str],
    outputs: FloatArray,
    *,
    second_order: bool = False,
    resamples: int = 1000,
    seed: int = 1,
) -> pd.DataFrame:
    """Sobol indices from outputs on a Saltelli design, ranked by total index.

    Returns
    -------
    pandas.DataFrame
        ``parameter``, ``S1``, ``S1_conf``, ``ST``, ``ST_conf`` (half-widths of
        the 95% bootstrap intervals), highest ``ST`` first.
    """
    return _sobol_tables(names, outputs, second_order, resamples, seed)[0]


def sobol_pairs_table(
    names: list[str], outputs: FloatArray, *, resamples: int = 1000, seed: int = 1
) -> pd.DataFrame:
    """Second-order Sobol indices from outputs on a second-order Saltelli design.

    Returns
    -------
    pandas.DataFrame
        One row per pair of factors: ``parameter``, ``with``, ``S2``, ``S2_conf``
        (half-width of the 95% bootstrap interval), highest ``S2`` first.
    """
    pairs = _sobol_tables(names, outputs, True, resamples, seed)[1]
    assert pairs is not None
    return pairs


def _sobol_tables(
    names: list[str], outputs: FloatArray, second_order: bool, resamples: int, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """:func:`sobol_table`, and :func:`sobol_pairs_table` for a second-order design
    (else None), from one analysis of SALib's."""
    from SALib.analyze import sobol

    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    indices: Any = sobol.analyze(
        problem,
        outputs,
        calc_second_order=second_order,
        num_resamples=resamples,
        conf_level=0.95,
        print_to_console=False,
        seed=seed,
    )
    table = pd.DataFrame(
        {
            "parameter": names,
            **{
                key: np.asarray(indices[key], dtype=np.float64)
                for key in ("S1", "S1_conf", "ST", "ST_conf")
            },
        }
    )
    table = table.sort_values("ST", ascending=False, kind="stable").reset_index(drop=True)
    if not second_order:
        return table, None
    first, second = np.triu_indices(len(names), k=1)
    s2 = np.asarray(indices["S2"], dtype=np.float64)
    s2_conf = np.asarray(indices["S2_conf"], dtype=np.float64)
    pairs = pd.DataFrame(
        {
            "parameter": [names[i] for i in first],
            "with": [names[j] for j in second],
            "S2": s2[first, second],
            "S2_conf": s2_conf[first, second],
        }
    )
    return table, pairs.sort_values("S2", ascending=False, kind="stable").reset_index(drop=True)


def morris_table(
    names: list[str],
    unit: FloatArray,
    outputs: FloatArray,
    *,
    levels: int,
    resamples: int = 1000,
    seed: int = 1,
    uneven: dict[str, int] | None = None,
) -> pd.DataFrame:
    """Morris elementary effects, ranked by ``mu_star``.

    The effects are per unit of the normalised factor (0 to 1 across its range,
    or across its distribution's quantiles).  SALib divides each output's change by
    the step between levels; a factor of ``uneven`` (name: its number of values,
    :func:`uneven_morris_factors`), which the levels move by other steps, has its
    effects divided by the step its value made instead (its index among its
    values, over the number of values less one).

    Returns
    -------
    pandas.DataFrame
        ``parameter``, ``mu_star``, ``mu_star_conf``, ``sigma``, ``mu``.
    """
    from SALib.analyze import morris

    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    effects: Any = morris.analyze(
        problem,
        unit,
        outputs,
        num_resamples=resamples,
        conf_level=0.95,
        print_to_console=False,
        num_levels=levels,
        seed=seed,
    )
    table = pd.DataFrame(
        {
            "parameter": names,
            **{
                key: np.asarray(effects[key], dtype=np.float64)
                for key in ("mu_star", "mu_star_conf", "sigma", "mu")
            },
        }
    )
    for name, count in (uneven or {}).items():
        column = names.index(name)
        table.loc[column, ["mu_star", "mu_star_conf", "sigma", "mu"]] = _effects_by_value(
            unit, outputs, column, count, resamples, seed
        )
    return table.sort_values("mu_star", ascending=False, kind="stable").reset_index(drop=True)


def _effects_by_value(
    unit: FloatArray, outputs: FloatArray, column: int, count: int, resamples: int, seed: int
) -> tuple[float, float, float, float]:
    """``mu_star``, its 95% bootstrap half-width, ``sigma`` and ``mu`` of one factor of
    ``count`` values, each effect divided by the step its value made (see
    :func:`morris_table`); NaN if no step moved its value (a step of more than half
    the range always does, but the design may be given)."""
    from scipy.stats import norm

    d = unit.shape[1]
    trajectories = unit.reshape(-1, d + 1, d)[:, :, column]
    y = np.asarray(outputs, dtype=np.float64).reshape(-1, d + 1)
    place = value_index(trajectories, count) / (count - 1)
    moved = np.diff(trajectories, axis=1) != 0  # one step of each trajectory moves it
    step = np.diff(place, axis=1)[moved]
    change = np.diff(y, axis=1)[moved]
    effects = change[step != 0] / step[step != 0]
    if effects.size == 0:
        return math.nan, math.nan, math.nan, math.nan
    sigma = float(np.std(effects, ddof=1)) if effects.size > 1 else math.nan
    generator = np.random.default_rng([seed, column])
    resampled = np.abs(effects[generator.integers(effects.size, size=(resamples, effects.size))])
    spread = float(resampled.mean(axis=1).std(ddof=1)) if resamples > 1 else math.nan
    return (
        float(np.mean(np.abs(effects))),
        float(norm.ppf(0.975)) * spread,
        sigma,
        float(np.mean(effects)),
    )


def uneven_morris_factors(
    factors: list[DesignFactor] | tuple[DesignFactor, ...], levels: int
) -> dict[str, int]:
    """The factors of a Morris design whose values its levels do not reach in even steps.

    An elementary effect divides an output's change by the step between levels
    (``levels / (2 (levels - 1))`` of the normalised range).  A factor that takes a
    list of values, grid levels or whole numbers takes, at each level, the value of
    the stratum it falls in; unless its number of values ``n`` has ``n - 1`` a
    multiple of ``levels - 1``, a step of the design moves it by more or less than
    that, so :func:`morris_table` divides its effects by the steps its
    value made.  Returns each such factor's number of values, by name.
    """
    grid = np.arange(levels) / (levels - 1)
    found = {}
    for factor in factors:
        choices = factor.choices() if factor.discrete else None
        if choices is not None:
            count = len(choices)
        elif factor.factor.integer:
            count = int(factor.factor.high) - int(factor.factor.low) + 1
        else:
            continue
        if count < 2:
            continue
        if not np.allclose(value_index(grid, count) / (count - 1), grid):
            found[factor.name] = count
    return found


def sobol_sensitivity(
    results: SweepResults, output: str, *, resamples: int = 1000
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Sobol indices of one output (:func:`sobol_table`) and, for a design sampled
    for them (``--second-order``), its second-order indices (:func:`sobol_pairs_table`,
    else None), from one analysis.

    Raises
    ------
    AnalysisError
        The design is not a ``sobol`` design; a point failed; the output is undefined
        somewhere.
    """
    design = results.manifest["design"]
    if design["kind"] != "sobol":
        raise AnalysisError(f"Sobol indices need a sobol design, not {design['kind']}")
    values = output_values(results, output)
    return _sobol_tables(
        results.factor_names,
        values,
        bool(design.get("second_order")),
        resamples,
        analysis_seed(results.seed),
    )


def sensitivity(results: SweepResults, output: str, *, resamples: int = 1000) -> pd.DataFrame:
    """Sobol indices or Morris effects of one output, as the sweep's design allows.

    Raises
    ------
    AnalysisError
        The design is neither ``sobol`` nor ``morris``; a point failed; the output
        is undefined somewhere.
    """
    design = results.manifest["design"]
    kind = design["kind"]
    if kind not in ("sobol", "morris"):
        raise AnalysisError(
            f"the {kind} design gives no sensitivity indices: they need a sobol or morris "
            "design; scenario discovery (--discover) works on any design"
        )
    if kind == "sobol":
        return sobol_sensitivity(results, output, resamples=resamples)[0]
    values = output_values(results, output)
    seed = analysis_seed(results.seed)
    from escalation.experiments.design import MORRIS_LEVELS

    levels = int(design.get("levels") or MORRIS_LEVELS)
    factors = [DesignFactor.from_dict(f) for f in results.manifest["factors"]]
    return morris_table(
        results.factor_names,
        unit_sample(results),
        values,
        levels=levels,
        resamples=resamples,
        seed=seed,
        uneven=uneven_morris_factors(factors, levels),
    )
