"""The ``sweep`` and ``analyze`` verbs of the ``escalation`` command.

::

    escalation sweep EXPERIMENT.yaml
    escalation sweep SCENARIO.yaml --vary strike_threshold=5:20:4 \\
        --vary mediation_eagerness=0.1,0.5,0.9 --runs 1000
    escalation sweep SCENARIO.yaml --vary strike_threshold=5:20 --vary hardliner_share0=0:1 \\
        --vary mediation_eagerness=0:1 --design sobol --samples 256 --runs 1000
    escalation analyze RESULTS                      # Sobol indices or Morris effects
    escalation analyze RESULTS --discover open_war --threshold 0.3
"""

from __future__ import annotations

import argparse
import math
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from escalation.cli import BadInput, horizon_days, non_negative_int, positive_int

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["cmd_analyze", "cmd_sweep", "register"]

_DESIGN_FLAGS = {
    "design.kind": "--design",
    "design.points": "--points",
    "design.samples": "--samples",
    "design.second_order": "--second-order",
    "design.trajectories": "--trajectories",
    "design.levels": "--levels",
    "design.file": "--table",
    "factors": "--vary",
}


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {value:g}")
    return value


def _finite_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def register(subparsers: Any) -> None:
    """Add ``sweep`` and ``analyze`` to the command's verbs."""
    from escalation.kinds import DESIGNS, EXECUTORS

    sweep = subparsers.add_parser(
        "sweep",
        help="run a scenario across many parameter values (resumable)",
        description="Run every point of a design, many runs each. Run the same command again "
        "after an interruption to resume.",
    )
    sweep.add_argument("file", help="an experiment file, or a scenario file with --vary")
    sweep.add_argument(
        "--vary",
        action="append",
        default=[],
        metavar="NAME=SPEC",
        help="a parameter to vary: NAME=LOW:HIGH, NAME=LOW:HIGH:LEVELS or NAME=V1,V2,... "
        "(NAME=V holds it at V)",
    )
    sweep.add_argument("--design", choices=DESIGNS, help="default: grid (or table with --table)")
    sweep.add_argument("--points", type=positive_int, help="lhs, monte_carlo: points")
    sweep.add_argument("--samples", type=positive_int, help="sobol: base size N, a power of 2")
    sweep.add_argument("--second-order", action="store_true", help="sobol: second-order too")
    sweep.add_argument("--trajectories", type=positive_int, help="morris: trajectories")
    sweep.add_argument("--levels", type=positive_int, help="morris: grid levels (even)")
    sweep.add_argument("--table", metavar="CSV", help="table: a CSV file of points")
    sweep.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="override a scenario value before sweeping (scenario files only)",
    )
    sweep.add_argument("--runs", type=positive_int, help="runs per point")
    sweep.add_argument("--days", type=horizon_days, help="horizon in days, 1 to 36500")
    sweep.add_argument("--seed", type=non_negative_int, help="root seed (default: drawn)")
    sweep.add_argument("--out", help="sweep folder (default: results/NAME-sweep-HASH)")
    sweep.add_argument("--force", action="store_true", help="replace what the folder holds")
    sweep.add_argument(
        "--executor", choices=EXECUTORS, help="default: local (dask with --scheduler)"
    )
    sweep.add_argument("--scheduler", metavar="ADDRESS", help="a Dask scheduler, tcp://host:port")
    sweep.add_argument("--workers", type=positive_int, help="processes (default: all cores)")
    sweep.add_argument(
        "--block-size",
        type=positive_int,
        help="runs a worker advances at once (at most; default: as run, in whole points)",
    )
    sweep.set_defaults(handler=cmd_sweep)

    analyze = subparsers.add_parser(
        "analyze",
        help="sensitivity indices and scenario discovery on a sweep",
        description="Sobol indices (sobol design) or Morris effects (morris design) of "
        "replicate-averaged outputs; --discover finds the region where an outcome prevails.",
    )
    analyze.add_argument("results", help="a sweep folder")
    analyze.add_argument(
        "--output",
        action="append",
        default=[],
        metavar="NAME",
        help="an outcome (share) or a summary column such as mean_max_rung (default: "
        "every outcome share that varies)",
    )
    analyze.add_argument("--discover", metavar="OUTPUT", help="scenario discovery (PRIM)")
    analyze.add_argument(
        "--threshold", type=_finite_number, help="a case passes this (default: 0.5 for a share)"
    )
    analyze.add_argument("--below", action="store_true", help="cases fall below the threshold")
    analyze.add_argument(
        "--min-coverage",
        type=_probability,
        help="keep the densest box with this coverage (default: balance coverage and density)",
    )
    analyze.add_argument("--resamples", type=positive_int, default=1000, help="bootstrap")
    analyze.add_argument("--force", action="store_true", help="replace existing analysis files")
    analyze.set_defaults(handler=cmd_analyze)


def _spec(args: argparse.Namespace) -> Any:
    from escalation.experiments.design import DesignFactor, DesignKind, DesignSpec
    from escalation.experiments.experiment import (
        command_line_experiment,
        is_experiment_file,
        load_experiment,
        sweep_spec,
    )
    from escalation.experiments.factors import FactorError, parse_vary
    from escalation.scenario.loader import load_scenario

    design_flags = [
        name
        for name, given in (
            ("--vary", args.vary),
            ("--design", args.design),
            ("--points", args.points),
            ("--samples", args.samples),
            ("--second-order", args.second_order),
            ("--trajectories", args.trajectories),
            ("--levels", args.levels),
            ("--table", args.table),
            ("--set", args.set),
        )
        if given
    ]
    if not Path(args.file).is_file():
        raise BadInput(f"{args.file}: no such file")
    if is_experiment_file(args.file):
        if design_flags:
            raise BadInput(
                f"{args.file} is an experiment file: it says its factors, design and "
                f"overrides itself; {', '.join(design_flags)} are for a scenario file"
            )
        experiment, source = load_experiment(args.file)
        return sweep_spec(
            experiment,
            file=args.file,
            source=source,
            runs=args.runs,
            horizon_days=args.days,
            seed=args.seed,
        )
    if not args.vary and not args.table:
        raise BadInput(
            "say what to vary: --vary NAME=LOW:HIGH[:LEVELS] or NAME=V1,V2,... (or --table "
            "CSV), or give an experiment file"
        )
    scenario = load_scenario(args.file, args.set)
    try:
        factors = [DesignFactor(parse_vary(text, scenario)) for text in args.vary]
    except FactorError as error:
        raise BadInput(str(error)) from None
    kind = args.design or ("table" if args.table else "grid")
    if kind == "grid" and not args.design:
        ranges = [f.name for f in factors if not f.discrete]
        if ranges:
            raise BadInput(
                f"--vary {ranges[0]} is a range without levels: give LOW:HIGH:LEVELS for a "
                "grid, or choose a design (--design lhs --points N, --design sobol --samples "
                "N, --design morris --trajectories N, --design monte_carlo --points N)"
            )
    design = DesignSpec(
        kind=cast(DesignKind, kind),
        points=args.points,
        samples=args.samples,
        second_order=args.second_order,
        trajectories=args.trajectories,
        levels=args.levels,
        table=args.table,
    )
    experiment = command_line_experiment(
        args.file, factors, design, overrides=args.set, flags=_DESIGN_FLAGS
    )
    return sweep_spec(
        experiment, flags=_DESIGN_FLAGS, runs=args.runs, horizon_days=args.days, seed=args.seed
    )


def cmd_sweep(args: argparse.Namespace) -> int:
    """``escalation sweep``: run or resume a sweep, then summarise it."""
    from tqdm.auto import tqdm

    from escalation.experiments.executors import open_executor
    from escalation.experiments.sweep import SweepError, run_sweep
    from escalation.experiments.sweep_folder import read_sweep

    spec = _spec(args)
    out = Path(args.out) if args.out else Path("results") / f"{spec.name}-sweep-{spec.digest()}"
    kind = args.executor or ("dask" if args.scheduler else "local")
    if args.scheduler and kind != "dask":
        raise BadInput("--scheduler needs --executor dask")
    command = ["escalation", *(sys.argv[1:] if args.argv is None else args.argv)]
    bar: Any = None
    counts = [0, 0]  # points done, points in all

    def start(points: int, done: int, runs: int) -> None:
        nonlocal bar
        if done:
            print(f"Resuming {out}: {done:,} of {points:,} points already done.", file=sys.stderr)
        bar = tqdm(
            total=(points - done) * runs,
            unit="run",
            desc="sweep",
            disable=None,
            file=sys.stderr,
            smoothing=0.1,
            dynamic_ncols=True,
        )
        counts[:] = [done, points]
        bar.set_postfix_str(f"points {done:,}/{points:,}")

    def progress(runs: int, points: int) -> None:
        bar.update(runs)
        if points:
            counts[0] += points
            bar.set_postfix_str(f"points {counts[0]:,}/{counts[1]:,}", refresh=False)

    try:
        with open_executor(kind, args.workers, args.scheduler) as handle:
            outcome = run_sweep(
                spec,
                out,
                executor=handle,
                block_size=args.block_size,
                force=args.force,
                command=command,
                progress=progress,
                on_start=start,
            )
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        print(
            f"escalation sweep: interrupted; the points finished are kept in {out}/. Run the "
            "same command again to resume.",
            file=sys.stderr,
        )
        return 130
    except SweepError as error:
        print(f"escalation sweep: {error}", file=sys.stderr)
        return 1
    finally:
        if bar is not None:
            bar.close()
    results = read_sweep(out)
    print(_sweep_report(results, outcome, handle.description))
    if outcome.failures and len(outcome.failures) == outcome.points:
        return 2
    return 0


def _sweep_report(results: Any, outcome: Any, executor: str) -> str:
    manifest = results.manifest
    summary = results.summary
    design = manifest["design"]
    lines = [
        f"Sweep {results.folder.name}: {outcome.points:,} points ({design['kind']}) x "
        f"{outcome.runs_per_point:,} runs x {manifest['horizon_days']} days, seed {outcome.seed}",
    ]
    if outcome.already_complete:
        lines.append("Already complete: nothing to run.")
    else:
        ran = outcome.points - outcome.skipped
        rate = ran * outcome.runs_per_point / outcome.seconds if outcome.seconds else 0.0
        lines.append(
            f"{ran:,} points run in {outcome.seconds:,.1f} s ({rate:,.0f} runs/s) on {executor}"
            + (f"; {outcome.skipped:,} were done before" if outcome.skipped else "")
        )
    ok = summary[~summary["failed"]]
    shares = [
        c for c in summary.columns if c.startswith("share_") and not c.endswith(("_low", "_high"))
    ]
    if len(ok):
        lines += ["", f"{'Outcome share across points':<32}{'min':>8}{'median':>8}{'max':>8}"]
        for column in shares:
            values = ok[column]
            if column == "share_unclassified" and not values.any():
                continue
            lines.append(
                f"  {column.removeprefix('share_'):<30}{values.min():>8.3f}"
                f"{values.median():>8.3f}{values.max():>8.3f}"
            )
    failed = summary[summary["failed"]]
    if len(failed):
        noun = "point" if len(failed) == 1 else "points"
        lines += ["", f"{len(failed):,} {noun} failed (recorded in summary.parquet):"]
        names = results.factor_names
        for _, row in failed.head(10).iterrows():
            values = ", ".join(f"{n}={row[n]:g}" for n in names)
            lines.append(f"  point {int(row['point'])} ({values}): {row['error']}")
        if len(failed) > 10:
            lines.append(f"  ... and {len(failed) - 10:,} more")
    lines += [
        "",
        f"Results in {results.folder}/: points.parquet, runs.parquet, summary.parquet, "
        "manifest.json",
        f"Analyse: escalation analyze {results.folder}"
        + ("" if design["kind"] in ("sobol", "morris") else " --discover OUTCOME"),
    ]
    return "\n".join(lines)


def cmd_analyze(args: argparse.Namespace) -> int:
    """``escalation analyze``: Sobol or Morris indices, or PRIM boxes, of a sweep."""
    from escalation.experiments.sensitivity import (
        AnalysisError,
        default_outputs,
        output_column,
        output_values,
        sensitivity,
        sobol_sensitivity,
    )
    from escalation.experiments.sweep_folder import SweepError, read_sweep, write_analysis

    try:
        results = read_sweep(args.results)
    except SweepError as error:
        raise BadInput(str(error)) from None
    summary = results.summary
    if len(summary) and summary["failed"].all():
        raise BadInput(
            f"{args.results}: no point of the sweep succeeded (all {len(summary):,} failed; "
            "their errors are in summary.parquet): there is nothing to analyse"
        )
    try:
        if args.discover:
            return _discover(args, results)
        kind = results.manifest["design"]["kind"]
        if kind not in ("sobol", "morris"):
            raise BadInput(
                f"{args.results}: the {kind} design gives no sensitivity indices (they need a "
                "sobol or morris design); find where an outcome prevails with --discover "
                "OUTCOME [--threshold T]"
            )
        outputs = [output_column(summary, name) for name in args.output]
        outputs = outputs or default_outputs(summary)
        if not outputs:
            raise BadInput(f"{args.results}: no outcome share varies across the points")
        folder = Path(args.results) / "analysis"
        targets = {output: folder / f"{kind}_{output}.parquet" for output in outputs}
        # A second-order design gives the pairs' indices too, in a file of their own.
        second_order = kind == "sobol" and bool(results.manifest["design"].get("second_order"))
        pairs = {output: folder / f"sobol2_{output}.parquet" for output in outputs}
        for path in [*targets.values(), *(pairs.values() if second_order else ())]:
            if path.exists() and not args.force:
                raise BadInput(f"{path} exists; pass --force to replace it")
        # Every point must have run and defined every output (checked before anything
        # is written); only then can an output be said to be the same at every point.
        values = {output: output_values(results, output) for output in outputs}
        for output, path in targets.items():
            if values[output].min() == values[output].max():
                print(f"{output}: the same at every point ({values[output][0]:g}); no indices.\n")
                continue
            if kind == "sobol":  # the pairs' indices come from the same analysis
                table, pair_table = sobol_sensitivity(results, output, resamples=args.resamples)
            else:
                table, pair_table = sensitivity(results, output, resamples=args.resamples), None
            write_analysis(table, path, force=args.force)
            print(_ranked(table, kind, output, path))
            if pair_table is not None:
                write_analysis(pair_table, pairs[output], force=args.force)
                print(_pairs(pair_table, output, pairs[output]))
        note = _uneven_note(results) if kind == "morris" else ""
        if note:
            print(note)
    except AnalysisError as error:
        raise BadInput(f"{args.results}: {error}") from None
    return 0


def _ranked(table: pd.DataFrame, kind: str, output: str, path: Path) -> str:
    if kind == "sobol":
        lines = [
            f"Sobol indices of {output} (95% bootstrap half-widths), by total index:",
            f"  {'parameter':<36}{'first order S1':>20}{'total ST':>20}",
        ]
        for _, row in table.iterrows():
            lines.append(
                f"  {row['parameter']:<36}{_pm(row['S1'], row['S1_conf']):>20}"
                f"{_pm(row['ST'], row['ST_conf']):>20}"
            )
    else:
        lines = [
            f"Morris elementary effects on {output} (per unit of normalised range), by mu*:",
            f"  {'parameter':<36}{'mu*':>20}{'sigma':>10}{'mu':>10}",
        ]
        for _, row in table.iterrows():
            lines.append(
                f"  {row['parameter']:<36}{_pm(row['mu_star'], row['mu_star_conf']):>20}"
                f"{row['sigma']:>10.3f}{row['mu']:>10.3f}"
            )
    lines.append(f"  written to {path}\n")
    return "\n".join(lines)


def _pairs(table: pd.DataFrame, output: str, path: Path) -> str:
    lines = [
        f"Second-order Sobol indices of {output} (95% bootstrap half-widths), by S2:",
        f"  {'pair of parameters':<56}{'S2':>20}",
    ]
    for _, row in table.iterrows():
        pair = f"{row['parameter']} x {row['with']}"
        lines.append(f"  {pair:<56}{_pm(row['S2'], row['S2_conf']):>20}")
    lines.append(f"  written to {path}\n")
    return "\n".join(lines)


def _uneven_note(results: Any) -> str:
    """A note on the factors whose values the Morris levels do not reach evenly ("" if none)."""
    from escalation.experiments.design import MORRIS_LEVELS, DesignFactor
    from escalation.experiments.sensitivity import uneven_morris_factors

    levels = int(results.manifest["design"].get("levels") or MORRIS_LEVELS)
    factors = [DesignFactor.from_dict(f) for f in results.manifest["factors"]]
    uneven = uneven_morris_factors(factors, levels)
    if not uneven:
        return ""
    named = ", ".join(f"{name} ({count} values)" for name, count in uneven.items())
    text = (
        f"Note: the {levels} Morris levels move {named} in uneven steps (a factor of n "
        f"values moves evenly when n - 1 is a multiple of {levels - 1}): each of its "
        "elementary effects is divided by the step its value made, not by the levels' "
        "step."
    )
    return "\n".join(textwrap.wrap(text, width=96)) + "\n"


def _pm(value: float, half: float) -> str:
    return f"{value:.3f} ± {half:.3f}" if math.isfinite(half) else f"{value:.3f}"


def _discover(args: argparse.Namespace, results: Any) -> int:
    from escalation.experiments.discovery import discover, prim_table, rules_text
    from escalation.experiments.factors import parameter_named
    from escalation.experiments.sensitivity import output_column
    from escalation.experiments.sweep_folder import write_analysis
    from escalation.scenario.schema import Scenario

    summary = results.summary
    output = output_column(summary, args.discover)
    threshold = args.threshold
    if threshold is None:
        if not output.startswith("share_"):
            raise BadInput(f"--discover {output}: give --threshold (a metric has no default)")
        threshold = 0.5
    name = output.removeprefix("share_")
    path = Path(args.results) / "analysis" / f"prim_{name}.parquet"
    if path.exists() and not args.force:
        raise BadInput(f"{path} exists; pass --force to replace it")
    try:
        result = discover(
            summary,
            results.factor_names,
            output,
            threshold,
            above=not args.below,
            min_coverage=args.min_coverage,
        )
    except ValueError as error:
        raise BadInput(f"--discover {output}: {error}") from None
    write_analysis(prim_table(result), path, force=args.force)
    points = results.points[results.factor_names]
    scenario = Scenario.model_validate(results.manifest["scenario"])
    units = {name: parameter_named(scenario, name)[1].unit for name in results.factor_names}
    # discover() leaves out the points that failed or where the output is undefined;
    # coverage, density and mass are shares of the points it kept.
    used = int((~summary["failed"].astype(bool) & summary[output].notna()).sum())
    if used == len(summary):
        print(f"Scenario discovery (PRIM) on {used:,} points:")
    else:
        print(
            f"Scenario discovery (PRIM) on {used:,} of {len(summary):,} points (the "
            f"{len(summary) - used:,} that failed or where {output} is undefined are left out):"
        )
    print(f"  {rules_text(result, points, units)}")
    print(f"  written to {path}")
    return 0
