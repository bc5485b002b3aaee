"""The state of a block of independent runs, held as arrays with one element per run."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from escalation.model import kernels
from escalation.model.compiler import ObservationKey, Requirements

__all__ = ["BlockState", "ObservationTracker", "Observed"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass
class Observed:
    """A batch of acts as one observer saw them on one day, shared by the keys it feeds.

    One element per run where the acts were seen: ``runs`` are distinct.
    """

    runs: IntArray
    counts: FloatArray
    casualties: FloatArray
    chain: IntArray
    root: IntArray
    by: int


@dataclass
class _Track:
    """What one observer knows of one kind of act: the sums read, and the last act.

    ``sums`` has one row per sum an expression reads: a (window or None for all
    history, "count" or "casualties") pair, numbered in ``rows``; ``cause`` holds,
    per run, the last act's (event id, chain length, chain root, perceived actor),
    kept only for keys a rule's condition reads.
    """

    windows: tuple[int, ...]
    rows: dict[tuple[int | None, str], int]
    sums: FloatArray
    last_day: FloatArray
    cause: IntArray
    last_row: int
    """This track's row of `ObservationTracker.last_days`."""
    cause_row: int
    """Its row of `ObservationTracker.causes`, or -1 if it keeps no causes."""

    def __post_init__(self) -> None:
        def numbered(kind: str, windows: Iterable[int | None]) -> IntArray:
            found = [self.rows[(w, kind)] for w in windows if (w, kind) in self.rows]
            return np.array(found, dtype=np.int64)

        every: tuple[int | None, ...] = (None, *self.windows)
        self.count_rows = numbered("count", every)
        self.casualty_rows = numbered("casualties", every)
        # Per window: (days after the acts' day they leave it, its count rows, its
        # casualty rows).
        self.expiry = [
            (w + 1, numbered("count", (w,)), numbered("casualties", (w,))) for w in self.windows
        ]


class ObservationTracker:
    """Sums of observed acts per observation key, over all history and recent windows.

    ``within=w`` on day ``d`` covers the acts of days ``d - w`` to ``d - 1``: what was
    observed by the start of day ``d``.  A window sum changes only when acts enter
    or leave it, so a key that sees nothing costs nothing on a quiet day.  Only the
    sums some expression reads are kept, and only keys that a rule's condition
    reads keep the last act's identity (for causality).
    """

    def __init__(
        self,
        requirements: Requirements,
        n: int,
        aliases: dict[ObservationKey, ObservationKey] | None = None,
        largest_id: int = 0,
    ) -> None:
        self.n = n
        self._tracks: dict[ObservationKey, _Track] = {}
        recorded = list(requirements.windows)
        with_cause = {
            key: row for row, key in enumerate(k for k in recorded if k in requirements.causes)
        }
        # One array for every key's last day and one for the causes, so that a rule
        # can look at all the keys its condition reads in one pass (`cause_sources`).
        self.last_days = np.full((len(recorded), n), -math.inf)
        # Per key and run, the last act's (event id, chain length, chain root,
        # perceived actor): the four a rule reads together, in one cache line.  They
        # are at most ``largest_id`` (a chain has at most one act per event id), so
        # usually fit 32 bits: half the memory of the block's largest table.
        dtype = np.int32 if largest_id < np.iinfo(np.int32).max else np.int64
        self.causes = np.full((len(with_cause), n, 4), -1, dtype=dtype)
        self.causes[:, :, 1] = 0  # chain length; no event, no chain root, no actor
        no_cause = np.empty((0, 4), dtype=dtype)
        for row, key in enumerate(recorded):
            windows = requirements.windows[key]
            ordered = tuple(sorted(windows))
            read = sorted(
                requirements.sums.get(key, ()),
                key=lambda item: (-1 if item[0] is None else item[0], item[1]),
            )
            cause_row = with_cause.get(key, -1)
            self._tracks[key] = _Track(
                windows=ordered,
                rows={item: number for number, item in enumerate(read)},
                sums=np.zeros((len(read), n)),
                last_day=self.last_days[row],
                cause=self.causes[cause_row] if cause_row >= 0 else no_cause,
                last_row=row,
                cause_row=cause_row,
            )
        # Per day, the batches that leave a window at its start: (track, rows, batch).
        self._expiring: dict[int, list[tuple[_Track, IntArray, IntArray, Observed]]] = {}
        for alias, canonical in (aliases or {}).items():
            self._tracks.setdefault(alias, self._tracks[canonical])

    @property
    def keys(self) -> Iterable[ObservationKey]:
        return self._tracks.keys()

    def advance(self, day: int) -> None:
        """Drop from each window the acts that fall out of it by the start of ``day``.

        A window's sums lose their acts in the order they were recorded.
        """
        for track, count_rows, casualty_rows, batch in self._expiring.pop(day, ()):
            kernels.remove_acts(
                track.sums, count_rows, casualty_rows, batch.runs, batch.counts, batch.casualties
            )

    def track(self, key: ObservationKey) -> _Track:
        """The track of ``key`` (the same for a key and its aliases)."""
        return self._tracks[key]

    def record(self, key: ObservationKey, day: int, batch: Observed, event_id: int) -> None:
        """Add the acts of ``batch``, observed under ``key`` on ``day``."""
        self.record_track(self._tracks[key], day, batch, event_id)

    def record_track(self, track: _Track, day: int, batch: Observed, event_id: int) -> None:
        """Add the acts of ``batch`` to ``track`` (see `track`)."""
        kernels.record_acts(
            track.sums,
            track.count_rows,
            track.casualty_rows,
            track.last_day,
            track.cause,
            batch.runs,
            batch.counts,
            batch.casualties,
            float(day),
            event_id,
            batch.chain,
            batch.root,
            batch.by,
        )
        for after, count_rows, casualty_rows in track.expiry:
            self._expiring.setdefault(day + after, []).append(
                (track, count_rows, casualty_rows, batch)
            )

    def count(self, key: ObservationKey, within: int | None) -> FloatArray:
        track = self._tracks[key]
        return track.sums[track.rows[(within, "count")]]

    def casualties(self, key: ObservationKey, within: int | None) -> FloatArray:
        track = self._tracks[key]
        return track.sums[track.rows[(within, "casualties")]]

    def last_day(self, key: ObservationKey) -> FloatArray:
        return self._tracks[key].last_day

    def cause_sources(self, keys: Sequence[ObservationKey]) -> tuple[IntArray, IntArray]:
        """Rows of `last_days` and of `causes` for ``keys``, in order."""
        tracks = [self._tracks[key] for key in keys]
        for key, track in zip(keys, tracks, strict=True):
            if track.cause_row < 0:
                raise KeyError(f"{key} keeps no causes: it is read by no rule's condition")
        return (
            np.array([track.last_row for track in tracks], dtype=np.int64),
            np.array([track.cause_row for track in tracks], dtype=np.int64),
        )


@dataclass
class BlockState:
    """Everything expressions may read, for a block of ``n`` runs on ``day``."""

    n: int
    params: dict[str, float]
    variables: dict[str, FloatArray]
    tracker: ObservationTracker
    ladder_size: int
    boolean_variables: tuple[str, ...]
    day: int = 0
    rung: IntArray = field(init=False)
    max_rung: IntArray = field(init=False)
    days_at_or_above: IntArray = field(init=False)
    """Days at or above each rung (one row per rung, one column per run)."""
    spell_length: dict[str, IntArray] = field(init=False)
    spell_count: dict[str, IntArray] = field(init=False)
    days_true: dict[str, IntArray] = field(init=False)
    first_true: dict[str, FloatArray] = field(init=False)
    """The first day each boolean variable was true (0 if true from the start; inf
    if never)."""
    first_days: dict[tuple[str, str], FloatArray] = field(default_factory=dict)
    ended_spells: list[tuple[str, IntArray, IntArray, IntArray]] = field(default_factory=list)
    """(variable, runs, start day, length) of every spell of a boolean that ended."""

    def __post_init__(self) -> None:
        n = self.n
        self.rung = np.zeros(n, dtype=np.int64)
        self.max_rung = np.zeros(n, dtype=np.int64)
        self.days_at_or_above = np.zeros((self.ladder_size, n), dtype=np.int64)
        self.spell_length = {}
        self.spell_count = {}
        self.days_true = {}
        self.first_true = {}
        for name in self.boolean_variables:
            on = self.variables[name] != 0
            self.first_true[name] = np.where(on, 0.0, math.inf)
            self.spell_length[name] = np.zeros(n, dtype=np.int64)
            self.spell_count[name] = on.astype(np.int64)
            self.days_true[name] = np.zeros(n, dtype=np.int64)

    def first_day(self, key: tuple[str | None, str]) -> FloatArray:
        """Day of the first act of ``action`` (by ``actor``, or by anyone when None)."""
        actor, action = key
        result = np.full(self.n, math.inf)
        for (who, what), days in self.first_days.items():
            if what == action and (actor is None or who == actor):
                result = np.minimum(result, days)
        return result

    def close_day(self, rung_today: IntArray, previous: dict[str, NDArray[np.bool_]]) -> None:
        """End-of-day bookkeeping: rungs reached and the spells of boolean variables."""
        self.rung = rung_today
        kernels.close_rungs(self.days_at_or_above, self.max_rung, rung_today)
        for name in self.boolean_variables:
            ended, length = kernels.close_spell(
                self.variables[name],
                previous[name],
                self.spell_length[name],
                self.spell_count[name],
                self.days_true[name],
                self.first_true[name],
                float(self.day),
            )
            if ended.size:
                self.ended_spells.append((name, ended, self.day - length, length))
