"""Tests of the targets file: schema, defaults, every problem with its line, names checked."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from escalation.scenario import load_scenario
from escalation.validation.targets import Target, TargetsError, load_targets

Write = Callable[[str, str], Path]

ROOT = Path(__file__).resolve().parents[2]


def line_of(text: str, snippet: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if snippet in line:
            return number
    raise AssertionError(f"{snippet!r} not in the text")


def problems(excinfo: pytest.ExceptionInfo[TargetsError]) -> list[str]:
    return [str(problem) for problem in excinfo.value.problems]


def test_targets_load_with_defaults(targets_file: Path) -> None:
    targets = load_targets(targets_file)
    assert targets.name == "crisis_facts"
    assert [t.id for t in targets.targets] == ["strike_delay", "answer_share", "attacks"]
    delay, share, attacks = targets.targets
    assert delay.rule == "median_in_range"  # a range is judged by the median
    assert attacks.rule == "observed_in_interval"  # a lone value by the interval
    assert share.trigger is not None
    assert share.trigger.action == ("strike",)
    assert targets.interval_of(delay) == 0.9


def test_unknown_key_is_reported_with_line_and_suggestion(write: Write, targets_text: str) -> None:
    text = targets_text.replace("    within: 10\n", "    withn: 10\n")
    with pytest.raises(TargetsError) as excinfo:
        load_targets(write("t.yaml", text))
    (message,) = problems(excinfo)
    assert f"t.yaml:{line_of(text, 'withn')}" in message
    assert "targets[1].withn: unknown key 'withn'; did you mean 'within'?" in message


def test_unknown_key_inside_acts(write: Write, targets_text: str) -> None:
    text = targets_text.replace("{actor: pak, action: strike}", "{actr: pak, action: strike}")
    with pytest.raises(
        TargetsError,
        match=r"targets\[1\]\.trigger\.actr: unknown key 'actr'; "
        r"did you mean 'actor'\?",
    ):
        load_targets(write("t.yaml", text))


def test_unknown_statistic_suggests_the_closest(write: Write, targets_text: str) -> None:
    text = targets_text.replace("statistic: act_rate", "statistic: act_rates")
    with pytest.raises(
        TargetsError, match="unknown statistic 'act_rates'; did you mean 'act_rate'"
    ):
        load_targets(write("t.yaml", text))


def test_a_statistic_names_the_options_it_needs(write: Write, targets_text: str) -> None:
    text = targets_text.replace("    action: attack\n", "")
    with pytest.raises(TargetsError, match=r"targets\[2\]: statistic 'act_rate' needs 'action'"):
        load_targets(write("t.yaml", text))


def test_a_statistic_refuses_options_it_does_not_take(write: Write, targets_text: str) -> None:
    text = targets_text.replace("    action: attack\n", "    action: attack\n    side: actor\n")
    with pytest.raises(TargetsError, match="statistic 'act_rate' takes no 'side'"):
        load_targets(write("t.yaml", text))


def test_pass_rule_needs_its_value(write: Write, targets_text: str) -> None:
    text = targets_text.replace(
        "    observed: 25\n", "    observed: 25\n    pass_if: median_in_range\n"
    )
    with pytest.raises(TargetsError, match="pass_if: median_in_range needs 'range'"):
        load_targets(write("t.yaml", text))


def test_unknown_pass_rule_suggests_the_closest(write: Write, targets_text: str) -> None:
    text = targets_text.replace(
        "    observed: 25\n", "    observed: 25\n    pass_if: observed_in_intrval\n"
    )
    with pytest.raises(TargetsError, match="did you mean 'observed_in_interval'"):
        load_targets(write("t.yaml", text))


def test_a_target_needs_a_value_and_a_source(write: Write, targets_text: str) -> None:
    text = targets_text.replace("    observed: 25\n", "").replace(
        '    source: "test: base / (1 - alpha/beta) = 0.5 / 0.6 a day, 25 a month"\n', ""
    )
    with pytest.raises(TargetsError) as excinfo:
        load_targets(write("t.yaml", text))
    found = problems(excinfo)
    assert any("missing required field 'source'" in p for p in found)


def test_range_must_be_ordered_and_interval_a_share(write: Write, targets_text: str) -> None:
    text = targets_text.replace("range: [1, 3]", "range: [3, 1]").replace(
        "traced_runs: 40", "traced_runs: 40\ninterval: 1.5"
    )
    with pytest.raises(TargetsError) as excinfo:
        load_targets(write("t.yaml", text))
    found = "\n".join(problems(excinfo))
    assert "range [low, high] needs low <= high, got [3, 1]" in found
    assert "interval: must be < 1" in found


def test_an_empty_action_list_is_refused(write: Write, targets_text: str) -> None:
    text = targets_text.replace("    action: attack\n", "    action: []\n")
    with pytest.raises(TargetsError) as excinfo:
        load_targets(write("t.yaml", text))
    (message,) = problems(excinfo)
    line = line_of(text, "action: []")
    assert message.endswith(f"t.yaml:{line}:5: targets[2].action: must have at least 1 item, got 0")


@pytest.mark.parametrize("within", ["36501", "100000000000000000000"])
def test_a_window_beyond_the_longest_horizon_is_refused(
    write: Write, targets_text: str, within: str
) -> None:
    text = targets_text.replace("    within: 10\n", f"    within: {within}\n")
    with pytest.raises(TargetsError) as excinfo:
        load_targets(write("t.yaml", text))
    (message,) = problems(excinfo)
    assert message.endswith(
        f"t.yaml:{line_of(text, 'within:')}:5: targets[1].within: must be at most 36500 days "
        f"(the longest horizon), got {within}"
    )


def test_duplicate_target_ids_are_refused(write: Write, targets_text: str) -> None:
    text = targets_text.replace("id: attacks", "id: strike_delay")
    with pytest.raises(TargetsError, match="target id 'strike_delay' is used twice"):
        load_targets(write("t.yaml", text))


def test_time_link_needs_a_window(write: Write, targets_text: str) -> None:
    text = targets_text.replace(
        "    response: {actor: pak, action: strike}\n",
        "    response: {actor: pak, action: strike}\n    link: time\n",
    )
    with pytest.raises(TargetsError, match="link: time needs 'within'"):
        load_targets(write("t.yaml", text))


def test_names_are_checked_against_the_scenario(
    write: Write, crisis_file: Path, targets_text: str
) -> None:
    text = (
        targets_text.replace("{actor: pak, action: strike}", "{actor: pakistan, action: strik}")
        + "  - id: closed\n    statistic: column\n    column: strike_cont\n    observed: 1\n"
        "    source: test\n"
    )
    scenario = load_scenario(crisis_file)
    with pytest.raises(TargetsError) as excinfo:
        load_targets(write("t.yaml", text), scenario)
    found = "\n".join(problems(excinfo))
    assert "scenario 'crisis' has no actor 'pakistan'" in found
    assert "has no action 'strik'; did you mean 'strike'?" in found
    assert "has no column 'strike_cont'; did you mean 'strike_count'?" in found
    assert f"t.yaml:{line_of(text, 'strike_cont')}" in found


def test_a_targets_file_extends_another_by_id(write: Write, targets_file: Path) -> None:
    child = write(
        "child.yaml",
        "extends: targets.yaml\nname: child\ntargets:\n"
        "  - {id: attacks, observed: 30}\n  - {id: answer_share, remove: true}\n",
    )
    targets = load_targets(child)
    assert [t.id for t in targets.targets] == ["strike_delay", "attacks"]
    assert targets.targets[1].observed == 30
    assert targets.targets[1].statistic == "act_rate"


def test_yaml_errors_are_targets_errors(write: Write) -> None:
    with pytest.raises(TargetsError, match="duplicate key 'name'"):
        load_targets(write("t.yaml", "name: a\nname: b\n"))


def test_targets_are_frozen(targets_file: Path) -> None:
    target: Target = load_targets(targets_file).targets[0]
    with pytest.raises(ValueError, match="frozen"):
        target.observed = 3  # type: ignore[misc]


def test_the_shipped_targets_match_the_reference_scenario() -> None:
    scenario = load_scenario(ROOT / "scenarios" / "pakistan_afghanistan_2025.yaml")
    targets = load_targets(ROOT / "scenarios" / "targets" / "pakistan_2023_2025.yaml", scenario)
    assert len(targets.targets) >= 6
    assert all(target.source.strip() for target in targets.targets)
    assert all("CONTEXT.md" in target.source for target in targets.targets)
