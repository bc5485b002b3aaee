"""Tests of the scenario loader: YAML text -> plain data -> validated Scenario.

One test per kind of problem, each matching the message the user reads.  Files
are written only to ``tmp_path``.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from escalation.scenario import Scenario, ScenarioError, load_scenario, load_scenario_text
from escalation.scenario import loader as loader_module
from escalation.scenario.errors import COMMAND_LINE, Problem
from escalation.scenario.loader import (
    parse_override,
    resolved_document,
    scenario_json_schema,
)

Write = Callable[..., Path]


def line_of(text: str, snippet: str) -> int:
    """The 1-based number of the first line of ``text`` containing ``snippet``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if snippet in line:
            return number
    raise AssertionError(f"{snippet!r} not in the text")


def problems_of(excinfo: pytest.ExceptionInfo[ScenarioError]) -> tuple[Problem, ...]:
    return excinfo.value.problems


# -- a valid scenario -------------------------------------------------------------


def test_tiny_scenario_loads_frozen(write: Write, tiny: str) -> None:
    scenario = load_scenario(write("tiny.yaml", tiny))
    assert isinstance(scenario, Scenario)
    assert scenario.actors["a"].policy[0].probability == 0.5
    assert [rung.name for rung in scenario.ladder] == ["peace", "clash"]
    with pytest.raises(ValidationError, match="frozen"):
        scenario.name = "other"  # type: ignore[misc]


def test_text_and_file_load_the_same_scenario(write: Write, tiny: str) -> None:
    assert load_scenario_text(tiny) == load_scenario(write("tiny.yaml", tiny))


def test_yes_and_no_are_booleans(tiny: str) -> None:
    scenario = load_scenario_text(tiny.replace("hostile: true", "hostile: no"))
    assert scenario.actions["attack"].hostile is False


def test_yaml_merge_keys_and_anchors_work(tiny: str) -> None:
    text = tiny.replace(
        "outcomes:\n  - id: any\n",
        "outcomes:\n  - &first {id: first, when: 'false', description: shared}\n"
        "  - <<: *first\n    id: any\n",
    )
    outcomes = load_scenario_text(text).outcomes
    assert [(o.id, o.when, o.description) for o in outcomes] == [
        ("first", "false", "shared"),
        ("any", "true", "shared"),
    ]


# -- problems and their text --------------------------------------------------------


def test_problem_reads_file_line_column_path_message() -> None:
    problem = Problem(
        "scenarios/x.yaml",
        12,
        7,
        "actors.pakistan.policy[2].probability",
        "must be in [0, 1], got 1.3",
    )
    assert str(problem) == (
        "scenarios/x.yaml:12:7: actors.pakistan.policy[2].probability: must be in [0, 1], got 1.3"
    )
    assert str(Problem(COMMAND_LINE, None, None, "", "bad")) == "<command line>: bad"


def test_scenario_error_lists_problems_sorted_and_survives_pickling() -> None:
    error = ScenarioError(
        [
            Problem("b.yaml", 1, 1, "", "z"),
            Problem("a.yaml", 9, 1, "", "y"),
            Problem("a.yaml", 2, 1, "", "x"),
        ]
    )
    assert str(error).splitlines() == ["a.yaml:2:1: x", "a.yaml:9:1: y", "b.yaml:1:1: z"]
    assert pickle.loads(pickle.dumps(error)).problems == error.problems


# -- 1. YAML syntax -----------------------------------------------------------------


def test_syntax_error_has_file_line_and_column(write: Write) -> None:
    path = write("broken.yaml", "name: tiny\nladder: [1, 2\nruns: 3\n")
    with pytest.raises(ScenarioError, match=r"broken\.yaml:3:5: expected ',' or ']'") as excinfo:
        load_scenario(path)
    (problem,) = problems_of(excinfo)
    assert (problem.file, problem.line, problem.column) == (str(path), 3, 5)


def test_forbidden_control_character_is_located(write: Write) -> None:
    with pytest.raises(ScenarioError, match=r"ctl\.yaml:2:8: character #x0007 is not allowed"):
        load_scenario(write("ctl.yaml", "name: tiny\ntitle: \a\n"))


# -- 2. duplicate keys --------------------------------------------------------------


def test_duplicate_key_names_the_key_and_both_lines(tiny: str) -> None:
    text = tiny.replace("    name: Country B\n", "    name: Country B\n    name: Country C\n")
    first, again = line_of(text, "Country B"), line_of(text, "Country C")
    message = (
        rf"actors\.b\.name: duplicate key 'name': first at line {first}, "
        rf"again at line {again}"
    )
    with pytest.raises(ScenarioError, match=message):
        load_scenario_text(text)


# -- 3. unknown keys ----------------------------------------------------------------


def test_unknown_key_suggests_the_close_field(tiny: str) -> None:
    text = tiny.replace("    policy:", "    polcy:")
    line = line_of(text, "polcy")
    with pytest.raises(
        ScenarioError,
        match=rf":{line}:5: actors\.a\.polcy: unknown key 'polcy'; did you mean 'policy'\?",
    ):
        load_scenario_text(text)


def test_unknown_key_without_a_close_match_lists_the_fields(tiny: str) -> None:
    with pytest.raises(ScenarioError, match=r"unknown key 'zzz'; expected one of: rung, hostile"):
        load_scenario_text(tiny.replace("    hostile: true", "    hostile: true\n    zzz: 1"))


def test_keys_of_name_maps_are_free(tiny: str) -> None:
    text = tiny.replace("parameters:\n", "parameters:\n  strike_chanse:\n    value: 2\n")
    assert set(load_scenario_text(text).parameters) == {"strike_chance", "strike_chanse"}


def test_invalid_name_as_a_map_key(tiny: str) -> None:
    text = tiny.replace("  strike_chance:", "  Strike-Chance:")
    message = r"parameters\.Strike-Chance: invalid key: .* not a valid name"
    with pytest.raises(ScenarioError, match=message):
        load_scenario_text(text)


# -- 4. types, missing fields, ranges, non-finite numbers ---------------------------


def test_wrong_type_says_what_was_expected_and_found(tiny: str) -> None:
    with pytest.raises(ScenarioError, match=r":3:1: runs: expected an integer, got 'abc'"):
        load_scenario_text(tiny.replace("runs: 10", "runs: abc"))


def test_union_of_types_is_one_problem(tiny: str) -> None:
    text = tiny.replace("probability: 0.5", "probability: [1]")
    with pytest.raises(
        ScenarioError, match=r"probability: expected a number or an expression, got a list"
    ) as excinfo:
        load_scenario_text(text)
    assert len(problems_of(excinfo)) == 1


def test_missing_field_is_placed_at_its_parent(tiny: str) -> None:
    text = tiny.replace("        do: attack\n", "")
    line = line_of(text, "- id: answer")
    with pytest.raises(
        ScenarioError, match=rf":{line}:9: actors\.a\.policy\[0\]: missing required field 'do'"
    ):
        load_scenario_text(text)


def test_a_list_whose_items_all_fail_reports_the_items_alone(tiny: str) -> None:
    text = tiny.replace('    when: "true"\n', "    description: no condition\n")
    assert "description: no condition" in text
    with pytest.raises(ScenarioError) as excinfo:
        load_scenario_text(text)
    found = [(problem.path, problem.message) for problem in problems_of(excinfo)]
    assert found == [("outcomes[0]", "missing required field 'when'")]


def test_probability_outside_unit_interval(write: Write, tiny: str) -> None:
    text = tiny.replace("probability: 0.5", "probability: 1.3")
    path = write("p.yaml", text)
    line = line_of(text, "probability: 1.3")
    with pytest.raises(ScenarioError) as excinfo:
        load_scenario(path)
    assert str(excinfo.value) == (
        f"{path}:{line}:9: actors.a.policy[0].probability: must be in [0, 1], got 1.3"
    )


def test_negative_number_is_refused(tiny: str) -> None:
    text = tiny.replace("probability: 0.5", "probability: 0.5\n        cooldown: -1")
    with pytest.raises(ScenarioError, match=r"policy\[0\]\.cooldown: must be >= 0, got -1"):
        load_scenario_text(text)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("probability: 0.5", "probability: .nan", r"probability: .*finite number, got nan"),
        ("probability: 0.5", "probability: .inf", r"probability: .*finite number, got inf"),
        ("min: 0", "min: .nan", r"strike_chance\.min: expected a finite number, got nan"),
        ("max: 1", "max: .inf", r"strike_chance\.max: expected a finite number, got inf"),
    ],
)
def test_nan_and_inf_are_refused(tiny: str, old: str, new: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        load_scenario_text(tiny.replace(old, new))


def test_a_whole_number_beyond_floats_is_refused(tiny: str) -> None:
    # float() of it would raise OverflowError: no traceback, a message.
    huge = "1" + "0" * 400
    message = r"policy\[0\]\.probability: must be a finite number, got a whole number of 401 digits"
    with pytest.raises(ScenarioError, match=message):
        load_scenario_text(tiny.replace("probability: 0.5", f"probability: {huge}"))


@pytest.mark.parametrize(
    "delay", ["[0, 4611686018427387904]", "[0, 18446744073709551616]", "[0, 100000000]", "36501"]
)
def test_a_delay_beyond_the_longest_horizon_is_refused(tiny: str, delay: str) -> None:
    text = tiny.replace("probability: 0.5", f"probability: 0.5\n        delay: {delay}")
    message = r"policy\[0\]\.delay: delay must be at most 36500 days \(the longest horizon\)"
    with pytest.raises(ScenarioError, match=message):
        load_scenario_text(text)


def test_a_delay_of_the_longest_horizon_is_taken(tiny: str) -> None:
    text = tiny.replace("probability: 0.5", "probability: 0.5\n        delay: [0, 36500]")
    assert load_scenario_text(text).actors["a"].policy[0].delay == (0, 36500)


def test_a_wider_spread_of_claims_than_the_bound_is_refused(tiny: str) -> None:
    text = tiny + "perception:\n  claims:\n    - {actor: a, enemy_inflation_sigma: 1000}\n"
    message = r"perception\.claims\[0\]\.enemy_inflation_sigma: must be at most 10, got 1000"
    with pytest.raises(ScenarioError, match=message):
        load_scenario_text(text)


def test_literal_choice_suggests_the_close_one(tiny: str) -> None:
    text = tiny.replace("Country B\n    kind: state", "Country B\n    kind: stat")
    message = r"actors\.b\.kind: expected 'state', .* got 'stat'; did you mean 'state'\?"
    with pytest.raises(ScenarioError, match=message):
        load_scenario_text(text)


def test_value_error_prefix_is_stripped(tiny: str) -> None:
    text = tiny.replace("  - {rung: 1, name: clash}", "  - {rung: 2, name: clash}")
    with pytest.raises(ScenarioError, match=r"ladder: rungs must count up") as excinfo:
        load_scenario_text(text)
    assert "Value error" not in str(excinfo.value)


# -- 5. every problem at once -------------------------------------------------------


def test_all_problems_of_a_file_are_reported_sorted_by_line(tiny: str) -> None:
    text = (
        tiny.replace("runs: 10", "runs: abc")
        .replace("probability: 0.5", "probability: 1.3")
        .replace("    hostile: true", "    hostile: true\n    hostil: true")
    )
    with pytest.raises(ScenarioError, match="runs") as excinfo:
        load_scenario_text(text)
    problems = problems_of(excinfo)
    assert [p.path for p in problems] == [
        "runs",
        "actors.a.policy[0].probability",
        "actions.attack.hostil",
    ]
    assert [p.line for p in problems] == sorted(p.line or 0 for p in problems)


# -- 6. extends ---------------------------------------------------------------------


def test_extends_merges_mappings_and_lists_by_id(write: Write, tiny: str) -> None:
    write("base.yaml", tiny)
    path = write(
        "child.yaml",
        """\
        extends: base.yaml
        name: child
        actors:
          a:
            policy:
              - {id: answer, probability: 0.25}
              - {id: second, do: attack, target: b}
        ladder:
          - {rung: 0, name: calm}
          - {rung: 1, name: strike}
        """,
    )
    scenario = load_scenario(path)
    assert scenario.name == "child"
    rules = scenario.actors["a"].policy
    assert [(r.id, r.do, r.probability) for r in rules] == [
        ("answer", "attack", 0.25),
        ("second", "attack", 1.0),
    ]
    assert [rung.name for rung in scenario.ladder] == ["calm", "strike"]  # replaced whole
    assert scenario.actors["b"].name == "Country B"


def test_extends_removes_an_item_by_id(write: Write, tiny: str) -> None:
    two_outcomes = "  - {id: first, when: 'false'}\n  - id: any\n"
    write("base.yaml", tiny.replace("  - id: any\n", two_outcomes))
    path = write("child.yaml", "extends: base.yaml\noutcomes:\n  - {id: first, remove: true}\n")
    assert [o.id for o in load_scenario(path).outcomes] == ["any"]


def test_extends_cannot_remove_an_unknown_id(write: Write, tiny: str) -> None:
    write("base.yaml", tiny)
    path = write("child.yaml", "extends: base.yaml\noutcomes:\n  - {id: anyy, remove: true}\n")
    with pytest.raises(ScenarioError, match=r"cannot remove id 'anyy'.*did you mean 'any'\?"):
        load_scenario(path)


def test_extends_chain_is_recorded_in_load_order(write: Write, tiny: str) -> None:
    grand = write("grand.yaml", tiny)
    parent = write("sub/parent.yaml", "extends: ../grand.yaml\ntitle: parent\n")
    child = write("child.yaml", "extends: sub/parent.yaml\nname: child\n")
    document, source = resolved_document(child)
    assert "extends" not in document
    assert (document["name"], document["title"]) == ("child", "parent")
    assert source.files == (str(child), str(parent), str(grand))
    assert source[("title",)].file == str(parent)
    assert source[("actors", "a", "policy", 0, "probability")].file == str(grand)


def test_extends_cycle_names_the_chain(write: Write, tiny: str) -> None:
    first = write("a.yaml", "extends: b.yaml\n" + tiny)
    write("b.yaml", "extends: a.yaml\nruns: 5\n")
    chain = r"\S*a\.yaml -> \S*b\.yaml -> \S*a\.yaml"
    with pytest.raises(ScenarioError, match=rf"b\.yaml:1:1: extends: extends cycle: {chain}"):
        load_scenario(first)


def test_extends_missing_file_is_reported_at_the_extends_line(write: Write) -> None:
    path = write("child.yaml", "name: child\nextends: nowhere.yaml\n")
    with pytest.raises(
        ScenarioError, match=r"child\.yaml:2:1: extends: cannot read 'nowhere\.yaml'"
    ):
        load_scenario(path)


@contextlib.contextmanager
def _unblocked(fifo: Path, every: float = 5.0) -> Iterator[None]:
    """Open the write end of ``fifo`` every few seconds while the block runs, so that
    a reader waiting in open() for a writer returns instead of hanging the test."""
    done = threading.Event()

    def release() -> None:
        while not done.wait(every):
            with contextlib.suppress(OSError):  # no reader is waiting
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    thread = threading.Thread(target=release, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_is_refused_before_it_is_read(write: Write, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    child = write("child.yaml", "name: child\nextends: fifo.yaml\n")
    with _unblocked(fifo):
        message = "cannot read the file: it is a FIFO (named pipe), not a regular file"
        with pytest.raises(ScenarioError, match=rf"fifo\.yaml: {re.escape(message)}"):
            load_scenario(fifo)
        message = r"child\.yaml:2:1: extends: cannot read 'fifo\.yaml' .*: it is a FIFO"
        with pytest.raises(ScenarioError, match=message):
            load_scenario(child)


@pytest.mark.parametrize(
    ("where", "kind"),
    [
        pytest.param(
            "/dev/null",
            "a character device",
            marks=pytest.mark.skipif(not os.path.exists("/dev/null"), reason="no /dev/null"),
        ),
        ("", "a directory"),
    ],
)
def test_anything_but_a_regular_file_is_refused(tmp_path: Path, where: str, kind: str) -> None:
    with pytest.raises(
        ScenarioError, match=f"cannot read the file: it is {kind}, not a regular file"
    ):
        load_scenario(where or tmp_path)


# -- 7. empty files and other top levels --------------------------------------------


@pytest.mark.parametrize("text", ["", "# only a comment\n", "\n\n"])
def test_empty_file(write: Write, text: str) -> None:
    with pytest.raises(ScenarioError, match="the file is empty: expected a scenario mapping"):
        load_scenario(write("empty.yaml", text))


@pytest.mark.parametrize(("text", "found"), [("- a\n- b\n", "a list"), ("hello\n", "'hello'")])
def test_top_level_must_be_a_mapping(text: str, found: str) -> None:
    message = f"expected a scenario mapping at the top level, got {found}"
    with pytest.raises(ScenarioError, match=message):
        load_scenario_text(text)


# -- 8. encoding --------------------------------------------------------------------


def test_non_utf8_bytes_name_file_byte_and_line(write: Write) -> None:
    raw = b"name: tiny\ntitle: ok\nruns: 3\ndescription: caf\xe9\n"
    path = write("latin1.yaml", raw)
    with pytest.raises(
        ScenarioError, match=rf"latin1\.yaml:4: not valid UTF-8 at byte {raw.index(0xE9)} \(line 4"
    ):
        load_scenario(path)


# -- 9. alias bombs and size caps ---------------------------------------------------


def billion_laughs() -> str:
    text = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        text += f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]\n"
    return text


def test_alias_bomb_is_refused_quickly() -> None:
    # Expanded, the document would have 10**9 strings: that it finishes is the test.
    with pytest.raises(ScenarioError, match="more than 100,000 nodes once aliases are expanded"):
        load_scenario_text(billion_laughs())


def test_recursive_alias_is_refused() -> None:
    with pytest.raises(ScenarioError, match="an alias refers to a node that contains it"):
        load_scenario_text("a: &loop [*loop]\n")


def test_file_larger_than_the_cap_is_refused(
    write: Write, tiny: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loader_module, "MAX_FILE_BYTES", 100)
    with pytest.raises(ScenarioError, match=r"big\.yaml: the file is larger than 100 bytes"):
        load_scenario(write("big.yaml", tiny))


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(ScenarioError, match="nested more than 100 levels deep"):
        load_scenario_text("a: " + "[" * 300 + "]" * 300 + "\n")


# -- 10. --set overrides ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("a.b=true", True),
        ("a.b=3", 3),
        ("a.b=0.5", 0.5),
        ("a.b=[1, 2]", [1, 2]),
        ("a.b=x=y", "x=y"),
        ("a.b=", None),
    ],
)
def test_parse_override_reads_the_value_as_yaml(text: str, value: object) -> None:
    assert parse_override(text) == (("a", "b"), value)


def test_parse_override_digits_index_lists() -> None:
    assert parse_override("actors.a.policy.2.probability=0.3")[0] == (
        "actors",
        "a",
        "policy",
        2,
        "probability",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("runs", "expected PATH=VALUE"),
        ("a..b=1", "the path .a\\.\\.b. has an empty part"),
        ("a=[1", "expected ',' or ']'"),
    ],
)
def test_malformed_override(text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=re.escape(f"<command line>: --set {text}: ") + message):
        parse_override(text)


def test_override_selects_a_list_item_by_id(tiny: str) -> None:
    scenario = load_scenario_text(tiny, overrides=["actors.a.policy.answer.probability=0.3"])
    assert scenario.actors["a"].policy[0].probability == 0.3


def test_override_sets_a_field_the_file_omits(tiny: str) -> None:
    scenario = load_scenario_text(tiny, overrides=["actors.a.policy.0.cooldown=4", "title=War"])
    assert (scenario.actors["a"].policy[0].cooldown, scenario.title) == (4, "War")


def test_a_value_the_command_line_set_is_not_blamed_on_the_file(tiny: str) -> None:
    with pytest.raises(ScenarioError) as excinfo:
        load_scenario_text(tiny, overrides=["parameters.strike_chance.value=2"])
    (problem,) = problems_of(excinfo)
    assert problem.path == "parameters.strike_chance"
    assert problem.set_below == ("parameters.strike_chance.value",)
    assert str(problem).endswith("(the command line set parameters.strike_chance.value)")


def test_override_does_not_change_the_document_on_disk(write: Write, tiny: str) -> None:
    path = write("tiny.yaml", tiny)
    load_scenario(path, ["runs=99"])
    assert load_scenario(path).runs == 10


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "actors.a.polcy.answer.probability=0.3",
            "no key 'polcy' at actors.a; did you mean 'policy'?",
        ),
        (
            "actors.a.policy.answr.probability=0.3",
            "no item with id 'answr' at actors.a.policy; did you mean 'answer'?",
        ),
        (
            "actors.a.policy.3.probability=0.3",
            "index 3 is out of range at actors.a.policy (1 item)",
        ),
        ("actors.a.name.first=x", "actors.a.name is 'Country A', not a mapping or a list"),
        (
            "parameters.strike_chanse.value=0.3",
            "no key 'strike_chanse' at parameters; did you mean 'strike_chance'?",
        ),
    ],
)
def test_override_path_that_does_not_exist(tiny: str, override: str, message: str) -> None:
    expected = re.escape(f"<command line>: --set {override}: {message}")
    with pytest.raises(ScenarioError, match=expected):
        load_scenario_text(tiny, overrides=[override])


def test_override_is_validated_like_the_file(tiny: str) -> None:
    with pytest.raises(ScenarioError) as excinfo:
        load_scenario_text(tiny, overrides=["actors.a.policy.answer.probability=1.5"])
    assert str(excinfo.value) == (
        "<command line>: actors.a.policy[0].probability: must be in [0, 1], got 1.5"
    )


# -- 11. cross references -----------------------------------------------------------


def test_cross_reference_problems_are_placed_by_path(
    tiny: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def check(scenario: Scenario) -> list[tuple[tuple[str | int, ...], str]]:
        return [
            (("actors", "a", "policy", 0, "do"), "unknown action 'attack'"),
            (("actors", "a", "policy", 0, "not_written"), "a problem below the rule"),
        ]

    monkeypatch.setattr(loader_module, "check_references", check)
    with pytest.raises(ScenarioError, match="unknown action 'attack'") as excinfo:
        load_scenario_text(tiny, name="tiny.yaml")
    by_path = {p.path: p for p in problems_of(excinfo)}
    do = by_path["actors.a.policy[0].do"]
    below = by_path["actors.a.policy[0].not_written"]
    assert (do.file, do.line, do.column) == ("tiny.yaml", line_of(tiny, "do: attack"), 9)
    assert below.line == line_of(tiny, "- id: answer")  # nearest ancestor with a position


def test_cross_references_wait_for_structural_validity(
    tiny: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def must_not_run(scenario: Scenario) -> list[tuple[tuple[str | int, ...], str]]:
        raise AssertionError("cross references checked on an invalid scenario")

    monkeypatch.setattr(loader_module, "check_references", must_not_run)
    with pytest.raises(ScenarioError, match="expected an integer"):
        load_scenario_text(tiny.replace("runs: 10", "runs: many"))


# -- 12. keys and tags --------------------------------------------------------------


@pytest.mark.parametrize(("key", "found"), [("1", "1"), ("yes", "true"), ("~", "null")])
def test_keys_must_be_strings(tiny: str, key: str, found: str) -> None:
    with pytest.raises(ScenarioError, match=rf"keys must be strings, got {found} \(quote it"):
        load_scenario_text(tiny + f"{key}: x\n")


@pytest.mark.parametrize(
    "value",
    ["!!python/object/apply:os.system [echo hi]", "!!python/name:os.system", "!include x.yaml"],
)
def test_code_tags_are_refused(tiny: str, value: str) -> None:
    text = tiny.replace("    name: Country B\n", f"    name: Country B\n    description: {value}\n")
    message = r"actors\.b\.description: unsupported tag .*never code"
    with pytest.raises(ScenarioError, match=message):
        load_scenario_text(text)


@pytest.mark.parametrize(
    ("value", "read"),
    [
        ("!!int abc", "'abc' as !!int"),
        ('!!int ""', "'' as !!int"),
        ('!!float ""', "'' as !!float"),
        ("!!bool maybe", "'maybe' as !!bool"),
        ('!!timestamp "2001-13-45"', "'2001-13-45' as !!timestamp"),
    ],
)
def test_a_value_that_does_not_fit_its_explicit_tag_is_located(
    tiny: str, value: str, read: str
) -> None:
    text = tiny.replace("    name: Country B\n", f"    name: Country B\n    description: {value}\n")
    line = text.splitlines().index(f"    description: {value}") + 1
    message = rf"{line}:\d+: actors\.b\.description: cannot read {re.escape(read)}"
    with pytest.raises(ScenarioError, match=message):
        load_scenario_text(text)


# -- the resolved document and the JSON schema --------------------------------------


def test_every_node_of_the_resolved_document_has_a_position(write: Write, tiny: str) -> None:
    path = write("tiny.yaml", tiny)
    document, source = resolved_document(path, ["runs=7"])

    def paths(node: object, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
        found = [path]
        if isinstance(node, dict):
            for key, value in node.items():
                found += paths(value, (*path, key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                found += paths(value, (*path, index))
        return found

    assert set(paths(document)) == set(source)
    assert source[("runs",)].file == COMMAND_LINE
    assert source[("ladder", 1)] == (str(path), line_of(tiny, "clash"), 5)
    assert source.files == (str(path),)


def test_json_schema_is_the_scenario_schema() -> None:
    schema = scenario_json_schema()
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["title"]
    assert {"actors", "actions", "outcomes", "extends"} <= set(schema["properties"])


SHIPPED = sorted((Path(__file__).parents[2] / "scenarios").rglob("*.yaml"))


def _schema_errors(document: object) -> list[str]:
    jsonschema = pytest.importorskip(
        "jsonschema", reason="jsonschema is not a dependency of escalation"
    )
    validator = jsonschema.Draft202012Validator(scenario_json_schema())
    return [error.message for error in validator.iter_errors(document)]


@pytest.mark.parametrize("path", [p for p in SHIPPED if "targets" not in p.parts], ids=str)
def test_json_schema_accepts_every_shipped_scenario(path: Path) -> None:
    assert _schema_errors(yaml.safe_load(path.read_text(encoding="utf-8"))) == []


def test_json_schema_takes_what_the_loader_takes_and_refuses_the_rest(tiny: str) -> None:
    document = yaml.safe_load(tiny)
    document["actors"]["a"]["policy"][0]["delay"] = 2
    assert _schema_errors(document) == []
    load_scenario_text(yaml.safe_dump(document))  # the loader agrees
    document["actors"]["a"]["policy"][0]["delay"] = -2
    assert _schema_errors(document) != []
    del document["actors"]
    assert _schema_errors(document) != []


def test_json_schema_of_a_file_that_extends_another() -> None:
    partial = {
        "extends": "base.yaml",
        "horizon_days": 30,
        "actors": {"a": {"policy": [{"id": "answer", "probability": 0.9}]}},
        "outcomes": [{"id": "any", "remove": True}],
    }
    assert _schema_errors(partial) == []
    assert _schema_errors({**partial, "horizon": 30}) != []
    assert _schema_errors({**partial, "horizon_days": "long"}) != []


def test_exponent_floats_are_numbers_as_in_yaml_1_2(tiny):
    """PyYAML (YAML 1.1) reads 1e-3 as text; scenario files read it as a number."""
    text = tiny.replace("value: 0.5", "value: 5e-1")
    assert "5e-1" in text
    scenario = load_scenario_text(text)
    assert next(iter(scenario.parameters.values())).value == pytest.approx(0.5)
    assert yaml.safe_load("x: 1e-3") == {"x": "1e-3"}  # the global loader is untouched
