"""Comparing the model with the record: summaries, percentiles, rules, and a whole check."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalation.scenario import load_scenario
from escalation.validation.check import (
    Summary,
    check_scenario,
    discrepancy,
    evaluate,
    percentile_of,
    summarise,
)
from escalation.validation.statistics import Sample
from escalation.validation.targets import Target, load_targets


def sample(values: list[float], kind: str = "values") -> Sample:
    return Sample(kind, np.asarray(values, dtype=np.float64), "days", "answer")  # type: ignore[arg-type]


def target(**fields: Any) -> Target:
    base = {"id": "t", "statistic": "cycle_length", "source": "test"}
    return Target.model_validate({**base, **fields})


def test_summary_of_values_is_median_and_central_quantiles() -> None:
    summary = summarise(sample(list(range(101))), 0.9)
    assert summary == Summary(50.0, 5.0, 95.0, 101)


def test_summary_of_a_share_is_the_share_and_its_wilson_interval() -> None:
    summary = summarise(sample([1] * 30 + [0] * 70, "share"), 0.95)
    assert summary.centre == pytest.approx(0.3)
    # Wilson 95% for 30 of 100 (Newcombe 1998, table I): 0.2189 to 0.3958.
    assert summary.low == pytest.approx(0.2189, abs=1e-4)
    assert summary.high == pytest.approx(0.3958, abs=1e-4)


def test_an_empty_sample_has_no_summary() -> None:
    summary = summarise(sample([]), 0.9)
    assert summary.n == 0
    assert math.isnan(summary.centre)


def test_percentile_is_mid_rank() -> None:
    values = np.array([1.0, 2.0, 2.0, 3.0])
    assert percentile_of(values, 2.0) == 50.0
    assert percentile_of(values, 0.0) == 0.0
    assert percentile_of(values, 3.0) == 87.5
    assert math.isnan(percentile_of(np.array([]), 1.0))


@pytest.mark.parametrize(
    ("fields", "passed"),
    [
        ({"observed": 50}, True),
        ({"observed": 97}, False),
        ({"range": [40, 60]}, True),
        ({"range": [60, 80]}, False),
        ({"range": [90, 200], "pass_if": "interval_overlaps_range"}, True),
        ({"range": [96, 200], "pass_if": "interval_overlaps_range"}, False),
        ({"range": [10, 90], "pass_if": "range_in_interval"}, True),
        ({"range": [3, 90], "pass_if": "range_in_interval"}, False),
    ],
)
def test_each_rule(fields: dict[str, Any], passed: bool) -> None:
    row = evaluate(target(**fields), sample(list(range(101))), 0.9)
    assert row["passed"] is passed
    assert (row["discrepancy"] == 0) is passed


def test_the_row_reports_percentiles_of_the_record() -> None:
    row = evaluate(target(observed=20, range=[10, 30]), sample(list(range(100))), 0.9)
    assert row["percentile"] == pytest.approx(20.5)
    assert row["percentile_low"] == pytest.approx(10.5)
    assert row["percentile_high"] == pytest.approx(30.5)


def test_an_empty_sample_fails_with_a_reason() -> None:
    row = evaluate(target(observed=2), sample([]), 0.9)
    assert row["passed"] is False
    assert row["note"] == "the model produced no answer to measure"
    assert discrepancy(target(observed=2), summarise(sample([]), 0.9)) == math.inf


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.integers(0, 20), min_size=1, max_size=30),
    low=st.integers(0, 20),
    width=st.integers(0, 10),
    rule=st.sampled_from(["median_in_range", "interval_overlaps_range", "range_in_interval"]),
)
def test_a_range_rule_passes_exactly_when_the_discrepancy_is_zero(
    values: list[int], low: int, width: int, rule: str
) -> None:
    goal = target(range=[low, low + width], pass_if=rule)
    row = evaluate(goal, sample([float(v) for v in values]), 0.9)
    assert row["discrepancy"] >= 0
    assert (row["discrepancy"] == 0) is row["passed"]


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.integers(0, 20), min_size=1, max_size=30), observed=st.integers(0, 20))
def test_a_model_centred_on_the_record_passes(values: list[int], observed: int) -> None:
    row = evaluate(target(observed=observed), sample([float(v) for v in values]), 0.9)
    assert row["discrepancy"] == abs(row["centre"] - observed)
    if row["discrepancy"] == 0:
        assert row["passed"]


def test_the_crisis_scenario_meets_its_targets(crisis_file: Path, targets_file: Path) -> None:
    scenario = load_scenario(crisis_file)
    result = check_scenario(scenario, load_targets(targets_file, scenario), seed=5)
    assert list(result.table["id"]) == ["strike_delay", "answer_share", "attacks"]
    assert result.passed, result.text()
    assert result.seed == 5
    assert result.traced_runs == 40
    text = result.text()
    assert "3 of 3 targets pass." in text
    assert "strike_delay" in text


def test_a_failed_target_is_explained(crisis_file: Path, targets_file: Path) -> None:
    scenario = load_scenario(crisis_file)
    result = check_scenario(
        scenario, load_targets(targets_file, scenario), seed=5, parameters={"base": 2.0}
    )
    assert not result.passed
    failed = result.table.loc[~result.table["passed"], "id"].tolist()
    assert failed == ["attacks"]
    assert "attacks: the record, 25, lies outside the model's" in result.text()


def test_a_check_depends_on_the_seed_alone(crisis_file: Path, targets_file: Path) -> None:
    scenario = load_scenario(crisis_file)
    targets = load_targets(targets_file, scenario)
    one = check_scenario(scenario, targets, runs=60, traced_runs=20, seed=8, workers=1)
    two = check_scenario(scenario, targets, runs=60, traced_runs=20, seed=8, workers=2)
    other = check_scenario(scenario, targets, runs=60, traced_runs=20, seed=9, workers=1)
    pd.testing.assert_frame_equal(one.table, two.table)
    assert not one.table["centre"].equals(other.table["centre"])


def test_every_shipped_target_is_measurable_on_the_reference_scenario() -> None:
    root = Path(__file__).resolve().parents[2]
    scenario = load_scenario(root / "scenarios" / "pakistan_afghanistan_2025.yaml")
    targets = load_targets(root / "scenarios" / "targets" / "pakistan_2023_2025.yaml", scenario)
    result = check_scenario(scenario, targets, runs=60, traced_runs=30, seed=1)
    assert len(result.table) == len(targets.targets)
    empty = result.table.loc[result.table["n"] == 0, "id"].tolist()
    assert empty == [], f"no sample for {empty}"
