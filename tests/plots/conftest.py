"""A small mediated crisis whose runs have everything a figure draws.

Truces are made and broken (survival curves), cycles of blows answer each other,
claims inflate the enemy's dead, and the actors have the reference crisis's ids
(so their fixed colours are used) beside one that is not (a hashed colour).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from escalation import Scenario, SimulationResults, load_scenario_text, run_scenario
from escalation.store import write_results

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
