"""A scenario compiled once: rules, tempos, actions and perception ready for arrays."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from escalation.errors import ModelError
from escalation.model.compiler import (
    BUILTIN_ACTOR_VARIABLES,
    CompileContext,
    Compiled,
    ObservationKey,
    Requirements,
    compile_expression,
    compile_quantity,
)
from escalation.rng import site_id
from escalation.scenario.schema import Scenario, Variable

__all__ = [
    "ActionPlan",
    "CasualtyPlan",
    "ClaimPlan",
    "EffectPlan",
    "ExcitationPlan",
    "Plan",
    "RulePlan",
    "TempoPlan",
    "at",
    "build_plan",
    "parameter_name",
    "parameter_values",
    "resolve",
]


@dataclass(frozen=True)
class RulePlan:
    slot: int
    actor: str
    id: str
    action: str
    target: str | None
    when: Compiled
    probability: Compiled
    delay: tuple[int, int]
    cooldown: int
    fire_site: int
    delay_site: int


@dataclass(frozen=True)
class ExcitationPlan:
    key: ObservationKey
    jump: Compiled


@dataclass(frozen=True)
class TempoPlan:
    slot: int
    actor: str
    action: str
    target: str | None
    base_rate: Compiled
    alpha: Compiled
    beta: Compiled
    excited_by: tuple[ExcitationPlan, ...]
    count_site: int
    initial_excitation: Compiled


@dataclass(frozen=True)
class CasualtyPlan:
    distribution: str
    mean: Compiled
    dispersion: Compiled | None


@dataclass(frozen=True)
class EffectPlan:
    operation: str
    variable: str
    value: Compiled
    probability: Compiled
    low: float | None
    high: float | None
    boolean: bool = False
    """Whether the variable is boolean: set to 0 or 1 only."""


@dataclass(frozen=True)
class ActionPlan:
    name: str
    index: int
    rung: int
    hostile: bool
    casualties: Mapping[str, CasualtyPlan]
    effects: tuple[EffectPlan, ...]


@dataclass(frozen=True)
class ClaimPlan:
    inflation_median: Any
    inflation_sigma: Any
    admitted_share: Any
    """Each one value for the block, or one per run."""

    @functools.cached_property
    def inflated(self) -> bool:
        """Whether claims vary at random (a positive sigma in some run)."""
        return bool(np.any(np.asarray(self.inflation_sigma) > 0))


Number = float | str
"""A number, or the name of a parameter whose value it takes in each block."""


def resolve(value: Number, params: Mapping[str, Any], what: str, low: float, high: float) -> Any:
    """The value of a number-or-parameter for a block, checked against its range.

    A parameter may hold one value per run (an array), as when a block gathers
    several points of a sweep; the result is then an array too.
    """
    number = params[value] if isinstance(value, str) else float(value)
    bad = ~((np.asarray(number) >= low) & (np.asarray(number) <= high))
    if np.any(bad):
        worst = float(np.asarray(number)[bad].flat[0]) if np.ndim(number) else float(number)
        raise ModelError(f"{what}: must be in [{low:g}, {high:g}], got {worst:g}")
    return number


def at(value: Any, runs: Any) -> Any:
    """``value`` for the runs ``runs`` of the block: a per-run array is indexed."""
    if isinstance(value, np.ndarray):
        return value[runs] if value.ndim else value
    return value


@dataclass
class Plan:
    """The compiled scenario shared by every block of runs."""

    scenario: Scenario
    actors: tuple[str, ...]
    actions: dict[str, ActionPlan]
    rules: dict[str, tuple[RulePlan, ...]]
    tempos: dict[str, tuple[TempoPlan, ...]]
    outcomes: tuple[tuple[str, Compiled], ...]
    requirements: Requirements
    detection: dict[tuple[str, str], Number]
    misattribution: dict[tuple[str, str], tuple[tuple[str, Number, frozenset[str] | None], ...]]
    claims: dict[str, tuple[Number, Number, Number]]
    variable_bounds: dict[str, tuple[float | None, float | None]]
    initial: dict[str, float]
    initial_parameters: dict[str, str]
    boolean_variables: tuple[str, ...]
    slot_names: list[str] = field(default_factory=list)
    keys_by_observer: dict[str | None, tuple[ObservationKey, ...]] = field(default_factory=dict)
    aliases: dict[ObservationKey, ObservationKey] = field(default_factory=dict)
    """Each key an expression reads, and the key whose track holds it."""
    tracked: Requirements = field(default_factory=Requirements)
    """The keys actually tracked (after onlookers' identical views are merged)."""

    @property
    def n_slots(self) -> int:
        return len(self.slot_names)

    @functools.cached_property
    def tempo_slots(self) -> frozenset[int]:
        """The slots of the tempos' acts (their daily counts feed the excitation)."""
        return frozenset(tempo.slot for tempos in self.tempos.values() for tempo in tempos)

    def actor_index(self, name: str) -> int:
        return self.actors.index(name)


def parameter_values(scenario: Scenario) -> dict[str, float]:
    """Every parameter's value by its name: ``name`` at top level, ``actor.name`` in an actor."""
    values = {name: float(p.value) for name, p in scenario.parameters.items()}
    for actor_name, actor in scenario.actors.items():
        for name, parameter in actor.parameters.items():
            values[f"{actor_name}.{name}"] = float(parameter.value)
    return values


def parameter_name(scenario: Scenario, name: str, owner: str | None = None) -> str:
    """The canonical name of a parameter named in a scenario field.

    ``name`` may be a top-level parameter, ``actor.parameter``, or (in an actor's
    own fields) one of that actor's parameters.

    Raises
    ------
    KeyError
        If no parameter has that name.
    """
    if owner is not None and name in scenario.actors[owner].parameters:
        return f"{owner}.{name}"
    if name in scenario.parameters:
        return name
    actor, _, short = name.partition(".")
    if actor in scenario.actors and short in scenario.actors[actor].parameters:
        return name
    raise KeyError(name)


def build_plan(scenario: Scenario) -> Plan:
    """Compile every expression of ``scenario``.

    Raises
    ------
    escalation.scenario.expressions.ExpressionError
        On the first expression that does not compile; the loader's
        :func:`escalation.scenario.check.check_references` reports all of them with
        their positions before a plan is ever built.
    """
    requirements = Requirements()

    def context(owner: str | None = None, outcome: bool = False) -> CompileContext:
        return CompileContext(scenario, requirements, owner=owner, outcome=outcome)

    bounds: dict[str, tuple[float | None, float | None]] = {}
    initial: dict[str, float] = {}
    booleans: list[str] = []
    from_parameter: dict[str, str] = {}
    variables: list[tuple[str, Variable, str | None]] = [
        (name, variable, None) for name, variable in scenario.world.items()
    ]
    for actor_name, actor in scenario.actors.items():
        variables += [(f"{actor_name}.{name}", v, actor_name) for name, v in actor.state.items()]
    boolean_names = {name for name, variable, _ in variables if variable.is_boolean}
    for name, variable, owner in variables:
        bounds[name] = (0.0, 1.0) if variable.is_boolean else (variable.min, variable.max)
        if isinstance(variable.initial, str):
            from_parameter[name] = parameter_name(scenario, variable.initial, owner)
            initial[name] = math.nan
        else:
            initial[name] = float(variable.initial)
        if variable.is_boolean and "." not in name:
            booleans.append(name)
    for actor_name in scenario.actors:
        for name in BUILTIN_ACTOR_VARIABLES:
            bounds[f"{actor_name}.{name}"] = (0.0, None)
            initial[f"{actor_name}.{name}"] = 0.0

    slot_names: list[str] = []
    rules: dict[str, tuple[RulePlan, ...]] = {}
    tempos: dict[str, tuple[TempoPlan, ...]] = {}
    for actor_name, actor in scenario.actors.items():
        compiled_rules = []
        for rule in actor.policy:
            label = f"{actor_name}.{rule.id}"
            slot_names.append(f"rule:{label}")
            compiled_rules.append(
                RulePlan(
                    slot=len(slot_names) - 1,
                    actor=actor_name,
                    id=rule.id,
                    action=rule.do,
                    target=rule.target,
                    when=compile_expression(rule.when, context(actor_name), boolean=True),
                    probability=compile_quantity(rule.probability, context(actor_name)),
                    delay=rule.delay,
                    cooldown=rule.cooldown,
                    fire_site=site_id(f"rule:{label}:fire"),
                    delay_site=site_id(f"rule:{label}:delay"),
                )
            )
        rules[actor_name] = tuple(compiled_rules)
        for compiled in compiled_rules:
            requirements.causes.update(compiled.when.keys)
        compiled_tempos = []
        for tempo in actor.tempo:
            label = f"{actor_name}.{tempo.action}"
            slot_names.append(f"tempo:{label}")
            excitations = []
            for excitation in tempo.excited_by:
                key = ObservationKey(actor_name, excitation.action, excitation.by, None)
                requirements.need(key, 1, "count")
                excitations.append(
                    ExcitationPlan(key, compile_quantity(excitation.jump, context(actor_name)))
                )
            compiled_tempos.append(
                TempoPlan(
                    slot=len(slot_names) - 1,
                    actor=actor_name,
                    action=tempo.action,
                    target=tempo.target,
                    base_rate=compile_quantity(tempo.base_rate, context(actor_name)),
                    alpha=compile_quantity(tempo.alpha, context(actor_name)),
                    beta=compile_quantity(tempo.beta, context(actor_name)),
                    excited_by=tuple(excitations),
                    count_site=site_id(f"tempo:{label}:count"),
                    initial_excitation=compile_quantity(
                        tempo.initial_excitation, context(actor_name)
                    ),
                )
            )
        tempos[actor_name] = tuple(compiled_tempos)

    actions: dict[str, ActionPlan] = {}
    for index, (name, action) in enumerate(scenario.actions.items()):
        casualties: dict[str, CasualtyPlan] = {
            side: CasualtyPlan(
                spec.distribution,
                compile_quantity(spec.mean, context()),
                None if spec.dispersion is None else compile_quantity(spec.dispersion, context()),
            )
            for side, spec in action.casualties.items()
        }
        effects = tuple(
            EffectPlan(
                effect.operation,
                effect.variable,
                compile_quantity(effect.value, context()),
                compile_quantity(effect.probability, context()),
                *bounds[effect.variable],
                effect.variable in boolean_names,
            )
            for effect in action.effects
        )
        actions[name] = ActionPlan(name, index, action.rung, action.hostile, casualties, effects)

    outcomes = tuple(
        (outcome.id, compile_expression(outcome.when, context(outcome=True), boolean=True))
        for outcome in scenario.outcomes
    )

    def canonical(value: Number) -> Number:
        return parameter_name(scenario, value) if isinstance(value, str) else value

    detection: dict[tuple[str, str], Number] = {
        (d.observer, d.actor): canonical(d.probability) for d in scenario.perception.detection
    }
    misattribution: dict[tuple[str, str], list[tuple[str, Number, frozenset[str] | None]]] = {}
    for entry in scenario.perception.misattribution:
        misattribution.setdefault((entry.observer, entry.actual), []).append(
            (
                entry.perceived,
                canonical(entry.probability),
                None if entry.actions is None else frozenset(entry.actions),
            )
        )
    claims: dict[str, tuple[Number, Number, Number]] = {
        claim.actor: (
            canonical(claim.enemy_inflation_median),
            canonical(claim.enemy_inflation_sigma),
            canonical(claim.own_admitted_share),
        )
        for claim in scenario.perception.claims
    }
    plan = Plan(
        scenario=scenario,
        actors=tuple(scenario.actors),
        actions=actions,
        rules=rules,
        tempos=tempos,
        outcomes=outcomes,
        requirements=requirements,
        detection=detection,
        misattribution={key: tuple(value) for key, value in misattribution.items()},
        claims=claims,
        variable_bounds=bounds,
        initial=initial,
        initial_parameters=from_parameter,
        boolean_variables=tuple(booleans),
        slot_names=slot_names,
    )
    plan.aliases, plan.tracked = _share_public_views(plan, requirements)
    by_observer: dict[str | None, list[ObservationKey]] = {}
    for key in plan.tracked.windows:
        by_observer.setdefault(key.observer, []).append(key)
    plan.keys_by_observer = {observer: tuple(keys) for observer, keys in by_observer.items()}
    return plan


PUBLIC = "*public*"
"""The observer standing for every onlooker who sees an act exactly as reported."""


def _share_public_views(
    plan: Plan, requirements: Requirements
) -> tuple[dict[ObservationKey, ObservationKey], Requirements]:
    """Merge the keys of onlookers who all see the same thing into one public key.

    An observer that neither acts nor is acted upon in a kind of act, and whose
    perception has no detection or misattribution entry, sees exactly the public
    record of it: several such observers (China, Russia, Iran and the United States
    reading the news of a strike) can share one track.
    """
    involved: dict[str, set[str]] = {name: set() for name in plan.actions}
    for rules in plan.rules.values():
        for rule in rules:
            involved[rule.action].update(a for a in (rule.actor, rule.target) if a is not None)
    for tempos in plan.tempos.values():
        for tempo in tempos:
            involved[tempo.action].update(a for a in (tempo.actor, tempo.target) if a is not None)
    noisy = {observer for observer, _ in plan.detection} | {o for o, _ in plan.misattribution}
    hostile = [name for name, action in plan.actions.items() if action.hostile]

    def public(key: ObservationKey) -> bool:
        if key.observer is None or key.observer in noisy:
            return False
        kinds = hostile if key.action is None else [key.action]
        return all(key.observer not in involved[kind] for kind in kinds)

    aliases: dict[ObservationKey, ObservationKey] = {}
    tracked = Requirements()
    for key, windows in requirements.windows.items():
        canonical = ObservationKey(PUBLIC, key.action, key.by, key.on) if public(key) else key
        aliases[key] = canonical
        tracked.windows.setdefault(canonical, set()).update(windows)
        tracked.sums.setdefault(canonical, set()).update(requirements.sums.get(key, ()))
        if key in requirements.causes:
            tracked.causes.add(canonical)
    return aliases, tracked
