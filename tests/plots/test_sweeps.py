"""Sweep figures drawn from hand-built summary and analysis tables."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.container import BarContainer, ErrorbarContainer
from sweep_frames import FACTORS, grid_summary, morris_frame, prim_frame, sobol_frame

from escalation.plots.analysis import plot_discovery_box, plot_sensitivity
from escalation.plots.canvas import caption_of
from escalation.plots.sweeps import (
    factor_columns,
    factor_domains,
    plot_share_heatmap,
    plot_share_vs_parameter,
    pooled_shares,
    sweep_outcomes,
)
from escalation.report_text import wilson_interval


def _bars(ax) -> list[BarContainer]:  # type: ignore[no-untyped-def]
    return [c for c in ax.containers if isinstance(c, BarContainer)]


def test_summary_columns_are_told_apart() -> None:
    summary = grid_summary()
    assert factor_columns(summary) == list(FACTORS)
    assert sweep_outcomes(summary) == ["war", "calm"]
    assert factor_domains(summary) == {FACTORS[0]: (1.0, 10.0), FACTORS[1]: (0.1, 0.9)}


def test_pooled_share_adds_up_the_runs_of_the_other_factors() -> None:
    summary = grid_summary()
    table = pooled_shares(summary, [FACTORS[0]], "war")
    assert len(table) == 10
    assert set(table["points"]) == {5}
    at_one = summary[summary[FACTORS[0]] == 1.0]
    wars = int(round((at_one["share_war"] * at_one["runs"]).sum()))
    low, high = wilson_interval(wars, 1000)
    first = table.iloc[0]
    assert first["runs"] == 1000
    assert first["share"] == pytest.approx(wars / 1000)
    assert (first["low"], first["high"]) == pytest.approx((float(low), float(high)))


def test_share_against_a_parameter(tmp_path) -> None:  # type: ignore[no-untyped-def]
    summary = grid_summary()
    summary.loc[0, "failed"] = True
    ax = plot_share_vs_parameter(summary, FACTORS[0], "war", units={FACTORS[0]: "deaths"}, seed=9)
    (line,) = [line for line in ax.lines if line.get_gid() == "share"]
    expected = pooled_shares(summary[~summary["failed"]], [FACTORS[0]], "war")
    np.testing.assert_allclose(line.get_xdata(), expected[FACTORS[0]])
    np.testing.assert_allclose(line.get_ydata(), 100 * expected["share"])
    # The share rises with the threshold, as the surface the shares were drawn from.
    assert line.get_ydata()[-1] > 80 > 20 > line.get_ydata()[0]
    assert ax.get_xlabel() == "pakistan.strike_threshold (deaths)"
    assert ax.get_ylabel() == "runs ending in war (%)"
    assert caption_of(ax) == "9,800 runs, seed 9, 49 points, pooled over the other factors"


def test_a_sampled_parameter_is_binned() -> None:
    generator = np.random.default_rng(3)
    summary = grid_summary()
    summary[FACTORS[0]] = generator.uniform(0, 10, len(summary))
    ax = plot_share_vs_parameter(summary, FACTORS[0], "war", n_bins=5)
    (line,) = [line for line in ax.lines if line.get_gid() == "share"]
    assert len(line.get_xdata()) <= 5
    assert "(binned)" in ax.get_xlabel()


def test_heatmap_cells_are_the_shares() -> None:
    summary = grid_summary()
    ax = plot_share_heatmap(summary, FACTORS[0], FACTORS[1], "war", seed=9)
    (mesh,) = [c for c in ax.collections if c.get_gid() == "heatmap"]
    cells = np.asarray(mesh.get_array()).reshape(5, 10)
    expected = summary.pivot(index=FACTORS[1], columns=FACTORS[0], values="share_war")
    np.testing.assert_allclose(cells, 100 * expected.to_numpy())
    labels = [t.get_text() for t in ax.texts if t.get_gid() != "caption"]
    assert len(labels) == 50
    assert labels[0] == f"{100 * expected.iloc[0, 0]:.0f}"
    assert ax.get_xlabel() == FACTORS[0]
    assert ax.get_ylabel() == FACTORS[1]
    colourbar = ax.figure.axes[-1]
    assert colourbar.get_ylabel() == "runs ending in war (%)"
    with pytest.raises(ValueError, match="two different factors"):
        plot_share_heatmap(summary, FACTORS[0], FACTORS[0], "war")
    with pytest.raises(ValueError, match="no outcome 'peace'; its outcomes are war, calm"):
        plot_share_heatmap(summary, FACTORS[0], FACTORS[1], "peace")
    with pytest.raises(ValueError, match="no factor 'x'"):
        plot_share_vs_parameter(summary, "x", "war")


def test_sobol_bars_sorted_with_intervals() -> None:
    ax = plot_sensitivity(sobol_frame(), output="share_war", seed=9)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["pakistan.strike_threshold", "p_answer"]
    first, total = _bars(ax)
    assert first.get_label() == "first order S1"
    assert total.get_label() == "total ST"
    np.testing.assert_allclose([p.get_width() for p in first.patches], [0.61, 0.12])
    np.testing.assert_allclose([p.get_width() for p in total.patches], [0.8, 0.2])
    errors = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    segments = errors[1].lines[2][0].get_segments()
    np.testing.assert_allclose([(s[0][0], s[1][0]) for s in segments], [(0.74, 0.86), (0.16, 0.24)])
    assert "Sobol index" in ax.get_xlabel()
    assert "(Sobol)" in ax.get_title(loc="left")


def test_morris_bars() -> None:
    ax = plot_sensitivity(morris_frame(), output="mean_max_rung")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["pakistan.strike_threshold", "p_answer"]
    np.testing.assert_allclose([p.get_width() for p in _bars(ax)[0].patches], [0.5, 0.3])
    assert "elementary effect" in ax.get_xlabel()
    with pytest.raises(ValueError, match="expected a Sobol frame"):
        plot_sensitivity(prim_frame())


def test_discovery_box_within_the_domains() -> None:
    domains = factor_domains(grid_summary())
    ax = plot_discovery_box(prim_frame(), domains=domains, outcome="war", seed=9)
    boxes = _bars(ax)[1]
    # threshold 5.5 to 10 of [1, 10]; p_answer unrestricted below, up to 0.6 of [0.1, 0.9].
    np.testing.assert_allclose([p.get_x() for p in boxes.patches], [0.5, 0.0])
    np.testing.assert_allclose([p.get_width() for p in boxes.patches], [0.5, 0.625])
    labels = [t.get_text() for t in ax.texts if t.get_gid() != "caption"]
    assert labels == ["5.5 to 10", "0.1 to 0.6"]
    assert caption_of(ax) == "seed 9, coverage 62%, density 91%"
    with pytest.raises(ValueError, match="no domain for p_answer"):
        plot_discovery_box(prim_frame(), domains={FACTORS[0]: (1, 10)})
