"""Outcome shares: one bar per outcome, as wide as its share, error bars on the interval."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection
from matplotlib.container import BarContainer, ErrorbarContainer

from escalation import SimulationResults
from escalation.plots.canvas import caption_of
from escalation.plots.outcomes import plot_outcome_shares
from escalation.report_text import outcome_table


def _bars(ax) -> list[BarContainer]:  # type: ignore[no-untyped-def]
    return [c for c in ax.containers if isinstance(c, BarContainer)]


def _error_extents(ax) -> list[tuple[float, float]]:  # type: ignore[no-untyped-def]
    """(low, high) of each horizontal error bar, in drawing order."""
    extents = []
    for container in ax.containers:
        if isinstance(container, ErrorbarContainer):
            (segments,) = [c for c in container.lines[2] if isinstance(c, LineCollection)]
            extents += [(s[0][0], s[1][0]) for s in segments.get_segments()]
    return extents


def test_one_bar_per_outcome_with_its_share_and_interval(
    mediated_results: SimulationResults,
) -> None:
    table = outcome_table(mediated_results.runs)
    ax = plot_outcome_shares(table, seed=mediated_results.seed)
    (bars,) = _bars(ax)
    assert len(bars.patches) == len(table)
    widths = [patch.get_width() for patch in bars.patches]
    np.testing.assert_allclose(widths, 100 * table["share"].to_numpy(), rtol=0, atol=1e-9)
    extents = np.array(_error_extents(ax))
    np.testing.assert_allclose(extents[:, 0], 100 * table["low"].to_numpy(), atol=1e-9)
    np.testing.assert_allclose(extents[:, 1], 100 * table["high"].to_numpy(), atol=1e-9)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [o.replace("_", " ") for o in table.index]
    assert "share of runs (%)" in ax.get_xlabel()
    assert ax.get_ylabel() == "outcome"
    assert caption_of(ax) == "600 runs, seed 5"
    shown = [t.get_text() for t in ax.texts if t.get_gid() != "caption"]
    war = table.loc["war"]
    assert f"{100 * war['share']:.1f}%  [{100 * war['low']:.1f}, {100 * war['high']:.1f}]" in shown
    colours = {patch.get_facecolor() for patch in bars.patches}
    assert len(colours) == len(table)


def test_several_scenarios_side_by_side() -> None:
    first = pd.DataFrame(
        {"runs": [30, 70], "share": [0.3, 0.7], "low": [0.22, 0.6], "high": [0.4, 0.78]},
        index=pd.Index(["war", "calm"], name="outcome"),
    )
    second = pd.DataFrame(
        {
            "runs": [10, 10, 80],
            "share": [0.1, 0.1, 0.8],
            "low": [0.05, 0.05, 0.7],
            "high": [0.17, 0.17, 0.87],
        },
        index=pd.Index(["war", "truce", "calm"], name="outcome"),
    )
    ax = plot_outcome_shares(
        {"baseline": first, "mediation": second}, seed={"baseline": 1, "mediation": 1}
    )
    containers = _bars(ax)
    assert [c.get_label() for c in containers] == ["baseline", "mediation"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["baseline", "mediation"]
    # The union of outcomes in first-seen order; a missing outcome draws no bar.
    assert [t.get_text() for t in ax.get_yticklabels()] == ["war", "calm", "truce"]
    widths = [p.get_width() for p in containers[0].patches]
    np.testing.assert_allclose(widths, [30, 70, 0])
    widths = [p.get_width() for p in containers[1].patches]
    np.testing.assert_allclose(widths, [10, 80, 10])
    assert containers[0].patches[0].get_facecolor() != containers[1].patches[0].get_facecolor()
    assert caption_of(ax) == "100 runs each, seed 1"


def test_a_table_without_intervals_is_refused() -> None:
    with pytest.raises(ValueError, match="lacks the column.*low, high"):
        plot_outcome_shares(pd.DataFrame({"runs": [1], "share": [1.0]}, index=["war"]))
