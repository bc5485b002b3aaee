"""Scenario discovery: which region of the parameter space leads to an outcome.

The Patient Rule Induction Method (PRIM) of Friedman and Fisher (1999), as used
for scenario discovery by Bryant and Lempert (2010).  A point is a *case* when
its output passes a threshold (``share_open_war > 0.3``).  Starting from the box
holding every point, *peeling* repeatedly cuts a slice of ``peel_alpha`` of the
points off one face of the box, choosing the face whose cut leaves the highest
share of cases, until the box holds less than ``mass_min`` of the points.  Of
the boxes met on the way, one is kept, then *pasted*: widened face by face while
that raises its density.  The box kept balances coverage and density (the
highest harmonic mean of the two, as an F-score balances recall and precision),
or, given ``min_coverage``, is the densest with at least that coverage.  A box
is judged by

- coverage: the share of all cases that fall inside it;
- density: the share of the points inside it that are cases;
- mass: the share of all points inside it.

EMA Workbench's ``ema_workbench.analysis.prim`` is the reference implementation;
this one is the compact core of the algorithm, with no dependency beyond NumPy.

References
----------
Friedman, J. H. and Fisher, N. I. (1999). Bump hunting in high-dimensional data.
Statistics and Computing 9, 123-143.
Bryant, B. P. and Lempert, R. J. (2010). Thinking inside the box: a participatory,
computer-assisted approach to scenario discovery. Technological Forecasting and
Social Change 77(1), 34-49.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["PrimBox", "PrimResult", "discover", "prim", "prim_table", "rules_text"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class PrimBox:
    """A box of the parameter space: inclusive limits on each factor, and its quality."""

    low: dict[str, float]
    high: dict[str, float]
    restricted: tuple[str, ...]
    coverage: float
    density: float
    mass: float


@dataclass(frozen=True)
class PrimResult:
    """The box chosen, and the peeling trajectory it was chosen from."""

    box: PrimBox
    trajectory: pd.DataFrame
    output: str
    threshold: float
    above: bool


def _inside(x: FloatArray, low: FloatArray, high: FloatArray) -> BoolArray:
    return np.all((x >= low) & (x <= high), axis=1)


def _peel_candidates(
    x: FloatArray, inside: BoolArray, low: FloatArray, high: FloatArray, alpha: float
) -> list[tuple[FloatArray, FloatArray]]:
    """Every box one peel smaller than (low, high): one per face that can be cut."""
    found = []
    for j in range(x.shape[1]):
        column = x[inside, j]
        values = np.unique(column)
        if values.size < 2:
            continue
        cut_low = np.quantile(column, alpha, method="lower")
        if cut_low <= values[0]:
            cut_low = values[1]
        new_low = low.copy()
        new_low[j] = cut_low
        found.append((new_low, high))
        cut_high = np.quantile(column, 1 - alpha, method="higher")
        if cut_high >= values[-1]:
            cut_high = values[-2]
        new_high = high.copy()
        new_high[j] = cut_high
        found.append((low, new_high))
    return found


def _paste(
    x: FloatArray, y: BoolArray, low: FloatArray, high: FloatArray, alpha: float
) -> tuple[FloatArray, FloatArray]:
    """Widen the box face by face while a widening raises its density."""
    while True:
        inside = _inside(x, low, high)
        density = y[inside].mean()
        step = max(1, int(np.ceil(alpha * inside.sum())))
        best: tuple[float, FloatArray, FloatArray] | None = None
        for j in range(x.shape[1]):
            others = np.ones(len(x), dtype=bool)
            for k in range(x.shape[1]):
                if k != j:
                    others &= (x[:, k] >= low[k]) & (x[:, k] <= high[k])
            below = np.sort(x[others & (x[:, j] < low[j]), j])[::-1]
            above = np.sort(x[others & (x[:, j] > high[j]), j])
            for side, outside in (("low", below), ("high", above)):
                if outside.size == 0:
                    continue
                limit = outside[min(step, outside.size) - 1]
                new_low, new_high = low.copy(), high.copy()
                if side == "low":
                    new_low[j] = limit
                else:
                    new_high[j] = limit
                new_density = y[_inside(x, new_low, new_high)].mean()
                if new_density > density and (best is None or new_density > best[0]):
                    best = (new_density, new_low, new_high)
        if best is None:
            return low, high
        _, low, high = best


def _balance(coverage: float, density: float) -> float:
    total = coverage + density
    return 2 * coverage * density / total if total > 0 else 0.0


def prim(
    x: pd.DataFrame,
    cases: NDArray[np.bool_] | pd.Series,
    *,
    peel_alpha: float = 0.05,
    paste_alpha: float = 0.05,
    mass_min: float = 0.05,
    min_coverage: float | None = None,
) -> tuple[PrimBox, pd.DataFrame]:
    """Find the box of ``x`` (one column per factor) where the ``cases`` concentrate.

    Parameters
    ----------
    x
        The points, one column per factor.
    cases
        Whether each point is a case of interest.
    peel_alpha, paste_alpha
        The share of the box's points cut off (or added) at each step.
    mass_min
        Peeling stops before a box would hold less than this share of the points.
    min_coverage
        The box kept is the densest on the trajectory with at least this coverage;
        None: the one with the highest harmonic mean of coverage and density.

    Returns
    -------
    box : PrimBox
    trajectory : pandas.DataFrame
        One row per box peeled to: ``coverage``, ``density``, ``mass``,
        ``restricted`` (the number of factors restricted).

    Raises
    ------
    ValueError
        No points, no case, or a parameter out of range.
    """
    if not 0 < peel_alpha < 0.5 or not 0 < paste_alpha < 0.5:
        raise ValueError("peel_alpha and paste_alpha must be in (0, 0.5)")
    if not 0 < mass_min < 1 or (min_coverage is not None and not 0 <= min_coverage <= 1):
        raise ValueError("mass_min must be in (0, 1) and min_coverage in [0, 1]")
    values = x.to_numpy(dtype=np.float64)
    y = np.asarray(cases, dtype=bool)
    if values.shape[0] == 0 or values.shape[0] != y.size:
        raise ValueError(f"expected one case flag per point, got {y.size} for {len(values)}")
    if not y.any():
        raise ValueError("no point is a case: nothing to find a box for")
    data_low, data_high = values.min(axis=0), values.max(axis=0)
    low, high = data_low.copy(), data_high.copy()
    boxes = [(low, high)]
    n, total = len(values), y.sum()
    while True:
        inside = _inside(values, low, high)
        candidates = []
        for new_low, new_high in _peel_candidates(values, inside, low, high, peel_alpha):
            kept = _inside(values, new_low, new_high)
            if kept.sum() >= mass_min * n and kept.any():
                candidates.append((y[kept].mean(), kept.sum(), new_low, new_high))
        if not candidates:
            break
        _, _, low, high = max(candidates, key=lambda c: (c[0], c[1]))
        boxes.append((low, high))

    def quality(box: tuple[FloatArray, FloatArray]) -> tuple[float, float, float, int]:
        inside = _inside(values, *box)
        restricted = int(np.sum((box[0] > data_low) | (box[1] < data_high)))
        return y[inside].sum() / total, y[inside].mean(), inside.mean(), restricted

    rows = [quality(box) for box in boxes]
    trajectory = pd.DataFrame(rows, columns=["coverage", "density", "mass", "restricted"])
    if min_coverage is None:
        chosen = max(range(len(rows)), key=lambda i: _balance(rows[i][0], rows[i][1]))
    else:
        eligible = [i for i, row in enumerate(rows) if row[0] >= min_coverage] or [0]
        chosen = max(eligible, key=lambda i: (rows[i][1], rows[i][0]))
    low, high = _paste(values, y, *boxes[chosen], paste_alpha)
    coverage, density, mass, _ = quality((low, high))
    names = [str(c) for c in x.columns]
    restricted = tuple(
        name for j, name in enumerate(names) if low[j] > data_low[j] or high[j] < data_high[j]
    )
    box = PrimBox(
        low=dict(zip(names, low.tolist(), strict=True)),
        high=dict(zip(names, high.tolist(), strict=True)),
        restricted=restricted,
        coverage=float(coverage),
        density=float(density),
        mass=float(mass),
    )
    return box, trajectory


def prim_table(result: PrimResult) -> pd.DataFrame:
    """One row per restricted factor: ``parameter``, ``low``, ``high``, and the box's
    ``coverage``, ``density``, ``threshold`` and ``mass`` (repeated on each row)."""
    box = result.box
    return pd.DataFrame(
        {
            "parameter": list(box.restricted),
            "low": [box.low[name] for name in box.restricted],
            "high": [box.high[name] for name in box.restricted],
            "coverage": box.coverage,
            "density": box.density,
            "threshold": result.threshold,
            "mass": box.mass,
        },
        columns=["parameter", "low", "high", "coverage", "density", "threshold", "mass"],
    )


def _condition(name: str, box: PrimBox, full_low: float, full_high: float, unit: str) -> str:
    low, high = box.low[name], box.high[name]
    unit = f" {unit}" if unit else ""
    if low > full_low and high < full_high:
        return f"{low:.3g} <= {name} <= {high:.3g}{unit}"
    if low > full_low:
        return f"{name} >= {low:.3g}{unit}"
    return f"{name} <= {high:.3g}{unit}"


def rules_text(
    result: PrimResult, points: pd.DataFrame, units: dict[str, str] | None = None
) -> str:
    """The box as a readable rule: ``share_war > 0.3 when a <= 8 and b >= 10 days``.

    ``points`` gives each factor's full range (a side at its edge is no
    restriction); ``units`` the factors' units, if any.
    """
    units = units or {}
    box = result.box
    sign = ">" if result.above else "<"
    head = f"{result.output} {sign} {result.threshold:g}"
    quality = f"(density {box.density:.2f}, coverage {box.coverage:.2f}, mass {box.mass:.2f})"
    if not box.restricted:
        return f"{head} {quality}: no box concentrates the cases better than the whole space"
    conditions = [
        _condition(
            name, box, float(points[name].min()), float(points[name].max()), units.get(name, "")
        )
        for name in box.restricted
    ]
    return f"{head} when {' and '.join(conditions)} {quality}"


def discover(
    summary: pd.DataFrame,
    factors: list[str],
    output: str,
    threshold: float,
    *,
    above: bool = True,
    peel_alpha: float = 0.05,
    paste_alpha: float = 0.05,
    mass_min: float = 0.05,
    min_coverage: float | None = None,
) -> PrimResult:
    """PRIM on a sweep's summary: where does ``output`` pass ``threshold``?

    Points that failed, or where the output is undefined, are left out.

    Raises
    ------
    ValueError
        A threshold that is not a finite number, no point that ran (every one
        failed), the output undefined at every point that ran, or no case.
    """
    if not math.isfinite(threshold):
        raise ValueError(f"the threshold must be a finite number, got {threshold}")
    failed = summary["failed"].astype(bool)
    if failed.all():
        raise ValueError(
            f"no point of the sweep succeeded (all {len(summary):,} failed; their errors are "
            "in summary.parquet): there is nothing to discover"
        )
    usable = summary[~failed & summary[output].notna()]
    if usable.empty:
        raise ValueError(
            f"{output} is undefined (NaN) at every point that ran: no run had the event it measures"
        )
    values = usable[output].to_numpy(dtype=np.float64)
    cases = values > threshold if above else values < threshold
    box, trajectory = prim(
        usable[factors],
        cases,
        peel_alpha=peel_alpha,
        paste_alpha=paste_alpha,
        mass_min=mass_min,
        min_coverage=min_coverage,
    )
    return PrimResult(box, trajectory, output, threshold, above)
