"""The compiled kernels against the NumPy expressions they stand for, bit for bit."""

import math

import numpy as np
import pytest

from escalation import rng
from escalation.model import kernels

N = 257


@pytest.fixture
def gen():
    return np.random.default_rng(20251012)


def _runs(gen, n=N, size=60):
    return np.sort(gen.choice(n, size=size, replace=False)).astype(np.int64)


@pytest.mark.parametrize("add", [False, True])
@pytest.mark.parametrize("scalar", [False, True])
@pytest.mark.parametrize(("low", "high"), [(-np.inf, np.inf), (0.0, 1.0), (-0.5, np.inf)])
def test_apply_effect_matches_numpy(gen, add, scalar, low, high):
    variable = gen.normal(size=N)
    variable[3] = np.nan
    runs = np.concatenate([[3], _runs(gen)[1:]])
    runs = np.unique(runs)
    counts = gen.integers(1, 4, size=runs.size).astype(float)
    value = np.array([0.7]) if scalar else gen.normal(size=runs.size)
    expected = variable.copy()
    updated = expected[runs] + value * counts if add else np.broadcast_to(value, runs.shape)
    expected[runs] = np.clip(updated, low, high)
    kernels.apply_effect(variable, runs, value, counts, add, low, high)
    assert np.array_equal(variable, expected, equal_nan=True)


def test_take_due_continues_only_hostile_chains_of_others(gen):
    actor, event_id = 2, 999
    runs = _runs(gen)
    answered = gen.integers(-1, 6, size=(runs.size, 4))
    ready_day = np.zeros(N, dtype=np.int32)
    chain, root, cause, continued = kernels.take_due(
        answered, runs, actor, event_id, True, ready_day, 17
    )
    events, chains, roots, bys = answered.T
    continues = (chains > 0) & (bys != actor)
    assert continued == np.count_nonzero(chain >= 2) == np.count_nonzero(continues) > 0
    assert np.array_equal(chain, np.where(continues, chains + 1, 1))
    assert np.array_equal(root, np.where(continues, roots, event_id))
    assert np.array_equal(cause, events)
    assert np.all(ready_day[runs] == 17)
    assert np.count_nonzero(ready_day) == runs.size
    chain, root, _, continued = kernels.take_due(
        answered, runs, actor, event_id, False, ready_day, 18
    )
    assert not chain.any()
    assert continued == 0
    assert np.all(root == -1)


def _remember_reference(runs, day, last_days, track_causes, rows, crows, hostile, reach):
    """The latest hostile act in reach, else the latest act in reach, keys in order."""
    answered = np.empty((runs.size, 4), dtype=np.int64)
    for i, r in enumerate(runs):
        seen = [
            (last_days[row, r], j)
            for j, row in enumerate(rows)
            if last_days[row, r] > -np.inf and last_days[row, r] >= day - reach[j]
        ]
        candidates = [item for item in seen if hostile[item[1]]] or seen
        if not candidates:
            answered[i] = (-1, 0, -1, -1)
            continue
        latest = max(seen_day for seen_day, _ in candidates)
        j = min(k for seen_day, k in candidates if seen_day == latest)  # the first key
        event, chain, root, by = track_causes[crows[j], r]
        answered[i] = (event, chain if hostile[j] else 0, root, by)
    return answered


def _tracker_arrays(gen, dtype=np.int64):
    """Three keys' last days (some never seen), the causes of two, which a rule reads:
    a hostile key over a window of 3 days and one that is not, over all history."""
    last_days = np.where(gen.random((3, N)) < 0.3, -np.inf, gen.integers(0, 9, (3, N)))
    track_causes = gen.integers(0, 50, size=(2, N, 4)).astype(dtype)
    reach = np.array([3.0, np.inf])
    return (
        last_days,
        track_causes,
        np.array([2, 0]),
        np.array([1, 0]),
        np.array([1, 0], np.uint8),
        reach,
    )


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_remember_causes_takes_the_latest_hostile_act_looked_at(gen, dtype):
    sources = _tracker_arrays(gen, dtype)
    last_days, track_causes, rows, crows, hostile, reach = sources
    runs, day = _runs(gen), 9
    answered = kernels.remember_causes(runs, day, *sources)
    expected = _remember_reference(runs, day, *sources)
    assert answered.dtype == np.int64
    assert np.array_equal(answered, expected)
    assert np.any(answered[:, 0] == -1)  # a run where no key saw anything
    assert np.any(answered[:, 0] != -1)
    hostile_days, other_days = last_days[2, runs], last_days[0, runs]
    in_reach = hostile_days >= day - 3
    # A hostile act in reach is the answer even where a later act is not hostile ...
    earlier = in_reach & (other_days > hostile_days)
    assert earlier.any()
    assert np.array_equal(answered[earlier, 0], track_causes[1, runs[earlier], 0])
    assert np.array_equal(answered[earlier, 1], track_causes[1, runs[earlier], 1])
    # ... and one out of reach is not, even where it is the latest act.
    stale = ~in_reach & (hostile_days > other_days) & (other_days > -np.inf)
    assert stale.any()
    assert np.array_equal(answered[stale, 0], track_causes[0, runs[stale], 0])
    assert not answered[stale, 1].any()


def _mask_reference(applies, ready_day, check_ready, day, taken, first):
    a = applies.astype(bool) & ((ready_day <= day) | (not check_ready))
    if first:
        return a, a
    return a & ~taken.astype(bool), taken.astype(bool) | a


@pytest.mark.parametrize("first", [False, True])
@pytest.mark.parametrize("check_ready", [False, True])
def test_decide_mask(gen, first, check_ready):
    applies = (gen.random(N) < 0.6).astype(np.uint8)
    ready_day = gen.integers(0, 10, N).astype(np.int32)
    taken = (gen.random(N) < 0.3).astype(np.uint8)
    eligible = np.empty(N, np.uint8)
    want_eligible, want_taken = _mask_reference(applies, ready_day, check_ready, 5, taken, first)
    kernels.decide_mask(applies, ready_day, check_ready, 5, taken, first, eligible)
    assert np.array_equal(eligible.astype(bool), want_eligible)
    assert np.array_equal(taken.astype(bool), want_taken)


def test_decide_and_fire_equals_its_steps(gen):
    key, day, site, family, p = rng.make_key(5), 12, rng.site_id("rule:x:fire"), 3, 0.4
    run_ids = (np.arange(N) + 1000).astype(np.uint32)
    applies = (gen.random(N) < 0.7).astype(np.uint8)
    ready = gen.integers(0, 20, size=(2, N)).astype(np.int32)
    taken = (gen.random(N) < 0.2).astype(np.uint8)
    sources = _tracker_arrays(gen)
    want_ready, want_taken = ready.copy(), taken.copy()
    eligible = np.empty(N, np.uint8)

    kernels.decide_mask(applies, want_ready[1], True, day, want_taken, False, eligible)
    want_drawn = int(eligible.sum())
    rng.reset_draw_count()
    want_runs = rng.bernoulli_select(key, run_ids, eligible.astype(bool), day, site, p, family)
    assert rng.draws_consumed() == want_drawn
    want_ready[1, want_runs] = kernels.NEVER
    want_answered = _remember_reference(want_runs, day, *sources)

    runs, drawn, answered = kernels.decide_and_fire(
        applies, ready[1], True, day, taken, False, eligible, *key, run_ids, site, family, p,
        *sources,
    )  # fmt: skip
    assert 0 < runs.size < want_drawn
    assert np.array_equal(runs, want_runs)
    assert drawn == want_drawn
    assert np.array_equal(ready, want_ready)
    assert np.array_equal(taken, want_taken)
    assert np.array_equal(answered, want_answered)


def test_first_and_count(gen):
    first = np.where(gen.random(N) < 0.5, np.inf, 2.0)
    counts_total = np.zeros(N)
    runs = _runs(gen)
    counts = gen.integers(1, 5, runs.size).astype(float)
    want_first = first.copy()
    want_first[runs] = np.minimum(want_first[runs], 4.0)
    kernels.first_and_count(first, counts_total, runs, counts, 4.0)
    assert np.array_equal(first, want_first)
    assert np.array_equal(counts_total[runs], counts)


def test_close_rungs(gen):
    # Yesterday's rung held since day ``since``; today's differs in about half the
    # runs, which add their days at yesterday's rung and start a new spell today.
    before = gen.integers(0, 4, N)
    rung = np.where(gen.random(N) < 0.5, before, gen.integers(0, 4, N))
    days = gen.integers(0, 9, (4, N))
    want_days = days.copy()
    since = gen.integers(0, 7, N)
    want_since = since.copy()
    max_rung = gen.integers(0, 4, N)
    want_max = np.maximum(max_rung, rung)
    moved = rung != before
    want_days[before[moved], np.flatnonzero(moved)] += 7 - since[moved]
    want_since[moved] = 7
    kernels.close_rungs(days, max_rung, since, before, rung, 7, np.empty(N, np.int64))
    assert np.array_equal(max_rung, want_max)
    assert np.array_equal(days, want_days)
    assert np.array_equal(since, want_since)
    assert moved.any()
    assert not moved.all()


def test_close_spells(gen):
    # Three boolean variables, rows 3, 0 and 2 of a table of four.
    table = gen.normal(size=(4, N))
    rows = np.array([3, 0, 2])
    table[rows] = gen.random((3, N)) < 0.5
    was_on = gen.random((3, N)) < 0.5
    length = gen.integers(0, 9, (3, N))
    count = gen.integers(0, 3, (3, N))
    days_with = gen.integers(0, 9, (3, N))
    before = (length.copy(), count.copy(), days_with.copy(), was_on.copy())
    first = np.where(gen.random((3, N)) < 0.5, np.inf, 3.0)
    want_first = first.copy()
    on = table[rows] != 0
    want_first[on & np.isinf(want_first)] = 7
    variables, runs, lengths = kernels.close_spells(
        table, rows, was_on, length, count, days_with, first, 7.0
    )
    ended = before[3] & ~on
    want_variables, want_runs = np.nonzero(ended)  # by variable, then run
    assert np.array_equal(variables, want_variables)
    assert np.array_equal(runs, want_runs)
    assert np.array_equal(lengths, before[0][ended])
    assert np.array_equal(first, want_first)
    assert np.array_equal(length, np.where(on, before[0] + 1, 0))
    assert np.array_equal(count, before[1] + (on & ~before[3]))
    assert np.array_equal(days_with, before[2] + on)
    assert np.array_equal(was_on, on)


def test_close_spells_many_ended(gen):
    # Every run of both variables ends its spell: more than one row's worth.
    table = np.zeros((2, N))
    was_on = np.ones((2, N), dtype=bool)
    length = gen.integers(0, 9, (2, N))
    want = length.copy()
    variables, runs, lengths = kernels.close_spells(
        table,
        np.array([1, 0]),
        was_on,
        length,
        np.zeros((2, N), np.int64),
        np.zeros((2, N), np.int64),
        np.zeros((2, N)),
        5.0,
    )
    assert np.array_equal(variables, np.repeat([0, 1], N))
    assert np.array_equal(runs, np.tile(np.arange(N), 2))
    assert np.array_equal(lengths, want.reshape(-1))
    assert not was_on.any()
    assert not length.any()


@pytest.mark.parametrize("last_on", [None, 0, N - 1])
def test_close_spells_false_variable(gen, last_on):
    # A variable false everywhere, today and yesterday (-0.0 is false too), beside
    # one that is not: nothing of the first changes.  With one run true today, or
    # yesterday, the first counts as any other.
    table = np.zeros((2, N))
    table[0, ::3] = -0.0
    table[1] = gen.random(N) < 0.5
    was_on = np.zeros((2, N), dtype=bool)
    was_on[1] = gen.random(N) < 0.5
    if last_on is not None:
        table[0, last_on] = 1.0
    before = was_on.copy()
    length = np.zeros((2, N), np.int64)
    count = np.ones((2, N), np.int64)
    days_with = np.full((2, N), 4, np.int64)
    first = np.full((2, N), np.inf)
    variables, runs, _ = kernels.close_spells(
        table, np.array([0, 1]), was_on, length, count, days_with, first, 9.0
    )
    on = table != 0
    assert np.array_equal(was_on, on)
    assert np.array_equal(days_with, 4 + on)
    assert np.array_equal(length, on.astype(np.int64))
    assert np.array_equal(first, np.where(on, 9.0, np.inf))
    assert np.array_equal(count, 1 + (on & ~before))
    assert not np.any(variables == 0)
    # Yesterday's truth alone: the spell ends today.
    table[0, :] = 0.0
    variables, runs, lengths = kernels.close_spells(
        table, np.array([0, 1]), was_on, length, count, days_with, first, 10.0
    )
    ended = runs[variables == 0]
    assert ended.tolist() == ([] if last_on is None else [last_on])
    assert not was_on[0].any()
    assert not length[0].any()


def _record_and_forget(gen, sums, low, exact, runs, counts, deaths, dtype=np.int64):
    """One observer who sees every act, with one track: record the acts, check what
    was recorded, and return a function that forgets them."""
    last_days = np.full((1, N), -np.inf)
    causes = np.full((1, N, 4), -1, dtype=dtype)
    chain, root = gen.integers(1, 5, runs.size), gen.integers(0, 99, runs.size)
    rows = (np.array([0, 2]), np.array([0, 2]), np.array([0, 1]), np.array([1]))
    one = np.zeros(1, np.uint8)
    seen, calls = kernels.record_routes(
        0, 0, np.empty(0, np.uint32), 6, 0, 41, 2, runs, counts, deaths, deaths, chain, root,
        one, np.ones(1), np.zeros(1, np.int64), one, *rows,
        np.array([0, 1]), np.array([0]), np.array([0]), sums, low, exact, last_days, causes,
    )  # fmt: skip
    assert calls == 0
    assert seen.all()
    assert np.all(last_days[0, runs] == 6.0)
    want = np.stack([np.full(runs.size, 41), chain, root, np.full(runs.size, 2)], axis=1)
    assert np.array_equal(causes[0, runs], want)

    def forget():
        kernels.forget_routes(sums, low, exact, seen, runs, counts, deaths, deaths, one, *rows)

    return forget


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_record_and_forget_routes_round_trip_whole_numbers(gen, dtype):
    # Whole numbers add exactly: plain additions, the same as NumPy's.
    sums = gen.integers(0, 9, size=(3, N)).astype(float)
    start = sums.copy()
    runs = _runs(gen)
    counts, deaths = gen.integers(1, 4, runs.size) * 1.0, gen.poisson(3.0, runs.size) * 1.0
    low, exact = np.zeros_like(sums), np.zeros(3, np.uint8)
    forget = _record_and_forget(gen, sums, low, exact, runs, counts, deaths, dtype)
    assert np.array_equal(sums[0, runs], start[0, runs] + counts)
    assert np.array_equal(sums[1, runs], start[1, runs] + deaths)
    assert not exact.any()
    assert not low.any()
    forget()
    assert np.array_equal(sums, start)


def test_record_and_forget_routes_leave_no_rounding_error_behind(gen):
    # Fractions: the rows that take them keep exact sums, so acts that leave take
    # all of themselves with them (plain additions leave errors of about 1e-17).
    sums = np.zeros((3, N))
    runs = _runs(gen)
    counts = gen.integers(1, 4, runs.size) * 1.0
    deaths = gen.random(runs.size) * 10
    low, exact = np.zeros_like(sums), np.zeros(3, np.uint8)
    forget_first = _record_and_forget(gen, sums, low, exact, runs, counts, deaths)
    assert exact.tolist() == [0, 1, 0]  # the casualty row only
    later = gen.random(runs.size) * 10
    forget_second = _record_and_forget(gen, sums, low, exact, runs, counts, later)
    assert np.array_equal(
        sums[1, runs], [math.fsum(pair) for pair in zip(deaths, later, strict=True)]
    )
    forget_first()
    assert np.array_equal(sums[1, runs], later)
    forget_second()
    assert not sums.any()


def test_a_window_sum_is_its_values_exact_sum_rounded(gen):
    # Days of fractional acts enter a seven-day window and leave it: each day the
    # sum equals the correctly rounded sum of the values in the window, and 0 once
    # the window is empty.
    sums = np.zeros((1, 1))
    low, exact = np.zeros_like(sums), np.ones(1, np.uint8)
    runs, saw = np.zeros(1, np.int64), np.ones(1, np.uint8)
    rows, starts = np.zeros(1, np.int64), np.array([0, 1])
    empty = np.zeros(0, np.int64)
    values = gen.choice([0.1, 0.2, 0.3, 1e3 / 7, 2.5, 1e-3], size=60)

    for day, value in enumerate(values):
        kernels.record_routes(
            0, 0, np.empty(0, np.uint32), day, 0, day, 0, runs, np.zeros(1), np.array([value]),
            np.array([value]), np.ones(1, np.int64), np.zeros(1, np.int64),
            np.zeros(1, np.uint8), np.ones(1), np.zeros(1, np.int64), np.zeros(1, np.uint8),
            np.array([0, 0]), empty, starts, rows, np.array([0, 0]), empty, empty,
            sums, low, exact, np.full((0, 1), -np.inf), np.zeros((0, 1, 4), np.int64),
        )  # fmt: skip
        if day >= 7:
            kernels.forget_routes(
                sums, low, exact, saw[None, :], runs, np.zeros(1), np.array([values[day - 7]]),
                np.array([values[day - 7]]), np.zeros(1, np.uint8),
                np.array([0, 0]), empty, starts, rows,
            )  # fmt: skip
        assert sums[0, 0] == math.fsum(values[max(day - 6, 0) : day + 1])
    for day in range(len(values) - 7, len(values)):
        kernels.forget_routes(
            sums, low, exact, saw[None, :], runs, np.zeros(1), np.array([values[day]]),
            np.array([values[day]]), np.zeros(1, np.uint8), np.array([0, 0]), empty, starts, rows,
        )  # fmt: skip
    assert sums[0, 0] == 0.0


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_decide_and_fire_draws_nothing_for_a_certain_probability(gen, p):
    run_ids = np.arange(N, dtype=np.uint32)
    applies = (gen.random(N) < 0.7).astype(np.uint8)
    ready = np.zeros(N, dtype=np.int32)
    taken = np.empty(N, np.uint8)
    eligible = np.empty(N, np.uint8)
    runs, drawn, answered = kernels.decide_and_fire(
        applies, ready, False, 3, taken, True, eligible, 1, 2, run_ids, 7, 0, p,
        *_tracker_arrays(gen),
    )  # fmt: skip
    assert drawn == 0
    assert answered.shape == (runs.size, 4)
    assert np.array_equal(runs, np.flatnonzero(applies) if p == 1.0 else [])
    assert np.array_equal(taken, applies)
    assert np.count_nonzero(ready) == runs.size


@pytest.mark.parametrize("per_act", [False, True])
def test_keep_seen_keeps_the_acts_bernoulli_keeps(gen, per_act):
    key, day, site, family = rng.make_key(9), 40, rng.site_id("detect:a:b"), 2
    runs = _runs(gen, size=120)
    ids = (runs + 77).astype(np.uint32)
    p = gen.random(runs.size) if per_act else np.array([0.35])
    counts, deaths = gen.random(runs.size), gen.random(runs.size)
    chain, root = gen.integers(0, 5, runs.size), gen.integers(-1, 99, runs.size)
    seen = rng.bernoulli(key, ids, day, site, p if per_act else 0.35, family)
    kept = kernels.keep_seen(*key, ids, day, site, family, p, runs, counts, deaths, chain, root)
    assert 0 < seen.sum() < runs.size
    for got, full in zip(kept, (runs, counts, deaths, chain, root), strict=True):
        assert got.dtype == full.dtype
        assert np.array_equal(got, full[seen])


@pytest.mark.parametrize(("low", "high"), [(2, 6), (0, 1), (3, 40)])
def test_delay_groups_group_the_delays_integers_draws(gen, low, high):
    key, day, site, family = rng.make_key(4), 9, rng.site_id("rule:x:delay"), 1
    run_ids = (np.arange(N) * 3 + 5).astype(np.uint32)
    runs = _runs(gen, size=150)
    delay = rng.integers(key, run_ids[runs], day, site, low, high, family)
    answered = gen.integers(-1, 99, size=(runs.size, 4))
    grouped, grouped_answered, starts = kernels.delay_groups(
        *key, run_ids, runs, answered, day, site, family, low, high
    )
    assert starts[0] == 0
    assert starts[-1] == runs.size
    assert starts.size == high - low + 2
    for k in range(high - low + 1):
        group = slice(starts[k], starts[k + 1])
        assert np.array_equal(grouped[group], runs[delay == low + k])
        assert np.array_equal(grouped_answered[group], answered[delay == low + k])


def test_fire_each_draws_as_bernoulli_with_one_probability_per_run(gen):
    key, day, site, family = rng.make_key(8), 30, rng.site_id("rule:x:fire"), 0
    run_ids = np.arange(N, dtype=np.uint32) + 100
    eligible = (gen.random(N) < 0.6).astype(np.uint8)
    p = gen.random(N)
    candidates = np.flatnonzero(eligible)
    rng.reset_draw_count()
    fire = rng.bernoulli(key, run_ids[candidates], day, site, p[candidates], family)
    runs, drawn, bad = kernels.fire_each(*key, run_ids, eligible, day, site, family, p)
    assert bad == -1
    assert drawn == rng.draws_consumed() == candidates.size
    assert 0 < runs.size < candidates.size
    assert np.array_equal(runs, candidates[fire])
    p[candidates[5]] = 1.5
    p[candidates[9]] = np.nan
    runs, drawn, bad = kernels.fire_each(*key, run_ids, eligible, day, site, family, p)
    assert (runs.size, drawn, bad) == (0, 0, candidates[5])


def test_take_where_keeps_the_labelled_elements(gen):
    runs = _runs(gen, size=90)
    labels = gen.integers(0, 3, runs.size)
    arrays = (runs, gen.random(runs.size), gen.random(runs.size), labels * 2, labels + 7)
    for label in (0, 1, 2, 5):
        kept = kernels.take_where(labels, label, *arrays)
        for got, full in zip(kept, arrays, strict=True):
            assert got.dtype == full.dtype
            assert np.array_equal(got, full[labels == label])


@pytest.mark.parametrize("hostile", [False, True])
@pytest.mark.parametrize("density", [0.0, 0.3, 1.0])
def test_tempo_acts_are_the_runs_that_act_with_their_counts(gen, hostile, density):
    counts = gen.poisson(2.0, 80) * (gen.random(80) < density)
    runs, acts, chain, root, cause, dense = kernels.tempo_acts(counts, hostile, 417)
    acting = np.flatnonzero(counts)
    assert np.array_equal(runs, acting)
    assert acts.dtype == dense.dtype == np.float64
    assert np.array_equal(acts, counts[acting])
    assert np.array_equal(dense, counts)
    assert chain.tolist() == [1 if hostile else 0] * acting.size
    assert root.tolist() == [417 if hostile else -1] * acting.size
    assert cause.tolist() == [-1] * acting.size


@pytest.mark.parametrize("distribution", ["fixed", "poisson", "negative_binomial"])
@pytest.mark.parametrize("claim", ["unclaimed", "as_is", "inflated", "scaled"])
@pytest.mark.parametrize("per_run", [False, True])
def test_casualties_equal_the_generators_draws_and_the_sums(gen, distribution, claim, per_run):
    key, day, site, claim_site, family = rng.make_key(3), 21, 4321, 8765, 2
    run_ids = (np.arange(N) * 7 + 11).astype(np.uint32)
    runs = _runs(gen)
    ids = run_ids[runs]
    m = runs.size
    mean = gen.random(m) * 4 if per_run else np.full(m, 1.5)
    mean[0] = 0.0
    dispersion = gen.random(m) + 0.2 if per_run else np.array([0.7])
    share = gen.random(m) if per_run else np.array([0.6])
    median = gen.random(m) + 1 if per_run else np.array([1.8])
    sigma = gen.random(m) if per_run else np.array([0.4])
    dead = [gen.random(N) for _ in range(3)]
    want = [d.copy() for d in dead]

    rng.reset_draw_count()
    if distribution == "fixed":
        deaths = mean.copy()
    elif distribution == "poisson":
        deaths = rng.poisson(key, ids, day, site, mean, family).astype(float)
    else:
        k = dispersion if per_run else float(dispersion[0])
        deaths = rng.negative_binomial(key, ids, day, site, mean, k, family).astype(float)
    want[0][runs] += deaths
    admitted = deaths * (share if per_run else share[0])
    want[1][runs] += admitted
    heard = admitted
    if claim == "as_is":
        heard = deaths
    elif claim == "inflated":
        spread = (median, sigma) if per_run else (float(median[0]), float(sigma[0]))
        heard = deaths * rng.lognormal(key, ids, day, claim_site, *spread, family)
    elif claim == "scaled":
        heard = deaths * (median if per_run else median[0])
    if claim != "unclaimed":
        want[2][runs] += heard
    want_calls = rng.draws_consumed()

    codes = {"fixed": kernels.FIXED, "poisson": kernels.POISSON}
    claims = {
        "unclaimed": kernels.UNCLAIMED,
        "as_is": kernels.CLAIMED_AS_IS,
        "inflated": kernels.CLAIMED_INFLATED,
        "scaled": kernels.CLAIMED_SCALED,
    }
    got_deaths, got_heard, calls = kernels.casualties(
        *key, ids, day, site, family, codes.get(distribution, kernels.NEGATIVE_BINOMIAL),
        mean, dispersion, rng.negative_binomial_threshold("auto"), runs, *dead, share,
        claims[claim], claim_site, median, sigma,
    )  # fmt: skip
    assert np.array_equal(got_deaths, deaths)
    assert np.array_equal(got_heard, heard)
    assert calls == want_calls
    for got, expected in zip(dead, want, strict=True):
        assert np.array_equal(got, expected)
    if distribution != "fixed":
        assert 0 < np.count_nonzero(deaths) < m


def test_record_and_forget_routes_equal_each_observer_recorded_alone(gen):
    """Three observers of one event: one sure to see it with two tracks, one that may
    miss it and hears of the dead as a third party, one that keeps no causes."""
    key, day, family, event_id, by = rng.make_key(6), 33, 1, 4242, 3
    run_ids = (np.arange(N) * 5 + 2).astype(np.uint32)
    runs = _runs(gen, size=90)
    ids = run_ids[runs]
    # Whole numbers, which add exactly (fractions: the tests above).
    counts = gen.integers(1, 4, runs.size) * 1.0
    deaths, heard = gen.integers(0, 30, runs.size) * 1.0, gen.integers(0, 40, runs.size) * 1.0
    chain, root = gen.integers(1, 5, runs.size), gen.integers(0, 99, runs.size)
    sums = gen.integers(0, 50, size=(9, N)) * 1.0
    low, exact = np.zeros_like(sums), np.zeros(9, np.uint8)
    last_days = np.full((4, N), -np.inf)
    causes = np.full((2, N, 4), -1, dtype=np.int32)
    # Observer q: (detect, site, hears, tracks as (count rows, casualty rows, last row,
    # cause row)).
    observers = [
        (1.0, 11, False, [([0, 1], [2], 0, 0), ([3], [], 1, -1)]),
        (0.4, 22, True, [([4], [5, 6], 2, 1)]),
        (0.7, 33, False, [([7], [8], 3, -1)]),
    ]
    want_sums, want_last, want_causes = sums.copy(), last_days.copy(), causes.copy()
    rng.reset_draw_count()
    seen_by, kept_by = [], []
    for p, site, hears, tracks in observers:
        dead = heard if hears else deaths
        kept = (runs, counts, dead, chain, root)
        if p < 1:
            kept = kernels.keep_seen(*key, ids, day, site, family, np.array([p]), *kept)
            rng.count_draws(runs.size)
        seen_by.append(np.isin(runs, kept[0]))
        kept_by.append(kept)
        seen_runs, seen_counts, seen_dead, seen_chain, seen_root = kept
        for count_rows, casualty_rows, last_row, cause_row in tracks:
            for row in count_rows:
                want_sums[row, seen_runs] += seen_counts
            for row in casualty_rows:
                want_sums[row, seen_runs] += seen_dead
            want_last[last_row, seen_runs] = day
            if cause_row >= 0:
                want_causes[cause_row, seen_runs] = np.stack(
                    [np.full(seen_runs.size, event_id), seen_chain, seen_root,
                     np.full(seen_runs.size, by)], axis=1,
                )  # fmt: skip
    want_calls = rng.draws_consumed()

    def starts(lists):
        return np.cumsum([0] + [len(rows) for rows in lists])

    def flat(lists):
        return np.array([row for rows in lists for row in rows], dtype=np.int64)

    per_observer = [
        ([r for t in tracks for r in t[0]], [r for t in tracks for r in t[1]])
        for _, _, _, tracks in observers
    ]
    count_lists = [c for c, _ in per_observer]
    casualty_lists = [c for _, c in per_observer]
    tracks = [t for _, _, _, ts in observers for t in ts]
    seen, calls = kernels.record_routes(
        *key, ids, day, family, event_id, by, runs, counts, deaths, heard, chain, root,
        np.array([p < 1 for p, _, _, _ in observers], np.uint8),
        np.array([p for p, _, _, _ in observers]),
        np.array([site for _, site, _, _ in observers]),
        np.array([hears for _, _, hears, _ in observers], np.uint8),
        starts(count_lists), flat(count_lists), starts(casualty_lists), flat(casualty_lists),
        np.array([0, 2, 3, 4]), np.array([t[2] for t in tracks]), np.array([t[3] for t in tracks]),
        sums, low, exact, last_days, causes,
    )  # fmt: skip
    assert calls == want_calls == 2 * runs.size
    assert np.array_equal(seen.astype(bool), np.array(seen_by))
    assert 0 < seen[1].sum() < runs.size
    assert np.array_equal(sums, want_sums)
    assert np.array_equal(last_days, want_last)
    assert np.array_equal(causes, want_causes)

    # Forgetting takes out what each observer saw, from each of its rows.
    kernels.forget_routes(
        sums, low, exact, seen, runs, counts, deaths, heard,
        np.array([hears for _, _, hears, _ in observers], np.uint8),
        starts(count_lists), flat(count_lists), starts(casualty_lists), flat(casualty_lists),
    )  # fmt: skip
    for (_, _, _, obs_tracks), kept in zip(observers, kept_by, strict=True):
        seen_runs, seen_counts, seen_dead = kept[:3]
        for count_rows, casualty_rows, _, _ in obs_tracks:
            for row in count_rows:
                want_sums[row, seen_runs] -= seen_counts
            for row in casualty_rows:
                want_sums[row, seen_runs] -= seen_dead
    assert np.array_equal(sums, want_sums)
    assert not exact.any()


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 16, 23, 10_000])
def test_any_set_and_all_set_read_every_byte(gen, n):
    # Words of eight bytes and a tail: a single odd byte anywhere decides.
    for where in sorted({0, n // 2, n - 1} - {-1}) if n else []:
        mask = np.zeros(n, dtype=bool)
        assert not kernels.any_set(mask.view(np.uint8))
        mask[where] = True
        assert kernels.any_set(mask.view(np.uint8))
        assert kernels.all_set(mask.view(np.uint8)) == (n == 1)
        full = np.ones(n, dtype=bool)
        assert kernels.all_set(full.view(np.uint8))
        full[where] = False
        assert not kernels.all_set(full.view(np.uint8))
    empty = np.zeros(n, dtype=np.uint8)
    assert not kernels.any_set(empty)
    assert kernels.all_set(np.ones(n, dtype=np.uint8))
    random = gen.random(n) < 0.5
    assert kernels.any_set(random.view(np.uint8)) == random.any()
    assert kernels.all_set(random.view(np.uint8)) == random.all()


_COMPARISONS = [
    (kernels.GREATER, np.greater),
    (kernels.GREATER_EQUAL, np.greater_equal),
    (kernels.LESS, np.less),
    (kernels.LESS_EQUAL, np.less_equal),
    (kernels.EQUAL, np.equal),
    (kernels.NOT_EQUAL, np.not_equal),
]


@pytest.mark.parametrize(("code", "compare"), _COMPARISONS)
@pytest.mark.parametrize("terms", [1, 2, 3, 4, 6])
@pytest.mark.parametrize("n", [N, 1_500])
def test_sum_compare_adds_left_to_right_as_numpy_does(gen, code, compare, terms, n):
    # Values whose sums round differently with another order of the additions, some
    # NaN, and a threshold some sums hit exactly.
    table = gen.choice([0.0, 0.1, 0.2, 0.3, 1e16, -1e16, 1.0, np.nan], size=(8, n))
    rows = gen.choice(8, size=terms, replace=terms > 8).astype(np.int64)
    total = table[rows[0]]
    for row in rows[1:]:
        total = total + table[row]
    for threshold in (0.0, 0.6000000000000001, 1.0):
        expected = compare(total, threshold)
        assert np.array_equal(kernels.sum_compare(table, rows, code, threshold), expected)


@pytest.mark.parametrize("rows", [0, 1, 600])
def test_order_by_run_is_numpys_stable_order_of_run_then_secondary(gen, rows):
    n, k = 40, 7
    runs = gen.integers(0, n, size=rows)
    secondary = gen.integers(0, k, size=rows)
    expected = np.argsort(runs * k + secondary, kind="stable")
    assert np.array_equal(kernels.order_by_run(runs, secondary, n), expected)


@pytest.mark.parametrize("rows", [0, 1, 2_000])
def test_cycle_table_keeps_the_longest_chain_of_each_run_and_root(gen, rows):
    n, span = 30, 1_000
    runs = gen.integers(0, n, size=rows)
    roots = gen.integers(0, 25, size=rows) * 37  # few roots, so many repeat in a run
    lengths = gen.integers(2, 9, size=rows)
    pairs = runs * span + roots
    order = np.argsort(pairs, kind="stable")
    starts = np.flatnonzero(np.diff(pairs[order], prepend=-1) != 0)
    expected_pairs = pairs[order][starts]
    expected_longest = (
        np.maximum.reduceat(lengths[order], starts) if rows else np.zeros(0, np.int64)
    )
    got_runs, got_roots, got_longest = kernels.cycle_table(runs, roots, lengths, n)
    assert np.array_equal(got_runs, expected_pairs // span)
    assert np.array_equal(got_roots, expected_pairs % span)
    assert np.array_equal(got_longest, expected_longest)


def test_cached_on_disk_reads_numbas_index_of_this_file(monkeypatch: pytest.MonkeyPatch) -> None:
    from numba.core import caching

    kernels.any_set(np.zeros(3, dtype=np.uint8))  # compiled, or loaded, and on disk
    assert kernels.cached_on_disk() is True
    # A missing or stale index (the file or numba changed) reads as no entries.
    monkeypatch.setattr(caching.IndexDataCacheFile, "_load_index", lambda self: {})
    assert kernels.cached_on_disk() is False

    def unreadable(self: object) -> dict[str, object]:
        raise AttributeError("numba's layout changed")

    monkeypatch.setattr(caching.IndexDataCacheFile, "_load_index", unreadable)
    assert kernels.cached_on_disk() is None
