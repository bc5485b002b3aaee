"""Counter-based random numbers for reproducible, block-vectorised Monte Carlo runs.

Every draw is a pure function of ``(key, run, day, site, sub, family)`` through
Philox4x32-10 (Salmon, Moraes, Dror & Shaw, SC 2011), so run ``i`` gives bit-identical
results whatever block it is simulated in, however many workers there are, and when
replayed alone.  No generator state exists anywhere.

Counter layout of every vectorised draw::

    c0 = run id                     c1 = day (low 16 bits) | sub (high 16 bits)
    c2 = site id (see `site_id`)    c3 = family (e.g. sweep point index; 0 otherwise)

A call yields words ``w0..w3``; a 53-bit double in [0, 1) is
``((w0 >> 5) * 2**26 + (w1 >> 6)) / 2**53`` (likewise from ``w2, w3``).  Where ``log``
needs (0, 1) the lowest bit is forced to one, which can never round to 1.0.

Draws needing more than one call per element step ``sub``:

* `poisson`: inversion for lam < 30 uses sub 0; PTRS iterations use sub 0, 1, 2, ...
* `gamma`: sub 0 holds the boost uniform (shape < 1); Marsaglia-Tsang iterations use
  sub 1, 2, ..., one call each (53-bit radius and 32-bit angle for Box-Muller, 32-bit
  acceptance uniform; 32 bits are ample for the last two).
* `negative_binomial`: inversion for mean < 30 uses sub 0; otherwise the gamma stage
  at ``site``, the Poisson stage at ``site ^ 0x9E3779B9``.

Use a given ``(site, day, family)`` with one function per run: e.g. `uniform` and
`poisson` at the same counters read the same words.  The 16-bit ``sub`` wraps, which
a rejection loop would need ~65,000 consecutive rejections to notice.

Common parameters: ``key`` from `make_key`; ``runs`` a 1-D uint32 array of run ids
(other integer dtypes are range-checked and converted); ``day`` in [0, 65536);
``site`` and ``family`` uint32.  Distribution parameters are scalars or arrays the
length of ``runs``.
"""

from __future__ import annotations

import math
import operator
import threading
import zlib
from typing import Any

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = [
    "Key",
    "make_key",
    "fresh_seed",
    "site_id",
    "philox4x32",
    "philox_block",
    "uniform",
    "bernoulli",
    "bernoulli_select",
    "integers",
    "normal",
    "poisson",
    "gamma",
    "negative_binomial",
    "negative_binomial_parameters",
    "negative_binomial_threshold",
    "NEGATIVE_BINOMIAL_MAX_MEAN",
    "POISSON_MAX_MEAN",
    "lognormal",
    "lognormal_parameters",
    "poisson_parameters",
    "draws_consumed",
    "count_draws",
    "reset_draw_count",
]

Key = tuple[int, int]
FloatArg = NDArray[np.float64] | float

_U32 = 0xFFFFFFFF
_M0_INT, _M1_INT, _W0_INT, _W1_INT = 0xD2511F53, 0xCD9E8D57, 0x9E3779B9, 0xBB67AE85
_NB_SALT = 0x9E3779B9
# Below which mean `negative_binomial` inverts the pmf instead of mixing gamma and Poisson.
_NB_METHODS = {"auto": 30.0, "gamma-poisson": 0.0}
_POISSON_AHEAD = 8  # CDF terms a Poisson or negative-binomial search forms before it branches
_NB_SLOTS = 16  # (mean, dispersion) pairs whose CDF terms are kept ...
_NB_TERMS = 512  # ... and how many terms of each; the search goes on past them
_NB_GROUPS = 64  # pairs a negative-binomial call draws a pair at a time, at most
_NB_GROUP_MIN = 64  # elements below which a call draws them in order
_GOLDEN = np.int64(-7046029254386353131)  # 0x9E3779B97F4A7C15, signed: Fibonacci hashing
_HASH_SHIFT = 54  # the product's top ten bits index the table of 16 * _NB_GROUPS
# PTRS casts k to int64; numpy applies the same ceiling to its Poisson sampler.
_LAM_MAX = float(np.iinfo(np.int64).max - 10 * math.sqrt(np.iinfo(np.int64).max))
POISSON_MAX_MEAN = _LAM_MAX
"""The largest mean `poisson` (and `poisson_parameters`) takes."""
NEGATIVE_BINOMIAL_MAX_MEAN = 1e15
"""The largest mean `negative_binomial` (and `negative_binomial_parameters`) takes."""
# Words stay uint32 with uint64 products so LLVM maps the rounds onto SIMD 32x32->64
# multiplies; a signed operand would make numba promote the arithmetic to float64.
_M0, _M1, _S32 = np.uint64(_M0_INT), np.uint64(_M1_INT), np.uint64(32)
_W0, _W1 = np.uint32(_W0_INT), np.uint32(_W1_INT)
_INV53, _INV32, _TWO_PI = 2.0**-53, 2.0**-32, 2.0 * math.pi
_FMAX = float(np.finfo(np.float64).max)

# error_model="numpy" drops per-division zero checks; no kernel divides by zero.
_jit = numba.njit(cache=True, nogil=True, error_model="numpy")
# The loop vectoriser only sees code that numba has inlined at IR level.
_jit_inline = numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")

# Per thread, so blocks simulated at once on threads (a threaded or Dask executor)
# do not count each other's draws.
_counter = threading.local()


# ------------------------------------------------------------------------------ numba
@_jit_inline
def _rounds(k0, k1, c0, c1, c2, c3):
    for _ in range(10):
        p0, p1 = np.uint64(c0) * _M0, np.uint64(c2) * _M1
        c0, c1, c2, c3 = (
            np.uint32(p1 >> _S32) ^ c1 ^ k0,
            np.uint32(p1),
            np.uint32(p0 >> _S32) ^ c3 ^ k1,
            np.uint32(p0),
        )
        k0, k1 = np.uint32(k0 + _W0), np.uint32(k1 + _W1)
    return np.uint32(c0), np.uint32(c1), np.uint32(c2), np.uint32(c3)


@_jit
def _philox(k0, k1, c0, c1, c2, c3):
    return _rounds(
        np.uint32(k0), np.uint32(k1), np.uint32(c0), np.uint32(c1), np.uint32(c2), np.uint32(c3)
    )


@_jit_inline
def _c1(day, sub):
    return (day & 0xFFFF) | ((sub & 0xFFFF) << 16)


@_jit
def _fill(k0, k1, runs, c1, c2, c3):
    # One SIMD pass for every element's first call; rejection loops fetch the rest.
    w = np.empty((4, runs.shape[0]), np.uint32)
    w0, w1, w2, w3 = w[0], w[1], w[2], w[3]
    K0, K1, C1, C2, C3 = (np.uint32(k0), np.uint32(k1), np.uint32(c1), np.uint32(c2), np.uint32(c3))
    for i in range(runs.shape[0]):
        w0[i], w1[i], w2[i], w3[i] = _rounds(K0, K1, runs[i], C1, C2, C3)
    return w


@_jit_inline
def _u53(a, b):
    return np.float64((np.int64(a) >> 5) * 67108864 + (np.int64(b) >> 6)) * _INV53


@_jit_inline
def _u53_open(a, b):
    return np.float64(((np.int64(a) >> 5) * 67108864 + (np.int64(b) >> 6)) | 1) * _INV53


@_jit_inline
def _pick(arr, i):
    # Length-1 parameter arrays stand for scalars, which saves a broadcast copy.
    return arr[0] if arr.shape[0] == 1 else arr[i]


@_jit
def _poisson_cdf(lam):
    """CDF terms exactly as `_poisson_one` forms them, up to where the sum stops growing.

    For lam < 30 that is at most 86 terms; the tail left out has mass of order 2**-53.
    """
    cdf = np.empty(256)
    p = math.exp(-lam)
    cdf[0], n = p, 1
    while True:
        p *= lam / n
        if cdf[n - 1] + p == cdf[n - 1]:
            return cdf[:n]
        cdf[n] = cdf[n - 1] + p
        n += 1


@_jit_inline
def _poisson_one(k0, k1, c0, day, c2, c3, lam, w0, w1, w2, w3):
    """Return (draw, philox_calls); ``w0..w3`` are the element's words at sub 0."""
    if lam == 0.0:
        return 0, 0
    if lam < 30.0:
        u = _u53(w0, w1)
        p = math.exp(-lam)
        cdf, k = p, 0
        while u > cdf:
            k += 1
            p *= lam / k
            if cdf + p == cdf:  # sum saturated: the remaining tail is below rounding
                break
            cdf += p
        return k, 1
    # PTRS (Hoermann 1993) with numpy's constants.
    slam, loglam = math.sqrt(lam), math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    log_invalpha = math.log(1.1239 + 1.1328 / (b - 3.4))
    vr = 0.9277 - 3.6224 / (b - 2.0)
    it = 0
    while True:
        if it > 0:
            w0, w1, w2, w3 = _philox(k0, k1, c0, _c1(day, it), c2, c3)
        it += 1
        uu, v = _u53(w0, w1) - 0.5, _u53(w2, w3)
        us = 0.5 - abs(uu)
        if us <= 0.0:  # u == 0 exactly; numpy's formula would give k = -inf and reject
            continue
        k = np.floor((2.0 * a / us + b) * uu + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return np.int64(k), it
        if k < 0.0 or (us < 0.013 and v > us):
            continue
        if math.log(v) + log_invalpha - math.log(
            a / (us * us) + b
        ) <= -lam + k * loglam - math.lgamma(k + 1.0):
            return np.int64(k), it


@_jit_inline
def _gamma_one(k0, k1, c0, day, c2, c3, shape, b0, b1, w0, w1, w2, w3):
    """Return (draw, philox_calls); words ``b0, b1`` at sub 0, ``w0..w3`` at sub 1."""
    calls, boost = 1, 1.0
    if shape < 1.0:
        calls, boost = 2, _u53_open(b0, b1) ** (1.0 / shape)
        shape += 1.0
    d = shape - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    it = 1
    while True:
        if it > 1:
            w0, w1, w2, w3 = _philox(k0, k1, c0, _c1(day, it), c2, c3)
            calls += 1
        it += 1
        x = math.sqrt(-2.0 * math.log(_u53_open(w0, w1))) * math.cos(
            _TWO_PI * np.float64(w2) * _INV32
        )
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v, u, x2 = v * v * v, (np.float64(w3) + 0.5) * _INV32, x * x
        if u < 1.0 - 0.0331 * x2 * x2 or math.log(u) < 0.5 * x2 + d * (1.0 - v + math.log(v)):
            return d * v * boost, calls


@_jit
def _gamma_words(k0, k1, runs, day, site, fam, shape):
    w = _fill(k0, k1, runs, _c1(day, 1), site, fam)
    # Without a boost the sub-0 words are never read, so any same-shaped array will do.
    wb = _fill(k0, k1, runs, _c1(day, 0), site, fam) if np.any(shape < 1.0) else w
    return wb, w


@_jit
def _block_kernel(k0, k1, n):
    out = np.empty((n, 4), np.uint32)
    K0, K1, zero = np.uint32(k0), np.uint32(k1), np.uint32(0)
    for i in range(n):
        out[i, 0], out[i, 1], out[i, 2], out[i, 3] = _rounds(
            K0, K1, np.uint32(i & 0xFFFFFFFF), np.uint32(i >> 32), zero, zero
        )
    return out


@_jit
def _uniform_kernel(k0, k1, runs, c1, site, fam):
    w = _fill(k0, k1, runs, c1, site, fam)
    out = np.empty(runs.shape[0], np.float64)
    for i in range(runs.shape[0]):
        out[i] = _u53(w[0, i], w[1, i])
    return out


@_jit
def _bernoulli_kernel(k0, k1, runs, c1, site, fam, p):
    w = _fill(k0, k1, runs, c1, site, fam)
    out = np.empty(runs.shape[0], np.bool_)
    for i in range(runs.shape[0]):
        out[i] = _u53(w[0, i], w[1, i]) < _pick(p, i)
    return out


@_jit_inline
def _positions(mask):
    # The indices where ``mask`` (one byte per element) is nonzero: the first ``m``
    # elements of the returned buffer.  Masks are mostly sparse, so eight bytes
    # are tested at once and only a word with a nonzero byte is scanned, branch-free.
    n = mask.shape[0]
    where = np.empty(n, np.int64)
    m = 0
    words = n >> 3
    packed = np.ascontiguousarray(mask[: words << 3]).view(np.uint64)
    for w in range(words):
        if packed[w] != 0:
            for i in range(w << 3, (w << 3) + 8):
                where[m] = i
                m += mask[i] != 0
    for i in range(words << 3, n):
        where[m] = i
        m += mask[i] != 0
    return where, m


@_jit
def _select_kernel(k0, k1, runs, candidates, c1, site, fam, p):
    # The same words and comparison as `_bernoulli_kernel`, for the candidates only:
    # gather them, draw in one SIMD pass, keep the successes (both branch-free).
    where, m = _positions(candidates)
    ids = np.empty(m, np.uint32)
    for j in range(m):
        ids[j] = runs[where[j]]
    w = _fill(k0, k1, ids, c1, site, fam)
    out = np.empty(m, np.int64)
    k = 0
    for j in range(m):
        out[k] = where[j]
        k += _u53(w[0, j], w[1, j]) < p
    return out[:k].copy(), m


@_jit
def _in_range(a, lo, hi, lo_open):
    # One pass for what would be four NumPy reductions; NaN fails every comparison.
    for i in range(a.shape[0]):
        x = a[i]
        if not ((x > lo if lo_open else x >= lo) and x <= hi):
            return False
    return True


@_jit
def _normal_kernel(k0, k1, runs, day, site, fam, median, sigma, log):
    w = _fill(k0, k1, runs, _c1(day, 0), site, fam)
    out = np.empty(runs.shape[0], np.float64)
    for i in range(runs.shape[0]):
        z = math.sqrt(-2.0 * math.log(_u53_open(w[0, i], w[1, i]))) * math.cos(
            _TWO_PI * _u53(w[2, i], w[3, i])
        )
        out[i] = _pick(median, i) * math.exp(_pick(sigma, i) * z) if log else z
    return out


@_jit
def _poisson_kernel(k0, k1, runs, day, site, fam, lam):
    w = _fill(k0, k1, runs, _c1(day, 0), site, fam)
    out = np.empty(runs.shape[0], np.int64)
    if lam.shape[0] == 1 and 0.0 < lam[0] < 30.0:
        # Same search as `_poisson_one` over a shared table, but branch-free per element.
        cdf = _poisson_cdf(lam[0])
        for i in range(runs.shape[0]):
            u, k = _u53(w[0, i], w[1, i]), 0
            for j in range(cdf.shape[0]):
                k += u > cdf[j]
            out[i] = k
        return out, runs.shape[0]
    # Per element: the first `_POISSON_AHEAD` CDF terms of `_poisson_one`'s search,
    # formed by the same operations in the same order, but counted without a branch:
    # the count of terms below u is where the search stops, unless it passes them all.
    # (A sum that saturates within them stays level, so u passes it too.)  The
    # exponentials and uniforms come first, in a loop of their own, so that the terms'
    # loop has no call in it and vectorises, divisions included.
    m = runs.shape[0]
    rates = lam if lam.shape[0] == m else np.full(m, lam[0])
    u = np.empty(m)
    first = np.empty(m)
    for i in range(m):
        u[i] = _u53(w[0, i], w[1, i])
        first[i] = math.exp(-rates[i])
    below = np.empty(m, np.int64)
    for i in range(m):
        rate, p, ui = rates[i], first[i], u[i]
        cdf, count = p, 0
        for j in range(1, _POISSON_AHEAD + 1):
            count += ui > cdf
            p *= rate / j
            cdf += p
        below[i] = count
    calls = 0
    for i in range(m):
        rate = rates[i]
        if 0.0 < rate < 30.0 and below[i] < _POISSON_AHEAD:
            out[i] = below[i]
            calls += 1
            continue
        out[i], n = _poisson_one(
            k0, k1, runs[i], day, site, fam, rate, w[0, i], w[1, i], w[2, i], w[3, i]
        )
        calls += n
    return out, calls


@_jit
def _gamma_kernel(k0, k1, runs, day, site, fam, shape):
    wb, w = _gamma_words(k0, k1, runs, day, site, fam, shape)
    out = np.empty(runs.shape[0], np.float64)
    calls = 0
    for i in range(runs.shape[0]):
        out[i], n = _gamma_one(
            k0,
            k1,
            runs[i],
            day,
            site,
            fam,
            _pick(shape, i),
            wb[0, i],
            wb[1, i],
            w[0, i],
            w[1, i],
            w[2, i],
            w[3, i],
        )
        calls += n
    return out, calls


@_jit_inline
def _negbin_mixture(k0, k1, c0, day, site, fam, mean, disp, b0, b1):
    """Return (draw, philox_calls) of the gamma-Poisson mixture for one element; words
    ``b0, b1`` at sub 0."""
    w0, w1, w2, w3 = _philox(k0, k1, c0, _c1(day, 1), site, fam)
    g, n = _gamma_one(k0, k1, c0, day, site, fam, disp, b0, b1, w0, w1, w2, w3)
    site2 = site ^ _NB_SALT
    w0, w1, w2, w3 = _philox(k0, k1, c0, _c1(day, 0), site2, fam)
    # The clamp only keeps PTRS's int64 cast defined; no sane mean gets near it.
    x, n2 = _poisson_one(
        k0, k1, c0, day, site2, fam, min(g * (mean / disp), _LAM_MAX), w0, w1, w2, w3
    )
    return x, n + n2


@_jit_inline
def _negbin_term(p, j, q, k):
    """The pmf's term ``j`` from term ``j - 1``: P(j) = P(j - 1) * q * (j - 1 + k) / j."""
    return p * (q * (j - 1 + k) / j)


@_jit_inline
def _keep_term(row, n, p_n, q, k):
    """Append term ``n`` of the CDF to ``row`` (whose last term's pmf is ``p_n``);
    return (terms, whether the sum saturated instead, last pmf term)."""
    p = _negbin_term(p_n, n, q, k)
    if row[n - 1] + p == row[n - 1]:  # the remaining tail is below rounding
        return n, True, p_n
    row[n] = row[n - 1] + p
    return n + 1, False, p


@_jit
def _pair_order(mean, disp):
    """The positions of the elements grouped by (mean, dispersion) pair, each pair's
    in order, and where each group starts (one more than the groups); two empty
    arrays where grouping would not pay: one pair for all, fewer than
    `_NB_GROUP_MIN` elements, or most of them in pairs it does not group.

    A pair is told by its bits, through a direct-mapped table. The first
    `_NB_GROUPS` pairs that find their entry free have a group each; the elements of
    the others share the last group, in order.
    """
    m = max(mean.shape[0], disp.shape[0])
    nothing = np.empty(0, np.int64)
    if m < _NB_GROUP_MIN or (mean.shape[0] == 1 and disp.shape[0] == 1):
        return nothing, nothing
    mean_bits = np.ascontiguousarray(mean).view(np.int64)
    disp_bits = np.ascontiguousarray(disp).view(np.int64)
    size = 16 * _NB_GROUPS
    held_mean = np.zeros(size, np.int64)
    held_disp = np.zeros(size, np.int64)
    group = np.full(size, -1, np.int64)
    which = np.empty(m, np.int64)
    count = np.zeros(_NB_GROUPS + 2, np.int64)
    groups = 0
    for i in range(m):
        a, b = _pick(mean_bits, i), _pick(disp_bits, i)
        h = (((a ^ (b << 1)) * _GOLDEN) >> _HASH_SHIFT) & (size - 1)
        g = group[h]
        if g < 0 or held_mean[h] != a or held_disp[h] != b:
            if g >= 0 or groups == _NB_GROUPS:
                g = _NB_GROUPS  # the last group: taken entry, or too many pairs
            else:
                g = group[h] = groups
                held_mean[h], held_disp[h] = a, b
                groups += 1
        which[i] = g
        count[g + 1] += 1
    if count[_NB_GROUPS + 1] > m // 2:  # mostly pairs of their own: no stretch to keep
        return nothing, nothing
    for g in range(_NB_GROUPS + 1):
        count[g + 1] += count[g]
    starts = count.copy()
    order = np.empty(m, np.int64)
    for i in range(m):
        g = which[i]
        order[count[g]] = i
        count[g] += 1
    return order, starts


@_jit
def _negbin_kernel(k0, k1, runs, day, site, fam, mean, disp, below):
    # A draw depends only on its own words (its run's counters) and its pair's terms,
    # so the elements may be drawn a pair at a time (`_pair_order`): the search then
    # meets one pair per call, and costs neither the lookup of a pair's terms nor
    # mispredicted branches: about half the time when the pairs vary.
    order, starts = _pair_order(mean, disp)
    if order.shape[0] == 0:
        return _negbin_in_order(k0, k1, runs, day, site, fam, mean, disp, below)
    out = np.empty(order.shape[0], np.int64)
    calls = 0
    mixed = starts.shape[0] - 2  # the last group: elements of pairs not grouped
    for g in range(mixed + 1):
        part = order[starts[g] : starts[g + 1]]
        size = part.shape[0]
        if size == 0:
            continue
        ids = np.empty(size, runs.dtype)
        for v in range(size):
            ids[v] = runs[part[v]]
        if g < mixed:  # one pair: its two numbers stand for every element
            pair_mean = np.full(1, _pick(mean, part[0]))
            pair_disp = np.full(1, _pick(disp, part[0]))
        else:
            pair_mean, pair_disp = np.empty(size), np.empty(size)
            for v in range(size):
                pair_mean[v], pair_disp[v] = _pick(mean, part[v]), _pick(disp, part[v])
        drawn, drawn_calls = _negbin_in_order(
            k0, k1, ids, day, site, fam, pair_mean, pair_disp, below
        )
        calls += drawn_calls
        for v in range(size):
            out[part[v]] = drawn[v]
    return out, calls


@_jit
def _negbin_in_order(k0, k1, runs, day, site, fam, mean, disp, below):
    w = _fill(k0, k1, runs, _c1(day, 0), site, fam)
    out = np.zeros(runs.shape[0], np.int64)
    calls = 0
    # Inversion by sequential search of the CDF, whose terms are kept for the last few
    # (mean, dispersion) pairs (a call holds few pairs: a rate times small counts): a
    # pair's first `_POISSON_AHEAD` when it first comes, so that most searches count
    # them without a branch, then as far as a search needs them, up to `_NB_TERMS`.
    # A repeated pair costs neither the log and exp of P(0) nor the divisions, and the
    # terms are formed in the same order either way, so the draws do not depend on
    # what is kept.  The pair in use lives in locals (``row``, ``n``, ``sat``, ``p_n``:
    # its terms, how many, whether the sum saturated after them, the last pmf term),
    # written back to its slot when another pair comes.
    cdf = np.empty((_NB_SLOTS, _NB_TERMS))
    tag = np.full((_NB_SLOTS, 2), -1.0)
    p_last = np.empty(_NB_SLOTS)
    terms, saturated = np.zeros(_NB_SLOTS, np.int64), np.zeros(_NB_SLOTS, np.bool_)
    slot, used, oldest = 0, 0, 0
    row, n, sat, p_n, q, cur_m, cur_k = cdf[0], 0, False, 0.0, 0.0, -1.0, -1.0
    for i in range(runs.shape[0]):
        m, k = _pick(mean, i), _pick(disp, i)
        if m == 0.0:
            continue
        if m >= below:
            out[i], c = _negbin_mixture(k0, k1, runs[i], day, site, fam, m, k, w[0, i], w[1, i])
            calls += c
            continue
        calls += 1
        if m != cur_m or k != cur_k:
            terms[slot], saturated[slot], p_last[slot] = n, sat, p_n
            q, cur_m, cur_k = m / (m + k), m, k
            slot = 0
            while slot < used and (tag[slot, 0] != m or tag[slot, 1] != k):
                slot += 1
            row = cdf[slot]
            if slot < used:
                n, sat, p_n = terms[slot], saturated[slot], p_last[slot]
            else:
                # A new pair: the next free slot, or the oldest once all are taken.
                if used < _NB_SLOTS:
                    used += 1
                else:
                    slot, oldest = oldest, (oldest + 1) % _NB_SLOTS
                    row = cdf[slot]
                tag[slot, 0], tag[slot, 1] = m, k
                p_n = row[0] = math.exp(-k * math.log1p(m / k))
                n, sat = 1, False
                while not sat and n < _POISSON_AHEAD:
                    n, sat, p_n = _keep_term(row, n, p_n, q, k)
                row[n:_POISSON_AHEAD] = row[n - 1]  # a saturated sum carried on level
        u = _u53(w[0, i], w[1, i])
        j = 0
        for t in range(_POISSON_AHEAD):
            j += u > row[t]
        if j == _POISSON_AHEAD:  # past the terms formed ahead: the search goes on
            while not sat and n < _NB_TERMS and u > row[n - 1]:
                n, sat, p_n = _keep_term(row, n, p_n, q, k)
            j = min(n, _POISSON_AHEAD)
            while j < n and u > row[j]:
                j += 1
            if j == n and not sat:  # past every kept term: on, without keeping them
                p, c, j = p_n, row[n - 1], n - 1
                while u > c:
                    j += 1
                    p = _negbin_term(p, j, q, k)
                    if c + p == c:  # the remaining tail is below rounding
                        break
                    c += p
        out[i] = j
    return out, calls


# ------------------------------------------------------------------------- validation
def _add_draws(n: int) -> None:
    _counter.draws = getattr(_counter, "draws", 0) + int(n)


def _u32(value: int, name: str) -> int:
    v = operator.index(value)
    if not 0 <= v <= _U32:
        raise ValueError(f"{name} must be in [0, 2**32), got {v}")
    return v


def _is_u32(value: object) -> bool:
    return type(value) is int and 0 <= value <= _U32


def _prep(
    key: Key, runs: NDArray[Any], day: int, site: int, family: int, sub: int = 0
) -> tuple[int, int, NDArray[np.uint32], int, int, int, int]:
    if (
        type(runs) is np.ndarray
        and runs.dtype == np.uint32
        and runs.ndim == 1
        and runs.flags.c_contiguous
        and type(day) is int
        and 0 <= day <= 0xFFFF
        and type(sub) is int
        and 0 <= sub <= 0xFFFF
        and _is_u32(family)
        and _is_u32(site)
        and len(key) == 2
        and _is_u32(key[0])
        and _is_u32(key[1])
    ):
        # The engine's own calls: already checked values, no conversion needed.
        return key[0], key[1], runs, day, site, family, sub
    if len(key) != 2:
        raise ValueError(f"key must be a pair of uint32, got {key!r}")
    d, s = operator.index(day), operator.index(sub)
    if not (0 <= d <= 0xFFFF and 0 <= s <= 0xFFFF):
        raise ValueError(f"day and sub must be in [0, 65536), got {d} and {s}")
    arr = np.asarray(runs)
    if arr.ndim != 1:
        raise ValueError(f"runs must be one-dimensional, got shape {arr.shape}")
    if arr.dtype.kind not in "iu":
        raise TypeError(f"runs must be an integer array (uint32), got dtype {arr.dtype}")
    if arr.dtype != np.uint32:
        if arr.size and (arr.min() < 0 or arr.max() > _U32):
            raise ValueError("run ids must be in [0, 2**32)")
        arr = arr.astype(np.uint32)
    return (
        _u32(key[0], "key[0]"),
        _u32(key[1], "key[1]"),
        np.ascontiguousarray(arr),
        d,
        _u32(site, "site"),
        _u32(family, "family"),
        s,
    )


def _param(
    x: FloatArg, n: int, name: str, lo: float, hi: float, lo_open: bool = False
) -> NDArray[np.float64]:
    if isinstance(x, float | int) and not isinstance(x, bool):
        # A plain number: the same checks, without array round trips (a hot path).
        v = float(x)
        if v != v:
            raise ValueError(f"{name} must not be NaN")
        if (v <= lo if lo_open else v < lo) or v > hi:
            raise ValueError(
                f"{name} must lie in {'(' if lo_open else '['}{lo}, {hi}], got values in [{v}, {v}]"
            )
        return np.array([v])
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 0 and a.shape != (n,):
        raise ValueError(f"{name} must be a scalar or have shape ({n},), got {a.shape}")
    arr = np.ascontiguousarray(a.reshape(-1))
    if _in_range(arr, lo, hi, lo_open):
        return arr
    if np.isnan(arr).any():
        raise ValueError(f"{name} must not be NaN")
    if ((arr <= lo) if lo_open else (arr < lo)).any() or (arr > hi).any():
        raise ValueError(
            f"{name} must lie in {'(' if lo_open else '['}{lo}, {hi}], got "
            f"values in [{arr.min()}, {arr.max()}]"
        )
    return arr


# ------------------------------------------------------------------------- public API
def make_key(seed: int | np.random.SeedSequence) -> Key:
    """Derive the Philox key from a root seed.

    Parameters
    ----------
    seed : int or numpy.random.SeedSequence
        Non-negative integer (0 is valid) or a ready seed sequence.

    Returns
    -------
    tuple of int
        ``SeedSequence(seed).generate_state(2, np.uint32)`` as two Python ints.

    Raises
    ------
    ValueError
        If `seed` is a negative integer.
    """
    if not isinstance(seed, np.random.SeedSequence):
        if operator.index(seed) < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed}")
        seed = np.random.SeedSequence(operator.index(seed))
    state = seed.generate_state(2, np.uint32)
    return int(state[0]), int(state[1])


def fresh_seed() -> int:
    """Return a root seed of up to 128 bits from OS entropy, for the caller to record."""
    entropy = np.random.SeedSequence().entropy
    if not isinstance(entropy, int):
        raise RuntimeError("SeedSequence() did not produce integer entropy")
    return entropy


def site_id(name: str) -> int:
    """Return the 32-bit id of a named draw site, e.g. ``"rule:pakistan.retaliate:fire"``.

    CRC-32 of the UTF-8 name, stable across processes and Python versions (unlike
    the salted built-in ``hash``).
    """
    return zlib.crc32(name.encode("utf-8")) & _U32


def philox4x32(key: Key, counter: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """Evaluate Philox4x32-10 in pure Python, as the reference for the compiled kernels.

    Parameters
    ----------
    key : tuple of int
        Two uint32 words.
    counter : tuple of int
        Four uint32 words.

    Returns
    -------
    tuple of int
        Four uint32 output words.
    """
    k0, k1 = (_u32(k, "key word") for k in key)
    c0, c1, c2, c3 = (_u32(c, "counter word") for c in counter)
    for _ in range(10):
        p0, p1 = _M0_INT * c0, _M1_INT * c2
        c0, c1, c2, c3 = (p1 >> 32) ^ c1 ^ k0, p1 & _U32, (p0 >> 32) ^ c3 ^ k1, p0 & _U32
        k0, k1 = (k0 + _W0_INT) & _U32, (k1 + _W1_INT) & _U32
    return c0, c1, c2, c3


def philox_block(key: Key, n: int) -> NDArray[np.uint32]:
    """Make `n` Philox calls on counters ``(i & 0xFFFFFFFF, i >> 32, 0, 0)``.

    For timing the raw generator, so it is not added to `draws_consumed`.

    Returns
    -------
    ndarray of uint32, shape (n, 4)
    """
    if operator.index(n) < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    return np.asarray(
        _block_kernel(_u32(key[0], "key[0]"), _u32(key[1], "key[1]"), operator.index(n)),
        dtype=np.uint32,
    )


def uniform(
    key: Key, runs: NDArray[np.uint32], day: int, site: int, family: int = 0, sub: int = 0
) -> NDArray[np.float64]:
    """Draw one uniform in [0, 1) per run, with 53 random bits from words w0 and w1.

    Parameters
    ----------
    key, runs, day, site, family
        See the module docstring.
    sub : int
        Sub-index in [0, 65536), for several independent uniforms per run and day.

    Returns
    -------
    ndarray of float64
    """
    k0, k1, r, d, s, f, sb = _prep(key, runs, day, site, family, sub)
    _add_draws(r.shape[0])
    return np.asarray(_uniform_kernel(k0, k1, r, d | (sb << 16), s, f), dtype=np.float64)


def bernoulli(
    key: Key, runs: NDArray[np.uint32], day: int, site: int, p: FloatArg, family: int = 0
) -> NDArray[np.bool_]:
    """Return ``uniform(...) < p`` per run, for probabilities `p` in [0, 1]."""
    k0, k1, r, d, s, f, _ = _prep(key, runs, day, site, family)
    pa = _param(p, r.shape[0], "p", 0.0, 1.0)
    _add_draws(r.shape[0])
    return np.asarray(_bernoulli_kernel(k0, k1, r, d, s, f, pa), dtype=np.bool_)


def bernoulli_select(
    key: Key,
    runs: NDArray[np.uint32],
    candidates: NDArray[np.bool_],
    day: int,
    site: int,
    p: float,
    family: int = 0,
) -> NDArray[np.int64]:
    """Positions ``i`` where ``candidates[i]`` and a Bernoulli(`p`) draw for run ``runs[i]``
    succeeds: ``np.flatnonzero(candidates)[bernoulli(key, runs[candidates], ...)]``,
    in one pass, drawing for the candidates only.

    Parameters
    ----------
    runs
        Run ids, as for `bernoulli`.
    candidates
        Boolean array the length of `runs`.
    p
        One probability in [0, 1] for every candidate.
    """
    k0, k1, r, d, s, f, _ = _prep(key, runs, day, site, family)
    mask = np.asarray(candidates)
    if mask.dtype != np.bool_ or mask.shape != r.shape:
        raise ValueError(f"candidates must be a boolean array of shape {r.shape}")
    probability = _param(float(p), r.shape[0], "p", 0.0, 1.0)[0]
    chosen, drawn = _select_kernel(
        k0, k1, r, np.ascontiguousarray(mask).view(np.uint8), d, s, f, probability
    )
    _add_draws(drawn)
    return np.asarray(chosen, dtype=np.int64)


def integers(
    key: Key, runs: NDArray[np.uint32], day: int, site: int, low: int, high: int, family: int = 0
) -> NDArray[np.int64]:
    """Draw ``low + floor(u * (high - low + 1))`` per run: inclusive [`low`, `high`].

    The range may span at most 2**53 values; the bias is then below span / 2**53.
    """
    lo, hi = operator.index(low), operator.index(high)
    span = hi - lo + 1
    if not (1 <= span <= 2**53 and -(2**62) <= lo <= 2**62):
        raise ValueError(f"need low <= high and at most 2**53 values, got [{lo}, {hi}]")
    # u * span rounds up to span itself for u near 1 once span nears 2**53.
    k = np.minimum((uniform(key, runs, day, site, family) * span).astype(np.int64), span - 1)
    return np.asarray(k + lo, dtype=np.int64)


def normal(
    key: Key, runs: NDArray[np.uint32], day: int, site: int, family: int = 0
) -> NDArray[np.float64]:
    """Draw one standard normal per run by Box-Muller from a single Philox call."""
    k0, k1, r, d, s, f, _ = _prep(key, runs, day, site, family)
    _add_draws(r.shape[0])
    one = np.ones(1)
    return np.asarray(_normal_kernel(k0, k1, r, d, s, f, one, one, False), dtype=np.float64)


def lognormal(
    key: Key,
    runs: NDArray[np.uint32],
    day: int,
    site: int,
    median: FloatArg,
    sigma: FloatArg,
    family: int = 0,
) -> NDArray[np.float64]:
    """Draw ``median * exp(sigma * z)`` per run, ``z`` being `normal` at the same counters."""
    k0, k1, r, d, s, f, _ = _prep(key, runs, day, site, family)
    med, sig = lognormal_parameters(median, sigma, r.shape[0])
    _add_draws(r.shape[0])
    return np.asarray(_normal_kernel(k0, k1, r, d, s, f, med, sig, True), dtype=np.float64)


def poisson(
    key: Key, runs: NDArray[np.uint32], day: int, site: int, lam: FloatArg, family: int = 0
) -> NDArray[np.int64]:
    """Draw Poisson(`lam`) counts per run.

    Inversion by sequential search for ``lam < 30`` (one call; the search stops where
    the CDF sum stops growing in float64), PTRS rejection (Hoermann 1993) for
    ``lam >= 30``; ``lam == 0`` gives 0 without a call.

    Raises
    ------
    ValueError
        If any `lam` is negative, NaN, or above about 9.2e18.
    """
    k0, k1, r, d, s, f, _ = _prep(key, runs, day, site, family)
    la = poisson_parameters(lam, r.shape[0])
    out, calls = _poisson_kernel(k0, k1, r, d, s, f, la)
    _add_draws(calls)
    return np.asarray(out, dtype=np.int64)


def gamma(
    key: Key, runs: NDArray[np.uint32], day: int, site: int, shape: FloatArg, family: int = 0
) -> NDArray[np.float64]:
    """Draw Gamma(`shape`, scale 1) per run: Marsaglia-Tsang, boosted by u**(1/shape) below 1.

    Raises
    ------
    ValueError
        If any `shape` is not positive and finite.
    """
    k0, k1, r, d, s, f, _ = _prep(key, runs, day, site, family)
    sa = _param(shape, r.shape[0], "shape", 0.0, _FMAX, lo_open=True)
    out, calls = _gamma_kernel(k0, k1, r, d, s, f, sa)
    _add_draws(calls)
    return np.asarray(out, dtype=np.float64)


def negative_binomial(
    key: Key,
    runs: NDArray[np.uint32],
    day: int,
    site: int,
    mean: FloatArg,
    dispersion: FloatArg,
    family: int = 0,
    method: str = "auto",
) -> NDArray[np.int64]:
    """Draw counts with mean `mean` and variance ``mean + mean**2 / dispersion``.

    ``mean == 0`` gives 0 without a call.  With ``method="auto"``, a mean below 30 is
    drawn by inversion: one call, one uniform, and a sequential search of the pmf
    ``P(0) = (k / (k + m))**k``, ``P(j) = P(j - 1) * m / (m + k) * (j - 1 + k) / j``
    that stops where the CDF sum stops growing in float64 (as `poisson` does below
    30).  Larger means, and every mean with ``method="gamma-poisson"``, use the
    gamma-Poisson mixture: ``lam ~ Gamma(dispersion, mean / dispersion)`` at `site`,
    then ``Poisson(lam)`` at ``site ^ 0x9E3779B9``.  Both are exact samplers of the
    same distribution; they read different words, so they give different draws.

    Raises
    ------
    ValueError
        If `mean` is negative, NaN or above 1e15, `dispersion` is not positive and
        finite, or `method` is neither ``"auto"`` nor ``"gamma-poisson"``.
    """
    below = negative_binomial_threshold(method)
    k0, k1, r, d, s, f, _ = _prep(key, runs, day, site, family)
    ma, ka = negative_binomial_parameters(mean, dispersion, r.shape[0])
    out, calls = _negbin_kernel(k0, k1, r, d, s, f, ma, ka, below)
    _add_draws(calls)
    return np.asarray(out, dtype=np.int64)


def poisson_parameters(lam: FloatArg, n: int) -> NDArray[np.float64]:
    """`poisson`'s rate for ``n`` draws, checked as it checks it, as its kernel takes
    it (one element for all, or one per draw).

    Raises
    ------
    ValueError
        As `poisson`.
    """
    return _param(lam, n, "lam", 0.0, _LAM_MAX)


def negative_binomial_parameters(
    mean: FloatArg, dispersion: FloatArg, n: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """`negative_binomial`'s mean and dispersion for ``n`` draws, checked and laid out
    as `poisson_parameters` does.

    Raises
    ------
    ValueError
        As `negative_binomial`.
    """
    return (
        _param(mean, n, "mean", 0.0, NEGATIVE_BINOMIAL_MAX_MEAN),
        _param(dispersion, n, "dispersion", 0.0, _FMAX, lo_open=True),
    )


def lognormal_parameters(
    median: FloatArg, sigma: FloatArg, n: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """`lognormal`'s median and sigma for ``n`` draws, checked and laid out as
    `poisson_parameters` does.

    Raises
    ------
    ValueError
        As `lognormal`.
    """
    return _param(median, n, "median", 0.0, _FMAX), _param(sigma, n, "sigma", 0.0, _FMAX)


def negative_binomial_threshold(method: str) -> float:
    """The mean from which `negative_binomial`'s ``method`` uses the gamma-Poisson
    mixture (0 for ``"gamma-poisson"``), as its kernel takes it.

    Raises
    ------
    ValueError
        If `method` is neither ``"auto"`` nor ``"gamma-poisson"``.
    """
    if method not in _NB_METHODS:
        raise ValueError(f"method must be one of {sorted(_NB_METHODS)}, got {method!r}")
    return _NB_METHODS[method]


def draws_consumed() -> int:
    """Return the Philox calls this thread's kernels used since the last reset."""
    return int(getattr(_counter, "draws", 0))


def count_draws(n: int) -> None:
    """Add `n` Philox calls, made by a kernel that calls this module's kernels from
    compiled code (the model's fused steps), to `draws_consumed`."""
    _add_draws(n)


def reset_draw_count() -> None:
    """Set this thread's count reported by `draws_consumed` back to zero."""
    _counter.draws = 0
