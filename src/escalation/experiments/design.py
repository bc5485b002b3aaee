"""Designs: which points of the parameter space a sweep runs.

A design turns factors (the parameters varied, with their ranges) into a table
of points, one row per point and one column per factor.  Every design but the
grid and the explicit table first draws a sample in the unit cube, then maps
each column onto its factor through the factor's distribution (the inverse
cumulative distribution function, see :mod:`escalation.experiments.distributions`),
so Latin hypercube, Monte Carlo, Sobol (Saltelli) and Morris samples all share
one mapping.

Sampling is seeded from the sweep's root seed through
``numpy.random.SeedSequence(root, spawn_key=(1,))``, so a design is reproduced
exactly from the seed.  Sobol and Morris samples are SALib's
(:func:`SALib.sample.sobol.sample`, :func:`SALib.sample.morris.sample`); Latin
hypercubes are :class:`scipy.stats.qmc.LatinHypercube`.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.stats import qmc

from escalation.experiments.distributions import DISTRIBUTIONS, DesignError, DesignFactor
from escalation.experiments.factors import Factor, FactorError, factor_from_spec, parameter_named
from escalation.kinds import DESIGNS
from escalation.scenario.schema import Scenario

__all__ = [
    "DESIGNS",
    "DISTRIBUTIONS",
    "MORRIS_LEVELS",
    "Design",
    "DesignError",
    "DesignFactor",
    "DesignSpec",
    "MAX_DESIGN_POINTS",
    "check_design",
    "design_rng",
    "make_design",
    "nearest_powers_of_two",
    "read_table",
    "salib_problem",
]

DesignKind = Literal["grid", "lhs", "monte_carlo", "sobol", "morris", "table"]
FloatArray = NDArray[np.float64]

MORRIS_LEVELS = 4
"""Morris grid levels when none are given (SALib's default)."""

DESIGN_STREAM = 1
"""The child of the root seed that samples designs (simulations use the root itself)."""

MAX_DESIGN_POINTS = 10_000_000
"""The most points a design may have (and the most grid levels a factor may have).

A sweep holds its design in memory, and a few numbers per point while it runs and
when it summarises: ten million points take a few gigabytes, and far more runs
than a machine simulates in a day.  A larger design is refused before anything is
allocated, naming the setting that makes it so large.
"""


@dataclass(frozen=True)
class DesignSpec:
    """How to choose the points.

    Attributes
    ----------
    kind
        ``grid`` (every combination of the factors' values or levels), ``lhs``
        (Latin hypercube), ``monte_carlo`` (independent uniform draws), ``sobol``
        (Saltelli's scheme for Sobol indices), ``morris`` (elementary-effect
        trajectories) or ``table`` (the rows of a CSV file).
    points
        The number of points of ``lhs`` and ``monte_carlo`` designs.
    samples
        Sobol's base sample size N, a power of two; the design has
        ``N * (D + 2)`` points (``N * (2 D + 2)`` with ``second_order``).
    second_order
        Sobol: also sample for second-order indices.
    trajectories, levels
        Morris: the number of trajectories and of grid levels (even); the design
        has ``trajectories * (D + 1)`` points.
    table
        The CSV file of a ``table`` design.
    """

    kind: DesignKind
    points: int | None = None
    samples: int | None = None
    second_order: bool = False
    trajectories: int | None = None
    levels: int | None = None
    table: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data, for the manifest."""
        return asdict(self)


@dataclass(frozen=True)
class Design:
    """A design made: the points, and the unit-cube sample they came from.

    Attributes
    ----------
    points
        ``point`` (0, 1, ...) then one float column per factor, by canonical name.
    unit
        The sample in ``[0, 1]^D`` before mapping (None for grids and tables);
        Morris analysis needs it.
    problem
        The SALib problem: ``num_vars``, ``names``, ``bounds``.
    """

    points: pd.DataFrame
    unit: FloatArray | None
    problem: dict[str, Any]


def design_rng(root_seed: int) -> np.random.Generator:
    """The generator that samples a design: a fixed child of the root seed."""
    return np.random.default_rng(np.random.SeedSequence(root_seed, spawn_key=(DESIGN_STREAM,)))


def salib_problem(factors: tuple[DesignFactor, ...] | list[DesignFactor]) -> dict[str, Any]:
    """The SALib problem dict of the factors (names and ``[low, high]`` bounds)."""
    return {
        "num_vars": len(factors),
        "names": [f.name for f in factors],
        "bounds": [[f.factor.low, f.factor.high] for f in factors],
    }


def nearest_powers_of_two(n: int) -> tuple[int, int]:
    """The powers of two just below and just above ``n`` (equal if ``n`` is one)."""
    if n < 1:
        return 1, 1
    below = 1 << (n.bit_length() - 1)
    return below, below if below == n else below << 1


def _positive(value: int | None, field: str, kind: str) -> int:
    if value is None:
        raise DesignError(f"the {kind} design needs {field!r}", field)
    if value < 1:
        raise DesignError(f"{field} must be >= 1, got {value}", field)
    return value


_SETTINGS: dict[str, tuple[str, ...]] = {
    "grid": (),
    "lhs": ("points",),
    "monte_carlo": ("points",),
    "sobol": ("samples", "second_order"),
    "morris": ("trajectories", "levels"),
    "table": ("table",),
}


def check_design(factors: tuple[DesignFactor, ...] | list[DesignFactor], spec: DesignSpec) -> int:
    """Check a design's settings against its kind and factors; return its number of points.

    Raises
    ------
    DesignError
        A setting the kind does not take, a size missing or out of range, a Sobol
        size that is not a power of two (naming the nearest), odd Morris levels, a
        grid factor without levels, a factor given twice.
    """
    if spec.kind not in _SETTINGS:
        raise DesignError(
            f"unknown design {spec.kind!r}; expected one of {', '.join(DESIGNS)}", "kind"
        )
    given = {
        key
        for key, value in spec.to_dict().items()
        if key != "kind" and value is not None and value is not False
    }
    for key in sorted(given - set(_SETTINGS[spec.kind])):
        raise DesignError(f"{key!r} does not apply to the {spec.kind} design", key)
    factors = tuple(factors)
    if not factors:
        raise DesignError("a sweep needs at least one factor (a parameter to vary)", "factors")
    names = [f.name for f in factors]
    if len(set(names)) < len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise DesignError(f"a factor is given twice: {', '.join(repeated)}", "factors")
    for factor in factors:
        count = _choice_count(factor)
        if count > MAX_DESIGN_POINTS:
            raise DesignError(
                f"{factor.name}: {count:,} grid levels; a factor may have at most "
                f"{MAX_DESIGN_POINTS:,} (a design may have at most {MAX_DESIGN_POINTS:,} points)",
                "levels",
                factor.name,
            )
    d = len(factors)
    if spec.kind == "grid":
        return _grid_size(factors)
    if spec.kind in ("lhs", "monte_carlo"):
        return _at_most(_positive(spec.points, "points", spec.kind), "points", spec.kind)
    if spec.kind == "sobol":
        n = _positive(spec.samples, "samples", "sobol")
        below, above = nearest_powers_of_two(n)
        if below != n:
            raise DesignError(
                f"Sobol sampling needs a power of two for the base sample size, got {n}; "
                f"the nearest are {below} and {above}",
                "samples",
            )
        size = n * (2 * d + 2 if spec.second_order else d + 2)
        shape = f"{n:,} samples x {2 * d + 2 if spec.second_order else d + 2}"
        return _at_most(size, "samples", "sobol", shape)
    if spec.kind == "morris":
        trajectories = _positive(spec.trajectories, "trajectories", "morris")
        if trajectories < 2:
            raise DesignError(
                f"Morris needs at least 2 trajectories, got {trajectories}", "trajectories"
            )
        levels = MORRIS_LEVELS if spec.levels is None else spec.levels
        if levels < 2 or levels % 2:
            raise DesignError(f"Morris levels must be an even number >= 2, got {levels}", "levels")
        size = trajectories * (d + 1)
        return _at_most(size, "trajectories", "morris", f"{trajectories:,} trajectories x {d + 1}")
    if spec.table is None:
        raise DesignError("a table design needs its CSV file", "table")
    return -1


def _at_most(size: int, field: str, kind: str, shape: str = "") -> int:
    """``size``, or a DesignError naming ``field`` if a design may not have that many points."""
    if size > MAX_DESIGN_POINTS:
        made = f" ({shape})" if shape else ""
        raise DesignError(
            f"the {kind} design would have {size:,} points{made}; a design may have at most "
            f"{MAX_DESIGN_POINTS:,} points",
            field,
        )
    return size


def _choice_count(factor: DesignFactor) -> int:
    """How many values a factor's grid takes (0 for a range without levels)."""
    if factor.factor.values is not None:
        return len(factor.factor.values)
    return factor.factor.levels or 0


def _grid_size(factors: tuple[DesignFactor, ...]) -> int:
    """The number of points of the grid, counted before any is made."""
    for factor in factors:
        if not factor.discrete:
            raise DesignError(
                f"grid design: {factor.name} is a range without levels; give LOW:HIGH:LEVELS "
                "(--vary) or 'levels:' (experiment file), or choose another design",
                "levels",
                factor.name,
            )
    size = math.prod(_choice_count(factor) for factor in factors)
    shape = " x ".join(f"{_choice_count(f):,} {f.name}" for f in factors)
    _at_most(size, "factors", "grid", shape)
    for factor in factors:
        values = factor.factor.grid()
        if len(set(values)) < len(values):
            shown = values if len(values) <= 20 else f"{len(values):,} levels"
            raise DesignError(
                f"grid design: {factor.name} repeats values {shown} (a whole-number "
                "parameter with more levels than whole numbers in its range)",
                "levels",
                factor.name,
            )
    return size


def _grid(factors: tuple[DesignFactor, ...]) -> FloatArray:
    """Every combination of the factors' values (checked by :func:`check_design`), the
    first factor slowest, as :func:`itertools.product` orders them; made as arrays, with
    no Python object per point."""
    axes = [np.asarray(factor.factor.grid(), dtype=np.float64) for factor in factors]
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack(mesh, axis=-1).reshape(-1, len(factors))


def _unit_sample(
    factors: tuple[DesignFactor, ...], spec: DesignSpec, rng: np.random.Generator
) -> FloatArray:
    d = len(factors)
    unit_problem = {"num_vars": d, "names": [f.name for f in factors], "bounds": [[0.0, 1.0]] * d}
    if spec.kind == "lhs":
        return np.asarray(qmc.LatinHypercube(d, rng=rng).random(spec.points))
    if spec.kind == "monte_carlo":
        assert spec.points is not None
        return rng.random((spec.points, d))
    if spec.kind == "sobol":
        from SALib.sample import sobol

        return np.asarray(
            sobol.sample(unit_problem, spec.samples, calc_second_order=spec.second_order, seed=rng)
        )
    from SALib.sample import morris

    levels = MORRIS_LEVELS if spec.levels is None else spec.levels
    return np.asarray(morris.sample(unit_problem, spec.trajectories, num_levels=levels, seed=rng))


def make_design(
    factors: tuple[DesignFactor, ...] | list[DesignFactor],
    spec: DesignSpec,
    root_seed: int,
    table: pd.DataFrame | None = None,
) -> Design:
    """Make the points of a design.

    Parameters
    ----------
    factors
        The factors, in the order of the points' columns.
    spec
        The design and its sizes.
    root_seed
        The sweep's root seed; the sample is drawn from its child stream
        (:func:`design_rng`), so the same seed gives the same points.
    table
        The points of a ``table`` design (see :func:`read_table`).

    Returns
    -------
    Design

    Raises
    ------
    DesignError
        As :func:`check_design`.
    """
    factors = tuple(factors)
    check_design(factors, spec)
    names = [f.name for f in factors]
    unit: FloatArray | None = None
    if spec.kind == "table":
        if table is None:
            raise DesignError("a table design needs its points (read_table)", "table")
        values = table[names].to_numpy(dtype=np.float64)
    elif spec.kind == "grid":
        values = _grid(factors)
    else:
        unit = _unit_sample(factors, spec, design_rng(root_seed))
        values = np.column_stack([f.from_unit(unit[:, j]) for j, f in enumerate(factors)])
    points = pd.DataFrame({"point": np.arange(len(values), dtype=np.int64)})
    for j, name in enumerate(names):
        points[name] = values[:, j].astype(np.float64)
    return Design(points, unit, salib_problem(factors))


def read_table(
    path: str | os.PathLike[str], scenario: Scenario
) -> tuple[tuple[DesignFactor, ...], pd.DataFrame]:
    """Read the points of a ``table`` design from a CSV file.

    The header names the parameters (as ``--vary`` does); each further line is a
    point.  Every value must be a finite number inside its parameter's domain.

    Returns
    -------
    factors : tuple of DesignFactor
        One per column, the range spanning the column's values.
    table : pandas.DataFrame
        The values, one column per canonical parameter name.

    Raises
    ------
    DesignError
        Naming the file, the line and the column of the first problem.
    """
    where = os.fspath(path)
    try:
        with open(where, newline="", encoding="utf-8") as stream:
            lines = [
                (number, row)
                for number, row in enumerate(csv.reader(stream), start=1)
                if any(cell.strip() for cell in row)
            ]
    except OSError as error:
        message = f"{where}: cannot read the table: {error.strerror or error}"
        raise DesignError(message, "table") from None
    except UnicodeDecodeError:
        raise DesignError(f"{where}: not a UTF-8 text file", "table") from None
    if len(lines) < 2:
        message = f"{where}: expected a header of parameter names and at least one row of values"
        raise DesignError(message, "table")
    (header_line, header), body = lines[0], lines[1:]
    names = []
    for column, text in enumerate(header, start=1):
        try:
            names.append(parameter_named(scenario, text)[0])
        except FactorError as error:
            raise DesignError(f"{where}:{header_line}: column {column}: {error}", "table") from None
    for column, name in enumerate(names):
        if names.index(name) != column:
            raise DesignError(
                f"{where}:{header_line}: the parameter {name} has two columns", "table"
            )
    values = np.empty((len(body), len(names)))
    for row_index, (number, row) in enumerate(body):
        if len(row) != len(names):
            raise DesignError(
                f"{where}:{number}: expected {len(names)} values, got {len(row)}", "table"
            )
        for column, cell in enumerate(row):
            try:
                value = float(cell)
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                raise DesignError(
                    f"{where}:{number}: column {names[column]}: expected a finite number, "
                    f"got {cell.strip()!r}",
                    "table",
                )
            values[row_index, column] = value
    factors = []
    for column, name in enumerate(names):
        column_values = sorted(set(values[:, column].tolist()))
        try:
            checked = factor_from_spec(scenario, name, values=column_values)
        except FactorError as error:
            bad = body[_first_outside(values[:, column], scenario, name)][0]
            raise DesignError(f"{where}:{bad}: {error}", "table") from None
        # The range, not every value, is kept: a table's factors only describe it.
        factors.append(
            DesignFactor(Factor(name, checked.low, checked.high, None, None, checked.integer))
        )
    return tuple(factors), pd.DataFrame(values, columns=names)


def _first_outside(column: FloatArray, scenario: Scenario, name: str) -> int:
    """The row of the first value of ``column`` that its parameter refuses."""
    for row, value in enumerate(column.tolist()):
        try:
            factor_from_spec(scenario, name, values=[value])
        except FactorError:
            return row
    return 0
