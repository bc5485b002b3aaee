"""Run a sweep: every point of a design, many replicates each, streamed to disk.

The folder's layout is :mod:`escalation.experiments.sweep_folder`'s.  A task is
a block of replicates of one point.  Every point runs the same run ids
(its replicates 0, 1, ...) with the same root seed and ``family`` 0, so the
points share their random numbers (common random numbers): two points differ
only by their parameters, which sharpens the comparison between them.  A run's
random numbers depend on its seed, id and family alone, so the results are the
same on one process, a local pool or a Dask cluster.

A point is written (atomically) as soon as its blocks are in; a sweep started
again in the same folder with the same experiment skips the points written and
finishes, and its results equal an uninterrupted sweep's.  A point whose model
raises is recorded with its error and the sweep goes on.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from escalation import rng
from escalation.errors import ResultsError
from escalation.experiments.design import make_design
from escalation.experiments.executors import ExecutorHandle, SerialExecutor
from escalation.experiments.experiment import SweepSpec
from escalation.experiments.replicates import default_block_size
from escalation.experiments.sweep_folder import (
    MANIFEST,
    PARTS,
    SweepError,
    clear_folder,
    consolidate,
    differences,
    failure_path,
    locked,
    normal_json,
    parquet_bytes,
    part_path,
    read_parquet_bytes,
    stored_failures,
    versions,
    write_parquet,
)
from escalation.files import check_place
from escalation.memory import reuse_large_arrays
from escalation.model.engine import EscalationModel
from escalation.model.plan import Plan, build_plan
from escalation.model.record import UNCLASSIFIED, BlockResult
from escalation.scenario.schema import Scenario
from escalation.store import (
    ResultsExistError,
    atomic_write_text,
    file_sha256,
    read_manifest,
    rng_scheme,
)

__all__ = [
    "SweepError",
    "SweepOutcome",
    "SweepBatch",
    "SweepTask",
    "TaskResult",
    "batch_runs",
    "run_batch",
    "run_sweep",
    "run_task",
    "runs_frame",
]

COMMON_RANDOM_NUMBERS = (
    "run id = replicate, family 0 at every point: the points share their random numbers "
    "(common random numbers); design drawn from SeedSequence(seed, spawn_key=(1,))"
)


@dataclass(frozen=True)
class SweepTask:
    """A block of replicates of one point: what a worker needs to run it."""

    scenario_json: str
    scenario_key: str
    seed: int
    horizon_days: int
    point: int
    parameters: tuple[tuple[str, float], ...]
    start: int
    stop: int


@dataclass(frozen=True)
class SweepBatch:
    """Blocks of several points over the same replicates, advanced by one model.

    Parameters then hold one value per run; results are bit-identical to running
    the points one by one, and the per-day cost of a block is shared.
    """

    tasks: tuple[SweepTask, ...]


@dataclass
class TaskResult:
    """The runs of a block (``point``, ``replicate``, metrics), or the error it raised.

    The runs come as the bytes of a Parquet file (:func:`parquet_bytes`): the worker
    encodes them, so that the process that gathers the points only writes them.
    """

    point: int
    start: int
    stop: int
    part: bytes | None
    error: str | None = None

    @property
    def runs(self) -> pd.DataFrame | None:
        """The runs as a table (decoded from :attr:`part`)."""
        return None if self.part is None else read_parquet_bytes(self.part).to_pandas()


_PLANS: dict[str, tuple[Scenario, Plan]] = {}


def _scenario_plan(task: SweepTask) -> tuple[Scenario, Plan]:
    cached = _PLANS.get(task.scenario_key)
    if cached is None:
        _PLANS.clear()
        scenario = Scenario.model_validate_json(task.scenario_json)
        cached = _PLANS[task.scenario_key] = (scenario, build_plan(scenario))
    return cached


def runs_frame(block: BlockResult, point: int) -> pd.DataFrame:
    """A block's runs as a table: ``point``, ``replicate``, ``outcome``, then the metrics.

    The columns are those of :attr:`SimulationResults.runs`, ``run`` named
    ``replicate``; a day never reached is NaN.
    """
    columns = dict(block.columns)
    index = np.asarray(columns.pop("outcome_index"), dtype=np.int64)
    frame = pd.DataFrame(
        {
            "point": np.full(block.run_ids.size, point, dtype=np.int64),
            "replicate": block.run_ids.astype(np.int64),
            "outcome": pd.Categorical.from_codes(
                index, categories=pd.Index([*block.outcome_names, UNCLASSIFIED])
            ),
            **columns,
        }
    )
    for name in frame.columns:
        if name.endswith("_day") and frame[name].dtype.kind == "f":
            frame[name] = frame[name].replace(np.inf, np.nan)
    return frame


def run_batch(batch: SweepBatch) -> list[TaskResult]:
    """Run a batch of point blocks in one model; a point that fails is isolated.

    If the shared block raises, each point is run alone, so only the failing
    points are recorded as failures.
    """
    reuse_large_arrays()
    tasks = batch.tasks
    if len(tasks) == 1:
        return [run_task(tasks[0])]
    first = tasks[0]
    width = first.stop - first.start
    try:
        scenario, plan = _scenario_plan(first)
        names = [name for name, _ in first.parameters]
        parameters = {
            name: np.repeat([dict(task.parameters)[name] for task in tasks], width)
            for name in names
        }
        model = EscalationModel(
            scenario,
            run_ids=np.tile(np.arange(first.start, first.stop), len(tasks)),
            seed=first.seed,
            horizon_days=first.horizon_days,
            family=0,
            parameters=parameters,
            plan=plan,
        )
        try:
            block = model.run()
        finally:
            model.release()
    except Exception:
        return [run_task(task) for task in tasks]
    frame = runs_frame(block, 0)
    frame["point"] = np.repeat([task.point for task in tasks], width)
    # One conversion for the batch; each point's part is a slice of it.
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return [
        TaskResult(
            task.point, task.start, task.stop, parquet_bytes(table.slice(index * width, width))
        )
        for index, task in enumerate(tasks)
    ]


def run_task(task: SweepTask) -> TaskResult:
    """Run one block (in whichever process); a model error is returned, not raised."""
    reuse_large_arrays()
    try:
        scenario, plan = _scenario_plan(task)
        model = EscalationModel(
            scenario,
            runs=task.stop - task.start,
            seed=task.seed,
            first_run=task.start,
            horizon_days=task.horizon_days,
            family=0,
            parameters=dict(task.parameters),
            plan=plan,
        )
        try:
            block = model.run()
        finally:
            # run() releases the model from Mesa's registry, unless a run raised:
            # a worker meets thousands of blocks and must not keep any of them.
            model.release()
        table = pa.Table.from_pandas(runs_frame(block, task.point), preserve_index=False)
        return TaskResult(task.point, task.start, task.stop, parquet_bytes(table))
    except Exception as error:
        return TaskResult(
            task.point, task.start, task.stop, None, f"{type(error).__name__}: {error}"
        )


@dataclass
class SweepOutcome:
    """What a call of :func:`run_sweep` did."""

    folder: Path
    seed: int
    points: int
    runs_per_point: int
    skipped: int
    failures: dict[int, str] = field(default_factory=dict)
    seconds: float = 0.0
    already_complete: bool = False


def _sweep_manifest(spec: SweepSpec, folder: Path, force: bool) -> dict[str, Any] | None:
    """The manifest of the sweep a folder holds; None if it holds none (or nothing).

    Reads and writes nothing else, so it can refuse a folder before its lock is
    taken: nothing is ever written into a folder the sweep refuses.

    Raises
    ------
    ResultsExistError
        Without ``force``: the folder holds something that is not a sweep, or
        another sweep than ``spec``, or ``out`` is a file.
    ResultsError
        Without ``force``: the folder's manifest is damaged.
    """
    if not folder.exists():
        return None
    if not folder.is_dir():
        raise ResultsExistError(f"{folder}: exists and is not a folder; choose another --out")
    manifest: dict[str, Any] | None = None
    if (folder / MANIFEST).is_file():
        try:
            manifest = read_manifest(folder)
        except ResultsError as error:
            if not force:
                raise ResultsError(
                    f"{error}; the folder is left as it is: repair the manifest, choose "
                    "another --out, or pass --force to replace the folder"
                ) from None
    existing = [c for c in folder.iterdir() if c.name != ".lock"]
    if manifest is None and _only_a_start(existing):
        existing = []  # a sweep killed before its manifest was written: start it again
    if existing and (manifest is None or manifest.get("kind") != "sweep"):
        if not force:
            raise ResultsExistError(
                f"{folder}: exists and is not a sweep folder; choose another --out or pass "
                "--force to replace it"
            )
        if not (folder / MANIFEST).is_file():
            raise ResultsExistError(
                f"{folder}: holds files but is not a results folder (no {MANIFEST}), so "
                "--force does not replace it; choose another --out"
            )
        manifest = None
    if manifest is not None and not force:
        changed = differences(spec, manifest)
        if changed:
            raise ResultsExistError(
                f"{folder}: holds a different sweep (it differs in: {', '.join(changed)}); "
                "choose another --out, or pass --force to replace it"
            )
    return manifest


def _start(
    spec: SweepSpec,
    folder: Path,
    force: bool,
    command: list[str] | None,
    handle: ExecutorHandle,
) -> tuple[dict[str, Any], pd.DataFrame] | None:
    """Open the folder (its lock held): resume what it holds, or start anew. None: already
    complete."""
    manifest = _sweep_manifest(spec, folder, force)
    if manifest is not None:
        changed = differences(spec, manifest)
        if not changed and not force and manifest.get("status") == "complete":
            return None
        if changed or force:
            manifest = None
    if manifest is None:
        clear_folder(folder)
        seed = rng.fresh_seed() if spec.seed is None else spec.seed
        started = time.perf_counter()
        design = make_design(spec.factors, spec.design, seed, spec.table)
        (folder / PARTS).mkdir()
        write_parquet(
            pa.Table.from_pandas(design.points, preserve_index=False), folder / "points.parquet"
        )
        identity = normal_json(spec.identity())
        manifest = {
            "kind": "sweep",
            "status": "running",
            "versions": versions(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "command": command,
            "seed": str(seed),
            "rng": f"{rng_scheme()}; {COMMON_RANDOM_NUMBERS}",
            "experiment": spec.experiment,
            "scenario": identity["scenario"],
            "factors": identity["factors"],
            "design": {**identity["design"], "table": spec.design.table},
            "points": len(design.points),
            "runs_per_point": spec.runs,
            "horizon_days": spec.horizon_days,
            "inputs": {str(path): file_sha256(path) for path in spec.input_files},
            "timings": {
                "design_seconds": time.perf_counter() - started,
                "simulate_seconds": 0.0,
                "sessions": 0,
            },
        }
    for stale in [*folder.glob(".*.tmp"), *(folder / PARTS).glob(".*.tmp")]:
        stale.unlink()
    manifest["status"] = "running"
    manifest["executor"] = handle.description
    manifest["workers"] = handle.workers
    manifest["timings"]["sessions"] += 1
    if command is not None:
        manifest["command"] = command
    atomic_write_text(folder / MANIFEST, json.dumps(manifest, indent=2))
    return manifest, pd.read_parquet(folder / "points.parquet")


def _only_a_start(entries: list[Path]) -> bool:
    """Whether a folder holds only what a sweep writes before its manifest."""
    names = {entry.name for entry in entries}
    parts = [entry for entry in entries if entry.name == PARTS]
    return (
        bool(names)
        and names <= {"points.parquet", PARTS}
        and not (parts and any(parts[0].iterdir()))
    )


def batch_runs(points: int, runs: int, workers: int) -> int:
    """The runs of each batch when the user names no block size.

    The policy of :func:`~escalation.experiments.replicates.default_block_size` on the
    sweep's runs (a larger block costs less per run; as many blocks as a multiple of
    the workers; about 20,000 runs a block once a sweep has more than 50,000 a
    worker), in whole points: a batch advances several points of ``runs`` replicates
    in one model, or, when a point has more runs than a block, a point runs in equal
    blocks.
    """
    points = max(1, points)
    size = default_block_size(points * runs, workers)
    if runs >= size:
        return math.ceil(runs / math.ceil(runs / size))
    batches = math.ceil(points * runs / size)
    return math.ceil(points / batches) * runs


def _batches(
    spec: SweepSpec, seed: int, points: pd.DataFrame, todo: list[int], block_size: int
) -> Iterator[SweepBatch]:
    """Blocks of replicates, several points to a batch when a point's block is small."""
    per_batch = max(1, block_size // min(block_size, spec.runs))
    pending: list[SweepTask] = []
    for task in _tasks(spec, seed, points, todo, block_size):
        if pending and (task.start, task.stop) != (pending[0].start, pending[0].stop):
            yield SweepBatch(tuple(pending))
            pending = []
        pending.append(task)
        if len(pending) == per_batch:
            yield SweepBatch(tuple(pending))
            pending = []
    if pending:
        yield SweepBatch(tuple(pending))


def _tasks(
    spec: SweepSpec, seed: int, points: pd.DataFrame, todo: list[int], block_size: int
) -> Iterator[SweepTask]:
    scenario_json = spec.scenario.model_dump_json()
    key = hashlib.sha256(scenario_json.encode()).hexdigest()
    names = [f.name for f in spec.factors]
    values = points.set_index("point")[names].to_numpy(dtype=np.float64)
    row = {int(p): i for i, p in enumerate(points["point"])}
    for point in todo:
        parameters = tuple((name, float(values[row[point], j])) for j, name in enumerate(names))
        for start in range(0, spec.runs, block_size):
            stop = min(start + block_size, spec.runs)
            yield SweepTask(
                scenario_json, key, seed, spec.horizon_days, point, parameters, start, stop
            )


def _finish_point(
    folder: Path, point: int, results: list[TaskResult], parameters: dict[str, float]
) -> str | None:
    errors = [r.error for r in results if r.error is not None]
    if errors:
        record = {"point": point, "error": errors[0], "parameters": parameters}
        atomic_write_text(failure_path(folder, point), json.dumps(record, indent=2))
        return errors[0]
    ordered = sorted(results, key=lambda r: r.start)  # none failed: each has its part
    if len(ordered) == 1 and ordered[0].part is not None:
        write_parquet(ordered[0].part, part_path(folder, point))
        return None
    # A point run in several blocks: its part is their runs, in order.
    frame = pd.concat([r.runs for r in ordered], ignore_index=True)
    write_parquet(pa.Table.from_pandas(frame, preserve_index=False), part_path(folder, point))
    return None


def run_sweep(
    spec: SweepSpec,
    out: str | os.PathLike[str],
    *,
    executor: ExecutorHandle | None = None,
    block_size: int | None = None,
    force: bool = False,
    command: list[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_start: Callable[[int, int, int], None] | None = None,
) -> SweepOutcome:
    """Run (or resume) a sweep into a folder.

    Parameters
    ----------
    spec
        The experiment (:func:`escalation.experiments.experiment.sweep_spec`).
    out
        The sweep folder.  If it holds the same experiment, the sweep resumes:
        points already written are skipped.  A different experiment there is an
        error unless ``force``, which starts over.
    executor
        Where tasks run (:mod:`escalation.experiments.executors`); None: here.
    block_size
        Replicates per task (at most); results do not depend on it.  None:
        :func:`batch_runs` of the points left to run.
    force
        Replace whatever the folder holds.
    command
        The command line, for the manifest.
    progress
        Called with the runs and the points just finished.
    on_start
        Called once the folder is open, with the points, the points already done
        and the runs per point.

    Returns
    -------
    SweepOutcome

    Raises
    ------
    ResultsExistError
        The folder holds something else, or another sweep is writing to it.
    ResultsError
        The folder's manifest is damaged (and not ``force``).
    SweepError
        The executor failed (a worker died); the points written are kept.
    KeyboardInterrupt
        Passed on once the folder is marked interrupted; run again to resume.
    """
    folder = Path(out)
    handle = executor or ExecutorHandle(SerialExecutor(), 1, "serial (this process)")
    if block_size is not None and block_size < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size}")
    check_place(folder)
    _sweep_manifest(spec, folder, force)  # refuse the folder before writing anything into it
    folder.mkdir(parents=True, exist_ok=True)
    with locked(folder):
        opened = _start(spec, folder, force, command, handle)
        if opened is None:
            # Killed between marking the sweep complete and removing the parts?
            shutil.rmtree(folder / PARTS, ignore_errors=True)
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
            return SweepOutcome(
                folder,
                int(manifest["seed"]),
                int(manifest["points"]),
                spec.runs,
                int(manifest["points"]),
                stored_failures(folder),
                already_complete=True,
            )
        manifest, points = opened
        seed = int(manifest["seed"])
        done = {
            p
            for p in points["point"]
            if part_path(folder, p).exists() or failure_path(folder, p).exists()
        }
        todo = [int(p) for p in points["point"] if p not in done]
        block = block_size or batch_runs(len(todo), spec.runs, handle.workers)
        manifest["block_size"] = block
        atomic_write_text(folder / MANIFEST, json.dumps(manifest, indent=2))
        if on_start is not None:
            on_start(len(points), len(done), spec.runs)
        started = time.perf_counter()
        try:
            _execute(spec, folder, seed, points, todo, block, handle, progress)
        except BaseException:
            manifest["status"] = "interrupted"
            manifest["timings"]["simulate_seconds"] += time.perf_counter() - started
            atomic_write_text(folder / MANIFEST, json.dumps(manifest, indent=2))
            raise
        simulated = time.perf_counter() - started
        timings = manifest["timings"]
        timings["simulate_seconds"] += simulated
        consolidating = time.perf_counter()
        failures = consolidate(folder, points, spec)
        timings["consolidate_seconds"] = time.perf_counter() - consolidating
        total_runs = len(todo) * spec.runs
        timings["last_session_runs_per_second"] = total_runs / simulated if simulated else 0.0
        manifest["status"] = "complete"
        manifest["failed_points"] = len(failures)
        manifest["completed"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        atomic_write_text(folder / MANIFEST, json.dumps(manifest, indent=2))
        shutil.rmtree(folder / PARTS)
    return SweepOutcome(
        folder, seed, len(points), spec.runs, len(done), failures, time.perf_counter() - started
    )


def _execute(
    spec: SweepSpec,
    folder: Path,
    seed: int,
    points: pd.DataFrame,
    todo: list[int],
    block: int,
    handle: ExecutorHandle,
    progress: Callable[[int, int], None] | None,
) -> None:
    blocks_per_point = -(-spec.runs // block)
    names = [f.name for f in spec.factors]
    batches = _batches(spec, seed, points, todo, block)
    window = max(2, 2 * handle.workers)
    running: dict[Future[list[TaskResult]], SweepBatch] = {}
    gathered: dict[int, list[TaskResult]] = {}
    try:
        while True:
            for batch in batches:
                running[handle.executor.submit(run_batch, batch)] = batch
                if len(running) >= window:
                    break
            if not running:
                return
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                batch = running.pop(future)
                try:
                    results = future.result()
                except Exception as error:
                    raise SweepError(
                        f"the executor failed on points {[t.point for t in batch.tasks]} "
                        f"({type(error).__name__}: {error}); run the same command again to "
                        "resume"
                    ) from error
                for task, result in zip(batch.tasks, results, strict=True):
                    gathered.setdefault(task.point, []).append(result)
                    if len(gathered[task.point]) < blocks_per_point:
                        if progress is not None:
                            progress(task.stop - task.start, 0)
                        continue
                    parameters = dict(zip(names, (v for _, v in task.parameters), strict=True))
                    _finish_point(folder, task.point, gathered.pop(task.point), parameters)
                    if progress is not None:
                        progress(task.stop - task.start, 1)
    finally:
        for future in running:
            future.cancel()
