"""Retaliation cycles: the share of each length, and when they start."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from escalation import SimulationResults
from escalation.plots.canvas import caption_of
from escalation.plots.cycles import plot_cycle_lengths, plot_cycle_starts


def test_length_bars_are_the_shares_of_cycles(mediated_results: SimulationResults) -> None:
    cycles = mediated_results.cycles
    ax = plot_cycle_lengths(cycles, n_runs=600, seed=5)
    shares = cycles["length"].value_counts(normalize=True).sort_index()
    bars = ax.patches
    assert [round(b.get_x() + b.get_width() / 2) for b in bars] == list(shares.index)
    np.testing.assert_allclose([b.get_height() for b in bars], 100 * shares.to_numpy())
    median = [line for line in ax.lines if line.get_label().startswith("median")]
    assert median[0].get_xdata()[0] == cycles["length"].median()
    assert ax.get_xlabel() == "cycle length (blows)"
    assert ax.get_ylabel() == "share of cycles (%)"
    assert caption_of(ax) == f"600 runs, seed 5, {len(cycles):,} cycles"


def test_start_histogram_is_per_run_and_week() -> None:
    cycles = pd.DataFrame({"run": [0, 0, 1, 2], "start_day": [0, 8, 3, 20], "length": [2, 3, 2, 2]})
    ax = plot_cycle_starts(cycles, n_runs=4, horizon_days=21, bin_days=7)
    every, first = ax.patches
    np.testing.assert_allclose(every.get_data().values, [2 / 4, 1 / 4, 1 / 4])
    np.testing.assert_allclose(first.get_data().values, [2 / 4, 0, 1 / 4])
    np.testing.assert_allclose(every.get_data().edges, [0, 7, 14, 21])
    assert ax.get_ylabel() == "cycles starting per run, per 7 days"
    assert ax.get_xlabel() == "day the cycle starts"


def test_a_short_last_bin_is_a_rate_not_a_drop() -> None:
    cycles = pd.DataFrame({"run": [0, 1], "start_day": [1, 14], "length": [2, 2]})
    ax = plot_cycle_starts(cycles, n_runs=1, horizon_days=15, bin_days=7)
    every = ax.patches[0]
    # Days 14-15 are one day of seven: one cycle there is seven per seven days.
    np.testing.assert_allclose(every.get_data().values, [1, 0, 7])


def test_no_cycles_is_said() -> None:
    empty = pd.DataFrame({"run": [], "start_day": [], "length": []}, dtype=int)
    ax = plot_cycle_lengths(empty, n_runs=10)
    assert "no retaliation cycle" in ax.texts[0].get_text()
    with pytest.raises(ValueError, match="no 'start_day' column"):
        plot_cycle_starts(pd.DataFrame({"run": [0]}))
