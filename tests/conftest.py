"""Shared tiny scenarios: small enough to run in a fraction of a second, rich enough
to exercise every part of the engine (a tempo, answering rules, delays, cooldowns,
effects, a boolean world variable, claims, detection and retaliation cycles)."""

from __future__ import annotations

from pathlib import Path

import pytest

from escalation import Scenario, load_scenario_text

TINY_CRISIS = """\
name: tiny_crisis
title: A two-sided crisis in miniature
horizon_days: 60
runs: 40
seed: 7
ladder:
  - {rung: 0, name: calm}
  - {rung: 1, name: bombing}
  - {rung: 2, name: strike}
parameters:
  raid_rate: {value: 0.3, min: 0, max: 2, unit: raids per day, source: "assumption"}
  answer_chance: {value: 0.6, min: 0, max: 1, source: "assumption"}
world:
  talks: {initial: false}
  tension: {initial: 0.2, min: 0, max: 1}
actors:
  militants:
    name: Militants
    kind: armed_group
    parameters:
      revenge_chance: {value: 0.5, min: 0, max: 1}
    tempo:
      - {action: raid, target: govt, base_rate: raid_rate, alpha: 0.2, beta: 0.5}
    policy:
      - id: revenge
        when: "count(strike, by=govt, within=2) > 0"
        do: bombing
        target: govt
        probability: self.revenge_chance
  govt:
    name: Government
    kind: state
    state:
      resolve: {initial: 0.5, min: 0, max: 1}
    policy:
      - id: retaliate
        when: >-
          casualties(raid, by=militants, within=3)
          + casualties(bombing, by=militants, within=3) >= 2
        do: strike
        target: militants
        probability: answer_chance
        delay: [0, 2]
        cooldown: 3
      - id: negotiate
        when: "tension >= 0.8 and not talks"
        do: open_talks
        probability: 0.2
actions:
  raid:
    rung: 0
    hostile: true
    casualties:
      target: {distribution: negative_binomial, mean: 0.8, dispersion: 0.5}
  bombing:
    rung: 1
    hostile: true
    casualties:
      target: {distribution: poisson, mean: 2}
  strike:
    rung: 2
    hostile: true
    casualties:
      target: {distribution: poisson, mean: 4}
    effects:
      - {add: tension, value: 0.15}
      - {add: govt.resolve, value: 0.05}
  open_talks:
    rung: 0
    effects:
      - {set: talks, value: 1}
      - {multiply: tension, value: 0.5}
perception:
  detection:
    - {observer: govt, actor: militants, probability: 0.9}
  claims:
    - {actor: govt, enemy_inflation_median: 2, enemy_inflation_sigma: 0.3, own_admitted_share: 0.6}
outcomes:
  - {id: war, when: "days_at_or_above(2) >= 7"}
  - {id: talks, when: "days_with(talks) > 0"}
  - {id: skirmish, when: "max_rung >= 1"}
"""
"""Three rungs, two actors that answer each other, one outcome left unclassified."""


@pytest.fixture(scope="session")
def tiny_crisis_text() -> str:
    """The YAML text of the tiny crisis scenario."""
    return TINY_CRISIS


@pytest.fixture(scope="session")
def tiny_crisis() -> Scenario:
    """The tiny crisis scenario, validated (frozen, so safe to share)."""
    return load_scenario_text(TINY_CRISIS, name="tiny_crisis.yaml")


@pytest.fixture
def tiny_crisis_file(tmp_path: Path) -> Path:
    """The tiny crisis scenario written to a file in ``tmp_path``."""
    path = tmp_path / "tiny_crisis.yaml"
    path.write_text(TINY_CRISIS, encoding="utf-8")
    return path
