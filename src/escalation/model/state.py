"""The state of a block of independent runs, held as arrays with one element per run."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from escalation.model.compiler import ObservationKey, Requirements

__all__ = ["BlockState", "ObservationTracker", "Observed"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass
class Observed:
    """A batch of acts as one observer saw them on one day, shared by the keys it feeds.

    Acts that happened in most runs are also held densely (one element per run),
    because whole-array arithmetic is several times cheaper than indexed updates.
    """

    n: int
    runs: IntArray
    counts: FloatArray
    casualties: FloatArray
    chain: IntArray
    root: IntArray
    by: int
    dense_counts: FloatArray | None = None
    uniform_chain: bool = False
    """Whether every act shares one chain length and root (a tempo's acts do)."""
    _dense: tuple[NDArray[np.bool_], FloatArray, FloatArray] | None = None

    @property
    def is_dense(self) -> bool:
        return 3 * self.runs.size > self.n

    def dense(self) -> tuple[NDArray[np.bool_], FloatArray, FloatArray]:
        if self._dense is None:
            if self.dense_counts is not None:
                counts = self.dense_counts
                mask = counts > 0
            else:
                mask = np.zeros(self.n, dtype=bool)
                mask[self.runs] = True
                counts = np.zeros(self.n)
                counts[self.runs] = self.counts
            casualties = np.zeros(self.n)
            casualties[self.runs] = self.casualties
            self._dense = (mask, counts, casualties)
        return self._dense


@dataclass
class _Track:
    """What one observer knows of one kind of act: totals, windows and the last act."""

    windows: tuple[int, ...]
    cause: bool
    total_count: FloatArray
    total_casualties: FloatArray
    last_day: FloatArray
    last_event: IntArray
    last_chain: IntArray
    last_root: IntArray
    last_by: IntArray
    window_count: dict[int, FloatArray] = field(default_factory=dict)
    window_casualties: dict[int, FloatArray] = field(default_factory=dict)
    by_day: dict[int, list[Observed]] = field(default_factory=dict)


class ObservationTracker:
    """Counts of observed acts per observation key, over all history and recent windows.

    ``within=w`` on day ``d`` covers the acts of days ``d - w`` to ``d - 1``: what was
    observed by the start of day ``d``.  A window sum changes only when acts enter
    or leave it, so a key that sees nothing costs nothing on a quiet day.  Only keys
    that a rule's condition reads keep the last act's identity (for causality).
    """

    def __init__(
        self,
        requirements: Requirements,
        n: int,
        aliases: dict[ObservationKey, ObservationKey] | None = None,
    ) -> None:
        self.n = n
        self._tracks: dict[ObservationKey, _Track] = {}
        for key, windows in requirements.windows.items():
            ordered = tuple(sorted(windows))
            cause = key in requirements.causes
            track = _Track(
                windows=ordered,
                cause=cause,
                total_count=np.zeros(n),
                total_casualties=np.zeros(n),
                last_day=np.full(n, -math.inf),
                last_event=np.full(n if cause else 0, -1, dtype=np.int64),
                last_chain=np.zeros(n if cause else 0, dtype=np.int64),
                last_root=np.full(n if cause else 0, -1, dtype=np.int64),
                last_by=np.full(n if cause else 0, -1, dtype=np.int64),
            )
            for window in ordered:
                track.window_count[window] = np.zeros(n)
                track.window_casualties[window] = np.zeros(n)
            self._tracks[key] = track
        self._recorded = tuple(self._tracks)
        for alias, canonical in (aliases or {}).items():
            self._tracks.setdefault(alias, self._tracks[canonical])

    @property
    def keys(self) -> Iterable[ObservationKey]:
        return self._tracks.keys()

    def advance(self, day: int) -> None:
        """Drop from each window the acts that fall out of it by the start of ``day``."""
        for key in self._recorded:
            track = self._tracks[key]
            if not track.by_day:
                continue
            for window in track.windows:
                for batch in track.by_day.get(day - window - 1, ()):
                    _subtract(track.window_count[window], batch, counts=True)
                    _subtract(track.window_casualties[window], batch, counts=False)
            track.by_day.pop(day - track.windows[-1] - 1, None)

    def record(self, key: ObservationKey, day: int, batch: Observed, event_id: int) -> None:
        """Add the acts of ``batch``, observed under ``key`` on ``day``."""
        track = self._tracks[key]
        if batch.is_dense:
            mask, counts, casualties = batch.dense()
            track.total_count += counts
            track.total_casualties += casualties
            np.copyto(track.last_day, day, where=mask)
            for window in track.windows:
                track.window_count[window] += counts
                track.window_casualties[window] += casualties
        else:
            runs = batch.runs
            track.total_count[runs] += batch.counts
            track.total_casualties[runs] += batch.casualties
            track.last_day[runs] = day
            for window in track.windows:
                track.window_count[window][runs] += batch.counts
                track.window_casualties[window][runs] += batch.casualties
        if track.cause:
            if batch.uniform_chain and batch.is_dense:
                mask = batch.dense()[0]
                np.copyto(track.last_event, event_id, where=mask)
                np.copyto(track.last_chain, batch.chain[0], where=mask)
                np.copyto(track.last_root, batch.root[0], where=mask)
                np.copyto(track.last_by, batch.by, where=mask)
            else:
                runs = batch.runs
                track.last_event[runs] = event_id
                track.last_chain[runs] = batch.chain
                track.last_root[runs] = batch.root
                track.last_by[runs] = batch.by
        if track.windows:
            track.by_day.setdefault(day, []).append(batch)

    def count(self, key: ObservationKey, within: int | None) -> FloatArray:
        track = self._tracks[key]
        return track.total_count if within is None else track.window_count[within]

    def casualties(self, key: ObservationKey, within: int | None) -> FloatArray:
        track = self._tracks[key]
        return track.total_casualties if within is None else track.window_casualties[within]

    def last_day(self, key: ObservationKey) -> FloatArray:
        return self._tracks[key].last_day

    def last_cause(
        self, key: ObservationKey
    ) -> tuple[FloatArray, IntArray, IntArray, IntArray, IntArray]:
        """Day, event id, chain length, chain root and perceived actor of the last act."""
        track = self._tracks[key]
        if not track.cause:
            raise KeyError(f"{key} keeps no causes: it is read by no rule's condition")
        return track.last_day, track.last_event, track.last_chain, track.last_root, track.last_by


def _subtract(total: FloatArray, batch: Observed, *, counts: bool) -> None:
    if batch.is_dense:
        _, dense_counts, dense_casualties = batch.dense()
        total -= dense_counts if counts else dense_casualties
    else:
        total[batch.runs] -= batch.counts if counts else batch.casualties


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
    days_at_or_above: list[IntArray] = field(init=False)
    spell_length: dict[str, IntArray] = field(init=False)
    spell_count: dict[str, IntArray] = field(init=False)
    days_true: dict[str, IntArray] = field(init=False)
    first_days: dict[tuple[str, str], FloatArray] = field(default_factory=dict)
    ended_spells: list[tuple[str, IntArray, IntArray, IntArray]] = field(default_factory=list)
    """(variable, runs, start day, length) of every spell of a boolean that ended."""

    def __post_init__(self) -> None:
        n = self.n
        self.rung = np.zeros(n, dtype=np.int64)
        self.max_rung = np.zeros(n, dtype=np.int64)
        self.days_at_or_above = [np.zeros(n, dtype=np.int64) for _ in range(self.ladder_size)]
        self.spell_length = {}
        self.spell_count = {}
        self.days_true = {}
        for name in self.boolean_variables:
            on = self.variables[name] != 0
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
        np.maximum(self.max_rung, rung_today, out=self.max_rung)
        for level in range(1, self.ladder_size):
            self.days_at_or_above[level] += rung_today >= level
        self.days_at_or_above[0] += 1
        for name in self.boolean_variables:
            on = self.variables[name] != 0
            self.days_true[name] += on
            spell = self.spell_length[name]
            ended = np.flatnonzero(previous[name] & ~on)
            if ended.size:
                length = spell[ended].copy()
                self.ended_spells.append((name, ended, self.day - length, length))
            spell *= on
            spell += on
            self.spell_count[name] += on > previous[name]
