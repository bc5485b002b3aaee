"""Sweeps: an outcome's share against one parameter, or over two as a heat map.

The frame is a sweep folder's ``summary.parquet``: one row per design point,
``point``, a column per factor, ``runs``, ``share_{outcome}`` with ``_low`` and
``_high`` (Wilson 95%), ``mean_{m}``, ``q05_{m}``..., ``failed`` and ``error``.
The figures of its analysis files are in :mod:`escalation.plots.analysis`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb

from escalation.plots.canvas import caption_text, new_axes, set_caption, set_title, tidy
from escalation.report_text import wilson_interval

__all__ = [
    "factor_columns",
    "factor_domains",
    "plot_share_heatmap",
    "plot_share_vs_parameter",
    "pooled_shares",
    "sweep_outcomes",
]

LINE = "#0077BB"
LEVELS_MAX = 25
"""A factor with more distinct values than this is binned (a sampled design)."""

_STAT_PREFIXES = ("share_", "mean_", "q05_", "q25_", "q50_", "q75_", "q95_")
_NOT_FACTORS = {"point", "runs", "failed", "error", "seed", "family"}


def factor_columns(summary: pd.DataFrame) -> list[str]:
    """The factor columns of a sweep summary (all but point, runs, statistics, failures)."""
    return [
        str(c)
        for c in summary.columns
        if str(c) not in _NOT_FACTORS and not str(c).startswith(_STAT_PREFIXES)
    ]


def sweep_outcomes(summary: pd.DataFrame) -> list[str]:
    """The outcomes with shares in a sweep summary."""
    return [
        str(c)[len("share_") :]
        for c in summary.columns
        if str(c).startswith("share_") and not str(c).endswith(("_low", "_high"))
    ]


def factor_domains(summary: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Each factor's smallest and largest value in the summary."""
    return {
        name: (float(summary[name].min()), float(summary[name].max()))
        for name in factor_columns(summary)
    }


def _usable(summary: pd.DataFrame, outcome: str, *columns: str) -> pd.DataFrame:
    for column in columns:
        if column not in summary.columns:
            raise ValueError(
                f"the sweep has no factor {column!r}; its factors are "
                f"{', '.join(factor_columns(summary)) or 'none'}"
            )
    if f"share_{outcome}" not in summary.columns:
        raise ValueError(
            f"the sweep has no outcome {outcome!r}; its outcomes are "
            f"{', '.join(sweep_outcomes(summary)) or 'none'}"
        )
    ok = summary
    if "failed" in summary.columns:
        ok = summary[~summary["failed"].fillna(False).astype(bool)]
    return ok[ok["runs"] > 0]


def _levels(values: pd.Series, n_bins: int) -> tuple[pd.Series, np.ndarray, bool]:
    """Group keys for a factor: its values, or equal-width bins of a sampled factor."""
    distinct = np.sort(values.unique())
    if distinct.size <= LEVELS_MAX:
        return values.astype(float), distinct.astype(float), False
    edges = np.linspace(float(distinct[0]), float(distinct[-1]), n_bins + 1)
    index = np.clip(
        np.searchsorted(edges, values.to_numpy(dtype=float), side="right") - 1, 0, n_bins - 1
    )
    centres = (edges[:-1] + edges[1:]) / 2
    return pd.Series(centres[index], index=values.index), centres, True


def pooled_shares(
    summary: pd.DataFrame, by: list[str], outcome: str, n_bins: int = 10
) -> pd.DataFrame:
    """The outcome's share per level of the factors ``by``, pooling the runs of other factors.

    A factor with more than :data:`LEVELS_MAX` distinct values (a sampled design) is
    cut into ``n_bins`` equal-width bins, keyed by their centres. The interval is
    Wilson's 95% on the pooled runs, or the point's own when a level has one point.

    Returns
    -------
    DataFrame
        Columns: the factors ``by`` (level or bin centre), points, runs, share, low,
        high; plus ``binned`` in ``attrs`` (the factors that were binned).
    """
    ok = _usable(summary, outcome, *by)
    keys = {}
    binned = []
    for name in by:
        keys[name], _, was_binned = _levels(ok[name], n_bins)
        if was_binned:
            binned.append(name)
    runs = ok["runs"].to_numpy(dtype=float)
    frame = pd.DataFrame(keys)
    frame["runs"] = runs
    frame["hits"] = np.round(ok[f"share_{outcome}"].to_numpy(dtype=float) * runs)
    frame["low"] = ok.get(f"share_{outcome}_low", pd.Series(np.nan, index=ok.index)).to_numpy()
    frame["high"] = ok.get(f"share_{outcome}_high", pd.Series(np.nan, index=ok.index)).to_numpy()
    grouped = frame.groupby(by, sort=True)
    table = grouped.agg(
        points=("runs", "size"),
        runs=("runs", "sum"),
        hits=("hits", "sum"),
        own_low=("low", "first"),
        own_high=("high", "first"),
    ).reset_index()
    table["share"] = table["hits"] / table["runs"]
    lows, highs = [], []
    for points, hits, runs_at, own_low, own_high in zip(
        table["points"].to_numpy(dtype=np.int64),
        table["hits"].to_numpy(dtype=float),
        table["runs"].to_numpy(dtype=float),
        table["own_low"].to_numpy(dtype=float),
        table["own_high"].to_numpy(dtype=float),
        strict=True,
    ):
        if points == 1 and np.isfinite(own_low) and np.isfinite(own_high):
            lows.append(float(own_low))
            highs.append(float(own_high))
        else:
            lo, hi = wilson_interval(int(hits), int(runs_at))
            lows.append(float(lo))
            highs.append(float(hi))
    table["low"] = lows
    table["high"] = highs
    table = table.drop(columns=["hits", "own_low", "own_high"])
    table.attrs["binned"] = binned
    table.attrs["pooled"] = bool((table["points"] > 1).any())
    return table


def _label(name: str, units: Mapping[str, str] | None) -> str:
    unit = (units or {}).get(name, "")
    return f"{name} ({unit})" if unit else name


def _sweep_caption(summary: pd.DataFrame, seed: int | str | None, note: str = "") -> str:
    points = len(summary)
    runs = int(summary["runs"].sum()) if "runs" in summary.columns else None
    failed = int(summary["failed"].fillna(False).astype(bool).sum()) if "failed" in summary else 0
    extra = f"{points:,} points" + (f", {failed} failed" if failed else "")
    if note:
        extra += f", {note}"
    return caption_text(runs, seed, extra)


def plot_share_vs_parameter(
    summary: pd.DataFrame,
    parameter: str,
    outcome: str,
    ax: Axes | None = None,
    *,
    units: Mapping[str, str] | None = None,
    n_bins: int = 10,
    seed: int | str | None = None,
    title: str | None = None,
    **style: Any,
) -> Axes:
    """An outcome's share of runs against one parameter, with its 95% interval band.

    When other factors vary too, each value of ``parameter`` pools the runs of all
    points sharing it (the share averaged over the other factors' design); a
    sampled parameter is binned. The design points themselves are drawn faintly.

    Parameters
    ----------
    summary
        A sweep's summary table.
    parameter, outcome
        The factor on the horizontal axis and the outcome whose share is drawn.
    units
        Units of the factors, for the axis label.
    style
        Passed to the line's :meth:`matplotlib.axes.Axes.plot`.
    """
    table = pooled_shares(summary, [parameter], outcome, n_bins)
    ok = _usable(summary, outcome, parameter)
    ax = tidy(new_axes(ax), grid="both")
    x = table[parameter].to_numpy(dtype=float)
    if table.attrs["pooled"]:
        ax.scatter(
            ok[parameter],
            100 * ok[f"share_{outcome}"],
            s=10,
            color="#888888",
            alpha=0.5,
            lw=0,
            label="design points",
            gid="points",
        )
    ax.fill_between(
        x,
        100 * table["low"],
        100 * table["high"],
        color=LINE,
        alpha=0.2,
        lw=0,
        label="95% interval",
        gid="band",
    )
    options: dict[str, Any] = {"color": LINE, "lw": 2, "marker": "o", "ms": 4}
    options.update(style)
    ax.plot(x, 100 * table["share"], label=f"share of runs: {outcome}", gid="share", **options)
    ax.set_xlabel(
        _label(parameter, units) + (" (binned)" if parameter in table.attrs["binned"] else "")
    )
    ax.set_ylabel(f"runs ending in {outcome.replace('_', ' ')} (%)")
    ax.set_ylim(0, 100)
    ax.legend(frameon=False, fontsize="small", loc="best")
    set_title(
        ax, title if title is not None else f"{outcome.replace('_', ' ')} against {parameter}"
    )
    note = "pooled over the other factors" if table.attrs["pooled"] else ""
    set_caption(ax, _sweep_caption(ok, seed, note))
    return ax


def plot_share_heatmap(
    summary: pd.DataFrame,
    x: str,
    y: str,
    outcome: str,
    ax: Axes | None = None,
    *,
    units: Mapping[str, str] | None = None,
    n_bins: int = 8,
    cmap: str = "viridis",
    seed: int | str | None = None,
    title: str | None = None,
    **style: Any,
) -> Axes:
    """A heat map of an outcome's share over two parameters, each cell labelled.

    Other factors are pooled and sampled factors binned as in :func:`pooled_shares`.

    Parameters
    ----------
    summary
        A sweep's summary table.
    x, y
        The factors on the horizontal and vertical axes.
    outcome
        The outcome whose share is coloured.
    cmap
        A colour map (viridis: perceptually uniform and colour-blind safe).
    style
        Passed to :meth:`matplotlib.axes.Axes.pcolormesh`.
    """
    if x == y:
        raise ValueError(f"a heat map needs two different factors, got {x!r} twice")
    table = pooled_shares(summary, [x, y], outcome, n_bins)
    ok = _usable(summary, outcome, x, y)
    xs = np.sort(table[x].unique())
    ys = np.sort(table[y].unique())
    grid = np.full((ys.size, xs.size), np.nan)
    rows = np.searchsorted(ys, table[y].to_numpy())
    cols = np.searchsorted(xs, table[x].to_numpy())
    grid[rows, cols] = 100 * table["share"].to_numpy(dtype=float)
    ax = tidy(new_axes(ax, figsize=(7.5, 5.0)), grid=None)
    options: dict[str, Any] = {"cmap": cmap, "vmin": 0, "vmax": 100, "shading": "nearest"}
    options.update(style)
    mesh = ax.pcolormesh(np.arange(xs.size), np.arange(ys.size), grid, **options)
    mesh.set_gid("heatmap")
    colours = mesh.cmap
    for j in range(ys.size):
        for i in range(xs.size):
            value = grid[j, i]
            if np.isnan(value):
                continue
            red, green, blue = to_rgb(colours(value / 100))
            light = 0.299 * red + 0.587 * green + 0.114 * blue > 0.55
            ax.text(
                i,
                j,
                f"{value:.0f}",
                ha="center",
                va="center",
                fontsize="x-small",
                color="#222222" if light else "white",
            )
    ax.set_xticks(np.arange(xs.size), [f"{v:.3g}" for v in xs])
    ax.set_yticks(np.arange(ys.size), [f"{v:.3g}" for v in ys])
    if xs.size > 12:
        ax.tick_params(axis="x", labelrotation=45)
    ax.set_xlabel(_label(x, units) + (" (bin centre)" if x in table.attrs["binned"] else ""))
    ax.set_ylabel(_label(y, units) + (" (bin centre)" if y in table.attrs["binned"] else ""))
    bar = ax.figure.colorbar(mesh, ax=ax, fraction=0.05, pad=0.02)
    bar.set_label(f"runs ending in {outcome.replace('_', ' ')} (%)")
    set_title(ax, title if title is not None else f"{outcome.replace('_', ' ')} over {x} and {y}")
    note = "pooled over the other factors" if table.attrs["pooled"] else ""
    set_caption(ax, _sweep_caption(ok, seed, note))
    return ax
