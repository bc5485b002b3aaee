"""A duel small enough to sweep in a second: one parameter drives it, one changes nothing.

Country A attacks each day with ``attack_chance``; Country B answers an attack
with probability ``2 * answer_chance``, so ``answer_chance`` above 0.5 makes the
model raise :class:`~escalation.model.actors.ModelError` (inside the parameter's
domain, the scenario is valid: the failure shows only when a rule fires).
``inert`` is used by nothing: with common random numbers, varying it changes no run.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from escalation import Scenario, load_scenario_text

DUEL = """\
name: duel
horizon_days: 30
runs: 10
seed: 1
ladder:
  - {rung: 0, name: peace}
  - {rung: 1, name: clash}
parameters:
  attack_chance: {value: 0.3, min: 0, max: 1, source: "assumption: a test value"}
  inert: {value: 5, min: 0, max: 10, source: "assumption: used by nothing"}
  answer_chance: {value: 0.2, min: 0, max: 1, source: "assumption: doubled below"}
actors:
  a:
    name: Country A
    kind: state
    parameters:
      resolve: {value: 2, min: 0, max: 10, integer: true, source: "assumption: unused"}
    policy:
      - {id: hit, when: "true", do: attack, target: b, probability: attack_chance}
  b:
    name: Country B
    kind: state
    policy:
      - id: answer
        when: "count(attack, by=a, within=1) > 0"
        do: attack
        target: a
        probability: "2 * answer_chance"
actions:
  attack: {rung: 1, hostile: true}
outcomes:
  - {id: war, when: "days_at_or_above(1) >= 10"}
  - {id: calm, when: "true"}
"""


@pytest.fixture(scope="session")
def duel() -> Scenario:
    """The duel, validated."""
    return load_scenario_text(DUEL, name="duel.yaml")


@pytest.fixture(scope="session")
def shared_duel_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The duel written once for the session (for module-scoped sweeps)."""
    path = tmp_path_factory.mktemp("duel") / "duel.yaml"
    path.write_text(DUEL, encoding="utf-8")
    return path


@pytest.fixture
def duel_file(tmp_path: Path) -> Path:
    """The duel written to ``tmp_path/duel.yaml``."""
    path = tmp_path / "duel.yaml"
    path.write_text(DUEL, encoding="utf-8")
    return path


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """``write(name, text)``: a dedented file in ``tmp_path``, its path returned."""

    def write_file(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write_file
