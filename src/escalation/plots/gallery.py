"""The figures of a results folder, by kind: what ``escalation plot`` draws and a report embeds.

A run folder (``manifest.json`` of kind ``run`` with ``runs.parquet``...) gives the
kinds in :data:`RUN_KINDS`; a sweep folder (kind ``sweep``, ``summary.parquet`` and
``analysis/*.parquet``) those in :data:`SWEEP_KINDS`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from matplotlib.figure import Figure

from escalation.experiments.replicates import SimulationResults
from escalation.kinds import RUN_KINDS, SWEEP_KINDS
from escalation.plots.analysis import plot_discovery_box, plot_sensitivity
from escalation.plots.casualties import plot_casualties
from escalation.plots.cycles import plot_cycle_lengths, plot_cycle_starts
from escalation.plots.outcomes import plot_outcome_shares
from escalation.plots.survival import (
    boolean_variables,
    plot_time_to_truce,
    plot_truce_duration,
    truce_variable,
)
from escalation.plots.sweeps import (
    factor_columns,
    factor_domains,
    plot_share_heatmap,
    plot_share_vs_parameter,
    sweep_outcomes,
)
from escalation.plots.timeline import plot_run_timeline, plot_rung_over_time
from escalation.report_text import RunColumns, outcome_table
from escalation.scenario.schema import Scenario

if TYPE_CHECKING:
    from escalation.replay import Replay

__all__ = [
    "FigureError",
    "RUN_KINDS",
    "SWEEP_KINDS",
    "Sweep",
    "example_run",
    "parameter_units",
    "read_sweep",
    "run_figure",
    "short_name",
    "short_names",
    "sweep_figure",
]

WIDE = (10.5, 4.0)
"""Two panels side by side."""


class FigureError(ValueError):
    """A figure that cannot be drawn from these results (a wrong kind, a missing file)."""


@dataclass
class Sweep:
    """A sweep folder: its manifest, summary table and analysis tables."""

    folder: Path
    manifest: dict[str, Any]
    summary: pd.DataFrame
    analysis: dict[str, pd.DataFrame] = field(default_factory=dict)
    scenario: Scenario | None = None

    @property
    def seed(self) -> str | None:
        seed = self.manifest.get("seed")
        return None if seed is None else str(seed)

    def domains(self) -> dict[str, tuple[float, float]]:
        """Each factor's range: the manifest's design, else the range its points span."""
        domains = factor_domains(self.summary)
        for factor in self.manifest.get("factors") or []:
            if isinstance(factor, dict) and factor.get("low") is not None:
                domains[str(factor["name"])] = (float(factor["low"]), float(factor["high"]))
        return domains

    def tables(self, prefix: str) -> dict[str, pd.DataFrame]:
        """The analysis tables ``{prefix}_{name}``, by name."""
        start = f"{prefix}_"
        return {k[len(start) :]: v for k, v in self.analysis.items() if k.startswith(start)}


def read_sweep(folder: str | os.PathLike[str], manifest: dict[str, Any]) -> Sweep:
    """Read a sweep folder's summary and analysis tables."""
    root = Path(folder)
    summary_path = root / "summary.parquet"
    if not summary_path.is_file():
        status = manifest.get("status", "unknown")
        raise FileNotFoundError(
            f"{root}: the sweep has no summary.parquet yet (status {status}); run the same "
            "sweep command again to finish it"
        )
    analysis = {
        path.stem: pd.read_parquet(path) for path in sorted((root / "analysis").glob("*.parquet"))
    }
    scenario = None
    if isinstance(manifest.get("scenario"), dict):
        scenario = Scenario.model_validate(manifest["scenario"])
    return Sweep(root, manifest, pd.read_parquet(summary_path), analysis, scenario)


def parameter_units(scenario: Scenario | None) -> dict[str, str]:
    """Each parameter's unit by canonical name (``name`` or ``actor.name``)."""
    if scenario is None:
        return {}
    units = {name: p.unit for name, p in scenario.parameters.items() if p.unit}
    for actor_id, actor in scenario.actors.items():
        units.update({f"{actor_id}.{n}": p.unit for n, p in actor.parameters.items() if p.unit})
    return units


SHORT_NAME = 22
"""Actor names longer than this (in characters) are shortened on figures."""


def short_name(actor_id: str, name: str) -> str:
    """A name short enough for an axis: the display name without its parenthesis, or the id.

    ``"Afghan Taliban (Islamic Emirate)"`` gives ``"Afghan Taliban"``;
    ``"Tehreek-e-Taliban Pakistan (and affiliated militants)"``, still long without
    its parenthesis, gives its id, ``"TTP"`` (words of up to three letters in capitals).
    """
    bare = name.split(" (")[0].strip()
    if bare and len(bare) <= SHORT_NAME:
        return bare
    words = actor_id.split("_")
    text = " ".join(w.upper() if len(w) <= 3 else w for w in words)
    return text[:1].upper() + text[1:]


def short_names(scenario: Scenario) -> dict[str, str]:
    """Each actor's :func:`short_name`."""
    return {a: short_name(a, spec.name) for a, spec in scenario.actors.items()}


def example_run(results: SimulationResults) -> int:
    """The first run that ended in the most common outcome: a typical story to replay."""
    outcome = results.column("outcome").astype(str).to_numpy()
    common = pd.Series(outcome).value_counts().index[0]
    return int(results.column("run").to_numpy()[outcome == common].min())


def _panels() -> tuple[Figure, Any, Any]:
    figure = Figure(figsize=WIDE, layout="constrained", dpi=100)
    left, right = figure.subplots(1, 2)
    return figure, left, right


def run_figure(
    results: SimulationResults,
    kind: str,
    *,
    run: int | None = None,
    variable: str | None = None,
    replay: Replay | None = None,
) -> Figure:
    """Draw one figure of a batch of runs.

    Parameters
    ----------
    results
        The runs (:func:`escalation.store.read_results`).
    kind
        One of :data:`RUN_KINDS`.
    run
        For ``timeline``: the run to replay (default :func:`example_run`).
    variable
        For ``survival``: the boolean variable that marks a truce (default: by name).
    replay
        For ``timeline``: that run already replayed (:func:`escalation.replay_run`),
        which saves replaying it again.
    """
    scenario = results.scenario
    seed = results.seed
    n_runs = results.n_runs
    runs = RunColumns(results)
    actors = list(scenario.actors)
    names = short_names(scenario)
    if kind == "outcomes":
        return _figure(plot_outcome_shares(outcome_table(runs), seed=seed))
    if kind == "casualties":
        return _figure(plot_casualties(runs, names=names, colour_actors=actors, seed=seed))
    if kind == "rung":
        ladder = [rung.name for rung in scenario.ladder]
        rung = results.timeseries_of("rung")
        return _figure(plot_rung_over_time(rung, ladder=ladder, n_paths=3, seed=seed))
    if kind == "cycles":
        figure, left, right = _panels()
        cycles = results.cycle_columns()
        plot_cycle_lengths(cycles, left, n_runs=n_runs, seed=seed)
        plot_cycle_starts(
            cycles, right, n_runs=n_runs, horizon_days=results.horizon_days, seed=seed
        )
        return figure
    if kind == "survival":
        try:
            chosen = truce_variable(boolean_variables(runs), variable)
        except ValueError as error:
            raise FigureError(f"no survival curves: {error}") from None
        figure, left, right = _panels()
        plot_time_to_truce(
            runs, left, horizon_days=results.horizon_days, variable=chosen, seed=seed
        )
        # Every run's spells where the results have them, else the sampled runs' paths.
        if results.has_spells:
            plot_truce_duration(
                results.spells_of(chosen), right, variable=chosen, runs=n_runs, seed=seed
            )
        else:
            paths = results.timeseries_of(chosen)
            plot_truce_duration(paths, right, variable=chosen, seed=seed)
        return figure
    if kind == "timeline":
        from escalation.replay import replay_result

        chosen_run = example_run(results) if run is None else run
        ids = results.column("run").to_numpy()
        if not (ids == chosen_run).any():
            raise FigureError(f"no run {chosen_run}; the runs are {ids.min()} to {ids.max()}")
        if replay is None or replay.run != chosen_run:
            replay = replay_result(results, chosen_run)
        rungs = {name: action.rung for name, action in scenario.actions.items()}
        acting = set(replay.events["actor"].astype(str))
        ax = plot_run_timeline(
            replay.events,
            actors=[a for a in actors if a in acting],
            colour_actors=actors,
            names=names,
            rungs=rungs,
            ladder=[rung.name for rung in scenario.ladder],
            run=chosen_run,
            seed=seed,
            horizon_days=results.horizon_days,
            title=f"Run {chosen_run} ({replay.row['outcome']}): who answered whom",
        )
        return _figure(ax)
    raise FigureError(
        f"unknown figure kind {kind!r} for a run folder; expected one of {', '.join(RUN_KINDS)}"
    )


def _figure(ax: Any) -> Figure:
    figure = ax.figure
    assert isinstance(figure, Figure)
    return figure


def _pick(options: Mapping[str, Any], what: str, given: str | None, flag: str) -> str:
    """One of the named tables: the one asked for (``share_war`` also by its outcome's
    name ``war``, ``mean_max_rung`` by its metric's ``max_rung``, as `escalation
    analyze` takes them), or the only one."""
    if given is not None:
        for candidate in (given, f"share_{given}", f"mean_{given}"):
            if candidate in options:
                return candidate
        raise FigureError(
            f"{flag} {given}: no {what} for it; there is one for "
            f"{', '.join(sorted(options)) or 'nothing'}"
        )
    if len(options) == 1:
        return next(iter(options))
    if not options:
        raise FigureError(f"the sweep has no {what} (analysis/ holds none)")
    raise FigureError(
        f"there is more than one {what}: choose one with {flag}, one of "
        f"{', '.join(sorted(options))}"
    )


def sweep_figure(
    sweep: Sweep,
    kind: str,
    *,
    parameter: str | None = None,
    x: str | None = None,
    y: str | None = None,
    outcome: str | None = None,
    output: str | None = None,
) -> Figure:
    """Draw one figure of a sweep (a kind of :data:`SWEEP_KINDS`).

    ``parameter`` (share), ``x`` and ``y`` (heatmap) default to the first factors,
    ``outcome`` to the first outcome; ``output`` picks a sensitivity table and
    ``outcome`` a PRIM box when the sweep has several.
    """
    summary = sweep.summary
    factors = factor_columns(summary)
    outcomes = sweep_outcomes(summary)
    units = parameter_units(sweep.scenario)
    seed = sweep.seed
    runs = int(summary["runs"].sum()) if "runs" in summary.columns else None
    try:
        if kind == "share":
            chosen = outcome if outcome is not None else (outcomes[0] if outcomes else "")
            factor = parameter if parameter is not None else (factors[0] if factors else "")
            return _figure(plot_share_vs_parameter(summary, factor, chosen, units=units, seed=seed))
        if kind == "heatmap":
            if len(factors) < 2 and (x is None or y is None):
                raise FigureError(f"a heat map needs two factors; the sweep has {len(factors)}")
            chosen = outcome if outcome is not None else (outcomes[0] if outcomes else "")
            across = x if x is not None else factors[0]
            up = y if y is not None else next(f for f in factors if f != across)
            return _figure(plot_share_heatmap(summary, across, up, chosen, units=units, seed=seed))
        if kind == "sensitivity":
            tables = {**sweep.tables("sobol"), **sweep.tables("morris")}
            name = _pick(tables, "sensitivity analysis", output, "--output")
            return _figure(plot_sensitivity(tables[name], output=name, n_runs=runs, seed=seed))
        if kind == "discovery":
            boxes = sweep.tables("prim")
            name = _pick(boxes, "discovered box", outcome, "--outcome")
            # The box lies in the space the sweep explored, not the parameter's whole domain.
            domains = sweep.domains()
            return _figure(
                plot_discovery_box(
                    boxes[name],
                    domains=domains,
                    outcome=name,
                    units=units,
                    n_runs=runs,
                    seed=seed,
                )
            )
    except FigureError:
        raise
    except ValueError as error:
        raise FigureError(str(error)) from None
    raise FigureError(
        f"unknown figure kind {kind!r} for a sweep folder; expected one of {', '.join(SWEEP_KINDS)}"
    )
