"""Cross-reference checks: names that must exist, expressions that must compile.

Structural checks (types, ranges, unknown keys) are pydantic's; these run after
them on a structurally valid scenario and return *every* problem found, each
with the YAML path it belongs to, so the loader can print them all at once with
their lines.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from escalation.scenario.expressions import RESERVED_NAMES, ExpressionError, suggest
from escalation.scenario.schema import MAX_INFLATION_SIGMA, Quantity, Scenario, Variable

__all__ = ["UNCLASSIFIED", "check_references", "sampler_limits"]

UNCLASSIFIED = "unclassified"
"""The outcome the engine gives a run that no outcome matched, so no outcome's id
(:data:`escalation.model.record.UNCLASSIFIED`, not imported: validating a scenario
does not load the model's Mesa agents)."""

Path = tuple[str | int, ...]
Problems = list[tuple[Path, str]]


def check_references(scenario: Scenario) -> Problems:
    """Return (path, message) for every dangling name and uncompilable expression."""
    from escalation.model.compiler import (
        BUILTIN_ACTOR_VARIABLES,
        CompileContext,
        Requirements,
        compile_expression,
    )
    from escalation.model.plan import parameter_name, parameter_values

    problems: Problems = []
    actors, actions = scenario.actors, scenario.actions
    _check_namespaces(scenario, problems)
    requirements = Requirements()

    def expression(
        path: Path,
        text: Quantity,
        owner: str | None = None,
        outcome: bool = False,
        probability: bool = False,
    ) -> None:
        if not isinstance(text, str):
            return
        context = CompileContext(scenario, requirements, owner=owner, outcome=outcome)
        try:
            compiled = compile_expression(text, context)
        except ExpressionError as error:
            problems.append((path, f"in expression {_shown(text)}: {error}"))
            return
        if probability and compiled.constant is not None and not 0 <= compiled.constant <= 1:
            problems.append(
                (path, f"{text!r} is {compiled.constant:g}; a probability must be in [0, 1]")
            )

    def drawable(path: Path, value: Quantity | None, sampler: str, what: str) -> None:
        """A literal the sampler must draw from (an expression is checked as it runs)."""
        if value is None or isinstance(value, str):
            return
        limit = sampler_limits()[sampler]
        if value > limit:
            problems.append((path, f"must be at most {limit:g}, the largest {what}, got {value:g}"))

    def name(path: Path, value: str | None, table: Mapping[str, object], kind: str) -> None:
        if value is not None and value not in table:
            problems.append((path, f"unknown {kind} {value!r}{suggest(value, table)}"))

    top = len(scenario.ladder) - 1
    for action_name, action in actions.items():
        base: Path = ("actions", action_name)
        if action.rung > top:
            problems.append(
                (base + ("rung",), f"rung {action.rung} is not on the ladder (0 to {top})")
            )
        for side, spec in action.casualties.items():
            expression(base + ("casualties", side, "mean"), spec.mean)
            sampler = _SAMPLERS.get(spec.distribution)  # a fixed mean is not drawn from
            if sampler is not None:
                what = f"mean the {sampler} sampler takes"
                drawable(base + ("casualties", side, "mean"), spec.mean, spec.distribution, what)
            if spec.dispersion is not None:
                expression(base + ("casualties", side, "dispersion"), spec.dispersion)
        for number, effect in enumerate(action.effects):
            path = base + ("effects", number)
            variables = _variables(scenario, ())
            if effect.variable.partition(".")[2] in BUILTIN_ACTOR_VARIABLES:
                problems.append(
                    (
                        path + (effect.operation,),
                        f"{effect.variable!r} is kept by the engine (the dead of the acts): "
                        "an effect changes a world variable or a variable of an actor's state",
                    )
                )
            elif effect.variable not in variables:
                problems.append(
                    (
                        path + (effect.operation,),
                        f"unknown variable {effect.variable!r}{suggest(effect.variable, variables)}"
                        " (a world variable, or actor.variable)",
                    )
                )
            expression(path + ("value",), effect.value)
            expression(path + ("probability",), effect.probability, probability=True)
            declared = _declared(scenario, effect.variable)
            if declared is not None and declared.is_boolean:
                if effect.operation != "set":
                    problems.append(
                        (
                            path + (effect.operation,),
                            f"{effect.variable!r} is a boolean variable: an effect sets it "
                            f"to 0 or 1 (with 'set', not {effect.operation!r})",
                        )
                    )
                elif not isinstance(effect.value, str) and effect.value not in (0, 1):
                    problems.append(
                        (
                            path + ("value",),
                            f"{effect.variable!r} is a boolean variable: expected 0 or 1, "
                            f"got {effect.value!r}",
                        )
                    )

    targeted: dict[str, list[Path]] = {}
    for actor_name, actor in actors.items():
        base = ("actors", actor_name)
        for number, rule in enumerate(actor.policy):
            path = base + ("policy", number)
            name(path + ("do",), rule.do, actions, "action")
            name(path + ("target",), rule.target, actors, "actor")
            _not_itself(path + ("target",), rule.target, actor_name, problems)
            if rule.target is None:
                targeted.setdefault(rule.do, []).append(path)
            expression(path + ("when",), rule.when, owner=actor_name)
            expression(
                path + ("probability",), rule.probability, owner=actor_name, probability=True
            )
        for number, tempo in enumerate(actor.tempo):
            path = base + ("tempo", number)
            name(path + ("action",), tempo.action, actions, "action")
            name(path + ("target",), tempo.target, actors, "actor")
            _not_itself(path + ("target",), tempo.target, actor_name, problems)
            if tempo.target is None:
                targeted.setdefault(tempo.action, []).append(path)
            for field in ("base_rate", "alpha", "beta", "initial_excitation"):
                expression(path + (field,), getattr(tempo, field), owner=actor_name)
            for field in ("base_rate", "initial_excitation"):
                drawable(path + (field,), getattr(tempo, field), "poisson", _RATE)
            for index, excitation in enumerate(tempo.excited_by):
                cross = path + ("excited_by", index)
                name(cross + ("action",), excitation.action, actions, "action")
                name(cross + ("by",), excitation.by, actors, "actor")
                expression(cross + ("jump",), excitation.jump, owner=actor_name)
                drawable(cross + ("jump",), excitation.jump, "poisson", _RATE)
    for action_name, paths in targeted.items():
        targeted_action = actions.get(action_name)
        if targeted_action is not None and "target" in targeted_action.casualties:
            for path in paths:
                problems.append(
                    (path, f"action {action_name!r} kills on its target, so it needs a 'target'")
                )

    def parameter(
        path: Path, value: object, low: float, high: float, owner: str | None = None
    ) -> None:
        """A field that takes a number or a parameter's name."""
        if not isinstance(value, str):
            return
        try:
            canonical = parameter_name(scenario, value, owner)
        except KeyError:
            problems.append(
                (path, f"{value!r} is not a number or a parameter{suggest(value, known_params)}")
            )
            return
        number = parameter_values(scenario)[canonical]
        if not low <= number <= high:
            problems.append(
                (path, f"parameter {value!r} is {number:g}; this field needs [{low:g}, {high:g}]")
            )

    known_params = list(parameter_values(scenario))
    inf = float("inf")
    for variable_name, variable in scenario.world.items():
        parameter(("world", variable_name, "initial"), variable.initial, *_bounds(variable))
    for actor_name, actor in actors.items():
        for variable_name, variable in actor.state.items():
            parameter(
                ("actors", actor_name, "state", variable_name, "initial"),
                variable.initial,
                *_bounds(variable),
                owner=actor_name,
            )

    perception = scenario.perception
    for number, detection in enumerate(perception.detection):
        path = ("perception", "detection", number)
        name(path + ("observer",), detection.observer, actors, "actor")
        name(path + ("actor",), detection.actor, actors, "actor")
        parameter(path + ("probability",), detection.probability, 0.0, 1.0)
    shares: dict[tuple[str, str, str], float] = {}
    for number, entry in enumerate(perception.misattribution):
        path = ("perception", "misattribution", number)
        for field in ("observer", "actual", "perceived"):
            name(path + (field,), getattr(entry, field), actors, "actor")
        for index, action_name in enumerate(entry.actions or ()):
            name(path + ("actions", index), action_name, actions, "action")
        parameter(path + ("probability",), entry.probability, 0.0, 1.0)
        probability = entry.probability
        if isinstance(probability, str):
            try:
                probability = parameter_values(scenario)[parameter_name(scenario, probability)]
            except KeyError:
                continue
        # Entries compete for the same act only where their action lists overlap.
        for action_name in entry.actions or tuple(actions):
            triple = (entry.observer, entry.actual, action_name)
            shares[triple] = shares.get(triple, 0.0) + float(probability)
            if shares[triple] > 1 + 1e-12:
                problems.append(
                    (
                        path + ("probability",),
                        f"misattribution probabilities for observer {entry.observer!r} and "
                        f"actual {entry.actual!r} add up to {shares[triple]:g} for "
                        f"{action_name!r}, more than 1",
                    )
                )
                break
    claimants: set[str] = set()
    for number, claims in enumerate(perception.claims):
        path = ("perception", "claims", number)
        name(path + ("actor",), claims.actor, actors, "actor")
        if claims.actor in claimants:
            problems.append((path + ("actor",), f"claims for {claims.actor!r} are given twice"))
        claimants.add(claims.actor)
        parameter(path + ("enemy_inflation_median",), claims.enemy_inflation_median, 1e-300, inf)
        sigma = claims.enemy_inflation_sigma
        parameter(path + ("enemy_inflation_sigma",), sigma, 0.0, MAX_INFLATION_SIGMA)
        parameter(path + ("own_admitted_share",), claims.own_admitted_share, 0.0, 1.0)

    seen: set[str] = set()
    for number, outcome in enumerate(scenario.outcomes):
        path = ("outcomes", number)
        if outcome.id == UNCLASSIFIED:
            problems.append(
                (
                    path + ("id",),
                    f"the outcome id {UNCLASSIFIED!r} is reserved for the runs no outcome "
                    "matches; choose another",
                )
            )
        elif outcome.id in seen:
            problems.append((path + ("id",), f"outcome id {outcome.id!r} is used twice"))
        seen.add(outcome.id)
        expression(path + ("when",), outcome.when, outcome=True)
    return problems


def _shown(text: str) -> str:
    """An expression as a message quotes it: in full, unless it is very long (its
    column then says where)."""
    if len(text) <= _SHOWN:
        return repr(text)
    return f"{text[:_SHOWN]!r}... ({len(text):,} characters)"


_SHOWN = 200
_SAMPLERS = {"poisson": "Poisson", "negative_binomial": "negative binomial"}
_RATE = "rate the Poisson sampler draws a tempo's daily count from"


def sampler_limits() -> dict[str, float]:
    """The largest mean each count sampler of :mod:`escalation.rng` takes, by
    casualty distribution (``"poisson"`` also bounds a tempo's daily rate)."""
    from escalation import rng

    return {"poisson": rng.POISSON_MAX_MEAN, "negative_binomial": rng.NEGATIVE_BINOMIAL_MAX_MEAN}


def _bounds(variable: Variable) -> tuple[float, float]:
    if variable.is_boolean:
        return 0.0, 1.0
    low = -float("inf") if variable.min is None else float(variable.min)
    high = float("inf") if variable.max is None else float(variable.max)
    return low, high


def _not_itself(path: Path, target: str | None, actor: str, problems: Problems) -> None:
    """An act's target is another actor: the author's dead are its ``actor`` side."""
    if target == actor:
        problems.append(
            (
                path,
                f"{actor!r} cannot target itself: a target is another actor (an act's "
                "casualties on its author are its 'actor' side)",
            )
        )


def _declared(scenario: Scenario, name: str) -> Variable | None:
    """The declaration of a world variable or ``actor.variable`` (None for a built-in
    actor variable or an unknown name)."""
    actor, _, short = name.partition(".")
    if not short:
        return scenario.world.get(name)
    owner = scenario.actors.get(actor)
    return owner.state.get(short) if owner is not None else None


def _variables(scenario: Scenario, builtin: tuple[str, ...]) -> list[str]:
    names = list(scenario.world)
    for actor_name, actor in scenario.actors.items():
        names += [f"{actor_name}.{variable}" for variable in (*actor.state, *builtin)]
    return names


def _check_namespaces(scenario: Scenario, problems: Problems) -> None:
    """Actors, actions, parameters and world variables share one namespace."""
    owners: dict[str, str] = {}
    tables: list[tuple[str, dict[str, object]]] = [
        ("actors", dict(scenario.actors)),
        ("actions", dict(scenario.actions)),
        ("parameters", dict(scenario.parameters)),
        ("world", dict(scenario.world)),
    ]
    clash: Callable[[str, str], str] = lambda name, other: (  # noqa: E731
        f"{name!r} is already the name of an entry in {other}; names must be unique"
    )
    for section, table in tables:
        for name in table:
            if name in RESERVED_NAMES:
                problems.append(((section, name), f"{name!r} is a reserved name"))
            elif name in owners:
                problems.append(((section, name), clash(name, owners[name])))
            else:
                owners[name] = section
