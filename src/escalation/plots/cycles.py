"""Retaliation cycles: how long they run, and when they start.

A retaliation cycle is a chain of two or more blows, each answering the
adversary's last; its length is the number of blows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from escalation.plots.canvas import caption_text, new_axes, set_caption, set_title, tidy

__all__ = ["plot_cycle_lengths", "plot_cycle_starts"]

BARS = "#CC6677"
FIRST = "#332288"


def _check(cycles: pd.DataFrame, column: str) -> None:
    if column not in cycles.columns:
        raise ValueError(
            f"the cycles table has no {column!r} column; expected the table of a results "
            "folder (run, start_day, length)"
        )


def plot_cycle_lengths(
    cycles: pd.DataFrame,
    ax: Axes | None = None,
    *,
    n_runs: int | None = None,
    seed: int | str | None = None,
    title: str | None = "Length of retaliation cycles",
    **style: Any,
) -> Axes:
    """Bars of the share of cycles of each length (blows), median and 95th percentile marked.

    Parameters
    ----------
    cycles
        One row per cycle: run, start_day, length.
    n_runs, seed
        For the caption.
    style
        Passed to :meth:`matplotlib.axes.Axes.bar`.
    """
    _check(cycles, "length")
    lengths = cycles["length"].to_numpy(dtype=np.int64)
    ax = tidy(new_axes(ax))
    extra = f"{lengths.size:,} cycles"
    if lengths.size == 0:
        ax.text(0.5, 0.5, "no retaliation cycle in any run", ha="center", transform=ax.transAxes)
    else:
        values, counts = np.unique(lengths, return_counts=True)
        options: dict[str, Any] = {"color": BARS, "width": 0.8}
        options.update(style)
        ax.bar(values, 100 * counts / lengths.size, **options)
        median, q95 = np.quantile(lengths, [0.5, 0.95])
        for value, label, dash in ((median, "median", "-"), (q95, "95th percentile", "--")):
            ax.axvline(value, color="#222222", lw=1, ls=dash, label=f"{label}: {value:g}")
        ax.legend(frameon=False, fontsize="small")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(values.min() - 0.7, values.max() + 0.7)
    ax.set_xlabel("cycle length (blows)")
    ax.set_ylabel("share of cycles (%)")
    set_title(ax, title)
    set_caption(ax, caption_text(n_runs, seed, extra))
    return ax


def plot_cycle_starts(
    cycles: pd.DataFrame,
    ax: Axes | None = None,
    *,
    n_runs: int | None = None,
    horizon_days: int | None = None,
    bin_days: int = 7,
    seed: int | str | None = None,
    title: str | None = "When retaliation cycles start",
    **style: Any,
) -> Axes:
    """Histogram of the days cycles start on, all cycles and each run's first.

    With ``n_runs`` the bars are the mean number of cycles starting per run in each
    bin of ``bin_days`` days; without it, counts of cycles per ``bin_days`` days.

    Parameters
    ----------
    cycles
        One row per cycle: run, start_day, length.
    n_runs
        The number of runs the cycles come from (runs without a cycle count too).
    horizon_days
        The last day of the axis (default: the last start).
    bin_days
        Width of a bin, in days.
    style
        Passed to :meth:`matplotlib.axes.Axes.stairs` for the bars of all cycles.
    """
    _check(cycles, "start_day")
    if bin_days < 1:
        raise ValueError(f"bin_days must be >= 1, got {bin_days}")
    starts = cycles["start_day"].to_numpy(dtype=float)
    end = max(horizon_days if horizon_days is not None else int(starts.max(initial=0)) + 1, 1)
    edges = np.arange(0, end, bin_days, dtype=float)
    edges = np.append(edges, float(end))
    # The last bin may be shorter than the others: rates per bin_days days keep it
    # comparable instead of showing a false drop at the horizon.
    scale = bin_days / np.diff(edges) / (n_runs if n_runs else 1.0)
    ax = tidy(new_axes(ax))
    options: dict[str, Any] = {"color": BARS, "alpha": 0.85, "fill": True, "label": "all cycles"}
    options.update(style)
    counts, _ = np.histogram(starts, bins=edges)
    ax.stairs(counts * scale, edges, gid="all", **options)
    if "run" in cycles.columns and starts.size:
        first = cycles.groupby("run")["start_day"].min().to_numpy(dtype=float)
        first_counts, _ = np.histogram(first, bins=edges)
        ax.stairs(
            first_counts * scale,
            edges,
            color=FIRST,
            lw=1.8,
            label="first cycle of a run",
            gid="first",
        )
        ax.legend(frameon=False, fontsize="small")
    ax.set_xlim(0, edges[-1])
    ax.set_xlabel("day the cycle starts")
    ax.set_ylabel(
        f"cycles starting per run, per {bin_days} days"
        if n_runs
        else f"cycles starting (count per {bin_days} days)"
    )
    set_title(ax, title)
    set_caption(ax, caption_text(n_runs, seed, f"{starts.size:,} cycles"))
    return ax
