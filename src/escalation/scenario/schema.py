"""The scenario language: frozen, typed objects that a YAML file validates into.

A scenario is data, never code.  Numbers that may depend on the state of the
world are *quantities*: either a literal number or an expression string in the
whitelisted expression language of :mod:`escalation.scenario.expressions`.
Structural checks (types, ranges, unknown keys) live here; cross references
(actor, action, parameter and variable names, expression syntax) are checked by
:func:`escalation.scenario.check.check_references` so that every error in a file is
reported at once.
"""

from __future__ import annotations

import math
import sys
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AllowInfNan,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    field_validator,
    model_validator,
)

from escalation.kinds import MAX_HORIZON_DAYS

__all__ = [
    "Action",
    "Actor",
    "Casualties",
    "Claims",
    "Detection",
    "Effect",
    "Excitation",
    "MAX_HORIZON_DAYS",
    "MAX_INFLATION_SIGMA",
    "Misattribution",
    "Outcome",
    "Parameter",
    "Perception",
    "Quantity",
    "Rule",
    "Rung",
    "Scenario",
    "Tempo",
    "Variable",
]

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
"""An identifier: lower case letters, digits and underscores, starting with a letter."""


def _within_floats(value: int) -> int:
    # The engine computes in float64: a longer whole number would fail in float().
    if abs(value) > sys.float_info.max:
        raise ValueError(
            f"must be a finite number, got a whole number of {len(str(abs(value)))} digits "
            "(beyond 1.8e308)"
        )
    return value


Whole = Annotated[StrictInt, AfterValidator(_within_floats)]
# Finite only: a NaN bound makes every comparison false, so `min: .nan` would
# switch a range check off without a word, and an infinite claim ratio is no number.
Number = Whole | Annotated[StrictFloat, AllowInfNan(False)]
Quantity = Whole | StrictFloat | str
"""A literal number, or an expression evaluated per run (a parameter name is the simplest)."""


MAX_INFLATION_SIGMA = 10.0
"""The largest ``enemy_inflation_sigma``.  The generator's normal deviates lie within
+-8.57 (Box-Muller from a uniform of at least 2**-53: sqrt(106 ln 2)), so a claim ratio
stays within exp(+-85.7), about 1.7e37 times its median, and claimed dead stay finite
(the ratio itself would overflow from a sigma of 709.8 / 8.57 = 82.8).  A sigma of 10
already spreads one claim in twenty beyond a factor exp(19.6), 3e8, from the median."""


def _finite(value: float, what: str) -> float:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value}")
    return value


def _check_quantity(value: Quantity, *, low: float | None, high: float | None) -> Quantity:
    """Check a literal quantity against its domain; expressions are checked at run time."""
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("expected a number or an expression, got an empty string")
        return value
    _finite(float(value), "the value")
    if low is not None and value < low:
        raise ValueError(_range_message(value, low, high))
    if high is not None and value > high:
        raise ValueError(_range_message(value, low, high))
    return value


def _range_message(value: float, low: float | None, high: float | None) -> str:
    if high is None:
        return f"must be >= {low:g}, got {value:g}"
    if low is None:
        return f"must be <= {high:g}, got {value:g}"
    return f"must be in [{low:g}, {high:g}], got {value:g}"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class Rung(_Frozen):
    """One step of the escalation ladder."""

    rung: StrictInt = Field(ge=0, description="The rung's level; rungs count up from 0.")
    name: Name
    description: str = ""
    source: str = ""


class Parameter(_Frozen):
    """A named number that rules, actions and sweeps refer to."""

    value: Number
    min: Number | None = Field(None, description="Smallest admissible value (a sweep's domain).")
    max: Number | None = Field(None, description="Largest admissible value (a sweep's domain).")
    integer: StrictBool = Field(False, description="Whether only whole values make sense.")
    unit: str = ""
    description: str = ""
    source: str = Field("", description="Where the value comes from, or 'assumption: why'.")

    @model_validator(mode="after")
    def _in_domain(self) -> Parameter:
        _finite(float(self.value), "value")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is greater than max ({self.max:g})")
        low, high = self.min, self.max
        if (low is not None and self.value < low) or (high is not None and self.value > high):
            raise ValueError(f"value {_range_message(self.value, low, high)}")
        if self.integer and float(self.value) != int(self.value):
            raise ValueError(f"value must be a whole number, got {self.value:g}")
        return self


class Variable(_Frozen):
    """A state variable of the world or of an actor.

    A boolean variable is declared with ``initial: true`` or ``false``.  A numeric
    variable's effects saturate at ``min`` and ``max``: a share stays a share.
    """

    initial: StrictBool | Number | str = Field(
        description="Starting value: true/false, a number, or the name of a parameter."
    )
    min: Number | None = None
    max: Number | None = None
    description: str = ""
    source: str = ""

    @model_validator(mode="after")
    def _in_range(self) -> Variable:
        if isinstance(self.initial, bool):
            if self.min is not None or self.max is not None:
                raise ValueError("a boolean variable takes no min or max")
            return self
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is greater than max ({self.max:g})")
        if isinstance(self.initial, str):
            if not self.initial.strip():
                raise ValueError("initial: expected a value or a parameter name, got ''")
            return self
        _finite(float(self.initial), "initial")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is greater than max ({self.max:g})")
        if (self.min is not None and self.initial < self.min) or (
            self.max is not None and self.initial > self.max
        ):
            raise ValueError(f"initial {_range_message(self.initial, self.min, self.max)}")
        return self

    @property
    def is_boolean(self) -> bool:
        """Whether the variable is declared boolean (``initial: true`` or ``false``)."""
        return isinstance(self.initial, bool)


class Rule(_Frozen):
    """One line of an actor's policy: when ``when`` holds, take ``do`` with ``probability``.

    For each action, the first rule in the policy whose condition holds (and that is
    neither cooling down nor waiting on a delayed act) decides, by its probability,
    whether the act is taken that day.  Rules for different actions decide
    independently.
    """

    id: Name
    when: str = Field("true", description="Condition, an expression of the policy language.")
    do: Name = Field(description="The action taken.")
    target: Name | None = Field(None, description="The actor acted upon.")
    probability: Quantity = Field(1.0, description="Chance the act is taken when the rule decides.")
    delay: tuple[StrictInt, StrictInt] = Field(
        (0, 0), description="Days between decision and act, uniform on [low, high]."
    )
    cooldown: StrictInt = Field(
        0, ge=0, description="Days after an act before the rule may act again."
    )
    description: str = ""
    source: str = Field("", description="The sentence of the source this rule encodes.")

    @field_validator("probability")
    @classmethod
    def _probability(cls, value: Quantity) -> Quantity:
        return _check_quantity(value, low=0.0, high=1.0)

    @field_validator("delay", mode="before")
    @classmethod
    def _delay_form(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            return (value, value)
        return value

    @field_validator("delay")
    @classmethod
    def _delay_order(cls, value: tuple[int, int]) -> tuple[int, int]:
        low, high = value
        if low < 0:
            raise ValueError(f"delay must not be negative, got {low}")
        if high < low:
            raise ValueError(f"delay [low, high] needs low <= high, got [{low}, {high}]")
        if high > MAX_HORIZON_DAYS:
            raise ValueError(
                f"delay must be at most {MAX_HORIZON_DAYS} days (the longest horizon), "
                f"got [{low}, {high}]"
            )
        return value


class Excitation(_Frozen):
    """An observed event that raises a tempo's intensity (a cross-excitation jump)."""

    action: Name
    by: Name | None = None
    jump: Quantity = Field(description="Added to the daily intensity, decaying at rate beta.")
    source: str = ""

    @field_validator("jump")
    @classmethod
    def _jump(cls, value: Quantity) -> Quantity:
        return _check_quantity(value, low=0.0, high=None)


class Tempo(_Frozen):
    """A self-exciting (Hawkes) process of repeated acts, counted per day.

    The daily count is Poisson with intensity ``base_rate + excitation``.  Each act
    adds ``alpha`` to the excitation, spread over the following days with an
    exponential kernel of rate ``beta`` per day, so that the branching ratio is
    ``alpha / beta`` and the stationary mean rate ``base_rate / (1 - alpha / beta)``.
    """

    action: Name
    target: Name | None = None
    base_rate: Quantity = Field(description="Background acts per day.")
    alpha: Quantity = Field(0.0, description="Self-excitation: total offspring weight per act.")
    beta: Quantity = Field(1.0, description="Decay rate of the excitation, per day.")
    excited_by: tuple[Excitation, ...] = ()
    initial_excitation: Quantity = Field(
        0.0,
        description="Excitation on day 0; base_rate * r / (1 - r), r = alpha/beta, starts the "
        "process at its stationary mean rate.",
    )
    source: str = ""

    @field_validator("base_rate", "alpha", "initial_excitation")
    @classmethod
    def _non_negative(cls, value: Quantity) -> Quantity:
        return _check_quantity(value, low=0.0, high=None)

    @field_validator("beta")
    @classmethod
    def _positive(cls, value: Quantity) -> Quantity:
        value = _check_quantity(value, low=0.0, high=None)
        if not isinstance(value, str) and value <= 0:
            raise ValueError(f"must be > 0, got {value:g}")
        return value

    @model_validator(mode="after")
    def _stationary(self) -> Tempo:
        if isinstance(self.alpha, str) or isinstance(self.beta, str):
            return self
        if self.alpha >= self.beta:
            raise ValueError(
                f"alpha/beta = {self.alpha / self.beta:g} >= 1: the process explodes "
                "(a Hawkes process is stationary only when alpha/beta < 1)"
            )
        return self


class Actor(_Frozen):
    """A party to the crisis: its state, its policy and its tempo of repeated acts."""

    name: str = Field(description="Display name.")
    kind: Literal[
        "state",
        "armed_group",
        "provincial_government",
        "great_power",
        "regional_power",
        "mediator",
    ]
    description: str = ""
    parameters: dict[Name, Parameter] = Field(
        default_factory=dict, description="Named numbers of this actor: 'actor.name' elsewhere."
    )
    state: dict[Name, Variable] = Field(default_factory=dict)
    policy: tuple[Rule, ...] = ()
    tempo: tuple[Tempo, ...] = ()

    @model_validator(mode="after")
    def _unique_rule_ids(self) -> Actor:
        for name in self.parameters:
            if name in self.state:
                raise ValueError(f"{name!r} is both a parameter and a state variable")
        seen: set[str] = set()
        for rule in self.policy:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} is used twice in this policy")
            seen.add(rule.id)
        return self


class Casualties(_Frozen):
    """The deaths an act causes to one side, per act (a day's count of acts adds up)."""

    distribution: Literal["poisson", "negative_binomial", "fixed"]
    mean: Quantity
    dispersion: Quantity | None = Field(
        None, description="Negative binomial shape k: variance = mean + mean^2/k."
    )
    source: str = ""

    @field_validator("mean")
    @classmethod
    def _mean(cls, value: Quantity) -> Quantity:
        return _check_quantity(value, low=0.0, high=None)

    @field_validator("dispersion")
    @classmethod
    def _dispersion(cls, value: Quantity | None) -> Quantity | None:
        if value is None:
            return None
        value = _check_quantity(value, low=0.0, high=None)
        if not isinstance(value, str) and value <= 0:
            raise ValueError(f"must be > 0, got {value:g}")
        return value

    @model_validator(mode="after")
    def _dispersion_needed(self) -> Casualties:
        if self.distribution == "negative_binomial" and self.dispersion is None:
            raise ValueError("a negative_binomial distribution needs a dispersion")
        if self.distribution != "negative_binomial" and self.dispersion is not None:
            raise ValueError(f"a {self.distribution} distribution takes no dispersion")
        return self


class Effect(_Frozen):
    """A change an act makes to a variable: exactly one of ``set``, ``add``, ``multiply``."""

    set: str | None = Field(
        None, description="Variable to set: 'actor.variable' or a world variable."
    )
    add: str | None = None
    multiply: str | None = None
    value: Quantity
    probability: Quantity = 1.0
    source: str = ""

    @field_validator("probability")
    @classmethod
    def _probability(cls, value: Quantity) -> Quantity:
        return _check_quantity(value, low=0.0, high=1.0)

    @model_validator(mode="after")
    def _one_operation(self) -> Effect:
        given = [op for op in ("set", "add", "multiply") if getattr(self, op) is not None]
        if len(given) != 1:
            raise ValueError(
                "an effect needs exactly one of 'set', 'add' or 'multiply', got "
                + (", ".join(repr(g) for g in given) if given else "none")
            )
        return self

    @property
    def operation(self) -> Literal["set", "add", "multiply"]:
        if self.set is not None:
            return "set"
        if self.add is not None:
            return "add"
        return "multiply"

    @property
    def variable(self) -> str:
        name = (
            self.set
            if self.set is not None
            else self.add
            if self.add is not None
            else self.multiply
        )
        assert name is not None
        return name


class Action(_Frozen):
    """Something an actor can do, with its rung on the ladder and its stochastic effects."""

    rung: StrictInt = Field(ge=0)
    hostile: StrictBool = Field(
        False, description="Whether the act is a blow in a retaliation cycle."
    )
    acknowledged: StrictBool = Field(True, description="Whether the actor owns the act publicly.")
    description: str = ""
    casualties: dict[Literal["target", "actor"], Casualties] = Field(default_factory=dict)
    effects: tuple[Effect, ...] = ()
    source: str = ""


class Detection(_Frozen):
    """The chance an observer notices a given actor's act on the day after it."""

    observer: Name
    actor: Name
    probability: Quantity = Field(description="A number in [0, 1] or a parameter name.")
    source: str = ""

    @field_validator("probability")
    @classmethod
    def _probability(cls, value: Quantity) -> Quantity:
        return _check_quantity(value, low=0.0, high=1.0)


class Misattribution(_Frozen):
    """The chance an observer blames ``perceived`` for an act of ``actual``."""

    observer: Name
    actual: Name
    perceived: Name
    probability: Quantity = Field(description="A number in [0, 1] or a parameter name.")
    actions: tuple[Name, ...] | None = Field(None, description="Acts it applies to (default all).")
    source: str = ""

    @field_validator("probability")
    @classmethod
    def _probability(cls, value: Quantity) -> Quantity:
        return _check_quantity(value, low=0.0, high=1.0)


class Claims(_Frozen):
    """How an actor reports deaths: it inflates the enemy's and admits part of its own."""

    actor: Name
    enemy_inflation_median: Quantity = Field(1.0, description="Median claimed/true ratio (> 0).")
    enemy_inflation_sigma: Quantity = Field(0.0, description="Log-scale spread of the ratio.")
    own_admitted_share: Quantity = Field(1.0, description="Share of own dead admitted, in [0, 1].")
    source: str = ""

    @field_validator("enemy_inflation_median")
    @classmethod
    def _median(cls, value: Quantity) -> Quantity:
        value = _check_quantity(value, low=0.0, high=None)
        if not isinstance(value, str) and value <= 0:
            raise ValueError(f"must be > 0, got {value:g}")
        return value

    @field_validator("enemy_inflation_sigma")
    @classmethod
    def _sigma(cls, value: Quantity) -> Quantity:
        value = _check_quantity(value, low=0.0, high=None)
        if not isinstance(value, str) and value > MAX_INFLATION_SIGMA:
            raise ValueError(
                f"must be at most {MAX_INFLATION_SIGMA:g}, got {value:g} (a wider log-scale "
                "spread makes claims that no record supports, and can overflow)"
            )
        return value

    @field_validator("own_admitted_share")
    @classmethod
    def _share(cls, value: Quantity) -> Quantity:
        return _check_quantity(value, low=0.0, high=1.0)


class Perception(_Frozen):
    detection: tuple[Detection, ...] = ()
    misattribution: tuple[Misattribution, ...] = ()
    claims: tuple[Claims, ...] = ()


class Outcome(_Frozen):
    """A named end state; outcomes are tried in order and the first that holds is the run's."""

    id: Name
    when: str
    description: str = ""
    source: str = ""


class Scenario(_Frozen):
    """A whole scenario: ladder, parameters, world, actors, actions, perception, outcomes."""

    name: Name
    title: str = ""
    description: str = ""
    source: str = Field("", description="What the scenario is built from.")
    horizon_days: StrictInt = Field(365, gt=0, le=MAX_HORIZON_DAYS)
    runs: StrictInt = Field(1000, gt=0)
    seed: StrictInt | None = Field(None, ge=0)
    ladder: tuple[Rung, ...] = Field(min_length=1)
    parameters: dict[Name, Parameter] = Field(default_factory=dict)
    world: dict[Name, Variable] = Field(default_factory=dict)
    actors: dict[Name, Actor] = Field(min_length=1)
    actions: dict[Name, Action] = Field(min_length=1)
    perception: Perception = Perception()
    outcomes: tuple[Outcome, ...] = Field(min_length=1)

    def __iter__(self) -> Any:
        """A scenario is one value, not a collection.

        pydantic models iterate over their fields; refusing to iterate lets
        ``mesa.batch_run`` (which sweeps every iterable parameter) take a scenario
        whole, as one parameter value.
        """
        raise TypeError("a Scenario is a single value; use model_dump() for its fields")

    @field_validator("ladder")
    @classmethod
    def _ladder_counts_up(cls, ladder: tuple[Rung, ...]) -> tuple[Rung, ...]:
        for position, rung in enumerate(ladder):
            if rung.rung != position:
                raise ValueError(
                    f"rungs must count up from 0 in order: position {position} has rung {rung.rung}"
                )
        return ladder
