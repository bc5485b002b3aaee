"""PRIM finds a box planted in synthetic data, and the analyze verb reports it as rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from escalation import Scenario
from escalation.cli import main
from escalation.experiments.design import DesignFactor, DesignSpec
from escalation.experiments.discovery import PrimResult, discover, prim, prim_table, rules_text
from escalation.experiments.experiment import command_line_experiment, sweep_spec
from escalation.experiments.factors import parse_vary
from escalation.experiments.sweep import run_sweep


def planted(seed: int, n: int = 1000, noise: float = 0.0) -> tuple[pd.DataFrame, np.ndarray]:
    """Cases where a < 0.3 and b > 0.6 (c irrelevant), a share ``noise`` of labels flipped."""
    generator = np.random.default_rng(seed)
    x = pd.DataFrame(generator.random((n, 3)), columns=["a", "b", "c"])
    cases = (x["a"] < 0.3).to_numpy() & (x["b"] > 0.6).to_numpy()
    return x, cases ^ (generator.random(n) < noise)


def test_prim_finds_the_planted_box() -> None:
    x, cases = planted(3)
    box, trajectory = prim(x, cases)
    assert box.restricted == ("a", "b")
    assert box.high["a"] == pytest.approx(0.3, abs=0.01)
    assert box.low["b"] == pytest.approx(0.6, abs=0.01)
    assert box.density == 1.0
    assert box.coverage > 0.98
    assert box.mass == pytest.approx(cases.mean() / box.density * box.coverage)
    assert trajectory.iloc[0].tolist() == [1.0, cases.mean(), 1.0, 0]
    assert trajectory["mass"].is_monotonic_decreasing


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_prim_finds_the_box_through_noise(seed: int) -> None:
    """With 10% of the labels flipped the box is still found within a few percent."""
    x, cases = planted(seed, n=2000, noise=0.1)
    box, _ = prim(x, cases)
    assert {"a", "b"} <= set(box.restricted)
    assert box.high["a"] == pytest.approx(0.3, abs=0.04)
    assert box.low["b"] == pytest.approx(0.6, abs=0.04)
    assert box.density > 0.8


def test_a_minimum_coverage_keeps_a_wider_box() -> None:
    x, cases = planted(5, noise=0.1)
    balanced, _ = prim(x, cases)
    wide, _ = prim(x, cases, min_coverage=0.8)
    assert wide.coverage >= 0.8 > balanced.coverage
    assert wide.mass > balanced.mass


def test_prim_refuses_what_it_cannot_do() -> None:
    x, cases = planted(1)
    with pytest.raises(ValueError, match="no point is a case"):
        prim(x, np.zeros(len(x), dtype=bool))
    with pytest.raises(ValueError, match="one case flag per point"):
        prim(x, cases[:10])
    with pytest.raises(ValueError, match="peel_alpha"):
        prim(x, cases, peel_alpha=0.7)


def test_the_table_and_the_rules_describe_the_box() -> None:
    x, cases = planted(3)
    summary = x.assign(point=range(len(x)), failed=False, share_war=cases * 0.8)
    result = discover(summary, ["a", "b", "c"], "share_war", 0.3)
    assert isinstance(result, PrimResult)
    table = prim_table(result)
    assert list(table.columns) == [
        "parameter",
        "low",
        "high",
        "coverage",
        "density",
        "threshold",
        "mass",
    ]
    assert table["parameter"].tolist() == ["a", "b"]
    assert (table["threshold"] == 0.3).all()
    assert table["coverage"].nunique() == 1
    text = rules_text(result, x)
    assert text.startswith("share_war > 0.3 when a <= 0.29")
    assert " and b >= 0.60" in text
    # Below 0.3 is everything but the box: 89% of the space, which no box improves on.
    below = discover(summary, ["a", "b", "c"], "share_war", 0.3, above=False)
    assert below.box.restricted == ()
    assert below.box.density == pytest.approx(1 - cases.mean())
    assert rules_text(below, x).startswith(
        "share_war < 0.3 (density 0.89, coverage 1.00, mass 1.00): no box concentrates"
    )


def test_analyze_discovers_where_war_prevails(
    tmp_path: Path, duel_file: Path, duel: Scenario, capsys: pytest.CaptureFixture[str]
) -> None:
    factors = [
        DesignFactor(parse_vary("attack_chance=0.05:0.6", duel)),
        DesignFactor(parse_vary("inert=0:10", duel)),
    ]
    experiment = command_line_experiment(str(duel_file), factors, DesignSpec("lhs", points=60))
    out = tmp_path / "lhs"
    run_sweep(sweep_spec(experiment, runs=40, seed=2), out)

    assert main(["analyze", str(out), "--discover", "war", "--threshold", "0.5"]) == 0
    printed = capsys.readouterr().out
    assert "share_war > 0.5 when attack_chance >= " in printed
    box = pd.read_parquet(out / "analysis" / "prim_war.parquet")
    assert box["parameter"].tolist()[0] == "attack_chance"
    assert box["high"].iloc[0] == pytest.approx(
        pd.read_parquet(out / "points.parquet")["attack_chance"].max()
    )
    assert main(["analyze", str(out), "--discover", "war"]) == 2
    assert "prim_war.parquet exists; pass --force" in capsys.readouterr().err
    assert main(["analyze", str(out), "--discover", "max_rung"]) == 2
    assert "give --threshold" in capsys.readouterr().err


def test_analyze_says_when_no_point_of_the_sweep_succeeded(
    tmp_path: Path, duel_file: Path, duel: Scenario, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "points.csv"
    table.write_text("answer_chance\n0.8\n0.9\n")  # 2 * answer_chance is no probability
    factors: list[DesignFactor] = []
    experiment = command_line_experiment(
        str(duel_file), factors, DesignSpec("table", table=str(table))
    )
    out = tmp_path / "failed"
    run_sweep(sweep_spec(experiment, runs=3, horizon_days=5, seed=2), out)

    for extra in (["--discover", "war"], []):
        assert main(["analyze", str(out), *extra]) == 2
        err = capsys.readouterr().err
        assert "no point of the sweep succeeded (all 2 failed" in err
        assert "one case flag per point" not in err
    summary = pd.read_parquet(out / "summary.parquet")
    with pytest.raises(ValueError, match="no point of the sweep succeeded"):
        discover(summary, ["answer_chance"], "share_war", 0.5)


@pytest.mark.parametrize("threshold", ["nan", "inf", "-inf"])
def test_a_threshold_that_is_not_finite_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], threshold: str
) -> None:
    assert main(["analyze", str(tmp_path), "--discover", "war", f"--threshold={threshold}"]) == 2
    err = capsys.readouterr().err
    assert f"argument --threshold: expected a finite number, got {threshold!r}" in err
    summary = pd.DataFrame({"a": [0.1, 0.9], "share_war": [0.2, 0.8], "failed": [False, False]})
    with pytest.raises(ValueError, match="the threshold must be a finite number"):
        discover(summary, ["a"], "share_war", float(threshold))


def test_analyze_counts_the_points_discovery_used(
    tmp_path: Path, duel_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A failed point is left out of discovery; the report says on how many points it ran."""
    table = tmp_path / "points.csv"
    table.write_text("answer_chance\n0.1\n0.3\n0.9\n")  # 0.9: 2 * answer_chance fails
    experiment = command_line_experiment(str(duel_file), [], DesignSpec("table", table=str(table)))
    out = tmp_path / "one_failed"
    run_sweep(sweep_spec(experiment, runs=5, seed=2), out)
    assert main(["analyze", str(out), "--discover", "war", "--threshold", "0.1"]) == 0
    printed = capsys.readouterr().out
    assert (
        "Scenario discovery (PRIM) on 2 of 3 points (the 1 that failed or where share_war "
        "is undefined are left out):" in printed
    )
