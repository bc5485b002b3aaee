"""Tests for escalation.rng.

Statistical checks use fixed keys, so they are deterministic; the tolerances (5 standard
errors, goodness-of-fit p > 1e-4) are there so that a correct sampler passes for any
reasonable key, not to absorb run-to-run noise.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import stats

from escalation import rng

KEY = rng.make_key(20240611)
SITE = rng.site_id("test:site")
N = 200_000
RUNS = np.arange(N, dtype=np.uint32)
GOF_P = 1e-4

# Random123 kat_vectors, philox4x32 10: (key, counter, expected output).
KAT = [
    (
        (0x00000000, 0x00000000),
        (0x00000000, 0x00000000, 0x00000000, 0x00000000),
        (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8),
    ),
    (
        (0xFFFFFFFF, 0xFFFFFFFF),
        (0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF),
        (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD),
    ),
    (
        (0xA4093822, 0x299F31D0),
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


def u53(a: int, b: int) -> float:
    return ((a >> 5) * 67108864 + (b >> 6)) / 9007199254740992


def chi_square_p(
    sample: NDArray[np.int64], pmf: Callable[[NDArray[np.int64]], NDArray[np.float64]], lo: int = 0
) -> float:
    """Goodness of fit over integer bins, pooling tails until each expects >= 5 counts."""
    ks = np.arange(lo, sample.max() + 2)
    expected = pmf(ks) * sample.size
    observed = np.bincount(sample - lo, minlength=ks.size)[: ks.size].astype(float)
    left = int(np.argmax(np.cumsum(expected) >= 5))
    right = ks.size - 1 - int(np.argmax(np.cumsum(expected[::-1]) >= 5))
    obs = np.concatenate(
        [
            [observed[: left + 1].sum()],
            observed[left + 1 : right],
            [observed[right:].sum() + (sample.size - observed.sum())],
        ]
    )
    exp = np.concatenate(
        [
            [expected[: left + 1].sum()],
            expected[left + 1 : right],
            [sample.size - expected[:right].sum()],
        ]
    )
    return float(stats.chisquare(obs, exp).pvalue)


def assert_mean_var(
    x: NDArray[np.float64] | NDArray[np.int64], mean: float, var: float, fourth_central: float
) -> None:
    """Sample mean and variance within 5 standard errors of the truth."""
    n = x.size
    assert abs(x.mean() - mean) < 5 * math.sqrt(var / n)
    assert abs(x.var() - var) < 5 * math.sqrt((fourth_central - var**2) / n)


# ------------------------------------------------------------------------ the generator
@pytest.mark.parametrize(("key", "counter", "expected"), KAT)
def test_reference_philox_known_answers(key, counter, expected):
    assert rng.philox4x32(key, counter) == expected


@pytest.mark.parametrize(("key", "counter", "expected"), KAT)
def test_compiled_philox_known_answers(key, counter, expected):
    scalar = rng._philox(*key, *counter)
    assert tuple(int(w) for w in scalar) == expected
    # The SIMD fill used by every vectorised kernel, with the KAT counter in lane 0 of 20.
    runs = np.full(20, counter[0], dtype=np.uint32)
    words = rng._fill(key[0], key[1], runs, counter[1], counter[2], counter[3])
    assert all(tuple(int(w) for w in words[:, i]) == expected for i in range(20))


def test_philox_block_matches_reference():
    block = rng.philox_block(KEY, 1000)
    assert block.shape == (1000, 4)
    assert block.dtype == np.uint32
    for i in (0, 1, 7, 500, 999):
        assert tuple(int(w) for w in block[i]) == rng.philox4x32(KEY, (i, 0, 0, 0))


def test_uniform_follows_documented_counter_layout():
    runs = np.array([0, 1, 12345, 2**32 - 1], dtype=np.uint32)
    day, family, sub = 17, 9, 3
    got = rng.uniform(KEY, runs, day, SITE, family=family, sub=sub)
    for r, u in zip(runs, got, strict=True):
        w = rng.philox4x32(KEY, (int(r), day | (sub << 16), SITE, family))
        assert u == u53(w[0], w[1])


def test_normal_is_box_muller_of_one_call():
    runs = np.array([3, 99], dtype=np.uint32)
    got = rng.normal(KEY, runs, 5, SITE, family=2)
    for r, z in zip(runs, got, strict=True):
        w = rng.philox4x32(KEY, (int(r), 5, SITE, 2))
        u1 = (((w[0] >> 5) * 67108864 + (w[1] >> 6)) | 1) / 2**53
        expected = math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u53(w[2], w[3]))
        assert z == pytest.approx(expected, rel=1e-12)


def test_uniform_conversion_never_reaches_one_and_open_version_avoids_zero():
    top, zero = np.uint32(0xFFFFFFFF), np.uint32(0)
    assert rng._u53(top, top) == 1.0 - 2.0**-53
    assert rng._u53(zero, zero) == 0.0
    assert 0.0 < rng._u53_open(zero, zero) < rng._u53_open(top, top) < 1.0


# ------------------------------------------------------------------- run independence
LAM_MIX = np.where(np.arange(100) % 3 == 0, 0.0, np.linspace(0.2, 400.0, 100))
MEAN_MIX = np.where(np.arange(100) % 5 == 0, 0.0, np.linspace(0.5, 300.0, 100))
DISP_MIX = np.linspace(0.2, 20.0, 100)
SHAPE_MIX = np.linspace(0.05, 60.0, 100)

DRAWS: dict[str, Callable[[NDArray[np.uint32], NDArray[np.intp]], NDArray]] = {
    "uniform": lambda r, i: rng.uniform(KEY, r, 3, SITE, sub=2),
    "normal": lambda r, i: rng.normal(KEY, r, 3, SITE),
    "lognormal": lambda r, i: rng.lognormal(KEY, r, 3, SITE, SHAPE_MIX[i], 0.7),
    "bernoulli": lambda r, i: rng.bernoulli(KEY, r, 3, SITE, DISP_MIX[i] / 20.0),
    "integers": lambda r, i: rng.integers(KEY, r, 3, SITE, -5, 5),
    "poisson_scalar_small": lambda r, i: rng.poisson(KEY, r, 3, SITE, 3.0),
    "poisson_scalar_large": lambda r, i: rng.poisson(KEY, r, 3, SITE, 200.0),
    "poisson_mixed": lambda r, i: rng.poisson(KEY, r, 3, SITE, LAM_MIX[i]),
    "gamma_scalar": lambda r, i: rng.gamma(KEY, r, 3, SITE, 0.4),
    "gamma_mixed": lambda r, i: rng.gamma(KEY, r, 3, SITE, SHAPE_MIX[i]),
    "negative_binomial": lambda r, i: rng.negative_binomial(
        KEY, r, 3, SITE, MEAN_MIX[i], DISP_MIX[i]
    ),
    "negative_binomial_small_means": lambda r, i: rng.negative_binomial(
        KEY, r, 3, SITE, MEAN_MIX[i] / 10.0, DISP_MIX[i % 7]
    ),
    "negative_binomial_mixture": lambda r, i: rng.negative_binomial(
        KEY, r, 3, SITE, MEAN_MIX[i], DISP_MIX[i], method="gamma-poisson"
    ),
}


@pytest.mark.parametrize("name", sorted(DRAWS))
def test_run_alone_equals_run_in_block(name):
    draw = DRAWS[name]
    idx = np.arange(100)
    block = draw(idx.astype(np.uint32), idx)
    for i in (0, 5, 37, 98, 99):
        alone = draw(np.array([i], dtype=np.uint32), np.array([i]))
        assert alone.shape == (1,)
        assert alone[0] == block[i]
    # Any order and any split into blocks give the same per-run values.
    perm = np.random.default_rng(1).permutation(100)
    assert np.array_equal(draw(perm.astype(np.uint32), perm), block[perm])
    halves = np.concatenate(
        [draw(idx[:41].astype(np.uint32), idx[:41]), draw(idx[41:].astype(np.uint32), idx[41:])]
    )
    assert np.array_equal(halves, block)


def test_scalar_lambda_table_agrees_with_per_element_search():
    for lam in (1e-6, 0.5, 3.0, 17.25, 29.999999):
        scalar = rng.poisson(KEY, RUNS[:50_000], 1, SITE, lam)
        per_run = rng.poisson(KEY, RUNS[:50_000], 1, SITE, np.full(50_000, lam))
        assert np.array_equal(scalar, per_run)
    assert len(rng._poisson_cdf(29.999999)) < 128


def _poisson_inversion(u: float, lam: float) -> int:
    """The documented search (for lam < 30), written out in plain Python floats."""
    p = math.exp(-lam)
    cdf, k = p, 0
    while u > cdf:
        k += 1
        p *= lam / k
        if cdf + p == cdf:
            break
        cdf += p
    return k


def test_per_run_poisson_follows_the_documented_search():
    # Rates from tiny to just below 30, draws far past the terms the kernel forms
    # before it branches (k >= 8), and sums that saturate: each draw must be exactly
    # the plain search over its own uniform.
    n = 50_000
    runs = RUNS[:n]
    lam = np.geomspace(1e-12, 29.999, n)[np.random.default_rng(3).permutation(n)]
    x = rng.poisson(KEY, runs, 5, SITE, lam)
    u = rng.uniform(KEY, runs, 5, SITE)
    assert x.tolist() == [_poisson_inversion(u[i], lam[i]) for i in range(n)]
    assert (x >= 8).sum() > 1000
    assert (x == 0).mean() > 0.1


def test_streams_differ_by_key_site_day_sub_family_and_run():
    runs = RUNS[:1000]
    base = rng.uniform(KEY, runs, 10, SITE)
    variants = [
        rng.uniform(rng.make_key(1), runs, 10, SITE),
        rng.uniform(KEY, runs, 10, rng.site_id("test:other")),
        rng.uniform(KEY, runs, 11, SITE),
        rng.uniform(KEY, runs, 10, SITE, sub=1),
        rng.uniform(KEY, runs, 10, SITE, family=1),
        rng.uniform(KEY, runs + 1, 10, SITE),
    ]
    for other in variants:
        assert not np.any(other == base)
    # day and sub sit in different halves of c1, so they must not alias.
    day1 = rng.uniform(KEY, runs, 1, SITE, sub=0)
    assert not np.any(day1 == rng.uniform(KEY, runs, 0, SITE, sub=1))
    assert len(np.unique(base)) == base.size


def test_negative_binomial_stages_are_independent():
    m = np.full(N, 5.0)
    nb = rng.negative_binomial(KEY, RUNS, 2, SITE, m, 1.0, method="gamma-poisson")
    lam = rng.gamma(KEY, RUNS, 2, SITE, 1.0) * 5.0
    # The Poisson stage must not reuse the gamma stage's words; with shared words the
    # counts would track lam far more tightly than Poisson noise allows.
    sel = lam > 0.5
    resid = (nb[sel] - lam[sel]) / np.sqrt(lam[sel])
    assert abs(resid.mean()) < 0.02
    assert resid.var() == pytest.approx(1.0, abs=0.05)


# ----------------------------------------------------------------------- distributions
def test_uniform_distribution():
    u = rng.uniform(KEY, RUNS, 0, SITE)
    assert u.dtype == np.float64
    assert u.min() >= 0.0
    assert u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > GOF_P
    assert_mean_var(u, 0.5, 1 / 12, 1 / 80)


@pytest.mark.parametrize("lam", [0.5, 3.0, 29.9, 30.0, 200.0])
def test_poisson_distribution(lam):
    x = rng.poisson(KEY, RUNS, 4, SITE, lam)
    assert x.dtype == np.int64
    assert_mean_var(x, lam, lam, lam * (1 + 3 * lam))
    assert chi_square_p(x, stats.poisson(lam).pmf) > GOF_P


def test_poisson_per_run_lambda_distribution():
    lam = np.where(RUNS % 2 == 0, 2.0, 45.0)
    x = rng.poisson(KEY, RUNS, 4, SITE, lam)
    for value in (2.0, 45.0):
        sel = x[lam == value]
        assert chi_square_p(sel, stats.poisson(value).pmf) > GOF_P


def test_poisson_zero_rate_gives_zero():
    assert not rng.poisson(KEY, RUNS[:1000], 4, SITE, 0.0).any()


@pytest.mark.parametrize("method", ["auto", "gamma-poisson"])
@pytest.mark.parametrize(
    ("mean", "k"),
    [(0.625, 0.15), (1.25, 0.3), (4.0, 2.0), (10.0, 0.5), (29.9, 0.3), (50.0, 20.0), (5.0, 1e6)],
)
def test_negative_binomial_distribution(mean, k, method):
    x = rng.negative_binomial(KEY, RUNS, 6, SITE, mean, k, method=method)
    var = mean + mean**2 / k
    dist = stats.nbinom(k, k / (k + mean))
    assert_mean_var(x, mean, var, var**2 * (3.0 + float(dist.stats(moments="k"))))
    assert chi_square_p(x, dist.pmf) > GOF_P


def _negbin_inversion(u: float, m: float, k: float) -> int:
    """The documented search, written out in plain Python floats."""
    q, p = m / (m + k), math.exp(-k * math.log1p(m / k))
    cdf, j = p, 0
    while u > cdf:
        j += 1
        p *= q * (j - 1 + k) / j
        if cdf + p == cdf:
            break
        cdf += p
    return j


def test_negative_binomial_inversion_follows_the_documented_search():
    # Many pairs in a cycle (more than the kernel keeps terms for), tails far past the
    # kept terms (k = 0.01), draws that repeat a pair after it was dropped, and means
    # on both sides of 30: each draw must be exactly the plain search over its own
    # uniform, whatever the order of the pairs within a call.
    n = 20_000
    runs = RUNS[:n]
    pairs = [(m, k) for m in (0.2, 1.25, 7.5, 29.9, 30.0, 80.0) for k in (0.01, 0.3, 1.0, 40.0)]
    pairs += [(1e-20, 1.0), (1e-9, 0.5)]  # sums that stop growing within the first terms
    which = np.random.default_rng(7).integers(0, len(pairs), n)
    which[:2000] = np.arange(2000) // 100 % len(pairs)  # runs of equal pairs too
    means = np.array([pairs[w][0] for w in which])
    disps = np.array([pairs[w][1] for w in which])
    x = rng.negative_binomial(KEY, runs, 9, SITE, means, disps)
    u = rng.uniform(KEY, runs, 9, SITE)
    below = means < 30.0
    expected = [_negbin_inversion(u[i], means[i], disps[i]) for i in np.flatnonzero(below)]
    assert x[below].tolist() == expected
    assert x[below].max() > 512
    # From 30 up, "auto" is the gamma-Poisson mixture.
    mixture = rng.negative_binomial(KEY, runs, 9, SITE, means, disps, method="gamma-poisson")
    assert np.array_equal(x[~below], mixture[~below])
    assert not np.array_equal(x[below], mixture[below])


def test_negative_binomial_draws_a_pair_at_a_time_without_changing_a_draw():
    # The kernel visits the elements grouped by (mean, dispersion) pair; each draw
    # must be the one the elements' own order gives: with few pairs, with one more
    # pair than it groups, and with two elements in five in pairs of their own
    # (drawn together, after the grouped ones), and with one mean for all.
    n = 5_000
    runs = RUNS[:n]
    generator = np.random.default_rng(11)
    k0, k1 = KEY
    own = 1.0 + np.arange(n) * 1e-3  # a pair per element
    for pairs, alone in ((5, 0.0), (rng._NB_GROUPS + 1, 0.0), (8, 0.4)):
        means = generator.integers(1, pairs + 1, n) * 0.75
        means = np.where(generator.random(n) < alone, own, means)
        means[::97] = 0.0
        means[::89] = 45.0  # the mixture's side of 30
        disps = means * 0.4 + 0.1
        assert rng._pair_order(means, disps)[0].size == n  # drawn a pair at a time
        grouped, grouped_calls = rng._negbin_kernel(k0, k1, runs, 4, SITE, 0, means, disps, 30.0)
        plain, plain_calls = rng._negbin_in_order(k0, k1, runs, 4, SITE, 0, means, disps, 30.0)
        assert np.array_equal(grouped, plain)
        assert grouped_calls == plain_calls
    one = np.array([2.5])
    disps = generator.choice([0.2, 0.9, 3.0], n)
    grouped, _ = rng._negbin_kernel(k0, k1, runs, 4, SITE, 0, one, disps, 30.0)
    plain, _ = rng._negbin_in_order(k0, k1, runs, 4, SITE, 0, one, disps, 30.0)
    assert np.array_equal(grouped, plain)


def test_pair_order_groups_pairs_and_keeps_their_order():
    generator = np.random.default_rng(5)
    means = generator.choice([0.5, 1.0, 1.5, 2.0], 1_000)
    disps = np.where(generator.random(1_000) < 0.5, 0.3, 0.6)
    order, starts = rng._pair_order(means, disps)
    assert np.array_equal(np.sort(order), np.arange(1_000))
    # Each group is one pair's elements, in their order, and the groups follow the
    # pairs' first elements.
    groups = [order[a:b] for a, b in zip(starts[:-1], starts[1:], strict=True) if b > a]
    assert len(groups) == 8
    assert [group[0] for group in groups] == sorted(group[0] for group in groups)
    for group in groups:
        assert np.unique(means[group]).size == 1
        assert np.unique(disps[group]).size == 1
        assert np.all(np.diff(group) > 0)
    # Pairs past those it groups come last, in order.
    some = np.arange(1, rng._NB_GROUPS + 9, dtype=np.float64)
    means = np.concatenate([some, np.tile(some[: rng._NB_GROUPS], 3)])
    order, _ = rng._pair_order(means, np.full(means.size, 0.5))
    assert np.array_equal(np.sort(order), np.arange(means.size))
    assert np.all(np.diff(order[-8:]) > 0)
    assert set(means[order[-8:]].tolist()) == set(some[rng._NB_GROUPS :].tolist())
    # Mostly pairs of their own, too few elements, or one pair for all: no grouping.
    many = np.arange(1, 4 * rng._NB_GROUPS + 1, dtype=np.float64)
    few = rng._NB_GROUP_MIN - 1
    assert rng._pair_order(np.repeat(many, 2), np.full(many.size * 2, 0.5))[0].size == 0
    assert rng._pair_order(means[:few], np.full(few, 0.5))[0].size == 0
    assert rng._pair_order(np.array([1.0]), np.array([0.5]))[0].size == 0


def test_negative_binomial_inversion_uses_one_call_per_draw():
    means = np.where(RUNS[:1000] % 4 == 0, 0.0, 12.0)
    rng.reset_draw_count()
    rng.negative_binomial(KEY, RUNS[:1000], 6, SITE, means, 0.2)
    assert rng.draws_consumed() == 750
    rng.reset_draw_count()
    rng.negative_binomial(KEY, RUNS[:1000], 6, SITE, means, 0.2, method="gamma-poisson")
    assert rng.draws_consumed() > 1500


def test_negative_binomial_rejects_unknown_method():
    with pytest.raises(ValueError, match="method must be one of"):
        rng.negative_binomial(KEY, RUNS[:3], 0, SITE, 1.0, 1.0, method="inverse")


def test_negative_binomial_zero_mean_gives_zero():
    means = np.where(RUNS[:1000] % 2 == 0, 0.0, 3.0)
    x = rng.negative_binomial(KEY, RUNS[:1000], 6, SITE, means, 1.5)
    assert not x[means == 0].any()
    assert x[means > 0].any()


@pytest.mark.parametrize("shape", [0.05, 0.3, 1.0, 2.5, 40.0])
def test_gamma_distribution(shape):
    x = rng.gamma(KEY, RUNS, 7, SITE, shape)
    assert (x >= 0).all()
    assert np.isfinite(x).all()
    assert_mean_var(x, shape, shape, 3 * shape**2 + 6 * shape)
    assert stats.kstest(x, stats.gamma(shape).cdf).pvalue > GOF_P


def test_normal_distribution():
    z = rng.normal(KEY, RUNS, 8, SITE)
    assert np.isfinite(z).all()
    assert_mean_var(z, 0.0, 1.0, 3.0)
    assert stats.kstest(z, "norm").pvalue > GOF_P


def test_lognormal_distribution():
    x = rng.lognormal(KEY, RUNS, 9, SITE, 2.0, 0.5)
    assert (x > 0).all()
    assert abs(np.median(x) - 2.0) < 0.02
    assert stats.kstest((np.log(x) - math.log(2.0)) / 0.5, "norm").pvalue > GOF_P
    # numba's scalar exp and NumPy's SIMD exp may differ in the last bit.
    np.testing.assert_allclose(x, 2.0 * np.exp(0.5 * rng.normal(KEY, RUNS, 9, SITE)), rtol=1e-14)


def test_bernoulli_distribution():
    hits = rng.bernoulli(KEY, RUNS, 10, SITE, 0.3)
    assert hits.dtype == np.bool_
    assert abs(hits.mean() - 0.3) < 5 * math.sqrt(0.3 * 0.7 / N)
    p = np.where(RUNS % 2 == 0, 0.0, 1.0)
    per_run = rng.bernoulli(KEY, RUNS, 10, SITE, p)
    assert np.array_equal(per_run, p == 1.0)


@pytest.mark.parametrize("p", [0.0, 0.3, 0.97, 1.0])
def test_bernoulli_select_draws_as_bernoulli_for_the_candidates_only(p: float) -> None:
    candidates = rng.uniform(KEY, RUNS, 99, SITE) < 0.6
    rng.reset_draw_count()
    chosen = rng.bernoulli_select(KEY, RUNS, candidates, 10, SITE, p, family=2)
    assert rng.draws_consumed() == candidates.sum()
    where = np.flatnonzero(candidates)
    expected = where[rng.bernoulli(KEY, RUNS[where], 10, SITE, p, family=2)]
    assert chosen.dtype == np.int64
    assert np.array_equal(chosen, expected)


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 16, 23, 10_000])
@pytest.mark.parametrize("share", [0.0, 0.002, 0.3, 1.0])
def test_positions_are_the_nonzero_indices(n: int, share: float) -> None:
    # Eight bytes are tested at once: sizes around a word, a tail, empty and full words.
    mask = (np.random.default_rng(n).random(n) < share).astype(np.uint8)
    if n > 9:
        mask[n - 1] = 3  # any nonzero byte counts, in the tail too
    where, m = rng._positions(mask)
    assert np.array_equal(where[:m], np.flatnonzero(mask))


def test_bernoulli_select_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="candidates must be a boolean array"):
        rng.bernoulli_select(KEY, RUNS, np.ones(3, dtype=bool), 0, SITE, 0.5)
    with pytest.raises(ValueError, match="p must lie in"):
        rng.bernoulli_select(KEY, RUNS, np.ones(RUNS.size, dtype=bool), 0, SITE, 1.5)


def test_integers_distribution():
    x = rng.integers(KEY, RUNS, 11, SITE, -3, 6)
    assert x.dtype == np.int64
    assert x.min() == -3
    assert x.max() == 6
    assert stats.chisquare(np.bincount(x + 3)).pvalue > GOF_P
    assert np.array_equal(rng.integers(KEY, RUNS[:10], 11, SITE, 4, 4), np.full(10, 4))
    wide = rng.integers(KEY, RUNS[:1000], 11, SITE, 0, 2**53 - 1)
    assert wide.min() >= 0
    assert wide.max() <= 2**53 - 1


# ------------------------------------------------------------------ seeds, ids, counts
def test_make_key():
    k0 = rng.make_key(0)
    assert k0 == tuple(int(w) for w in np.random.SeedSequence(0).generate_state(2, np.uint32))
    assert all(isinstance(w, int) and 0 <= w < 2**32 for w in k0)
    assert k0 != rng.make_key(1)
    assert rng.make_key(np.random.SeedSequence(0)) == k0
    assert rng.make_key(2**100) != k0


def test_fresh_seed():
    a, b = rng.fresh_seed(), rng.fresh_seed()
    assert isinstance(a, int)
    assert a >= 0
    assert a != b
    assert len(rng.make_key(a)) == 2


def test_site_id_is_crc32_and_stable():
    assert rng.site_id("rule:pakistan.retaliate:fire") == 340267810
    assert rng.site_id("rule:x") == zlib.crc32(b"rule:x")
    assert rng.site_id("rule:a") != rng.site_id("rule:b")


def test_draw_count():
    runs = RUNS[:100]
    rng.reset_draw_count()
    rng.uniform(KEY, runs, 0, SITE)
    rng.bernoulli(KEY, runs, 0, SITE, 0.5)
    rng.poisson(KEY, runs, 0, SITE, 3.0)
    rng.poisson(KEY, runs, 0, SITE, 0.0)
    rng.philox_block(KEY, 1000)
    assert rng.draws_consumed() == 300
    # Rejection samplers report exactly what each run consumed.
    for draw in (
        lambda r: rng.poisson(KEY, r, 0, SITE, 200.0),
        lambda r: rng.gamma(KEY, r, 0, SITE, 0.5),
        lambda r: rng.negative_binomial(KEY, r, 0, SITE, 40.0, 0.7),
        lambda r: rng.negative_binomial(KEY, r, 0, SITE, 3.0, 0.7, method="gamma-poisson"),
    ):
        rng.reset_draw_count()
        draw(runs)
        together = rng.draws_consumed()
        rng.reset_draw_count()
        for i in range(100):
            draw(runs[i : i + 1])
        assert rng.draws_consumed() == together
        assert together > 100
    rng.reset_draw_count()
    assert rng.draws_consumed() == 0


# ---------------------------------------------------------------------------- errors
@pytest.mark.parametrize("lam", [-1.0, math.nan, np.array([1.0, -0.5, 2.0])])
def test_poisson_rejects_bad_rate(lam):
    with pytest.raises(ValueError, match="lam"):
        rng.poisson(KEY, RUNS[:3], 0, SITE, lam)


def test_make_key_rejects_negative_seed():
    with pytest.raises(ValueError, match="non-negative"):
        rng.make_key(-1)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: rng.gamma(KEY, RUNS[:3], 0, SITE, 0.0), "shape"),
        (lambda: rng.negative_binomial(KEY, RUNS[:3], 0, SITE, -1.0, 1.0), "mean"),
        (lambda: rng.negative_binomial(KEY, RUNS[:3], 0, SITE, 1.0, 0.0), "dispersion"),
        (lambda: rng.bernoulli(KEY, RUNS[:3], 0, SITE, 1.5), "p"),
        (lambda: rng.lognormal(KEY, RUNS[:3], 0, SITE, 1.0, -0.1), "sigma"),
        (lambda: rng.poisson(KEY, RUNS[:3], 0, SITE, np.ones(4)), "shape"),
        (lambda: rng.integers(KEY, RUNS[:3], 0, SITE, 5, 4), "low <= high"),
        (lambda: rng.uniform(KEY, RUNS[:3], 65536, SITE), "day"),
        (lambda: rng.uniform(KEY, RUNS[:3], 0, 2**32), "site"),
        (lambda: rng.uniform(KEY, np.array([-1, 2]), 0, SITE), "run ids"),
        (lambda: rng.uniform((0, 2**32), RUNS[:3], 0, SITE), "key"),
    ],
)
def test_bad_arguments_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_non_integer_runs_raise_type_error():
    with pytest.raises(TypeError, match="integer"):
        rng.uniform(KEY, np.arange(3.0), 0, SITE)  # type: ignore[arg-type]


def test_integer_runs_of_other_dtypes_are_accepted():
    assert np.array_equal(
        rng.uniform(KEY, np.arange(10), 0, SITE),  # type: ignore[arg-type]
        rng.uniform(KEY, np.arange(10, dtype=np.uint32), 0, SITE),
    )


# ----------------------------------------------------------------------------- import
def test_import_does_not_compile():
    code = (
        "import escalation.rng as r\n"
        "kernels = [v for k, v in vars(r).items() if hasattr(v, 'signatures')]\n"
        "assert kernels and not any(k.signatures for k in kernels), kernels\n"
    )
    src = str(Path(rng.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)


def test_parameter_checks_are_the_generators_own() -> None:
    # The engine checks casualty and claim parameters with these before its fused
    # kernel: they must refuse what the generators refuse, with the same words.
    n = RUNS.size
    bad = [
        (lambda: rng.poisson(KEY, RUNS, 1, SITE, -1.0), lambda: rng.poisson_parameters(-1.0, n)),
        (
            lambda: rng.negative_binomial(KEY, RUNS, 1, SITE, 1.0, 0.0),
            lambda: rng.negative_binomial_parameters(1.0, 0.0, n),
        ),
        (
            lambda: rng.negative_binomial(KEY, RUNS, 1, SITE, 2e15, 1.0),
            lambda: rng.negative_binomial_parameters(2e15, 1.0, n),
        ),
        (
            lambda: rng.lognormal(KEY, RUNS, 1, SITE, 1.0, np.nan),
            lambda: rng.lognormal_parameters(1.0, np.nan, n),
        ),
    ]
    for generator, check in bad:
        with pytest.raises(ValueError, match="must") as by_generator:
            generator()
        with pytest.raises(ValueError, match="must") as by_check:
            check()
        assert str(by_check.value) == str(by_generator.value)
    mean, dispersion = rng.negative_binomial_parameters(2.0, np.full(n, 0.5), n)
    assert mean.tolist() == [2.0]
    assert dispersion.shape == (n,)
    with pytest.raises(ValueError, match="method must be one of"):
        rng.negative_binomial_threshold("inverse")
    assert rng.negative_binomial_threshold("gamma-poisson") == 0.0
