"""Experiment files: read as strictly as scenarios, every problem placed at its line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from escalation.experiments.experiment import (
    ExperimentError,
    SweepSpec,
    is_experiment_file,
    load_experiment,
    sweep_spec,
)
from escalation.scenario.errors import ScenarioError

Write = Callable[[str, str], Path]

GOOD = """\
name: duel_study
scenario: duel.yaml
set: [horizon_days=20]
factors:
  attack_chance: {low: 0.1, high: 0.6}
  actors.a.parameters.resolve: {values: [1, 3, 5]}
  inert: {low: 1, high: 9, distribution: normal, mean: 5, sd: 2}
design: {kind: sobol, samples: 8}
runs: 50
seed: 4
"""


def spec_of(path: Path) -> SweepSpec:
    experiment, source = load_experiment(path)
    return sweep_spec(experiment, file=str(path), source=source)


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        spec_of(path)
    return [str(problem) for problem in caught.value.problems]


def test_a_good_file_resolves_against_its_scenario(write: Write, duel_file: Path) -> None:
    path = write("study.yaml", GOOD)
    assert is_experiment_file(path)
    assert not is_experiment_file(duel_file)
    experiment, source = load_experiment(path)
    spec = sweep_spec(experiment, file=str(path), source=source)
    assert spec.name == "duel_study"
    assert [f.name for f in spec.factors] == ["attack_chance", "a.resolve", "inert"]
    assert spec.factors[2].distribution == "normal"
    assert spec.scenario.horizon_days == 20  # the override applies...
    assert spec.horizon_days == 20  # ...and is the default horizon
    assert (spec.runs, spec.seed, spec.design.kind, spec.design.samples) == (50, 4, "sobol", 8)
    assert spec.input_files == (str(path), str(duel_file))
    assert spec.experiment["set"] == ["horizon_days=20"]
    again = sweep_spec(experiment, file=str(path), source=source, runs=7, seed=0)
    assert (again.runs, again.seed) == (7, 0)
    assert again.digest() != spec.digest()
    assert sweep_spec(experiment, file=str(path), source=source).digest() == spec.digest()


def test_design_may_be_named_alone(write: Write, duel_file: Path) -> None:
    path = write(
        "grid.yaml",
        """\
        scenario: duel.yaml
        factors:
          attack_chance: {low: 0.1, high: 0.5, levels: 3}
        design: grid
        """,
    )
    spec = spec_of(path)
    assert spec.design.kind == "grid"
    assert spec.runs == 10  # the scenario's


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            ("runs: 50", "run: 50"),
            "study.yaml:9:1: run: unknown key 'run'; did you mean 'runs'?",
        ),
        (
            ("design: {kind: sobol, samples: 8}", "design: {kind: sobol, sample: 8}"),
            "study.yaml:8:23: design.sample: unknown key 'sample'; did you mean 'samples'?",
        ),
        (
            ("attack_chance: {low", "attack_chanse: {low"),
            "study.yaml:5:3: factors.attack_chanse: 'attack_chanse' names no parameter of "
            "scenario 'duel'; did you mean 'attack_chance'?",
        ),
        (
            ("{low: 0.1, high: 0.6}", "{low: 0.6, high: 0.6}"),
            "study.yaml:5:3: factors.attack_chance: attack_chance: the range 0.6:0.6 is empty",
        ),
        (
            ("{low: 0.1, high: 0.6}", "{low: 0.1, high: 1.6}"),
            "attack_chance: 1.6 is outside the parameter's domain [0, 1]",
        ),
        (
            ("samples: 8", "samples: 12"),
            "study.yaml:8:23: design.samples: Sobol sampling needs a power of two for the base "
            "sample size, got 12; the nearest are 8 and 16",
        ),
        (
            ("sd: 2}", "sd: -2}"),
            "study.yaml:7:59: factors.inert.sd: must be > 0, got -2",
        ),
        (
            ("kind: sobol", "kind: sobel"),
            "study.yaml:8:10: design.kind: expected 'grid', 'lhs', 'monte_carlo', 'sobol', "
            "'morris' or 'table', got 'sobel'; did you mean 'sobol'?",
        ),
        (
            ("{values: [1, 3, 5]}", "{values: [1, 3, 5], low: 1}"),
            "factors['actors.a.parameters.resolve']: give either values, or low and high",
        ),
        (
            ("runs: 50", "runs: 0"),
            "study.yaml:9:1: runs: must be >= 1, got 0",
        ),
    ],
)
def test_problems_name_file_line_and_path(
    write: Write, duel_file: Path, edit: tuple[str, str], expected: str
) -> None:
    text = GOOD.replace(*edit)
    assert text != GOOD
    problems = problems_of(write("study.yaml", text))
    assert any(expected in problem for problem in problems), problems


def test_every_problem_is_reported_at_once(write: Write, duel_file: Path) -> None:
    text = GOOD.replace("attack_chance: {low", "attack_chanse: {low").replace("1, 3, 5", "1, 3, 50")
    problems = problems_of(write("study.yaml", text))
    assert len(problems) == 2
    assert "did you mean 'attack_chance'" in problems[0]
    assert "50 is outside the parameter's domain [0, 10]" in problems[1]


def test_a_missing_scenario_is_a_scenario_error(write: Write) -> None:
    path = write("study.yaml", GOOD.replace("duel.yaml", "nowhere.yaml"))
    with pytest.raises(ScenarioError, match="nowhere.yaml: cannot read the file"):
        spec_of(path)


def test_an_empty_file_is_not_an_experiment(write: Write) -> None:
    with pytest.raises(ExperimentError, match="expected an experiment mapping"):
        load_experiment(write("empty.yaml", "# nothing\n"))


def test_a_table_design_takes_its_factors_from_the_csv(write: Write, duel_file: Path) -> None:
    write("points.csv", "attack_chance,inert\n0.1,1\n0.2,2\n0.3,3\n")
    path = write(
        "table.yaml",
        """\
        scenario: duel.yaml
        design: {kind: table, file: points.csv}
        """,
    )
    spec = spec_of(path)
    assert [f.name for f in spec.factors] == ["attack_chance", "inert"]
    assert spec.table is not None
    assert spec.table["inert"].tolist() == [1, 2, 3]
    write("points.csv", "attack_chance,inert\n0.1,1\n0.2,20\n")
    problems = problems_of(path)
    assert "table.yaml:2:23: design.file:" in problems[0]
    assert "points.csv:3: inert: 20 is outside the parameter's domain [0, 10]" in problems[0]
