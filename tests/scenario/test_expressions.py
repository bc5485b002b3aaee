"""Tests of the whitelisted expression language: what parses, what is refused, and where.

Every refusal is matched on its message and its 1-based column, since the column is
what lets an author find the mistake in a long condition.
"""

from __future__ import annotations

import ast
import re

import pytest

from escalation.scenario.expressions import (
    FUNCTIONS,
    MAX_NESTING,
    MAX_TERMS,
    OUTCOME_FUNCTIONS,
    ExpressionError,
    parse_expression,
    suggest,
)


def refusal(text: str, *, outcome: bool = False) -> ExpressionError:
    with pytest.raises(ExpressionError) as excinfo:
        parse_expression(text, outcome=outcome)
    return excinfo.value


# -- what the language admits ------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "1 + 2 * 3 - 4 / 5 // 6 % 7 ** 2",
        "-x + +y",
        "not flag",
        "a and b or not c",
        "0 <= x < 1 != y",
        "1 if rung >= 2 else 0.5",
        "count(raid, by=militants, on=govt, within=3) > 0",
        "hostile(by=govt, within=7) + casualties(raid)",
        "days_since(strike, by=govt) <= 2",
        "days_true(talks) >= 10",
        "min(x, y) + max(x, y, 3) + abs(x) + exp(x) + log(x) + sqrt(x)",
        "govt.resolve > 0.5",
        "self.resolve > 0.5",
        "true and True or false and False",
        "day < inf",
    ],
)
def test_admitted_expressions_parse_to_a_tree(text: str) -> None:
    assert isinstance(parse_expression(text), ast.expr)


def test_surrounding_whitespace_is_ignored() -> None:
    tree = parse_expression("   x + 1  ")
    assert isinstance(tree, ast.BinOp)


@pytest.mark.parametrize("name", sorted(OUTCOME_FUNCTIONS))
def test_outcome_functions_are_admitted_in_outcomes(name: str) -> None:
    argument = "2" if name == "days_at_or_above" else "x"
    assert isinstance(parse_expression(f"{name}({argument})", outcome=True), ast.Call)


# -- forbidden constructs, each with its column ---------------------------------------


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("x.__class__", "attribute access is not allowed", 1),
        ("1 + govt.__dict__", "attribute access is not allowed", 5),
        ("a.b.c", "the only dotted form is actor.variable", 1),
        ("(1).real", "attribute access is not allowed", 1),
        ("x[0]", "subscripts are not allowed", 1),
        ("1 + x[0]", "subscripts are not allowed", 5),
        ("lambda: 1", "lambda expressions are not allowed", 1),
        ("2 * (lambda: 1)", "lambda expressions are not allowed", 6),
        ("[i for i in x]", "comprehensions are not allowed", 1),
        ("{i for i in x}", "comprehensions are not allowed", 1),
        ("{i: i for i in x}", "comprehensions are not allowed", 1),
        ("max(1, (i for i in x))", "comprehensions are not allowed", 8),
        ("foo(1)", "unknown function 'foo'", 1),
        ("x + eval(1)", "unknown function 'eval'", 5),
        ("govt.count(raid)", "only calls of the listed functions are allowed", 1),
        ("f'{x}'", "f-strings are not allowed", 1),
        ("'abc'", "only numbers are allowed as literals, got 'abc'", 1),
        ("x == 'war'", "only numbers are allowed as literals, got 'war'", 6),
        ("b'x'", "only numbers are allowed as literals", 1),
        ("None", "only numbers are allowed as literals, got None", 1),
        ("1j", "only numbers are allowed as literals", 1),
        ("...", "only numbers are allowed as literals", 1),
        ("(y := 1)", "assignment expressions are not allowed", 2),
        ("count(raid, **options)", r"\*\*keyword unpacking is not allowed", 1),
        ("min(*x, *y)", "starred arguments are not allowed", 5),
        ("(1, 2)", "tuples are not allowed", 1),
        ("1 + (1, 2)", "tuples are not allowed", 5),
        ("[1, 2]", "lists are not allowed", 1),
        ("{1: 2}", "dicts are not allowed", 1),
        ("{1}", "sets are not allowed", 1),
        ("x in y", "the comparison In is not allowed", 1),
        ("x is y", "the comparison Is is not allowed", 1),
        ("x @ y", "the operator MatMult is not allowed", 1),
        ("x << 1", "the operator LShift is not allowed", 1),
        ("x | y", "the operator BitOr is not allowed", 1),
        ("~x", "the operator Invert is not allowed", 1),
    ],
)
def test_forbidden_construct_is_refused_with_its_column(
    text: str, message: str, column: int
) -> None:
    error = refusal(text)
    assert error.column == column
    assert re.search(message, str(error)), str(error)
    assert f"(at column {column})" in str(error)


def test_forbidden_construct_nested_in_a_call_is_found() -> None:
    error = refusal("count(raid, within=x[0])")
    assert "subscripts" in str(error)
    assert error.column == 20


def test_outcome_functions_are_refused_in_rules_with_a_reason() -> None:
    for name in OUTCOME_FUNCTIONS:
        error = refusal(f"{name}(x) > 0")
        assert f"unknown function {name!r}" in str(error)
        assert "available in outcome conditions only" in str(error)


def test_unknown_function_suggests_the_closest() -> None:
    with pytest.raises(ExpressionError, match=r"unknown function 'cuont'; did you mean 'count'\?"):
        parse_expression("cuont(raid) > 0")


def test_unknown_function_in_an_outcome_suggests_an_outcome_function() -> None:
    with pytest.raises(ExpressionError, match="did you mean 'first_day'"):
        parse_expression("frist_day(raid) < 10", outcome=True)


# -- syntax errors -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "column"),
    [("a b", 3), ("1 + )", 5), ("count(raid,, by=govt)", 12), ("x = 1", 3)],
)
def test_syntax_error_gives_its_column(text: str, column: int) -> None:
    error = refusal(text)
    assert str(error).startswith("syntax error:")
    assert error.column == column


@pytest.mark.parametrize("text", ["x ==", "1 +", "x if y else", "not"])
def test_syntax_error_at_the_end_points_past_the_text(text: str) -> None:
    # CPython gives no offset for an expression cut short; the column must still be 1-based.
    assert refusal(text).column == len(text) + 1


@pytest.mark.parametrize(
    ("text", "column"),
    [("  lambda: 1", 3), ("   1 +", 7), ("  a b", 5), ("  count(raid, bye=x)", 19)],
)
def test_columns_count_leading_spaces(text: str, column: int) -> None:
    assert refusal(text).column == column


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "got an empty string"), ("   ", "got an empty string"), ("x\n+ 1", "one line")],
)
def test_empty_or_multiline_expression_is_refused(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        parse_expression(text)


# -- long and deep expressions --------------------------------------------------------


def test_a_long_sum_parses_without_recursion() -> None:
    # The tree of a sum leans left one level per term: 1000 levels, deeper than the
    # stack allows a recursive check.
    text = " + ".join(["count(raid, within=1)"] * MAX_TERMS) + " > 0"
    assert isinstance(parse_expression(text), ast.Compare)


def test_an_operator_refused_deep_in_a_long_chain_is_found() -> None:
    error = refusal(" + ".join(["x"] * 500) + " | y")
    assert "the operator BitOr is not allowed" in str(error)


def test_a_chain_longer_than_the_limit_is_refused() -> None:
    error = refusal("1 + " + " - ".join(["x"] * MAX_TERMS))
    message = f"expression too long: at most {MAX_TERMS} operands joined by operators"
    assert message in str(error)
    assert f"got {MAX_TERMS + 1}" in str(error)
    assert error.column == 1


@pytest.mark.parametrize(
    ("text", "column"),
    [
        # The column is that of the first level too many.
        ("-" * (MAX_NESTING + 5) + "x", MAX_NESTING + 1),
        ("1 + " + "abs(" * MAX_NESTING + "x" + ")" * MAX_NESTING, 5 + 4 * (MAX_NESTING - 1)),
        (" if c else ".join(["1"] * (MAX_NESTING + 1)), 1 + len("1 if c else ") * MAX_NESTING),
    ],
    ids=["unary", "calls", "conditionals"],
)
def test_nesting_deeper_than_the_limit_is_refused_at_its_level(text: str, column: int) -> None:
    error = refusal(text)
    assert f"expression too deeply nested: at most {MAX_NESTING} levels" in str(error)
    assert error.column == column


def test_nesting_up_to_the_limit_is_admitted() -> None:
    assert isinstance(parse_expression("-" * (MAX_NESTING - 1) + "x"), ast.UnaryOp)


@pytest.mark.parametrize(
    "text",
    [" + ".join(["x"] * 5000), "not " * 100_000 + "x", "-" * 100_000 + "x"],
    ids=["sum of 5000", "100000 nots", "100000 minuses"],
)
def test_a_tree_too_large_for_the_parser_is_refused_with_a_message(text: str) -> None:
    # CPython's parser itself gives up on these (RecursionError, MemoryError).
    with pytest.raises(ExpressionError, match="expression too long or too deeply nested"):
        parse_expression(text)


# -- arity and keywords --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("count()", r"count\(\) takes 1 positional argument\(s\) \(action\), got 0"),
        ("count(raid, strike)", r"count\(\) takes 1 positional argument\(s\) \(action\), got 2"),
        ("hostile(raid)", r"hostile\(\) takes 0 positional argument\(s\) \(none\), got 1"),
        ("abs(1, 2)", r"abs\(\) takes 1 positional argument\(s\) \(x\), got 2"),
        ("min(1)", r"min\(\) takes at least 2 arguments, got 1"),
        ("max()", r"max\(\) takes at least 2 arguments, got 0"),
    ],
)
def test_wrong_number_of_arguments(text: str, message: str) -> None:
    error = refusal(text)
    assert error.column == 1
    assert re.search(message, str(error)), str(error)


def test_unknown_keyword_lists_the_allowed_ones_and_suggests() -> None:
    error = refusal("count(raid, bye=govt)")
    assert "count() takes no keyword 'bye' (allowed: by, on, within)" in str(error)
    assert "did you mean 'by'?" in str(error)
    assert error.column == 17  # the value of the keyword


def test_keyword_of_another_function_is_refused() -> None:
    with pytest.raises(ExpressionError, match=r"days_since\(\) takes no keyword 'within'"):
        parse_expression("days_since(strike, within=3)")


def test_function_without_keywords_says_none_allowed() -> None:
    with pytest.raises(ExpressionError, match=r"min\(\) takes no keyword 'by' \(allowed: none\)"):
        parse_expression("min(1, 2, by=govt)")


def test_keyword_given_twice_is_refused() -> None:
    error = refusal("count(raid, within=1, within=2)")
    assert "keyword 'within' given twice" in str(error)
    assert error.column == 30


def test_whitelist_documents_every_function() -> None:
    for name, spec in {**FUNCTIONS, **OUTCOME_FUNCTIONS}.items():
        assert spec.doc, name


def test_suggest() -> None:
    assert suggest("resolv", ["resolve", "tension"]) == "; did you mean 'resolve'?"
    assert suggest("zzz", ["resolve", "tension"]) == ""
