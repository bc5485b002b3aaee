"""Experiment files: read as strictly as scenarios, every problem placed at its line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from escalation.experiments import experiment as experiment_module
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
        (
            ("runs: 50", "horizon_days: 99999"),
            "study.yaml:9:1: horizon_days: must be <= 36500, got 99999",
        ),
        (
            ("set: [horizon_days=20]", "set: [horizon_days=20, parameters.q.value=1]"),
            "study.yaml:3:24: set[1]: parameters.q.value=1: no key 'q' at parameters",
        ),
        (
            ("set: [horizon_days=20]", "set: [parameters.inert.value=50]"),
            "study.yaml:3:7: set[0]: parameters.inert.value=50: parameters.inert: value must be "
            "in [0, 10], got 50 (at ",
        ),
        (
            ("set: [horizon_days=20]", "set: [actors.a.policy.hit.probability=1.5]"),
            "study.yaml:3:7: set[0]: actors.a.policy.hit.probability=1.5: "
            "actors.a.policy[0].probability: must be in [0, 1], got 1.5",
        ),
        (
            ("design: {kind: sobol, samples: 8}", "design: {kind: lhs, points: 100000000000}"),
            "study.yaml:8:21: design.points: the lhs design would have 100,000,000,000 points; "
            "a design may have at most 10,000,000 points",
        ),
        (
            ("runs: 50", "runs: 10000001"),
            "study.yaml:9:1: runs: 10,000,001 runs per point; a sweep runs at most 10,000,000 "
            "per point",
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


def test_a_missing_scenario_is_placed_at_the_scenario_line(write: Write) -> None:
    path = write("study.yaml", GOOD.replace("duel.yaml", "nowhere.yaml"))
    problems = problems_of(path)
    assert problems == [
        f"{path}:2:1: scenario: cannot read the scenario 'nowhere.yaml' "
        f"({path.parent / 'nowhere.yaml'}): no such file"
    ]


def test_a_scenario_wrong_in_itself_is_placed_in_the_scenario(
    write: Write, duel_file: Path
) -> None:
    write("broken.yaml", duel_file.read_text(encoding="utf-8").replace("runs: 10", "runs: 0"))
    problems = problems_of(write("study.yaml", GOOD.replace("duel.yaml", "broken.yaml")))
    assert len(problems) == 1
    assert problems[0].endswith("broken.yaml:3:1: runs: must be > 0, got 0")


def test_a_sweep_of_too_many_runs_in_all_is_refused(
    write: Write, duel_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The limit lowered so that the check needs no ten billion runs to show itself.
    monkeypatch.setattr(experiment_module, "MAX_SWEEP_RUNS", 1000)
    path = write("study.yaml", GOOD)
    assert problems_of(path) == [
        f"{path}:9:1: runs: 40 points x 50 runs per point = 2,000 runs in all; a sweep runs "
        "at most 1,000 in all: give fewer points or fewer runs"
    ]


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
