"""``--vary`` arguments: ranges, grids, lists of values, and what is refused."""

from __future__ import annotations

import re

import pytest

from escalation import Scenario
from escalation.experiments.factors import FactorError, parse_vary


def test_a_range_a_grid_and_a_list(duel: Scenario) -> None:
    ranged = parse_vary("attack_chance=0.1:0.4", duel)
    assert (ranged.low, ranged.high, ranged.levels, ranged.values) == (0.1, 0.4, None, None)
    grid = parse_vary("attack_chance=0.1:0.4:4", duel)
    assert grid.levels == 4
    listed = parse_vary("inert=1,3,2", duel)
    assert listed.values == (1.0, 3.0, 2.0)
    assert (listed.low, listed.high) == (1.0, 3.0)


def test_one_value_holds_the_parameter_there(duel: Scenario) -> None:
    held = parse_vary("inert=7", duel)
    assert held.values == (7.0,)
    assert parse_vary("inert=7,", duel).values == held.values


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("inert=1:2:3:4", "expected LOW:HIGH, LOW:HIGH:LEVELS or V1,V2,..."),
        ("inert=11", "outside the parameter's domain [0, 10]"),
        ("inert=a", "inert"),
        ("attack_chance=0.5:0.2", "is empty"),
        ("nothing=1", "nothing"),
        ("inert", "expected NAME=LOW:HIGH"),
    ],
)
def test_what_is_refused(duel: Scenario, text: str, message: str) -> None:
    with pytest.raises(FactorError, match=re.escape(message)):
        parse_vary(text, duel)
