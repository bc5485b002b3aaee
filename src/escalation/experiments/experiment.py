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
from escalation.experiments.overrides import overridden_scenario_problems, place_at_overrides
from escalation.kinds import MAX_HORIZON_DAYS
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
from escalation.scenario.loader import load_scenario_and_sources, resolved_document
from escalation.scenario.schema import Name, Number, Scenario

__all__ = [
    "MAX_RUNS_PER_POINT",
    "MAX_SWEEP_RUNS",
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


MAX_RUNS_PER_POINT = 10_000_000
"""The most runs a sweep gives one point.

A point's runs are held in memory until the point is written (about 130 bytes a
run for a duel of two actors, several times that for a larger scenario): ten
million runs take gigabytes.  Many more runs of one setting are for ``escalation
run``, which streams them to disk.
"""

MAX_SWEEP_RUNS = 10_000_000_000
"""The most runs a sweep makes in all (points times runs per point).

Ten billion runs are hundreds of gigabytes of ``runs.parquet`` and days of
computing on a large machine; a sweep asking for more is refused before it starts.
"""


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
    horizon_days: StrictInt | None = Field(default=None, ge=1, le=MAX_HORIZON_DAYS)
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
    """Whether a YAML file is an experiment rather than a scenario: it has a ``scenario`` key.

    A scenario has no such key, so a file with one is an experiment whatever the
    key's value (a wrong value is the experiment's problem, told by
    :func:`load_experiment`).

    Raises
    ------
    ScenarioError
        The file is not a YAML mapping that can be read (a syntax error, a
        duplicate key, a missing file...): it is neither, and the problem says why.
    """
    document, _ = resolved_document(path)
    return "scenario" in document


Locate = Callable[[Path, str], Problem]


class _CommandLine(SourceMap):
    """Places the problems of an experiment given as flags at the flag that gave each part.

    ``flags`` maps a field (``"design.samples"``) to its flag (``"--samples"``); a
    factor is the ``--vary`` that names it.
    """

    def __init__(self, flags: Mapping[str, str]) -> None:
        super().__init__({})
        self.flags = dict(flags)

    def problem(self, path: Path, message: str) -> Problem:
        if path[:1] == ("factors",):
            where = "--vary" + (f" {path[1]}" if len(path) > 1 else "")
        else:
            where = self.flags.get(format_path(path), format_path(path))
        return Problem(COMMAND_LINE, None, None, where, message)


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
    places = source if source is not None else _CommandLine(flags or {})
    locate: Locate = places.problem
    scenario_file = _relative(file, experiment.scenario)
    scenario, scenario_source = _scenario(experiment, scenario_file, source)
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
    points = 0
    if not problems:
        try:
            points = check_design(factors, design)
        except DesignError as error:
            problems.append(locate(_design_place(error, experiment, factors), str(error)))
    runs_per_point = _first(runs, experiment.runs, scenario.runs)
    too_many = _too_many_runs(len(table) if table is not None else points, runs_per_point)
    if too_many and not problems:
        # Placed where the runs per point were given: the flag, the experiment, the scenario.
        if runs is not None:
            problems.append(Problem(COMMAND_LINE, None, None, "--runs", too_many))
        elif experiment.runs is not None:
            problems.append(locate(("runs",), too_many))
        else:
            in_scenario = scenario_source.problem(("runs",), too_many)
            problems += place_at_overrides([in_scenario], experiment.overrides, source)
    if problems:
        raise ExperimentError(problems)
    inputs = ([file] if file else []) + list(scenario_source.files)
    return SweepSpec(
        name=experiment.name
        or (os.path.splitext(os.path.basename(file))[0] if file else scenario.name),
        scenario=scenario,
        factors=tuple(factors),
        design=design,
        runs=runs_per_point,
        horizon_days=_first(horizon_days, experiment.horizon_days, scenario.horizon_days),
        seed=next((s for s in (seed, experiment.seed, scenario.seed) if s is not None), None),
        table=table,
        experiment={"file": file, **experiment.model_dump(mode="json", by_alias=True)},
        input_files=tuple(inputs + ([table_file] if table_file else [])),
    )


def _too_many_runs(points: int, runs: int) -> str | None:
    """Why a sweep of ``points`` points of ``runs`` runs each is too large, or None."""
    if runs > MAX_RUNS_PER_POINT:
        return (
            f"{runs:,} runs per point; a sweep runs at most {MAX_RUNS_PER_POINT:,} per point "
            "(a point's runs are held in memory until it is written; for more runs of one "
            "setting, use escalation run)"
        )
    if points * runs > MAX_SWEEP_RUNS:
        return (
            f"{points:,} points x {runs:,} runs per point = {points * runs:,} runs in all; a "
            f"sweep runs at most {MAX_SWEEP_RUNS:,} in all: give fewer points or fewer runs"
        )
    return None


def _design_place(
    error: DesignError, experiment: Experiment, factors: Sequence[DesignFactor]
) -> Path:
    """Where a design problem was written: the factor, the factors, or the design setting."""
    if error.factor is not None:
        # The factor as the experiment names it (its factors all resolved, in order).
        keys = dict(zip((f.name for f in factors), experiment.factors, strict=False))
        return ("factors", keys.get(error.factor, error.factor))
    if error.field == "factors":
        return ("factors",)
    return ("design", "file" if error.field == "table" else error.field)


def _scenario(
    experiment: Experiment, scenario_file: str, source: SourceMap | None
) -> tuple[Scenario, SourceMap]:
    """The experiment's scenario with its overrides applied, and where each part came from.

    Raises
    ------
    ScenarioError
        The scenario is wrong in itself (its own file and line named).
    ExperimentError
        The experiment file is at fault: its ``scenario`` names no file (placed at
        that line), or an override of its ``set`` list does not apply or gives a
        value the scenario refuses (placed at the line of that entry).
    """
    if source is not None and not os.path.isfile(scenario_file):
        why = "no such file"
        if os.path.exists(scenario_file):
            why = "it is a folder" if os.path.isdir(scenario_file) else "not a regular file"
        message = f"cannot read the scenario {experiment.scenario!r} ({scenario_file}): {why}"
        raise ExperimentError([source.problem(("scenario",), message)])
    try:
        return load_scenario_and_sources(scenario_file, experiment.overrides)
    except ScenarioError as error:
        if source is None or not experiment.overrides:
            raise
        problems = overridden_scenario_problems(
            error.problems, scenario_file, experiment.overrides, source
        )
    raise ExperimentError(problems)


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
    flags: Mapping[str, str] | None = None,
) -> Experiment:
    """An :class:`Experiment` for factors and a design given as command-line flags.

    Raises
    ------
    ExperimentError
        A value the experiment refuses (two Morris trajectories at least...), placed
        at the flag ``flags`` says gave it (``{"design.trajectories": "--trajectories"}``);
        a factor given twice.
    """
    places = _CommandLine(flags or {})
    entries: dict[str, dict[str, Any]] = {}
    for item in factors:
        factor = item.factor
        if factor.name in entries:
            message = "given more than once; vary a parameter once"
            raise ExperimentError([places.problem(("factors", factor.name), message)])
        if factor.values is not None:
            entries[factor.name] = {"values": list(factor.values)}
        else:
            entry = {"low": factor.low, "high": factor.high, "levels": factor.levels}
            entries[factor.name] = {k: v for k, v in entry.items() if v is not None}
    document = {
        "scenario": scenario,
        "set": list(overrides),
        "factors": entries,
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
    try:
        return Experiment.model_validate(document)
    except ValidationError as error:
        raise ExperimentError(problems_from_validation(error, document, places)) from None
