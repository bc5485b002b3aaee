"""The overrides of an experiment file (its ``set`` list), and the problems they cause.

The scenario loader places an override at ``<command line>``, where ``--set``
gives it.  From an experiment file, a problem an override causes belongs at the
line of its ``set`` entry: these functions put it there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from escalation.scenario.errors import (
    COMMAND_LINE,
    Path,
    Problem,
    ScenarioError,
    SourceMap,
    format_path,
)
from escalation.scenario.loader import load_scenario, parse_override, resolved_document

__all__ = ["overridden_scenario_problems", "place_at_overrides"]


def overridden_scenario_problems(
    problems: Sequence[Problem], scenario_file: str, overrides: Sequence[str], source: SourceMap
) -> list[Problem]:
    """The problems of a scenario loaded with an experiment's overrides, placed.

    Those the overrides cause go to their ``set`` entries of the experiment file
    (``source``); those of a scenario wrong in itself stay in the scenario.
    """
    document: Mapping[str, Any] | None = None
    caused = False  # True: the scenario is sound without the overrides
    try:
        document, _ = resolved_document(scenario_file)
        load_scenario(scenario_file)
        caused = True
    except ScenarioError:
        pass
    return place_at_overrides(problems, overrides, source, caused=caused, document=document)


def _related(path: str, other: str) -> bool:
    """Whether one YAML path is the other or inside it."""
    short, long = sorted((path, other), key=len)
    return bool(short) and (long == short or long.startswith((short + ".", short + "[")))


def _by_index(path: Path, document: object) -> Path:
    """An override's path with the list items it names by id named by index, as in problems."""
    found: list[str | int] = []
    node = document
    for segment in path:
        if isinstance(node, list) and isinstance(segment, str):
            ids = [item.get("id") if isinstance(item, Mapping) else None for item in node]
            segment = ids.index(segment) if segment in ids else segment
        found.append(segment)
        if isinstance(node, Mapping):
            node = node.get(segment)
        elif isinstance(node, list) and isinstance(segment, int) and segment < len(node):
            node = node[segment]
        else:
            node = None
    return tuple(found)


def place_at_overrides(
    problems: Sequence[Problem],
    overrides: Sequence[str],
    source: SourceMap | None,
    *,
    caused: bool = False,
    document: Mapping[str, Any] | None = None,
) -> list[Problem]:
    """Place the problems an experiment file's overrides cause at their ``set`` entries.

    A problem at ``<command line>`` is an override's, and so is one placed in the
    scenario about a value an override gave below it, or any problem if ``caused``
    (the scenario is sound without the overrides); the others stay where they are.
    An override's problem goes to the entry whose path it concerns (the last such:
    a later override wins), else to the ``set`` list.  ``document``, the scenario
    before the overrides, tells which list item an override names by its id.
    Without ``source`` (an experiment from the command line, whose overrides are
    ``--set`` flags), the problems are returned as they are.
    """
    if source is None or not overrides:
        return list(problems)
    paths = []
    for text in overrides:
        try:
            paths.append(format_path(_by_index(parse_override(text)[0], document)))
        except ScenarioError:
            paths.append("")
    placed = []
    for problem in problems:
        prefixed = [
            i for i, text in enumerate(overrides) if problem.message.startswith(f"--set {text}: ")
        ]
        if prefixed:
            index: int | None = prefixed[0]
            text = overrides[prefixed[0]]
            detail = problem.message.removeprefix(f"--set {text}: ")
        elif problem.file == COMMAND_LINE or caused or problem.set_below:
            related = [i for i, path in enumerate(paths) if _related(problem.path, path)]
            index = related[-1] if related else (0 if len(overrides) == 1 else None)
            # The entry's line says that an override gave the value (set_below dropped).
            detail = ": ".join(part for part in (problem.path, problem.message) if part)
            if problem.file not in (None, COMMAND_LINE):
                at = (problem.file, problem.line, problem.column)
                detail += f" (at {':'.join(str(part) for part in at if part is not None)})"
        else:
            placed.append(problem)
            continue
        if index is None:
            placed.append(source.problem(("set",), f"an override gives {detail}"))
        else:
            placed.append(source.problem(("set", index), f"{overrides[index]}: {detail}"))
    return placed
