"""Survival curves of truces: the time until the first, and how long one holds.

Both are Kaplan-Meier estimates (:func:`scipy.stats.ecdf` on
:class:`scipy.stats.CensoredData`), so runs that end with no truce yet, and truces
still holding on the last day, count as what they are: right-censored, not as
truces at the horizon nor as missing.

The time to the first truce is read from every run (``{variable}_first_day``).
How long a truce holds needs each spell's length and whether it ended: the spells
table (``spells.parquet``) holds them for every run; the daily paths kept for a
sample of runs (the ``path`` rows of the time series) hold them for those runs.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from escalation.plots.canvas import caption_text, new_axes, set_caption, set_title, tidy

if TYPE_CHECKING:
    from escalation.report_text import Runs

__all__ = [
    "boolean_variables",
    "first_truce_times",
    "plot_time_to_truce",
    "plot_truce_duration",
    "truce_spells",
    "truce_variable",
]

CURVE = "#009988"
TRUCE_WORDS = ("truce", "ceasefire", "cease_fire", "armistice")


def boolean_variables(runs: Runs) -> list[str]:
    """The world's boolean variables recorded in a runs table (those with spells)."""
    return [
        str(c)[: -len("_spells")]
        for c in runs.columns
        if str(c).endswith("_spells") and f"{str(c)[: -len('_spells')]}_first_day" in runs
    ]


def truce_variable(names: Sequence[str], variable: str | None = None) -> str:
    """The variable that says a truce holds: ``variable`` if given, else found by name."""
    if variable is not None:
        if variable not in names:
            raise ValueError(
                f"no boolean variable {variable!r}; the results have {', '.join(names) or 'none'}"
            )
        return variable
    named = [n for n in names if any(word in n for word in TRUCE_WORDS)]
    if len(named) == 1 or (named and len(names) > 1):
        return named[0]
    if len(names) == 1:
        return names[0]
    raise ValueError(
        "cannot tell which variable is the truce: "
        + (f"choose one of {', '.join(names)}" if names else "the scenario has no boolean variable")
    )


def first_truce_times(
    runs: Runs, variable: str, horizon_days: int
) -> tuple[np.ndarray, np.ndarray]:
    """Day of each run's first truce, and the censoring times of the runs with none.

    A run with no truce was watched through its last day: it is right-censored at
    ``horizon_days``.
    """
    first = runs[f"{variable}_first_day"].to_numpy(dtype=float)
    seen = np.isfinite(first)
    return first[seen], np.full(int((~seen).sum()), float(horizon_days))


def truce_spells(timeseries: pd.DataFrame, variable: str) -> pd.DataFrame:
    """The spells of a boolean variable in the runs whose daily paths were kept.

    Returns
    -------
    DataFrame
        One row per spell: run, start_day, length (days it held), ended (whether it
        broke down before the last day; if not, its length is censored).
    """
    paths = timeseries[
        (timeseries["kind"].astype(str) == "path") & (timeseries["series"].astype(str) == variable)
    ]
    rows: list[tuple[int, int, int, bool]] = []
    for run, path in paths.groupby("run", sort=True):
        on = path.sort_values("day")["value"].to_numpy(dtype=float) != 0
        edges = np.diff(np.concatenate([[False], on, [False]]).astype(np.int8))
        starts = np.flatnonzero(edges == 1)
        stops = np.flatnonzero(edges == -1)
        for start, stop in zip(starts, stops, strict=True):
            rows.append(
                (int(cast(float, run)), int(start), int(stop - start), bool(stop < on.size))
            )
    return pd.DataFrame(rows, columns=["run", "start_day", "length", "ended"])


def _draw_survival(
    ax: Axes, observed: np.ndarray, censored: np.ndarray, label: str, colour: str
) -> float:
    """Draw the Kaplan-Meier curve with its 95% band; return the median (nan if not reached)."""
    from scipy import stats  # here: SciPy's statistics take a third of a second to import

    result = stats.ecdf(stats.CensoredData(uncensored=observed, right=censored))
    times = np.concatenate([[0.0], result.sf.quantiles])
    survival = np.concatenate([[1.0], result.sf.probabilities])
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        # The log-log band is undefined where the estimate is 1 or 0; those days are
        # left without a band (NaN) rather than drawn as certain.
        warnings.filterwarnings("ignore", "The confidence interval is undefined", RuntimeWarning)
        band = result.sf.confidence_interval(0.95, method="log-log")
    low = np.concatenate([[np.nan], band.low.probabilities])
    high = np.concatenate([[np.nan], band.high.probabilities])
    ax.fill_between(
        times, 100 * low, 100 * high, step="post", color=colour, alpha=0.2, lw=0, label="95% band"
    )
    ax.step(times, 100 * survival, where="post", color=colour, lw=2, label=label, gid="survival")
    censored = np.unique(censored)
    if censored.size:
        ax.plot(
            censored,
            100 * result.sf.evaluate(censored),
            ls="",
            marker="|",
            ms=9,
            color="#222222",
            label="censored",
            gid="censored",
        )
    below = np.flatnonzero(survival <= 0.5)
    return float(times[below[0]]) if below.size else float("nan")


def _median_line(ax: Axes, median: float, unit: str) -> None:
    if np.isfinite(median):
        ax.axvline(median, color="#222222", lw=0.8, ls=":", label=f"median: {median:g} {unit}")


def plot_time_to_truce(
    runs: Runs,
    ax: Axes | None = None,
    *,
    horizon_days: int,
    variable: str | None = None,
    n_runs: int | None = None,
    seed: int | str | None = None,
    title: str | None = None,
    **style: Any,
) -> Axes:
    """The share of runs still without a first truce, day by day (Kaplan-Meier).

    Parameters
    ----------
    runs
        The runs table (column ``{variable}_first_day``, NaN for no truce).
    horizon_days
        The runs' horizon: runs with no truce are censored there.
    variable
        The boolean world variable that marks a truce (default: found by its name).
    style
        Passed to :meth:`matplotlib.axes.Axes.step` for the curve.
    """
    variable = truce_variable(boolean_variables(runs), variable)
    observed, censored = first_truce_times(runs, variable, horizon_days)
    ax = tidy(new_axes(ax), grid="both")
    median = _draw_survival(
        ax, observed, censored, "Kaplan-Meier estimate", style.pop("color", CURVE)
    )
    _median_line(ax, median, "days")
    ax.set_xlim(0, horizon_days)
    ax.set_ylim(0, 102)
    ax.set_xlabel("day")
    ax.set_ylabel(f"runs with no {variable.replace('_', ' ')} yet (%)")
    ax.legend(frameon=False, fontsize="small", loc="best")
    set_title(ax, title if title is not None else f"Time to the first {variable.replace('_', ' ')}")
    never = censored.size
    set_caption(
        ax,
        caption_text(
            len(runs) if n_runs is None else n_runs,
            seed,
            f"{never:,} with none by day {horizon_days}",
        ),
    )
    return ax


def plot_truce_duration(
    table: pd.DataFrame,
    ax: Axes | None = None,
    *,
    variable: str,
    runs: int | None = None,
    seed: int | str | None = None,
    title: str | None = None,
    **style: Any,
) -> Axes:
    """The share of truces still holding, by days since they began (Kaplan-Meier).

    A truce still holding on the last day is censored there.

    Parameters
    ----------
    table
        The spells table (``results.spells``: every run's spells), or the long
        time-series table (its ``path`` rows of series ``variable``: the runs whose
        daily paths were kept).
    variable
        The boolean world variable that marks a truce.
    runs
        The number of runs the spells table covers, for the caption (a run with no
        spell has no row there).
    style
        Passed to :meth:`matplotlib.axes.Axes.step` for the curve.
    """
    if "series" in table.columns:
        spells = truce_spells(table, variable)
        paths = table[
            (table["kind"].astype(str) == "path") & (table["series"].astype(str) == variable)
        ]
        sampled = int(paths["run"].nunique())
        where = f"the {sampled:,} runs with daily paths"
        nowhere = f"the {sampled:,} runs whose daily paths were kept"
    else:
        spells = table[table["variable"].astype(str) == variable]
        where = "every run" if runs is None else f"all {runs:,} runs"
        nowhere = "any run" if runs is None else f"any of the {runs:,} runs"
    ax = tidy(new_axes(ax), grid="both")
    label = variable.replace("_", " ")
    if spells.empty:
        ax.text(
            0.5,
            0.5,
            f"no spell of {label} in {nowhere}",
            ha="center",
            transform=ax.transAxes,
        )
    else:
        ended = spells["ended"].to_numpy(dtype=bool)
        lengths = spells["length"].to_numpy(dtype=float)
        median = _draw_survival(
            ax, lengths[ended], lengths[~ended], "Kaplan-Meier estimate", style.pop("color", CURVE)
        )
        _median_line(ax, median, "days")
        ax.set_xlim(0, float(lengths.max()) + 1)
        if not ended.any():
            ax.text(
                0.5,
                0.35,
                f"no spell of {label} ended before the horizon",
                ha="center",
                transform=ax.transAxes,
            )
        ax.legend(frameon=False, fontsize="small", loc="upper right")
    ax.set_ylim(0, 102)
    ax.set_xlabel(f"days since the spell of {label} began")
    ax.set_ylabel(f"spells of {label} still lasting (%)")
    set_title(ax, title if title is not None else f"How long {label} lasts once begun")
    holding = int((~spells["ended"].astype(bool)).sum())
    set_caption(
        ax,
        f"{len(spells):,} spells ({holding:,} holding at the end) in {where}"
        + ("" if seed is None else f", seed {seed}"),
    )
    return ax
