"""Tests of compiled expressions, evaluated on a small hand-made block of four runs."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest

from escalation import Scenario, load_scenario_text
from escalation.model import kernels
from escalation.model.compiler import (
    CompileContext,
    Compiled,
    ObservationKey,
    Requirements,
    compile_expression,
    compile_quantity,
)
from escalation.model.engine import parameter_values
from escalation.model.plan import build_plan
from escalation.model.state import BlockState, ObservationTracker
from escalation.scenario.expressions import MAX_TERMS, ExpressionError

SCENARIO = load_scenario_text(
    """\
name: compiler_check
ladder:
  - {rung: 0, name: calm}
  - {rung: 1, name: raid}
  - {rung: 2, name: strike}
parameters:
  k: {value: 2.5}
world:
  x: {initial: 0}
  flag: {initial: false}
actors:
  a:
    name: A
    kind: state
    parameters:
      threshold: {value: 3}
    state:
      resolve: {initial: 0.5, min: 0, max: 1}
  b:
    name: B
    kind: armed_group
actions:
  attack: {rung: 1, hostile: true}
  parley: {rung: 0}
outcomes:
  - {id: any, when: "true"}
"""
)
N = 4
X = np.array([0.0, 1.0, 2.0, 3.0])


def compile_in(
    text: str, *, owner: str | None = None, outcome: bool = False, scenario: Scenario = SCENARIO
) -> tuple[Compiled, Requirements]:
    requirements = Requirements()
    context = CompileContext(scenario, requirements, owner=owner, outcome=outcome)
    return compile_expression(text, context), requirements


def block(requirements: Requirements, **variables: Any) -> BlockState:
    """A block of four runs: x = 0, 1, 2, 3 and every other variable at its initial value."""
    plan = build_plan(SCENARIO)
    values = {name: np.full(N, value) for name, value in plan.initial.items()}
    values["x"] = X.copy()
    for name, value in variables.items():
        values[name.replace("__", ".")] = np.asarray(value, dtype=np.float64)
    return BlockState(
        n=N,
        params=parameter_values(SCENARIO),
        variables=values,
        tracker=ObservationTracker(requirements, N),
        ladder_size=len(SCENARIO.ladder),
        boolean_variables=plan.boolean_variables,
    )


def evaluate(
    text: str, *, owner: str | None = None, outcome: bool = False, **variables: Any
) -> Any:
    compiled, requirements = compile_in(text, owner=owner, outcome=outcome)
    return compiled.evaluate(block(requirements, **variables))


def as_list(value: Any) -> list[Any]:
    return np.broadcast_to(np.asarray(value), (N,)).tolist()


# -- arithmetic and logic --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3 - 4 / 8", 6.5),
        ("7 // 2", 3.0),
        ("7 % 3", 1.0),
        ("2 ** 3", 8.0),
        ("-(2 - 5)", 3.0),
        ("+4", 4.0),
        ("k * 2", 5.0),
        ("inf > 1e300", True),
    ],
)
def test_scalar_arithmetic(text: str, expected: float) -> None:
    assert float(evaluate(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x * 2 + 1", [1, 3, 5, 7]),
        ("-x", [0, -1, -2, -3]),
        ("x ** 2", [0, 1, 4, 9]),
        ("x % 2", [0, 1, 0, 1]),
        ("x // 2", [0, 0, 1, 1]),
        ("10 / (x + 1)", [10, 5, 10 / 3, 2.5]),
    ],
)
def test_array_arithmetic(text: str, expected: list[float]) -> None:
    np.testing.assert_allclose(evaluate(text), expected)


def test_a_long_chain_of_operators_applies_left_to_right() -> None:
    # 999 operands: compiled, or evaluated, a level of recursion per operator would
    # exhaust the stack.
    text = "x" + " + x - 1" * ((MAX_TERMS - 1) // 2)
    np.testing.assert_allclose(evaluate(text), X * 500 - 499)
    compiled, requirements = compile_in(" + ".join(["k"] * MAX_TERMS))
    assert compiled.parameters_only
    assert compiled.block_value(block(requirements)) == 2.5 * MAX_TERMS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x == 2", [False, False, True, False]),
        ("x != 2", [True, True, False, True]),
        ("x < 2", [True, True, False, False]),
        ("x >= 2", [False, False, True, True]),
        ("1 <= x < 3", [False, True, True, False]),
        ("0 < x <= 3 != x", [False, True, True, False]),
        ("3 > x > 0", [False, True, True, False]),
    ],
)
def test_comparisons_and_chains(text: str, expected: list[bool]) -> None:
    assert as_list(evaluate(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x > 0 and x < 3", [False, True, True, False]),
        ("x < 1 or x > 2", [True, False, False, True]),
        ("not x > 1", [True, True, False, False]),
        ("not x", [True, False, False, False]),
        ("x and x - 1", [False, False, True, True]),
        ("true and x > 1", [False, False, True, True]),
        ("false or x == 0", [True, False, False, False]),
        ("x > 0 and x < 3 and x != 2", [False, True, False, False]),
    ],
)
def test_boolean_operators_on_arrays(text: str, expected: list[bool]) -> None:
    assert as_list(evaluate(text)) == expected


def test_conditional_expression_selects_per_run() -> None:
    np.testing.assert_array_equal(evaluate("10 if x > 1 else -10"), [-10, -10, 10, 10])
    np.testing.assert_array_equal(evaluate("x if x > 1 else k"), [2.5, 2.5, 2, 3])


def test_min_and_max_are_elementwise_and_variadic() -> None:
    np.testing.assert_array_equal(evaluate("min(x, 2)"), [0, 1, 2, 2])
    np.testing.assert_array_equal(evaluate("max(x, 1, 2)"), [2, 2, 2, 3])
    np.testing.assert_array_equal(evaluate("min(3, x, 1.5, 4)"), [0, 1, 1.5, 1.5])
    assert float(evaluate("max(1, 2)")) == 2.0


def test_math_functions() -> None:
    np.testing.assert_allclose(evaluate("abs(1 - x)"), [1, 0, 1, 2])
    np.testing.assert_allclose(evaluate("exp(x)"), np.exp(X))
    np.testing.assert_allclose(evaluate("log(x + 1)"), np.log(X + 1))
    np.testing.assert_allclose(evaluate("sqrt(x)"), np.sqrt(X))


def test_builtin_names() -> None:
    compiled, requirements = compile_in("day + 10 * rung + 100 * max_rung")
    state = block(requirements)
    state.day = 7
    state.rung = np.array([0, 1, 2, 0])
    state.max_rung = np.array([0, 1, 2, 2])
    np.testing.assert_array_equal(compiled.evaluate(state), [7, 117, 227, 207])


# -- actor variables and parameters ----------------------------------------------------


def test_actor_variable() -> None:
    result = evaluate("a.resolve * 2", a__resolve=[0.1, 0.2, 0.3, 0.4])
    np.testing.assert_allclose(result, [0.2, 0.4, 0.6, 0.8])


def test_builtin_actor_variables() -> None:
    result = evaluate(
        "b.casualties - b.claimed_casualties + b.admitted_casualties",
        b__casualties=[1, 2, 3, 4],
        b__claimed_casualties=[2, 4, 6, 8],
        b__admitted_casualties=[1, 1, 1, 1],
    )
    np.testing.assert_array_equal(result, [0, -1, -2, -3])


def test_self_names_the_owner() -> None:
    resolve = [0.1, 0.9, 0.2, 0.8]
    assert as_list(evaluate("self.resolve > 0.5", owner="a", a__resolve=resolve)) == [
        False,
        True,
        False,
        True,
    ]


def test_self_outside_a_policy_is_refused() -> None:
    with pytest.raises(ExpressionError, match="'self' only means something in an actor's policy"):
        compile_in("self.resolve > 0")


def test_self_names_only_the_owners_variables() -> None:
    with pytest.raises(ExpressionError, match="actor 'b' has no parameter or variable 'resolve'"):
        compile_in("self.resolve > 0", owner="b")


def test_actor_parameter_reads_the_blocks_value() -> None:
    compiled, requirements = compile_in("a.threshold + 1")
    state = block(requirements)
    assert float(compiled.evaluate(state)) == 4.0
    state.params["a.threshold"] = 10.0
    assert float(compiled.evaluate(state)) == 11.0


def test_actor_parameter_through_self_is_a_constant() -> None:
    compiled, _ = compile_in("self.threshold", owner="a")
    assert compiled.constant == 3.0
    assert compile_in("a.threshold")[0].constant == 3.0
    assert compile_in("k")[0].constant == 2.5
    assert compile_in("0.25")[0].constant == 0.25
    assert compile_in("k + 1")[0].constant is None
    assert compile_in("x")[0].constant is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.25", True),
        ("k * (1 - self.threshold / 10)", True),
        ("min(1, max(k, 0.5)) ** 2 if k > 1 else exp(-k)", True),
        ("true and not false", True),
        ("inf", True),
        ("k * x", False),
        ("self.resolve", False),
        ("day < 3", False),
        ("rung", False),
        ("min(1, count(attack, within=1))", False),
        ("k if flag else 1", False),
    ],
)
def test_parameters_only_means_one_value_per_block(text: str, expected: bool) -> None:
    compiled, requirements = compile_in(text, owner="a")
    assert compiled.parameters_only is expected
    if expected:
        value = compiled.evaluate(block(requirements))
        assert np.ndim(value) == 0
        assert float(value) == float(compiled.evaluate(block(requirements, x=[9, 9, 9, 9])))


def test_block_value_is_the_one_number_of_a_parameters_only_expression() -> None:
    fixed, requirements = compile_in("k / 5")
    state = block(requirements)
    assert fixed.block_value(state) == 0.5
    assert fixed.block_probability(state) == 0.5
    assert compile_in("k")[0].block_probability(state) is None  # 2.5: not a probability
    assert compile_in("x / 10")[0].block_value(state) is None  # reads the state
    state.params["k"] = np.array([0.1, 0.2, 0.3, 0.4])  # given per run
    assert fixed.block_value(state) is None


def test_compile_quantity_of_a_number() -> None:
    requirements = Requirements()
    compiled = compile_quantity(0.3, CompileContext(SCENARIO, requirements))
    assert compiled.constant == 0.3
    assert compiled.parameters_only
    assert compiled.evaluate(block(requirements)) == 0.3


# -- unknown names -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kk > 1", r"unknown name 'kk': not a parameter, a world variable or a built-in"),
        ("xx > 1", r"unknown name 'xx'.*did you mean 'x'\?"),
        ("dya > 1", r"did you mean 'day'\?"),
        (
            "a.resolv > 0",
            r"actor 'a' has no parameter or variable 'resolv'; did you mean 'resolve'\?",
        ),
        ("a.treshold > 0", r"did you mean 'threshold'\?"),
        ("aa.resolve > 0", r"unknown actor 'aa'; did you mean 'a'\?"),
        ("attack > 0", r"'attack' is an action; it can only name the subject of a function"),
        ("b > 0", r"'b' is an actor; it can only name the subject of a function"),
        ("count(atack) > 0", r"count\(\): unknown action 'atack'; did you mean 'attack'\?"),
        ("count(attack, by=bb) > 0", r"count\(\): unknown actor 'bb'; did you mean 'b'\?"),
        ("count(attack, on=c) > 0", r"count\(\): unknown actor 'c'"),
        ("count(1) > 0", r"count\(\): expected the name of action"),
        ("days_true(flg) > 0", r"days_true\(\): unknown world variable 'flg'; did you mean 'flag'"),
        ("days_true(x) > 0", r"days_true\(\): 'x' is not a boolean world variable"),
    ],
)
def test_unknown_names_are_refused_with_a_suggestion(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        compile_in(text, owner="a")


def test_unknown_name_error_carries_its_column() -> None:
    with pytest.raises(ExpressionError) as excinfo:
        compile_in("1 + x + kk")
    assert excinfo.value.column == 9


# -- within= -------------------------------------------------------------------------


@pytest.mark.parametrize("within", ["0", "-1", "1.5", "True", "k", "x", "2 + 1"])
def test_within_must_be_a_positive_whole_constant(within: str) -> None:
    with pytest.raises(
        ExpressionError, match=r"count\(\): within= must be a whole number of days >= 1"
    ):
        compile_in(f"count(attack, within={within}) > 0")


def test_within_registers_the_window_for_the_observer() -> None:
    compiled, requirements = compile_in("count(attack, by=b, within=3) > 0", owner="a")
    key = ObservationKey("a", "attack", "b", None)
    assert compiled.keys == (key,)
    assert requirements.windows == {key: {3}}


def test_outcomes_observe_the_truth() -> None:
    compiled, requirements = compile_in("count(attack, by=b) > 0", outcome=True)
    assert compiled.keys == (ObservationKey(None, "attack", "b", None),)
    assert requirements.windows == {ObservationKey(None, "attack", "b", None): set()}


def test_days_since_is_infinite_before_any_act() -> None:
    result = evaluate("days_since(attack, by=b)", owner="a")
    assert as_list(result) == [math.inf] * N


# -- outcome-only functions ----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["days_at_or_above(1) > 0", "first_day(attack) < 5", "spells(flag) > 0", "days_with(flag) > 0"],
)
def test_outcome_functions_are_refused_in_rules(text: str) -> None:
    with pytest.raises(ExpressionError, match="available in outcome conditions only"):
        compile_in(text, owner="a")
    compile_in(text, outcome=True)


def test_days_at_or_above_needs_a_rung_on_the_ladder() -> None:
    with pytest.raises(ExpressionError, match=r"rung 3 is not on the ladder \(0 to 2\)"):
        compile_in("days_at_or_above(3) > 0", outcome=True)
    with pytest.raises(ExpressionError, match="expected a whole rung number"):
        compile_in("days_at_or_above(k) > 0", outcome=True)


def test_boolean_compilation_gives_one_value_per_run() -> None:
    requirements = Requirements()
    context = CompileContext(SCENARIO, requirements)
    constant = compile_expression("true", context, boolean=True)
    numeric = compile_expression("x", context, boolean=True)
    state = block(requirements)
    assert constant.evaluate(state).tolist() == [True] * N
    assert numeric.evaluate(state).tolist() == [False, True, True, True]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x > 5 and x / 0 > 1", [False] * N),
        ("x >= 0 or x / 0 > 1", [True] * N),
        ("x > 1 and x < 3", [False, False, True, False]),
        ("x < 1 or x > 2", [True, False, False, True]),
        ("not x", [True, False, False, False]),
        ("not (x > 1)", [True, True, False, False]),
    ],
)
def test_and_or_stop_once_every_run_is_decided(text: str, expected: list[bool]) -> None:
    # Once the left operand settles every run, the right one (which would warn of a
    # division by zero) is not evaluated; the value is what full evaluation gives.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.asarray(evaluate(text), dtype=bool).tolist() == expected


# -- sums of running sums, compared ----------------------------------------------------


def _tracked_block(text: str, *, per_run_threshold: bool = False) -> tuple[Compiled, BlockState]:
    compiled, requirements = compile_in(text, owner="a")
    state = block(requirements)
    if per_run_threshold:
        state.params["a.threshold"] = np.array([0.0, 3.0, 0.5, 1.0])
    tracker = state.tracker
    sums = {
        ObservationKey("a", "attack", "b", None): [0.1, 2.0, 0.0, np.nan],
        ObservationKey("a", "parley", None, None): [0.2, 1.0, 0.0, 0.0],
        ObservationKey("a", "attack", None, None): [0.3, 0.0, 0.5, 1.0],
    }
    for key, values in sums.items():
        for within, kind in tracker._tracks[key].rows:
            tracker.sum_row(key, within, kind)[:] = values
    return compiled, state


def test_a_long_sum_of_counts_is_compared_as_one_sum() -> None:
    terms = " + ".join(["count(attack, by=b, within=2)"] * MAX_TERMS)
    compiled, requirements = compile_in(f"{terms} > 1", owner="a")
    assert len(compiled.keys) == MAX_TERMS
    state = block(requirements)
    key = ObservationKey("a", "attack", "b", None)
    state.tracker.sum_row(key, 2, "count")[:] = [0.0005, 0.002, 0.0, np.nan]
    assert compiled.evaluate(state).tolist() == [False, True, False, False]


@pytest.mark.parametrize("per_run_threshold", [False, True])
@pytest.mark.parametrize("op", [">", ">=", "<", "<=", "==", "!="])
def test_a_sum_of_counts_compares_as_its_terms_added_left_to_right(
    op: str, per_run_threshold: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    terms = "count(attack, by=b, within=2) + casualties(parley, within=1) + count(attack)"
    threshold = "self.threshold" if per_run_threshold else "0.6000000000000001"
    compiled, state = _tracked_block(
        f"{terms} {op} {threshold}", per_run_threshold=per_run_threshold
    )
    sum_only, _ = compile_in(terms, owner="a")
    total = sum_only.evaluate(state)
    # 0.1 + 0.2 + 0.3 is 0.6000000000000001, not 0.6: the order of the additions shows.
    assert total.tolist()[0] == 0.1 + 0.2 + 0.3
    compare = {
        ">": np.greater,
        ">=": np.greater_equal,
        "<": np.less,
        "<=": np.less_equal,
        "==": np.equal,
        "!=": np.not_equal,
    }[op]
    limit = state.params["a.threshold"] if per_run_threshold else 0.6000000000000001
    fused: list[int] = []
    sum_compare = kernels.sum_compare

    def spy(*args: Any) -> Any:
        fused.append(1)
        return sum_compare(*args)

    monkeypatch.setattr(kernels, "sum_compare", spy)
    result = compiled.evaluate(state)
    # One compiled pass with one threshold for the block; the NumPy expression when
    # the threshold is given per run.
    assert len(fused) == (0 if per_run_threshold else 1)
    assert result.dtype == np.bool_
    assert result.tolist() == compare(total, limit).tolist()
    assert compiled.keys == (
        ObservationKey("a", "attack", "b", None),
        ObservationKey("a", "parley", None, None),
        ObservationKey("a", "attack", None, None),
    )
