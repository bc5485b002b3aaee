"""A sweep folder on disk: its manifest, the parts written as points finish, the final tables.

::

    manifest.json      provenance; "status" running, interrupted or complete
    points.parquet     the design: point, one column per factor
    parts/             while running: point-NNNNNN.parquet (its runs) or
                       point-NNNNNN.error.json (the error it raised)
    runs.parquet       when complete: every run (point, replicate, metrics)
    summary.parquet    when complete: per point, outcome shares and metric quantiles
    analysis/          what ``escalation analyze`` writes

Every file is written through a temporary sibling and an atomic rename, so a
sweep killed at any moment leaves only whole files behind.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import json
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from escalation.experiments.experiment import SweepSpec
from escalation.experiments.summary import failed_row, point_summary, summary_frame
from escalation.files import MANIFEST
from escalation.model.record import UNCLASSIFIED
from escalation.store import ResultsExistError, read_manifest, read_table

__all__ = [
    "MANIFEST",
    "PARTS",
    "SweepError",
    "SweepResults",
    "clear_folder",
    "consolidate",
    "differences",
    "failure_path",
    "locked",
    "normal_json",
    "parquet_bytes",
    "part_path",
    "read_parquet_bytes",
    "read_sweep",
    "stored_failures",
    "versions",
    "write_analysis",
    "write_parquet",
]

PARTS = "parts"
READ_AHEAD = 2
"""Parts read ahead of the one being summarised when a sweep is consolidated."""

ROW_GROUP_RUNS = 200_000
"""Runs buffered before a row group of runs.parquet is written (bounds memory)."""
SUMMARY_CHUNK = 10_000
"""Points summarised before a row group of summary.parquet is written."""


class SweepError(RuntimeError):
    """The sweep cannot go on (the executor failed); what was written is kept."""


def part_path(folder: Path, point: int) -> Path:
    """Where a finished point's runs wait for the final table."""
    return folder / PARTS / f"point-{point:06d}.parquet"


def failure_path(folder: Path, point: int) -> Path:
    """Where a failed point's error is recorded."""
    return folder / PARTS / f"point-{point:06d}.error.json"


def write_parquet(table: pa.Table | bytes, path: Path) -> None:
    """Write a table, or a Parquet file's bytes (:func:`parquet_bytes`), through a
    temporary sibling and an atomic rename."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if isinstance(table, bytes):
            temporary.write_bytes(table)
        else:
            pq.write_table(table, temporary)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def parquet_bytes(table: pa.Table) -> bytes:
    """A table as the bytes of a Parquet file, the same as :func:`write_parquet` writes.

    A sweep's workers encode each finished point so; the parent only writes it.
    """
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return bytes(sink.getvalue())


def read_parquet_bytes(data: bytes) -> pa.Table:
    """The table of :func:`parquet_bytes`."""
    return pq.read_table(pa.BufferReader(data))


def versions() -> dict[str, str]:
    """The versions of what a sweep's results depend on."""
    from importlib.metadata import version

    from escalation.store import _versions as run_versions

    return {**run_versions(), **{name: version(name) for name in ("scipy", "SALib", "pyarrow")}}


def normal_json(value: Any) -> Any:
    """``value`` as JSON would read it back (tuples as lists), for comparisons."""
    return json.loads(json.dumps(value))


def _stored_identity(manifest: dict[str, Any]) -> dict[str, Any]:
    design = {k: v for k, v in manifest.get("design", {}).items() if k != "table"}
    return {
        "scenario": manifest.get("scenario"),
        "factors": manifest.get("factors"),
        "design": design,
        "runs": manifest.get("runs_per_point"),
        "horizon_days": manifest.get("horizon_days"),
    }


def differences(spec: SweepSpec, manifest: dict[str, Any]) -> list[str]:
    """What makes ``spec`` another experiment than the folder's (the seed only if given)."""
    stored = _stored_identity(manifest)
    wanted = normal_json(spec.identity())
    found = [key for key in wanted if wanted[key] != stored.get(key)]
    if spec.seed is not None and str(spec.seed) != manifest.get("seed"):
        found.append("seed")
    return found


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold the folder's lock: two sweeps never write to one folder at once.

    A POSIX record lock (``lockf``) belongs to this process alone: the pool's
    forked workers do not hold it, so it ends with the process however the process
    ends (a ``kill -9`` included), even while its workers are still winding down.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    handle = open(folder / ".lock", "w")  # held open: the lock lives as long as the handle
    try:
        try:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EACCES, errno.EAGAIN):
                raise
            raise ResultsExistError(f"{folder}: another sweep is writing to this folder") from None
        yield
    finally:
        handle.close()


def clear_folder(folder: Path) -> None:
    """Empty a folder whose lock this process holds (the lock file stays)."""
    for child in folder.iterdir():
        if child.name == ".lock":
            continue
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()


def stored_failures(folder: Path) -> dict[int, str]:
    """The failed points of a complete sweep, with their errors."""
    path = folder / "summary.parquet"
    if not path.exists():
        return {}
    summary = pd.read_parquet(path, columns=["point", "failed", "error"])
    failed = summary[summary["failed"]]
    return {int(p): str(e) for p, e in zip(failed["point"], failed["error"], strict=True)}


class _TableStream:
    """A Parquet file written row group by row group, through a temporary sibling."""

    def __init__(self, path: Path, rows_per_group: int) -> None:
        self.path = path
        self.temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        self.rows_per_group = rows_per_group
        self.writer: pq.ParquetWriter | None = None
        self.buffered: list[pa.Table] = []

    def write(self, table: pa.Table) -> None:
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.temporary, table.schema)
        elif table.schema != self.writer.schema:
            table = table.cast(self.writer.schema)
        self.buffered.append(table)
        if sum(t.num_rows for t in self.buffered) >= self.rows_per_group:
            self.flush()

    def flush(self) -> None:
        if self.writer is not None and self.buffered:
            self.writer.write_table(pa.concat_tables(self.buffered))
            self.buffered.clear()

    def close(self, empty: pa.Table) -> None:
        """Finish the file (``empty`` if nothing was written) and move it into place."""
        self.flush()
        if self.writer is None:
            pq.write_table(empty, self.temporary)
        else:
            self.writer.close()
        os.replace(self.temporary, self.path)

    def discard(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.temporary.unlink(missing_ok=True)


def _metrics(folder: Path, points: pd.DataFrame) -> list[str]:
    """The numeric per-run columns, from the first point that ran."""
    for point in points["point"].tolist():
        part = part_path(folder, point)
        if part.exists():
            schema = pq.read_schema(part)
            return [
                field.name
                for field in schema
                if field.name not in ("point", "replicate")
                and (
                    pa.types.is_integer(field.type)
                    or pa.types.is_floating(field.type)
                    or pa.types.is_boolean(field.type)
                )
            ]
    return []


def consolidate(folder: Path, points: pd.DataFrame, spec: SweepSpec) -> dict[int, str]:
    """Stream the parts into runs.parquet, and each point's summary into summary.parquet.

    A few parts are in memory at a time (the one summarised, the one being written
    and :data:`READ_AHEAD` read ahead), plus a row group of at most about
    :data:`ROW_GROUP_RUNS` runs and :data:`SUMMARY_CHUNK` summary rows.
    """
    outcomes = [o.id for o in spec.scenario.outcomes] + [UNCLASSIFIED]
    metrics = _metrics(folder, points)
    runs = _TableStream(folder / "runs.parquet", ROW_GROUP_RUNS)
    summary = _TableStream(folder / "summary.parquet", SUMMARY_CHUNK)
    rows: list[dict[str, Any]] = []
    failures: dict[int, str] = {}

    def summarise() -> None:
        chunk = summary_frame(rows, points, outcomes, metrics)
        summary.write(pa.Table.from_pandas(chunk, preserve_index=False))
        rows.clear()

    def read(point: int) -> pa.Table | None:
        part = part_path(folder, point)
        return pq.read_table(part) if part.exists() else None

    order = points["point"].tolist()
    try:
        # Three stages at once, in the points' order: two threads read the next parts
        # and append the last one to runs.parquet (pyarrow lets go of the GIL while
        # it does either), while this one summarises the point.
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="consolidate") as pool:
            reads = collections.deque(pool.submit(read, p) for p in order[:READ_AHEAD])
            writing: Future[None] | None = None
            for index, point in enumerate(order):
                table = reads.popleft().result()
                if index + READ_AHEAD < len(order):
                    reads.append(pool.submit(read, order[index + READ_AHEAD]))
                if table is not None:
                    if writing is not None:
                        writing.result()
                    writing = pool.submit(runs.write, table)
                    rows.append(point_summary(table, outcomes, metrics))
                else:
                    record = json.loads(failure_path(folder, point).read_text(encoding="utf-8"))
                    failures[point] = str(record["error"])
                    rows.append(failed_row(point, failures[point]))
                if len(rows) >= SUMMARY_CHUNK:
                    summarise()
            if writing is not None:
                writing.result()
        if rows or summary.writer is None:
            summarise()
        no_runs = pd.DataFrame(
            {
                "point": pd.Series(dtype="int64"),
                "replicate": pd.Series(dtype="int64"),
                "outcome": pd.Categorical([], categories=outcomes),
            }
        )
        runs.close(pa.Table.from_pandas(no_runs, preserve_index=False))
        summary.close(pa.Table.from_pandas(summary_frame([], points, outcomes, metrics)))
    except BaseException:
        runs.discard()
        summary.discard()
        raise
    return failures


@dataclass(frozen=True)
class SweepResults:
    """A complete sweep read back: manifest, design and per-point summary.

    ``runs()`` reads the (possibly large) table of every run, or some columns of it.
    """

    folder: Path
    manifest: dict[str, Any]
    points: pd.DataFrame
    summary: pd.DataFrame

    @property
    def factor_names(self) -> list[str]:
        return [str(f["name"]) for f in self.manifest["factors"]]

    @property
    def seed(self) -> int:
        return int(self.manifest["seed"])

    def runs(self, columns: list[str] | None = None) -> pd.DataFrame:
        return read_table(self.folder / "runs.parquet", columns)


def read_sweep(folder: str | os.PathLike[str]) -> SweepResults:
    """Read a sweep folder; it must be complete.

    Raises
    ------
    FileNotFoundError
        Not a sweep folder.
    ResultsError
        A damaged manifest or table.
    SweepError
        The sweep is not complete (run the same command again to finish it).
    """
    root = Path(folder)
    manifest = read_manifest(root)
    if manifest.get("kind") != "sweep":
        raise FileNotFoundError(
            f"{root}: holds a {manifest.get('kind', 'unknown')!r} result, not a sweep"
        )
    if manifest.get("status") != "complete":
        done = len(list((root / PARTS).glob("point-*"))) if (root / PARTS).exists() else 0
        raise SweepError(
            f"{root}: the sweep is not complete ({done} of {manifest.get('points')} points); "
            "run the same sweep command again to finish it"
        )
    return SweepResults(
        root,
        manifest,
        read_table(root / "points.parquet"),
        read_table(root / "summary.parquet"),
    )


def write_analysis(table: pd.DataFrame, path: str | os.PathLike[str], *, force: bool) -> Path:
    """Write an analysis table atomically; an existing file is replaced only with ``force``.

    Raises
    ------
    ResultsExistError
        ``path`` exists and ``force`` is false.
    """
    target = Path(path)
    if target.exists() and not force:
        raise ResultsExistError(f"{target} exists; pass --force to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    write_parquet(pa.Table.from_pandas(table, preserve_index=False), target)
    return target
