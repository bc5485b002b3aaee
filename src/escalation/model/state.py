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

    Its sums are rows of `ObservationTracker.sums`, one per sum an expression reads: a
    (window or None for all history, "count" or "casualties") pair, numbered in
    ``rows``; its last act's day is row ``last_row`` of `ObservationTracker.last_days`
    and, for keys a rule's condition reads, its (event id, chain length, chain root,
    perceived actor) row ``cause_row`` of `ObservationTracker.causes`.
    """

    windows: tuple[int, ...]
    rows: dict[tuple[int | None, str], int]
    last_day: FloatArray
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
        # Where a row's values are not all whole numbers, the low parts of its sums
        # (`kernels.record_routes`); their pages are touched only for such rows.
        self.sums_low = np.zeros_like(self.sums)
        self.exact_rows = np.zeros(self.sums.shape[0], dtype=np.uint8)
        offset = 0
        for row, (key, read) in enumerate(zip(recorded, reads, strict=True)):
            self._tracks[key] = _Track(
                windows=tuple(sorted(requirements.windows[key])),
                rows={item: offset + number for number, item in enumerate(read)},
                last_day=self.last_days[row],
                last_row=row,
                cause_row=with_cause.get(key, -1),
            )
            offset += len(read)
        # Per day, the acts that leave a window at its start, in the order they were
        # recorded (`kernels.forget_routes`'s arguments after the sums).
        self._expiring: dict[int, list[_Forget]] = {}
        self._sum_rows: dict[Any, IntArray] = {}
        for alias, canonical in (aliases or {}).items():
            self._tracks.setdefault(alias, self._tracks[canonical])

    @property
    def keys(self) -> Iterable[ObservationKey]:
        return self._tracks.keys()

    def advance(self, day: int) -> None:
        """Drop from each window the acts that fall out of it by the start of ``day``.

        A window's sums lose their acts in the order they were recorded.
        """
        for leaving in self._expiring.pop(day, ()):
            kernels.forget_routes(self.sums, self.sums_low, self.exact_rows, *leaving)

    def track(self, key: ObservationKey) -> _Track:
        """The track of ``key`` (the same for a key and its aliases)."""
        return self._tracks[key]

    def lone_routes(self, tracks: Sequence[_Track]) -> RouteTable:
        """The layout `record_routes` reads for ``tracks`` of a lone observer who sees
        every act (for `record_tracks`)."""
        return self.route_table((0, 0), 0, [(tracks, 1.0, 0, False)])

    def record_tracks(self, routes: RouteTable, day: int, batch: Observed, event_id: int) -> None:
        """Add the acts of ``batch``, observed on ``day``, to the tracks laid out by
        `lone_routes`, in one pass."""
        self.record_routes(
            routes,
            day,
            _NO_IDS,
            event_id,
            batch.by,
            batch.runs,
            batch.counts,
            batch.casualties,
            batch.casualties,
            batch.chain,
            batch.root,
        )

    def record_routes(
        self,
        routes: RouteTable,
        day: int,
        ids: NDArray[np.uint32],
        event_id: int,
        by: int,
        runs: IntArray,
        counts: FloatArray,
        deaths: FloatArray,
        heard: FloatArray,
        chain: IntArray,
        root: IntArray,
    ) -> int:
        """Record one event's acts (in ``runs``, run ids ``ids``, by actor ``by``) as
        each observer of ``routes`` sees them: their counts, their dead (``heard``:
        as third parties hear of them), chains and roots.  The observers that may miss
        an act draw whether they see it, as `kernels.keep_seen` does.  Returns the
        Philox calls made.
        """
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
            *routes.rows,
            routes.track_start,
            routes.last_rows,
            routes.cause_rows,
            self.sums,
            self.sums_low,
            self.exact_rows,
            self.last_days,
            self.causes,
        )
        for after, rows in routes.expiry:
            self._expiring.setdefault(day + after, []).append(
                _Forget(seen, runs, counts, deaths, heard, routes.heard, *rows)
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
        tracked = [track for tracks, _, _, _ in observers for track in tracks]
        afters = sorted({w + 1 for track in tracked for w in track.windows})
        return RouteTable(
            key=key,
            family=family,
            missable=np.array([p < 1.0 for _, p, _, _ in observers], dtype=np.uint8),
            detect=np.array([p for _, p, _, _ in observers], dtype=np.float64),
            sites=np.array([site for _, _, site, _ in observers], dtype=np.int64),
            heard=np.array([third for _, _, _, third in observers], dtype=np.uint8),
            rows=_rows_by_observer(observers),
            track_start=_ints(np.cumsum([0] + [len(tracks) for tracks, _, _, _ in observers])),
            last_rows=_ints([track.last_row for track in tracked]),
            cause_rows=_ints([track.cause_row for track in tracked]),
            expiry=[(after, _rows_by_observer(observers, after)) for after in afters],
        )

    def count(self, key: ObservationKey, within: int | None) -> FloatArray:
        return self.sum_row(key, within, "count")

    def sum_row(self, key: ObservationKey, within: int | None, kind: str) -> FloatArray:
        """The running sum of ``kind`` ("count" or "casualties") of ``key``'s acts
        over the last ``within`` days (all days: None)."""
        return self.sums[self._row(key, within, kind)]

    def rows_of(self, summed: Any) -> IntArray:
        """The rows of `sums` that ``summed`` (a compiled sum of running sums: its
        ``reads`` are `sum_row`'s arguments) adds, in its order; looked up once."""
        rows = self._sum_rows.get(summed)
        if rows is None:
            rows = self._sum_rows[summed] = _ints([self._row(*read) for read in summed.reads])
        return rows

    def _row(self, key: ObservationKey, within: int | None, kind: str) -> int:
        return self._tracks[key].rows[(within, kind)]

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


def _ints(values: Any) -> IntArray:
    return np.asarray(values, dtype=np.int64)


_NO_IDS = np.empty(0, dtype=np.uint32)
"""Run ids for observers who see every act: only a draw reads them."""

Rows = tuple[IntArray, IntArray, IntArray, IntArray]
"""Rows of `ObservationTracker.sums` per observer: where each observer's count rows
begin (one more than observers), the count rows, the same for casualty rows."""


def _rows_by_observer(
    observers: Sequence[tuple[Sequence[_Track], float, int, bool]], after: int | None = None
) -> Rows:
    """The rows of each observer's tracks, laid out as `Rows`: all of them, or those of
    the windows its acts leave ``after`` days on."""
    count: list[int] = []
    casualty: list[int] = []
    count_start, casualty_start = [0], [0]
    for tracks, _, _, _ in observers:
        for track in tracks:
            if after is None:
                count += track.count_rows.tolist()
                casualty += track.casualty_rows.tolist()
                continue
            for ends, counted, casualties in track.expiry:
                if ends == after:
                    count += counted.tolist()
                    casualty += casualties.tolist()
        count_start.append(len(count))
        casualty_start.append(len(casualty))
    return _ints(count_start), _ints(count), _ints(casualty_start), _ints(casualty)


class RouteTable(NamedTuple):
    """Observers of one kind of act that never blame another actor, laid out for
    `ObservationTracker.record_routes`: a row each."""

    key: tuple[int, int]
    family: int
    missable: NDArray[np.uint8]
    detect: FloatArray
    sites: IntArray
    heard: NDArray[np.uint8]
    rows: Rows
    """The sums each observer's acts add to."""
    track_start: IntArray
    """Each observer's tracks: ``track_start[q]`` to ``track_start[q + 1]`` in the
    next two."""
    last_rows: IntArray
    cause_rows: IntArray
    expiry: list[tuple[int, Rows]]
    """Per window's end (days after the acts' day): the sums each observer's acts
    leave then."""


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
    days_at_rung: IntArray = field(init=False)
    """Days at each rung (one row per rung, one column per run) before the run's
    current rung: `days_at_or_above` adds the days at that one."""
    rows: dict[str, int] | None = None
    """Each variable's row in ``values``, the array whose rows they are (None: the
    state makes that array, and the variables become its rows)."""
    values: FloatArray | None = None
    spell_length: dict[str, IntArray] = field(init=False)
    """Per boolean variable, the days of its current spell (0 where it is false), as
    of the end of the last day: what `days_true()` reads."""
    spell_count: dict[str, IntArray] = field(init=False)
    """Spells begun so far (one true from the start counts): what `spells()` reads."""
    days_with: dict[str, IntArray] = field(init=False)
    """Days true in all: what `days_with()` reads."""
    first_true: dict[str, FloatArray] = field(init=False)
    """The first day each boolean variable was true (0 if true from the start; inf
    if never)."""
    first_days: dict[tuple[str, str], FloatArray] = field(default_factory=dict)
    ended_spells: list[tuple[IntArray, IntArray, IntArray, IntArray]] = field(default_factory=list)
    """(variable's position in ``boolean_variables``, run, start day, length) of
    every spell of a boolean that ended."""

    def __post_init__(self) -> None:
        n = self.n
        self.rung = np.zeros(n, dtype=np.int64)
        self.max_rung = np.zeros(n, dtype=np.int64)
        self.days_at_rung = np.zeros((self.ladder_size, n), dtype=np.int64)
        self._rung_since = np.full(n, self.day, dtype=np.int64)
        """The first day of each run's current rung."""
        self._changed = np.empty(n, dtype=np.int64)
        self._closed = self.day
        """The day the next `close_day` closes: the days before it are counted."""
        if self.values is None or self.rows is None:
            self.rows = {name: row for row, name in enumerate(self.variables)}
            self.values = np.empty((len(self.rows), n))
            for name, row in self.rows.items():
                self.values[row] = self.variables[name]
                self.variables[name] = self.values[row]
        # The boolean variables' spells: a row per variable of each counter, closed
        # for all of them in one pass a day (`kernels.close_spells`).
        booleans = self.boolean_variables
        self._boolean_rows = np.array([self.rows[name] for name in booleans], dtype=np.int64)
        self._was_on = self.values[self._boolean_rows] != 0
        self._spell_length = np.zeros((len(booleans), n), dtype=np.int64)
        self._spell_count = self._was_on.astype(np.int64)
        self._days_with = np.zeros((len(booleans), n), dtype=np.int64)
        self._first_true = np.where(self._was_on, 0.0, math.inf)
        self.spell_length = dict(zip(booleans, self._spell_length, strict=True))
        self.spell_count = dict(zip(booleans, self._spell_count, strict=True))
        self.days_with = dict(zip(booleans, self._days_with, strict=True))
        self.first_true = dict(zip(booleans, self._first_true, strict=True))

    def first_day(self, key: tuple[str | None, str]) -> FloatArray:
        """Day of the first act of ``action`` (by ``actor``, or by anyone when None)."""
        actor, action = key
        result = np.full(self.n, math.inf)
        for (who, what), days in self.first_days.items():
            if what == action and (actor is None or who == actor):
                result = np.minimum(result, days)
        return result

    def days_at_or_above(self, level: int) -> IntArray:
        """Days each run has spent at rung ``level`` or above, to the end of the last
        day closed."""
        current = np.where(self.rung >= level, self._closed - self._rung_since, 0)
        return self.days_at_rung[level:].sum(axis=0) + current

    def close_day(self, rung_today: IntArray) -> None:
        """End-of-day bookkeeping: rungs reached and the spells of boolean variables
        (a spell starts on a day that begins false and ends true, and ends on a day
        that begins true and ends false).  ``rung_today`` is the day's own array:
        yesterday's, kept as `rung`, tells which runs changed rung."""
        kernels.close_rungs(
            self.days_at_rung,
            self.max_rung,
            self._rung_since,
            self.rung,
            rung_today,
            self.day,
            self._changed,
        )
        self.rung = rung_today
        self._closed = self.day + 1
        if not self.boolean_variables:
            return
        variables, runs, lengths = kernels.close_spells(
            self.values,
            self._boolean_rows,
            self._was_on,
            self._spell_length,
            self._spell_count,
            self._days_with,
            self._first_true,
            float(self.day),
        )
        if runs.size:
            self.ended_spells.append((variables, runs, self.day - lengths, lengths))
