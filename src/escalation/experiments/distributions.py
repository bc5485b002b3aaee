"""A factor and the distribution its values are drawn from.

A design samples the unit cube; each column is mapped onto its factor by the
inverse cumulative distribution function of the factor's distribution:

- a continuous range: ``uniform`` (default), ``loguniform``, ``triangular``
  (``mode``) or ``normal`` (``mean``, ``sd``, truncated to the range);
- a list of values, or a range with grid levels: each value equally likely;
- a whole-number parameter's range: each whole number in it equally likely.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from escalation.experiments.factors import Factor

__all__ = ["DISTRIBUTIONS", "DesignError", "DesignFactor", "value_index"]

DISTRIBUTIONS = ("uniform", "loguniform", "triangular", "normal")

FloatArray = NDArray[np.float64]


def value_index(unit: FloatArray, count: int) -> NDArray[np.int64]:
    """Which of ``count`` equally likely values each place in ``[0, 1]`` stands for:
    the stratum it falls in, 1 belonging to the last."""
    u = np.asarray(unit, dtype=np.float64)
    return np.minimum((u * count).astype(np.int64), count - 1)


class DesignError(ValueError):
    """A design that cannot be made: ``field`` names the setting at fault (or ``""``),
    ``factor`` the factor at fault (or None)."""

    def __init__(self, message: str, field: str = "", factor: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.factor = factor


@dataclass(frozen=True)
class DesignFactor:
    """A factor and the distribution its values are drawn from.

    Attributes
    ----------
    factor
        The parameter varied and its range, values or levels.
    distribution
        ``uniform``, ``loguniform``, ``triangular`` or ``normal``; only
        continuous ranges take another distribution than ``uniform``.
    mode
        The peak of a triangular distribution.
    mean, sd
        The normal distribution's, truncated to ``[low, high]``.
    """

    factor: Factor
    distribution: str = "uniform"
    mode: float | None = None
    mean: float | None = None
    sd: float | None = None

    def __post_init__(self) -> None:
        name, low, high = self.factor.name, self.factor.low, self.factor.high
        if self.distribution not in DISTRIBUTIONS:
            raise DesignError(
                f"{name}: unknown distribution {self.distribution!r}; expected one of "
                + ", ".join(DISTRIBUTIONS),
                "distribution",
            )
        if self.distribution != "uniform" and (self.discrete or self.factor.integer):
            raise DesignError(
                f"{name}: a {self.distribution} distribution needs a continuous range; "
                "lists, grid levels and whole-number parameters are drawn uniformly",
                "distribution",
            )
        if self.distribution == "loguniform" and not low > 0:
            raise DesignError(f"{name}: a loguniform range needs low > 0, got {low:g}", "low")
        if self.distribution == "triangular" and (
            self.mode is None or not low <= self.mode <= high
        ):
            raise DesignError(
                f"{name}: a triangular distribution needs a mode in [{low:g}, {high:g}]"
                + ("" if self.mode is None else f", got {self.mode:g}"),
                "mode",
            )
        if self.distribution == "normal" and (
            self.mean is None or self.sd is None or not self.sd > 0
        ):
            raise DesignError(
                f"{name}: a normal distribution needs a mean and an sd > 0 (it is truncated "
                f"to [{low:g}, {high:g}])",
                "sd",
            )
        extras = {"mode": self.mode, "mean": self.mean, "sd": self.sd}
        wanted = {"triangular": {"mode"}, "normal": {"mean", "sd"}}.get(self.distribution, set())
        for key, value in extras.items():
            if value is not None and key not in wanted:
                raise DesignError(
                    f"{name}: {key!r} does not apply to a {self.distribution} distribution", key
                )

    @property
    def name(self) -> str:
        """The canonical parameter name (``pakistan.strike_threshold``)."""
        return self.factor.name

    @property
    def discrete(self) -> bool:
        """Whether the factor takes a list of values (given, or grid levels)."""
        return self.factor.values is not None or self.factor.levels is not None

    def choices(self) -> tuple[float, ...] | None:
        """The values a discrete or whole-number factor takes, or None if continuous."""
        if self.discrete:
            return self.factor.grid()
        if self.factor.integer:
            return tuple(float(v) for v in range(int(self.factor.low), int(self.factor.high) + 1))
        return None

    def from_unit(self, unit: FloatArray) -> FloatArray:
        """Map values in ``[0, 1]`` onto the factor (inverse CDF of its distribution)."""
        u = np.asarray(unit, dtype=np.float64)
        low, high = self.factor.low, self.factor.high
        if self.factor.integer and not self.discrete:
            # The whole numbers of the range, each equally likely: counted, not listed,
            # since a wide range (a population) would not fit in memory as a list.
            first = int(low)
            count = int(high) - first + 1
            return (first + value_index(u, count)).astype(np.float64)
        choices = self.choices()
        if choices is not None:
            return np.asarray(choices, dtype=np.float64)[value_index(u, len(choices))]
        if self.distribution == "uniform":
            return low + u * (high - low)
        if self.distribution == "loguniform":
            return np.exp(math.log(low) + u * (math.log(high) - math.log(low)))
        if self.distribution == "triangular":
            assert self.mode is not None
            shape = (self.mode - low) / (high - low)
            return np.asarray(stats.triang(shape, loc=low, scale=high - low).ppf(u))
        assert self.mean is not None
        assert self.sd is not None
        a, b = (low - self.mean) / self.sd, (high - self.mean) / self.sd
        return np.asarray(stats.truncnorm(a, b, loc=self.mean, scale=self.sd).ppf(u))

    def to_dict(self) -> dict[str, Any]:
        """Plain data, for the manifest; :meth:`from_dict` reads it back."""
        return {
            **asdict(self.factor),
            "values": None if self.factor.values is None else list(self.factor.values),
            "distribution": self.distribution,
            "mode": self.mode,
            "mean": self.mean,
            "sd": self.sd,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DesignFactor:
        """The factor :meth:`to_dict` wrote."""
        values = data.get("values")
        factor = Factor(
            name=str(data["name"]),
            low=float(data["low"]),
            high=float(data["high"]),
            levels=None if data.get("levels") is None else int(data["levels"]),
            values=None if values is None else tuple(float(v) for v in values),
            integer=bool(data.get("integer", False)),
        )
        return cls(
            factor,
            str(data.get("distribution", "uniform")),
            data.get("mode"),
            data.get("mean"),
            data.get("sd"),
        )
