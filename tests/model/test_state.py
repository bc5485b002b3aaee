"""The block state: the observation tracker's last acts, the spells of boolean variables."""

from __future__ import annotations

import numpy as np
import pytest

from escalation.model.compiler import ObservationKey, Requirements
from escalation.model.state import BlockState, ObservationTracker

KEY = ObservationKey("a", "attack", "b", None)


def _requirements() -> Requirements:
    requirements = Requirements()
    requirements.need(KEY, 3, "count")
    requirements.causes.add(KEY)
    return requirements


@pytest.mark.parametrize(
    ("largest_id", "dtype"),
    [(0, np.int32), (2**31 - 2, np.int32), (2**31 - 1, np.int64), (10**12, np.int64)],
)
def test_causes_take_32_bits_while_every_id_fits(largest_id: int, dtype: type) -> None:
    tracker = ObservationTracker(_requirements(), 5, largest_id=largest_id)
    assert tracker.causes.dtype == dtype
    assert tracker.causes.shape == (1, 5, 4)
    # No act seen yet: no event, a chain of length 0, no root, no author.
    assert tracker.causes[0].tolist() == [[-1, 0, -1, -1]] * 5


def test_spells_of_boolean_variables_match_a_day_by_day_count() -> None:
    # Three boolean variables (rows 2, 0 and 3 of four) toggled at random in 50 runs
    # for 40 days, against counters kept by hand for every day.
    gen = np.random.default_rng(7)
    n, days = 50, 40
    names = ("x", "flag", "truce")
    values = np.zeros((4, n))
    rows = {"flag": 0, "level": 1, "x": 2, "truce": 3}
    values[[2, 0, 3]] = gen.random((3, n)) < 0.5
    state = BlockState(
        n=n,
        params={},
        variables={name: values[row] for name, row in rows.items()},
        tracker=ObservationTracker(Requirements(), n),
        ladder_size=1,
        boolean_variables=names,
        rows=rows,
        values=values,
    )
    on = {name: values[rows[name]] != 0 for name in names}
    current = {name: np.zeros(n, dtype=np.int64) for name in names}
    total = {name: np.zeros(n, dtype=np.int64) for name in names}
    count = {name: on[name].astype(np.int64) for name in names}
    first = {name: np.where(on[name], 0.0, np.inf) for name in names}
    ended = []
    for day in range(days):
        for name in names:
            assert state.spell_length[name].tolist() == current[name].tolist()
            assert state.days_with[name].tolist() == total[name].tolist()
            assert state.spell_count[name].tolist() == count[name].tolist()
            assert state.first_true[name].tolist() == first[name].tolist()
        # Most days change a few runs; some change none, some change many.
        flips = gen.random((3, n)) < gen.choice([0.0, 0.05, 0.6])
        values[[2, 0, 3]] = np.where(flips, 1 - values[[2, 0, 3]], values[[2, 0, 3]])
        for name in names:
            now = values[rows[name]] != 0
            for run in np.flatnonzero(on[name] & ~now):
                ended.append((run, name, day - current[name][run], current[name][run]))
            count[name] += now & ~on[name]
            first[name][now & np.isinf(first[name])] = day
            current[name] = np.where(now, current[name] + 1, 0)
            total[name] += now
            on[name] = now
        state.close_day(np.zeros(n, dtype=np.int64))
        state.day += 1
    got = [
        (run, names[variable], start, length)
        for variables, runs, starts, lengths in state.ended_spells
        for variable, run, start, length in zip(variables, runs, starts, lengths, strict=True)
    ]
    assert len(got) > 100
    assert sorted(got) == sorted(ended)


def test_days_at_or_above_match_a_day_by_day_count() -> None:
    # Rungs of 30 runs on a ladder of four, for 40 days: most days change a few
    # runs' rung, some none, some many; read every day against counters kept by hand.
    gen = np.random.default_rng(11)
    n, days, ladder = 30, 40, 4
    state = BlockState(
        n=n,
        params={},
        variables={},
        tracker=ObservationTracker(Requirements(), n),
        ladder_size=ladder,
        boolean_variables=(),
    )
    at_rung = np.zeros((ladder, n), dtype=np.int64)
    rung = np.zeros(n, dtype=np.int64)
    highest = np.zeros(n, dtype=np.int64)
    for _day in range(days):
        for level in range(ladder):
            assert state.days_at_or_above(level).tolist() == at_rung[level:].sum(axis=0).tolist()
        assert state.max_rung.tolist() == highest.tolist()
        moves = gen.random(n) < gen.choice([0.0, 0.1, 0.7])
        rung = np.where(moves, gen.integers(0, ladder, n), rung)
        at_rung[rung, np.arange(n)] += 1
        highest = np.maximum(highest, rung)
        state.close_day(rung.copy())
        state.day += 1
    assert state.days_at_or_above(0).tolist() == [days] * n
