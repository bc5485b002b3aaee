"""Shared tiny scenarios: small enough to run in a fraction of a second, rich enough
to exercise every part of the engine (a tempo, answering rules, delays, cooldowns,
effects, a boolean world variable, claims, detection and retaliation cycles).

The mediated crisis is a small crisis whose runs have everything a figure draws:
truces are made and broken (survival curves), cycles of blows answer each other,
claims inflate the enemy's dead, and the actors have the reference crisis's ids (so
their fixed colours are used) beside one that is not (a hashed colour)."""

from __future__ import annotations

from pathlib import Path

import pytest

from escalation import Scenario, SimulationResults, load_scenario_text, run_scenario
from escalation.store import write_results

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


MEDIATED_CRISIS = """\
name: mediated_crisis
title: A small crisis with a mediator
horizon_days: 120
runs: 400
seed: 11
ladder:
  - {rung: 0, name: calm}
  - {rung: 1, name: talks}
  - {rung: 2, name: strikes}
parameters:
  attack_rate: {value: 0.4, min: 0, max: 2, unit: attacks per day, source: "assumption"}
  p_answer: {value: 0.7, min: 0, max: 1, source: "assumption"}
world:
  truce: {initial: false}
actors:
  ttp:
    name: TTP
    kind: armed_group
    tempo:
      - action: attack
        target: pakistan
        base_rate: "attack_rate * (0.3 if truce else 1)"
        alpha: 0.2
        beta: 0.5
  pakistan:
    name: Pakistan
    kind: state
    policy:
      - id: retaliate
        when: "casualties(attack, by=ttp, within=3) >= 2 and not truce"
        do: strike
        target: ttp
        probability: p_answer
        delay: [1, 2]
        cooldown: 4
        source: "Pakistan struck back within days."
  taliban:
    name: Afghan Taliban
    kind: state
    policy:
      - id: border_fire
        when: "count(strike, by=pakistan, within=2) > 0"
        do: border_assault
        target: pakistan
        probability: 0.5
        source: "The Taliban answered at the border."
  broker:
    name: Broker
    kind: mediator
    policy:
      - id: mediate
        when: "count(border_assault, within=5) >= 1 and not truce"
        do: truce_deal
        probability: 0.15
        source: "A mediator brokered a ceasefire."
      - id: collapse
        when: "truce and count(attack, within=2) >= 2"
        do: truce_breaks
        probability: 0.2
actions:
  attack:
    rung: 0
    hostile: true
    casualties: {target: {distribution: negative_binomial, mean: 1.2, dispersion: 0.4}}
  strike:
    rung: 2
    hostile: true
    casualties: {target: {distribution: poisson, mean: 8}}
  border_assault:
    rung: 2
    hostile: true
    casualties:
      target: {distribution: poisson, mean: 4}
      actor: {distribution: poisson, mean: 6}
  truce_deal:
    rung: 1
    effects: [{set: truce, value: 1}]
  truce_breaks:
    rung: 1
    effects: [{set: truce, value: 0}]
perception:
  claims:
    - {actor: pakistan, enemy_inflation_median: 4, enemy_inflation_sigma: 0.3}
    - {actor: taliban, enemy_inflation_median: 3}
outcomes:
  - {id: war, when: "days_at_or_above(2) >= 15"}
  - {id: ceasefire, when: "spells(truce) >= 1"}
  - {id: calm, when: "true"}
"""


@pytest.fixture(scope="session")
def mediated_crisis_text() -> str:
    """The YAML text of the mediated crisis."""
    return MEDIATED_CRISIS


@pytest.fixture(scope="session")
def mediated_crisis() -> Scenario:
    """The mediated crisis, validated."""
    return load_scenario_text(MEDIATED_CRISIS, name="mediated_crisis.yaml")


@pytest.fixture(scope="session")
def mediated_results(mediated_crisis: Scenario) -> SimulationResults:
    """600 runs of the mediated crisis, seed 5, daily paths kept for 150 of them."""
    return run_scenario(mediated_crisis, runs=600, seed=5, path_sample=150)


@pytest.fixture(scope="session")
def mediated_folder(
    mediated_results: SimulationResults, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The runs written to a results folder (read only: tests copy it to change it)."""
    out = tmp_path_factory.mktemp("plots") / "mediated"
    write_results(mediated_results, out, command=["escalation", "run", "mediated_crisis.yaml"])
    return out
