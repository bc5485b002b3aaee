"""Perception: true, claimed and admitted deaths; detection; misattribution.

Statistical checks use a fixed seed and a tolerance of five standard errors (from
the closed-form variance where there is one): a correct engine would pass for
practically any seed, while a wrong mean or a wrong rule fails.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from small_scenarios import scenario, simulate, within_se

from escalation import ModelError, Scenario

# -- claims, detection, misattribution ---------------------------------------------------


CLAIMS = """\
actors:
  a:
    name: A
    kind: state
    policy:
      - {id: go, when: "day < 10", do: attack, target: b}
  b:
    name: B
    kind: state
    policy:
      - {id: own_count, when: "casualties(attack, by=a, within=1) == 2", do: mourn}
  c:
    name: C
    kind: mediator
    policy:
      - {id: heard, when: "casualties(attack, by=a, within=1) == 6", do: protest}
actions:
  attack:
    rung: 1
    hostile: true
    casualties:
      target: {distribution: fixed, mean: 2}
      actor: {distribution: fixed, mean: 1}
  mourn: {rung: 0}
  protest: {rung: 0}
perception:
  claims:
    - {actor: a, enemy_inflation_median: 3, own_admitted_share: 0.4}
    - {actor: b, enemy_inflation_median: 1.5, own_admitted_share: 0.5}
"""


def test_true_claimed_and_admitted_deaths_are_kept_apart() -> None:
    runs = simulate(scenario(CLAIMS, horizon=12), 3)
    row = runs.iloc[0]
    assert (row["b_dead_true"], row["b_dead_claimed"], row["b_dead_admitted"]) == pytest.approx(
        (20, 60, 10)
    )
    assert (row["a_dead_true"], row["a_dead_claimed"], row["a_dead_admitted"]) == pytest.approx(
        (10, 15, 4)
    )
    # The target counts its own dead; a third party hears the attacker's claim.
    assert row["mourn_count"] == 10
    assert row["protest_count"] == 10


def test_claim_inflation_is_lognormal_around_its_median() -> None:
    subject = scenario(
        CLAIMS.replace("day < 10", "day == 0").replace(
            "enemy_inflation_median: 3,", "enemy_inflation_median: 3, enemy_inflation_sigma: 0.5,"
        ),
        horizon=1,
    )
    runs = simulate(subject, 4000)
    log_ratio = np.log(runs["b_dead_claimed"] / runs["b_dead_true"])
    assert within_se(log_ratio, math.log(3), 0.5)
    assert log_ratio.std() == pytest.approx(0.5, rel=0.05)
    assert (runs["b_dead_admitted"] == 1.0).all()


def test_unacknowledged_acts_are_claimed_by_nobody() -> None:
    subject = scenario(
        CLAIMS.replace(
            "rung: 1\n    hostile: true", "rung: 1\n    hostile: true\n    acknowledged: false"
        ).replace("== 6", "== 1"),
        horizon=12,
    )
    row = simulate(subject, 2).iloc[0]
    assert row["b_dead_true"] == 20
    assert row["b_dead_admitted"] == pytest.approx(10)
    assert row["b_dead_claimed"] == 0  # nobody claims a deed nobody owns
    assert row["protest_count"] == 10  # a third party hears the victim's admission: 2 * 0.5


DETECTION = """\
actors:
  a:
    name: A
    kind: state
    policy:
      - {id: go, do: attack, target: c}
  b:
    name: B
    kind: state
    policy:
      - {id: noticed, when: "count(attack, by=a, within=1) > 0", do: note}
  c: {name: C, kind: state}
actions:
  attack: {rung: 1, hostile: true}
  note: {rung: 0}
"""


@pytest.mark.parametrize("probability", [0.0, 0.4, 1.0])
def test_detection_thins_what_the_observer_sees(probability: float) -> None:
    """A third party (b) notices a's acts on c with the detection probability."""
    perception = (
        f"perception:\n  detection:\n    - {{observer: b, actor: a, probability: {probability}}}\n"
    )
    subject = scenario(DETECTION + perception, horizon=21)
    runs = simulate(subject, 3000)
    assert (runs["attack_count"] == 21).all()  # the truth is untouched
    notes = runs["note_count"]  # acts of days 0..19 can be noticed on days 1..20
    assert within_se(notes, 20 * probability, math.sqrt(20 * probability * (1 - probability)))
    if probability in (0.0, 1.0):
        assert (notes == 20 * probability).all()


def test_detection_probability_from_a_parameter_follows_overrides() -> None:
    perception = (
        "parameters:\n  seen: {value: 1.0}\n"
        "perception:\n  detection:\n    - {observer: b, actor: a, probability: seen}\n"
    )
    subject = scenario(DETECTION + perception, horizon=21)
    assert (simulate(subject, 20)["note_count"] == 20).all()
    assert (simulate(subject, 20, parameters={"seen": 0.0})["note_count"] == 0).all()
    with pytest.raises(ModelError, match=r"detection of a by b: must be in \[0, 1\], got 1\.5"):
        simulate(subject, 2, parameters={"seen": 1.5})


def _recorded_both_ways(subject: Scenario, runs: int, seed: int, seen: float) -> list[Any]:
    """The block run with the detection chance ``seen`` given once (observers recorded
    together) and given per run (one by one): every run, draw and trace line must be
    the same.  Returns both models, together first."""
    from escalation import EscalationModel

    models, made = [], []
    for value in (seen, np.full(runs, seen)):
        model = EscalationModel(
            subject, runs=runs, seed=seed, trace=True, parameters={"seen": value}
        )
        models.append(model)
        made.append((model.run(), model.trace_table()))
    (together, trace), (alone, trace_alone) = made
    assert set(together.columns) == set(alone.columns)
    for column, values in together.columns.items():
        assert np.array_equal(values, alone.columns[column], equal_nan=True), column
    assert together.draws == alone.draws
    assert trace.equals(trace_alone)
    return models


def test_observers_recorded_together_equal_observers_recorded_one_by_one() -> None:
    """A detection chance given per run takes the one-by-one path; the same chance
    given once takes the compiled pass that records every such observer of an act
    together (`ObservationTracker.record_routes`).  Both see the same acts, so every
    run, its draws and its day-by-day trace are the same."""
    perception = (
        "parameters:\n  seen: {value: 0.45}\n"
        "perception:\n  detection:\n    - {observer: b, actor: a, probability: seen}\n"
    )
    subject = scenario(DETECTION + perception, horizon=40)
    together, one_by_one = _recorded_both_ways(subject, 500, 9, 0.45)
    # Where b's view of a's attacks was recorded: with the others, or on its own.
    for model, alone in ((together, []), (one_by_one, ["b"])):
        slots = model.recorder._slots.values()
        assert [route.observer for slot in slots for route in slot.routes] == alone
    notes = together.result.columns["note_count"]
    assert 0 < notes.mean() < 39  # b missed some acts and saw others


MANY_TRACKS = """\
parameters:
  seen: {value: 0.6}
actors:
  a:
    name: A
    kind: state
    policy:
      - {id: go, do: attack, target: c, probability: 0.7}
      - {id: raid, do: raid, target: c, probability: 0.3}
  b:
    name: B
    kind: state
    policy:
      - {id: one, when: "count(attack, by=a, within=1) > 0", do: note}
      - {id: three, when: "count(attack, within=3) >= 2", do: warn}
      - {id: dead, when: "casualties(attack, by=a, within=5) > 6", do: protest}
      - {id: any, when: "hostile(by=a, within=2) > 1 and days_since(raid, by=a) > 1", do: mark}
  c: {name: C, kind: state}
actions:
  attack:
    rung: 1
    hostile: true
    casualties: {target: {distribution: poisson, mean: 2}}
  raid: {rung: 1, hostile: true}
  note: {rung: 0}
  warn: {rung: 0}
  protest: {rung: 0}
  mark: {rung: 0}
perception:
  detection:
    - {observer: b, actor: a, probability: seen}
"""


def test_an_observer_with_several_tracks_and_windows_is_recorded_alike_both_ways() -> None:
    """As above, for an observer whose keys split an act over several tracks and
    windows of 1 to 5 days (and all history, for `days_since`)."""
    together, _ = _recorded_both_ways(scenario(MANY_TRACKS, horizon=60), 400, 5, 0.6)
    for act in ("note", "warn", "protest", "mark"):
        assert 0 < together.result.columns[f"{act}_count"].mean() < 59, act


MISATTRIBUTION = """\
actors:
  a:
    name: A
    kind: state
    policy:
      - {id: go, when: "day < 20", do: attack, target: b}
  b:
    name: B
    kind: state
    policy:
      - {id: answer_a, when: "count(attack, by=a, within=1) > 0", do: strike, target: a}
      - {id: answer_c, when: "count(attack, by=c, within=1) > 0", do: strike, target: c}
  c: {name: C, kind: mediator}
actions:
  attack: {rung: 1, hostile: true}
  strike:
    rung: 2
    hostile: true
    casualties: {target: {distribution: fixed, mean: 1}}
perception:
  misattribution:
    - {observer: b, actual: a, perceived: c, probability: PROBABILITY}
outcomes:
  - {id: a_blamed, when: "count(attack, by=a) == 20 and count(attack, by=c) == 0"}
"""


def test_misattribution_makes_the_observer_answer_the_wrong_actor() -> None:
    subject = scenario(MISATTRIBUTION.replace("PROBABILITY", "1"), horizon=22)
    runs = simulate(subject, 5)
    assert runs["c_dead_true"].tolist() == [20.0] * 5
    assert runs["a_dead_true"].tolist() == [0.0] * 5
    assert (runs["outcome"] == "a_blamed").all()  # outcomes see who really acted


def test_misattribution_share() -> None:
    subject = scenario(MISATTRIBUTION.replace("PROBABILITY", "0.3"), horizon=22)
    runs = simulate(subject, 3000)
    np.testing.assert_array_equal(runs["a_dead_true"] + runs["c_dead_true"], 20)
    assert within_se(runs["c_dead_true"], 6, math.sqrt(20 * 0.3 * 0.7))


def test_misattribution_limited_to_actions() -> None:
    entries = (
        "0.6, actions: [attack]}\n"
        "    - {observer: b, actual: a, perceived: c, probability: 0.6, actions: [strike]}"
    )
    subject = scenario(MISATTRIBUTION.replace("PROBABILITY}", entries), horizon=22)
    runs = simulate(subject, 3000)
    np.testing.assert_array_equal(runs["a_dead_true"] + runs["c_dead_true"], 20)
    assert within_se(runs["c_dead_true"], 12, math.sqrt(20 * 0.6 * 0.4))


def test_a_target_always_notices_an_attack_on_itself() -> None:
    perception = "perception:\n  detection:\n    - {observer: c, actor: a, probability: 0.0}\n"
    text = DETECTION.replace(
        "  c: {name: C, kind: state}",
        "  c:\n    name: C\n    kind: state\n    policy:\n"
        '      - {id: felt, when: "count(attack, by=a, within=1) > 0", do: note}',
    )
    runs = simulate(scenario(text + perception, horizon=21), 50)
    assert (runs["note_count"] == 40).all()  # b sees all 20, and so does c, undetected or not
