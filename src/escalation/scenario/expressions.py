"""The policy expression language: a small, whitelisted subset of Python syntax.

Expressions are parsed with :mod:`ast` and checked node by node: only literals,
names, arithmetic, comparisons, ``and``/``or``/``not``, ``x if c else y`` and calls
of the functions listed in :data:`FUNCTIONS` are admitted.  Attribute access is
admitted in exactly one form, ``actor.variable`` (or ``self.variable``), naming a
declared state variable; anything else (``x.__class__``, subscripts, lambdas,
comprehensions, calls of other names) is rejected with its column.  Nothing is
ever passed to ``eval``: a checked tree is compiled into a closure over NumPy
operations by :mod:`escalation.model.compiler`.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "FUNCTIONS",
    "MAX_NESTING",
    "MAX_TERMS",
    "OUTCOME_FUNCTIONS",
    "ExpressionError",
    "FunctionSpec",
    "binary_chain",
    "parse_expression",
    "suggest",
]


@dataclass(frozen=True)
class FunctionSpec:
    """What a whitelisted function takes.

    ``event`` functions take an action name as their first argument and the keywords
    ``by`` and ``on`` (actor names); ``within`` is a whole number of days.
    """

    positional: tuple[str, ...]
    keywords: tuple[str, ...] = ()
    min_positional: int | None = None
    variadic: bool = False
    doc: str = ""


EVENT_KEYWORDS = ("by", "on", "within")

FUNCTIONS: dict[str, FunctionSpec] = {
    "count": FunctionSpec(
        ("action",),
        EVENT_KEYWORDS,
        doc="acts of `action` observed (by=actor, on=target, within=days; default all history)",
    ),
    "casualties": FunctionSpec(
        ("action",),
        EVENT_KEYWORDS,
        doc="deaths those acts caused to their targets, as the observer saw them",
    ),
    "hostile": FunctionSpec(
        (),
        EVENT_KEYWORDS,
        doc="hostile acts of any kind observed (by=, on=, within=)",
    ),
    "days_since": FunctionSpec(
        ("action",),
        ("by", "on"),
        doc="days since the last such act was observed (inf if never)",
    ),
    "days_true": FunctionSpec(("variable",), doc="days a boolean world variable has been true"),
    "min": FunctionSpec(("a", "b"), variadic=True, doc="elementwise minimum"),
    "max": FunctionSpec(("a", "b"), variadic=True, doc="elementwise maximum"),
    "abs": FunctionSpec(("x",), doc="absolute value"),
    "exp": FunctionSpec(("x",), doc="exponential"),
    "log": FunctionSpec(("x",), doc="natural logarithm"),
    "sqrt": FunctionSpec(("x",), doc="square root"),
}

OUTCOME_FUNCTIONS: dict[str, FunctionSpec] = {
    "days_at_or_above": FunctionSpec(("rung",), doc="days whose highest act reached the rung"),
    "first_day": FunctionSpec(("action",), ("by",), doc="day of the first such act (inf if none)"),
    "spells": FunctionSpec(("variable",), doc="times a boolean world variable became true"),
    "days_with": FunctionSpec(("variable",), doc="days a boolean world variable was true"),
}

MAX_TERMS = 1000
"""Most operands one chain of binary operators joins (``a + b - c * d ...``): far more
than any condition needs, and far fewer than CPython's parser can build a tree of."""

MAX_NESTING = 100
"""Deepest nesting of an expression: brackets, calls, unary operators, conditionals
and right operands each add a level; a chain of binary operators is one level, however
long.  Checking and compiling recurse once per level."""

RESERVED_NAMES = frozenset(
    {"true", "false", "True", "False", "inf", "day", "rung", "max_rung", "self"}
)

_BINARY = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)
_COMPARE = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)
_UNARY = (ast.Not, ast.USub, ast.UAdd)


class ExpressionError(ValueError):
    """An expression that does not parse or uses a construct the language forbids.

    ``column`` is 1-based within the expression text.
    """

    def __init__(self, message: str, column: int | None = None) -> None:
        self.message = message
        self.column = column
        where = f" (at column {column})" if column is not None else ""
        super().__init__(f"{message}{where}")


def suggest(name: str, choices: Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _column(node: ast.AST) -> int | None:
    offset = getattr(node, "col_offset", None)
    return None if offset is None else offset + 1


def _forbidden(node: ast.AST) -> ExpressionError:
    kinds = {
        ast.Lambda: "lambda expressions",
        ast.ListComp: "comprehensions",
        ast.SetComp: "comprehensions",
        ast.DictComp: "comprehensions",
        ast.GeneratorExp: "comprehensions",
        ast.Subscript: "subscripts",
        ast.Starred: "starred arguments",
        ast.NamedExpr: "assignment expressions",
        ast.Await: "await",
        ast.JoinedStr: "f-strings",
        ast.List: "lists",
        ast.Tuple: "tuples",
        ast.Dict: "dicts",
        ast.Set: "sets",
    }
    what = kinds.get(type(node), type(node).__name__)
    return ExpressionError(f"{what} are not allowed in an expression", _column(node))


def parse_expression(text: str, *, outcome: bool = False) -> ast.expr:
    """Parse and check an expression; return the checked tree.

    Parameters
    ----------
    text
        The expression, e.g. ``"count(militant_attack, by=ttp, within=3) > 0"``.
    outcome
        Whether the outcome functions (:data:`OUTCOME_FUNCTIONS`) are admitted.

    Raises
    ------
    ExpressionError
        On a syntax error or a forbidden construct, with the 1-based column.
    """
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("expected an expression, got an empty string")
    if "\n" in text.strip():
        raise ExpressionError("an expression must fit on one line")
    stripped = text.strip()
    lead = len(text) - len(text.lstrip())
    try:
        tree = ast.parse(stripped, mode="eval")
    except SyntaxError as error:
        # CPython reports offset 0 (or none) for an expression cut short: point past its end.
        offset = error.offset if error.offset else len(stripped) + 1
        raise ExpressionError(f"syntax error: {error.msg}", offset + lead) from None
    except (RecursionError, MemoryError):
        # CPython's parser gives up on a tree thousands of levels deep this way.
        raise ExpressionError(
            f"expression too long or too deeply nested: at most {MAX_TERMS} operands "
            f"joined by operators in a row and {MAX_NESTING} levels of nesting"
        ) from None
    if lead:
        # Columns count within the text as written, leading spaces included.
        for node in ast.walk(tree):
            if isinstance(node, ast.expr | ast.keyword):
                node.col_offset += lead
    _check_size(tree.body)
    functions = {**FUNCTIONS, **OUTCOME_FUNCTIONS} if outcome else FUNCTIONS
    _check(tree.body, functions, outcome)
    return tree.body


def binary_chain(node: ast.BinOp) -> tuple[ast.expr, list[ast.BinOp]]:
    """The first operand of a chain of binary operators and its operations, in the
    order they apply: ``a + b - c`` gives ``a`` and the operations ``+ b`` and ``- c``.

    Python's tree leans left, one level per operator; walked here without recursion,
    so that a long sum costs no stack.
    """
    links: list[ast.BinOp] = []
    operand: ast.expr = node
    while isinstance(operand, ast.BinOp):
        links.append(operand)
        operand = operand.left
    links.reverse()
    return operand, links


def _check_size(tree: ast.expr) -> None:
    """Refuse an expression longer or deeper than the checks and the compiler recurse
    through (walked without recursion, so that the refusal is a message, not a crash)."""
    pending: list[tuple[ast.expr, int]] = [(tree, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > MAX_NESTING:
            raise ExpressionError(
                f"expression too deeply nested: at most {MAX_NESTING} levels "
                "(brackets, calls, operators, conditionals)",
                _column(node),
            )
        children: list[ast.expr]
        if isinstance(node, ast.BinOp):
            first, links = binary_chain(node)
            if len(links) + 1 > MAX_TERMS:
                raise ExpressionError(
                    f"expression too long: at most {MAX_TERMS} operands joined by "
                    f"operators (+, -, *, ...) in a row, got {len(links) + 1}",
                    _column(node),
                )
            children = [first, *(link.right for link in links)]
        else:
            children = [
                child.value if isinstance(child, ast.keyword) else child
                for child in ast.iter_child_nodes(node)
                if isinstance(child, ast.expr | ast.keyword)
            ]
        pending.extend((child, depth + 1) for child in children)


def _check(node: ast.AST, functions: dict[str, FunctionSpec], outcome: bool) -> None:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or isinstance(node.value, int | float):
            return
        raise ExpressionError(
            f"only numbers are allowed as literals, got {node.value!r}", _column(node)
        )
    if isinstance(node, ast.Name):
        return
    if isinstance(node, ast.Attribute):
        if isinstance(node.value, ast.Name) and not node.attr.startswith("_"):
            return
        raise ExpressionError(
            "attribute access is not allowed; the only dotted form is actor.variable",
            _column(node),
        )
    if isinstance(node, ast.BoolOp):
        for value in node.values:
            _check(value, functions, outcome)
        return
    if isinstance(node, ast.BinOp):
        first, links = binary_chain(node)
        for link in reversed(links):
            if not isinstance(link.op, _BINARY):
                raise ExpressionError(
                    f"the operator {type(link.op).__name__} is not allowed", _column(link)
                )
        _check(first, functions, outcome)
        for link in links:
            _check(link.right, functions, outcome)
        return
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, _UNARY):
            raise ExpressionError(
                f"the operator {type(node.op).__name__} is not allowed", _column(node)
            )
        _check(node.operand, functions, outcome)
        return
    if isinstance(node, ast.Compare):
        for op in node.ops:
            if not isinstance(op, _COMPARE):
                raise ExpressionError(
                    f"the comparison {type(op).__name__} is not allowed (use ==, !=, <, <=, >, >=)",
                    _column(node),
                )
        _check(node.left, functions, outcome)
        for comparator in node.comparators:
            _check(comparator, functions, outcome)
        return
    if isinstance(node, ast.IfExp):
        for part in (node.test, node.body, node.orelse):
            _check(part, functions, outcome)
        return
    if isinstance(node, ast.Call):
        _check_call(node, functions, outcome)
        return
    raise _forbidden(node)


def _check_call(node: ast.Call, functions: dict[str, FunctionSpec], outcome: bool) -> None:
    if not isinstance(node.func, ast.Name):
        raise ExpressionError(
            "only calls of the listed functions are allowed: " + ", ".join(sorted(functions)),
            _column(node),
        )
    name = node.func.id
    spec = functions.get(name)
    if spec is None:
        hint = suggest(name, functions)
        if not outcome and name in OUTCOME_FUNCTIONS:
            hint = "; it is available in outcome conditions only"
        raise ExpressionError(f"unknown function {name!r}{hint}", _column(node))
    count = len(node.args)
    low = spec.min_positional if spec.min_positional is not None else len(spec.positional)
    if spec.variadic:
        if count < 2:
            raise ExpressionError(
                f"{name}() takes at least 2 arguments, got {count}", _column(node)
            )
    elif not low <= count <= len(spec.positional):
        raise ExpressionError(
            f"{name}() takes {len(spec.positional)} positional argument(s) "
            f"({', '.join(spec.positional) or 'none'}), got {count}",
            _column(node),
        )
    seen: set[str] = set()
    for keyword in node.keywords:
        if keyword.arg is None:
            raise ExpressionError("**keyword unpacking is not allowed", _column(node))
        if keyword.arg not in spec.keywords:
            allowed = ", ".join(spec.keywords) or "none"
            raise ExpressionError(
                f"{name}() takes no keyword {keyword.arg!r} (allowed: {allowed})"
                + suggest(keyword.arg, spec.keywords),
                _column(keyword.value),
            )
        if keyword.arg in seen:
            raise ExpressionError(f"keyword {keyword.arg!r} given twice", _column(keyword.value))
        seen.add(keyword.arg)
        _check(keyword.value, functions, outcome)
    for argument in node.args:
        _check(argument, functions, outcome)
