"""Designs: reproducible from the seed, inside the factors' ranges, the sizes promised."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from escalation import Scenario
from escalation.experiments.design import (
    MAX_DESIGN_POINTS,
    DesignError,
    DesignFactor,
    DesignSpec,
    check_design,
    make_design,
    nearest_powers_of_two,
    read_table,
)
from escalation.experiments.factors import Factor, factor_from_spec

SAMPLED = [
    DesignSpec("lhs", points=40),
    DesignSpec("monte_carlo", points=40),
    DesignSpec("sobol", samples=16),
    DesignSpec("morris", trajectories=6),
]


def three_factors(duel: Scenario) -> list[DesignFactor]:
    return [
        DesignFactor(factor_from_spec(duel, "attack_chance", low=0.1, high=0.6)),
        DesignFactor(factor_from_spec(duel, "parameters.inert", values=[1, 4, 9])),
        DesignFactor(factor_from_spec(duel, "a.resolve", low=0, high=5)),
    ]


@pytest.mark.parametrize("spec", SAMPLED, ids=lambda s: s.kind)
def test_same_seed_same_points_other_seed_other_points(duel: Scenario, spec: DesignSpec) -> None:
    factors = three_factors(duel)
    first = make_design(factors, spec, 11)
    again = make_design(factors, spec, 11)
    other = make_design(factors, spec, 12)
    pd.testing.assert_frame_equal(first.points, again.points)
    assert not first.points.equals(other.points)
    assert first.unit is not None
    assert again.unit is not None
    assert np.array_equal(first.unit, again.unit)


@pytest.mark.parametrize("spec", SAMPLED, ids=lambda s: s.kind)
def test_points_take_only_values_the_factors_allow(duel: Scenario, spec: DesignSpec) -> None:
    points = make_design(three_factors(duel), spec, 3).points
    assert points["point"].tolist() == list(range(len(points)))
    assert list(points.columns) == ["point", "attack_chance", "inert", "a.resolve"]
    assert points["attack_chance"].between(0.1, 0.6).all()
    assert set(points["inert"]) <= {1.0, 4.0, 9.0}
    assert set(points["a.resolve"]) <= {0.0, 1.0, 2.0, 3.0, 4.0, 5.0}
    assert (points.dtypes.iloc[1:] == np.float64).all()


def test_sizes_are_those_of_each_method(duel: Scenario) -> None:
    factors = three_factors(duel)
    d = len(factors)
    assert len(make_design(factors, DesignSpec("sobol", samples=16), 1).points) == 16 * (d + 2)
    sobol2 = DesignSpec("sobol", samples=8, second_order=True)
    assert len(make_design(factors, sobol2, 1).points) == 8 * (2 * d + 2)
    assert len(make_design(factors, DesignSpec("morris", trajectories=5), 1).points) == 5 * (d + 1)
    assert check_design(factors, DesignSpec("lhs", points=7)) == 7


def test_latin_hypercube_puts_one_point_in_each_stratum(duel: Scenario) -> None:
    factor = DesignFactor(factor_from_spec(duel, "attack_chance", low=0.0, high=1.0))
    other = DesignFactor(factor_from_spec(duel, "inert", low=0.0, high=10.0))
    points = make_design([factor, other], DesignSpec("lhs", points=25), 5).points
    for name, high in (("attack_chance", 1.0), ("inert", 10.0)):
        strata = np.floor(points[name].to_numpy() / high * 25).astype(int)
        assert sorted(strata.tolist()) == list(range(25))


def test_grid_is_every_combination_first_factor_slowest(duel: Scenario) -> None:
    factors = [
        DesignFactor(factor_from_spec(duel, "attack_chance", low=0.2, high=0.6, levels=3)),
        DesignFactor(factor_from_spec(duel, "inert", values=[1, 2])),
    ]
    points = make_design(factors, DesignSpec("grid"), 0).points
    expected = [[0.2, 1], [0.2, 2], [0.4, 1], [0.4, 2], [0.6, 1], [0.6, 2]]
    np.testing.assert_allclose(points[["attack_chance", "inert"]].to_numpy(), expected)


def test_distributions_follow_their_law_inside_the_range(duel: Scenario) -> None:
    base = factor_from_spec(duel, "inert", low=1.0, high=9.0)
    normal = DesignFactor(base, "normal", mean=5.0, sd=1.0)
    loguniform = DesignFactor(base, "loguniform")
    triangular = DesignFactor(base, "triangular", mode=2.0)
    n = 4000
    for factor in (normal, loguniform, triangular):
        values = make_design([factor], DesignSpec("lhs", points=n), 8).points["inert"]
        assert values.between(1.0, 9.0).all()
    values = make_design([normal], DesignSpec("lhs", points=n), 8).points["inert"]
    # Truncation at 4 sd barely moves the moments; LHS makes them precise.
    assert values.mean() == pytest.approx(5.0, abs=0.02)
    assert values.std() == pytest.approx(1.0, abs=0.02)
    logs = np.log(make_design([loguniform], DesignSpec("lhs", points=n), 8).points["inert"])
    assert logs.mean() == pytest.approx((np.log(1) + np.log(9)) / 2, abs=0.01)
    tri = make_design([triangular], DesignSpec("lhs", points=n), 8).points["inert"]
    assert tri.mean() == pytest.approx((1 + 2 + 9) / 3, abs=0.02)


def test_a_sobol_size_not_a_power_of_two_names_the_nearest(duel: Scenario) -> None:
    with pytest.raises(DesignError, match="got 1000; the nearest are 512 and 1024") as caught:
        make_design(three_factors(duel), DesignSpec("sobol", samples=1000), 1)
    assert caught.value.field == "samples"
    assert nearest_powers_of_two(64) == (64, 64)
    assert nearest_powers_of_two(65) == (64, 128)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (DesignSpec("morris", trajectories=4, levels=3), "even number >= 2, got 3"),
        (DesignSpec("lhs"), "the lhs design needs 'points'"),
        (DesignSpec("lhs", points=10, samples=16), "'samples' does not apply to the lhs design"),
        (DesignSpec("grid"), "attack_chance is a range without levels"),
        (DesignSpec("monte_carlo", points=0), "points must be >= 1, got 0"),
    ],
)
def test_bad_design_settings_are_refused(duel: Scenario, spec: DesignSpec, message: str) -> None:
    with pytest.raises(DesignError, match=message):
        check_design(three_factors(duel), spec)


@pytest.mark.parametrize(
    ("spec", "field", "message"),
    [
        (
            DesignSpec("lhs", points=10**11),
            "points",
            "the lhs design would have 100,000,000,000 points; a design may have at most "
            "10,000,000 points",
        ),
        (
            DesignSpec("monte_carlo", points=10_000_001),
            "points",
            "the monte_carlo design would have 10,000,001 points",
        ),
        (
            DesignSpec("sobol", samples=2**22, second_order=True),
            "samples",
            "the sobol design would have 33,554,432 points (4,194,304 samples x 8)",
        ),
        (
            DesignSpec("morris", trajectories=2_500_001),
            "trajectories",
            "the morris design would have 10,000,004 points (2,500,001 trajectories x 4)",
        ),
    ],
)
def test_a_design_too_large_to_hold_is_refused_before_it_is_made(
    duel: Scenario, spec: DesignSpec, field: str, message: str
) -> None:
    with pytest.raises(DesignError, match=re.escape(message)) as caught:
        make_design(three_factors(duel), spec, 1)
    assert caught.value.field == field
    assert MAX_DESIGN_POINTS == 10_000_000


def test_a_grid_too_large_to_hold_is_refused_before_it_is_made(duel: Scenario) -> None:
    wide = DesignFactor(factor_from_spec(duel, "attack_chance", low=0, high=1, levels=10**11))
    with pytest.raises(DesignError, match="attack_chance: 100,000,000,000 grid levels") as caught:
        make_design([wide], DesignSpec("grid"), 1)
    assert caught.value.factor == "attack_chance"
    with pytest.raises(DesignError, match="100,000,000,000 grid levels"):
        make_design([wide], DesignSpec("lhs", points=3), 1)  # levels are drawn from, too
    factors = [
        DesignFactor(factor_from_spec(duel, "attack_chance", low=0, high=1, levels=5000)),
        DesignFactor(factor_from_spec(duel, "inert", low=0, high=10, levels=5000)),
    ]
    with pytest.raises(DesignError, match=r"would have 25,000,000 points \(5,000 attack_chance"):
        make_design(factors, DesignSpec("grid"), 1)


def test_a_wide_whole_number_range_is_drawn_without_listing_it() -> None:
    wide = DesignFactor(Factor("population", 0.0, 1e12, integer=True))
    values = wide.from_unit(np.array([0.0, 0.25, 0.5, 1.0]))
    np.testing.assert_array_equal(values, [0.0, 250_000_000_000.0, 500_000_000_000.0, 1e12])
    narrow = DesignFactor(Factor("resolve", 2.0, 5.0, integer=True))
    u = np.linspace(0, 1, 101)
    expected = np.array([2.0, 3.0, 4.0, 5.0])[np.minimum((u * 4).astype(int), 3)]
    np.testing.assert_array_equal(narrow.from_unit(u), expected)


def test_a_factor_given_twice_is_refused(duel: Scenario) -> None:
    factor = DesignFactor(factor_from_spec(duel, "inert", values=[1, 2]))
    with pytest.raises(DesignError, match="given twice: inert"):
        check_design([factor, factor], DesignSpec("grid"))


def test_distributions_are_checked() -> None:
    ranged = Factor("x", 0.0, 1.0)
    with pytest.raises(DesignError, match="loguniform range needs low > 0"):
        DesignFactor(ranged, "loguniform")
    with pytest.raises(DesignError, match="mode in \\[0, 1\\], got 2"):
        DesignFactor(ranged, "triangular", mode=2.0)
    with pytest.raises(DesignError, match="needs a continuous range"):
        DesignFactor(Factor("x", 0.0, 1.0, values=(0.0, 1.0)), "normal", mean=0.5, sd=0.1)
    with pytest.raises(DesignError, match="'mode' does not apply to a uniform"):
        DesignFactor(ranged, mode=0.5)


def test_factor_round_trips_through_plain_data(duel: Scenario) -> None:
    for factor in [*three_factors(duel), DesignFactor(Factor("x", 1, 9), "normal", None, 5, 2)]:
        assert DesignFactor.from_dict(factor.to_dict()) == factor


def test_table_design_reads_points_and_checks_them(duel: Scenario, tmp_path: Path) -> None:
    table = tmp_path / "points.csv"
    table.write_text("attack_chance,actors.a.parameters.resolve\n0.1,2\n\n0.5,4\n")
    factors, values = read_table(table, duel)
    assert [f.name for f in factors] == ["attack_chance", "a.resolve"]
    points = make_design(factors, DesignSpec("table", table=str(table)), 0, values).points
    assert points[["attack_chance", "a.resolve"]].to_numpy().tolist() == [[0.1, 2], [0.5, 4]]

    table.write_text("attack_chance,resolv\n0.1,2\n")
    with pytest.raises(DesignError, match=r"points.csv:1: column 2: 'resolv' names no parameter"):
        read_table(table, duel)
    table.write_text("attack_chance\n0.1\n0.2\n1.5\n")
    with pytest.raises(DesignError, match=r"points.csv:4: attack_chance: 1.5 is outside"):
        read_table(table, duel)
    table.write_text("attack_chance,inert\n0.1,2\n0.2,many\n")
    with pytest.raises(DesignError, match=r"points.csv:3: column inert: expected a finite number"):
        read_table(table, duel)
    table.write_text("a.resolve\n2.5\n")
    with pytest.raises(DesignError, match="takes whole numbers, got 2.5"):
        read_table(table, duel)
