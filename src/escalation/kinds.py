"""The names the command line offers as choices, and its one limit, in a module that
imports nothing.

Building the parser then loads no library; the modules that give each name its
meaning import their lists from here.
"""

from __future__ import annotations

__all__ = ["DESIGNS", "EXECUTORS", "MAX_HORIZON_DAYS", "RUN_KINDS", "SWEEP_KINDS"]

DESIGNS = ("grid", "lhs", "monte_carlo", "sobol", "morris", "table")
"""Experimental designs (:mod:`escalation.experiments.design`)."""

EXECUTORS = ("local", "dask", "serial")
"""Where a sweep's blocks run (:mod:`escalation.experiments.executors`)."""

RUN_KINDS = ("outcomes", "casualties", "rung", "cycles", "survival", "timeline")
"""Figures of a run folder (:mod:`escalation.plots.gallery`)."""

SWEEP_KINDS = ("share", "heatmap", "sensitivity", "discovery")
"""Figures of a sweep folder (:mod:`escalation.plots.gallery`)."""

MAX_HORIZON_DAYS = 36500
"""The longest horizon, a hundred years: of a scenario, a run, a sweep; no delay or
targets window is longer."""
