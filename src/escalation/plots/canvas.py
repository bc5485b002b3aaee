"""The figure conventions every plot shares: axes, caption, look, and saving to disk.

Figures are made with matplotlib's object API alone (``matplotlib.figure.Figure``),
never pyplot, so that plotting holds no global state and is safe in threads.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Literal

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from escalation.files import as_if_created

__all__ = [
    "FORMATS",
    "caption_of",
    "caption_text",
    "figure_bytes",
    "new_axes",
    "save_figure",
    "set_caption",
    "set_title",
    "tidy",
]

FORMATS = ("png", "svg", "pdf")
"""The file formats figures are saved in, chosen by the file's suffix."""

FIGSIZE = (7.5, 4.2)
"""Inches: fits a slide or a report column at full width."""

TEXT = "#222222"
MUTED = "#666666"


def new_axes(ax: Axes | None = None, figsize: tuple[float, float] = FIGSIZE) -> Axes:
    """The axes to draw on: ``ax`` itself, or one axes on a new figure."""
    if ax is not None:
        return ax
    figure = Figure(figsize=figsize, layout="constrained", dpi=100)
    return figure.add_subplot()


def tidy(ax: Axes, *, grid: Literal["x", "y", "both"] | None = "y") -> Axes:
    """The house look: no top and right frame, a light grid behind the data."""
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    for spine in ("left", "bottom"):
        ax.spines[spine].set_color(MUTED)
    ax.tick_params(colors=TEXT, labelcolor=TEXT)
    if grid is not None:
        ax.grid(True, axis=grid, color="#E5E5E5", linewidth=0.8)
        ax.set_axisbelow(True)
    return ax


def caption_text(
    n_runs: int | None = None, seed: int | str | None = None, extra: str | None = None
) -> str:
    """``"10,000 runs, seed 7"``: what every figure states of where it comes from."""
    parts = []
    if n_runs is not None:
        parts.append(f"{n_runs:,} run" + ("" if n_runs == 1 else "s"))
    if seed is not None:
        parts.append(f"seed {seed}")
    if extra:
        parts.append(extra)
    return ", ".join(parts)


def set_caption(ax: Axes, text: str) -> None:
    """Put the caption (runs, seed) in small grey type just above the axes, at the left.

    The caption is the axes' text with gid ``"caption"``; :func:`caption_of` reads it.
    """
    for old in [t for t in ax.texts if t.get_gid() == "caption"]:
        old.remove()
    if text:
        ax.annotate(
            text,
            xy=(0, 1),
            xycoords="axes fraction",
            xytext=(0, 4),
            textcoords="offset points",
            ha="left",
            va="bottom",
            fontsize="small",
            color=MUTED,
            gid="caption",
        )


def caption_of(ax: Axes) -> str:
    """The caption :func:`set_caption` put on the axes ("" if none)."""
    return "".join(t.get_text() for t in ax.texts if t.get_gid() == "caption")


def set_title(ax: Axes, title: str | None) -> None:
    """The figure's headline, at the top left, above the caption."""
    if title:
        ax.set_title(title, loc="left", fontsize="medium", fontweight="bold", color=TEXT, pad=17)


def _format(path: Path, format: str | None) -> str:
    chosen = format or path.suffix.lstrip(".").lower()
    if chosen not in FORMATS:
        raise ValueError(
            f"{path}: cannot tell the figure format from the suffix {path.suffix!r}; "
            f"expected one of {', '.join('.' + f for f in FORMATS)}"
        )
    return chosen


def save_figure(
    figure: Figure, path: str | os.PathLike[str], *, dpi: int = 200, format: str | None = None
) -> Path:
    """Write a figure through a temporary sibling and an atomic rename.

    The format is the suffix's (``.png``, ``.svg``, ``.pdf``) unless ``format`` says.
    """
    target = Path(path)
    chosen = _format(target, format)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".partial", dir=target.parent
    )
    try:
        with os.fdopen(handle, "wb") as stream:
            figure.savefig(stream, format=chosen, dpi=dpi)
        as_if_created(temporary)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def figure_bytes(figure: Figure, *, format: str = "png", dpi: int = 110) -> bytes:
    """The figure encoded in memory (for a report that embeds it)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format=format, dpi=dpi)
    return buffer.getvalue()
