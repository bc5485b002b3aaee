"""The verbs ``plot``, ``compare`` and ``report``: a figure or a report, one command away."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["register"]


def _cli() -> Any:
    # Imported late: escalation.cli imports this module while it builds its parser.
    from escalation import cli

    return cli


def _folder_kind(folder: str) -> tuple[str, dict[str, Any]]:
    from escalation.store import read_manifest

    try:
        manifest = read_manifest(folder)
    except FileNotFoundError as error:
        raise _cli().BadInput(str(error)) from None
    return str(manifest.get("kind", "run")), manifest


def _output_path(out: str | None, default: Path, force: bool) -> Path:
    from escalation.files import check_file
    from escalation.plots.canvas import FORMATS

    path = Path(out) if out else default
    if path.suffix.lstrip(".").lower() not in FORMATS:
        raise _cli().BadInput(
            f"{path}: the figure's format comes from its suffix; expected "
            + ", ".join("." + f for f in FORMATS)
        )
    return check_file(path, force)


def _figure_name(args: argparse.Namespace) -> str:
    parts = [args.kind]
    if args.kind == "timeline" and args.run is not None:
        parts.append(f"run{args.run}")
    for value in (args.parameter, args.x, args.y, args.outcome, args.output, args.variable):
        if value:
            parts.append(str(value))
    return "-".join(parts)


def cmd_plot(args: argparse.Namespace) -> int:
    from escalation.plots.canvas import save_figure
    from escalation.plots.gallery import (
        RUN_KINDS,
        FigureError,
        read_sweep,
        run_figure,
        sweep_figure,
    )
    from escalation.store import read_results

    kind, manifest = _folder_kind(args.results)
    is_sweep = kind == "sweep"
    if is_sweep == (args.kind in RUN_KINDS):
        raise _cli().BadInput(
            f"--kind {args.kind} needs a {'run' if args.kind in RUN_KINDS else 'sweep'} folder; "
            f"{args.results} holds a {kind}"
        )
    default = Path(args.results) / "figures" / f"{_figure_name(args)}.png"
    out = _output_path(args.out, default, args.force)
    try:
        if is_sweep:
            figure = sweep_figure(
                read_sweep(args.results, manifest),
                args.kind,
                parameter=args.parameter,
                x=args.x,
                y=args.y,
                outcome=args.outcome,
                output=args.output,
            )
        else:
            figure = run_figure(
                read_results(args.results, lazy=True),
                args.kind,
                run=args.run,
                variable=args.variable,
            )
    except FigureError as error:
        raise _cli().BadInput(str(error)) from None
    save_figure(figure, out, dpi=args.dpi)
    print(f"Figure written to {out}")
    return 0


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return unique


def _comparison_rows(tables: dict[str, Any]) -> list[str]:
    outcomes: list[str] = []
    for table in tables.values():
        outcomes += [str(o) for o in table.index if str(o) not in outcomes]
    width = max(24, *(len(name) + 2 for name in tables))
    lines = [f"{'Outcome':<22}" + "".join(f"{name:>{width}}" for name in tables)]
    for outcome in outcomes:
        cells = []
        for table in tables.values():
            if outcome not in table.index:
                cells.append(f"{'-':>{width}}")
                continue
            row = table.loc[outcome]
            text = f"{100 * row['share']:.1f}% [{100 * row['low']:.1f}, {100 * row['high']:.1f}]"
            cells.append(f"{text:>{width}}")
        lines.append(f"{outcome:<22}" + "".join(cells))
    return lines


def cmd_compare(args: argparse.Namespace) -> int:
    from escalation.experiments.replicates import default_workers, run_scenario
    from escalation.files import check_folder
    from escalation.plots.canvas import save_figure
    from escalation.plots.outcomes import plot_outcome_shares
    from escalation.report_text import RunColumns, outcome_table
    from escalation.store import read_results, write_results

    cli = _cli()
    for item in args.inputs:
        if not Path(item).exists():
            raise cli.BadInput(f"{item}: no such scenario file or results folder")
    plan: list[tuple[str, Path]] = []
    for item in args.inputs:
        path = Path(item)
        if path.is_dir():
            kind, _ = _folder_kind(item)
            if kind != "run":
                raise cli.BadInput(f"{item}: a {kind} folder; compare takes run folders")
            plan.append(("read", path))
        else:
            plan.append(("run", path))
    if all(how == "read" for how, _ in plan):
        given = [
            flag
            for flag, value in (("--runs", args.runs), ("--days", args.days), ("--seed", args.seed))
            if value is not None
        ]
        if given:
            raise cli.BadInput(
                f"{', '.join(given)} apply to scenario files, which are run; every input here "
                "is a results folder, read as it is"
            )
    # Every scenario is loaded before any is run, so a typo in the last file costs nothing.
    loaded = {path: cli._load(str(path)) for how, path in plan if how == "run"}
    names = _unique_names(
        [
            loaded[path].name if how == "run" else read_results(path, lazy=True).scenario.name
            for how, path in plan
        ]
    )
    stamp = time.strftime("%Y%m%d-%H%M%S")
    default = Path("results") / f"compare-{'-'.join(names)}-{stamp}.png"
    out = _output_path(args.out, default, args.force)
    if args.keep:
        for name, (how, _) in zip(names, plan, strict=True):
            if how == "run":
                check_folder(Path(args.keep) / name, args.force, "--keep")
    tables = {}
    seeds = {}
    workers = args.workers or default_workers()
    for name, (how, path) in zip(names, plan, strict=True):
        if how == "read":
            results = read_results(path, lazy=True)
        else:
            scenario = loaded[path]
            runs = args.runs or scenario.runs
            update, close = cli._progress(runs, name)
            try:
                results = run_scenario(
                    scenario,
                    runs=runs,
                    seed=args.seed,
                    horizon_days=args.days,
                    workers=workers,
                    progress=update,
                )
            finally:
                close()
            if args.keep:
                write_results(
                    results,
                    Path(args.keep) / name,
                    force=args.force,
                    command=["escalation", *(sys.argv[1:] if args.argv is None else args.argv)],
                    input_files=[path],
                )
        tables[name] = outcome_table(RunColumns(results))
        seeds[name] = results.seed
    ax = plot_outcome_shares(tables, seed=seeds, title="Outcomes compared")
    save_figure(cast("Figure", ax.figure), out, dpi=args.dpi)
    for line in _comparison_rows(tables):
        print(line)
    print(
        "\nShares of runs with Wilson 95% intervals; seeds: "
        + ", ".join(f"{name} {seed}" for name, seed in seeds.items())
    )
    print(f"Figure written to {out}")
    if args.keep:
        print(f"Results of the scenarios run written under {args.keep}/")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from escalation.files import check_file
    from escalation.report import build_report
    from escalation.store import atomic_write_text

    _folder_kind(args.results)
    out = Path(args.out) if args.out else Path(args.results) / "report.html"
    if out.suffix.lower() not in (".html", ".htm"):
        raise _cli().BadInput(f"{out}: a report is an HTML file; give it the suffix .html")
    check_file(out, args.force)
    html = build_report(args.results, progress=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, html)
    print(f"Report written to {out} ({len(html.encode('utf-8')) / 1e6:.1f} MB, self-contained)")
    return 0


DPI_RANGE = (10, 1200)
"""The resolutions a figure may be drawn at: 1,200 dots per inch is print quality;
beyond it a figure's pixels outgrow the memory of an ordinary machine."""


def dpi(text: str) -> int:
    """A resolution for ``--dpi``, within `DPI_RANGE`."""
    low, high = DPI_RANGE
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"expected {low} to {high} dots per inch, got {value}")
    return value


def register(verbs: Any) -> None:
    """Add the verbs ``plot``, ``compare`` and ``report`` to the command line."""
    from escalation.kinds import RUN_KINDS, SWEEP_KINDS

    cli = _cli()
    plot = verbs.add_parser("plot", help="draw a figure of a results folder")
    plot.add_argument("results", help="results folder (of a run or of a sweep)")
    plot.add_argument(
        "--kind",
        required=True,
        choices=(*RUN_KINDS, *SWEEP_KINDS),
        help="run folders: " + ", ".join(RUN_KINDS) + "; sweep folders: " + ", ".join(SWEEP_KINDS),
    )
    plot.add_argument(
        "-o", "--out", help="figure file, .png, .svg or .pdf (default: RESULTS/figures/KIND.png)"
    )
    plot.add_argument("--force", action="store_true", help="replace an existing figure file")
    plot.add_argument("--run", type=cli.non_negative_int, help="timeline: the run to replay")
    plot.add_argument("--variable", help="survival: the boolean variable marking a truce")
    plot.add_argument("--parameter", help="share: the factor on the horizontal axis")
    plot.add_argument("--x", help="heatmap: the factor across")
    plot.add_argument("--y", help="heatmap: the factor up")
    plot.add_argument("--outcome", help="share, heatmap, discovery: the outcome")
    plot.add_argument("--output", help="sensitivity: the output analysed")
    plot.add_argument("--dpi", type=dpi, default=200, help="PNG resolution, 10 to 1200")
    plot.set_defaults(handler=cmd_plot)

    compare = verbs.add_parser(
        "compare", help="draw the outcome shares of several scenarios side by side"
    )
    compare.add_argument(
        "inputs",
        nargs="+",
        metavar="SCENARIO_OR_RESULTS",
        help="scenario files (run now) or run folders (read)",
    )
    compare.add_argument("--runs", type=cli.positive_int, help="runs per scenario file")
    compare.add_argument("--days", type=cli.horizon_days, help="horizon in days, 1 to 36500")
    compare.add_argument(
        "--seed", type=cli.non_negative_int, help="root seed for every scenario file run"
    )
    compare.add_argument("--workers", type=cli.positive_int, help="processes (default: all cores)")
    compare.add_argument(
        "-o", "--out", help="figure file (default: results/compare-NAMES-TIME.png)"
    )
    compare.add_argument(
        "--keep", metavar="DIR", help="also write each run scenario's results to DIR/NAME"
    )
    compare.add_argument("--force", action="store_true", help="replace existing outputs")
    compare.add_argument("--dpi", type=dpi, default=200, help="PNG resolution, 10 to 1200")
    compare.set_defaults(handler=cmd_compare)

    report = verbs.add_parser(
        "report", help="write a self-contained HTML report of a results folder"
    )
    report.add_argument("results", help="results folder (of a run or of a sweep)")
    report.add_argument("-o", "--out", help="HTML file (default: RESULTS/report.html)")
    report.add_argument("--force", action="store_true", help="replace an existing report")
    report.set_defaults(handler=cmd_report)
