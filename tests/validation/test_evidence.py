"""What statistics read: the runs table, and the acts of the first runs, traced."""

from __future__ import annotations

from pathlib import Path

import mesa
import pandas as pd

from escalation.scenario import load_scenario
from escalation.validation.evidence import EVENT_COLUMNS, gather_evidence, traced_block


def test_traced_runs_are_the_first_runs_of_the_table(crisis_file: Path) -> None:
    scenario = load_scenario(crisis_file)
    evidence = gather_evidence(scenario, runs=30, seed=4, traced_runs=10)
    assert evidence.events is not None
    assert list(evidence.events.columns) == list(EVENT_COLUMNS)
    assert evidence.traced_runs.tolist() == list(range(10))
    assert set(evidence.events["run"]) <= set(range(10))
    traced = evidence.events.groupby(["run", "action"])["count"].sum().unstack(fill_value=0)
    table = evidence.results.runs.set_index("run").loc[range(10)]
    for action in ("attack", "strike", "assault"):
        counted = traced[action].reindex(table.index, fill_value=0)
        assert counted.tolist() == table[f"{action}_count"].tolist()


def test_every_answer_names_an_act_of_its_run(crisis_file: Path) -> None:
    _, events = traced_block(load_scenario(crisis_file), runs=20, seed=2)
    answers = events.loc[events["cause"] >= 0]
    assert len(answers) > 0
    known = set(zip(events["run"], events["event_id"], strict=True))
    assert all(pair in known for pair in zip(answers["run"], answers["cause"], strict=True))
    causes = events.set_index(["run", "event_id"])["day"]
    earlier = [
        causes[(run, cause)] < day
        for run, cause, day in zip(answers["run"], answers["cause"], answers["day"], strict=True)
    ]
    assert all(earlier)


def test_one_worker_and_two_give_the_same_table(crisis_file: Path) -> None:
    scenario = load_scenario(crisis_file)
    one = gather_evidence(scenario, runs=24, seed=6, traced_runs=6, workers=1)
    two = gather_evidence(scenario, runs=24, seed=6, traced_runs=6, workers=2)
    pd.testing.assert_frame_equal(one.results.runs, two.results.runs)
    assert one.events is not None
    assert two.events is not None
    pd.testing.assert_frame_equal(one.events, two.events)


def test_simulated_models_are_released(crisis_file: Path) -> None:
    scenario = load_scenario(crisis_file)
    gather_evidence(scenario, runs=5, seed=1, traced_runs=5)
    before = len(mesa.Agent._ids)
    for seed in range(3):
        gather_evidence(scenario, runs=5, seed=seed, traced_runs=2)
    assert len(mesa.Agent._ids) == before
