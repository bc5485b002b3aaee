"""The engine as a Mesa model: stepping, batch_run, and indifference to agent order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd
import pytest
from mesa.agent import AgentSet
from small_scenarios import one_actor, simulate

from escalation import EscalationModel, Scenario, load_scenario, run_scenario

# -- Mesa ---------------------------------------------------------------------------------


def test_model_stops_running_at_the_horizon() -> None:
    subject = one_actor(
        "- {id: go, do: probe, probability: 0.3}\n", "probe: {rung: 1}\n", horizon=7
    )
    model = EscalationModel(subject, runs=5, seed=1)
    steps = 0
    while model.running:
        model.step()
        steps += 1
    assert steps == 7
    assert model.steps == 7
    assert model.result is not None
    assert model.result.columns["probe_count"].shape == (5,)
    frame = model.datacollector.get_model_vars_dataframe()
    assert frame["day"].tolist() == list(range(8))


def test_reporters_give_each_days_mean_and_highest_rung() -> None:
    # The reporters read the day's counts per rung; check them against the rungs.
    scenario = load_scenario(
        Path(__file__).parents[2] / "scenarios" / "pakistan_afghanistan_2025.yaml"
    )
    model = EscalationModel(scenario, runs=200, seed=3, horizon_days=60)
    means, highest = [float(np.mean(model.state.rung))], [int(np.max(model.state.max_rung))]
    while model.running:
        model.step()
        means.append(float(np.mean(model.state.rung)))
        highest.append(int(np.max(model.state.max_rung)))
    frame = model.datacollector.get_model_vars_dataframe()
    # The rungs move.
    assert len(set(means)) > 5
    assert len(set(highest)) > 1
    assert frame["mean_rung"].tolist() == means
    assert frame["max_rung"].tolist() == highest


def test_model_reads_a_scenario_file(tiny_crisis: Scenario, tiny_crisis_file: Path) -> None:
    from_file = EscalationModel(str(tiny_crisis_file), runs=4, seed=2).run()
    from_object = EscalationModel(tiny_crisis, runs=4, seed=2).run()
    assert from_file.columns.keys() == from_object.columns.keys()
    for name, values in from_object.columns.items():
        np.testing.assert_array_equal(from_file.columns[name], values)


BATCH_PARAMETERS = {"runs": 1, "seed": 1, "first_run": range(3)}


def _batch(subject: Any) -> list[dict[str, Any]]:
    return mesa.batch_run(
        EscalationModel,
        parameters={"scenario": subject, **BATCH_PARAMETERS},
        iterations=1,
        max_steps=50,
        number_processes=1,
        data_collection_period=-1,
        display_progress=False,
    )


def _batch_subject() -> Scenario:
    # Rare enough that some of runs 0, 1, 2 never act: the runs differ.
    return one_actor("- {id: go, do: probe, probability: 0.05}\n", "probe: {rung: 1}\n", horizon=20)


def test_mesa_batch_run_takes_a_scenario_unchanged() -> None:
    subject = _batch_subject()
    rows = _batch(subject)
    assert [row["first_run"] for row in rows] == [0, 1, 2]
    assert all(row["scenario"] is subject for row in rows)
    assert all(row["Step"] == 19 for row in rows)  # stopped at the horizon, not max_steps
    # Run i of the batch is run i of the engine.
    runs = simulate(subject, 3)
    assert runs["max_rung"].nunique() == 2
    assert [row["max_rung"] for row in rows] == runs["max_rung"].tolist()


def test_mesa_batch_run_sweeps_a_list_of_scenarios() -> None:
    subject = _batch_subject()
    rows = _batch([subject, subject])
    assert len(rows) == 6


# -- agent order -------------------------------------------------------------------------


def _frames(subject: Scenario) -> tuple[pd.DataFrame, pd.DataFrame]:
    results = run_scenario(subject, runs=60, seed=11, path_sample=0)
    return results.runs, results.cycles


def test_agent_order_does_not_matter(
    monkeypatch: pytest.MonkeyPatch, tiny_crisis: Scenario
) -> None:
    expected_runs, expected_cycles = _frames(tiny_crisis)
    orders: list[list[str]] = []

    def reversed_do(self: AgentSet, method: str, *args: Any, **kwargs: Any) -> AgentSet:
        agents = list(reversed(list(self)))
        orders.append([agent.name for agent in agents])
        for agent in agents:
            getattr(agent, method)(*args, **kwargs)
        return self

    monkeypatch.setattr(AgentSet, "do", reversed_do)
    reversed_runs, reversed_cycles = _frames(tiny_crisis)
    assert orders[0] == list(reversed(tiny_crisis.actors))
    pd.testing.assert_frame_equal(reversed_runs, expected_runs)
    pd.testing.assert_frame_equal(reversed_cycles, expected_cycles)

    monkeypatch.setattr(AgentSet, "do", AgentSet.shuffle_do)
    shuffled_runs, shuffled_cycles = _frames(tiny_crisis)
    pd.testing.assert_frame_equal(shuffled_runs, expected_runs)
    pd.testing.assert_frame_equal(shuffled_cycles, expected_cycles)


def test_order_of_declaration_of_actors_does_not_matter(tiny_crisis: Scenario) -> None:
    document = tiny_crisis.model_dump()
    document["actors"] = dict(reversed(list(document["actors"].items())))
    reordered = Scenario.model_validate(document)
    assert list(reordered.actors) == list(reversed(tiny_crisis.actors))
    expected_runs, expected_cycles = _frames(tiny_crisis)
    runs, cycles = _frames(reordered)
    pd.testing.assert_frame_equal(runs[expected_runs.columns], expected_runs)
    pd.testing.assert_frame_equal(cycles, expected_cycles)


def test_a_finished_model_is_freed_without_the_cycle_collector(tiny_crisis: Scenario) -> None:
    # A worker runs block after block; the cycle collector may not run for several
    # of them, so a model that only it could free would hold its arrays meanwhile.
    import gc
    import weakref

    enabled = gc.isenabled()
    gc.disable()
    try:
        model = EscalationModel(tiny_crisis, runs=20, seed=3)
        result = model.run()
        alive = weakref.ref(model)
        state = weakref.ref(model.state)
        del model
        assert alive() is None
        assert state() is None
        assert result.columns["outcome_index"].size == 20
    finally:
        if enabled:
            gc.enable()
