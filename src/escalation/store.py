"""Results on disk: a folder with a manifest and Parquet tables, written atomically.

A results folder is written whole into a temporary sibling and renamed into
place, so a reader never sees half a folder, and an existing folder is never
replaced unless asked (``force``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import ValidationError

from escalation import __version__
from escalation.errors import ResultsError, ResultsExistError
from escalation.experiments.replicates import (
    SPELL_COLUMNS,
    RunPlan,
    SimulationResults,
    block_tables,
    iter_blocks,
    load_engine,
    timeseries_table,
)
from escalation.files import MANIFEST, as_if_created, check_folder
from escalation.memory import release_memory
from escalation.scenario.schema import Scenario

if TYPE_CHECKING:
    from escalation.model.record import BlockResult

__all__ = [
    "ResultsExistError",
    "StoredTables",
    "atomic_folder",
    "atomic_write_text",
    "check_writable",
    "file_sha256",
    "read_manifest",
    "read_results",
    "rng_scheme",
    "stream_results",
    "write_results",
]

RNG_SCHEME = (
    "Philox4x32-10 counter-based; key from numpy.random.SeedSequence(seed); "
    "counter (run id, day | sub << 16, site, family)"
)
_NEGBIN_SCHEMES = {
    "auto": "negative binomial by inversion below mean 30, gamma-Poisson above",
    "gamma-poisson": "negative binomial by gamma-Poisson mixture",
}


def rng_scheme() -> str:
    """The random-number scheme results are made with now, as manifests record it."""
    from escalation.model import engine

    return f"{RNG_SCHEME}; {_NEGBIN_SCHEMES[engine.NEGBIN_METHOD]}"


def file_sha256(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_writable(out: str | os.PathLike[str], force: bool) -> Path:
    """Fail early, before any work, if ``out`` may not be made or replaced
    (:func:`escalation.files.check_folder`)."""
    return check_folder(out, force)


@contextmanager
def atomic_folder(out: str | os.PathLike[str], force: bool = False) -> Any:
    """Yield a temporary folder that replaces ``out`` when the block ends without error.

    If ``out`` appeared while the block ran and ``force`` is false, nothing is
    replaced: the work is kept in a new sibling folder, which the error names.
    """
    path = check_writable(out, force)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
    try:
        as_if_created(staging, folder=True)
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    old = None
    if path.exists():
        if not force:
            kept = Path(tempfile.mkdtemp(prefix=f"{path.name}.kept-", dir=path.parent))
            os.replace(staging, kept)
            as_if_created(kept, folder=True)
            raise ResultsExistError(
                f"{path}: appeared while the work ran, and is left as it is; the results "
                f"are in {kept}"
            )
        old = path.with_name(f".{path.name}.{os.getpid()}.replaced")
        os.replace(path, old)
    os.replace(staging, path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write a file through a temporary sibling and an atomic rename."""
    target = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        as_if_created(temporary)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _versions() -> dict[str, str]:
    import mesa
    import numba
    import numpy

    return {
        "escalation": __version__,
        "python": sys.version.split()[0],
        "numpy": numpy.__version__,
        "pandas": pd.__version__,
        "mesa": mesa.__version__,
        "numba": numba.__version__,
        "platform": platform.platform(),
    }


def manifest_for(
    results: SimulationResults,
    *,
    command: Sequence[str] | None,
    input_files: Iterable[str | os.PathLike[str]] = (),
    input_hashes: Mapping[str, str] | None = None,
    kind: str = "run",
) -> dict[str, Any]:
    """The provenance of a results folder.

    ``input_hashes`` (path to SHA-256) records inputs hashed when they were read;
    ``input_files`` are hashed now.
    """
    inputs = dict(input_hashes or {})
    inputs.update({str(path): file_sha256(path) for path in input_files})
    return {
        "kind": kind,
        "versions": _versions(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": list(command) if command is not None else None,
        "seed": str(results.seed),
        "rng": rng_scheme(),
        "settings": results.settings,
        "timings": results.timings,
        "random_draws": results.draws,
        "inputs": inputs,
        "scenario": results.scenario.model_dump(mode="json"),
    }


def write_results(
    results: SimulationResults,
    out: str | os.PathLike[str],
    *,
    force: bool = False,
    command: Sequence[str] | None = None,
    input_files: Iterable[str | os.PathLike[str]] = (),
    input_hashes: Mapping[str, str] | None = None,
) -> Path:
    """Write ``manifest.json`` and the tables: runs, cycles, spells, timeseries (Parquet)."""
    manifest = manifest_for(
        results, command=command, input_files=input_files, input_hashes=input_hashes
    )
    with atomic_folder(out, force) as staging:
        results.runs.to_parquet(staging / "runs.parquet", index=False)
        results.cycles.to_parquet(staging / "cycles.parquet", index=False)
        results.timeseries.to_parquet(staging / "timeseries.parquet", index=False)
        results.spells.to_parquet(staging / "spells.parquet", index=False)
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return Path(out)


CYCLES_SCHEMA = pa.schema([("run", pa.int64()), ("start_day", pa.int64()), ("length", pa.int64())])
SPELLS_SCHEMA = pa.schema(
    [
        ("run", pa.int64()),
        ("variable", pa.string()),
        ("start_day", pa.int64()),
        ("length", pa.int64()),
        ("ended", pa.bool_()),
    ]
)
FULL_READ_LIMIT = 100_000
"""Up to this many runs, a streamed run reads its whole runs table back."""


def stream_results(
    scenario: Scenario,
    plan: RunPlan,
    out: str | os.PathLike[str],
    *,
    workers: int = 1,
    executor: Executor | None = None,
    progress: Callable[[int], None] | None = None,
    force: bool = False,
    command: Sequence[str] | None = None,
    input_hashes: Mapping[str, str] | None = None,
) -> SimulationResults:
    """Simulate and write a results folder block by block, in bounded memory.

    Each block's runs, cycles and spells are appended to their Parquet files as it
    finishes; only the small daily aggregates stay in memory.  The folder appears
    whole, atomically, at the end.  The returned results hold the full runs table
    when there are at most :data:`FULL_READ_LIMIT` runs; beyond, only the run ids
    and cycle lengths, and :meth:`SimulationResults.column` reads any other column
    from the folder when asked.
    """
    load_engine()
    started = time.perf_counter()
    light: list[BlockResult] = []
    # Beyond FULL_READ_LIMIT runs the cycle lengths are kept as they stream past,
    # in half the bytes (a chain has at most one blow per act and day, far below
    # 2**31), rather than read back from disk at the end.
    lengths: list[np.ndarray] = []
    with atomic_folder(out, force) as staging:
        writers: dict[str, pq.ParquetWriter] = {}
        schemas = {"cycles": CYCLES_SCHEMA, "spells": SPELLS_SCHEMA}
        try:
            for block in iter_blocks(plan, workers, executor, progress):
                for name, frame in zip(
                    ("runs", "cycles", "spells"), block_tables(block), strict=True
                ):
                    schema = schemas.get(name) or (
                        writers[name].schema if name in writers else None
                    )
                    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
                    if name not in writers:
                        writers[name] = pq.ParquetWriter(staging / f"{name}.parquet", table.schema)
                    writers[name].write_table(table)
                if plan.runs > FULL_READ_LIMIT:
                    lengths.append(np.asarray(block.cycles["length"], dtype=np.int32))
                light.append(dataclasses.replace(block, columns={}, cycles={}, spells={}))
                del block, table, frame
                release_memory()
        finally:
            for writer in writers.values():
                writer.close()
        elapsed = time.perf_counter() - started
        release_memory()
        timeseries = timeseries_table(light, plan.runs)
        timeseries.to_parquet(staging / "timeseries.parquet", index=False)
        results = SimulationResults(
            scenario=scenario,
            seed=plan.seed,
            horizon_days=plan.horizon_days,
            runs=_read_runs(staging / "runs.parquet", plan),
            cycles=(
                pd.read_parquet(staging / "cycles.parquet", columns=["run", "length"])
                if plan.runs <= FULL_READ_LIMIT
                else pd.DataFrame({"length": np.concatenate(lengths, dtype=np.int64)})
            ),
            timeseries=timeseries,
            spells=pd.DataFrame(),
            timings={"simulate_seconds": elapsed, "runs_per_second": plan.runs / elapsed},
            draws=sum(block.draws for block in light),
            settings=plan.settings,
        )
        manifest = manifest_for(results, command=command, input_hashes=input_hashes)
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    if plan.runs > FULL_READ_LIMIT:
        results.stored = StoredTables(out)
    return results


class StoredTables:
    """The tables of a results folder, read a part at a time.

    What a summary, a figure or a replay of a large folder needs is a few columns of
    the runs table, one run's row, the cycles, the spells of one variable or one
    series of the time series: each is read when asked, and the reader's buffers are
    handed back at once.  A folder of a million runs of the reference scenario holds
    about 1 GB of runs table and 0.4 GB of spells once read whole.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.names: tuple[str, ...] = tuple(_schema(self.folder / "runs.parquet").names)
        # A damaged table is said at once, not at the figure that reads it.
        _schema(self.folder / "cycles.parquet")
        _schema(self.folder / "timeseries.parquet")
        spells = self.folder / "spells.parquet"
        self.has_spells = spells.is_file() and _schema(spells).get_field_index("variable") >= 0

    def _read(
        self, table: str, columns: list[str] | None = None, equal: tuple[str, Any] | None = None
    ) -> pd.DataFrame:
        """Columns of a table, or its rows where a column equals a value."""
        filters = None if equal is None else [(equal[0], "==", equal[1])]
        rows = read_table(self.folder / f"{table}.parquet", columns=columns, filters=filters)
        release_memory()
        return rows

    def column(self, name: str) -> pd.Series:
        """One column of the runs table (`KeyError` if it has none of that name)."""
        if name not in self.names:
            raise KeyError(name)
        return self._read("runs", columns=[name])[name]

    def run_rows(self, run: int) -> pd.DataFrame:
        """The rows of the runs table of run ``run`` (one, or none)."""
        return self._read("runs", equal=("run", int(run)))

    def cycles(self, columns: list[str]) -> pd.DataFrame:
        """Columns of the cycles table."""
        return self._read("cycles", columns=columns)

    def series(self, name: str) -> pd.DataFrame:
        """The rows of the time series of one series: its bands and sampled paths."""
        return self._read("timeseries", equal=("series", name))

    def spells(self, variable: str) -> pd.DataFrame:
        """The spells of one boolean variable (none when the folder has no spells)."""
        if not self.has_spells:
            return pd.DataFrame(columns=list(SPELL_COLUMNS))
        return self._read("spells", equal=("variable", variable))


@contextmanager
def _readable(path: Path) -> Iterator[None]:
    """Turn a missing or unreadable table of a results folder into a `ResultsError`
    saying which."""
    if not path.is_file():
        raise ResultsError(f"{path.parent}: damaged results folder, no {path.name}")
    try:
        yield
    except (OSError, ValueError, pa.ArrowException) as error:
        raise ResultsError(f"{path}: damaged, not a readable Parquet table ({error})") from None


def _schema(path: Path) -> pa.Schema:
    with _readable(path):
        return pq.read_schema(path)


def _read_runs(path: Path, plan: RunPlan) -> pd.DataFrame:
    if plan.runs <= FULL_READ_LIMIT:
        return pd.read_parquet(path)
    # The run ids are the plan's, in the order the blocks were written.
    ids = np.concatenate([np.arange(task.start, task.stop, dtype=np.int64) for task in plan.tasks])
    return pd.DataFrame({"run": ids})


def read_manifest(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of a results folder (of any command).

    Raises
    ------
    FileNotFoundError
        ``folder`` has no manifest.
    ResultsError
        The manifest is not a JSON object.
    """
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{folder}: not a results folder (no {MANIFEST})")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ResultsError(f"{path}: damaged, not a JSON manifest ({error})") from None
    if not isinstance(manifest, dict):
        raise ResultsError(f"{path}: damaged, not a JSON manifest (expected an object)")
    return manifest


def read_table(
    path: Path, columns: list[str] | None = None, filters: list[tuple[str, str, Any]] | None = None
) -> pd.DataFrame:
    """A table of a results folder, or a `ResultsError` saying why it cannot be read."""
    with _readable(path):
        if filters is None:
            numbers = _numeric_frame(path, columns)
            if numbers is not None:
                return numbers
        return pd.read_parquet(path, columns=columns, filters=filters)


def _numeric_frame(path: Path, columns: list[str] | None) -> pd.DataFrame | None:
    """A table of numbers and truths with no missing values, read a row group at a
    time into its final arrays; None for any other table.

    The frame is the one `pandas.read_parquet` gives, without its peak: the whole
    Arrow table and the decoded pages beside the frame, about three times the frame
    (a million runs' retaliation cycles, 200 MB, peaked at 600 MB more than the
    process held before).
    """
    table = pq.ParquetFile(path)
    schema = table.schema_arrow
    names = list(schema.names) if columns is None else columns
    fields = [schema.field(name) for name in names]
    if not all(
        pa.types.is_integer(f.type) or pa.types.is_floating(f.type) or pa.types.is_boolean(f.type)
        for f in fields
    ):
        return None
    if table.metadata.num_row_groups == 0:
        return None
    positions = [schema.get_field_index(name) for name in names]
    for group in range(table.metadata.num_row_groups):
        for position in positions:
            statistics = table.metadata.row_group(group).column(position).statistics
            if statistics is None or not statistics.has_null_count or statistics.null_count:
                return None
    arrays = {
        f.name: np.empty(table.metadata.num_rows, dtype=f.type.to_pandas_dtype()) for f in fields
    }
    start = 0
    for group in range(table.metadata.num_row_groups):
        part = table.read_row_group(group, columns=names)
        for name in names:
            arrays[name][start : start + part.num_rows] = part.column(name).to_numpy()
        start += part.num_rows
        del part
    return pd.DataFrame(arrays, copy=False)


def read_results(folder: str | os.PathLike[str], *, lazy: bool = False) -> SimulationResults:
    """Read a results folder written by :func:`write_results`.

    Parameters
    ----------
    folder
        The folder.
    lazy
        Hold only the run ids of the runs table in memory, and none of the cycles,
        spells or time series: :meth:`~SimulationResults.column`,
        :meth:`~SimulationResults.run_row`, :meth:`~SimulationResults.cycle_columns`,
        :meth:`~SimulationResults.spells_of` and
        :meth:`~SimulationResults.timeseries_of` read what they are asked for from
        the folder (:class:`StoredTables`).  What ``escalation report``, ``plot``,
        ``compare`` and ``replay`` do, so that a large folder needs little memory.

    Raises
    ------
    FileNotFoundError
        ``folder`` is not a results folder.
    ResultsError
        It holds another command's results (a sweep, a calibration), or a damaged
        manifest or table.
    """
    manifest = read_manifest(folder)
    root = Path(folder)
    kind = manifest.get("kind", "run")
    if kind != "run":
        raise ResultsError(
            f"{folder}: holds a {kind!r} result, not the runs of one scenario "
            "(the folder `escalation run` writes)"
        )
    try:
        scenario = Scenario.model_validate(manifest["scenario"])
        seed = int(manifest["seed"])
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ResultsError(
            f"{root / MANIFEST}: damaged, its scenario does not validate "
            f"({where}: {first['msg']}; {error.error_count()} problem(s))"
        ) from None
    except (KeyError, TypeError, ValueError) as error:
        raise ResultsError(
            f"{root / MANIFEST}: damaged, no valid scenario and seed ({error!r})"
        ) from None
    settings = manifest.get("settings", {})
    spells = root / "spells.parquet"
    return SimulationResults(
        scenario=scenario,
        seed=seed,
        horizon_days=int(settings.get("horizon_days", scenario.horizon_days)),
        runs=read_table(root / "runs.parquet", columns=["run"] if lazy else None),
        cycles=pd.DataFrame() if lazy else read_table(root / "cycles.parquet"),
        timeseries=pd.DataFrame() if lazy else read_table(root / "timeseries.parquet"),
        # No spells table in memory when lazy, and none at all in a folder written
        # without one: `SimulationResults.has_spells` tells them apart.
        spells=read_table(spells) if spells.is_file() and not lazy else pd.DataFrame(),
        stored=StoredTables(root) if lazy else None,
        timings=manifest.get("timings", {}),
        draws=int(manifest.get("random_draws", 0)),
        settings=settings,
    )
