"""The state of a block of independent runs, held as arrays with one element per run."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

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
    offset: int = 0
    """Where its ``sums`` begin in `ObservationTracker.sums` (a row numbered ``k``
    here is row ``offset + k`` there)."""

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
        reads = [
            sorted(
                requirements.sums.get(key, ()),
                key=lambda item: (-1 if item[0] is None else item[0], item[1]),
            )
            for key in recorded
        ]
        # Every key's sums in one array, so that one call can record an act for
        # several observers (`record_routes`).
        self.sums = np.zeros((sum(len(read) for read in reads), n))
        offset = 0
        for row, (key, read) in enumerate(zip(recorded, reads, strict=True)):
            cause_row = with_cause.get(key, -1)
            self._tracks[key] = _Track(
                windows=tuple(sorted(requirements.windows[key])),
                rows={item: number for number, item in enumerate(read)},
                sums=self.sums[offset : offset + len(read)],
                last_day=self.last_days[row],
                cause=self.causes[cause_row] if cause_row >= 0 else no_cause,
                last_row=row,
                cause_row=cause_row,
                offset=offset,
            )
            offset += len(read)
        # Per day, what leaves a window at its start, in the order it was recorded:
        # a batch of one track (track, count rows, casualty rows, batch), or the acts
        # of one event as several observers saw them (`record_routes`).
        self._expiring: dict[int, list[Any]] = {}
        for alias, canonical in (aliases or {}).items():
            self._tracks.setdefault(alias, self._tracks[canonical])

    @property
    def keys(self) -> Iterable[ObservationKey]:
        return self._tracks.keys()

    def advance(self, day: int) -> None:
        """Drop from each window the acts that fall out of it by the start of ``day``.

        A window's sums lose their acts in the order they were recorded.
        """
        for entry in self._expiring.pop(day, ()):
            if isinstance(entry, _Forget):
                kernels.forget_routes(self.sums, *entry)
                continue
            track, count_rows, casualty_rows, batch = entry
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

    def record_routes(self, routes: RouteTable, day: int, acts: tuple[Any, ...]) -> int:
        """Record one event's acts as each observer of ``routes`` sees them.

        ``acts`` are the event's (run ids, event id, actor index, runs, counts, dead,
        dead as third parties hear them, chains, roots); the observers that may miss
        an act draw whether they see it, as `kernels.keep_seen` does.  Returns the
        Philox calls made.
        """
        ids, event_id, by, runs, counts, deaths, heard, chain, root = acts
        seen, calls = kernels.record_routes(
            *routes.key,
            ids,
            day,
            routes.family,
            event_id,
            by,
            runs,
            counts,
            deaths,
            heard,
            chain,
            root,
            routes.missable,
            routes.detect,
            routes.sites,
            routes.heard,
            routes.count_start,
            routes.count_rows,
            routes.casualty_start,
            routes.casualty_rows,
            routes.track_start,
            routes.last_rows,
            routes.cause_rows,
            self.sums,
            self.last_days,
            self.causes,
        )
        for after, count_start, count_rows, casualty_start, casualty_rows in routes.expiry:
            self._expiring.setdefault(day + after, []).append(
                _Forget(
                    seen,
                    runs,
                    counts,
                    deaths,
                    heard,
                    routes.heard,
                    count_start,
                    count_rows,
                    casualty_start,
                    casualty_rows,
                )
            )
        return calls

    def route_table(
        self,
        key: tuple[int, int],
        family: int,
        observers: Sequence[tuple[Sequence[_Track], float, int, bool]],
    ) -> RouteTable:
        """The layout `record_routes` reads for one kind of act and its observers:
        each observer's tracks, chance to see the act, draw site, and whether it
        hears of the dead as a third party."""
        count: list[list[int]] = [[], [0]]  # the rows, where each observer's begin
        casualty: list[list[int]] = [[], [0]]
        track_start = [0]
        for tracks, _, _, _ in observers:
            for track in tracks:
                count[0] += (track.offset + track.count_rows).tolist()
                casualty[0] += (track.offset + track.casualty_rows).tolist()
            count[1].append(len(count[0]))
            casualty[1].append(len(casualty[0]))
            track_start.append(track_start[-1] + len(tracks))
        tracked = [track for tracks, _, _, _ in observers for track in tracks]
        expiry = []
        for after in sorted({w + 1 for track in tracked for w in track.windows}):
            count_leaving: list[list[int]] = [[], [0]]
            casualty_leaving: list[list[int]] = [[], [0]]
            for tracks, _, _, _ in observers:
                for track in tracks:
                    for ends, counted, casualties in track.expiry:
                        if ends == after:
                            count_leaving[0] += (track.offset + counted).tolist()
                            casualty_leaving[0] += (track.offset + casualties).tolist()
                count_leaving[1].append(len(count_leaving[0]))
                casualty_leaving[1].append(len(casualty_leaving[0]))
            expiry.append(
                (
                    after,
                    _ints(count_leaving[1]),
                    _ints(count_leaving[0]),
                    _ints(casualty_leaving[1]),
                    _ints(casualty_leaving[0]),
                )
            )
        return RouteTable(
            key=key,
            family=family,
            missable=np.array([p < 1.0 for _, p, _, _ in observers], dtype=np.uint8),
            detect=np.array([p for _, p, _, _ in observers], dtype=np.float64),
            sites=np.array([site for _, _, site, _ in observers], dtype=np.int64),
            heard=np.array([third for _, _, _, third in observers], dtype=np.uint8),
            count_start=_ints(count[1]),
            count_rows=_ints(count[0]),
            casualty_start=_ints(casualty[1]),
            casualty_rows=_ints(casualty[0]),
            track_start=_ints(track_start),
            last_rows=_ints([track.last_row for track in tracked]),
            cause_rows=_ints([track.cause_row for track in tracked]),
            expiry=expiry,
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


def _ints(values: Sequence[int]) -> IntArray:
    return np.array(values, dtype=np.int64)


class RouteTable(NamedTuple):
    """Observers of one kind of act that never blame another actor, laid out for
    `ObservationTracker.record_routes`: a row each, and their rows of the sums as
    runs of ``count_rows`` (``count_start[q]`` to ``count_start[q + 1]``) and of
    ``casualty_rows``."""

    key: tuple[int, int]
    family: int
    missable: NDArray[np.uint8]
    detect: FloatArray
    sites: IntArray
    heard: NDArray[np.uint8]
    count_start: IntArray
    count_rows: IntArray
    casualty_start: IntArray
    casualty_rows: IntArray
    track_start: IntArray
    """Each observer's tracks: ``track_start[q]`` to ``track_start[q + 1]`` in the
    next two."""
    last_rows: IntArray
    cause_rows: IntArray
    expiry: list[tuple[int, IntArray, IntArray, IntArray, IntArray]]
    """Per window's end (days after the acts' day): the rows each observer's acts
    leave then, laid out as above."""


class _Forget(NamedTuple):
    """One event's acts leaving some windows (`kernels.forget_routes`'s arguments
    after the sums)."""

    seen: NDArray[np.uint8]
    runs: IntArray
    counts: FloatArray
    deaths: FloatArray
    heard: FloatArray
    hears: NDArray[np.uint8]
    count_start: IntArray
    count_rows: IntArray
    casualty_start: IntArray
    casualty_rows: IntArray


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
