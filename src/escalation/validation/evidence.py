"""What statistics are computed from: the runs table, and the acts of traced runs.

Most targets are statistics of one number per run (the runs table).  Some need
the acts themselves: the days from an attack to the strike that answered it, the
deaths of each border clash.  For those, the first ``traced_runs`` runs are
simulated again as one block that keeps every act; since run ``i``'s randomness is
a function of the seed and ``i`` alone, these are exactly the runs of the table's
first rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from escalation.experiments.replicates import SimulationResults, combine_blocks, run_scenario
from escalation.model.engine import TRACE_COLUMNS, EscalationModel
from escalation.model.plan import Plan
from escalation.model.record import BlockResult
from escalation.scenario.schema import Scenario

__all__ = ["EVENT_COLUMNS", "Evidence", "gather_evidence", "traced_block"]

EVENT_COLUMNS = TRACE_COLUMNS
"""The columns of :attr:`Evidence.events`: one row per act of one kind by one actor a day."""


@dataclass
class Evidence:
    """Simulated runs, as statistics read them.

    Attributes
    ----------
    results
        The runs table, cycles and time series of all runs.
    events
        Every act of the traced runs (columns :data:`EVENT_COLUMNS`), or None when
        no act was traced.  ``cause`` is the ``event_id`` of the act the answering
        rule looked at (-1 for none); ids are unique within a run.
    traced_runs
        The ids of the traced runs (the first runs of the table).
    """

    results: SimulationResults
    events: pd.DataFrame | None
    traced_runs: np.ndarray

    @property
    def horizon_days(self) -> int:
        return self.results.horizon_days


def traced_block(
    scenario: Scenario,
    *,
    runs: int,
    seed: int,
    horizon_days: int | None = None,
    parameters: dict[str, float] | None = None,
    plan: Plan | None = None,
) -> tuple[BlockResult, pd.DataFrame]:
    """Simulate runs ``0 .. runs - 1`` as one block keeping every act.

    Returns
    -------
    block : BlockResult
        The block's metrics, identical to those of an untraced run.
    events : pandas.DataFrame
        One row per act of one kind by one actor on one day in one run.
    """
    model = EscalationModel(
        scenario,
        runs=runs,
        seed=seed,
        horizon_days=horizon_days,
        parameters=parameters,
        trace=True,
        plan=plan,
    )
    block = model.run()
    return block, model.trace_table()


def _without_series(block: BlockResult) -> BlockResult:
    """The block without its daily series, which statistics never read (they are slow to
    tabulate, and a calibration tabulates thousands of blocks)."""
    return replace(block, daily_sums={}, paths={"run_id": block.paths["run_id"][:0]})


def gather_evidence(
    scenario: Scenario,
    *,
    runs: int,
    seed: int,
    traced_runs: int = 0,
    horizon_days: int | None = None,
    parameters: dict[str, float] | None = None,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    plan: Plan | None = None,
) -> Evidence:
    """Simulate ``runs`` runs and trace the first ``traced_runs`` of them.

    On one worker the runs are one block in this process (when every run is traced,
    the traced block gives both the table and the acts); on several they go through
    :func:`run_scenario` and the traced runs are simulated once more, alone.  The
    results hold the rung band but no other daily series.
    """
    traced = min(traced_runs, runs)
    horizon = scenario.horizon_days if horizon_days is None else horizon_days
    events: pd.DataFrame | None = None
    started = time.perf_counter()
    if workers > 1:
        results = run_scenario(
            scenario,
            runs=runs,
            seed=seed,
            horizon_days=horizon,
            workers=workers,
            parameters=parameters,
            path_sample=0,
            progress=progress,
        )
    else:
        if traced == runs:
            block, events = traced_block(
                scenario,
                runs=runs,
                seed=seed,
                horizon_days=horizon,
                parameters=parameters,
                plan=plan,
            )
        else:
            block = EscalationModel(
                scenario,
                runs=runs,
                seed=seed,
                horizon_days=horizon,
                parameters=parameters,
                plan=plan,
            ).run()
        results = combine_blocks(scenario, seed, horizon, [_without_series(block)])
        elapsed = time.perf_counter() - started
        results.timings = {"simulate_seconds": elapsed, "runs_per_second": runs / elapsed}
        results.settings = {
            "runs": runs,
            "horizon_days": horizon,
            "workers": 1,
            "block_size": runs,
            "parameters": dict(parameters or {}),
            "path_sample": 0,
        }
        if progress is not None:
            progress(runs)
    if traced and events is None:
        _, events = traced_block(
            scenario,
            runs=traced,
            seed=seed,
            horizon_days=horizon,
            parameters=parameters,
            plan=plan,
        )
    return Evidence(results, events, np.arange(traced, dtype=np.int64))
