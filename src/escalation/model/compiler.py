"""Compile checked expression trees into closures over a block of runs.

A compiled expression is a function of the block's state
(:class:`escalation.model.state.BlockState`) returning a float (for constants) or
a NumPy array with one element per run.  Compilation resolves every name once, so
an unknown name is an error before any run starts, and registers the observation
keys the expression reads with a :class:`Requirements` collector, so that the
model tracks only what some rule, tempo or outcome looks at.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from escalation.model import kernels
from escalation.scenario.expressions import (
    ExpressionError,
    binary_chain,
    parse_expression,
    suggest,
)
from escalation.scenario.schema import Scenario

if TYPE_CHECKING:
    from escalation.model.state import BlockState

__all__ = [
    "BUILTIN_ACTOR_VARIABLES",
    "CompileContext",
    "Compiled",
    "ObservationKey",
    "Requirements",
    "compile_expression",
    "compile_quantity",
]

Fn = Callable[["BlockState"], Any]

BUILTIN_ACTOR_VARIABLES = ("casualties", "claimed_casualties", "admitted_casualties")
"""State every actor has: true deaths, deaths its enemies claim, deaths it admits."""


class ObservationKey(NamedTuple):
    """What an observer tracks: acts of ``action`` (any hostile act if None) by/on actors.

    ``observer`` None means the truth, as outcomes see it.  A named tuple, because
    the model looks keys up in dictionaries many times a day and a tuple hashes in C.
    """

    observer: str | None
    action: str | None
    by: str | None
    on: str | None


@dataclass
class Requirements:
    """The observation keys and windows that compiled expressions read."""

    windows: dict[ObservationKey, set[int]] = field(default_factory=dict)
    causes: set[ObservationKey] = field(default_factory=set)
    """Keys read by rule conditions: they keep the last act's identity, for causality."""
    sums: dict[ObservationKey, set[tuple[int | None, str]]] = field(default_factory=dict)
    """The sums read per key: (window or None for all history, "count" or "casualties")."""

    def need(self, key: ObservationKey, within: int | None, sum: str | None = None) -> None:
        """Record that an expression reads ``key`` (its ``sum`` over ``within``, if any)."""
        self.windows.setdefault(key, set())
        self.sums.setdefault(key, set())
        if within is not None:
            self.windows[key].add(within)
        if sum is not None:
            self.sums[key].add((within, sum))


@dataclass(frozen=True)
class Compiled:
    """A compiled expression: ``evaluate(state)`` and the keys it observed, in order."""

    text: str
    evaluate: Fn
    keys: tuple[ObservationKey, ...]
    constant: float | None
    test: Fn | None = None
    """For a condition: its truth without broadcasting, a boolean array or one bool
    for every run (``evaluate`` always gives an array)."""
    parameters_only: bool = False
    """Whether it reads literals and parameters only, so keeps one value in a block."""
    windows: tuple[int | None, ...] = ()
    """The window of each read of ``keys``, in the same order (None: all history)."""

    def block_value(self, state: BlockState) -> float | None:
        """The one number it has for every run of the block, if it reads only literals
        and parameters and none of those is given per run; else None."""
        if not self.parameters_only:
            return None
        value = self.evaluate(state)
        return float(value) if isinstance(value, float) else None

    def block_probability(self, state: BlockState) -> float | None:
        """`block_value`, when it is a probability (in [0, 1]); else None."""
        value = self.block_value(state)
        return value if value is not None and 0.0 <= value <= 1.0 else None


@dataclass
class CompileContext:
    """Where an expression stands: whose policy, and whether it is an outcome."""

    scenario: Scenario
    requirements: Requirements
    owner: str | None = None
    outcome: bool = False
    keys: list[ObservationKey] = field(default_factory=list)
    windows: list[int | None] = field(default_factory=list)

    @property
    def observer(self) -> str | None:
        return None if self.outcome else self.owner


def compile_expression(text: str, context: CompileContext, *, boolean: bool = False) -> Compiled:
    """Compile ``text`` in ``context``.

    Raises
    ------
    ExpressionError
        On a syntax error, a forbidden construct or an unknown name.
    """
    tree = parse_expression(text, outcome=context.outcome)
    context.keys, context.windows = [], []
    function = _compile(tree, context)
    constant = _constant_value(tree, context)
    keys, windows = tuple(context.keys), tuple(context.windows)
    fixed = _parameters_only(tree, context)
    if not boolean:
        return Compiled(text, function, keys, constant, parameters_only=fixed, windows=windows)
    return Compiled(text, _as_bool(function), keys, constant, _as_truth(function), fixed, windows)


def compile_quantity(value: float | str, context: CompileContext) -> Compiled:
    """Compile a scenario quantity: a literal number or an expression."""
    if isinstance(value, str):
        return compile_expression(value, context)
    number = float(value)
    return Compiled(repr(value), lambda _state: number, (), number, parameters_only=True)


def _as_truth(function: Fn) -> Fn:
    def test(state: BlockState) -> Any:
        return _truth(function(state))

    return test


def _as_bool(function: Fn) -> Fn:
    def evaluate(state: BlockState) -> Any:
        value = function(state)
        if isinstance(value, np.ndarray):
            return value if value.dtype == np.bool_ else value != 0
        return np.full(state.n, bool(value))

    return evaluate


def _constant_value(tree: ast.expr, context: CompileContext) -> float | None:
    """The value of an expression that depends on literals and parameters only."""
    if isinstance(tree, ast.Constant) and isinstance(tree.value, int | float):
        return float(tree.value)
    if isinstance(tree, ast.Name) and tree.id in context.scenario.parameters:
        return float(context.scenario.parameters[tree.id].value)
    if isinstance(tree, ast.Attribute) and isinstance(tree.value, ast.Name):
        owner = context.owner if tree.value.id == "self" else tree.value.id
        actor = context.scenario.actors.get(owner or "")
        if actor is not None and tree.attr in actor.parameters:
            return float(actor.parameters[tree.attr].value)
    return None


def _parameters_only(node: ast.expr, context: CompileContext) -> bool:
    """Whether an expression reads nothing but literals and parameters."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name):
        return node.id in context.scenario.parameters or node.id in _LITERAL_NAMES
    if isinstance(node, ast.Attribute):
        return _constant_value(node, context) is not None
    if isinstance(node, ast.Call):
        pure = isinstance(node.func, ast.Name) and node.func.id in ("min", "max", *_MATH)
        return pure and not node.keywords and _all_parameters_only(node.args, context)
    if isinstance(node, ast.UnaryOp):
        return _parameters_only(node.operand, context)
    if isinstance(node, ast.BinOp):
        first, links = binary_chain(node)
        return _all_parameters_only([first, *(link.right for link in links)], context)
    if isinstance(node, ast.BoolOp):
        return _all_parameters_only(node.values, context)
    if isinstance(node, ast.Compare):
        return _all_parameters_only([node.left, *node.comparators], context)
    if isinstance(node, ast.IfExp):
        return _all_parameters_only([node.test, node.body, node.orelse], context)
    return False


def _all_parameters_only(nodes: list[ast.expr], context: CompileContext) -> bool:
    return all(_parameters_only(node, context) for node in nodes)


_LITERAL_NAMES = frozenset({"true", "True", "false", "False", "inf"})

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: np.divide,
    ast.FloorDiv: np.floor_divide,
    ast.Mod: np.mod,
    ast.Pow: np.power,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_COMPARE_CODES: dict[type[ast.cmpop], int] = {
    ast.Gt: kernels.GREATER,
    ast.GtE: kernels.GREATER_EQUAL,
    ast.Lt: kernels.LESS,
    ast.LtE: kernels.LESS_EQUAL,
    ast.Eq: kernels.EQUAL,
    ast.NotEq: kernels.NOT_EQUAL,
}
_MATH: dict[str, Callable[[Any], Any]] = {
    "abs": np.abs,
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
}


def _truth(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value if value.dtype == np.bool_ else value != 0
    return bool(value)


def _falsity(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return ~value if value.dtype == np.bool_ else value == 0
    return not value


def _settled(result: Any, decided: bool) -> bool:
    """Whether every run's value is ``decided`` (False for ``and``, True for ``or``)."""
    if isinstance(result, np.ndarray):
        if result.ndim == 1 and result.dtype == np.bool_:
            mask = result.view(np.uint8)
            return kernels.all_set(mask) if decided else not kernels.any_set(mask)
        return not result.any() if not decided else bool(result.all())
    return bool(result) is decided


def _column(node: ast.AST) -> int | None:
    offset = getattr(node, "col_offset", None)
    return None if offset is None else offset + 1


def _compile(node: ast.expr, context: CompileContext) -> Fn:  # noqa: C901 - one dispatch
    if isinstance(node, ast.Constant):
        assert isinstance(node.value, int | float)
        value = float(node.value)
        return lambda _state: value
    if isinstance(node, ast.Name):
        return _compile_name(node, context)
    if isinstance(node, ast.Attribute):
        return _compile_attribute(node, context)
    if isinstance(node, ast.UnaryOp):
        operand = _compile(node.operand, context)
        if isinstance(node.op, ast.Not):
            return lambda state: _falsity(operand(state))
        if isinstance(node.op, ast.USub):
            return lambda state: -operand(state)
        return operand
    if isinstance(node, ast.BinOp):
        return _compile_chain(node, context)
    if isinstance(node, ast.BoolOp):
        parts = [_compile(value, context) for value in node.values]
        combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or

        decided = False if isinstance(node.op, ast.And) else True

        def boolean(state: BlockState) -> Any:
            # Expressions have no side effects, so once every run's answer is known
            # the remaining operands need not be evaluated.
            result = _truth(parts[0](state))
            for part in parts[1:]:
                if _settled(result, decided):
                    break
                result = combine(result, _truth(part(state)))
            return result

        return boolean
    if isinstance(node, ast.Compare):
        return _compile_compare(node, context)
    if isinstance(node, ast.IfExp):
        test, body, orelse = (
            _compile(node.test, context),
            _compile(node.body, context),
            _compile(node.orelse, context),
        )
        return lambda state: np.where(_truth(test(state)), body(state), orelse(state))
    if isinstance(node, ast.Call):
        return _compile_call(node, context)
    raise ExpressionError(f"cannot compile {type(node).__name__}", _column(node))


def _compile_chain(node: ast.BinOp, context: CompileContext) -> Fn:
    """``a + b - c ...``, applied left to right in a loop: a long sum of terms costs
    neither compiling nor evaluating a level of recursion per term."""
    first, links = binary_chain(node)
    function = _compile(first, context)
    steps: list[tuple[Callable[[Any, Any], Any], Fn]] = []
    for link in links:
        right = _compile(link.right, context)
        if not steps and isinstance(link.op, ast.Add):
            summed = _SumOfReads.join(function, right)
            if summed is not None:
                function = summed
                continue
        steps.append((_BINARY[type(link.op)], right))
    if not steps:
        return function
    if len(steps) == 1:
        (op, right), left = steps[0], function
        return lambda state: op(left(state), right(state))
    start = function

    def chain(state: BlockState) -> Any:
        value = start(state)
        for op, operand in steps:
            value = op(value, operand(state))
        return value

    return chain


def _compile_compare(node: ast.Compare, context: CompileContext) -> Fn:
    operands = [_compile(node.left, context)] + [_compile(c, context) for c in node.comparators]
    ops = [_COMPARE[type(op)] for op in node.ops]
    summed = operands[0]
    if (
        isinstance(summed, _SumOfReads)
        and len(ops) == 1
        and _parameters_only(node.comparators[0], context)
    ):
        return summed.compared(_COMPARE_CODES[type(node.ops[0])], ops[0], operands[1])

    def compare(state: BlockState) -> Any:
        values = [operand(state) for operand in operands]
        result = ops[0](values[0], values[1])
        for index in range(1, len(ops)):
            result = np.logical_and(result, ops[index](values[index], values[index + 1]))
        return result

    return compare


def _compile_name(node: ast.Name, context: CompileContext) -> Fn:
    name = node.id
    scenario = context.scenario
    if name in ("true", "True"):
        return lambda _state: True
    if name in ("false", "False"):
        return lambda _state: False
    if name == "inf":
        return lambda _state: math.inf
    if name == "day":
        return lambda state: state.day
    if name == "rung":
        return lambda state: state.rung
    if name == "max_rung":
        return lambda state: state.max_rung
    if name in scenario.parameters:
        return lambda state: state.params[name]
    if name in scenario.world:
        return lambda state: state.variables[name]
    known = ["day", "rung", "max_rung", *scenario.parameters, *scenario.world]
    hint = suggest(name, known)
    if name in scenario.actors or name in scenario.actions:
        what = "an actor" if name in scenario.actors else "an action"
        raise ExpressionError(
            f"{name!r} is {what}; it can only name the subject of a function such as "
            "count(action, by=actor)",
            _column(node),
        )
    raise ExpressionError(
        f"unknown name {name!r}: not a parameter, a world variable or a built-in{hint}",
        _column(node),
    )


def _compile_attribute(node: ast.Attribute, context: CompileContext) -> Fn:
    assert isinstance(node.value, ast.Name)
    actor = node.value.id
    if actor == "self":
        if context.owner is None:
            raise ExpressionError("'self' only means something in an actor's policy", _column(node))
        actor = context.owner
    if actor not in context.scenario.actors:
        raise ExpressionError(
            f"unknown actor {actor!r}{suggest(actor, context.scenario.actors)}", _column(node)
        )
    declared = context.scenario.actors[actor]
    name = f"{actor}.{node.attr}"
    if node.attr in declared.parameters:
        return lambda state: state.params[name]
    variables = [*declared.state, *BUILTIN_ACTOR_VARIABLES]
    if node.attr not in variables:
        known = [*declared.parameters, *variables]
        raise ExpressionError(
            f"actor {actor!r} has no parameter or variable {node.attr!r}"
            f"{suggest(node.attr, known)}",
            _column(node),
        )
    return lambda state: state.variables[name]


def _name_argument(
    node: ast.expr, kind: str, choices: dict[str, Any], function: str, owner: str | None = None
) -> str:
    if isinstance(node, ast.Name) and node.id == "self" and kind == "actor":
        if owner is None:
            raise ExpressionError(
                f"{function}(): 'self' only means something in an actor's policy", _column(node)
            )
        return owner
    if isinstance(node, ast.Name) and node.id in choices:
        return node.id
    if isinstance(node, ast.Name):
        raise ExpressionError(
            f"{function}(): unknown {kind} {node.id!r}{suggest(node.id, choices)}", _column(node)
        )
    raise ExpressionError(f"{function}(): expected the name of {kind}", _column(node))


def _days_argument(node: ast.expr, function: str) -> int:
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int)
        and not isinstance(node.value, bool)
        and node.value >= 1
    ):
        return int(node.value)
    raise ExpressionError(
        f"{function}(): within= must be a whole number of days >= 1", _column(node)
    )


def _compile_call(node: ast.Call, context: CompileContext) -> Fn:  # noqa: C901 - one dispatch
    assert isinstance(node.func, ast.Name)
    function = node.func.id
    scenario = context.scenario
    keywords = {keyword.arg: keyword.value for keyword in node.keywords if keyword.arg}
    if function in ("min", "max"):
        parts = [_compile(argument, context) for argument in node.args]
        reduce = np.minimum if function == "min" else np.maximum

        def extreme(state: BlockState) -> Any:
            result = parts[0](state)
            for part in parts[1:]:
                result = reduce(result, part(state))
            return result

        return extreme
    if function in _MATH:
        argument = _compile(node.args[0], context)
        math_function = _MATH[function]
        return lambda state: math_function(argument(state))
    if function in ("days_true", "spells", "days_with"):
        variable = _name_argument(node.args[0], "world variable", scenario.world, function)
        if not scenario.world[variable].is_boolean:
            raise ExpressionError(
                f"{function}(): {variable!r} is not a boolean world variable", _column(node)
            )
        table = {"days_true": "spell_length", "spells": "spell_count", "days_with": "days_with"}
        attribute = table[function]
        return lambda state: getattr(state, attribute)[variable]
    if function == "days_at_or_above":
        rung_node = node.args[0]
        if not (isinstance(rung_node, ast.Constant) and isinstance(rung_node.value, int)):
            raise ExpressionError("days_at_or_above(): expected a whole rung number", _column(node))
        level = int(rung_node.value)
        if not 0 <= level < len(scenario.ladder):
            raise ExpressionError(
                f"days_at_or_above(): rung {level} is not on the ladder "
                f"(0 to {len(scenario.ladder) - 1})",
                _column(rung_node),
            )
        return lambda state: state.days_at_or_above(level)

    by = (
        _name_argument(keywords["by"], "actor", scenario.actors, function, context.owner)
        if "by" in keywords
        else None
    )
    on = (
        _name_argument(keywords["on"], "actor", scenario.actors, function, context.owner)
        if "on" in keywords
        else None
    )
    within = _days_argument(keywords["within"], function) if "within" in keywords else None
    action: str | None = None
    if function != "hostile":
        action = _name_argument(node.args[0], "action", scenario.actions, function)
    if function == "first_day":
        assert action is not None
        first_key = (by, action)
        return lambda state: state.first_day(first_key)
    key = ObservationKey(context.observer, action, by, on)
    summed = {"count": "count", "hostile": "count", "casualties": "casualties"}.get(function)
    context.requirements.need(key, within, summed)
    context.keys.append(key)
    context.windows.append(within)
    if function in ("count", "hostile"):
        return _SumRead(key, within, "count")
    if function == "casualties":
        return _SumRead(key, within, "casualties")
    if function == "days_since":
        return lambda state: state.day - state.tracker.last_day(key)
    raise ExpressionError(  # pragma: no cover - the whitelist and this dispatch agree
        f"function {function!r} has no compiled form", _column(node)
    )


class _SumRead:
    """``count(...)`` or ``casualties(...)``: one of the tracker's running sums, a row
    of `ObservationTracker.sums`."""

    __slots__ = ("read",)

    def __init__(self, key: ObservationKey, within: int | None, kind: str) -> None:
        self.read = (key, within, kind)

    def __call__(self, state: BlockState) -> Any:
        return state.tracker.sum_row(*self.read)


class _SumOfReads:
    """A sum of two or more running sums, ``count(a) + count(b) + ...``, added left to
    right as the expression says.

    Compared with a literal or a parameter, as most conditions do (``count(a) +
    count(b) > 0``), it is added and compared in one compiled pass over the rows
    (`kernels.sum_compare`): the same additions in the same order, so the same
    truth, without a temporary array per ``+``.
    """

    __slots__ = ("reads",)

    def __init__(self, reads: tuple[tuple[ObservationKey, int | None, str], ...]) -> None:
        self.reads = reads

    @classmethod
    def join(cls, left: Fn, right: Fn) -> _SumOfReads | None:
        """``left + right`` as one sum, if both are running sums or sums of them."""
        if not isinstance(right, _SumRead):
            return None
        if isinstance(left, _SumRead):
            return cls((left.read, right.read))
        if isinstance(left, _SumOfReads):
            return cls((*left.reads, right.read))
        return None

    def __call__(self, state: BlockState) -> Any:
        tracker = state.tracker
        total = tracker.sum_row(*self.reads[0])
        for read in self.reads[1:]:
            total = total + tracker.sum_row(*read)
        return total

    def compared(self, code: int, op: Callable[[Any, Any], Any], threshold: Fn) -> Fn:
        """``self op threshold``, ``threshold`` reading literals and parameters only."""

        def compare(state: BlockState) -> Any:
            value = threshold(state)
            if isinstance(value, float | int):
                tracker = state.tracker
                rows = tracker.rows_of(self)
                return kernels.sum_compare(tracker.sums, rows, code, float(value))
            return op(self(state), value)  # a parameter given per run

        return compare
