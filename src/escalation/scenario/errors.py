"""Problems found in a scenario, and how each is told to the user.

Every problem names the file, the line, the column and the YAML path of what is
wrong, says what was expected and what was found, and suggests the name that was
probably meant.  Validation errors of :mod:`pydantic` are translated here into
the same form, so that a scenario author never reads a pydantic message.
"""

from __future__ import annotations

import datetime
import difflib
import re
import types
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, NamedTuple, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from escalation.scenario.schema import Scenario

__all__ = [
    "COMMAND_LINE",
    "Path",
    "Position",
    "Problem",
    "ScenarioError",
    "SourceMap",
    "describe",
    "did_you_mean",
    "format_path",
    "problem_from_yaml",
    "problems_from_validation",
    "schema_fields_at",
]

COMMAND_LINE = "<command line>"
"""The file name of values given with ``--set``."""

Path = tuple[str | int, ...]
"""A place in a document: mapping keys and list indices from the top."""

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_NAME_PATTERN = "^[a-z][a-z0-9_]*$"


class Position(NamedTuple):
    """Where a node of a document was written: file, 1-based line and column."""

    file: str | None
    line: int | None
    column: int | None


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario, and where it is.

    Attributes
    ----------
    file : str or None
        The path as given, ``"<command line>"`` for a ``--set`` value, or None.
    line, column : int or None
        1-based position in ``file``.
    path : str
        YAML path such as ``actors.pakistan.policy[2].probability``; ``""`` for
        the document as a whole.
    message : str
        What was expected and what was found.
    set_below : tuple of str
        Paths below ``path`` whose values the command line set (``--set``): the
        file's line does not hold them, and the problem says so.
    """

    file: str | None
    line: int | None
    column: int | None
    path: str
    message: str
    set_below: tuple[str, ...] = ()

    def __str__(self) -> str:
        location = ":".join(str(p) for p in (self.file, self.line, self.column) if p is not None)
        message = self.message
        if self.set_below:
            message += f" (the command line set {', '.join(self.set_below)})"
        return ": ".join(part for part in (location, self.path, message) if part)


def _order(problem: Problem) -> tuple[str, int, int, str, str]:
    return (
        problem.file or "",
        problem.line or 0,
        problem.column or 0,
        problem.path,
        problem.message,
    )


class ScenarioError(Exception):
    """A scenario that cannot be used, with every problem found in it.

    Parameters
    ----------
    problems : iterable of Problem
        At least one problem; duplicates are dropped and the rest are sorted by
        file, line and column.

    Attributes
    ----------
    problems : tuple of Problem
    """

    problems: tuple[Problem, ...]

    def __init__(self, problems: Iterable[Problem]) -> None:
        ordered = tuple(sorted(dict.fromkeys(problems), key=_order))
        if not ordered:
            raise ValueError("a ScenarioError needs at least one problem")
        self.problems = ordered
        super().__init__("\n".join(str(problem) for problem in ordered))

    def __reduce__(self) -> tuple[type[ScenarioError], tuple[tuple[Problem, ...]]]:
        return (type(self), (self.problems,))


class SourceMap(Mapping[Path, Position]):
    """Where each node of a merged document came from.

    Maps a path (keys and list indices) to the :class:`Position` of the node: the
    position of its key for a mapping entry, of the item for a list item.

    Attributes
    ----------
    files : tuple of str
        Every file read to make the document, in the order they were read: the
        scenario first, then what it ``extends``, and so on down the chain.
    """

    def __init__(self, positions: Mapping[Path, Position], files: Sequence[str] = ()) -> None:
        self._positions = dict(positions)
        self.files = tuple(files)

    def __getitem__(self, path: Path) -> Position:
        return self._positions[path]

    def __iter__(self) -> Iterator[Path]:
        return iter(self._positions)

    def __len__(self) -> int:
        return len(self._positions)

    def nearest(self, path: Path) -> Position:
        """The position of ``path``, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            found = self._positions.get(path[:end])
            if found is not None:
                return found
        return Position(None, None, None)

    def problem(self, path: Path, message: str) -> Problem:
        """A :class:`Problem` at ``path``, placed at its nearest known position.

        A problem placed in a file about a value that ``--set`` gave below it (a
        parameter whose ``value`` the command line set) says so: the file's line
        does not hold that value.
        """
        position = self.nearest(path)
        below: list[str] = []
        if position.file != COMMAND_LINE:
            below = [
                format_path(other)
                for other, at in self._positions.items()
                if at.file == COMMAND_LINE and other[: len(path)] == path and len(other) > len(path)
            ]
        return Problem(*position, format_path(path), message, tuple(sorted(below)))


def format_path(path: Path) -> str:
    """Write a path the way a YAML reader thinks of it: ``actors.a.policy[2].do``."""
    text = ""
    for segment in path:
        if isinstance(segment, int):
            text += f"[{segment}]"
        elif _PLAIN_KEY.match(segment):
            text += f".{segment}" if text else segment
        else:
            text += f"[{segment!r}]"
    return text


def describe(value: object) -> str:
    """A short YAML-flavoured rendering of a value found in a document."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return repr(value)
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, datetime.date):
        return f"the date {value.isoformat()}"
    return repr(value)


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest choice, or ``""`` if none is close."""
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, sorted(set(choices)), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def problem_from_yaml(error: yaml.YAMLError, text: str, file: str | None) -> Problem:
    """A PyYAML error (syntax, forbidden character...) as a problem at its line and column."""
    if isinstance(error, yaml.reader.ReaderError):
        line = text.count("\n", 0, error.position) + 1
        column = error.position - text.rfind("\n", 0, error.position)
        code = error.character if isinstance(error.character, int) else ord(error.character)
        message = f"character #x{code:04X} is not allowed: {error.reason}"
        return Problem(file, line, column, "", message)
    if not isinstance(error, yaml.MarkedYAMLError):
        return Problem(file, None, None, "", str(error))
    mark = error.problem_mark or error.context_mark
    message = error.problem or error.context or "not valid YAML"
    if error.problem and error.context:
        where = error.context_mark
        place = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        message = f"{error.problem} ({error.context}{place})"
    if mark is None:
        return Problem(file, None, None, "", message)
    return Problem(file, mark.line + 1, mark.column + 1, "", message)


_CONTAINERS = (dict, list, tuple)


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated`` and ``None`` alternatives down to a model or container type."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin is Union or origin is types.UnionType:
            members = [m for m in get_args(annotation) if m is not type(None)]
            structured = [m for m in members if _is_model(m) or get_origin(m) in _CONTAINERS]
            if len(structured) != 1:
                return annotation
            annotation = structured[0]
        else:
            return annotation


def _schema_type_at(path: Path, root: type[BaseModel] = Scenario) -> Any:
    """The schema's type at ``path`` (a model class, ``dict[...]``, ...), or None if unknown."""
    current: Any = root
    for segment in path:
        current = _unwrap(current)
        origin = get_origin(current)
        if _is_model(current):
            field = current.model_fields.get(segment) if isinstance(segment, str) else None
            if field is None:
                return None
            current = field.annotation
        elif origin is dict and isinstance(segment, str):
            current = get_args(current)[1]
        elif origin in (list, tuple) and isinstance(segment, int):
            current = get_args(current)[0]
        else:
            return None
    return _unwrap(current)


def schema_fields_at(path: Path) -> list[str] | None:
    """The keys the schema allows in the mapping at ``path``.

    The field names of the model there; None where keys are free (the names of a
    ``dict[Name, X]`` map: actors, parameters...); ``[]`` where the schema has no
    mapping at ``path``.
    """
    annotation = _schema_type_at(path)
    if _is_model(annotation):
        return list(annotation.model_fields)
    return None if get_origin(annotation) is dict else []


# Pydantic's error types that only say "this is not the right type", with what was wanted.
_EXPECTED = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "string_type": "a string",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
    "tuple_type": "a list",
    "none_required": "null",
}


def _expected(kinds: list[str], found: object) -> str:
    wanted = list(dict.fromkeys(_EXPECTED[kind] for kind in kinds))
    if "a number" in wanted:
        wanted = [w for w in wanted if w not in ("an integer", "a whole number")]
        wanted = ["an expression" if w == "a string" else w for w in wanted]
    if len(wanted) > 1:
        wanted = ["a boolean" if w == "true or false" else w for w in wanted]
    phrase = wanted[0] if len(wanted) == 1 else ", ".join(wanted[:-1]) + " or " + wanted[-1]
    message = f"expected {phrase}, got {describe(found)}"
    if wanted == ["a string"] and isinstance(found, bool | int | float | datetime.date):
        message += " (quote it to make it text)"
    return message


def _count(n: object, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def _human(error: Mapping[str, Any], model_path: Path) -> str:
    """One pydantic error as a sentence: what was expected, what was found."""
    kind, found = error["type"], error.get("input")
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    if kind in ("value_error", "assertion_error"):
        return re.sub(r"^(Value error|Assertion failed), ", "", str(error["msg"]))
    bounds = {
        "greater_than_equal": (">=", "ge"),
        "greater_than": (">", "gt"),
        "less_than_equal": ("<=", "le"),
        "less_than": ("<", "lt"),
    }
    if kind in bounds:
        sign, key = bounds[kind]
        return f"must be {sign} {ctx[key]}, got {describe(found)}"
    if kind == "finite_number":
        return f"expected a finite number, got {describe(found)}"
    if kind in ("too_short", "too_long"):
        least = "least" if kind == "too_short" else "most"
        limit = ctx.get("min_length" if kind == "too_short" else "max_length")
        noun = "entry" if ctx.get("field_type") == "Dictionary" else "item"
        actual = ctx.get("actual_length")
        return f"must have at {least} {_count(limit, noun)}, got {actual}"
    if kind == "string_pattern_mismatch":
        if ctx.get("pattern") == _NAME_PATTERN:
            return (
                f"{describe(found)} is not a valid name: use lower case letters, digits "
                "and underscores, starting with a letter"
            )
        return f"must match the pattern {ctx.get('pattern')!r}, got {describe(found)}"
    if kind == "string_too_long":
        return f"must be at most {_count(ctx.get('max_length'), 'character')} long"
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return f"expected {ctx.get('expected')}, got {describe(found)}" + did_you_mean(
            found, choices
        )
    if kind == "extra_forbidden":
        allowed = schema_fields_at(model_path[:-1]) or []
        hint = did_you_mean(model_path[-1], allowed)
        if not hint and allowed:
            hint = "; expected one of: " + ", ".join(allowed)
        return f"unknown key {describe(model_path[-1])}{hint}"
    if kind in _EXPECTED:
        return _expected([kind], found)
    return str(error["msg"])


def _existing_prefix(document: object, loc: Path) -> Path:
    """The longest start of ``loc`` that names a node present in ``document``."""
    node = document
    for depth, segment in enumerate(loc):
        if isinstance(node, Mapping) and isinstance(segment, str) and segment in node:
            node = node[segment]
        elif isinstance(node, list) and isinstance(segment, int) and 0 <= segment < len(node):
            node = node[segment]
        else:
            return loc[:depth]
    return loc


def problems_from_validation(
    error: ValidationError, document: Mapping[str, Any], source: SourceMap
) -> list[Problem]:
    """Translate pydantic's errors for ``document`` into positioned problems.

    The errors of the branches of a union (``int``, ``float``, ``str``...) are
    merged into one problem per place: the most specific complaint if a branch
    got the right type, else "expected a number or an expression, got ...".
    """
    items = error.errors()
    # A list whose items all failed is also "too short" (it holds no valid item):
    # the items' own problems say what is wrong.
    inside = {tuple(item["loc"])[:k] for item in items for k in range(len(item["loc"]))}
    groups: dict[tuple[Path, str, str | int], list[Mapping[str, Any]]] = {}
    for item in items:
        loc: Path = tuple(item["loc"])
        if item["type"] == "too_short" and loc in inside:
            continue
        path = _existing_prefix(document, loc)
        rest = loc[len(path) :]
        if item["type"] == "missing" and rest:
            key = (path, "missing", rest[0])
        elif "[key]" in rest:
            key = (path, "key", "")
        else:
            key = (path, "value", "")
        groups.setdefault(key, []).append(item)

    problems: list[Problem] = []
    for (path, kind, field), errors in groups.items():
        if kind == "missing":
            problems.append(source.problem(path, f"missing required field {field!r}"))
            continue
        type_errors = [e for e in errors if e["type"] in _EXPECTED]
        others = [e for e in errors if e["type"] not in _EXPECTED]
        if others:
            messages = list(dict.fromkeys(_human(e, path) for e in others))
        else:
            messages = [_expected([e["type"] for e in type_errors], type_errors[0].get("input"))]
        prefix = "invalid key: " if kind == "key" else ""
        problems.extend(source.problem(path, prefix + message) for message in messages)
    return problems
