"""Compiled loops for the model's per-run bookkeeping.

Each kernel does in one pass over the runs concerned what would otherwise take a
handful of NumPy calls, each with its temporary array.  They perform the same
floating-point operations in the same order as the array expressions they
replace, so results are bit-identical; runs within one call are distinct.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

# The generator's compiled draws, called from compiled code here so that a step that
# draws does it in the same pass as its bookkeeping.  The caller adds the Philox calls
# to `escalation.rng.count_draws`: one per element drawn, or the number a kernel
# returns where only some elements draw.
from escalation.rng import (
    _bernoulli_kernel,
    _negbin_kernel,
    _normal_kernel,
    _pick,
    _poisson_kernel,
    _positions,
    _select_kernel,
    _uniform_kernel,
)

__all__ = [
    "all_set",
    "any_set",
    "apply_effect",
    "casualties",
    "cached_on_disk",
    "close_rungs",
    "close_spells",
    "cycle_table",
    "decide_and_fire",
    "decide_mask",
    "delay_groups",
    "fire_each",
    "first_and_count",
    "forget_routes",
    "hold",
    "keep_seen",
    "order_by_run",
    "record_routes",
    "remember_causes",
    "sum_compare",
    "take_due",
    "take_where",
    "tempo_acts",
]

_jit = numba.njit(cache=True, nogil=True, error_model="numpy")


def cached_on_disk() -> bool | None:
    """Whether numba's cache on disk holds compiled kernels of this file as it is now.

    False before the first run on a machine, and after this file or numba changed:
    the next run compiles them (15 to 20 seconds).  None when numba's cache cannot be
    read (its layout is numba's own, so this is a hint for the user, never a
    condition of anything).
    """
    try:
        dispatchers: list[Any] = [
            value
            for value in globals().values()
            if isinstance(value, numba.core.registry.CPUDispatcher)
        ]
        return any(bool(value._cache._cache_file._load_index()) for value in dispatchers)
    except Exception:  # noqa: BLE001 - numba's private layout changed: no hint
        return None


@_jit
def record_routes(
    k0,
    k1,
    ids,
    day,
    family,
    event_id,
    by,
    runs,
    counts,
    deaths,
    heard,
    chain,
    root,
    missable,
    detect,
    sites,
    hears,
    count_start,
    count_rows,
    casualty_start,
    casualty_rows,
    track_start,
    last_rows,
    cause_rows,
    sums,
    sums_low,
    exact,
    last_days,
    causes,
):
    """Record one event's acts for each observer ``q``: the acts it sees
    (where ``missable[q]``, a Bernoulli(``detect[q]``) draw at ``sites[q]``, as
    `keep_seen` draws) add their counts to its rows ``count_rows[count_start[q]:
    count_start[q + 1]]`` of ``sums``, their dead (``heard`` where ``hears[q]``,
    else ``deaths``) to its casualty rows, and for each of its tracks ``t``
    (``track_start[q]`` to ``track_start[q + 1]``) the day to row ``last_rows[t]``
    of ``last_days`` and, where ``cause_rows[t]`` >= 0, their identity to that row
    of ``causes``.

    Returns which acts each observer saw (one row per observer) and the Philox calls.
    """
    m = runs.shape[0]
    observers = missable.shape[0]
    seen = np.ones((observers, m), np.uint8)
    calls = 0
    p = np.empty(1)
    for q in range(observers):
        saw = seen[q]
        if missable[q]:
            p[0] = detect[q]
            drawn = _bernoulli_kernel(k0, k1, ids, day & 0xFFFF, sites[q], family, p)
            for i in range(m):
                saw[i] = drawn[i]
            calls += m
        dead = heard if hears[q] else deaths
        for rows, start, values in (
            (count_rows, count_start, counts),
            (casualty_rows, casualty_start, dead),
        ):
            _scatter_seen(
                sums, sums_low, exact, rows, start[q], start[q + 1], runs, values, saw, False
            )
        for t in range(track_start[q], track_start[q + 1]):
            last_day = last_days[last_rows[t]]
            for i in range(m):
                if saw[i]:
                    last_day[runs[i]] = day
            if cause_rows[t] >= 0:
                cause = causes[cause_rows[t]]
                for i in range(m):
                    if saw[i]:
                        r = runs[i]
                        cause[r, 0] = event_id
                        cause[r, 1] = chain[i]
                        cause[r, 2] = root[i]
                        cause[r, 3] = by
    return seen, calls


@_jit
def forget_routes(
    sums,
    sums_low,
    exact,
    seen,
    runs,
    counts,
    deaths,
    heard,
    hears,
    count_start,
    count_rows,
    casualty_start,
    casualty_rows,
):
    """Take out of ``sums`` the acts `record_routes` added to the rows given here
    (those of the windows they now leave), for the observers that saw them."""
    for q in range(seen.shape[0]):
        saw = seen[q]
        dead = heard if hears[q] else deaths
        for rows, start, values in (
            (count_rows, count_start, counts),
            (casualty_rows, casualty_start, dead),
        ):
            _scatter_seen(
                sums, sums_low, exact, rows, start[q], start[q + 1], runs, values, saw, True
            )


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _scatter_seen(sums, sums_low, exact, rows, first, last, runs, values, saw, subtract):
    """Add (or subtract) the ``values`` of the acts in ``saw`` at their ``runs``, in
    rows ``rows[first:last]`` of ``sums``.

    A window's sum gains its acts when they happen and loses them when they leave
    it.  While every value a row has been given is a whole number, that is exact and
    plain additions serve.  From a row's first fraction on (``exact`` of the row
    set), each of its sums is kept as an unevaluated pair of ``sums`` and
    ``sums_low`` (error-free additions): ``sums`` holds the exact sum of the
    window's values correctly rounded, and exactly 0 once every act has left it,
    where plain additions would leave a rounding error behind (0.1 + 0.2 - 0.1 - 0.2
    is 2.8e-17, not 0).
    """
    if first == last:
        return
    if not subtract:
        # Acts leave with the values they came with, so a row is marked on arrival.
        for i in range(runs.shape[0]):
            if saw[i] and values[i] != math.floor(values[i]):
                for j in range(first, last):
                    exact[rows[j]] = 1
                break
    for j in range(first, last):
        row = sums[rows[j]]
        if exact[rows[j]]:
            low = sums_low[rows[j]]
            for i in range(runs.shape[0]):
                if saw[i]:
                    r = runs[i]
                    row[r], low[r] = _add_exactly(
                        row[r], low[r], -values[i] if subtract else values[i]
                    )
            continue
        for i in range(runs.shape[0]):
            if saw[i]:
                if subtract:
                    row[runs[i]] -= values[i]
                else:
                    row[runs[i]] += values[i]


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _add_exactly(high, low, value):
    # (high, low) + value as a new pair: two error-free additions (Knuth's TwoSum),
    # the second folding the first's error and the old low part into the new pair.
    total = high + value
    part = total - high
    error = (high - (total - part)) + (value - part)
    error += low
    new_high = total + error
    part = new_high - total
    return new_high, (total - (new_high - part)) + (error - part)


@_jit
def remember_causes(runs, day, last_days, track_causes, last_rows, cause_rows, hostile, reach):
    """What a rule's acts in ``runs``, decided on ``day``, answer: the latest act its
    condition looked at.

    Key ``j`` (row ``last_rows[j]`` of ``last_days``, ``cause_rows[j]`` of
    ``track_causes``) is looked at back to ``day - reach[j]``: the widest window the
    condition reads it over (``inf``: all its history).  The latest hostile act seen
    there (``hostile[j]`` 1) is the answer; where none was, the latest act of any key
    is, and gives no chain.  Keys are taken in order, a later one only where its act
    is strictly later.  Where no key saw anything the act answers no event.  Returns
    one row per run: (event id, chain length, chain root, perceived author of the
    event).
    """
    # Key by key, then run by run: each loop's loads are independent of one another,
    # so the processor overlaps their cache misses (the runs are scattered over
    # tables of a block's size, and a run at a time would wait for each in turn).
    m = runs.shape[0]
    best = np.full(m, -np.inf)
    which = np.full(m, -1, np.int64)
    best_hostile = np.full(m, -np.inf)
    which_hostile = np.full(m, -1, np.int64)
    for j in range(last_rows.shape[0]):
        seen_days = last_days[last_rows[j]]
        earliest = day - reach[j]
        looks_hostile = hostile[j] != 0
        for i in range(m):
            seen = seen_days[runs[i]]
            later = seen > best[i] and seen >= earliest
            best[i] = seen if later else best[i]
            which[i] = j if later else which[i]
            later = looks_hostile and seen > best_hostile[i] and seen >= earliest
            best_hostile[i] = seen if later else best_hostile[i]
            which_hostile[i] = j if later else which_hostile[i]
    answered = np.empty((m, 4), np.int64)
    for i in range(m):
        j = which_hostile[i] if which_hostile[i] >= 0 else which[i]
        if j < 0:
            answered[i, 0], answered[i, 1], answered[i, 2], answered[i, 3] = -1, 0, -1, -1
            continue
        cause = track_causes[cause_rows[j], runs[i]]
        answered[i, 0] = cause[0]
        answered[i, 1] = cause[1] if hostile[j] else 0
        answered[i, 2] = cause[2]
        answered[i, 3] = cause[3]
    return answered


@_jit
def take_due(answered, runs, actor, event_id, hostile, ready_day, ready):
    """Carry out a rule's acts due in ``runs``, which answer ``answered`` (a row
    each, as `remember_causes` gives): their chains, roots and causes.

    A hostile act answering a hostile act of another actor (a chain of length
    ``c`` > 0) continues its chain (``c + 1``, same root); otherwise it starts one
    (length 1, rooted at ``event_id``); acts that are not hostile belong to no
    chain (0, -1).  Each run's rule may decide again from day ``ready``.  Also
    returns how many acts continue a chain.
    """
    m = runs.shape[0]
    chain = np.empty(m, np.int64)
    root = np.empty(m, np.int64)
    cause = np.empty(m, np.int64)
    continued = 0
    for i in range(m):
        ready_day[runs[i]] = ready
        cause[i] = answered[i, 0]
        if not hostile:
            chain[i] = 0
            root[i] = -1
        elif answered[i, 1] > 0 and answered[i, 3] != actor:
            chain[i] = answered[i, 1] + 1
            root[i] = answered[i, 2]
            continued += 1
        else:
            chain[i] = 1
            root[i] = event_id
    return chain, root, cause, continued


@_jit
def decide_mask(applies, ready_day, check_ready, day, taken, first, eligible):
    """Mark where a rule may decide (``eligible``) and mark those runs decided.

    ``applies`` is the rule's condition; where ``check_ready`` the rule must also
    be off cooldown and have no act waiting; ``taken`` marks the runs an earlier
    rule for the same action already applied in (``first``: no earlier rule).
    Boolean arrays are passed as uint8 views, which lets the loop vectorise.
    """
    skip_ready = np.uint8(0 if check_ready else 1)
    one = np.uint8(1)
    for r in range(applies.shape[0]):
        a = applies[r] & (skip_ready | np.uint8(ready_day[r] <= day))
        if first:
            eligible[r] = a
            taken[r] = a
        else:
            t = taken[r]
            eligible[r] = a & (one ^ t)
            taken[r] = t | a


@_jit
def decide_and_fire(
    applies,
    ready_day,
    check_ready,
    day,
    taken,
    first,
    eligible,
    k0,
    k1,
    run_ids,
    site,
    family,
    p,
    last_days,
    track_causes,
    last_rows,
    cause_rows,
    hostile,
    reach,
):
    """A rule with a fixed probability ``p`` in [0, 1] decides: `decide_mask`, then,
    for ``p`` strictly between 0 and 1, a Bernoulli draw per eligible run
    (`escalation.rng.bernoulli_select`'s words and comparison), then the runs where
    it fires wait for their act (`hold`).  Returns those runs, the Philox calls
    made, and what each run's act answers.
    """
    decide_mask(applies, ready_day, check_ready, day, taken, first, eligible)
    if p >= 1.0:
        runs, drawn = np.flatnonzero(eligible), 0
    elif p <= 0.0:
        runs, drawn = np.empty(0, np.int64), 0
    else:
        runs, drawn = _select_kernel(k0, k1, run_ids, eligible, day & 0xFFFF, site, family, p)
    answered = hold(
        ready_day, runs, day, last_days, track_causes, last_rows, cause_rows, hostile, reach
    )
    return runs, drawn, answered


@_jit
def hold(ready_day, runs, day, last_days, track_causes, last_rows, cause_rows, hostile, reach):
    """The runs where a rule fired on ``day``: it decides nothing more there until
    their act is done.  Returns what each act answers (`remember_causes`)."""
    for i in range(runs.shape[0]):
        ready_day[runs[i]] = NEVER
    return remember_causes(
        runs, day, last_days, track_causes, last_rows, cause_rows, hostile, reach
    )


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _every_byte(mask, byte):
    """Whether every byte of a one-byte-per-element mask equals ``byte``: eight bytes
    at a time, since the masks asked about are mostly all zero."""
    n = mask.shape[0]
    words = n >> 3
    packed = np.ascontiguousarray(mask[: words << 3]).view(np.uint64)
    word = np.uint64(byte) * np.uint64(0x0101010101010101)
    for w in range(words):
        if packed[w] != word:
            return False
    for i in range(words << 3, n):
        if mask[i] != byte:
            return False
    return True


@_jit
def any_set(mask):
    """Whether a one-byte-per-element mask (a boolean array's uint8 view) has a
    nonzero byte."""
    return not _every_byte(mask, 0)


@_jit
def all_set(mask):
    """Whether every byte of a 0/1 mask (a boolean array's uint8 view) is 1."""
    return _every_byte(mask, 1)


NEVER = int(np.iinfo(np.int32).max)
"""The day a rule's ``ready_day`` holds where it may not decide again (its act is
waiting, or its cooldown outlasts any horizon): later than every day, in 32 bits."""

FIXED, POISSON, NEGATIVE_BINOMIAL = 0, 1, 2
"""Casualty distributions, as `casualties` takes them."""

UNCLAIMED, CLAIMED_AS_IS, CLAIMED_INFLATED, CLAIMED_SCALED = 0, 1, 2, 3
"""How the author of an act claims its dead, as `casualties` takes it: an
unacknowledged act is not claimed (others hear the victim's admission); an
acknowledged one is claimed as it is (its author has no claims entry), inflated at
random (lognormal), or scaled by the author's fixed inflation."""


@_jit
def casualties(
    k0,
    k1,
    ids,
    day,
    site,
    family,
    distribution,
    mean,
    dispersion,
    below,
    runs,
    true_dead,
    admitted_dead,
    claimed_dead,
    admitted_share,
    claim,
    claim_site,
    median,
    sigma,
):
    """One side's dead of an act, in the runs ``runs`` (run ids ``ids``), and their count.

    Draws the dead (``distribution``: the mean as it is, Poisson, or negative
    binomial with `escalation.rng.negative_binomial`'s ``below``: their words and
    arithmetic), adds them to the victim's true dead, the victim's admitted share to
    its admitted dead, and, for an acknowledged act, the claim (``claim``, lognormal
    at ``claim_site`` as `escalation.rng.lognormal`) to its claimed dead.  Parameters
    of one element stand for every act.  Returns the dead, what third parties hear
    (the claim, or the admission of an unacknowledged act), and the Philox calls made.
    """
    m = runs.shape[0]
    calls = 0
    deaths = np.empty(m)
    if distribution == FIXED:
        for i in range(m):
            deaths[i] = _pick(mean, i)
    else:
        if distribution == POISSON:
            drawn, calls = _poisson_kernel(k0, k1, ids, day, site, family, mean)
        else:
            drawn, calls = _negbin_kernel(k0, k1, ids, day, site, family, mean, dispersion, below)
        for i in range(m):
            deaths[i] = drawn[i]
    admitted = np.empty(m)
    for i in range(m):
        r = runs[i]
        true_dead[r] += deaths[i]
        admitted[i] = deaths[i] * _pick(admitted_share, i)
        admitted_dead[r] += admitted[i]
    if claim == UNCLAIMED:
        return deaths, admitted, calls
    if claim == CLAIMED_AS_IS:
        claimed = deaths
    elif claim == CLAIMED_INFLATED:
        factor = _normal_kernel(k0, k1, ids, day, claim_site, family, median, sigma, True)
        claimed = np.empty(m)
        for i in range(m):
            claimed[i] = deaths[i] * factor[i]
        calls += m
    else:
        claimed = np.empty(m)
        for i in range(m):
            claimed[i] = deaths[i] * _pick(median, i)
    for i in range(m):
        claimed_dead[runs[i]] += claimed[i]
    return deaths, claimed, calls


@_jit
def apply_effect(variable, runs, value, counts, add, low, high):
    """Set (or, with ``add``, add ``value * count`` to) ``variable`` at ``runs``, kept
    within [``low``, ``high``] as `numpy.clip` would; ``value`` has one element per
    run or one for all."""
    scalar = value.shape[0] == 1
    for i in range(runs.shape[0]):
        r = runs[i]
        v = value[0] if scalar else value[i]
        x = variable[r] + v * counts[i] if add else v
        if x < low:
            x = low
        if x > high:
            x = high
        variable[r] = x


@_jit
def keep_seen(k0, k1, ids, day, site, family, p, runs, counts, casualties, chain, root):
    """The acts an observer sees: a Bernoulli(``p``) draw per act (`escalation.rng.
    bernoulli`'s words and comparison, ``p`` one per act or one for all; ``ids`` the
    acts' run ids) keeps it.

    Returns the kept elements of ``runs, counts, casualties, chain, root``.
    """
    seen = _bernoulli_kernel(k0, k1, ids, day & 0xFFFF, site, family, p)
    return take_where(seen, True, runs, counts, casualties, chain, root)


@_jit
def delay_groups(k0, k1, run_ids, runs, answered, day, site, family, low, high):
    """Draw each run's delay in [``low``, ``high``] (`escalation.rng.integers`'s draw
    and arithmetic) and group the runs by it.

    Returns ``runs`` reordered by delay, stably (ascending runs within a delay), the
    rows of ``answered`` in the same order, and the bounds of each delay's group:
    delay ``low + k`` takes ``[starts[k], starts[k + 1])``.
    """
    span = high - low + 1
    m = runs.shape[0]
    ids = np.empty(m, np.uint32)
    for i in range(m):
        ids[i] = run_ids[runs[i]]
    u = _uniform_kernel(k0, k1, ids, day & 0xFFFF, site, family)
    delay = np.empty(m, np.int64)
    starts = np.zeros(span + 1, np.int64)
    for i in range(m):
        k = min(int(u[i] * span), span - 1)
        delay[i] = k
        starts[k + 1] += 1
    for k in range(span):
        starts[k + 1] += starts[k]
    fill = starts[:span].copy()
    grouped = np.empty(m, np.int64)
    grouped_answered = np.empty((m, 4), np.int64)
    for i in range(m):
        k = delay[i]
        grouped[fill[k]] = runs[i]
        for c in range(4):  # element by element: a row copy compiles much more code
            grouped_answered[fill[k], c] = answered[i, c]
        fill[k] += 1
    return grouped, grouped_answered, starts


@_jit
def fire_each(k0, k1, run_ids, eligible, day, site, family, p):
    """Where a rule fires among the ``eligible`` runs, each run ``r`` with its own
    probability ``p[r]`` (`escalation.rng.bernoulli`'s words and comparison).

    Returns the runs where it fires, the Philox calls made, and the first eligible
    run whose probability is outside [0, 1] (then nothing is drawn), else -1.
    """
    where, m = _positions(eligible)
    ids = np.empty(m, np.uint32)
    probability = np.empty(m, np.float64)
    for j in range(m):
        r = where[j]
        x = p[r]
        if not (x >= 0.0 and x <= 1.0):
            return where[:0].copy(), 0, r
        ids[j] = run_ids[r]
        probability[j] = x
    fired = _bernoulli_kernel(k0, k1, ids, day & 0xFFFF, site, family, probability)
    out = np.empty(m, np.int64)
    k = 0
    for j in range(m):
        out[k] = where[j]
        k += fired[j]
    return out[:k].copy(), m, -1


@_jit
def tempo_acts(counts, hostile, event_id):
    """The day's acts of a tempo, from its count per run: the runs that act, their
    counts, chains (1 where the action is hostile, else 0), roots (``event_id``
    where hostile, else -1) and causes (-1), and the counts of every run as floats.
    """
    n = counts.shape[0]
    dense = np.empty(n)
    m = 0
    for r in range(n):
        dense[r] = counts[r]
        m += counts[r] != 0
    # One slot more than the acts: each run is written at the next free slot, which
    # moves on only where the run acts (no branch to mispredict).
    runs = np.empty(m + 1, np.int64)
    acts = np.empty(m + 1)
    k = 0
    for r in range(n):
        runs[k] = r
        acts[k] = dense[r]
        k += counts[r] != 0
    chain = np.full(m, 1 if hostile else 0, np.int64)
    root = np.full(m, event_id if hostile else -1, np.int64)
    return runs[:m], acts[:m], chain, root, np.full(m, -1, np.int64), dense


@_jit
def take_where(labels, label, runs, counts, casualties, chain, root):
    """The elements of ``runs, counts, casualties, chain, root`` whose ``labels``
    equal ``label``, in one pass."""
    m = 0
    for i in range(labels.shape[0]):
        m += labels[i] == label
    out = (
        np.empty(m, runs.dtype),
        np.empty(m, counts.dtype),
        np.empty(m, casualties.dtype),
        np.empty(m, chain.dtype),
        np.empty(m, root.dtype),
    )
    k = 0
    for i in range(labels.shape[0]):
        if labels[i] == label:
            out[0][k] = runs[i]
            out[1][k] = counts[i]
            out[2][k] = casualties[i]
            out[3][k] = chain[i]
            out[4][k] = root[i]
            k += 1
    return out


@_jit
def first_and_count(first, action_counts, runs, counts, day):
    """The first day of an action and its running count, per run."""
    for i in range(runs.shape[0]):
        r = runs[i]
        action_counts[r] += counts[i]
        if day < first[r]:
            first[r] = day


@_jit
def close_rungs(days_at_rung, max_rung, since, before, rung, day, changed):
    """Close day ``day`` for the rungs: keep each run's highest, and where a run's rung
    differs from ``before`` (yesterday's), add the days it spent at the old one,
    from ``since``, to ``days_at_rung``; ``since`` becomes ``day``.

    The days at a run's current rung are not counted day by day (a pass that
    rewrites a row of ``days_at_rung`` per run): `BlockState.days_at_or_above` adds
    them.  ``changed`` has room for every run.
    """
    n = rung.shape[0]
    m = 0
    for r in range(n):
        level = rung[r]
        max_rung[r] = max(max_rung[r], level)
        # Every run is written at the next free slot, which moves on only where the
        # rung changed: no branch to mispredict.
        changed[m] = r
        m += level != before[r]
    for i in range(m):
        r = changed[i]
        days_at_rung[before[r], r] += day - since[r]
        since[r] = day


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _all_zero(values):
    """Whether every element of a float array is 0 (either sign): a run at a time,
    stopping at the first that is not."""
    for i in range(values.shape[0]):
        if values[i] != 0:
            return False
    return True


@_jit
def close_spells(table, rows, was_on, spell_length, spell_count, days_with, first_true, day):
    """Advance the boolean variables' spell counters and first days true (``day``
    where a variable is true and never was before: never is inf), and remember
    today's truth for tomorrow; return the spells that ended today.

    Variable ``v`` is ``table[rows[v]]``; the other arrays have a row per variable.
    The ended spells come as (variable, run, length), by variable then run.
    """
    k, n = was_on.shape
    # The counters in a pass without branches, which vectorises; the rare ended
    # spells in another; the spells' lengths and today's truth last.  A variable
    # false in every run today and yesterday changes nothing (its spells' lengths
    # are all 0) and is left alone: a look at its row instead of passes that rewrite
    # five.
    ending = np.zeros(k, np.int64)
    quiet = np.zeros(k, np.bool_)
    for v in range(k):
        value = table[rows[v]]
        before_on = was_on[v]
        quiet[v] = _all_zero(value) and _every_byte(before_on.view(np.uint8), 0)
        if quiet[v]:
            continue
        days = days_with[v]
        count = spell_count[v]
        first = first_true[v]
        ended = 0
        for r in range(n):
            on = value[r] != 0
            before = before_on[r]
            ended += before & (not on)
            days[r] += on
            count[r] += on & (not before)
            old = first[r]
            first[r] = day if (on and old == math.inf) else old
        ending[v] = ended
    total = ending.sum()
    # One slot more than the ended spells: each run is written at the next free
    # slot, which only moves on when the run's spell ended (no branch to mispredict).
    runs = np.empty(total + 1, np.int64)
    lengths = np.empty(total + 1, np.int64)
    variables = np.empty(total, np.int64)
    m = 0
    for v in range(k):
        if ending[v]:
            value = table[rows[v]]
            before_on = was_on[v]
            length = spell_length[v]
            start = m
            for r in range(n):
                runs[m] = r
                lengths[m] = length[r]
                m += before_on[r] & (value[r] == 0)
            variables[start:m] = v
    for v in range(k):
        if quiet[v]:
            continue
        value = table[rows[v]]
        before_on = was_on[v]
        length = spell_length[v]
        for r in range(n):
            on = value[r] != 0
            length[r] = length[r] + 1 if on else 0
            before_on[r] = on
    return variables, runs[:total], lengths[:total]


GREATER, GREATER_EQUAL, LESS, LESS_EQUAL, EQUAL, NOT_EQUAL = 0, 1, 2, 3, 4, 5
"""Comparisons, as `sum_compare` takes them."""

_SUM_CHUNK = 512
"""Runs `sum_compare` adds up at a time: its partial sums stay in the first-level
cache."""


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _compare_into(out, values, m, op, threshold):
    # One loop per comparison, so that each vectorises.
    if op == GREATER:
        for i in range(m):
            out[i] = values[i] > threshold
    elif op == GREATER_EQUAL:
        for i in range(m):
            out[i] = values[i] >= threshold
    elif op == LESS:
        for i in range(m):
            out[i] = values[i] < threshold
    elif op == LESS_EQUAL:
        for i in range(m):
            out[i] = values[i] <= threshold
    elif op == EQUAL:
        for i in range(m):
            out[i] = values[i] == threshold
    else:
        for i in range(m):
            out[i] = values[i] != threshold


@_jit
def sum_compare(table, rows, op, threshold):
    """Whether ``table[rows[0]] + table[rows[1]] + ...``, added left to right, compares
    with ``threshold`` as ``op`` says (`GREATER` and so on), run by run.

    The additions are those of the NumPy expression, in its order, a chunk of runs
    at a time, so that no sum makes a pass over memory of its own.
    """
    n = table.shape[1]
    k = rows.shape[0]
    out = np.empty(n, np.bool_)
    total = np.empty(_SUM_CHUNK)
    for start in range(0, n, _SUM_CHUNK):
        stop = min(start + _SUM_CHUNK, n)
        m = stop - start
        a = table[rows[0], start:stop]
        if k == 1:
            for i in range(m):
                total[i] = a[i]
        else:
            b = table[rows[1], start:stop]
            if k == 2:
                for i in range(m):
                    total[i] = a[i] + b[i]
            else:
                c = table[rows[2], start:stop]
                if k == 3:
                    for i in range(m):
                        total[i] = (a[i] + b[i]) + c[i]
                else:
                    d = table[rows[3], start:stop]
                    for i in range(m):
                        total[i] = ((a[i] + b[i]) + c[i]) + d[i]
                    for j in range(4, k):
                        e = table[rows[j], start:stop]
                        for i in range(m):
                            total[i] = total[i] + e[i]
        _compare_into(out[start:stop], total, m, op, threshold)
    return out


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _counting_order(keys, size):
    # A stable counting sort of the rows by their ``keys`` (each in range(size)): the
    # rows' order, and where each key's rows start in it (with the end as a last
    # element).
    starts = np.zeros(size + 1, np.int64)
    for i in range(keys.shape[0]):
        starts[keys[i] + 1] += 1
    for key in range(size):
        starts[key + 1] += starts[key]
    cursor = starts[:-1].copy()
    order = np.empty(keys.shape[0], np.int64)
    for i in range(keys.shape[0]):
        order[cursor[keys[i]]] = i
        cursor[keys[i]] += 1
    return order, starts


@_jit
def order_by_run(runs, secondary, n):
    """The stable order of rows by run (each in ``range(n)``), then by ``secondary``
    (each in ``range(k)`` for some small ``k``, such as the rank of a variable's
    name): what ``np.argsort(runs * k + secondary, kind="stable")`` gives.

    Two stable counting sorts, by ``secondary``, then by run: the cost grows with
    the rows, the runs and ``k``, not with the rows times ``k`` as an insertion sort
    of each run's rows (which interleave the ``k`` kinds) would.
    """
    k = 0
    for i in range(secondary.shape[0]):
        k = max(k, secondary[i] + 1)
    by_secondary = _counting_order(secondary, k)[0]
    return by_secondary[_counting_order(runs[by_secondary], n)[0]]


@_jit
def cycle_table(runs, roots, lengths, n):
    """The retaliation cycles among chained acts in ``runs`` (in ``range(n)``) with
    chain ``roots`` and ``lengths``: one (run, root, longest chain) per distinct
    (run, root), in that order.

    The acts are grouped by run (a counting sort), and each run's cycles kept in
    order of root as its acts come: an act whose root the run has seen lengthens
    that cycle, found by a binary search, and a new root is put in its place.  A
    run's acts come day by day, so its new roots are mostly the largest yet and go
    at the end, while the acts of chains running side by side (one per pair of
    adversaries) interleave: the cost grows with the acts, not with the acts times
    the chains, as an insertion sort of the acts would.
    """
    order, starts = _counting_order(runs, n)
    m = order.shape[0]
    cycle_runs = np.empty(m, np.int64)
    cycle_roots = np.empty(m, np.int64)
    longest = np.empty(m, np.int64)
    k = 0
    for r in range(n):
        first = k
        for p in range(starts[r], starts[r + 1]):
            i = order[p]
            root, length = roots[i], lengths[i]
            # Where the root goes among the run's cycles: the end, unless it is not
            # the largest yet.
            at = k
            if k > first and root <= cycle_roots[k - 1]:
                low, high = first, k - 1
                while low < high:
                    middle = (low + high) >> 1
                    if cycle_roots[middle] < root:
                        low = middle + 1
                    else:
                        high = middle
                at = low
            if at < k and cycle_roots[at] == root:
                longest[at] = max(longest[at], length)
                continue
            for q in range(k, at, -1):
                cycle_roots[q] = cycle_roots[q - 1]
                longest[q] = longest[q - 1]
            cycle_runs[k], cycle_roots[at], longest[at] = r, root, length
            k += 1
    return cycle_runs[:k].copy(), cycle_roots[:k].copy(), longest[:k].copy()
