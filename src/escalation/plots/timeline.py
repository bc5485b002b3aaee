"""Time: the escalation rung day by day across runs, and one replayed run's acts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from escalation.plots.canvas import caption_text, new_axes, set_caption, set_title, tidy
from escalation.plots.palette import actor_colours

__all__ = ["notable_events", "plot_rung_over_time", "plot_run_timeline"]

BAND = "#0072B2"
PATH = "#555555"
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "h", "<", ">", "p")


def _series(timeseries: pd.DataFrame, kind: str, series: str) -> pd.DataFrame:
    rows = timeseries[
        (timeseries["kind"].astype(str) == kind) & (timeseries["series"].astype(str) == series)
    ]
    if rows.empty:
        available = sorted(set(timeseries["series"].astype(str)))
        raise ValueError(
            f"the time series has no {kind!r} rows for {series!r}; it has {', '.join(available)}"
        )
    return rows


def plot_rung_over_time(
    timeseries: pd.DataFrame,
    ax: Axes | None = None,
    *,
    n_paths: int = 5,
    ladder: Sequence[str] | None = None,
    n_runs: int | None = None,
    seed: int | str | None = None,
    title: str | None = "Escalation rung over time",
    **style: Any,
) -> Axes:
    """The rung day by day: median, 50% and 90% bands across runs, a few runs drawn thin.

    Parameters
    ----------
    timeseries
        The long time-series table of a results folder: ``kind == "band"`` rows of
        series ``rung`` (day, mean, q05 ... q95) and ``kind == "path"`` rows (day,
        run, value) for the runs whose paths were kept.
    n_paths
        How many individual runs to draw (those with the lowest run ids, so the
        choice is the same every time); 0 for none.
    ladder
        The rungs' names, bottom up, to label the vertical axis.
    n_runs, seed
        For the caption (``n_runs`` defaults to the band's sample size).
    style
        Passed to the median line's :meth:`matplotlib.axes.Axes.plot`.
    """
    band = _series(timeseries, "band", "rung").sort_values("day")
    ax = tidy(new_axes(ax))
    day = band["day"].to_numpy(dtype=float)
    ax.fill_between(
        day,
        band["q05"],
        band["q95"],
        step="mid",
        color=BAND,
        alpha=0.15,
        lw=0,
        label="90% of runs",
    )
    ax.fill_between(
        day,
        band["q25"],
        band["q75"],
        step="mid",
        color=BAND,
        alpha=0.35,
        lw=0,
        label="50% of runs",
    )
    paths = timeseries[
        (timeseries["kind"].astype(str) == "path") & (timeseries["series"].astype(str) == "rung")
    ]
    chosen = sorted(int(r) for r in paths["run"].dropna().unique())[: max(n_paths, 0)]
    for index, run in enumerate(chosen):
        path = paths[paths["run"] == run].sort_values("day")
        # Runs sit on whole rungs and would hide each other: a small vertical offset
        # keeps each visible.
        offset = 0.05 * (index - (len(chosen) - 1) / 2)
        ax.plot(
            path["day"],
            path["value"].to_numpy(dtype=float) + offset,
            drawstyle="steps-mid",
            color=PATH,
            lw=0.5,
            alpha=0.45,
            marker="." if day.size == 1 else None,
            gid=f"path:{run}",
            label="single runs (offset slightly)" if index == 0 else None,
        )
    # A line through one day draws nothing: a one-day horizon marks its day instead.
    marker = "o" if day.size == 1 else None
    options: dict[str, Any] = {"color": BAND, "lw": 2.2, "label": "median", "marker": marker}
    options.update(style)
    ax.plot(day, band["q50"], drawstyle="steps-mid", gid="median", **options)
    ax.plot(
        day, band["mean"], color="#222222", lw=1, ls="--", label="mean", gid="mean", marker=marker
    )
    levels = ladder if ladder is not None else None
    top = int(np.nanmax(band["q95"].to_numpy(dtype=float)))
    if chosen:
        top = max(top, int(np.nanmax(paths["value"].to_numpy(dtype=float))))
    count = len(levels) if levels is not None else top + 1
    ax.set_yticks(
        range(count),
        [f"{i} {name.replace('_', ' ')}" for i, name in enumerate(levels)]
        if levels is not None
        else [str(i) for i in range(count)],
    )
    ax.set_ylim(-0.3, count - 0.7)
    # A one-day horizon has one day: half a day either side gives it an axis.
    pad = 0.5 if day.size == 1 else 0.0
    ax.set_xlim(day.min() - pad, day.max() + pad)
    ax.set_xlabel("day")
    ax.set_ylabel("rung of the escalation ladder")
    ax.legend(
        frameon=False, fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.14), ncols=3
    )
    sample = int(band["quantile_sample"].iloc[0]) if "quantile_sample" in band else None
    set_title(ax, title)
    set_caption(ax, caption_text(sample if n_runs is None else n_runs, seed))
    return ax


def notable_events(events: pd.DataFrame) -> pd.Series:
    """Acts that a rule decided, that answer an act, or that an act answers.

    The rest is the routine tempo of a run: the background acts answering nothing.
    """
    causes = set(int(c) for c in events["cause"] if c >= 0)
    return (
        (events["rule"].astype(str) != "")
        | (events["cause"] >= 0)
        | events["event_id"].isin(causes)
    )


def plot_run_timeline(
    events: pd.DataFrame,
    ax: Axes | None = None,
    *,
    actors: Sequence[str] | None = None,
    colour_actors: Sequence[str] | None = None,
    names: Mapping[str, str] | None = None,
    rungs: Mapping[str, int] | None = None,
    ladder: Sequence[str] | None = None,
    run: int | None = None,
    seed: int | str | None = None,
    horizon_days: int | None = None,
    title: str | None = None,
    **style: Any,
) -> Axes:
    """One run's acts as marks on a day axis, one row per actor, arrows from cause to answer.

    Parameters
    ----------
    events
        The replayed events (:func:`escalation.replay.replay_run`'s ``events``:
        day, event_id, actor, action, target, rule, count, cause, ...).
    actors
        The rows, top to bottom (default: the actors that act, in order of first act).
    colour_actors
        The scenario's whole set of actors, for colours matching its other figures.
    names
        Display names of the actors.
    rungs
        Each action's rung: higher rungs get larger marks.
    ladder
        The rungs' names, bottom up; with ``rungs``, a mark's shape tells its rung
        (a legend of rungs reads better than one of many actions).
    run, seed, horizon_days
        For the title, caption and day axis.
    style
        Passed to the marks' :meth:`matplotlib.axes.Axes.scatter`.

    Notes
    -----
    Marks are the notable acts (:func:`notable_events`); the routine tempo is drawn as
    faint ticks under each row.  Each arrow runs from an act to the act that answered it.
    """
    if actors is None:
        actors = list(dict.fromkeys(str(a) for a in events["actor"]))
    rows = {actor: i for i, actor in enumerate(actors)}
    missing = sorted(set(str(a) for a in events["actor"]) - set(rows))
    if missing:
        raise ValueError(f"events by actors not given a row: {', '.join(missing)}")
    colours = actor_colours(colour_actors if colour_actors is not None else actors)
    actions = list(dict.fromkeys(str(a) for a in events["action"]))
    if rungs is not None and ladder is not None:
        shape = {a: MARKERS[int(rungs.get(a, 0)) % len(MARKERS)] for a in actions}
    else:
        shape = {action: MARKERS[i % len(MARKERS)] for i, action in enumerate(actions)}
    top = max([int(v) for v in rungs.values()] + [1]) if rungs is not None else 1
    ax = tidy(new_axes(ax, figsize=(9.0, 1.6 + 0.55 * max(len(actors), 1))), grid="x")
    notable = notable_events(events)
    routine = events[~notable]
    for actor, group in routine.groupby("actor", sort=False):
        ax.scatter(
            group["day"],
            np.full(len(group), rows[str(actor)] + 0.2),
            marker="|",
            s=30,
            color=colours[str(actor)],
            alpha=0.45,
            lw=0.8,
            gid=f"routine:{actor}",
        )
    marked = events[notable]
    where: dict[int, tuple[float, float]] = {}
    for action, group in marked.groupby("action", sort=False):
        y = group["actor"].map(lambda a: rows[str(a)]).to_numpy(dtype=float)
        size = (
            np.full(len(group), 55.0)
            if rungs is None
            else 25.0 + 90.0 * float(rungs.get(str(action), 0)) / top
        )
        options: dict[str, Any] = {"edgecolors": "#222222", "linewidths": 0.6, "zorder": 3}
        options.update(style)
        ax.scatter(
            group["day"],
            y,
            s=size,
            marker=shape[str(action)],
            c=[colours[str(a)] for a in group["actor"]],
            gid=f"acts:{action}",
            **options,
        )
        for event_id, day, row in zip(group["event_id"], group["day"], y, strict=True):
            where[int(event_id)] = (float(day), float(row))
    arrows = 0
    for event_id, cause, actor in zip(
        marked["event_id"].to_numpy(dtype=np.int64),
        marked["cause"].to_numpy(dtype=np.int64),
        marked["actor"].astype(str),
        strict=True,
    ):
        if cause < 0 or cause not in where:
            continue
        ax.annotate(
            "",
            xy=where[int(event_id)],
            xytext=where[int(cause)],
            arrowprops={
                "arrowstyle": "-|>",
                "color": colours[actor],
                "lw": 0.8,
                "alpha": 0.7,
                "shrinkA": 4,
                "shrinkB": 5,
                # A slight bend tells arrows apart without sweeping across the rows.
                "connectionstyle": "arc3,rad=-0.12",
            },
            gid=f"answer:{cause}->{event_id}",
        )
        arrows += 1
    label_of = dict(names or {})
    ax.set_yticks(range(len(actors)), [label_of.get(a, a) for a in actors])
    for tick, actor in zip(ax.get_yticklabels(), actors, strict=True):
        tick.set_color(colours[actor])
        tick.set_fontweight("bold")
    ax.set_ylim(len(actors) - 0.4, -0.6)
    right = horizon_days if horizon_days is not None else float(events["day"].max() + 1)
    ax.set_xlim(-1, right)
    ax.set_xlabel("day")
    ax.set_ylabel("actor")
    drawn = set(marked["action"].astype(str))
    if rungs is not None and ladder is not None:
        levels = sorted({int(rungs.get(a, 0)) for a in drawn})
        handles = [
            Line2D(
                [],
                [],
                marker=MARKERS[level % len(MARKERS)],
                ls="",
                color="#888888",
                mec="#222222",
                label=f"{level} "
                + (ladder[level] if level < len(ladder) else "").replace("_", " "),
            )
            for level in levels
        ]
        legend_title = "rung of the act"
    else:
        handles = [
            Line2D(
                [],
                [],
                marker=shape[a],
                ls="",
                color="#888888",
                mec="#222222",
                label=a.replace("_", " "),
            )
            for a in actions
            if a in drawn
        ]
        legend_title = "act"
    handles.append(Line2D([], [], marker="|", ls="", color="#888888", label="routine act"))
    handles.append(Line2D([], [], color="#888888", marker=">", markevery=[1], label="answers"))
    ax.legend(
        handles=handles,
        frameon=False,
        fontsize="small",
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        title=legend_title,
        title_fontsize="small",
    )
    set_title(
        ax,
        title
        if title is not None
        else f"Run {run}: who answered whom"
        if run is not None
        else "Who answered whom",
    )
    # A row of the events is one actor's acts of one kind on one day (``count`` of them).
    acts = int(routine["count"].sum()) if "count" in routine.columns else len(routine)
    extra = f"{arrows} answers, {acts:,} routine acts"
    set_caption(ax, caption_text(None, seed, (f"run {run}, " if run is not None else "") + extra))
    return ax
