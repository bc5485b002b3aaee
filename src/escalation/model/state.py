"""The state of a block of independent runs, held as arrays with one element per run."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from escalation.model.compiler import ObservationKey, Requirements

__all__ = ["BlockState", "ObservationTracker"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass
class _Entry:
    day: int
    runs: IntArray
    counts: FloatArray
    casualties: FloatArray
    windows: list[int]


@dataclass
class _Track:
    """What one observer knows of one kind of act: totals, windows and the last act."""

    n: int
    windows: tuple[int, ...]
    total_count: FloatArray
    total_casualties: FloatArray
    last_day: FloatArray
    last_event: IntArray
    last_chain: IntArray
    last_root: IntArray
    last_by: IntArray
    window_count: dict[int, FloatArray] = field(default_factory=dict)
    window_casualties: dict[int, FloatArray] = field(default_factory=dict)
    recent: deque[_Entry] = field(default_factory=deque)


class ObservationTracker:
    """Counts of observed acts per observation key, over all history and recent windows.

    Window sums change only when an act enters or leaves a window, so a key that
    sees nothing costs nothing on a quiet day.  ``within=w`` on day ``d`` covers the
    acts of days ``d - w`` to ``d - 1``: what was observed by the start of day ``d``.
    """

    def __init__(self, requirements: Requirements, n: int) -> None:
        self.n = n
        self._tracks: dict[ObservationKey, _Track] = {}
        for key, windows in requirements.windows.items():
            ordered = tuple(sorted(windows))
            track = _Track(
                n=n,
                windows=ordered,
                total_count=np.zeros(n),
                total_casualties=np.zeros(n),
                last_day=np.full(n, -math.inf),
                last_event=np.full(n, -1, dtype=np.int64),
                last_chain=np.zeros(n, dtype=np.int64),
                last_root=np.full(n, -1, dtype=np.int64),
                last_by=np.full(n, -1, dtype=np.int64),
            )
            for window in ordered:
                track.window_count[window] = np.zeros(n)
                track.window_casualties[window] = np.zeros(n)
            self._tracks[key] = track

    @property
    def keys(self) -> Iterable[ObservationKey]:
        return self._tracks.keys()

    def advance(self, day: int) -> None:
        """Drop from each window the acts that fall out of it by the start of ``day``."""
        for track in self._tracks.values():
            recent = track.recent
            if not recent:
                continue
            for entry in recent:
                kept = []
                for window in entry.windows:
                    if entry.day < day - window:
                        track.window_count[window][entry.runs] -= entry.counts
                        track.window_casualties[window][entry.runs] -= entry.casualties
                    else:
                        kept.append(window)
                entry.windows = kept
            while recent and not recent[0].windows:
                recent.popleft()

    def record(
        self,
        key: ObservationKey,
        day: int,
        runs: IntArray,
        counts: FloatArray,
        casualties: FloatArray,
        event_id: int,
        chain: IntArray,
        root: IntArray,
        by: int | IntArray,
    ) -> None:
        """Add acts observed under ``key`` on ``day`` in ``runs`` (indices into the block)."""
        track = self._tracks[key]
        track.total_count[runs] += counts
        track.total_casualties[runs] += casualties
        track.last_day[runs] = day
        track.last_event[runs] = event_id
        track.last_chain[runs] = chain
        track.last_root[runs] = root
        track.last_by[runs] = by
        if track.windows:
            for window in track.windows:
                track.window_count[window][runs] += counts
                track.window_casualties[window][runs] += casualties
            track.recent.append(_Entry(day, runs, counts, casualties, list(track.windows)))

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
        return track.last_day, track.last_event, track.last_chain, track.last_root, track.last_by


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
            self.spell_length[name] = np.where(on, self.spell_length[name] + 1, 0)
            self.spell_count[name] += on & ~previous[name]
