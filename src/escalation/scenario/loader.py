"""YAML text -> plain data -> validated, frozen :class:`~escalation.scenario.schema.Scenario`.

Scenario files are data, never code: they are read with PyYAML's ``SafeLoader``,
which builds only mappings, lists, strings, numbers, booleans, nulls and dates.
On top of ``yaml.safe_load`` this module keeps the file, line and column of every
node; refuses keys written twice (PyYAML keeps the last) and keys that are not
strings; caps a document at :data:`MAX_NODES` nodes after alias expansion and a
file at :data:`MAX_FILE_BYTES` bytes ("billion laughs"); reads regular files only (a
FIFO would wait for a writer, a device may never end); merges ``extends:`` chains
and applies ``--set PATH=VALUE`` overrides.  Every problem is reported at once, in
a :class:`~escalation.scenario.errors.ScenarioError`.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from escalation.scenario.check import check_references
from escalation.scenario.errors import (
    COMMAND_LINE,
    Path,
    Position,
    Problem,
    ScenarioError,
    SourceMap,
    describe,
    did_you_mean,
    format_path,
    problem_from_yaml,
    problems_from_validation,
    schema_fields_at,
)
from escalation.scenario.schema import Scenario

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "SourceMap",
    "load_scenario",
    "load_scenario_and_sources",
    "load_scenario_text",
    "parse_override",
    "resolved_document",
    "scenario_json_schema",
]

MAX_FILE_BYTES = 5 * 1024 * 1024
"""Largest scenario file read; real scenarios are a few hundred kilobytes at most."""

MAX_NODES = 100_000
"""Most nodes a document may have once aliases are expanded."""

MAX_DEPTH = 100
"""Deepest nesting of mappings and lists accepted."""

_YAML = "tag:yaml.org,2002:"
_OVERRIDE_AT = Position(COMMAND_LINE, None, None)


def _fail(where: Position | str | None, message: str, path: Path = ()) -> ScenarioError:
    """An error with one problem, at a position or at the top of a file."""
    at = where if isinstance(where, Position) else Position(where, None, None)
    return ScenarioError([Problem(*at, format_path(path), message)])


@dataclass(frozen=True)
class _Node:
    """A node of a document and where it was written.

    ``value`` is a ``dict[str, _Node]``, a ``list[_Node]`` or a plain scalar.  The
    position of a mapping entry is that of its key, so that a problem with a
    nested mapping points at the line that opens it.
    """

    value: Any
    position: Position


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_YAML) if tag.startswith(_YAML) else tag


def _unsupported(tag: str) -> str:
    return f"unsupported tag {_short_tag(tag)}: a scenario is plain data, never code"


# PyYAML follows YAML 1.1, where a float needs a dot: 1e-3 would be the string
# "1e-3".  Scenario files are written the YAML 1.2 way, so exponent-only floats are
# numbers here (the resolver list is copied, never shared with yaml.SafeLoader).
_FLOAT_1_2 = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


class _ScenarioLoader(yaml.SafeLoader):
    """PyYAML's safe loader, building a positioned tree of plain data.

    Parsing and composing are PyYAML's; scalars are built by the safe constructor.
    Mappings and lists are built here, where duplicate and non-string keys are
    caught, every node is counted (each alias use again) and nesting is bounded.
    """

    def __init__(self, text: str, file: str | None) -> None:
        super().__init__(text)
        self.file = file
        self.problems: list[Problem] = []
        self.nodes = 0
        self.open_nodes: set[int] = set()

    def at(self, mark: yaml.Mark) -> Position:
        return Position(self.file, mark.line + 1, mark.column + 1)

    def problem(self, position: Position, path: Path, message: str) -> None:
        self.problems.append(Problem(*position, format_path(path), message))

    def build(self, node: yaml.Node, path: Path, position: Position, depth: int) -> _Node:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _fail(
                position,
                f"the document expands to more than {MAX_NODES:,} nodes once "
                "aliases are expanded; no scenario is that large",
            )
        if depth > MAX_DEPTH:
            raise _fail(position, f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, yaml.ScalarNode):
            return _Node(self.scalar(node, path), position)
        if id(node) in self.open_nodes:
            raise _fail(position, "an alias refers to a node that contains it", path)
        if node.tag not in (_YAML + "map", _YAML + "seq"):
            self.problem(position, path, _unsupported(node.tag))
            return _Node(None, position)
        self.open_nodes.add(id(node))
        value: Any
        if isinstance(node, yaml.MappingNode):
            value = self.mapping(node, path, depth)
        else:
            value = [
                self.build(child, (*path, index), self.at(child.start_mark), depth + 1)
                for index, child in enumerate(node.value)
            ]
        self.open_nodes.discard(id(node))
        return _Node(value, position)

    def scalar(self, node: yaml.ScalarNode, path: Path) -> Any:
        if node.tag not in self.yaml_constructors:
            self.problem(self.at(node.start_mark), path, _unsupported(node.tag))
            return None
        try:
            return self.construct_object(node)
        # The safe constructor lets through whatever int(), float(), indexing or a
        # lookup raise when a value does not fit its explicit tag (`!!int abc`,
        # `!!int ""`, `!!bool maybe`).
        except (
            yaml.YAMLError,
            ValueError,
            TypeError,
            KeyError,
            IndexError,
            AttributeError,
            OverflowError,
        ):
            tag = _short_tag(node.tag)
            self.problem(self.at(node.start_mark), path, f"cannot read {node.value!r} as {tag}")
            return None

    def mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> dict[str, _Node]:
        entries: dict[str, _Node] = {}
        inherited: list[dict[str, _Node]] = []
        for key_node, value_node in node.value:
            at = self.at(key_node.start_mark)
            if key_node.tag == _YAML + "merge":
                inherited.extend(self.merged(value_node, path, at, depth))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                kind = "a list" if isinstance(key_node, yaml.SequenceNode) else "a mapping"
                self.problem(at, path, f"keys must be strings, got {kind}")
                continue
            key = self.scalar(key_node, path)
            if not isinstance(key, str):
                quote = f"keys must be strings, got {describe(key)} (quote it: '{key_node.value}')"
                self.problem(at, path, quote)
            elif key in entries:
                first = entries[key].position.line
                twice = f"duplicate key {key!r}: first at line {first}, again at line {at.line}"
                self.problem(at, (*path, key), twice)
            else:
                entries[key] = self.build(value_node, (*path, key), at, depth + 1)
        for source in inherited:  # YAML merge keys: written keys win, then earlier sources
            for key, value in source.items():
                entries.setdefault(key, value)
        return entries

    def merged(
        self, node: yaml.Node, path: Path, at: Position, depth: int
    ) -> list[dict[str, _Node]]:
        """The mappings named by a YAML merge key ``<<: *defaults`` (or a list of them)."""
        found: list[dict[str, _Node]] = []
        for source in node.value if isinstance(node, yaml.SequenceNode) else [node]:
            built = self.build(source, path, at, depth)
            if isinstance(built.value, dict):
                found.append(built.value)
            else:
                self.problem(at, path, "a merge key '<<' takes a mapping or a list of mappings")
        return found


_ScenarioLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:float"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_ScenarioLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_1_2, list("-+0123456789."))


def _parse(text: str, file: str | None) -> _Node | None:
    """Text -> positioned tree; None for an empty document."""
    try:
        loader = _ScenarioLoader(text, file)
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.YAMLError as error:
        raise ScenarioError([problem_from_yaml(error, text, file)]) from None
    except RecursionError:
        raise _fail(file, f"nested more than {MAX_DEPTH} levels deep") from None
    if root is None:
        return None
    tree = loader.build(root, (), loader.at(root.start_mark), 0)
    if loader.problems:
        raise ScenarioError(loader.problems)
    return tree


def _parse_document(text: str, file: str) -> _Node:
    """Text of a scenario file -> positioned tree whose top is a mapping."""
    if len(text) > MAX_FILE_BYTES:
        raise _fail(file, _too_large())
    root = _parse(text, file)
    if root is None:
        raise _fail(file, "the file is empty: expected a scenario mapping")
    if not isinstance(root.value, dict):
        found = describe(root.value)
        raise _fail(root.position, f"expected a scenario mapping at the top level, got {found}")
    return root


def _too_large() -> str:
    return f"the file is larger than {MAX_FILE_BYTES:,} bytes; no scenario is that large"


_NOT_REGULAR = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _read(file: str) -> str:
    """The text of ``file``; OSError if it cannot be opened or is not a regular file."""
    # Opened without blocking (a FIFO would wait for a writer) and refused before a
    # byte is read if it is not a regular file (a device may never end).
    descriptor = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _NOT_REGULAR if test(mode)), "a special file")
            raise OSError(f"it is {kind}, not a regular file")
        stream = os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise
    with stream:
        raw = stream.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise _fail(file, _too_large())
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        message = f"not valid UTF-8 at byte {error.start} (line {line})"
        raise _fail(Position(file, line, None), message) from None


def _load_with_bases(
    file: str, text: str, directory: str, chain: tuple[tuple[str, str], ...]
) -> tuple[_Node, tuple[str, ...]]:
    """Parse ``text`` and merge it over the chain of files it ``extends``.

    ``chain`` holds (real path, path as shown) of the files that led here, to
    catch cycles.  Returns the merged tree and the base files read, in order.
    """
    root = _parse_document(text, file)
    extends = root.value.get("extends")
    if extends is None:
        return root, ()
    own = _Node({k: v for k, v in root.value.items() if k != "extends"}, root.position)
    if not isinstance(extends.value, str) or not extends.value.strip():
        message = f"expected the path of a scenario file, got {describe(extends.value)}"
        raise _fail(extends.position, message, ("extends",))
    base = os.path.normpath(os.path.join(directory, extends.value))
    identity = os.path.realpath(base)
    if any(identity == seen for seen, _ in chain):
        cycle = " -> ".join([*(shown for _, shown in chain), base])
        raise _fail(extends.position, f"extends cycle: {cycle}", ("extends",))
    try:
        base_text = _read(base)
    except OSError as error:
        message = f"cannot read {extends.value!r} ({base}): {error.strerror or error}"
        raise _fail(extends.position, message, ("extends",)) from None
    chain = (*chain, (identity, base))
    base_root, further = _load_with_bases(base, base_text, os.path.dirname(base), chain)
    problems: list[Problem] = []
    merged = _merge(base_root, own, (), problems)
    if problems:
        raise ScenarioError(problems)
    return merged, (base, *further)


def _item_id(node: _Node) -> str | None:
    if isinstance(node.value, dict) and "id" in node.value:
        ident = node.value["id"].value
        return ident if isinstance(ident, str) else None
    return None


def _merge(base: _Node, over: _Node, path: Path, problems: list[Problem]) -> _Node:
    """Deep-merge ``over`` (the extending file) onto ``base``; ``over`` wins.

    Mappings merge key by key.  Two non-empty lists whose items are all mappings
    with an ``id`` merge item by item: the same id deep-merges, a new id is
    appended, ``{id: x, remove: true}`` deletes ``x``.  Anything else, an empty
    list included, replaces the base value whole.
    """
    if isinstance(base.value, dict) and isinstance(over.value, dict):
        entries = dict(base.value)
        for key, node in over.value.items():
            below = entries.get(key)
            entries[key] = node if below is None else _merge(below, node, (*path, key), problems)
        return _Node(entries, over.position)
    lists = isinstance(base.value, list) and isinstance(over.value, list)
    if lists and base.value and over.value and None not in map(_item_id, base.value + over.value):
        return _Node(_merge_by_id(base.value, over.value, path, problems), over.position)
    return over


def _merge_by_id(
    base: list[_Node], over: list[_Node], path: Path, problems: list[Problem]
) -> list[_Node]:
    items: list[_Node | None] = list(base)
    where: dict[str | None, int] = {}
    for index, item in enumerate(base):
        where.setdefault(_item_id(item), index)
    for offset, item in enumerate(over):
        ident = _item_id(item)
        remove: _Node | None = item.value.get("remove")
        if remove is not None:
            if remove.value is not True or set(item.value) != {"id", "remove"}:
                message = "an item that removes takes only 'id' and 'remove: true'"
                problems.append(Problem(*remove.position, format_path((*path, offset)), message))
            elif ident not in where or items[where[ident]] is None:
                hint = did_you_mean(ident, [i for i in where if isinstance(i, str)])
                message = f"cannot remove id {ident!r}: the base has no such item{hint}"
                problems.append(Problem(*item.position, format_path((*path, offset)), message))
            else:
                items[where[ident]] = None
            continue
        at = where.get(ident)
        existing = items[at] if at is not None else None
        if at is not None and existing is not None:
            items[at] = _merge(existing, item, (*path, at), problems)
        else:
            where[ident] = len(items)
            items.append(item)
    return [item for item in items if item is not None]


def _override_error(text: str, message: str) -> ScenarioError:
    return _fail(_OVERRIDE_AT, f"--set {text}: {message}")


def _restamp(node: _Node) -> _Node:
    """The same tree, every node placed on the command line."""
    if isinstance(node.value, dict):
        return _Node({k: _restamp(v) for k, v in node.value.items()}, _OVERRIDE_AT)
    if isinstance(node.value, list):
        return _Node([_restamp(item) for item in node.value], _OVERRIDE_AT)
    return _Node(node.value, _OVERRIDE_AT)


def _parse_override(text: str) -> tuple[Path, _Node]:
    if "=" not in text:
        raise _override_error(text, "expected PATH=VALUE, e.g. actors.a.policy.answer.do=attack")
    path_text, _, value_text = text.partition("=")
    segments = [segment.strip() for segment in path_text.split(".")]
    if not all(segments):
        raise _override_error(text, f"the path {path_text.strip()!r} has an empty part")
    path = tuple(int(s) if re.fullmatch(r"[0-9]+", s) else s for s in segments)
    try:
        value = _parse(value_text, COMMAND_LINE)
    except ScenarioError as error:
        raise ScenarioError(
            [Problem(*_OVERRIDE_AT, "", f"--set {text}: {p.message}") for p in error.problems]
        ) from None
    return path, _restamp(value) if value is not None else _Node(None, _OVERRIDE_AT)


def parse_override(text: str) -> tuple[Path, object]:
    """Split a ``--set`` override into its path and its value.

    Parameters
    ----------
    text : str
        ``PATH=VALUE``, e.g. ``actors.pakistan.policy.retaliate.probability=0.3``.
        Parts of the path are separated by dots; a part made of digits is a list
        index, any other part a mapping key or the ``id`` of an item of a list.
        The value is YAML: ``true``, ``3``, ``0.5``, ``[1, 2]``; empty is null.

    Returns
    -------
    path : tuple of str and int
    value : object
        Plain data: a scalar, a list or a dict.

    Raises
    ------
    ScenarioError
        If there is no ``=``, the path has an empty part, or the value is not YAML.

    Examples
    --------
    >>> parse_override("actors.a.policy.0.probability=0.3")
    (('actors', 'a', 'policy', 0, 'probability'), 0.3)
    """
    path, value = _parse_override(text)
    return path, _plain(value, (), {})


def _new_child(key: str, rest: Path, done: Path, present: list[str], text: str) -> _Node:
    """A placeholder for a key the file omits, if the schema allows the key there."""
    fields = schema_fields_at(done)
    if key in (fields or []) or (fields is None and not rest):
        if not rest:
            return _Node(None, _OVERRIDE_AT)
        if schema_fields_at((*done, key)) != []:
            return _Node({}, _OVERRIDE_AT)
        whole = ".".join(str(part) for part in (*done, key))
        raise _override_error(text, f"{whole} is not in the file: set it whole, --set {whole}=...")
    here = format_path(done) or "the top level"
    hint = did_you_mean(key, [*present, *(fields or [])])
    raise _override_error(text, f"no key {key!r} at {here}{hint}")


def _set(node: _Node, path: Path, value: _Node, done: Path, text: str) -> _Node:
    """A copy of ``node`` with ``value`` at ``path`` (``done`` is the path walked so far)."""
    if not path:
        return value
    segment, rest = path[0], path[1:]
    here = format_path(done) or "the top level"
    if isinstance(node.value, dict):
        key = str(segment)
        child = node.value.get(key) or _new_child(key, rest, done, list(node.value), text)
        entries = {**node.value, key: _set(child, rest, value, (*done, key), text)}
        return _Node(entries, node.position)
    if not isinstance(node.value, list):
        raise _override_error(text, f"{here} is {describe(node.value)}, not a mapping or a list")
    ids = [_item_id(item) for item in node.value]
    if isinstance(segment, int) and segment >= len(node.value):
        count = f"{len(node.value)} item" + ("" if len(node.value) == 1 else "s")
        raise _override_error(text, f"index {segment} is out of range at {here} ({count})")
    if isinstance(segment, str) and segment not in ids:
        hint = did_you_mean(segment, [ident for ident in ids if ident is not None])
        raise _override_error(text, f"no item with id {segment!r} at {here}{hint}")
    index = segment if isinstance(segment, int) else ids.index(segment)
    items = list(node.value)
    items[index] = _set(items[index], rest, value, (*done, index), text)
    return _Node(items, node.position)


def _apply_overrides(root: _Node, overrides: Sequence[str]) -> _Node:
    problems: list[Problem] = []
    for text in overrides:
        try:
            path, value = _parse_override(text)
            root = _set(root, path, value, (), text)
        except ScenarioError as error:
            problems.extend(error.problems)
    if problems:
        raise ScenarioError(problems)
    return root


def _plain(node: _Node, path: Path, positions: dict[Path, Position]) -> Any:
    """The tree as plain data, recording every node's position in ``positions``."""
    positions[path] = node.position
    if isinstance(node.value, dict):
        return {k: _plain(v, (*path, k), positions) for k, v in node.value.items()}
    if isinstance(node.value, list):
        return [_plain(item, (*path, i), positions) for i, item in enumerate(node.value)]
    return node.value


def _finish(
    root: _Node, files: tuple[str, ...], overrides: Sequence[str]
) -> tuple[dict[str, Any], SourceMap]:
    positions: dict[Path, Position] = {}
    document = _plain(_apply_overrides(root, overrides), (), positions)
    return document, SourceMap(positions, files)


def resolved_document(
    path: str | os.PathLike[str], overrides: Sequence[str] = ()
) -> tuple[dict[str, Any], SourceMap]:
    """The merged plain data of a scenario file, before validation (for the manifest).

    Parameters
    ----------
    path : str or os.PathLike
        The scenario file.
    overrides : sequence of str
        ``--set`` overrides, applied in order after ``extends``.

    Returns
    -------
    document : dict
        Plain data: the file merged over what it ``extends`` (the ``extends`` key
        removed), with the overrides applied.
    source : SourceMap
        The position of every node of ``document``; ``source.files`` lists every
        file read, the scenario first, then its bases down the chain.

    Raises
    ------
    ScenarioError
        If a file cannot be read or is not a well-formed scenario mapping, or an
        override does not apply.
    """
    file = os.fspath(path)
    try:
        text = _read(file)
    except OSError as error:
        raise _fail(file, f"cannot read the file: {error.strerror or error}") from None
    chain = ((os.path.realpath(file), file),)
    root, bases = _load_with_bases(file, text, os.path.dirname(file), chain)
    return _finish(root, (file, *bases), overrides)


def _validate(document: dict[str, Any], source: SourceMap) -> Scenario:
    try:
        scenario = Scenario.model_validate(document)
    except ValidationError as error:
        raise ScenarioError(problems_from_validation(error, document, source)) from None
    references = check_references(scenario)
    if references:
        raise ScenarioError(source.problem(tuple(path), message) for path, message in references)
    return scenario


def load_scenario(path: str | os.PathLike[str], overrides: Sequence[str] = ()) -> Scenario:
    """Read, merge, override and validate a scenario file.

    Parameters
    ----------
    path : str or os.PathLike
        The scenario file (YAML, UTF-8); an ``extends:`` path in it is relative
        to the file.
    overrides : sequence of str
        ``--set`` overrides such as ``"actors.a.policy.answer.probability=0.3"``
        (see :func:`parse_override`), validated like the file, with
        ``"<command line>"`` as their file.

    Returns
    -------
    Scenario
        The validated, frozen scenario.

    Raises
    ------
    ScenarioError
        With every problem found: YAML syntax, duplicate keys, unknown keys,
        wrong types and ranges, then (once those pass) cross references.
    """
    return load_scenario_and_sources(path, overrides)[0]


def load_scenario_and_sources(
    path: str | os.PathLike[str], overrides: Sequence[str] = ()
) -> tuple[Scenario, SourceMap]:
    """:func:`load_scenario`, and where the scenario came from (from one reading of
    its files): ``source.files`` lists every file read, the scenario first, then its
    bases down the chain."""
    document, source = resolved_document(path, overrides)
    return _validate(document, source), source


def load_scenario_text(
    text: str, name: str = "<string>", overrides: Sequence[str] = ()
) -> Scenario:
    """Validate a scenario given as text, for tests and notebooks.

    Parameters
    ----------
    text : str
        The YAML text; an ``extends:`` path in it is relative to the current
        working directory.
    name : str
        The file name that problems give.
    overrides : sequence of str
        As for :func:`load_scenario`.

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        As for :func:`load_scenario`.
    """
    root, bases = _load_with_bases(name, text, "", ())
    return _validate(*_finish(root, bases, overrides))


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files, for editors; ``escalation schema`` prints it.

    Returns
    -------
    dict
        :meth:`Scenario.model_json_schema` with ``$schema``, a title, the forms the
        loader reads besides the model's own (a delay of one number of days), and
        the ``extends`` key.  A file that extends another is merged over it before
        validation, so it may give any part of a scenario: with ``extends``, no
        field is required at any depth, and an item of a list of items with ids
        may be ``{id: x, remove: true}``.  Unknown keys are refused either way.
    """
    full = Scenario.model_json_schema()
    definitions: dict[str, Any] = full.pop("$defs", {})
    for definition in definitions.values():
        delay = definition.get("properties", {}).get("delay")
        if delay is not None:
            definition["properties"]["delay"] = {
                "anyOf": [
                    {"type": "integer", "minimum": 0, "description": "A fixed delay in days."},
                    {k: v for k, v in delay.items() if k not in ("default", "description")},
                ],
                **{k: v for k, v in delay.items() if k in ("default", "description")},
            }
    partial = {f"Partial{name}": _partial(d) for name, d in definitions.items()}
    root = _partial(full)
    extends = {"type": "string", "description": "A scenario file this one is merged over."}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **root,
        "title": "escalation scenario",
        "properties": {"extends": extends, **root.get("properties", {})},
        "if": {"required": ["extends"]},
        "else": {"$ref": "#/$defs/Scenario"},
        "$defs": {**definitions, **partial, "Scenario": full},
    }


def _partial(node: Any) -> Any:
    """A schema with no required field at any depth (its definitions' partial
    copies referred to), and ``remove`` allowed beside an ``id``: the parts of a
    scenario that a file extending another may give."""
    if isinstance(node, list):
        return [_partial(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "required":
            continue
        if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
            out[key] = "#/$defs/Partial" + value.removeprefix("#/$defs/")
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: _partial(schema) for name, schema in value.items()}
            if "id" in value:
                out[key]["remove"] = {
                    "type": "boolean",
                    "description": "With extends: delete the base file's item of this id.",
                }
        else:
            out[key] = _partial(value)
    return out
