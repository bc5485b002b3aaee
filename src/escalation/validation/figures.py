"""Figures of a check and of a calibration, with matplotlib's object API (no pyplot)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from escalation.validation.report import RULE_LABELS, number
from escalation.validation.smc import weighted_quantile
from escalation.validation.statistics import Sample

if TYPE_CHECKING:
    from escalation.validation.check import CheckResult

__all__ = ["check_figure", "plot_parameter", "plot_target", "posterior_figure"]

# Okabe & Ito's colour-blind-safe palette.
MODEL = "#0072B2"
RECORD = "#D55E00"
PASS = "#009E73"
FAIL = "#D55E00"


def _bins(values: np.ndarray) -> list[float] | int:
    """Unit-wide bins centred on whole numbers for small counts, else 30 bins."""
    if values.size and np.all(values == np.round(values)):
        low, high = float(values.min()), float(values.max())
        if high - low <= 60:
            return [float(edge) for edge in np.arange(low - 0.5, high + 1.5)]
    return 30


def plot_target(row: pd.Series, sample: Sample, ax: Axes | None = None) -> Axes:
    """One target: the model's sample, its centre and interval, and the record.

    Values are drawn as a histogram; a share as a point with its interval on
    [0, 1].  The record is the vermilion line (observed) and band (range).
    """
    if ax is None:
        ax = Figure().subplots()
    values = sample.values
    if sample.kind == "share":
        if sample.n:
            ax.errorbar(
                [row["centre"]],
                [0.5],
                xerr=[[row["centre"] - row["low"]], [row["high"] - row["centre"]]],
                fmt="o",
                color=MODEL,
                capsize=4,
                label="model share",
            )
        ax.set_xlim(0, 1)
        ax.set_yticks([])
        ax.set_xlabel(f"share of {sample.per}s")
    else:
        if sample.n:
            # A long tail would squeeze the bulk into a few bins: show up to the
            # 99.5th percentile, or the record if it lies further out.
            marks = [
                np.quantile(values, 0.995, method="higher"),
                row["observed"],
                row["range_high"],
            ]
            shown = values[values <= max(m for m in marks if not math.isnan(m))]
            ax.hist(
                shown,
                bins=_bins(shown),
                color=MODEL,
                alpha=0.55,
                weights=np.full(shown.size, 1 / values.size),
                label="model",
            )
            ax.axvline(row["centre"], color=MODEL, linewidth=1.5)
            ax.axvspan(row["low"], row["high"], color=MODEL, alpha=0.08)
        ax.set_xlabel(sample.unit)
        ax.set_ylabel(f"share of {sample.per}s")
    if not math.isnan(row["range_low"]):
        ax.axvspan(row["range_low"], row["range_high"], color=RECORD, alpha=0.18, label="record")
    if not math.isnan(row["observed"]):
        ax.axvline(row["observed"], color=RECORD, linewidth=2.5, label="observed")
    verdict = "pass" if row["passed"] else "FAIL"
    ax.set_title(
        f"{row['id']}: {verdict}\n{RULE_LABELS[row['rule']]}, n = {int(row['n']):,}",
        fontsize=9,
        color=PASS if row["passed"] else FAIL,
    )
    return ax


def check_figure(result: CheckResult, columns: int = 3) -> Figure:
    """Every target of a check, one panel each, with the runs and seed in the caption."""
    table = result.table
    count = len(table)
    columns = min(columns, count)
    rows = math.ceil(count / columns)
    figure = Figure(figsize=(4.2 * columns, 3.2 * rows + 0.8), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, (_, row) in zip(axes, table.iterrows(), strict=False):
        plot_target(row, result.samples[row["id"]], ax)
    for ax in axes[count:]:
        ax.set_axis_off()
    passed = int(table["passed"].sum())
    figure.suptitle(
        f"{result.scenario.name} against targets {result.targets.name}: {passed} of {count} pass",
        fontsize=11,
    )
    figure.supxlabel(
        f"Blue: the model's sample, median (line) and central interval (band); vermilion: "
        f"the record.  {result.runs:,} runs ({result.traced_runs:,} traced), seed {result.seed}.",
        fontsize=8,
    )
    return figure


def plot_parameter(
    values: np.ndarray,
    weights: np.ndarray,
    low: float,
    high: float,
    name: str,
    ax: Axes | None = None,
    unit: str = "",
    integer: bool = False,
) -> Axes:
    """The accepted values of one parameter (weighted histogram) over its uniform prior.

    A whole-number parameter gets one bar per value, and its prior is uniform over
    the values.
    """
    if ax is None:
        ax = Figure().subplots()
    if integer:
        left, right = low - 0.5, high + 0.5
        bins: list[float] | int = [float(edge) for edge in np.arange(left, right + 1)]
    else:
        left, right = low, high
        bins = 20
    ax.hist(
        values,
        bins=bins,
        range=(left, right),
        weights=weights,
        density=True,
        color=MODEL,
        alpha=0.6,
        label="accepted",
    )
    ax.hlines(1 / (right - left), left, right, color="black", linestyle=":", label="prior")
    q05, median, q95 = (weighted_quantile(values, weights, q) for q in (0.05, 0.5, 0.95))
    ax.axvline(median, color=MODEL, linewidth=1.5)
    ax.axvspan(q05, q95, color=MODEL, alpha=0.08)
    ax.set_xlim(left, right)
    ax.set_xlabel(f"{name} ({unit})" if unit else name)
    ax.set_ylabel("density")
    ax.set_title(f"{name}: {number(median)} [{number(q05)}, {number(q95)}]", fontsize=9)
    return ax


def posterior_figure(
    particles: pd.DataFrame,
    priors: dict[str, tuple[float, float]],
    caption: str,
    units: dict[str, str] | None = None,
    integers: frozenset[str] = frozenset(),
    columns: int = 3,
) -> Figure:
    """The accepted parameter distribution: one panel per varied parameter.

    ``priors`` gives each parameter's uniform range; ``integers`` names the
    whole-number ones.
    """
    names = list(priors)
    columns = min(columns, len(names))
    rows = math.ceil(len(names) / columns)
    figure = Figure(figsize=(4.2 * columns, 3.0 * rows + 0.8), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    weights = particles["weight"].to_numpy(np.float64)
    for ax, name in zip(axes, names, strict=False):
        low, high = priors[name]
        plot_parameter(
            particles[name].to_numpy(np.float64),
            weights,
            low,
            high,
            name,
            ax,
            (units or {}).get(name, ""),
            name in integers,
        )
    for ax in axes[len(names) :]:
        ax.set_axis_off()
    figure.suptitle("Accepted parameters (median, 90% interval) over uniform priors", fontsize=11)
    figure.supxlabel(caption, fontsize=8)
    return figure
