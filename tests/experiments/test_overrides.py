"""An experiment file's overrides: a problem they cause is placed at their ``set`` entry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from escalation.experiments.experiment import ExperimentError, load_experiment, sweep_spec
from escalation.experiments.overrides import place_at_overrides
from escalation.scenario.errors import COMMAND_LINE, Position, Problem, SourceMap

Write = Callable[[str, str], Path]


def problems_of(path: Path) -> list[str]:
    experiment, source = load_experiment(path)
    with pytest.raises(ExperimentError) as caught:
        sweep_spec(experiment, file=str(path), source=source)
    return [str(problem) for problem in caught.value.problems]


def test_each_bad_override_is_placed_at_its_own_entry(write: Write, duel_file: Path) -> None:
    path = write(
        "study.yaml",
        """\
        scenario: duel.yaml
        set:
          - horizon_days=20
          - actors.b.policy.answer.probability=2
          - parameters.inert.value=50
        factors:
          attack_chance: {values: [0.1, 0.2]}
        design: grid
        """,
    )
    assert problems_of(path) == [
        f"{path}:4:5: set[1]: actors.b.policy.answer.probability=2: "
        "actors.b.policy[0].probability: must be in [0, 1], got 2",
        f"{path}:5:5: set[2]: parameters.inert.value=50: parameters.inert: value must be in "
        f"[0, 10], got 50 (at {duel_file}:10:3)",
    ]
    write("study.yaml", path.read_text().replace("b.policy.answer", "b.policy.answr"))
    assert problems_of(path) == [
        f"{path}:4:5: set[1]: actors.b.policy.answr.probability=2: no item with id 'answr' "
        "at actors.b.policy; did you mean 'answer'?"
    ]


def test_a_later_override_of_the_same_value_is_the_one_blamed(
    write: Write, duel_file: Path
) -> None:
    path = write(
        "study.yaml",
        """\
        scenario: duel.yaml
        set: [parameters.inert.value=50, parameters.inert.value=60]
        factors:
          attack_chance: {values: [0.1, 0.2]}
        design: grid
        """,
    )
    problems = problems_of(path)
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}:2:34: set[1]: parameters.inert.value=60: ")


def test_problems_elsewhere_stay_where_they_are() -> None:
    source = SourceMap({("set",): Position("study.yaml", 3, 1), ("set", 0): Position("s", 3, 7)})
    in_scenario = Problem("duel.yaml", 5, 1, "runs", "must be > 0, got 0")
    unplaced = Problem(COMMAND_LINE, None, None, "outcomes[0].when", "no such outcome")
    placed = place_at_overrides(
        [in_scenario, unplaced], ["a=1", "b=2"], source, document={"a": 1, "b": 2}
    )
    assert placed == [
        in_scenario,  # the scenario's own problem, the overrides being sound
        Problem("study.yaml", 3, 1, "set", "an override gives outcomes[0].when: no such outcome"),
    ]
    assert place_at_overrides([unplaced], ["a=1"], None) == [unplaced]  # from the command line


def test_a_broken_scenario_keeps_its_problems_and_the_overrides_theirs(
    write: Write, duel_file: Path
) -> None:
    broken = write("broken.yaml", duel_file.read_text().replace("runs: 10", "runs: 0"))
    path = write(
        "study.yaml",
        """\
        scenario: broken.yaml
        set: [parameters.inert.value=50]
        factors:
          attack_chance: {values: [0.1, 0.2]}
        design: grid
        """,
    )
    assert problems_of(path) == [
        f"{broken}:3:1: runs: must be > 0, got 0",
        f"{path}:2:7: set[0]: parameters.inert.value=50: parameters.inert: value must be in "
        f"[0, 10], got 50 (at {broken}:10:3)",
    ]
