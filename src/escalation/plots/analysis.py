"""A sweep's analysis: sensitivity indices (Sobol, Morris) and the box discovery found.

The frames are a sweep folder's ``analysis/sobol_{output}.parquet`` (parameter,
S1, S1_conf, ST, ST_conf), ``analysis/morris_{output}.parquet`` (parameter,
mu_star, mu_star_conf, sigma, mu) and ``analysis/prim_{outcome}.parquet``
(parameter, low, high, coverage, density, threshold, mass).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import Patch

from escalation.plots.canvas import caption_text, new_axes, set_caption, set_title, tidy

__all__ = ["plot_discovery_box", "plot_sensitivity"]

S1_COLOUR = "#0077BB"
ST_COLOUR = "#EE7733"
BOX = "#009988"


def _label(name: str, units: Mapping[str, str] | None) -> str:
    unit = (units or {}).get(name, "")
    return f"{name} ({unit})" if unit else name


def plot_sensitivity(
    frame: pd.DataFrame,
    ax: Axes | None = None,
    *,
    output: str | None = None,
    n_runs: int | None = None,
    seed: int | str | None = None,
    title: str | None = None,
    **style: Any,
) -> Axes:
    """Bars of Sobol indices (first order and total) or Morris mu*, with their 95% intervals.

    Parameters are sorted by total index (Sobol) or mu* (Morris), largest on top.

    Parameters
    ----------
    frame
        A Sobol frame (parameter, S1, S1_conf, ST, ST_conf) or a Morris frame
        (parameter, mu_star, mu_star_conf, sigma, mu).
    output
        The output analysed, for the labels.
    n_runs, seed
        The sweep's runs in all and its root seed, for the caption.
    style
        Passed to :meth:`matplotlib.axes.Axes.barh`.
    """
    columns = set(frame.columns)
    sobol = {"parameter", "S1", "S1_conf", "ST", "ST_conf"} <= columns
    morris = {"parameter", "mu_star", "mu_star_conf", "sigma"} <= columns
    if not sobol and not morris:
        raise ValueError(
            "expected a Sobol frame (parameter, S1, S1_conf, ST, ST_conf) or a Morris frame "
            "(parameter, mu_star, mu_star_conf, sigma, mu), got columns "
            + ", ".join(map(str, frame.columns))
        )
    key = "ST" if sobol else "mu_star"
    table = frame.sort_values(key, ascending=False).reset_index(drop=True)
    names = table["parameter"].astype(str).tolist()
    ax = tidy(new_axes(ax, figsize=(7.5, 1.4 + 0.45 * max(len(names), 1))), grid="x")
    y = np.arange(len(names), dtype=float)
    what = output.replace("_", " ") if output else "the output"
    if sobol:
        for offset, index, colour, label in (
            (-0.2, "S1", S1_COLOUR, "first order S1"),
            (0.2, "ST", ST_COLOUR, "total ST"),
        ):
            options: dict[str, Any] = {"height": 0.38, "color": colour, "capsize": 2}
            options.update(style)
            ax.barh(y + offset, table[index], xerr=table[f"{index}_conf"], label=label, **options)
        ax.set_xlabel(f"Sobol index: share of the variance of {what} (1 = all)")
        ax.axvline(0, color="#222222", lw=0.8)
    else:
        bars: dict[str, Any] = {"height": 0.6, "color": S1_COLOUR, "capsize": 2}
        bars.update(style)
        ax.barh(
            y, table["mu_star"], xerr=table["mu_star_conf"], label="mu* (mean |effect|)", **bars
        )
        ax.plot(
            table["sigma"],
            y,
            ls="",
            marker="D",
            color=ST_COLOUR,
            ms=5,
            label="sigma (spread of effects)",
        )
        ax.set_xlabel(f"elementary effect on {what} (its units per factor range)")
        ax.set_xlim(left=0)
    ax.set_yticks(y, names)
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.set_ylabel("parameter")
    ax.legend(
        frameon=False,
        fontsize="small",
        loc="lower right",
        title="bars: 95% interval",
        title_fontsize="x-small",
    )
    method = "Sobol" if sobol else "Morris"
    set_title(ax, title if title is not None else f"What drives {what} ({method})")
    set_caption(ax, caption_text(n_runs, seed, f"{len(names)} parameters"))
    return ax


def plot_discovery_box(
    prim: pd.DataFrame,
    ax: Axes | None = None,
    *,
    domains: Mapping[str, tuple[float, float]],
    outcome: str | None = None,
    units: Mapping[str, str] | None = None,
    n_runs: int | None = None,
    seed: int | str | None = None,
    title: str | None = None,
    **style: Any,
) -> Axes:
    """The box scenario discovery found: each restricted parameter's range within its domain.

    Each row is a parameter; the grey bar is its whole domain, the coloured bar the
    box's range, both drawn on the domain scaled to [0, 1] and labelled in the
    parameter's own units.

    Parameters
    ----------
    prim
        The PRIM frame: parameter, low, high (NaN or infinite: not restricted on that
        side), coverage, density (and threshold, mass).
    domains
        Each parameter's (min, max): the scenario's bounds or the sweep's range
        (:func:`factor_domains`).
    outcome
        The outcome the box is for, for the title.
    n_runs, seed
        The sweep's runs in all and its root seed, for the caption.
    style
        Passed to :meth:`matplotlib.axes.Axes.barh` for the box bars.
    """
    needed = {"parameter", "low", "high"}
    if not needed <= set(prim.columns):
        raise ValueError(
            f"expected a PRIM frame with columns parameter, low, high; got {list(prim.columns)}"
        )
    missing = [str(p) for p in prim["parameter"] if str(p) not in domains]
    if missing:
        raise ValueError(f"no domain for {', '.join(missing)}; pass domains={{name: (min, max)}}")
    names = prim["parameter"].astype(str).tolist()
    ax = tidy(new_axes(ax, figsize=(7.5, 1.5 + 0.55 * max(len(names), 1))), grid=None)
    y = np.arange(len(names), dtype=float)
    starts, widths = [], []
    for name, given_low, given_high in zip(
        names,
        prim["low"].to_numpy(dtype=float),
        prim["high"].to_numpy(dtype=float),
        strict=True,
    ):
        lo_dom, hi_dom = domains[name]
        span = (hi_dom - lo_dom) or 1.0
        low = lo_dom if not np.isfinite(given_low) else max(float(given_low), lo_dom)
        high = hi_dom if not np.isfinite(given_high) else min(float(given_high), hi_dom)
        starts.append((low - lo_dom) / span)
        widths.append((high - low) / span)
        ax.annotate(
            f"{low:.3g} to {high:.3g}",
            ((high - lo_dom) / span, y[len(starts) - 1]),
            xytext=(5, 0),
            textcoords="offset points",
            va="center",
            fontsize="small",
        )
    ax.barh(y, np.ones(len(names)), color="#E5E5E5", height=0.5, label="whole domain")
    options: dict[str, Any] = {"color": BOX, "height": 0.5}
    options.update(style)
    ax.barh(y, widths, left=starts, label="the box", gid="box", **options)
    ax.set_yticks(
        y, [_label(n, units) + f"\n[{domains[n][0]:g}, {domains[n][1]:g}]" for n in names]
    )
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.set_xlim(0, 1.25)
    ax.set_xticks([0, 0.5, 1], ["min", "middle", "max"])
    ax.spines["bottom"].set_bounds(0, 1)
    ax.set_xlabel("position within the parameter's domain")
    ax.legend(
        handles=[Patch(color="#E5E5E5", label="whole domain"), Patch(color=BOX, label="the box")],
        frameon=False,
        fontsize="small",
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),
        ncols=2,
    )
    what = outcome.replace("_", " ") if outcome else "the outcome"
    stats = []
    for column, label in (("coverage", "coverage"), ("density", "density")):
        if column in prim.columns and prim[column].notna().any():
            stats.append(f"{label} {100 * float(prim[column].iloc[0]):.0f}%")
    set_title(ax, title if title is not None else f"Where {what} happens: the discovered box")
    set_caption(ax, caption_text(n_runs, seed, ", ".join(stats)))
    return ax
