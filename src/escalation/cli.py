"""The ``escalation`` command: thin verbs over the library.

Exit codes: 0 success, 2 bad input (with a message naming what was expected,
never a traceback), 1 internal error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from escalation.kinds import MAX_HORIZON_DAYS

__all__ = ["BadInput", "horizon_days", "main", "non_negative_int", "positive_int"]

EXTENSIONS: tuple[str, ...] = (
    "escalation.validation.commands",
    "escalation.plots.commands",
    "escalation.experiments.commands",
)
"""Modules that add verbs: each has ``register(subparsers)``."""


CHECK_FAILED = 3
"""The exit code of a command that ran but whose check failed: `check` with a target
not met, `replay` with a replay that differs from the stored run."""


class BadInput(Exception):
    """An error in what the user gave: printed as is, exit code 2."""


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {value}")
    return value


def horizon_days(text: str) -> int:
    value = positive_int(text)
    if value > MAX_HORIZON_DAYS:
        raise argparse.ArgumentTypeError(
            f"expected at most {MAX_HORIZON_DAYS} days (a hundred years), got {value}"
        )
    return value


def _progress(total: int, label: str) -> tuple[Callable[[int], None], Callable[[], None]]:
    from tqdm.auto import tqdm

    bar = tqdm(total=total, unit="run", desc=label, disable=None, file=sys.stderr, smoothing=0.1)
    return bar.update, bar.close


MODEL_VERBS = frozenset({"run", "replay", "sweep", "check", "calibrate"})
"""The commands that run the model, and so compile its kernels on a machine's first run."""


def _say_if_compiling() -> None:
    """Tell a user at a terminal that this run compiles the engine's kernels first, so
    that the wait before the progress bar moves is not taken for a hang."""
    if not sys.stderr.isatty():
        return
    from escalation.model.kernels import cached_on_disk

    if cached_on_disk() is False:
        print(
            "escalation: compiling the engine's kernels for this machine first (once, "
            "about 20 seconds; later runs load them from numba's cache)",
            file=sys.stderr,
        )


def _load(path: str, overrides: Sequence[str] = ()) -> Any:
    from escalation.scenario.loader import load_scenario

    return load_scenario(path, overrides)


def _default_out(name: str) -> Path:
    return Path("results") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"


def cmd_run(args: argparse.Namespace) -> int:
    from escalation.experiments.replicates import default_workers, plan_runs
    from escalation.scenario.loader import load_scenario_and_sources
    from escalation.store import check_writable, file_sha256, stream_results

    scenario, sources = load_scenario_and_sources(args.scenario, args.set)
    # Hash the inputs now, as they were read: an edit during the run changes nothing.
    hashes = {str(path): file_sha256(path) for path in sources.files}
    out = Path(args.out) if args.out else _default_out(scenario.name)
    check_writable(out, args.force)
    runs = args.runs or scenario.runs
    workers = args.workers or default_workers()
    update, close = _progress(runs, scenario.name)
    plan = plan_runs(
        scenario,
        runs=runs,
        seed=args.seed,
        horizon_days=args.days,
        workers=workers,
        block_size=args.block_size,
    )
    try:
        results = stream_results(
            scenario,
            plan,
            out,
            workers=workers,
            progress=update,
            force=args.force,
            command=["escalation", *(sys.argv[1:] if args.argv is None else args.argv)],
            input_hashes=hashes,
        )
    finally:
        close()
    print(results.summary())
    print(
        f"\nResults written to {out}/ (manifest.json, runs.parquet, cycles.parquet, "
        "spells.parquet, timeseries.parquet)"
    )
    print(f"Replay a run: escalation replay {out} --run 0")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from escalation.scenario.errors import ScenarioError

    failed = 0
    for path in args.files:
        try:
            scenario = _load(path, args.set)
        except ScenarioError as error:
            print(error, file=sys.stderr)
            failed += 1
            continue
        rules = sum(len(actor.policy) for actor in scenario.actors.values())
        print(
            f"{path}: ok ({scenario.name}: {len(scenario.actors)} actors, "
            f"{len(scenario.actions)} actions, {rules} rules, {len(scenario.outcomes)} outcomes)"
        )
    return 2 if failed else 0


def cmd_schema(args: argparse.Namespace) -> int:
    from escalation.scenario.loader import scenario_json_schema

    print(json.dumps(scenario_json_schema(), indent=2))
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from escalation.replay import mismatches, replay_result, story_lines
    from escalation.store import read_results

    try:
        results = read_results(args.results, lazy=True)
    except FileNotFoundError as error:
        raise BadInput(str(error)) from None
    ids = results.runs["run"].to_numpy()
    if not (ids == args.run).any():
        raise BadInput(
            f"{args.results}: no run {args.run}; the runs are {ids.min()} to {ids.max()}"
        )
    replay = replay_result(results, args.run)
    for line in story_lines(replay, results.scenario, routine=args.all):
        print(line)
    stored = results.run_row(args.run)
    problems = mismatches(replay, stored)
    if problems:
        print("\nThe replay does NOT match the stored row:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        hint = _scheme_hint(args.results)
        if hint:
            print(hint, file=sys.stderr)
        return CHECK_FAILED
    print(f"\nThe replay matches run {args.run}'s row in {Path(args.results) / 'runs.parquet'}.")
    return 0


def _scheme_hint(folder: str) -> str | None:
    """Why a replay may differ: the results came from another random-number scheme."""
    from escalation import __version__
    from escalation.store import read_manifest, rng_scheme

    manifest = read_manifest(folder)
    ours = rng_scheme()
    if manifest.get("rng") == ours:
        return None
    made_by = manifest.get("versions", {}).get("escalation", "an unknown version")
    return (
        f"These results were made under another random-number scheme (by escalation "
        f"{made_by}; this is {__version__}): a run replays exactly only under the scheme "
        f"that made it.\n  theirs: {manifest.get('rng')}\n  ours:   {ours}"
    )


class _Parser(argparse.ArgumentParser):
    """argparse with 'did you mean' for mistyped verbs."""

    def error(self, message: str) -> Any:
        import difflib

        if "invalid choice" in message:
            word = message.split("'")[1] if "'" in message else ""
            choices = getattr(self, "_verbs", [])
            close = difflib.get_close_matches(word, choices, n=1)
            if close:
                message += f"; did you mean {close[0]!r}?"
        super().error(message)


def build_parser() -> argparse.ArgumentParser:
    from importlib.metadata import PackageNotFoundError, version

    try:
        __version__ = version("escalation")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        __version__ = "0.0.0+unknown"
    parser = _Parser(
        prog="escalation",
        description="Simulate escalation scenarios written as YAML doctrine, over many runs.",
        epilog="exit codes: 0 success; 2 bad input (a message names the file and line); "
        f"{CHECK_FAILED} ran, but its check failed (check, replay); 130 interrupted; "
        "1 internal error",
    )
    parser.add_argument("--version", action="version", version=f"escalation {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=argparse.ArgumentParser)
    verbs.required = True

    run = verbs.add_parser("run", help="run a scenario many times and summarise the outcomes")
    run.add_argument("scenario", help="scenario file (YAML)")
    run.add_argument("--runs", type=positive_int, help="number of runs (default: the scenario's)")
    run.add_argument(
        "--days", type=horizon_days, help="horizon in days, 1 to 36500 (default: the scenario's)"
    )
    run.add_argument("--seed", type=non_negative_int, help="root seed (default: drawn, recorded)")
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="override a value, e.g. parameters.strike_threshold.value=9",
    )
    run.add_argument("--out", help="results folder (default: results/NAME-TIMESTAMP)")
    run.add_argument("--force", action="store_true", help="replace an existing results folder")
    run.add_argument("--workers", type=positive_int, help="processes (default: all cores)")
    run.add_argument(
        "--block-size",
        type=positive_int,
        help="runs one model advances together (default: one block per worker while "
        "that is at most 50,000 runs, else equal blocks of about 20,000 in a multiple of "
        "the workers): larger blocks are faster and take more memory (about 6 kB per run "
        "of the reference scenario, more where runs have many more acts); results do not "
        "depend on it",
    )
    run.set_defaults(handler=cmd_run)

    validate = verbs.add_parser("validate", help="check scenario files without running them")
    validate.add_argument("files", nargs="+", help="scenario files")
    validate.add_argument("--set", action="append", default=[], metavar="PATH=VALUE")
    validate.set_defaults(handler=cmd_validate)

    schema = verbs.add_parser("schema", help="print the JSON Schema of scenario files")
    schema.set_defaults(handler=cmd_schema)

    replay = verbs.add_parser("replay", help="re-run one run alone and print its story")
    replay.add_argument("results", help="results folder")
    replay.add_argument("--run", type=non_negative_int, required=True, help="run id")
    replay.add_argument("--all", action="store_true", help="also list routine rung-0 acts")
    replay.set_defaults(handler=cmd_replay)

    for module_name in EXTENSIONS:
        importlib.import_module(module_name).register(verbs)
    parser._verbs = list(verbs.choices)  # type: ignore[attr-defined]
    return parser


def _warning_printer(verb: str) -> Callable[..., None]:
    """How a command prints a warning: one line that names the command, not the line
    of code that raised it.  NumPy's warnings from the expression compiler (a division
    by zero) come from an expression of the scenario, and say so."""
    compiler = os.path.join("model", "compiler.py")

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: Any = None,
        line: str | None = None,
    ) -> None:
        where = " (in an expression of the scenario)" if filename.endswith(compiler) else ""
        print(f"escalation {verb}: warning: {message}{where}", file=file or sys.stderr)

    return show


def _located(args: argparse.Namespace, error: Exception) -> str:
    """A run-time error of the scenario, placed at the file and line of the value that
    turned impossible, when the command ran one scenario file."""
    from escalation.scenario.errors import ScenarioError
    from escalation.scenario.loader import resolved_document

    path = getattr(error, "path", None)
    scenario = getattr(args, "scenario", None)
    if args.verb == "sweep":
        scenario = getattr(args, "file", None)
    if path is None or not isinstance(scenario, str):
        return str(error)
    try:
        _, sources = resolved_document(scenario, getattr(args, "set", None) or ())
    except (ScenarioError, OSError):  # an experiment file, say: say it without a place
        return str(error)
    file, line, column = sources.nearest(path)
    if file is None or line is None:
        return str(error)
    return f"{file}:{line}:{column}: {error} (during the run)"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    from escalation.errors import ModelError, ResultsError, ResultsExistError, SchedulerError
    from escalation.scenario.errors import ScenarioError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    args.argv = list(argv) if argv is not None else None
    try:
        if args.verb in MODEL_VERBS:
            _say_if_compiling()
        with warnings.catch_warnings():
            warnings.showwarning = _warning_printer(args.verb)
            code: int = args.handler(args)
        return code
    except ModelError as error:
        print(f"escalation {args.verb}: {_located(args, error)}", file=sys.stderr)
        return 2
    except (ScenarioError, BadInput, ResultsError, ResultsExistError, SchedulerError) as error:
        print(f"escalation {args.verb}: {error}", file=sys.stderr)
        return 2
    except (FileNotFoundError, PermissionError, NotADirectoryError, IsADirectoryError) as error:
        # A path that cannot be read or written (the checks before any work catch most).
        print(f"escalation {args.verb}: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (``escalation run … | head``): nothing more to say.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print(
            "escalation: interrupted; nothing was written for the unfinished work.", file=sys.stderr
        )
        return 130
