"""The block recorder's own bookkeeping: who observes an act, and each run's cycles."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from small_scenarios import scenario as small

from escalation import ModelError, load_scenario
from escalation.model import kernels
from escalation.model.engine import EscalationModel
from escalation.model.record import BlockRecorder
from escalation.scenario.schema import Scenario

REFERENCE = load_scenario(
    Path(__file__).resolve().parents[2] / "scenarios" / "pakistan_afghanistan_2025.yaml"
)


# Observers whose keys name an action and any hostile act, interleaved, with targets.
MIXED_KEYS = """\
actors:
  a:
    name: A
    kind: state
    policy:
      - {id: hit, when: "day < 5", do: attack, target: b}
      - {id: shell, when: "day < 3", do: shelling, target: c}
  b:
    name: B
    kind: state
    policy:
      - {id: x, when: "hostile(by=a, within=3) + count(attack, on=b, within=1) > 0", do: protest}
  c:
    name: C
    kind: mediator
    policy:
      - id: y
        when: "count(protest, within=2) + hostile(on=c, within=1) + count(attack, within=4) > 0"
        do: protest
actions:
  attack: {rung: 1, hostile: true}
  shelling: {rung: 1, hostile: true}
  protest: {rung: 0}
"""


@pytest.mark.parametrize("subject", ["reference", "mixed keys"])
def test_the_observers_of_an_act_are_those_whose_keys_it_feeds_in_the_plans_order(
    subject: str,
) -> None:
    """Every (action, target) against the definition: an observer's keys that name the
    action, or any hostile act, and the target or none, in the order of
    `Plan.keys_by_observer` and of each observer's keys."""
    scenario: Scenario = REFERENCE if subject == "reference" else small(MIXED_KEYS)
    recorder = EscalationModel(scenario, runs=2, seed=1, horizon_days=1).recorder
    plan = recorder.plan
    met = 0
    for action in plan.actions.values():
        for target in [None, *plan.actors]:
            expected = []
            for observer, keys in plan.keys_by_observer.items():
                relevant = tuple(
                    key
                    for key in keys
                    if (key.action == action.name or (key.action is None and action.hostile))
                    and (key.on is None or key.on == target)
                )
                if relevant:
                    expected.append((observer, relevant))
            got = recorder._observers_of(action.name, target)
            assert got == expected
            met += len(got) > 1
    assert met > 0  # some acts have several observers, so their order is checked


@pytest.mark.parametrize("rows", [0, 1, 3_000])
def test_cycle_metrics_are_each_runs_count_mean_longest_and_first_day(rows: int) -> None:
    gen = np.random.default_rng(rows)
    n, slots = 25, 7
    runs = gen.integers(0, n - 3, size=rows)  # the last runs have no cycle
    roots = gen.integers(0, 40 * slots, size=rows)
    lengths = gen.integers(2, 9, size=rows)
    cycle_runs, cycle_roots, longest = kernels.cycle_table(runs, roots, lengths, n)
    table = {"run": cycle_runs, "start_day": cycle_roots // slots, "length": longest}
    got = BlockRecorder._cycle_metrics(table, n)
    for run in range(n):
        mine = cycle_runs == run
        count = int(mine.sum())
        assert got["cycles"][run] == count
        if count == 0:
            assert got["cycle_length_max"][run] == 0
            assert math.isnan(got["cycle_length_mean"][run])
            assert got["first_cycle_day"][run] == math.inf
            continue
        assert got["cycle_length_max"][run] == longest[mine].max()
        assert got["cycle_length_mean"][run] == longest[mine].sum() / count
        assert got["first_cycle_day"][run] == table["start_day"][mine].min()


def test_a_variable_of_its_own_named_like_the_dead_keeps_its_columns() -> None:
    subject = small(
        """\
        world:
          civilian_casualties: {initial: 0}
        actors:
          a:
            name: A
            kind: state
            policy: [{id: go, do: hit}]
        actions:
          hit:
            rung: 1
            effects: [{add: civilian_casualties, value: 2}]
        """,
        horizon=5,
    )
    model = EscalationModel(subject, runs=3, seed=1, path_sample=3)
    columns = model.run().columns
    assert list(columns["final_civilian_casualties"]) == [10.0, 10.0, 10.0]  # 2 a day
    assert "final_a.casualties" not in columns  # the dead have columns of their own
    assert "civilian_casualties" in model.recorder.series


CLAIMS_FROM_PARAMETERS = """\
parameters:
  boast: {value: 3, min: 0, max: 5}
  spread: {value: 0.5, min: 0, max: 20}
actors:
  a:
    name: A
    kind: state
    policy: [{id: go, do: hit, target: b}]
  b: {name: B, kind: state}
actions:
  hit:
    rung: 1
    casualties: {target: {distribution: fixed, mean: 2}}
perception:
  claims:
    - {actor: a, enemy_inflation_median: boast, enemy_inflation_sigma: spread}
"""
"""Claims whose values parameters give, with domains wider than the claims take."""


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"boast": 0.0}, r"claims of a: enemy_inflation_median: must be > 0, got 0"),
        ({"boast": np.array([3.0, 0.0])}, r"enemy_inflation_median: must be > 0, got 0"),
        ({"spread": 11.0}, r"claims of a: enemy_inflation_sigma: must be in \[0, 10\], got 11"),
    ],
)
def test_claims_a_sweep_sets_are_checked_when_the_run_starts(
    parameters: dict[str, Any], message: str
) -> None:
    subject = small(CLAIMS_FROM_PARAMETERS, horizon=3)
    EscalationModel(subject, runs=2, seed=1).run()  # the scenario's own values run
    with pytest.raises(ModelError, match=message):
        EscalationModel(subject, runs=2, seed=1, parameters=parameters).run()
