"""Sobol indices and Morris effects on small sweeps whose ranking is known.

In the duel, ``attack_chance`` drives how often the sides clash while ``inert``
is used by nothing.  With common random numbers, moving ``inert`` changes no run
at all, so its indices are exactly zero, not merely small.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from escalation import Scenario
from escalation.cli import main
from escalation.experiments.design import DesignFactor, DesignSpec, make_design
from escalation.experiments.experiment import command_line_experiment, sweep_spec
from escalation.experiments.factors import Factor, parse_vary
from escalation.experiments.sensitivity import (
    AnalysisError,
    analysis_seed,
    morris_table,
    output_column,
    sensitivity,
    sobol_pairs_table,
    sobol_table,
    uneven_morris_factors,
)
from escalation.experiments.sweep import run_sweep
from escalation.experiments.sweep_folder import SweepResults, read_sweep


def sweep(folder: Path, duel_file: Path, duel: Scenario, design: DesignSpec) -> SweepResults:
    factors = [
        DesignFactor(parse_vary("inert=0:10", duel)),
        DesignFactor(parse_vary("attack_chance=0.05:0.6", duel)),
    ]
    experiment = command_line_experiment(str(duel_file), factors, design)
    out = folder / design.kind
    run_sweep(sweep_spec(experiment, runs=60, seed=5), out)
    return read_sweep(out)


@pytest.fixture(scope="module")
def sobol_sweep(
    tmp_path_factory: pytest.TempPathFactory, shared_duel_file: Path, duel: Scenario
) -> SweepResults:
    """The duel on a Saltelli design of 16 x (2 + 2) points, 60 runs each (read only)."""
    folder = tmp_path_factory.mktemp("sensitivity")
    return sweep(folder, shared_duel_file, duel, DesignSpec("sobol", samples=16))


def test_sobol_ranks_the_driving_parameter_first(sobol_sweep: SweepResults) -> None:
    table = sensitivity(sobol_sweep, "share_war", resamples=200)
    assert list(table.columns) == ["parameter", "S1", "S1_conf", "ST", "ST_conf"]
    assert table["parameter"].tolist() == ["attack_chance", "inert"]
    driving, inert = table.iloc[0], table.iloc[1]
    assert driving["ST"] > 0.8
    assert driving["S1"] > 0.5
    assert inert["ST"] == 0.0
    assert inert["S1"] == 0.0
    assert driving["ST_conf"] > 0  # a bootstrap interval, not a point
    again = sensitivity(sobol_sweep, "share_war", resamples=200)
    pd.testing.assert_frame_equal(table, again)  # the bootstrap is seeded from the root seed


def test_morris_ranks_the_driving_parameter_first(
    tmp_path: Path, duel_file: Path, duel: Scenario
) -> None:
    results = sweep(tmp_path, duel_file, duel, DesignSpec("morris", trajectories=8))
    table = sensitivity(results, "mean_attack_count", resamples=200)
    assert list(table.columns) == ["parameter", "mu_star", "mu_star_conf", "sigma", "mu"]
    assert table["parameter"].tolist() == ["attack_chance", "inert"]
    assert table.loc[1, "mu_star"] == 0.0
    # attack_count grows with attack_chance: every elementary effect is positive.
    assert table.loc[0, "mu"] == pytest.approx(table.loc[0, "mu_star"])
    assert table["mu_star"].iloc[0] > 5


def test_sobol_indices_of_a_known_function() -> None:
    """Y = X1 + 2 X2 on uniforms: S1 = (1/5, 4/5), no interaction."""
    from SALib.sample import sobol

    problem = {"num_vars": 2, "names": ["x1", "x2"], "bounds": [[0, 1], [0, 1]]}
    x = sobol.sample(problem, 1024, calc_second_order=False, seed=np.random.default_rng(1))
    table = sobol_table(["x1", "x2"], x[:, 0] + 2 * x[:, 1], resamples=100, seed=3)
    assert table["parameter"].tolist() == ["x2", "x1"]
    np.testing.assert_allclose(table["S1"], [0.8, 0.2], atol=0.03)
    np.testing.assert_allclose(table["ST"], [0.8, 0.2], atol=0.03)


def test_second_order_sobol_indices_of_a_known_function() -> None:
    """Y = X1 + X2 + X1 X3 on uniforms on [-1, 1]: S13 = (1/9) / (1/3 + 1/3 + 1/9) = 1/7."""
    from SALib.analyze import sobol as salib_sobol
    from SALib.sample import sobol

    names = ["x1", "x2", "x3"]
    problem = {"num_vars": 3, "names": names, "bounds": [[-1, 1]] * 3}
    x = sobol.sample(problem, 4096, calc_second_order=True, seed=np.random.default_rng(1))
    y = x[:, 0] + x[:, 1] + x[:, 0] * x[:, 2]
    table = sobol_pairs_table(names, y, resamples=100, seed=3)
    assert list(table.columns) == ["parameter", "with", "S2", "S2_conf"]
    assert table.loc[0, ["parameter", "with"]].tolist() == ["x1", "x3"]
    assert table.loc[0, "S2"] == pytest.approx(1 / 7, abs=0.03)
    reference = salib_sobol.analyze(problem, y, num_resamples=100, seed=3)
    for _, row in table.iterrows():
        i, j = names.index(row["parameter"]), names.index(row["with"])
        assert row["S2"] == reference["S2"][i, j]
        assert row["S2_conf"] == reference["S2_conf"][i, j]


def test_analyze_gives_the_second_order_indices_a_design_was_sampled_for(
    tmp_path: Path, duel_file: Path, duel: Scenario, capsys: pytest.CaptureFixture[str]
) -> None:
    results = sweep(tmp_path, duel_file, duel, DesignSpec("sobol", samples=8, second_order=True))
    assert main(["analyze", str(results.folder), "--output", "war", "--resamples", "20"]) == 0
    printed = capsys.readouterr().out
    assert "Second-order Sobol indices of share_war" in printed
    assert "inert x attack_chance" in printed
    pairs = pd.read_parquet(results.folder / "analysis" / "sobol2_share_war.parquet")
    assert pairs[["parameter", "with"]].values.tolist() == [["inert", "attack_chance"]]
    assert pairs.loc[0, "S2"] == 0.0  # inert changes no run: it interacts with nothing
    assert main(["analyze", str(results.folder), "--output", "war"]) == 2
    assert "exists; pass --force" in capsys.readouterr().err


def test_morris_effects_of_a_known_function() -> None:
    from SALib.sample import morris

    problem = {"num_vars": 2, "names": ["x1", "x2"], "bounds": [[0, 1], [0, 1]]}
    x = morris.sample(problem, 10, num_levels=4, seed=np.random.default_rng(1))
    table = morris_table(["x1", "x2"], x, 3 * x[:, 0] - x[:, 1], levels=4, seed=3)
    assert table["parameter"].tolist() == ["x1", "x2"]
    np.testing.assert_allclose(table["mu"], [3.0, -1.0])
    np.testing.assert_allclose(table["sigma"], [0.0, 0.0], atol=1e-12)


def test_morris_effects_of_whole_numbers_and_lists_are_those_of_their_values_steps() -> None:
    """Y moves by the same share of each factor's range, so each should have mu* = 1.

    A whole-number factor of 5 values, or a list of 3, cannot be reached in even steps by
    4 levels: divided by the levels' step, as SALib divides them, their effects come out
    otherwise (1.125 for the whole numbers, mixed for the list); divided by the steps
    their values made, they are right.
    """
    factors = [
        DesignFactor(Factor("range", 0, 4)),
        DesignFactor(Factor("whole", 0, 4, integer=True)),
        DesignFactor(Factor("listed", 0, 4, values=(0.0, 2.0, 4.0))),
        DesignFactor(Factor("fitting", 5, 20, integer=True)),  # 16 values: 15 = 5 x 3
    ]
    names = [f.name for f in factors]
    design = make_design(factors, DesignSpec("morris", trajectories=30), 1)
    y = (design.points[names].to_numpy() - [0, 0, 0, 5]) @ np.array([1 / 4, 1 / 4, 1 / 4, 1 / 15])
    as_salib = morris_table(names, design.unit, y, levels=4, resamples=20).set_index("parameter")
    assert as_salib.loc["range", "mu_star"] == pytest.approx(1.0)
    assert as_salib.loc["fitting", "mu_star"] == pytest.approx(1.0)
    assert as_salib.loc["whole", "mu_star"] == pytest.approx(1.125)  # steps of 3/4, not 2/3
    assert as_salib.loc["listed", "sigma"] > 0.1  # steps of the whole range or half of it
    uneven = uneven_morris_factors(factors, 4)
    assert uneven == {"whole": 5, "listed": 3}
    assert uneven_morris_factors(factors, 2) == {}
    table = morris_table(names, design.unit, y, levels=4, resamples=20, uneven=uneven)
    table = table.set_index("parameter")
    np.testing.assert_allclose(table["mu_star"], 1.0)
    np.testing.assert_allclose(table["mu"], 1.0)
    np.testing.assert_allclose(table["sigma"], 0.0, atol=1e-12)
    assert table.loc["whole", "mu_star_conf"] == pytest.approx(0.0, abs=1e-12)
    # The factors the levels reach evenly keep SALib's numbers, to the last digit.
    for name in ("range", "fitting"):
        assert table.loc[name].equals(as_salib.loc[name])


def test_morris_effects_by_value_steps_keep_their_sign() -> None:
    # One factor of three values (0, 1, 2 at unit 0, 1/2, 1) on a design of 4 levels:
    # the grid's places 0, 1/3, 2/3, 1 fall on values 0, 1, 2, 2.
    unit = np.array([[0.0], [2 / 3], [1 / 3], [1.0], [1.0], [1 / 3], [2 / 3], [0.0]])
    values = np.minimum(np.floor(unit[:, 0] * 3), 2)
    table = morris_table(["x"], unit, 5.0 * values, levels=4, resamples=10, uneven={"x": 3})
    # 0 -> 2 and 1 -> 2 up, 2 -> 1 and 2 -> 0 down: 10 per unit of the range each time.
    assert table.loc[0, "mu"] == pytest.approx(10.0)
    assert table.loc[0, "mu_star"] == pytest.approx(10.0)
    table = morris_table(["x"], unit, -5.0 * values, levels=4, resamples=10, uneven={"x": 3})
    assert table.loc[0, "mu"] == pytest.approx(-10.0)
    assert table.loc[0, "mu_star"] == pytest.approx(10.0)


def test_analyze_notes_a_factor_the_morris_levels_miss(
    tmp_path: Path, duel_file: Path, duel: Scenario, capsys: pytest.CaptureFixture[str]
) -> None:
    factors = [
        DesignFactor(parse_vary("attack_chance=0.05:0.6", duel)),
        DesignFactor(parse_vary("a.resolve=0:10", duel)),  # 11 whole numbers
    ]
    experiment = command_line_experiment(
        str(duel_file), factors, DesignSpec("morris", trajectories=4)
    )
    run_sweep(sweep_spec(experiment, runs=10, seed=5), tmp_path / "morris")
    assert main(["analyze", str(tmp_path / "morris"), "--resamples", "20"]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert (
        "Note: the 4 Morris levels move a.resolve (11 values) in uneven steps (a factor of n "
        "values moves evenly when n - 1 is a multiple of 3): each of its elementary effects "
        "is divided by the step its value made" in printed
    )
    assert "attack_chance (" not in printed


def test_the_analysis_seed_is_never_zero() -> None:
    seeds = {analysis_seed(root) for root in range(200)}
    assert 0 not in seeds
    assert len(seeds) == 200


def test_outputs_are_named_by_outcome_or_metric(sobol_sweep: SweepResults) -> None:
    summary = sobol_sweep.summary
    assert output_column(summary, "war") == "share_war"
    assert output_column(summary, "max_rung") == "mean_max_rung"
    assert output_column(summary, "q95_attack_count") == "q95_attack_count"
    with pytest.raises(AnalysisError, match="no output 'wars'.*did you mean 'war'"):
        output_column(summary, "wars")
    with pytest.raises(AnalysisError, match="no output 'share_war_low'"):
        output_column(summary, "share_war_low")


def test_failed_points_and_undefined_outputs_are_refused(sobol_sweep: SweepResults) -> None:
    summary = sobol_sweep.summary.copy()
    summary.loc[[3, 7], "mean_attack_first_day"] = np.nan
    undefined = dataclasses.replace(sobol_sweep, summary=summary)
    undefined_at = "attack_first_day is undefined \\(NaN\\) at 2 of 64 points"
    with pytest.raises(AnalysisError, match=undefined_at):
        sensitivity(undefined, "mean_attack_first_day")
    summary.loc[5, "failed"] = True
    failed = dataclasses.replace(sobol_sweep, summary=summary)
    with pytest.raises(AnalysisError, match="1 of 64 points failed \\(points 5...\\); sensitivity"):
        sensitivity(failed, "share_war")


def test_analyze_says_an_output_is_undefined_not_the_same_where_it_is_nan(
    sobol_sweep: SweepResults, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An output defined at two points, equal there and NaN elsewhere, is not "the same at
    every point": it is refused for what it is, and nothing is written."""
    folder = tmp_path / "copy"
    shutil.copytree(sobol_sweep.folder, folder)
    summary = pd.read_parquet(folder / "summary.parquet")
    summary["mean_attack_first_day"] = np.nan
    summary.loc[[0, 1], "mean_attack_first_day"] = 3.0
    summary.to_parquet(folder / "summary.parquet", index=False)
    assert main(["analyze", str(folder), "--output", "war", "--output", "attack_first_day"]) == 2
    captured = capsys.readouterr()
    assert "mean_attack_first_day is undefined (NaN) at 62 of 64 points" in captured.err
    assert "the same at every point" not in captured.out
    assert not (folder / "analysis").exists()


def test_analyze_writes_ranked_tables_and_never_silently_replaces(
    sobol_sweep: SweepResults, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = str(sobol_sweep.folder)
    assert not (sobol_sweep.folder / "analysis").exists()
    assert main(["analyze", folder, "--resamples", "100"]) == 0
    printed = capsys.readouterr().out
    assert "Sobol indices of share_war" in printed
    lines = printed.splitlines()
    assert lines[2].split()[0] == "attack_chance"
    written = pd.read_parquet(sobol_sweep.folder / "analysis" / "sobol_share_war.parquet")
    assert written["parameter"].tolist() == ["attack_chance", "inert"]
    assert (sobol_sweep.folder / "analysis" / "sobol_share_calm.parquet").exists()
    before = (sobol_sweep.folder / "analysis" / "sobol_share_war.parquet").read_bytes()

    assert main(["analyze", folder, "--output", "war"]) == 2
    assert "sobol_share_war.parquet exists; pass --force" in capsys.readouterr().err
    assert (sobol_sweep.folder / "analysis" / "sobol_share_war.parquet").read_bytes() == before
    assert main(["analyze", folder, "--output", "war", "--force", "--resamples", "50"]) == 0


def test_analyze_explains_what_a_design_cannot_give(
    tmp_path: Path, duel_file: Path, duel: Scenario, capsys: pytest.CaptureFixture[str]
) -> None:
    results = sweep(tmp_path, duel_file, duel, DesignSpec("lhs", points=5))
    assert main(["analyze", str(results.folder)]) == 2
    assert "the lhs design gives no sensitivity indices" in capsys.readouterr().err
    assert main(["analyze", str(tmp_path / "nothing")]) == 2
    assert "not a results folder" in capsys.readouterr().err
