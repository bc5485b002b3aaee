"""Experiment files: a scenario, the parameters to vary, the design, runs and seed.

An experiment file is YAML, read as strictly as a scenario file (same loader:
positions, duplicate keys, unknown keys with "did you mean")::

    name: open_war_drivers
    scenario: ../scenarios/pakistan_afghanistan_2025.yaml
    set: [parameters.talks_rate.value=0.05]   # overrides applied to the scenario
    factors:
      strike_threshold: {low: 5, high: 20}      # Pakistan's retaliation threshold
      hardliner_share0: {low: 0.2, high: 0.9, distribution: normal, mean: 0.65, sd: 0.1}
      mediation_eagerness: {values: [0.1, 0.3, 0.5, 0.7, 0.9]}
    design: {kind: sobol, samples: 256}  # grid | lhs | monte_carlo | sobol | morris | table
    runs: 1000                           # replicates per point
    horizon_days: 365
    seed: 20251012

Paths (``scenario``, a table's ``file``) are relative to the experiment file.
The same experiment can be given on the command line (``escalation sweep
SCENARIO --vary ...``); both become a :class:`SweepSpec`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    field_validator,
)

from escalation.experiments.design import (
    DesignError,
    DesignFactor,
    DesignSpec,
    check_design,
    read_table,
)
from escalation.experiments.factors import FactorError, factor_from_spec
from escalation.scenario.errors import (
    COMMAND_LINE,
    Path,
    Problem,
    ScenarioError,
    SourceMap,
    did_you_mean,
    format_path,
    problems_from_validation,
)
from escalation.scenario.loader import load_scenario, resolved_document
from escalation.scenario.schema import Name, Number, Scenario

__all__ = [
    "DesignEntry",
    "Experiment",
    "ExperimentError",
    "FactorEntry",
    "SweepSpec",
    "command_line_experiment",
    "is_experiment_file",
    "load_experiment",
    "sweep_spec",
]


class ExperimentError(ScenarioError):
    """An experiment that cannot be run, with every problem found (file, line, path)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FactorEntry(_Frozen):
    """How one parameter varies: a range (``low``, ``high``, optional ``levels``) or ``values``."""

    low: Number | None = None
    high: Number | None = None
    levels: StrictInt | None = Field(
        default=None, ge=2, description="Grid levels across the range."
    )
    values: tuple[Number, ...] | None = Field(default=None, min_length=1)
    distribution: Literal["uniform", "loguniform", "triangular", "normal"] = "uniform"
    mode: Number | None = None
    mean: Number | None = None
    sd: Number | None = Field(default=None, gt=0)


class DesignEntry(_Frozen):
    """Which points to run (see :class:`escalation.experiments.design.DesignSpec`)."""

    kind: Literal["grid", "lhs", "monte_carlo", "sobol", "morris", "table"]
    points: StrictInt | None = Field(default=None, ge=1, description="lhs, monte_carlo: points.")
    samples: StrictInt | None = Field(
        default=None, ge=1, description="sobol: base size, a power of 2."
    )
    second_order: StrictBool = False
    trajectories: StrictInt | None = Field(default=None, ge=2, description="morris: trajectories.")
    levels: StrictInt | None = Field(default=None, ge=2, description="morris: grid levels (even).")
    file: str | None = Field(default=None, description="table: a CSV file of points.")


class Experiment(_Frozen):
    """An experiment file, validated (paths not yet resolved)."""

    name: Name | None = None
    description: str = ""
    scenario: str = Field(min_length=1, description="The scenario file, relative to this one.")
    overrides: tuple[str, ...] = Field(default=(), alias="set")
    factors: dict[str, FactorEntry] = Field(default_factory=dict)
    design: DesignEntry
    runs: StrictInt | None = Field(default=None, ge=1, description="Replicates per point.")
    horizon_days: StrictInt | None = Field(default=None, ge=1)
    seed: StrictInt | None = Field(default=None, ge=0)

    @field_validator("design", mode="before")
    @classmethod
    def _design_by_name(cls, value: object) -> object:
        return {"kind": value} if isinstance(value, str) else value


_FIELDS: dict[Path, list[str]] = {
    (): [f.alias or name for name, f in Experiment.model_fields.items()],
    ("design",): list(DesignEntry.model_fields),
}
_FACTOR_FIELDS = list(FactorEntry.model_fields)


@dataclass(frozen=True, eq=False)
class SweepSpec:
    """An experiment resolved against its scenario: everything a sweep needs.

    Attributes
    ----------
    name
        Names the default results folder.
    scenario
        The scenario, with its overrides applied.
    factors
        The parameters varied, in the order of the points' columns.
    design
        The design's kind and sizes.
    runs, horizon_days
        Replicates per point and days per run.
    seed
        The root seed given (experiment, then scenario); None: drawn when the
        sweep starts, or taken from the folder it resumes.
    table
        The points of a ``table`` design.
    experiment
        The experiment as given, as plain data (for the manifest).
    input_files
        Every file read: experiment, scenario and its bases, table.
    """

    name: str
    scenario: Scenario
    factors: tuple[DesignFactor, ...]
    design: DesignSpec
    runs: int
    horizon_days: int
    seed: int | None
    table: pd.DataFrame | None = None
    experiment: dict[str, Any] = field(default_factory=dict)
    input_files: tuple[str, ...] = ()

    def identity(self) -> dict[str, Any]:
        """What a sweep resumed in the same folder must share (not paths, not the seed)."""
        design = {k: v for k, v in self.design.to_dict().items() if k != "table"}
        if self.table is not None:
            design["table_sha256"] = hashlib.sha256(
                self.table.to_csv(index=False).encode()
            ).hexdigest()
        return {
            "scenario": self.scenario.model_dump(mode="json"),
            "factors": [f.to_dict() for f in self.factors],
            "design": design,
            "runs": self.runs,
            "horizon_days": self.horizon_days,
        }

    def digest(self) -> str:
        """A short hash of :meth:`identity` and the seed given (names default folders)."""
        text = json.dumps([self.identity(), self.seed], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:8]


def _unknown_keys(document: Mapping[str, Any], source: SourceMap) -> list[Problem]:
    """Keys the schema does not know, with the name probably meant."""
    problems = []
    places: list[tuple[Path, object, list[str]]] = [((), document, _FIELDS[()])]
    design = document.get("design")
    if isinstance(design, Mapping):
        places.append((("design",), design, _FIELDS[("design",)]))
    factors = document.get("factors")
    if isinstance(factors, Mapping):
        places += [(("factors", k), v, _FACTOR_FIELDS) for k, v in factors.items()]
    for path, node, allowed in places:
        if not isinstance(node, Mapping):
            continue
        for key in node:
            if key not in allowed:
                hint = did_you_mean(key, allowed) or "; expected one of: " + ", ".join(allowed)
                problems.append(source.problem((*path, key), f"unknown key {key!r}{hint}"))
    return problems


def load_experiment(path: str | os.PathLike[str]) -> tuple[Experiment, SourceMap]:
    """Read and validate an experiment file (not yet against its scenario).

    Returns
    -------
    experiment : Experiment
    source : SourceMap
        Where each node was written, for later problems.

    Raises
    ------
    ExperimentError
        Every problem found, with file, line, column and YAML path.
    """
    try:
        document, source = resolved_document(path)
    except ScenarioError as error:
        problems = [
            Problem(
                p.file, p.line, p.column, p.path, p.message.replace("a scenario", "an experiment")
            )
            for p in error.problems
        ]
        raise ExperimentError(problems) from None
    problems = _unknown_keys(document, source)
    if problems:
        raise ExperimentError(problems)
    try:
        experiment = Experiment.model_validate(document)
    except ValidationError as error:
        raise ExperimentError(problems_from_validation(error, document, source)) from None
    return experiment, source


def is_experiment_file(path: str | os.PathLike[str]) -> bool:
    """Whether a YAML file is an experiment (it names a ``scenario``) rather than a scenario."""
    try:
        document, _ = resolved_document(path)
    except ScenarioError:
        return False
    return isinstance(document.get("scenario"), str)


Locate = Callable[[Path, str], Problem]


def _relative(base: str | None, target: str) -> str:
    if base is None or os.path.isabs(target):
        return target
    return os.path.normpath(os.path.join(os.path.dirname(base), target))


def sweep_spec(
    experiment: Experiment,
    *,
    file: str | None = None,
    source: SourceMap | None = None,
    flags: Mapping[str, str] | None = None,
    runs: int | None = None,
    horizon_days: int | None = None,
    seed: int | None = None,
) -> SweepSpec:
    """Resolve an experiment against its scenario, checking factors and design.

    Parameters
    ----------
    experiment
        From :func:`load_experiment`, or built from command-line flags.
    file, source
        The experiment file and its source map, to place problems (and resolve
        relative paths); None for an experiment from the command line.
    flags
        For an experiment from the command line: the flag that set each field
        (``{"design.samples": "--samples"}``), named in problems.
    runs, horizon_days, seed
        Command-line values replacing the experiment's.

    Raises
    ------
    ScenarioError
        The scenario does not load.
    ExperimentError
        A factor names no parameter or leaves its domain, an empty range, a
        design setting wrong for its kind, a Sobol size not a power of two...
    """
    flags = flags or {}

    def locate(path: Path, message: str) -> Problem:
        if source is not None:
            return source.problem(path, message)
        if path[:1] == ("factors",):
            where = "--vary" + (f" {path[1]}" if len(path) > 1 else "")
        else:
            where = flags.get(format_path(path), format_path(path))
        return Problem(COMMAND_LINE, None, None, where, message)

    scenario_file = _relative(file, experiment.scenario)
    scenario = load_scenario(scenario_file, experiment.overrides)
    _, scenario_source = resolved_document(scenario_file, experiment.overrides)
    problems: list[Problem] = []
    factors = _factors(experiment, scenario, locate, problems)
    entry = experiment.design
    table_file = None if entry.file is None else _relative(file, entry.file)
    design = DesignSpec(
        kind=entry.kind,
        points=entry.points,
        samples=entry.samples,
        second_order=entry.second_order,
        trajectories=entry.trajectories,
        levels=entry.levels,
        table=table_file,
    )
    table = None
    if entry.kind == "table" and table_file is not None and not problems:
        if experiment.factors:
            problems.append(
                locate(
                    ("factors",),
                    "a table design takes its factors from the table's columns; remove 'factors'",
                )
            )
        try:
            table_factors, table = read_table(table_file, scenario)
            factors = list(table_factors)
        except DesignError as error:
            problems.append(locate(("design", "file"), str(error)))
    if not problems:
        try:
            check_design(factors, design)
        except DesignError as error:
            place: Path = ("design", "file" if error.field == "table" else error.field)
            if error.field == "factors":
                place = ("factors",)
            problems.append(locate(place, str(error)))
    if problems:
        raise ExperimentError(problems)
    inputs = ([file] if file else []) + list(scenario_source.files)
    return SweepSpec(
        name=experiment.name
        or (os.path.splitext(os.path.basename(file))[0] if file else scenario.name),
        scenario=scenario,
        factors=tuple(factors),
        design=design,
        runs=_first(runs, experiment.runs, scenario.runs),
        horizon_days=_first(horizon_days, experiment.horizon_days, scenario.horizon_days),
        seed=next((s for s in (seed, experiment.seed, scenario.seed) if s is not None), None),
        table=table,
        experiment={"file": file, **experiment.model_dump(mode="json", by_alias=True)},
        input_files=tuple(inputs + ([table_file] if table_file else [])),
    )


def _first(*values: int | None) -> int:
    """The first value given (the last one, the scenario's, always is)."""
    found = next(value for value in values if value is not None)
    assert found is not None
    return found


def _factors(
    experiment: Experiment, scenario: Scenario, locate: Locate, problems: list[Problem]
) -> list[DesignFactor]:
    factors = []
    for name, entry in experiment.factors.items():
        if entry.values is not None and (
            entry.low is not None or entry.high is not None or entry.levels is not None
        ):
            message = "give either values, or low and high (and optionally levels)"
            problems.append(locate(("factors", name), message))
            continue
        try:
            factor = factor_from_spec(
                scenario,
                name,
                low=entry.low,
                high=entry.high,
                levels=entry.levels,
                values=None if entry.values is None else list(entry.values),
            )
            factors.append(
                DesignFactor(
                    factor,
                    entry.distribution,
                    None if entry.mode is None else float(entry.mode),
                    None if entry.mean is None else float(entry.mean),
                    None if entry.sd is None else float(entry.sd),
                )
            )
        except DesignError as error:
            problems.append(locate(("factors", name, error.field), str(error)))
        except FactorError as error:
            problems.append(locate(("factors", name), str(error)))
    return factors


def command_line_experiment(
    scenario: str,
    factors: Sequence[DesignFactor],
    design: DesignSpec,
    *,
    overrides: Sequence[str] = (),
) -> Experiment:
    """An :class:`Experiment` for factors and a design given as command-line flags."""
    entries = {}
    for item in factors:
        factor = item.factor
        if factor.values is not None:
            entries[factor.name] = FactorEntry(values=factor.values)
        else:
            entries[factor.name] = FactorEntry(
                low=factor.low, high=factor.high, levels=factor.levels
            )
    return Experiment.model_validate(
        {
            "scenario": scenario,
            "set": list(overrides),
            "factors": {k: v.model_dump(exclude_defaults=True) for k, v in entries.items()},
            "design": {
                "kind": design.kind,
                **{
                    key: value
                    for key, value in design.to_dict().items()
                    if key not in ("kind", "table") and value is not None and value is not False
                },
                **({"file": design.table} if design.table is not None else {}),
            },
        }
    )
