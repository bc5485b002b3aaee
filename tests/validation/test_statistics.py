"""Each statistic on a hand-made record of acts whose answer is known exactly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from escalation.experiments.replicates import SimulationResults
from escalation.scenario import load_scenario
from escalation.validation.evidence import EVENT_COLUMNS, Evidence
from escalation.validation.statistics import STATISTICS, compute, needs_trace
from escalation.validation.targets import Target

HORIZON = 100

# run, day, event_id, actor, action, target, count, cause, deaths_target, deaths_actor
ACTS = [
    (0, 1, 10, "ttp", "attack", "pak", 1, -1, 5, 0),
    (0, 2, 20, "ttp", "attack", "pak", 1, -1, 0, 0),
    (0, 3, 31, "pak", "strike", "ttp", 1, 10, 9, 0),
    (0, 5, 52, "tal", "assault", "pak", 1, 31, 4, 6),
    (0, 40, 401, "pak", "strike", "ttp", 1, 20, 11, 0),
    (1, 0, 0, "ttp", "attack", "pak", 2, -1, 7, 0),
    (1, 1, 11, "pak", "strike", "ttp", 1, 0, 8, 0),
    (1, 98, 981, "pak", "strike", "ttp", 1, -1, 12, 0),
]
"""Run 0: deadly attack (day 1), harmless attack (2), strike answering day 1 (3), Taliban
assault answering it (5), strike answering day 2's attack (40).  Run 1: two attacks on day 0,
a strike the next day, an unexplained strike on day 98."""


@pytest.fixture
def evidence(crisis_file: Path) -> Evidence:
    rows = [
        {
            "run": run,
            "day": day,
            "event_id": event,
            "actor": actor,
            "action": action,
            "target": target,
            "rule": "" if action == "attack" else "rule",
            "count": float(count),
            "cause": cause,
            "chain": 1,
            "deaths_target": float(dead_target),
            "deaths_actor": float(dead_actor),
        }
        for run, day, event, actor, action, target, count, cause, dead_target, dead_actor in ACTS
    ]
    events = pd.DataFrame(rows, columns=list(EVENT_COLUMNS))
    runs = pd.DataFrame(
        {
            "run": [0, 1],
            "attack_count": [10.0, 20.0],
            "strike_count": [1.0, 2.0],
            "strike_first_day": [3.0, np.nan],
            "tal_dead_claimed": [30.0, 0.0],
            "tal_dead_admitted": [3.0, 0.0],
        }
    )
    results = SimulationResults(
        scenario=load_scenario(crisis_file),
        seed=0,
        horizon_days=HORIZON,
        runs=runs,
        cycles=pd.DataFrame({"run": [0, 0, 1], "start_day": [1, 40, 0], "length": [3, 2, 2]}),
        timeseries=pd.DataFrame(),
    )
    return Evidence(results, events, np.array([0, 1]))


def target(statistic: str, **options: Any) -> Target:
    fields: dict[str, Any] = {"id": "t", "statistic": statistic, "observed": 1, "source": "test"}
    return Target.model_validate({**fields, **options})


STRIKES_AFTER_ATTACKS = {
    "trigger": {"actor": "ttp", "action": "attack"},
    "response": {"actor": "pak", "action": "strike"},
}
ASSAULTS_AFTER_STRIKES = {
    "trigger": {"actor": "pak", "action": "strike"},
    "response": {"actor": "tal", "action": "assault"},
}


def values(statistic: str, evidence: Evidence, **options: Any) -> list[float]:
    return compute(target(statistic, **options), evidence).values.tolist()


def test_delay_through_the_cause_link(evidence: Evidence) -> None:
    assert values("response_delay_days", evidence, **STRIKES_AFTER_ATTACKS) == [2, 38, 1]


def test_delay_through_the_cause_link_within_a_window(evidence: Evidence) -> None:
    delays = values("response_delay_days", evidence, **STRIKES_AFTER_ATTACKS, within=10)
    assert delays == [2, 1]


def test_delay_through_time_pairs_the_latest_trigger_before(evidence: Evidence) -> None:
    options = {**STRIKES_AFTER_ATTACKS, "link": "time", "within": 10}
    assert sorted(values("response_delay_days", evidence, **options)) == [1, 1]


def test_a_deadly_trigger_skips_harmless_acts(evidence: Evidence) -> None:
    options = {
        "trigger": {"actor": "ttp", "action": "attack", "min_deaths": 1},
        "response": {"actor": "pak", "action": "strike"},
        "link": "time",
        "within": 10,
    }
    assert sorted(values("response_delay_days", evidence, **options)) == [1, 2]


def test_cause_link_ignores_answers_to_other_triggers(evidence: Evidence) -> None:
    options = {
        "trigger": {"actor": "ttp", "action": "attack", "min_deaths": 6},
        "response": {"actor": "pak", "action": "strike"},
    }
    assert values("response_delay_days", evidence, **options) == [1]


def test_answered_share(evidence: Evidence) -> None:
    sample = compute(target("answered_share", **ASSAULTS_AFTER_STRIKES), evidence)
    assert sample.kind == "share"
    assert sample.values.tolist() == [1, 0, 0, 0]


def test_answered_share_leaves_out_triggers_too_late_to_answer(evidence: Evidence) -> None:
    sample = compute(target("answered_share", **ASSAULTS_AFTER_STRIKES, within=5), evidence)
    assert sample.values.tolist() == [1, 0, 0]


def test_answered_share_by_time(evidence: Evidence) -> None:
    options = {**ASSAULTS_AFTER_STRIKES, "link": "time", "within": 2}
    assert values("answered_share", evidence, **options) == [1, 0, 0]
    options["within"] = 1
    assert values("answered_share", evidence, **options) == [0, 0, 0, 0]


@pytest.mark.parametrize(("side", "expected"), [("target", 4), ("actor", 6), ("both", 10)])
def test_event_deaths_by_side(evidence: Evidence, side: str, expected: float) -> None:
    acts = {"actor": "tal", "action": "assault"}
    assert values("event_deaths", evidence, acts=acts, side=side) == [expected]


def test_event_deaths_of_every_matching_act(evidence: Evidence) -> None:
    assert values("event_deaths", evidence, acts={"action": "strike"}) == [9, 11, 8, 12]


def test_monthly_acts_counts_whole_months_with_empty_ones(evidence: Evidence) -> None:
    counts = values("monthly_acts", evidence, acts={"actor": "ttp", "action": "attack"})
    assert counts == [2, 0, 0, 2, 0, 0]


@pytest.mark.parametrize(("within", "expected"), [(3, [2, 2]), (40, [1, 2])])
def test_episode_rate(evidence: Evidence, within: int, expected: list[float]) -> None:
    options = {"acts": {"action": "strike"}, "within": within, "scale": "none"}
    assert values("episode_rate", evidence, **options) == expected


def test_episode_rate_per_year(evidence: Evidence) -> None:
    per_year = values("episode_rate", evidence, acts={"action": "strike"})
    assert per_year == pytest.approx([2 * 365 / HORIZON, 2 * 365 / HORIZON])


def test_act_rate(evidence: Evidence) -> None:
    assert values("act_rate", evidence, action="attack") == pytest.approx([3, 6])
    both = values("act_rate", evidence, action=["attack", "strike"], scale="per_year")
    assert both == pytest.approx([11 * 3.65, 22 * 3.65])


def test_claimed_to_admitted_ratio_skips_runs_with_nothing_admitted(evidence: Evidence) -> None:
    assert values("claimed_to_admitted_ratio", evidence, actor="tal") == [10]


def test_cycle_length(evidence: Evidence) -> None:
    assert values("cycle_length", evidence) == [3, 2, 2]


def test_column_leaves_out_undefined_runs(evidence: Evidence) -> None:
    assert values("column", evidence, column="strike_first_day") == [3]
    sample = compute(target("column", column="strike_count", above=1), evidence)
    assert sample.kind == "share"
    assert sample.values.tolist() == [0, 1]
    scaled = values("column", evidence, column="attack_count", scale="per_month")
    assert scaled == pytest.approx([3, 6])


def test_statistics_of_acts_need_traced_runs(evidence: Evidence) -> None:
    evidence.events = None
    with pytest.raises(ValueError, match="needs traced runs"):
        compute(target("event_deaths", acts={"action": "strike"}), evidence)


def test_the_registry_says_which_statistics_read_acts() -> None:
    traced = {name for name, spec in STATISTICS.items() if spec.traced}
    assert traced == {
        "response_delay_days",
        "answered_share",
        "event_deaths",
        "monthly_acts",
        "episode_rate",
    }
    assert needs_trace(target("event_deaths", acts={"action": "strike"}))
    assert not needs_trace(target("cycle_length"))
