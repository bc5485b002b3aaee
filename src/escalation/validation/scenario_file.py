"""A calibrated scenario: a file that ``extends`` the original and sets the parameters found."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import yaml

from escalation.errors import ResultsExistError
from escalation.files import as_if_created, check_file
from escalation.scenario.errors import ScenarioError
from escalation.scenario.loader import load_scenario, resolved_document
from escalation.scenario.schema import Scenario
from escalation.validation.calibrate import Calibration
from escalation.validation.report import number

__all__ = ["calibrated_scenario_text", "write_calibrated_scenario"]

_MAX_NAME = 64


def calibrated_scenario_text(
    calibration: Calibration,
    scenario_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    targets_path: str | os.PathLike[str] | None = None,
) -> str:
    """The YAML of a scenario that extends ``scenario_path`` with the posterior medians.

    Each calibrated parameter keeps its domain, unit and description from the
    original; its ``value`` becomes the weighted posterior median and its
    ``source`` says so, with the 90% interval.  ``extends`` is relative to ``out``.
    """
    scenario: Scenario = calibration.scenario
    intervals = calibration.intervals()
    priors = {f.name: (f.low, f.high) for f in calibration.factors}
    medians = calibration.medians()
    extends = os.path.relpath(
        os.path.abspath(scenario_path), os.path.dirname(os.path.abspath(out)) or "."
    )
    against = f"targets {calibration.targets.name}"
    if targets_path is not None:
        against += f" ({Path(targets_path).name})"
    provenance = (
        f"escalation calibrate against {against}, seed {calibration.seed}, "
        f"{len(calibration.particles)} particles"
    )
    document: dict[str, object] = {
        "extends": extends.replace(os.sep, "/"),
        "name": f"{scenario.name}_calibrated"[:_MAX_NAME],
        "title": f"{scenario.title or scenario.name}, calibrated".strip(),
        "description": (
            f"{scenario.name} with {len(medians)} parameters set to the medians of the "
            f"parameter values accepted by {provenance}.  90% intervals: "
            + "; ".join(
                f"{name} {number(intervals[name][1])} "
                f"[{number(intervals[name][0])}, {number(intervals[name][2])}]"
                for name in medians
            )
            + "."
        ),
    }
    top: dict[str, object] = {}
    actors: dict[str, dict[str, dict[str, object]]] = {}
    for name, value in medians.items():
        low, _, high = intervals[name]
        entry = {
            "value": int(value) if _is_integer(scenario, name) else float(value),
            "source": (
                f"calibrated: median of the accepted values, 90% interval "
                f"[{number(low)}, {number(high)}] over the prior "
                f"[{number(priors[name][0])}, {number(priors[name][1])}] ({provenance})"
            ),
        }
        actor, dot, short = name.partition(".")
        if dot:
            actors.setdefault(actor, {}).setdefault("parameters", {})[short] = entry
        else:
            top[name] = entry
    if top:
        document["parameters"] = top
    if actors:
        document["actors"] = actors
    header = (
        f"# Calibrated {scenario.name}: written by {provenance}.\n"
        "# Only the calibrated parameters are set here; everything else is the original's.\n"
    )
    return header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=88)


def _is_integer(scenario: Scenario, name: str) -> bool:
    actor, dot, short = name.partition(".")
    parameter = scenario.actors[actor].parameters[short] if dot else scenario.parameters[name]
    return parameter.integer


def check_scenario_target(
    out: str | os.PathLike[str],
    force: bool,
    inputs: Sequence[str | os.PathLike[str] | None],
) -> Path:
    """Refuse, before any work, a calibrated scenario's path that may not be written:
    one of the command's inputs (the scenario, a file it extends, the targets), a
    folder, an existing file without ``force``, a place that cannot be written."""
    target = Path(out)
    read: list[str | os.PathLike[str]] = []
    for given in inputs:
        if given is None:
            continue
        read.append(given)
        if Path(given).suffix.lower() in (".yaml", ".yml"):
            try:
                _, sources = resolved_document(given)
            except ScenarioError:
                continue
            read.extend(sources.files)
    if target.exists() and any(
        os.path.samefile(target, path) for path in read if Path(path).exists()
    ):
        raise ResultsExistError(
            f"--write-scenario {target}: is one of the command's inputs; choose another file"
        )
    return check_file(target, force, "--write-scenario")


def write_calibrated_scenario(
    calibration: Calibration,
    scenario_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    targets_path: str | os.PathLike[str] | None = None,
    force: bool = False,
) -> Scenario:
    """Write the calibrated scenario to ``out`` after checking that it loads.

    The file is written beside ``out`` under a temporary name, loaded (so that its
    ``extends`` resolves from where it will live) and renamed into place: a file
    that does not load is never left behind, and an existing ``out`` is replaced
    only with ``force``.
    """
    target = check_scenario_target(out, force, (scenario_path, targets_path))
    text = calibrated_scenario_text(calibration, scenario_path, target, targets_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.stem}.", suffix=".yaml", dir=target.parent
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        scenario = load_scenario(temporary)
        as_if_created(temporary)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return scenario
