"""Factors: the named parameters an experiment varies, and their ranges.

A factor names a scenario parameter: ``strike_threshold`` for a top-level one,
``pakistan.strike_threshold`` for an actor's (the long forms
``parameters.strike_threshold`` and ``actors.pakistan.parameters.strike_threshold``
are accepted too).  On the command line::

    --vary pakistan.strike_threshold=5:20      a range (the design picks the points)
    --vary pakistan.strike_threshold=5:20:4    a range with 4 grid levels
    --vary mediation_eagerness=0.1,0.3,0.5     an explicit list of values
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from escalation.scenario.expressions import suggest
from escalation.scenario.schema import Parameter, Scenario

__all__ = ["Factor", "FactorError", "factor_from_spec", "parameter_named", "parse_vary"]


class FactorError(ValueError):
    """A factor that names no parameter, or a range the parameter cannot take."""


@dataclass(frozen=True)
class Factor:
    """A parameter to vary: a range ``[low, high]`` and, optionally, grid levels or values."""

    name: str
    low: float
    high: float
    levels: int | None = None
    values: tuple[float, ...] | None = None
    integer: bool = False

    def grid(self) -> tuple[float, ...]:
        """The values a full-factorial grid takes for this factor."""
        if self.values is not None:
            return self.values
        count = self.levels if self.levels is not None else 2
        step = (self.high - self.low) / (count - 1)
        points = tuple(self.low + step * index for index in range(count))
        return tuple(float(round(p)) for p in points) if self.integer else points


def _normalise(path: str) -> str:
    parts = path.split(".")
    if len(parts) == 3 and parts[0] == "parameters" and parts[2] == "value":
        return parts[1]
    if len(parts) == 2 and parts[0] == "parameters":
        return parts[1]
    if len(parts) >= 4 and parts[0] == "actors" and parts[2] == "parameters":
        return f"{parts[1]}.{parts[3]}"
    return path


def parameter_named(scenario: Scenario, path: str) -> tuple[str, Parameter]:
    """The parameter a factor path names, with its canonical name."""
    name = _normalise(path.strip())
    if "." in name:
        actor_name, _, short = name.partition(".")
        actor = scenario.actors.get(actor_name)
        if actor is not None and short in actor.parameters:
            return name, actor.parameters[short]
    elif name in scenario.parameters:
        return name, scenario.parameters[name]
    known = list(scenario.parameters) + [
        f"{actor_name}.{p}"
        for actor_name, actor in scenario.actors.items()
        for p in actor.parameters
    ]
    raise FactorError(
        f"{path!r} names no parameter of scenario {scenario.name!r}{suggest(name, known)}"
    )


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise FactorError(f"{what}: expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise FactorError(f"{what}: expected a finite number, got {text!r}")
    return value


def factor_from_spec(
    scenario: Scenario,
    path: str,
    *,
    low: float | None = None,
    high: float | None = None,
    levels: int | None = None,
    values: list[float] | tuple[float, ...] | None = None,
) -> Factor:
    """Build a factor and check it against the parameter's domain."""
    name, parameter = parameter_named(scenario, path)
    domain_low, domain_high = parameter.min, parameter.max

    def inside(value: float) -> None:
        if (domain_low is not None and value < domain_low) or (
            domain_high is not None and value > domain_high
        ):
            raise FactorError(
                f"{name}: {value:g} is outside the parameter's domain "
                f"[{'-inf' if domain_low is None else f'{domain_low:g}'}, "
                f"{'inf' if domain_high is None else f'{domain_high:g}'}]"
            )
        if parameter.integer and value != int(value):
            raise FactorError(f"{name}: the parameter takes whole numbers, got {value:g}")

    if values is not None:
        if len(values) == 0:
            raise FactorError(f"{name}: the list of values is empty")
        for value in values:
            inside(value)
        return Factor(
            name,
            min(values),
            max(values),
            None,
            tuple(float(v) for v in values),
            parameter.integer,
        )
    if low is None or high is None:
        raise FactorError(f"{name}: a range needs both bounds, low:high")
    if not low < high:
        raise FactorError(f"{name}: the range {low:g}:{high:g} is empty (need low < high)")
    inside(low)
    inside(high)
    if levels is not None and levels < 2:
        raise FactorError(f"{name}: a grid needs at least 2 levels, got {levels}")
    return Factor(name, float(low), float(high), levels, None, parameter.integer)


def parse_vary(text: str, scenario: Scenario) -> Factor:
    """Parse a ``--vary`` argument (see the module docstring)."""
    path, equals, spec = text.partition("=")
    if not equals or not path.strip() or not spec.strip():
        raise FactorError(
            f"--vary {text!r}: expected NAME=LOW:HIGH, NAME=LOW:HIGH:LEVELS or NAME=V1,V2,..."
        )
    what = f"--vary {path}"
    parts = spec.split(":")
    if "," in spec or len(parts) == 1:
        # A list of values; one value alone is a list of one (the factor held fixed).
        values = [_number(part, what) for part in spec.split(",") if part.strip()]
        return factor_from_spec(scenario, path, values=values)
    if len(parts) != 3 and len(parts) != 2:
        raise FactorError(f"{what}: expected LOW:HIGH, LOW:HIGH:LEVELS or V1,V2,..., got {spec!r}")
    low, high = _number(parts[0], what), _number(parts[1], what)
    levels = None
    if len(parts) == 3:
        try:
            levels = int(parts[2])
        except ValueError:
            raise FactorError(f"{what}: LEVELS must be a whole number, got {parts[2]!r}") from None
    return factor_from_spec(scenario, path, low=low, high=high, levels=levels)
