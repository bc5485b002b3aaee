"""Small scenarios and targets for the validation tests, written into ``tmp_path``."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

CRISIS = """\
name: crisis
horizon_days: 120
runs: 40
seed: 3
ladder:
  - {rung: 0, name: calm}
  - {rung: 1, name: strike}
  - {rung: 2, name: clash}
parameters:
  base: {value: 0.5, min: 0, max: 5, unit: attacks/day}
  p_strike: {value: 0.8, min: 0, max: 1}
  p_answer: {value: 0.6, min: 0, max: 1}
  threshold: {value: 3, min: 1, max: 10, integer: true}
actors:
  ttp:
    name: TTP
    kind: armed_group
    tempo:
      - {action: attack, target: pak, base_rate: base, alpha: 0.2, beta: 0.5}
  pak:
    name: Pakistan
    kind: state
    policy:
      - id: hit
        when: "casualties(attack, by=ttp, within=1) >= threshold"
        do: strike
        target: ttp
        probability: p_strike
        delay: [0, 2]
  tal:
    name: Taliban
    kind: state
    policy:
      - id: answer
        when: "count(strike, by=pak, within=1) > 0"
        do: assault
        target: pak
        probability: p_answer
        delay: [0, 3]
actions:
  attack:
    rung: 0
    hostile: true
    casualties: {target: {distribution: negative_binomial, mean: 1.0, dispersion: 0.5}}
  strike:
    rung: 1
    hostile: true
    casualties: {target: {distribution: poisson, mean: 10}}
  assault:
    rung: 2
    hostile: true
    casualties: {target: {distribution: poisson, mean: 4}, actor: {distribution: poisson, mean: 6}}
perception:
  claims:
    - {actor: pak, enemy_inflation_median: 5, enemy_inflation_sigma: 0.3, own_admitted_share: 0.5}
outcomes:
  - {id: clash, when: "days_at_or_above(2) >= 1"}
  - {id: calm, when: "true"}
"""
"""A TTP tempo of attacks, Pakistani strikes after deadly days, Taliban assaults after strikes."""

TARGETS = """\
name: crisis_facts
runs: 40
traced_runs: 40
targets:
  - id: strike_delay
    statistic: response_delay_days
    trigger: {actor: ttp, action: attack}
    response: {actor: pak, action: strike}
    observed: 2
    range: [1, 3]
    source: "test: the strike rule's delay 0-2 after a day's observation lag"
  - id: answer_share
    statistic: answered_share
    trigger: {actor: pak, action: strike}
    response: {actor: tal, action: assault}
    within: 10
    range: [0.3, 0.9]
    source: "test: p_answer 0.6"
  - id: attacks
    statistic: act_rate
    action: attack
    observed: 25
    source: "test: base / (1 - alpha/beta) = 0.5 / 0.6 a day, 25 a month"
"""
"""Three targets the crisis scenario meets at its own parameter values."""


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """``write(name, text)`` writes a dedented file into ``tmp_path`` and returns its path."""

    def write_file(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write_file


@pytest.fixture
def crisis_text() -> str:
    return CRISIS


@pytest.fixture
def targets_text() -> str:
    return TARGETS


@pytest.fixture
def crisis_file(write: Callable[[str, str], Path]) -> Path:
    return write("crisis.yaml", CRISIS)


@pytest.fixture
def targets_file(write: Callable[[str, str], Path]) -> Path:
    return write("targets.yaml", TARGETS)
