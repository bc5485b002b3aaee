"""Run many replicates of a scenario, in blocks, on one or several processes.

Run ``i`` draws its random numbers from a counter-based generator keyed by the
root seed and ``i`` alone, so the results never depend on the block size or on
the number of workers: the work is split after the seed is fixed, and a block is
nothing more than a set of run ids.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import importlib
import math
import multiprocessing
import os
import signal
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
from numpy.typing import NDArray

from escalation.kinds import MAX_HORIZON_DAYS
from escalation.memory import release_memory, reuse_large_arrays
from escalation.scenario.schema import Scenario

if TYPE_CHECKING:
    from escalation.model.plan import Plan
    from escalation.model.record import BlockResult
    from escalation.store import StoredTables

# The engine (Mesa, numba and the compiled kernels) is imported where blocks are run
# or their results assembled, not here: reading a results folder
# (`escalation.store.read_results`, for a figure or a report) needs this module's
# tables, not the engine.

__all__ = [
    "BlockTask",
    "RunPlan",
    "SimulationResults",
    "block_tables",
    "block_tasks",
    "combine_blocks",
    "default_workers",
    "default_block_size",
    "iter_blocks",
    "load_engine",
    "plan_runs",
    "pool_context",
    "run_block",
    "run_scenario",
    "timeseries_table",
]

DEFAULT_BLOCK_SIZE = 20000
"""Runs per block of a job too large for one block per worker (`default_block_size`)."""
LARGEST_DEFAULT_BLOCK = 50000
"""The most runs a default block holds: one block per worker up to this size."""
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
_FORK = "fork"
_WARM_UP_DAYS = 30
"""Days of the one-run block a forking pool's parent runs first, to load the kernels."""


@dataclass(frozen=True)
class BlockTask:
    """A block of runs to simulate: everything a worker needs, and nothing else."""

    scenario: Scenario
    seed: int
    start: int
    stop: int
    horizon_days: int
    family: int = 0
    parameters: tuple[tuple[str, float], ...] = ()
    path_sample: int = 0


_PLANS: dict[int, tuple[Scenario, Plan]] = {}


def _cached_plan(scenario: Scenario) -> Plan | None:
    """The plan of ``scenario`` if this process has run a block of it."""
    cached = _PLANS.get(id(scenario))
    return cached[1] if cached is not None and cached[0] is scenario else None


def load_engine() -> None:
    """Import the engine (Mesa, numba, the kernels' module) now: a command that times
    its simulation calls this before it starts the clock."""
    importlib.import_module("escalation.model.engine")


def run_block(task: BlockTask, report: Callable[[int], object] | None = None) -> BlockResult:
    """Simulate one block (in whichever process runs it).

    ``report``, when given, is called after each simulated day with the block's
    number of runs (the run-days just done), for a progress display.
    """
    from escalation.model.engine import EscalationModel
    from escalation.model.plan import build_plan

    reuse_large_arrays()
    plan = _cached_plan(task.scenario)
    if plan is None:
        plan = build_plan(task.scenario)
        _PLANS.clear()
        _PLANS[id(task.scenario)] = (task.scenario, plan)
    model = EscalationModel(
        task.scenario,
        runs=task.stop - task.start,
        seed=task.seed,
        first_run=task.start,
        horizon_days=task.horizon_days,
        family=task.family,
        parameters=dict(task.parameters),
        path_sample=task.path_sample,
        plan=plan,
    )
    runs = task.stop - task.start
    result = model.run(None if report is None else functools.partial(report, runs))
    # The block's arrays are free now; hand their pages back before the next block,
    # so a worker's heap does not keep the high-water mark of every block it ran.
    del model
    release_memory()
    return result


def default_workers() -> int:
    """All the cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def block_tasks(
    scenario: Scenario,
    runs: int,
    seed: int,
    horizon_days: int,
    block_size: int,
    *,
    family: int = 0,
    parameters: dict[str, float] | None = None,
    path_sample: int = 0,
    first_run: int = 0,
) -> list[BlockTask]:
    """Split runs ``first_run`` to ``first_run + runs - 1`` into blocks."""
    if block_size < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size}")
    params = tuple(sorted((parameters or {}).items()))
    return [
        BlockTask(
            scenario,
            seed,
            start,
            min(start + block_size, first_run + runs),
            horizon_days,
            family,
            params,
            path_sample,
        )
        for start in range(first_run, first_run + runs, block_size)
    ]


def process_pool(workers: int, days_done: Any = None) -> ProcessPoolExecutor:
    """A pool of worker processes (forked where the platform allows it: no re-imports).

    ``days_done``, a shared integer (``multiprocessing.Value``), is where the workers
    add the run-days they simulate, as they go.
    """
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=pool_context(),
        initializer=_start_worker,
        initargs=(days_done,),
    )


def pool_context() -> Any:
    """The multiprocessing context of the project's process pools: fork where the
    platform has it (no re-imports in the workers), else spawn."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context(_FORK if _FORK in methods else "spawn")


_WORKER_DAYS: Callable[[int], None] | None = None
"""In a pool's worker, how a block adds its run-days to the parent's count (see
`process_pool`); None elsewhere."""

PROGRESS_INTERVAL = 0.25
"""Seconds between two readings of the workers' count of run-days done."""


def _start_worker(days_done: Any) -> None:
    global _WORKER_DAYS
    # Ctrl-C reaches the whole process group. A worker waiting for a block would
    # print a traceback of its own; one running a block hands the interruption back
    # to the parent as the block's exception (see `_run_block_spooled`).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if days_done is None:
        _WORKER_DAYS = None
        return

    def add(run_days: int) -> None:
        with days_done.get_lock():
            days_done.value += run_days

    _WORKER_DAYS = add


class _Progress:
    """Turns the days simulated so far into runs for a progress callback.

    A block of ``n`` runs advanced by ``d`` of its ``h`` days counts ``n * d / h``
    runs, rounded down over the whole job: the callback is called with the new whole
    runs as they accrue (never more than every `PROGRESS_INTERVAL` seconds while a
    block runs in this process), and the calls sum to the job's runs.
    """

    def __init__(self, callback: Callable[[int], None], tasks: Sequence[BlockTask]) -> None:
        self.callback = callback
        self.runs = sum(task.stop - task.start for task in tasks)
        self.run_days = sum((task.stop - task.start) * task.horizon_days for task in tasks)
        self.reported = 0
        self.finished = 0
        self.days_here = 0
        self.next_report = 0.0

    def update(self, run_days: int) -> None:
        """``run_days`` have been simulated, in all (finished blocks included)."""
        done = max(run_days * self.runs // max(self.run_days, 1), self.finished)
        if done > self.reported:
            self.callback(done - self.reported)
            self.reported = done

    def block_done(self, runs: int) -> None:
        """A block of ``runs`` has arrived (reported in full even without its days)."""
        self.finished += runs
        self.update(0)

    def day_here(self, runs: int) -> None:
        """A block running in this process has simulated one more day of ``runs``."""
        self.days_here += runs
        now = time.monotonic()
        if now >= self.next_report:
            self.next_report = now + PROGRESS_INTERVAL
            self.update(self.days_here)


def _map_blocks(
    tasks: Sequence[BlockTask],
    workers: int,
    executor: Executor | None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[BlockResult]:
    counter = None if progress is None else _Progress(progress, tasks)
    if executor is not None:
        # Another executor's workers (Dask's) share no counter: a block counts when
        # it arrives.
        for block in executor.map(run_block, tasks):
            if counter is not None:
                counter.block_done(block.run_ids.size)
            yield block
        return
    if workers <= 1 or len(tasks) == 1:
        for task in tasks:
            block = run_block(task, None if counter is None else counter.day_here)
            if counter is not None:
                counter.block_done(block.run_ids.size)
            yield block
        return
    first = tasks[0]
    if _FORK in multiprocessing.get_all_start_methods() and _cached_plan(first.scenario) is None:
        # Load the compiled kernels (and the plan) here, once: forked workers then
        # share their pages instead of each loading a copy of its own.  A process
        # that has run a block of this scenario has both already.
        run_block(
            dataclasses.replace(
                first,
                stop=first.start + 1,
                horizon_days=min(first.horizon_days, _WARM_UP_DAYS),
                path_sample=0,
            )
        )
    days_done = None if counter is None else pool_context().Value("q", 0)
    # Objects that exist before the fork are left out of garbage collection while the
    # pool lives: the collector would otherwise write to their pages in every worker,
    # which copies the parent's memory into each of them.
    gc.freeze()
    try:
        with (
            tempfile.TemporaryDirectory(prefix="escalation-blocks-") as spool,
            process_pool(workers, days_done) as pool,
        ):
            # All submitted at once, as `Executor.map` does; taken back in order.
            futures = [pool.submit(_run_block_spooled, task, spool) for task in tasks]
            try:
                for future in futures:
                    block = _result(future, counter, days_done)
                    if counter is not None:
                        counter.block_done(block.run_ids.size)
                    yield block
            finally:
                for future in futures:
                    future.cancel()
    finally:
        gc.unfreeze()


def _result(future: Future[Any], counter: _Progress | None, days_done: Any) -> BlockResult:
    """A pool's block, read back; while waiting for it, the workers' run-days are
    passed on to ``counter`` every `PROGRESS_INTERVAL` seconds."""
    while True:
        try:
            block = future.result(timeout=None if counter is None else PROGRESS_INTERVAL)
        except TimeoutError:
            assert counter is not None
            counter.update(days_done.value)
            continue
        if counter is not None:
            counter.update(days_done.value)
        return _unspool(block) if isinstance(block, _Spooled) else block


_ARRAY_FIELDS = ("columns", "cycles", "spells", "daily_sums", "paths")
"""The fields of a `BlockResult` that map names to arrays."""


@dataclass
class _Spooled:
    """A block's result whose arrays wait in a file, in the order of ``layout``."""

    path: str
    layout: list[tuple[str, str | None, str, tuple[int, ...]]]
    """(field, name in the field's mapping or None for an array field, dtype, shape)."""
    rest: BlockResult
    """The result without those arrays."""


def _run_block_spooled(task: BlockTask, spool: str) -> BlockResult | _Spooled:
    """`run_block` in a pool's worker, handing the result's arrays back through a file
    in ``spool``: for the tens of megabytes of a large block that takes a third of the
    time the pool's pipe and pickling take.  The result itself when the file cannot
    be written (a full disk)."""
    ignored = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        result = run_block(task, _WORKER_DAYS)
    finally:
        signal.signal(signal.SIGINT, ignored)
    path = os.path.join(spool, f"block-{task.start}.bin")
    layout: list[tuple[str, str | None, str, tuple[int, ...]]] = []
    rest: dict[str, Any] = {}
    try:
        with open(path, "wb") as file:
            for name in ("run_ids", "rung_counts"):
                array = np.asarray(getattr(result, name))
                array.tofile(file)
                layout.append((name, None, array.dtype.str, array.shape))
            for name in _ARRAY_FIELDS:
                kept = {}
                for key, value in getattr(result, name).items():
                    if isinstance(value, np.ndarray) and value.dtype.kind != "O":
                        value.tofile(file)
                        layout.append((name, key, value.dtype.str, value.shape))
                    else:
                        kept[key] = value
                rest[name] = kept
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(path)
        return result
    rest["run_ids"] = np.zeros(0, dtype=np.uint32)
    rest["rung_counts"] = np.zeros((0, 0), dtype=np.int64)
    return _Spooled(path, layout, dataclasses.replace(result, **rest))


def _unspool(spooled: _Spooled) -> BlockResult:
    """The block's result, its arrays read back (each its own) and the file removed."""
    arrays: dict[str, Any] = {name: dict(getattr(spooled.rest, name)) for name in _ARRAY_FIELDS}
    try:
        with open(spooled.path, "rb") as file:
            for name, key, dtype, shape in spooled.layout:
                array = np.fromfile(file, dtype=dtype, count=math.prod(shape)).reshape(shape)
                if key is None:
                    arrays[name] = array
                else:
                    arrays[name][key] = array
    finally:
        os.unlink(spooled.path)
    return dataclasses.replace(spooled.rest, **arrays)


SPELL_COLUMNS = ("run", "variable", "start_day", "length", "ended")
"""The columns of a spells table (`SimulationResults.spells`)."""

CYCLE_COLUMNS = ("run", "start_day", "length")
"""The columns of a cycles table (`SimulationResults.cycles`)."""


@dataclass
class SimulationResults:
    """The outcome of a batch of runs, as tables.

    Attributes
    ----------
    runs
        One row per run: its outcome and metrics (casualties true, claimed and
        admitted per actor, rungs, retaliation cycles, first days, spells).
    cycles
        One row per retaliation cycle: its run, the day it started, its length.
    timeseries
        Daily bands across runs (``kind == "band"``) and the full paths of a sample
        of runs (``kind == "path"``), in long form.
    spells
        One row per spell of each boolean world variable (a truce, a closed
        border): its run, variable, start day, length in days, and whether it ended
        before the horizon (``ended`` False: censored).
    """

    scenario: Scenario
    seed: int
    horizon_days: int
    runs: pd.DataFrame
    cycles: pd.DataFrame
    timeseries: pd.DataFrame
    spells: pd.DataFrame = field(default_factory=pd.DataFrame)
    timings: dict[str, float] = field(default_factory=dict)
    draws: int = 0
    settings: dict[str, Any] = field(default_factory=dict)
    stored: StoredTables | None = field(default=None, repr=False)
    """The folder these results were written to, when ``runs`` holds only the run
    ids (large results streamed to disk, or read with ``lazy=True``): the other
    columns, a run's row, the cycles, a variable's spells and a series' rows of the
    time series are read from it when asked."""

    @property
    def n_runs(self) -> int:
        return len(self.runs)

    @property
    def columns(self) -> tuple[str, ...]:
        """The names of the runs table's columns, held in memory or not."""
        if self.stored is not None:
            return self.stored.names
        return tuple(str(name) for name in self.runs.columns)

    def column(self, name: str) -> pd.Series:
        """One column of the runs table, from memory or read from disk."""
        if name in self.runs.columns or self.stored is None:
            return self.runs[name]
        return self.stored.column(name)

    def run_row(self, run: int) -> pd.Series:
        """The row of the runs table of run ``run``, named ``run`` (`KeyError` if there
        is none)."""
        if self.stored is None or len(self.runs.columns) == len(self.stored.names):
            rows = self.runs.loc[self.runs["run"] == run]
        else:
            rows = self.stored.run_rows(run)
        if rows.empty:
            raise KeyError(run)
        return rows.iloc[0].rename(int(run))

    @property
    def has_spells(self) -> bool:
        """Whether the results have every run's spells, in memory or on disk (a folder
        written without ``spells.parquet`` has only the sampled runs' daily paths)."""
        if "variable" in self.spells.columns:
            return True
        return self.stored is not None and self.stored.has_spells

    def spells_of(self, variable: str) -> pd.DataFrame:
        """The spells of one boolean variable, from memory or read from disk (none
        where the results have no spells table)."""
        if "variable" in self.spells.columns:
            return self.spells[self.spells["variable"].astype(str) == variable]
        if self.stored is not None:
            return self.stored.spells(variable)
        return pd.DataFrame(columns=list(SPELL_COLUMNS))

    def cycle_columns(self, *names: str) -> pd.DataFrame:
        """Columns of the cycles table (all of them when none are named), from memory
        or read from disk."""
        wanted = list(names) or list(CYCLE_COLUMNS)
        if self.stored is None or all(name in self.cycles.columns for name in wanted):
            return self.cycles[wanted]
        return self.stored.cycles(wanted)

    def timeseries_of(self, series: str) -> pd.DataFrame:
        """The rows of the time series of one series (its bands and sampled paths),
        from memory or read from disk."""
        if "series" in self.timeseries.columns:
            return self.timeseries[self.timeseries["series"].astype(str) == series]
        if self.stored is not None:
            return self.stored.series(series)
        return self.timeseries

    def outcome_shares(self, confidence: float = 0.95) -> pd.DataFrame:
        """Share of runs per outcome, with Wilson score intervals."""
        from escalation.report_text import RunColumns, outcome_table

        return outcome_table(RunColumns(self), confidence)

    def summary(self) -> str:
        """A readable text summary: outcomes, casualties, cycles."""
        from escalation.report_text import summary_text

        return summary_text(self)


def run_scenario(
    scenario: Scenario,
    *,
    runs: int | None = None,
    seed: int | None = None,
    horizon_days: int | None = None,
    workers: int = 1,
    block_size: int | None = None,
    parameters: dict[str, float] | None = None,
    path_sample: int = 200,
    executor: Executor | None = None,
    progress: Callable[[int], None] | None = None,
) -> SimulationResults:
    """Run a scenario many times and gather the results.

    Parameters
    ----------
    scenario
        A validated scenario (see :func:`escalation.load_scenario`).
    runs, horizon_days
        Default to the scenario's own ``runs`` and ``horizon_days``.
    seed
        The root seed; the scenario's ``seed`` if None, else one drawn from the OS.
        The seed used is in ``results.seed``: record it to reproduce the runs.
    workers
        Processes to use (1: this process).  Results do not depend on it.
    block_size
        Runs advanced together as arrays by one model.  Results do not depend on it.
    parameters
        Values replacing the scenario's named parameters.
    path_sample
        Runs ``0 .. path_sample - 1`` keep their full daily paths.
    executor
        A :class:`concurrent.futures.Executor` to map blocks on (e.g. a Dask client's).
    progress
        Called with the number of runs newly done, as the days are simulated: a
        block's runs count in proportion to the days it has simulated, and the calls
        sum to the runs.  Blocks on another ``executor`` count when they finish.
    """
    plan = plan_runs(
        scenario,
        runs=runs,
        seed=seed,
        horizon_days=horizon_days,
        workers=workers,
        block_size=block_size,
        parameters=parameters,
        path_sample=path_sample,
    )
    load_engine()
    started = time.perf_counter()
    blocks = list(_map_blocks(plan.tasks, workers, executor, progress))
    elapsed = time.perf_counter() - started
    results = combine_blocks(scenario, plan.seed, plan.horizon_days, blocks)
    results.timings = {"simulate_seconds": elapsed, "runs_per_second": plan.runs / elapsed}
    results.settings = plan.settings
    return results


@dataclass(frozen=True)
class RunPlan:
    """What a batch of runs will do: the resolved seed, horizon and blocks."""

    runs: int
    seed: int
    horizon_days: int
    tasks: list[BlockTask]
    settings: dict[str, Any]


def default_block_size(
    runs: int,
    workers: int,
    target: int = DEFAULT_BLOCK_SIZE,
    largest: int = LARGEST_DEFAULT_BLOCK,
) -> int:
    """The runs of each block when the user names no size.

    A job of at most ``largest`` runs per worker runs as one block per worker: a
    larger block costs less per run, as a day's fixed work is shared by more runs (a
    block of 50,000 runs of the reference scenario peaks at about 300 MB).  A larger
    job runs in blocks of about ``target`` runs, so that a long streamed job's memory
    stays bounded: equal blocks, as many as a multiple of ``workers`` so that no
    worker is left running a last block alone.  That rounds down to fewer, larger
    blocks (up to half as large again), else up to more, smaller ones.
    """
    if runs <= workers * largest:
        return math.ceil(runs / workers)
    blocks = math.ceil(runs / target)
    size = math.ceil(runs / (max(1, blocks // workers) * workers))
    if size > target * 3 // 2:
        size = math.ceil(runs / (math.ceil(blocks / workers) * workers))
    return max(1, size)


def plan_runs(
    scenario: Scenario,
    *,
    runs: int | None = None,
    seed: int | None = None,
    horizon_days: int | None = None,
    workers: int = 1,
    block_size: int | None = None,
    parameters: dict[str, float] | None = None,
    path_sample: int = 200,
) -> RunPlan:
    """Resolve defaults and split the runs into blocks (see :func:`run_scenario`)."""
    runs = scenario.runs if runs is None else runs
    if runs < 1:
        raise ValueError(f"runs must be >= 1, got {runs}")
    horizon = scenario.horizon_days if horizon_days is None else horizon_days
    if not 1 <= horizon <= MAX_HORIZON_DAYS:
        raise ValueError(f"horizon_days must be in [1, {MAX_HORIZON_DAYS}], got {horizon}")
    if seed is None:
        from escalation import rng

        seed = scenario.seed if scenario.seed is not None else rng.fresh_seed()
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if block_size is None:
        block_size = default_block_size(runs, workers)
    tasks = block_tasks(
        scenario, runs, seed, horizon, block_size, parameters=parameters, path_sample=path_sample
    )
    settings = {
        "runs": runs,
        "horizon_days": horizon,
        "workers": workers,
        "block_size": block_size,
        "parameters": dict(parameters or {}),
        "path_sample": path_sample,
    }
    return RunPlan(runs, seed, horizon, tasks, settings)


def iter_blocks(
    plan: RunPlan,
    workers: int = 1,
    executor: Executor | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[BlockResult]:
    """The plan's blocks, simulated, in run order (``progress`` as for
    :func:`run_scenario`)."""
    yield from _map_blocks(plan.tasks, workers, executor, progress)


def combine_blocks(
    scenario: Scenario, seed: int, horizon: int, blocks: Sequence[BlockResult]
) -> SimulationResults:
    """Stack the blocks' results (in run order) into tables."""
    if not blocks:
        raise ValueError("no blocks to combine")
    blocks = sorted(blocks, key=lambda block: int(block.run_ids[0]))
    frame, cycles, spells = _tables(blocks)
    timeseries = timeseries_table(blocks, len(frame))
    return SimulationResults(
        scenario=scenario,
        seed=seed,
        horizon_days=horizon,
        runs=frame,
        cycles=cycles,
        timeseries=timeseries,
        spells=spells,
        draws=sum(b.draws for b in blocks),
    )


def block_tables(block: BlockResult) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A block's runs, cycles and spells tables (run ids, days never reached as NaN)."""
    return _tables([block])


def _stacked(parts: list[NDArray[Any]]) -> NDArray[Any]:
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _tables(blocks: Sequence[BlockResult]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The runs, cycles and spells tables of blocks given in run order.

    Each column is stacked once and the frames take the arrays as they are (no
    copy into two-dimensional blocks); nothing a block holds is modified.
    """
    from escalation.model.record import UNCLASSIFIED

    first = blocks[0]
    run_ids = [block.run_ids.astype(np.int64) for block in blocks]
    columns: dict[str, Any] = {
        "run": _stacked(run_ids),
        "outcome": pd.Categorical.from_codes(
            _stacked([np.asarray(b.columns["outcome_index"], dtype=np.int64) for b in blocks]),
            categories=pd.Index([*first.outcome_names, UNCLASSIFIED]),
        ),
    }
    for name in first.columns:
        if name == "outcome_index":
            continue
        values = _stacked([block.columns[name] for block in blocks])
        if name.endswith("_day") and values.dtype.kind == "f":
            values = np.where(values == np.inf, np.nan, values)
        columns[name] = values
    frame = pd.DataFrame(columns, copy=False)
    cycles = pd.DataFrame(
        {
            "run": _stacked(
                [ids[block.cycles["run"]] for ids, block in zip(run_ids, blocks, strict=True)]
            ),
            **{
                name: _stacked([np.asarray(block.cycles[name], dtype=np.int64) for block in blocks])
                for name in ("start_day", "length")
            },
        },
        copy=False,
    )
    return frame, cycles, _spells(blocks, run_ids)


def _spells(blocks: Sequence[BlockResult], run_ids: list[NDArray[np.int64]]) -> pd.DataFrame:
    """The blocks' spells by run, variable and start day, variables by name."""
    from escalation.model.record import name_ranks

    names = blocks[0].spell_variables
    rank = name_ranks(names)
    run = _stacked([ids[block.spells["run"]] for ids, block in zip(run_ids, blocks, strict=True)])
    variable = _stacked([np.asarray(block.spells["variable"], np.int64) for block in blocks])
    start = _stacked([np.asarray(block.spells["start_day"], np.int64) for block in blocks])
    # A block lists a variable's spells in each run in the order they started, so a
    # stable sort on (run, variable) alone is the sort on (run, variable, start):
    # checked, and done in full should it ever not hold.
    key = run * max(len(names), 1) + (rank[variable] if len(names) else variable)
    # Blocks sort their own spells (`BlockResult.spells`), so blocks of ascending run
    # ids, in run order, are sorted already: checked in one pass.
    order: NDArray[np.int64] | None = None
    if np.any(key[1:] < key[:-1]):
        order = np.argsort(key, kind="stable")
    sorted_key, sorted_start = (key, start) if order is None else (key[order], start[order])
    if np.any((sorted_key[1:] == sorted_key[:-1]) & (sorted_start[1:] < sorted_start[:-1])):
        order = np.lexsort((start, key))

    def ordered(values: NDArray[Any]) -> NDArray[Any]:
        return values if order is None else values[order]

    variable = ordered(variable)
    spells = {
        "run": ordered(run),
        "variable": pd.array(
            pa.DictionaryArray.from_arrays(
                pa.array(variable.astype(np.int32)), pa.array(names, type=pa.string())
            ).dictionary_decode(),
            dtype="str",
        ),
        "start_day": ordered(start),
        "length": ordered(_stacked([np.asarray(b.spells["length"], np.int64) for b in blocks])),
        "ended": ordered(_stacked([np.asarray(b.spells["ended"], bool) for b in blocks])),
    }
    return pd.DataFrame(spells, copy=False)


def timeseries_table(blocks: Sequence[BlockResult], n_runs: int) -> pd.DataFrame:
    """Daily bands: exact for the rung (from counts), from the path sample otherwise.

    Columns ``kind``, ``series``, ``day``, ``mean``, ``quantile_sample``, ``q05`` to
    ``q95`` (band rows), then ``run`` and ``value`` (path rows; absent when no run
    keeps its path).  Each column is allocated once: the path rows can number
    millions.
    """
    rung_counts = sum(b.rung_counts for b in blocks)
    assert isinstance(rung_counts, np.ndarray)
    days = np.arange(rung_counts.shape[0])
    n_days = days.size
    levels = np.arange(rung_counts.shape[1])
    cdf = np.cumsum(rung_counts, axis=1) / n_runs
    path_names = [name for name in blocks[0].paths if name != "run_id"]
    # Each series' sampled paths as one (days, runs) array.
    samples = {name: np.concatenate([b.paths[name] for b in blocks], axis=1) for name in path_names}
    path_ids = np.concatenate([b.paths["run_id"] for b in blocks]).astype(np.int64)
    sampled = path_ids.size
    band_names = ["rung", *blocks[0].daily_sums]
    series_names = pd.CategoricalDtype(sorted({*band_names, *path_names}))
    code = {name: position for position, name in enumerate(series_names.categories)}
    quantile_columns = [f"q{round(q * 100):02d}" for q in QUANTILES]
    n_band = len(band_names) * n_days
    n_path = len(path_names) * n_days * sampled
    total = n_band + n_path
    kind = np.zeros(total, dtype=np.int8)
    kind[n_band:] = 1
    series = np.empty(total, dtype=np.int16)
    day = np.empty(total, dtype=np.int64)
    floats = {
        name: np.full(total, np.nan)
        for name in ("mean", "quantile_sample", *quantile_columns, "run", "value")
    }
    for index, name in enumerate(band_names):
        rows = slice(index * n_days, (index + 1) * n_days)
        series[rows] = code[name]
        day[rows] = days
        if name == "rung":
            floats["mean"][rows] = (rung_counts * levels).sum(axis=1) / n_runs
            floats["quantile_sample"][rows] = n_runs
            for q, column in zip(QUANTILES, quantile_columns, strict=True):
                floats[column][rows] = (cdf < q - 1e-12).sum(axis=1)
            continue
        floats["mean"][rows] = sum(b.daily_sums[name] for b in blocks) / n_runs
        floats["quantile_sample"][rows] = sampled
        if not sampled:
            continue
        # All quantiles in one call: one partition of each day's sample, not five.
        for column, values in zip(
            quantile_columns, np.quantile(samples[name], QUANTILES, axis=1), strict=True
        ):
            floats[column][rows] = values
    path_days = np.repeat(days, sampled)
    path_runs = np.tile(path_ids, n_days)
    for index, name in enumerate(path_names):
        start = n_band + index * n_days * sampled
        rows = slice(start, start + n_days * sampled)
        series[rows] = code[name]
        day[rows] = path_days
        floats["run"][rows] = path_runs
        floats["value"][rows] = samples[name].reshape(-1)
    if not n_path:
        # As the bands alone have always been: no path columns, whole sample sizes.
        del floats["run"], floats["value"]
        floats["quantile_sample"] = floats["quantile_sample"].astype(np.int64)
    table: dict[str, Any] = {
        "kind": pd.Categorical.from_codes(kind, dtype=pd.CategoricalDtype(["band", "path"])),
        "series": pd.Categorical.from_codes(series, dtype=series_names),
        "day": day,
        **floats,
    }
    # Without copy=False pandas would gather the float columns into a second block.
    return pd.DataFrame(table, copy=False)
