"""A self-contained HTML report of a results folder: one file to open anywhere and send.

Figures are embedded as base64 PNG, the style sheet is inline and nothing is
fetched from the network, so the file opens offline. Every piece of text that
comes from a scenario or a manifest is escaped.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from escalation import report_html as h
from escalation.plots.gallery import (
    FigureError,
    Sweep,
    example_run,
    parameter_units,
    read_sweep,
    run_figure,
    short_names,
    sweep_figure,
)
from escalation.report_text import RunColumns, casualty_table, cycle_table, outcome_table
from escalation.scenario.schema import Scenario
from escalation.store import read_manifest, read_results

__all__ = ["build_report", "doctrine_table", "parameter_table"]


def doctrine_table(scenario: Scenario) -> str:
    """The actors' policy rules, with the sentence of the source each encodes."""
    rows = []
    sources = []
    names = short_names(scenario)
    for actor_id, actor in scenario.actors.items():
        for rule in actor.policy:
            low, high = rule.delay
            rows.append(
                (
                    names[actor_id],
                    h.code(rule.id),
                    h.code(rule.when, break_names=False),
                    h.Markup(
                        h.code(rule.do).text
                        + (
                            f"<br>on {h.escape(names.get(rule.target, rule.target))}"
                            if rule.target
                            else ""
                        )
                    ),
                    h.code(rule.probability),
                    f"{low}" if low == high else f"{low}-{high}",
                    rule.cooldown,
                )
            )
            text = rule.source or rule.description
            sources.append(h.quote(text) if text else "")
    if not rows:
        return '<p class="note">No actor has policy rules.</p>'
    header = ("actor", "rule", "when", "do", "probability", "delay (days)", "cooldown (days)")
    table = h.table(header, rows, numeric=(5, 6), notes=sources)
    if any(sources):
        table += '<p class="note">Under each rule, in italics, the source it encodes.</p>'
    return table


def parameter_table(scenario: Scenario) -> str:
    """The scenario's parameters, top-level then per actor, with units and sources."""
    named = list(scenario.parameters.items())
    for actor_id, actor in scenario.actors.items():
        named += [(f"{actor_id}.{n}", p) for n, p in actor.parameters.items()]
    if not named:
        return '<p class="note">The scenario has no named parameters.</p>'
    rows = [
        (
            h.code(name),
            f"{p.value:g}",
            "-" if p.min is None else f"{p.min:g}",
            "-" if p.max is None else f"{p.max:g}",
            p.unit or "-",
            h.quote(p.source or p.description),
        )
        for name, p in named
    ]
    return h.table(("parameter", "value", "min", "max", "unit", "source"), rows, numeric=(1, 2, 3))


def _provenance(manifest: dict[str, Any], folder: Path) -> str:
    versions = manifest.get("versions", {})
    rows: list[tuple[Any, Any]] = [
        ("folder", h.code(folder.resolve().name)),
        ("kind", manifest.get("kind", "run")),
        ("created", manifest.get("created", "-")),
        ("seed", h.code(manifest.get("seed", "-"))),
        ("random numbers", manifest.get("rng", "-")),
        ("command", h.code(" ".join(manifest.get("command") or []) or "-")),
    ]
    for key, value in (manifest.get("settings") or {}).items():
        rows.append((f"setting: {key}", h.code(value)))
    for key, value in (manifest.get("timings") or {}).items():
        rows.append((f"timing: {key}", h.number(value) if isinstance(value, float) else value))
    if "random_draws" in manifest:
        rows.append(("random draws", f"{int(manifest['random_draws']):,}"))
    for name, value in versions.items():
        rows.append((f"version: {name}", h.code(value)))
    for path, digest in (manifest.get("inputs") or {}).items():
        rows.append((f"input: {path}", h.code(f"sha256 {digest}")))
    return h.table(("what", "value"), rows)


class _Progress:
    def __init__(self, total: int, show: bool) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(
            total=total,
            unit="figure",
            desc="report",
            disable=None if show else True,
            file=sys.stderr,
        )

    def figure(self, make: Callable[[], Figure], alt: str, caption: str = "") -> str:
        try:
            return h.image(make(), alt, caption)
        finally:
            self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def _run_report(folder: Path, manifest: dict[str, Any], progress: bool) -> str:
    from escalation.plots.survival import boolean_variables
    from escalation.replay import replay_result, story_lines

    results = read_results(folder, lazy=True)
    scenario = results.scenario
    runs = RunColumns(results)
    flags = boolean_variables(runs)
    bar = _Progress(5 + (1 if flags else 0), progress)
    sections: list[tuple[str, str, str]] = []
    try:
        shares = outcome_table(runs)
        conditions = {o.id: o for o in scenario.outcomes}
        rows: list[tuple[Any, ...]] = [
            (
                outcome,
                f"{int(row['runs']):,}",
                h.percent(row["share"]),
                f"{h.percent(row['low'])} to {h.percent(row['high'])}",
                h.code(conditions[outcome].when, break_names=False)
                if outcome in conditions
                else "no condition held",
            )
            for outcome, row in shares.iterrows()
        ]
        body = bar.figure(lambda: run_figure(results, "outcomes"), "Outcome shares")
        body += h.table(
            ("outcome", "runs", "share", "95% interval (Wilson)", "when"), rows, (1, 2, 3)
        )
        sections.append(("outcomes", "Outcomes", body))

        deaths = casualty_table(runs, list(scenario.actors))
        body = bar.figure(lambda: run_figure(results, "casualties"), "Deaths per actor")
        if not deaths.empty:
            rows = [
                (
                    scenario.actors[str(actor)].name,
                    *(
                        f"{h.number(row[f'{k}_median'])} [{h.number(row[f'{k}_q05'])}, "
                        f"{h.number(row[f'{k}_q95'])}]"
                        for k in ("true", "claimed", "admitted")
                    ),
                )
                for actor, row in deaths.iterrows()
            ]
            body += h.table(("actor", "true", "claimed by the enemy", "admitted"), rows, (1, 2, 3))
            body += (
                '<p class="note">Deaths over the horizon: median [5th, 95th percentile] '
                "across runs.</p>"
            )
        sections.append(("deaths", "Deaths", body))

        body = bar.figure(lambda: run_figure(results, "rung"), "Escalation rung over time")
        ladder = {rung.rung: rung.name for rung in scenario.ladder}
        highest = runs["max_rung"].value_counts(normalize=True).sort_index()
        body += h.table(
            ("highest rung reached", "name", "share of runs"),
            [
                (int(cast(int, level)), ladder.get(int(cast(int, level)), ""), h.percent(s))
                for level, s in highest.items()
            ],
            (0, 2),
        )
        sections.append(("escalation", "Escalation over time", body))

        stats = cycle_table(results)
        body = bar.figure(lambda: run_figure(results, "cycles"), "Retaliation cycles")
        body += h.table(
            ("statistic", "value"),
            [
                ("cycles per run, mean", f"{stats['cycles_per_run_mean']:.2f}"),
                ("runs with at least one cycle", h.percent(stats["runs_with_a_cycle"])),
                ("length in blows: median", h.number(stats["length_median"])),
                ("length in blows: 95th percentile", h.number(stats["length_q95"])),
                ("length in blows: longest", h.number(stats["length_max"])),
                (
                    "day of the first cycle: median, of the runs with one",
                    h.number(stats["first_cycle_day_median"]),
                ),
            ],
            (1,),
        )
        sections.append(("cycles", "Retaliation cycles", body))

        if flags:
            body = bar.figure(lambda: run_figure(results, "survival"), "Truce survival curves")
            rows = [
                (
                    h.code(name),
                    h.percent(float((runs[f"{name}_days"] > 0).mean())),
                    f"{runs[f'{name}_days'].mean():.1f}",
                    h.number(float(runs[f"{name}_first_day"].median())),
                    f"{runs[f'{name}_spells'].mean():.2f}",
                )
                for name in flags
            ]
            body += h.table(
                (
                    "variable",
                    "runs ever true",
                    "mean days true",
                    "first day if ever (median)",
                    "spells per run",
                ),
                rows,
                (1, 2, 3, 4),
            )
            body += (
                '<p class="note">The curve of how long a truce holds is estimated from every '
                "run's spells (from the runs whose daily paths were kept, in a results folder "
                "without a spells table); runs and truces still open at the horizon are "
                "censored (Kaplan-Meier).</p>"
            )
            sections.append(("truces", "Truces", body))

        run = example_run(results)
        replay = replay_result(results, run)
        body = bar.figure(
            lambda: run_figure(results, "timeline", run=run, replay=replay),
            f"Timeline of run {run}",
            "The first run ending in the most common outcome, replayed alone. Marks are acts, "
            "arrows go from an act to the act that answered it.",
        )
        story = "\n".join(story_lines(replay, scenario))
        body += (
            f"<details><summary>The story of run {run}</summary>"
            f"<pre>{h.escape(story)}</pre></details>"
        )
        sections.append(("example", "An example run", body))
    finally:
        bar.close()
    sections.append(("doctrine", "Doctrine", doctrine_table(scenario)))
    sections.append(("parameters", "Parameters", parameter_table(scenario)))
    sections.append(("provenance", "Provenance", _provenance(manifest, folder)))
    facts = {
        "runs": f"{len(runs):,}",
        "horizon": f"{results.horizon_days} days",
        "seed": str(results.seed),
        "actors": ", ".join(a.name for a in scenario.actors.values()),
    }
    return h.page(scenario.title or scenario.name, scenario.description, facts, sections)


def _sweep_report(folder: Path, manifest: dict[str, Any], progress: bool) -> str:
    from escalation.plots.sweeps import factor_columns, sweep_outcomes

    sweep: Sweep = read_sweep(folder, manifest)
    summary = sweep.summary
    factors = factor_columns(summary)
    outcomes = sweep_outcomes(summary)
    sensitivity = {**sweep.tables("sobol"), **sweep.tables("morris")}
    boxes = sweep.tables("prim")
    primary = next((o for o in boxes if o in outcomes), outcomes[0] if outcomes else None)
    ranked = _ranking(sensitivity, factors)
    shown = factors[:8]
    heat = ranked[:2] if len(ranked) >= 2 else factors[:2]
    total = len(shown) + (1 if len(heat) == 2 else 0) + len(sensitivity) + len(boxes)
    bar = _Progress(total, progress)
    sections: list[tuple[str, str, str]] = []
    units = parameter_units(sweep.scenario)
    try:
        if primary is not None:
            body = ""
            for factor in shown:
                body += _safe(
                    bar,
                    partial(sweep_figure, sweep, "share", parameter=factor, outcome=primary),
                    f"Share of {primary} against {factor}",
                )
            if len(heat) == 2:
                body += _safe(
                    bar,
                    lambda: sweep_figure(sweep, "heatmap", x=heat[0], y=heat[1], outcome=primary),
                    f"Heat map of {primary}",
                )
            sections.append(("shares", f"Share of {primary} across the sweep", body))
        if sensitivity:
            body = _analysis_body(
                bar,
                sensitivity,
                lambda name: partial(sweep_figure, sweep, "sensitivity", output=name),
                "{}",
                "Sensitivity of {}",
            )
            sections.append(("sensitivity", "Sensitivity ranking", body))
        if boxes:
            body = _analysis_body(
                bar,
                boxes,
                lambda name: partial(sweep_figure, sweep, "discovery", outcome=name),
                "Where {} happens",
                "Discovered box for {}",
            )
            sections.append(("discovery", "Discovered scenarios", body))
    finally:
        bar.close()
    limit = 200
    points = summary.head(limit)
    shown_columns = [c for c in ("point", *factors, "runs") if c in points.columns] + [
        f"share_{o}" for o in outcomes
    ]
    rows = [
        [
            h.percent(value) if str(column).startswith("share_") else value
            for column, value in zip(shown_columns, record, strict=True)
        ]
        for record in points[shown_columns].itertuples(index=False)
    ]
    header = [c[len("share_") :] + " (%)" if c.startswith("share_") else c for c in shown_columns]
    table = h.table(header, rows, numeric=range(len(header)))
    more = f"the first {limit} of " if len(summary) > limit else ""
    body = (
        f"<details><summary>Shares of each outcome at {more}the {len(summary):,} design "
        f'points</summary>{table}<p class="note">Intervals and statistics of every point '
        "are in summary.parquet.</p></details>"
    )
    failed = (
        summary[summary["failed"].fillna(False).astype(bool)]
        if "failed" in summary
        else summary.iloc[0:0]
    )
    if len(failed):
        body += "<h3>Failed points</h3>" + h.frame_table(failed[["point", "error"]])
    sections.append(("points", "Design points", body))
    if sweep.scenario is not None:
        sections.append(("doctrine", "Doctrine", doctrine_table(sweep.scenario)))
        sections.append(("parameters", "Parameters", parameter_table(sweep.scenario)))
    sections.append(("provenance", "Provenance", _provenance(manifest, folder)))
    facts = {
        "points": f"{len(summary):,}",
        "runs": f"{int(summary['runs'].sum()):,}" if "runs" in summary else "-",
        "factors": ", ".join(f"{f}" + (f" ({units[f]})" if f in units else "") for f in factors),
        "seed": str(sweep.seed),
    }
    name = (sweep.scenario.title or sweep.scenario.name) if sweep.scenario else folder.name
    return h.page(f"Sweep: {name}", "", facts, sections)


def _safe(bar: _Progress, make: Callable[[], Figure], alt: str) -> str:
    try:
        return bar.figure(make, alt)
    except FigureError as error:
        return f'<p class="note">{h.escape(alt)}: not drawn ({h.escape(error)}).</p>'


def _ranking(tables: dict[str, pd.DataFrame], factors: list[str]) -> list[str]:
    """Factors by their largest total Sobol index or mu* over the outputs, most important first."""
    score: dict[str, float] = {}
    for frame in tables.values():
        key = "ST" if "ST" in frame.columns else "mu_star"
        if key not in frame.columns:
            continue
        for name, value in zip(frame["parameter"].astype(str), frame[key], strict=True):
            if name in factors and np.isfinite(value):
                score[name] = max(score.get(name, -np.inf), float(value))
    return sorted(score, key=lambda n: -score[n])


def build_report(folder: str | os.PathLike[str], *, progress: bool = False) -> str:
    """The HTML report of a results folder (a run's or a sweep's), as one string.

    Parameters
    ----------
    folder
        A results folder written by ``escalation run`` (or a sweep's folder).
    progress
        Show a progress bar over the figures on standard error (when it is a terminal).
    """
    root = Path(folder)
    manifest = read_manifest(root)
    if manifest.get("kind") == "sweep":
        parts = _sweep_report(root, manifest, progress)
    else:
        parts = _run_report(root, manifest, progress)
    return parts


def _analysis_body(
    bar: _Progress,
    frames: dict[str, pd.DataFrame],
    figure: Callable[[str], Callable[[], Figure]],
    heading: str,
    alt: str,
) -> str:
    """One analysis file per heading: its figure, then its table."""
    body = ""
    for name, frame in frames.items():
        body += f"<h3>{h.escape(heading.format(name))}</h3>"
        body += _safe(bar, figure(name), alt.format(name))
        body += h.frame_table(frame)
    return body
