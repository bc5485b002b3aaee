"""The verbs ``escalation check`` and ``escalation calibrate``.

``check`` exits 0 when every target passes, 3 when some fail (``CHECK_FAILED``),
2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from escalation.cli import (
    CHECK_FAILED,
    BadInput,
    _progress,
    horizon_days,
    non_negative_int,
    positive_int,
)
from escalation.files import MANIFEST

__all__ = ["register"]


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {value:g}")
    return value


def _out(args: argparse.Namespace, name: str, verb: str) -> Path:
    if args.out:
        return Path(args.out)
    return Path("results") / f"{name}-{verb}-{time.strftime('%Y%m%d-%H%M%S')}"


def _command(args: argparse.Namespace) -> list[str]:
    return ["escalation", *(sys.argv[1:] if args.argv is None else args.argv)]


def _inputs(*paths: str) -> dict[str, str]:
    from escalation.scenario.loader import resolved_document
    from escalation.store import file_sha256

    files: list[str] = []
    for path in paths:
        _, sources = resolved_document(path)
        files.extend(sources.files)
    return {str(file): file_sha256(file) for file in dict.fromkeys(files)}


def _manifest(kind: str, args: argparse.Namespace, seed: int, **extra: Any) -> str:
    from escalation import __version__

    manifest = {
        "kind": kind,
        "escalation": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": _command(args),
        "seed": str(seed),
        "inputs": _inputs(args.scenario, args.targets),
        **extra,
    }
    return json.dumps(manifest, indent=2, default=str)


def _load(args: argparse.Namespace) -> tuple[Any, Any]:
    from escalation.scenario.loader import load_scenario
    from escalation.validation.targets import load_targets

    scenario = load_scenario(args.scenario, args.set)
    return scenario, load_targets(args.targets, scenario)


def cmd_check(args: argparse.Namespace) -> int:
    from escalation.experiments.replicates import default_workers
    from escalation.store import atomic_folder, check_writable
    from escalation.validation.check import check_scenario
    from escalation.validation.figures import check_figure

    scenario, targets = _load(args)
    out = _out(args, scenario.name, "check")
    check_writable(out, args.force)
    runs = args.runs or targets.runs
    update, close = _progress(runs, f"check {scenario.name}")
    try:
        result = check_scenario(
            scenario,
            targets,
            runs=runs,
            traced_runs=args.traced_runs,
            seed=args.seed,
            horizon_days=args.days,
            workers=args.workers or default_workers(),
            progress=update,
        )
    except ValueError as error:  # a statistic the settings cannot give (a short horizon)
        raise BadInput(str(error)) from None
    finally:
        close()
    print(result.text())
    with atomic_folder(out, args.force) as staging:
        result.table.to_parquet(staging / "check.parquet", index=False)
        (staging / "check.txt").write_text(result.text() + "\n", encoding="utf-8")
        check_figure(result).savefig(staging / "check.png", dpi=120)
        manifest = _manifest(
            "check",
            args,
            result.seed,
            settings=result.settings,
            passed=result.passed,
            targets=targets.model_dump(mode="json"),
            scenario=scenario.model_dump(mode="json"),
        )
        (staging / MANIFEST).write_text(manifest, encoding="utf-8")
    print(f"\nWritten to {out}/ (check.parquet, check.txt, check.png, manifest.json)")
    return 0 if result.passed else CHECK_FAILED


def cmd_calibrate(args: argparse.Namespace) -> int:
    from escalation import rng
    from escalation.experiments.factors import FactorError, parse_vary
    from escalation.experiments.replicates import default_workers
    from escalation.store import atomic_folder, check_writable
    from escalation.validation.calibrate import calibrate
    from escalation.validation.figures import posterior_figure
    from escalation.validation.report import posterior_text
    from escalation.validation.scenario_file import check_scenario_target, write_calibrated_scenario

    if args.write_scenario and args.set:
        raise BadInput(
            "--write-scenario writes a file that extends the scenario file, which cannot "
            "carry --set overrides: put them in a scenario that extends the original, and "
            "calibrate that"
        )
    if args.particles < 2:
        raise BadInput(f"--particles: a population needs 2 particles or more, got {args.particles}")
    scenario, targets = _load(args)
    factors = []
    for text in args.vary:
        try:
            factor = parse_vary(text, scenario)
        except FactorError as error:
            raise BadInput(str(error)) from None
        if factor.values is not None or factor.levels is not None:
            raise BadInput(
                f"--vary {text}: a calibration draws from a range; expected NAME=LOW:HIGH"
            )
        factors.append(factor)
    names = [f.name for f in factors]
    if len(set(names)) != len(names):
        raise BadInput(f"--vary names a parameter twice: {', '.join(names)}")
    out = _out(args, scenario.name, "calibrate")
    check_writable(out, args.force)
    if args.write_scenario:
        check_scenario_target(args.write_scenario, args.force, (args.scenario, args.targets))
    seed = args.seed if args.seed is not None else rng.fresh_seed()
    started = time.perf_counter()

    interactive = sys.stderr.isatty()

    def report(generation: int, accepted: int, simulated: int) -> None:
        done = accepted >= args.particles
        if not (interactive or done):
            return
        prefix = "\r" if interactive else ""
        print(
            f"{prefix}generation {generation}: {accepted}/{args.particles} "
            f"accepted of {simulated} simulated ({time.perf_counter() - started:.0f} s)",
            end="\n" if done else "",
            file=sys.stderr,
            flush=True,
        )

    try:
        calibration = calibrate(
            scenario,
            targets,
            factors,
            particles=args.particles,
            generations=args.generations,
            runs=args.runs,
            quantile=args.quantile,
            min_acceptance=args.min_acceptance,
            seed=seed,
            horizon_days=args.days,
            workers=args.workers or default_workers(),
            progress=report,
        )
    except ValueError as error:  # a prior whose particles cannot be measured
        raise BadInput(str(error)) from None
    finally:
        if interactive:
            print(file=sys.stderr)
    elapsed = time.perf_counter() - started
    summary = calibration.summary()
    text = posterior_text(summary, calibration.generations, calibration.met())
    print(text)
    print(f"\n{elapsed:.0f} s; seed {seed}")
    units = {f.name: _unit(scenario, f.name) for f in factors}
    caption = (
        f"{scenario.name} against targets {targets.name}: {len(calibration.particles)} particles, "
        f"{int(calibration.generations['kept'].sum())} generations, {args.runs} runs each, "
        f"seed {seed}"
    )
    with atomic_folder(out, args.force) as staging:
        calibration.particles.to_parquet(staging / "particles.parquet", index=False)
        calibration.history.to_parquet(staging / "history.parquet", index=False)
        calibration.generations.to_parquet(staging / "generations.parquet", index=False)
        summary.reset_index().to_parquet(staging / "posterior.parquet", index=False)
        (staging / "calibration.txt").write_text(text + "\n", encoding="utf-8")
        figure = posterior_figure(
            calibration.particles,
            {f.name: (f.low, f.high) for f in factors},
            caption,
            units,
            frozenset(f.name for f in factors if f.integer),
        )
        figure.savefig(staging / "posterior.png", dpi=120)
        manifest = _manifest(
            "calibration",
            args,
            seed,
            settings={**calibration.settings, "seconds": elapsed},
            priors={f.name: [f.low, f.high] for f in factors},
            scales=calibration.scales,
            targets=targets.model_dump(mode="json"),
        )
        (staging / MANIFEST).write_text(manifest, encoding="utf-8")
    print(
        f"\nWritten to {out}/ (particles.parquet, history.parquet, generations.parquet, "
        "posterior.parquet, calibration.txt, posterior.png, manifest.json)"
    )
    if args.write_scenario:
        write_calibrated_scenario(
            calibration,
            args.scenario,
            args.write_scenario,
            targets_path=args.targets,
            force=args.force,
        )
        print(
            f"Calibrated scenario: {args.write_scenario}; check it with\n"
            f"  escalation check {args.write_scenario} --targets {args.targets}"
        )
    return 0


def _unit(scenario: Any, name: str) -> str:
    actor, dot, short = name.partition(".")
    parameter = scenario.actors[actor].parameters[short] if dot else scenario.parameters[name]
    return str(parameter.unit)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="scenario file (YAML)")
    parser.add_argument("--targets", required=True, metavar="FILE", help="targets file (YAML)")
    parser.add_argument(
        "--days", type=horizon_days, help="horizon in days, 1 to 36500 (default: scenario's)"
    )
    parser.add_argument("--seed", type=non_negative_int, help="root seed (default: drawn)")
    parser.add_argument(
        "--set", action="append", default=[], metavar="PATH=VALUE", help="override a value"
    )
    parser.add_argument("--workers", type=positive_int, help="processes (default: all cores)")
    parser.add_argument("--force", action="store_true", help="replace existing output")


def register(subparsers: Any) -> None:
    """Add the verbs ``check`` and ``calibrate``."""
    check = subparsers.add_parser(
        "check",
        help="compare a scenario's runs with stylized facts (exit 3 if any fails)",
        description="Run the scenario and compare, per target, the model's distribution with "
        "the observed value: median and central interval, the record's percentile, pass or "
        "fail.  Exit code 0 only when every target passes; 3 when some fail.",
    )
    _common(check)
    check.add_argument("--runs", type=positive_int, help="runs (default: the targets file's)")
    check.add_argument(
        "--traced-runs",
        type=positive_int,
        help="runs replayed act by act for event statistics (default: the targets file's)",
    )
    check.add_argument("--out", help="output folder (default: results/NAME-check-TIMESTAMP)")
    check.set_defaults(handler=cmd_check)

    calibrate = subparsers.add_parser(
        "calibrate",
        help="find parameter values consistent with the targets (ABC-SMC)",
        description="Approximate Bayesian computation by sequential Monte Carlo over uniform "
        "priors given by --vary; reports the accepted parameter distribution and can write a "
        "calibrated scenario that extends the original.",
    )
    _common(calibrate)
    calibrate.add_argument(
        "--vary",
        action="append",
        required=True,
        metavar="NAME=LOW:HIGH",
        help="a parameter and its prior range (repeat for each)",
    )
    calibrate.add_argument(
        "--particles", type=positive_int, default=100, help="particles per generation (100)"
    )
    calibrate.add_argument(
        "--generations", type=positive_int, default=4, help="most generations (4)"
    )
    calibrate.add_argument(
        "--runs", type=positive_int, default=40, help="runs simulated per particle (40)"
    )
    calibrate.add_argument(
        "--quantile",
        type=_share,
        default=0.5,
        help="tolerance: this quantile of the previous generation's distances (0.5)",
    )
    calibrate.add_argument(
        "--min-acceptance",
        type=_share,
        default=0.02,
        help="stop when a generation accepts fewer than this share of candidates (0.02)",
    )
    calibrate.add_argument(
        "--out", help="output folder (default: results/NAME-calibrate-TIMESTAMP)"
    )
    calibrate.add_argument(
        "--write-scenario",
        metavar="FILE",
        help="write a scenario that extends the original with the posterior medians",
    )
    calibrate.set_defaults(handler=cmd_calibrate)
