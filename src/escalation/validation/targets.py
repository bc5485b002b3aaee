"""Targets: the stylized facts a scenario must reproduce, read from a YAML file.

A targets file lists facts from the record, each a *statistic* of the simulated
runs (named in :data:`escalation.validation.statistics.STATISTICS`) with the value
observed, or the range it lies in, a rule saying when the model agrees, and the
source of the fact::

    name: pakistan_2023_2025
    runs: 1000            # runs simulated by `escalation check`
    traced_runs: 200      # of them, runs replayed act by act for event statistics
    interval: 0.9         # the model's central interval that rules speak of
    targets:
      - id: strike_delay_days
        statistic: response_delay_days
        trigger: {actor: ttp, action: attack}
        response: {actor: pakistan, action: [cross_border_strike]}
        observed: 2
        range: [1, 3]
        pass_if: median_in_range
        source: "Mir Ali 16 Mar 2024 -> strike 18 Mar: 2 days; ..."

Pass rules (``pass_if``), with the model's distribution summarised by its median
(for a share: the share) and its central ``interval`` (for a share: the Wilson
interval of that confidence):

``observed_in_interval``
    the observed value lies in the model's central interval (the default when
    only ``observed`` is given): the record looks like a draw from the model;
``median_in_range``
    the model's median lies in the observed range (the default when ``range`` is
    given): the model's typical value is one the record allows;
``interval_overlaps_range``
    the model's central interval and the observed range overlap: the weakest
    rule, for facts known only roughly;
``range_in_interval``
    the whole observed range lies in the model's central interval: the model is
    at least as varied as the record (for spreads, such as monthly tempo).

Files are read like scenarios (safe YAML, ``extends:``, duplicate keys refused)
and every problem is reported at once with its file, line and YAML path.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AllowInfNan,
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from escalation.scenario.errors import (
    Path,
    Problem,
    ScenarioError,
    SourceMap,
    did_you_mean,
    problems_from_validation,
)
from escalation.scenario.loader import resolved_document
from escalation.scenario.schema import MAX_HORIZON_DAYS, Scenario

__all__ = [
    "PASS_RULES",
    "Acts",
    "Target",
    "Targets",
    "TargetsError",
    "load_targets",
    "reference_problems",
]

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Number = StrictInt | Annotated[StrictFloat, AllowInfNan(False)]
Share = Annotated[float, Field(gt=0, lt=1)]

PassRule = Literal[
    "observed_in_interval", "median_in_range", "interval_overlaps_range", "range_in_interval"
]
PASS_RULES: tuple[str, ...] = (
    "observed_in_interval",
    "median_in_range",
    "interval_overlaps_range",
    "range_in_interval",
)
"""The rules a target may pass by (see the module docstring)."""

# Options of statistics; which statistic takes which is in the registry.
OPTION_FIELDS: tuple[str, ...] = (
    "acts",
    "trigger",
    "response",
    "link",
    "within",
    "side",
    "action",
    "actor",
    "column",
    "scale",
    "above",
)


class TargetsError(ScenarioError):
    """A targets file that cannot be used, with every problem found in it."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _as_tuple(value: object) -> object:
    return (value,) if isinstance(value, str) else value


class Acts(_Frozen):
    """Which acts a statistic looks at: by whom, of what kind, on whom, how deadly.

    A day's acts of one kind by one actor (a tempo of attacks can bring several)
    are one event, and ``min_deaths`` applies to their deaths together.
    """

    actor: Name | None = Field(None, description="The actor who acts (default: any).")
    action: tuple[Name, ...] = Field(min_length=1, description="One action or a list of them.")
    target: Name | None = Field(None, description="The actor acted upon (default: any).")
    min_deaths: Number | None = Field(
        None, ge=0, description="Only acts that killed at least this many on the target side."
    )

    @field_validator("action", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return _as_tuple(value)

    def describe(self) -> str:
        """A short phrase such as ``pakistan cross_border_strike``."""
        text = "/".join(self.action)
        if self.actor is not None:
            text = f"{self.actor} {text}"
        if self.target is not None:
            text += f" on {self.target}"
        if self.min_deaths is not None:
            text += f" (>= {self.min_deaths:g} dead)"
        return text


class Target(_Frozen):
    """One stylized fact: a statistic of the runs, what was observed, and its source."""

    id: Name
    statistic: str = Field(description="A statistic of the registry.")
    description: str = ""
    observed: Number | None = Field(None, description="The value observed.")
    range: tuple[Number, Number] | None = Field(
        None, description="[low, high]: the values the record allows."
    )
    pass_if: PassRule | None = Field(
        None,
        description="When the model agrees (default: observed_in_interval if only "
        "'observed' is given, else median_in_range).",
    )
    interval: Share | None = Field(None, description="This target's central interval.")
    weight: Annotated[float, Field(gt=0)] = Field(
        1.0, description="Weight of the target in the calibration distance."
    )
    source: str = Field(min_length=1, description="Where the observed value comes from.")
    acts: Acts | None = None
    trigger: Acts | None = None
    response: Acts | None = None
    link: Literal["cause", "time"] | None = Field(
        None,
        description="How an answer is matched to what it answers: 'cause' (the act the "
        "answering rule looked at) or 'time' (the latest such act before it).",
    )
    within: StrictInt | None = Field(
        None,
        ge=1,
        description="Days: the longest delay counted as an answer, or the longest gap "
        "between two acts of one episode.",
    )
    side: Literal["target", "actor", "both"] | None = None
    action: Annotated[tuple[Name, ...], Field(min_length=1)] | None = Field(
        None, description="One action or a list of them."
    )
    actor: Name | None = None
    column: str | None = None
    scale: Literal["none", "per_month", "per_year"] | None = None
    above: Number | None = None

    @field_validator("action", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return _as_tuple(value)

    @field_validator("within")
    @classmethod
    def _within_a_horizon(cls, value: int | None) -> int | None:
        if value is not None and value > MAX_HORIZON_DAYS:
            raise ValueError(
                f"must be at most {MAX_HORIZON_DAYS} days (the longest horizon), got {value}"
            )
        return value

    @field_validator("statistic")
    @classmethod
    def _known_statistic(cls, value: str) -> str:
        from escalation.validation.statistics import STATISTICS

        if value not in STATISTICS:
            raise ValueError(
                f"unknown statistic {value!r}{did_you_mean(value, STATISTICS)}; "
                f"the statistics are: {', '.join(STATISTICS)}"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Target:
        from escalation.validation.statistics import STATISTICS

        spec = STATISTICS[self.statistic]
        given = {name for name in OPTION_FIELDS if getattr(self, name) is not None}
        missing = [name for name in spec.required if name not in given]
        if missing:
            raise ValueError(
                f"statistic {self.statistic!r} needs {', '.join(repr(m) for m in missing)}"
            )
        allowed = {*spec.required, *spec.optional}
        extra = sorted(given - allowed)
        if extra:
            takes = ", ".join(sorted(allowed)) or "no options"
            raise ValueError(
                f"statistic {self.statistic!r} takes no {', '.join(repr(e) for e in extra)} "
                f"(it takes: {takes})"
            )
        if self.link == "time" and self.within is None:
            raise ValueError("link: time needs 'within', the longest delay counted in days")
        if self.observed is None and self.range is None:
            raise ValueError("a target needs 'observed', 'range' or both")
        if self.range is not None and self.range[0] > self.range[1]:
            raise ValueError(f"range [low, high] needs low <= high, got {list(self.range)}")
        rule = self.rule
        if rule == "observed_in_interval" and self.observed is None:
            raise ValueError("pass_if: observed_in_interval needs 'observed'")
        if rule != "observed_in_interval" and self.range is None:
            raise ValueError(f"pass_if: {rule} needs 'range'")
        return self

    @property
    def rule(self) -> str:
        """The pass rule in force (``pass_if`` or its default)."""
        if self.pass_if is not None:
            return self.pass_if
        return "median_in_range" if self.range is not None else "observed_in_interval"


class Targets(_Frozen):
    """A targets file: the facts, and how many runs to check them on."""

    name: Name
    title: str = ""
    description: str = ""
    source: str = ""
    runs: StrictInt = Field(1000, gt=0, description="Runs simulated by 'escalation check'.")
    traced_runs: StrictInt = Field(
        200, gt=0, description="Runs replayed act by act for event statistics."
    )
    interval: Share = Field(0.9, description="The model's central interval the rules use.")
    targets: tuple[Target, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Targets:
        seen: set[str] = set()
        for target in self.targets:
            if target.id in seen:
                raise ValueError(f"target id {target.id!r} is used twice")
            seen.add(target.id)
        return self

    def interval_of(self, target: Target) -> float:
        """The central interval ``target`` is judged on."""
        return self.interval if target.interval is None else target.interval


def _fields(model: type[BaseModel]) -> list[str]:
    return list(model.model_fields)


_NESTED: dict[str, type[BaseModel]] = {"acts": Acts, "trigger": Acts, "response": Acts}


def _unknown_keys(document: Mapping[str, Any], source: SourceMap) -> tuple[Any, list[Problem]]:
    """Report keys no model takes, with a suggestion, and drop them for validation."""
    problems: list[Problem] = []

    def clean(node: Any, model: type[BaseModel], path: Path) -> Any:
        if not isinstance(node, Mapping):
            return node
        allowed = _fields(model)
        kept: dict[str, Any] = {}
        for key, value in node.items():
            if key not in allowed:
                hint = did_you_mean(key, allowed) or "; expected one of: " + ", ".join(allowed)
                problems.append(source.problem((*path, key), f"unknown key {key!r}{hint}"))
                continue
            kept[key] = value
        return kept

    top = clean(document, Targets, ())
    items = top.get("targets")
    if isinstance(items, list):
        cleaned = []
        for index, item in enumerate(items):
            entry = clean(item, Target, ("targets", index))
            if isinstance(entry, dict):
                for key, model in _NESTED.items():
                    if key in entry:
                        entry[key] = clean(entry[key], model, ("targets", index, key))
            cleaned.append(entry)
        top["targets"] = cleaned
    return top, problems


def load_targets(path: str | os.PathLike[str], scenario: Scenario | None = None) -> Targets:
    """Read and validate a targets file.

    Parameters
    ----------
    path : str or os.PathLike
        The targets file (YAML); an ``extends:`` path in it is relative to it, and
        targets with the same ``id`` merge as scenario rules do.
    scenario : Scenario, optional
        When given, the actors, actions and columns the targets name are checked
        against it (see :func:`reference_problems`).

    Returns
    -------
    Targets

    Raises
    ------
    TargetsError
        With every problem found, each with its file, line and YAML path.
    """
    try:
        document, source = resolved_document(path)
    except ScenarioError as error:
        raise TargetsError(error.problems) from None
    cleaned, problems = _unknown_keys(document, source)
    try:
        targets = Targets.model_validate(cleaned)
    except ValidationError as error:
        problems.extend(problems_from_validation(error, cleaned, source))
        raise TargetsError(problems) from None
    if problems:
        raise TargetsError(problems)
    if scenario is not None:
        references = reference_problems(targets, scenario)
        if references:
            raise TargetsError(source.problem(where, message) for where, message in references)
    return targets


def _columns(scenario: Scenario) -> tuple[str, ...]:
    """The columns of the runs table the scenario produces (from a one-day run)."""
    from escalation.model.engine import EscalationModel

    block = EscalationModel(scenario, runs=1, seed=0, horizon_days=1).run()
    return ("outcome", *(name for name in block.columns if name != "outcome_index"))


def reference_problems(targets: Targets, scenario: Scenario) -> list[tuple[Path, str]]:
    """Return (path, message) for every actor, action or column the scenario lacks."""
    problems: list[tuple[Path, str]] = []
    actors, actions = scenario.actors, scenario.actions
    columns: tuple[str, ...] | None = None

    def actor(path: Path, name: str | None) -> None:
        if name is not None and name not in actors:
            hint = did_you_mean(name, actors)
            problems.append((path, f"scenario {scenario.name!r} has no actor {name!r}{hint}"))

    def action(path: Path, names: tuple[str, ...]) -> None:
        for position, name in enumerate(names):
            if name not in actions:
                where = path if len(names) == 1 else (*path, position)
                hint = did_you_mean(name, actions)
                problems.append((where, f"scenario {scenario.name!r} has no action {name!r}{hint}"))

    for index, target in enumerate(targets.targets):
        here: Path = ("targets", index)
        for key in ("acts", "trigger", "response"):
            acts: Acts | None = getattr(target, key)
            if acts is not None:
                actor((*here, key, "actor"), acts.actor)
                actor((*here, key, "target"), acts.target)
                action((*here, key, "action"), acts.action)
        actor((*here, "actor"), target.actor)
        if target.action is not None:
            action((*here, "action"), target.action)
        if target.column is not None:
            if columns is None:
                columns = _columns(scenario)
            if target.column not in columns:
                problems.append(
                    (
                        (*here, "column"),
                        f"the runs table of {scenario.name!r} has no column {target.column!r}"
                        f"{did_you_mean(target.column, columns)}",
                    )
                )
    return problems
