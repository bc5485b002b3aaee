"""Figures of results: ``plot_x(frame, ax=None, **style) -> Axes``, matplotlib's object API only.

Every function draws on the axes given, or on a new figure's, and returns the axes;
none touches pyplot's global state. Axes are labelled with their units, each actor
has one colour in every figure (:mod:`escalation.plots.palette`), and a caption
gives the number of runs and the seed.
"""

from escalation.plots.analysis import plot_discovery_box, plot_sensitivity
from escalation.plots.casualties import plot_casualties
from escalation.plots.cycles import plot_cycle_lengths, plot_cycle_starts
from escalation.plots.outcomes import plot_outcome_shares
from escalation.plots.survival import plot_time_to_truce, plot_truce_duration
from escalation.plots.sweeps import (
    plot_share_heatmap,
    plot_share_vs_parameter,
)
from escalation.plots.timeline import plot_run_timeline, plot_rung_over_time

__all__ = [
    "plot_casualties",
    "plot_cycle_lengths",
    "plot_cycle_starts",
    "plot_discovery_box",
    "plot_outcome_shares",
    "plot_run_timeline",
    "plot_rung_over_time",
    "plot_sensitivity",
    "plot_share_heatmap",
    "plot_share_vs_parameter",
    "plot_time_to_truce",
    "plot_truce_duration",
]
