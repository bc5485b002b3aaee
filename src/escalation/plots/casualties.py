"""Casualty distributions per actor: the true deaths beside the deaths the enemy claims."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from escalation.plots.canvas import caption_text, new_axes, set_caption, set_title, tidy
from escalation.plots.palette import actor_colours

if TYPE_CHECKING:
    from escalation.report_text import Runs

__all__ = ["casualty_actors", "needs_log_scale", "plot_casualties"]

KINDS = {"true": "true", "claimed": "claimed by the enemy"}

LOG_SPAN = 50.0
"""A figure whose largest 95th percentile exceeds this many times its smallest median
is drawn on a log scale, or the smaller actors' boxes would be squashed flat."""

LOG_TAIL = 10.0
"""So is one whose 95th percentile exceeds its median this many times (a heavy tail)."""


def casualty_actors(runs: Runs) -> list[str]:
    """The actors with deaths columns in a runs table, in column order."""
    return [str(c)[: -len("_dead_true")] for c in runs.columns if str(c).endswith("_dead_true")]


def needs_log_scale(samples: Sequence[np.ndarray]) -> bool:
    """Whether distributions of deaths need a log scale to be read side by side.

    True when the largest 95th percentile is more than :data:`LOG_SPAN` times the
    smallest non-zero median, or when any 95th percentile is more than
    :data:`LOG_TAIL` times its own median.
    """
    medians, tops = [], []
    for values in samples:
        if values.size == 0:
            continue
        median, top = np.quantile(values, [0.5, 0.95])
        medians.append(max(float(median), 1.0))
        tops.append(float(top))
        if top > LOG_TAIL * max(float(median), 1.0):
            return True
    if not tops:
        return False
    return max(tops) > LOG_SPAN * min(medians)


def _box(values: np.ndarray, label: str) -> dict[str, Any]:
    q05, q25, q50, q75, q95 = np.quantile(values, [0.05, 0.25, 0.5, 0.75, 0.95])
    return {
        "label": label,
        "whislo": q05,
        "q1": q25,
        "med": q50,
        "q3": q75,
        "whishi": q95,
        "mean": float(values.mean()),
        "fliers": np.empty(0),
    }


def plot_casualties(
    runs: Runs,
    actors: Sequence[str] | None = None,
    ax: Axes | None = None,
    *,
    log: bool | None = None,
    names: Mapping[str, str] | None = None,
    colour_actors: Sequence[str] | None = None,
    n_runs: int | None = None,
    seed: int | str | None = None,
    title: str | None = "Deaths per actor over the horizon",
    **style: Any,
) -> Axes:
    """Box plots of each actor's deaths across runs: true (filled) and claimed (hatched).

    Boxes span the 25th to 75th percentile, whiskers the 5th to 95th, the line is
    the median and the diamond the mean.

    Parameters
    ----------
    runs
        The runs table (columns ``{actor}_dead_true`` and ``{actor}_dead_claimed``).
    actors
        Actors to show, top to bottom (default: every actor with a death in some run).
    log
        A log scale (symmetric: linear below one death, so zeros stay on the axis);
        None chooses one when :func:`needs_log_scale` says the tails need it.
    names
        Display names of the actors (default their ids).
    colour_actors
        The whole set of the scenario's actors, for colours that match its other
        figures (default ``actors``).
    n_runs, seed
        For the caption (``n_runs`` defaults to the table's length).
    style
        Passed to :meth:`matplotlib.axes.Axes.bxp`.
    """
    every = casualty_actors(runs)
    if actors is None:
        actors = [a for a in every if runs[f"{a}_dead_true"].to_numpy().any()]
    unknown = [a for a in actors if f"{a}_dead_true" not in runs.columns]
    if unknown:
        raise ValueError(
            f"no deaths columns for {', '.join(map(repr, unknown))}; the runs table has "
            f"{', '.join(every) or 'none'}"
        )
    colours = actor_colours(colour_actors if colour_actors is not None else every)
    label_of = dict(names or {})
    ax = tidy(new_axes(ax, figsize=(7.5, 1.3 + 0.75 * max(len(actors), 1))), grid="x")
    samples: list[np.ndarray] = []
    boxes: list[dict[str, Any]] = []
    positions: list[float] = []
    for row, actor in enumerate(actors):
        for offset, kind in ((-0.18, "true"), (0.18, "claimed")):
            values = runs[f"{actor}_dead_{kind}"].to_numpy(dtype=float)
            values = values[np.isfinite(values)]
            if values.size == 0:
                continue
            samples.append(values)
            boxes.append(_box(values, f"{actor} {kind}"))
            positions.append(row + offset)
    if log is None:
        log = needs_log_scale(samples)
    options: dict[str, Any] = {
        "orientation": "horizontal",
        "widths": 0.3,
        "patch_artist": True,
        "showmeans": True,
        "manage_ticks": False,
    }
    options.update(style)
    drawn = ax.bxp(boxes, positions=positions, **options) if boxes else {"boxes": []}
    for patch, stats in zip(drawn["boxes"], boxes, strict=True):
        actor, kind = str(stats["label"]).rsplit(" ", 1)
        colour = colours[actor]
        patch.set_edgecolor(colour)
        patch.set_linewidth(1.4)
        if kind == "true":
            patch.set_facecolor(colour)
        else:
            patch.set_facecolor("white")
            patch.set_hatch("////")
        patch.set_gid(f"{actor}:{kind}")
    for stats, position, values in zip(boxes, positions, samples, strict=True):
        if stats["whishi"] == 0:
            # A box of width zero is invisible: say what it is.
            share = "any run" if not values.any() else "95% of runs"
            ax.annotate(
                f"{KINDS[str(stats['label']).rsplit(' ', 1)[1]]}: none in {share}",
                (0, position),
                xytext=(6, 0),
                textcoords="offset points",
                va="center",
                fontsize="x-small",
                color="#666666",
            )
    for line, stats in zip(drawn.get("medians", []), boxes, strict=False):
        # A dark line vanishes on a dark filled box: white on the true, dark on the hatched.
        line.set_color("white" if str(stats["label"]).endswith(" true") else "#222222")
        line.set_linewidth(2)
    for line in drawn.get("means", []):
        line.set_marker("D")
        line.set_markerfacecolor("white")
        line.set_markeredgecolor("#222222")
        line.set_markersize(4.5)
    ax.set_yticks(range(len(actors)), [label_of.get(a, a) for a in actors])
    for tick, actor in zip(ax.get_yticklabels(), actors, strict=True):
        tick.set_color(colours[actor])
        tick.set_fontweight("bold")
    ax.set_ylim(max(len(actors), 1) - 0.5, -0.5)
    if not actors:
        ax.text(0.5, 0.5, "no deaths in any run", transform=ax.transAxes, ha="center")
    if log:
        ax.set_xscale("symlog", linthresh=1.0, linscale=0.3)
        ax.set_xlim(left=0)
    else:
        ax.set_xlim(left=0)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.set_xlabel("deaths over the horizon (people)" + (", log scale" if log else ""))
    ax.set_ylabel("actor")
    ax.legend(
        handles=[
            Patch(facecolor="#888888", edgecolor="#888888", label=KINDS["true"]),
            Patch(facecolor="white", edgecolor="#888888", hatch="////", label=KINDS["claimed"]),
        ],
        title="box 25-75%, whiskers 5-95%,\nline median, diamond mean",
        title_fontsize="x-small",
        fontsize="small",
        frameon=False,
        loc="best",
    )
    set_title(ax, title)
    set_caption(ax, caption_text(len(runs) if n_runs is None else n_runs, seed))
    return ax
