"""Outcome shares with their 95% intervals, for one scenario or several side by side."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FixedLocator, MaxNLocator

from escalation.plots.canvas import caption_text, new_axes, set_caption, set_title, tidy
from escalation.plots.palette import outcome_colours, series_colours

__all__ = ["plot_outcome_shares"]

_COLUMNS = ("runs", "share", "low", "high")


def _check_table(name: str, table: pd.DataFrame) -> None:
    missing = [column for column in _COLUMNS if column not in table.columns]
    if missing:
        raise ValueError(
            f"outcome table {name!r} lacks the column(s) {', '.join(missing)}; expected the "
            "frame of escalation.report_text.outcome_table (runs, share, low, high per outcome)"
        )


def _runs_caption(tables: Mapping[str, pd.DataFrame]) -> str:
    totals = {name: int(table["runs"].sum()) for name, table in tables.items()}
    values = set(totals.values())
    if len(values) == 1:
        return caption_text(values.pop()) + ("" if len(totals) == 1 else " each")
    return ", ".join(f"{name} {total:,}" for name, total in totals.items()) + " runs"


def _seed_caption(seed: int | str | Mapping[str, Any] | None) -> str:
    if seed is None:
        return ""
    if not isinstance(seed, Mapping):
        return f"seed {seed}"
    distinct = {str(value) for value in seed.values()}
    if len(distinct) == 1:
        return f"seed {distinct.pop()}"
    return "seeds " + ", ".join(f"{name} {value}" for name, value in seed.items())


def plot_outcome_shares(
    tables: pd.DataFrame | Mapping[str, pd.DataFrame],
    ax: Axes | None = None,
    *,
    seed: int | str | Mapping[str, Any] | None = None,
    title: str | None = "Outcomes",
    labels: bool = True,
    **style: Any,
) -> Axes:
    """Horizontal bars of the share of runs ending in each outcome, with 95% intervals.

    Parameters
    ----------
    tables
        One outcome table (:func:`escalation.report_text.outcome_table`: index
        outcome, columns runs, share, low, high), or a mapping of scenario name to
        table to draw several scenarios side by side (one colour per scenario).
    ax
        Axes to draw on; a new figure's if None.
    seed
        The root seed, or a mapping of scenario name to seed, for the caption.
    title
        The headline (None for none).
    labels
        Write each share next to its bar.
    style
        Passed to :meth:`matplotlib.axes.Axes.barh` (e.g. ``alpha``).

    Returns
    -------
    Axes
        The axes drawn on: one bar container per scenario, whose widths are the
        shares in percent, with error bars spanning the intervals.
    """
    named = {"": tables} if isinstance(tables, pd.DataFrame) else dict(tables)
    if not named:
        raise ValueError("no outcome table to draw")
    for name, table in named.items():
        _check_table(name, table)
    outcomes: list[str] = []
    for table in named.values():
        outcomes += [str(o) for o in table.index if str(o) not in outcomes]
    single = len(named) == 1
    rows = len(outcomes) * (1 if single else 0.35 * len(named) + 0.5)
    ax = tidy(new_axes(ax, figsize=(7.5, min(9.0, 1.4 + 0.45 * rows))), grid="x")
    colours = series_colours(list(named))
    by_outcome = outcome_colours(outcomes)
    slot = 0.8 / len(named)
    positions = np.arange(len(outcomes), dtype=float)
    highest = 0.0
    for index, (name, table) in enumerate(named.items()):
        table = table.reindex(outcomes)
        share = 100 * table["share"].to_numpy(dtype=float)
        low = 100 * table["low"].to_numpy(dtype=float)
        high = 100 * table["high"].to_numpy(dtype=float)
        y = positions - 0.4 + slot * (index + 0.5)
        colour: Any = [by_outcome[o] for o in outcomes] if single else colours[name]
        options: dict[str, Any] = {
            "height": slot * 0.9,
            "color": colour,
            "error_kw": {"elinewidth": 1.2},
        }
        options.update(style)
        bars = ax.barh(
            y,
            np.nan_to_num(share),
            xerr=np.vstack([share - low, high - share]),
            ecolor="#222222",
            capsize=3 if single else 2,
            label=name or None,
            **options,
        )
        highest = max(highest, float(np.nanmax(high)) if np.isfinite(high).any() else 0.0)
        if labels:
            texts = [
                ""
                if np.isnan(s)
                else (
                    f"{s:.1f}%  [{lo:.1f}, {hi:.1f}]" if single else f"{s:.{0 if s >= 10 else 1}f}%"
                )
                for s, lo, hi in zip(share, low, high, strict=True)
            ]
            for bar, text, top in zip(bars.patches, texts, high, strict=True):
                if text:
                    ax.annotate(
                        text,
                        (top, bar.get_y() + bar.get_height() / 2),
                        xytext=(4, 0),
                        textcoords="offset points",
                        va="center",
                        fontsize="small" if single else "x-small",
                        color="#222222",
                    )
    ax.set_yticks(positions, [o.replace("_", " ") for o in outcomes])
    ax.invert_yaxis()
    top = max(highest, 1.0)
    # Room on the right for the labels, but no tick past 100%: a share has no more.
    ax.set_xlim(0, top * (1.5 if single and labels else 1.15))
    ticks = MaxNLocator(6).tick_values(0, min(100.0, top))
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.spines["bottom"].set_bounds(0, float(ticks[-1]))
    ax.set_xlabel("share of runs (%), bars: 95% interval")
    ax.set_ylabel("outcome")
    if not single:
        ax.legend(
            title="scenario",
            frameon=False,
            fontsize="small",
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
        )
    set_title(ax, title)
    caption = ", ".join(part for part in (_runs_caption(named), _seed_caption(seed)) if part)
    set_caption(ax, caption)
    return ax
