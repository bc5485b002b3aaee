"""Speed and scale of the engine, against its targets, in one table.

Measures, on the reference scenario (scenarios/pakistan_afghanistan_2025.yaml):

1. runs per second of ``run_scenario`` (365 days, 100,000 runs) with one worker
   and with all cores, measured in turn, and each all-cores figure against as
   many times the one-worker figure measured just before it;
2. runs per second through ``mesa.batch_run`` with one model per run (200 runs,
   all cores), and the ratio of (1) to it;
3. the floor: the time this machine needs just to make the Philox4x32 calls the
   engine consumed in (1), with the same generator, and engine time / floor time;
4. the peak memory (proportional set size summed over the process tree) of an
   ``escalation run`` of 1,000,000 runs that streams its results to disk;
5. a sweep of 200 points x 500 runs on the local process pool and on a
   two-worker local Dask cluster: runs per second, their ratio, and whether both
   wrote the same results.

Each figure is the median of ``--repeats`` repetitions, with the spread (min to
max); the end of the output is the machine and a Markdown table of every figure
against its target: (1) at least 20,000 runs/s with two workers; (1)/(2), all
cores each, at least 100; engine time (one worker) at most 3x the floor time;
(4) under 1 GB; (5) Dask at least 80% of the local throughput, with identical
results.  In (1) the runs are split, unless ``--block-size`` says otherwise, into
blocks of about 50,000 runs whose number is a multiple of the workers (the
package's own ``default_block_size``), so that no worker idles at the end (larger
blocks share each day's fixed cost among more runs; (4) keeps ``escalation run``'s
default of about 20,000, which bounds memory).
``--growth`` instead measures how the time of a job grows
when the runs, the horizon, the actors and the rules are doubled in turn (the
last two on a generated scenario of pairs of adversaries): a time ratio of 2.0
per doubling is linear growth.

    python benchmarks/bench_scale.py                     # the full sizes
    python benchmarks/bench_scale.py --runs 10000 --batch-runs 20 --stream-runs 100000 \\
        --points 20 --point-runs 200 --repeats 1         # a reduced size
    python benchmarks/bench_scale.py --only 1,3          # some measurements only
    python benchmarks/bench_scale.py --growth            # cost growth (20,000 runs)
    python benchmarks/bench_scale.py --growth --runs 2000 --days 60 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mesa  # noqa: E402
import numba  # noqa: E402
import numpy as np  # noqa: E402
import psutil  # noqa: E402
from _common import REFERENCE, PeakMemory, executor, make_spec, same_sweeps  # noqa: E402
from bench_engine import time_batch_run  # noqa: E402

import escalation  # noqa: E402
from escalation import Scenario, load_scenario, load_scenario_text, rng, run_scenario  # noqa: E402
from escalation.experiments.replicates import default_block_size  # noqa: E402
from escalation.experiments.sweep import run_sweep  # noqa: E402

MEASUREMENTS = (1, 2, 3, 4, 5)
ENGINE_TARGET = 20_000.0  # runs/s with two workers
BATCH_RATIO_TARGET = 100.0
FLOOR_RATIO_TARGET = 3.0
MEMORY_TARGET = 1e9  # bytes
DASK_RATIO_TARGET = 0.8
# Philox calls per chunk: 16 MB of output words.  Much larger chunks measure the
# memory system instead (10 million calls, 160 MB a chunk, take 4 to 5 times as long
# per call, in fresh pages), and would flatter the engine's ratio to the floor.
FLOOR_CHUNK = 1_000_000
SWEEP_WORKERS = 2
GROWTH_RUNS = 20_000

Case = tuple[str, Scenario, int, int]
"""A growth job: its label, scenario, runs and days."""


# ------------------------------------------------------------------------- figures
@dataclass
class Row:
    """One figure of the final table: its repetitions, target and verdict."""

    quantity: str
    unit: str
    values: list[float]
    target: str = "–"
    met: bool | None = None

    @property
    def median(self) -> float:
        return float(statistics.median(self.values))

    def median_text(self) -> str:
        if self.unit == "bool":
            return "yes" if all(self.values) else "no"
        return fmt(self.median, self.unit)

    def spread_text(self) -> str:
        if self.unit == "bool":
            return f"{sum(1 for v in self.values if v):g} of {len(self.values)} repetitions"
        if len(self.values) < 2:
            return "–"
        return f"{fmt(min(self.values), self.unit)} – {fmt(max(self.values), self.unit)}"

    def met_text(self) -> str:
        return "–" if self.met is None else ("yes" if self.met else "no")


BLOCK_CAP = 50_000
"""The block size (1) aims at: about 400 MB of arrays per worker."""


def fmt(value: float, unit: str) -> str:
    if unit == "runs/s":
        return f"{value:,.0f} runs/s" if value >= 100 else f"{value:.3g} runs/s"
    if unit == "x":
        return f"{value:,.2f}x" if value < 10 else f"{value:,.0f}x"
    if unit == "MB":
        return f"{value / 1e6:,.0f} MB"
    if unit == "s":
        if value >= 1:
            return f"{value:,.2f} s"
        return f"{value * 1e3:.1f} ms" if value >= 1e-3 else f"{value * 1e3:.3g} ms"
    if unit == "share":
        return f"{value:.0%}"
    return f"{value:,.0f} {unit}".rstrip()


def ratios(numerators: list[float], denominators: list[float]) -> list[float]:
    """Ratios of the repetitions, paired in order."""
    return [a / b for a, b in zip(numerators, denominators, strict=True)]


def say(text: str) -> None:
    print(text, flush=True)


def report(label: str, values: list[float], unit: str) -> None:
    row = Row(label, unit, values)
    say(f"  {label}: {row.median_text()} (spread {row.spread_text()})")


# ------------------------------------------------------------------------- machine
def machine() -> dict[str, Any]:
    """The machine and the versions the figures were measured with."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_bytes": psutil.virtual_memory().total,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "mesa": mesa.__version__,
        "escalation": escalation.__version__,
        "load_average": os.getloadavg()[0],
    }


def machine_text(info: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"machine: {info['platform']}",
            f"CPU: {info['cpu']}, {info['cores']} cores; RAM {info['ram_bytes'] / 2**30:,.1f} GiB",
            f"Python {info['python']}, numpy {info['numpy']}, numba {info['numba']}, "
            f"Mesa {info['mesa']}, escalation {info['escalation']}",
            f"load average (1 min) at the start: {info['load_average']:.2f}",
        ]
    )


# -------------------------------------------------------------------------- engine
@dataclass(frozen=True)
class EngineRun:
    seconds: float
    draws: int
    draws_here: int


def time_engine(
    scenario: Scenario, runs: int, days: int, workers: int, block_size: int | None, seed: int
) -> EngineRun:
    """Wall time of one ``run_scenario`` call and the Philox calls it consumed.

    ``draws`` sums the blocks' counts wherever they ran; ``draws_here`` is this
    thread's counter, which sees them only when the blocks run in this process.
    """
    rng.reset_draw_count()
    started = time.perf_counter()
    results = run_scenario(
        scenario,
        runs=runs,
        seed=seed,
        horizon_days=days,
        workers=workers,
        block_size=block_size or default_block_size(runs, workers, BLOCK_CAP),
        path_sample=0,
    )
    seconds = time.perf_counter() - started
    return EngineRun(seconds, int(results.draws), rng.draws_consumed())


def time_floor(key: rng.Key, calls: int, chunk: int = FLOOR_CHUNK) -> float:
    """Seconds to make ``calls`` raw Philox4x32 calls, ``chunk`` at a time."""
    started = time.perf_counter()
    left = calls
    while left > 0:
        n = min(chunk, left)
        rng.philox_block(key, n)
        left -= n
    return time.perf_counter() - started


# -------------------------------------------------------------------------- stream
def time_stream(runs: int, days: int, workers: int, seed: int) -> tuple[int, float]:
    """Peak PSS of an ``escalation run`` process tree streaming to disk, and its wall time."""
    with tempfile.TemporaryDirectory(prefix="bench-stream-") as folder:
        command = [
            sys.executable,
            "-m",
            "escalation",
            "run",
            str(REFERENCE),
            "--runs",
            str(runs),
            "--days",
            str(days),
            "--seed",
            str(seed),
            "--out",
            str(Path(folder) / "out"),
            "--workers",
            str(workers),
        ]
        started = time.perf_counter()
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        with PeakMemory(interval=0.2, pid=process.pid) as memory:
            _, errors = process.communicate()
        seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}):\n{errors}")
    return memory.tree, seconds


# --------------------------------------------------------------------------- sweep
def time_sweeps(
    kind: str, points: int, runs: int, days: int, seed: int, repeats: int, root: Path
) -> list[float]:
    """Seconds of each repetition of the sweep on one executor, warmed up first."""
    spec = make_spec(str(REFERENCE), points, runs, days, seed)
    warm = make_spec(str(REFERENCE), SWEEP_WORKERS, 10, 5, seed)
    seconds = []
    with executor(kind, SWEEP_WORKERS) as handle:
        run_sweep(warm, root / f"{kind}-warm-up", executor=handle)
        for repeat in range(repeats):
            started = time.perf_counter()
            run_sweep(spec, root / f"{kind}-{repeat}", executor=handle)
            seconds.append(time.perf_counter() - started)
    return seconds


# ----------------------------------------------------------------------- the table
def measure(args: argparse.Namespace) -> list[Row]:
    only = args.only
    cores = os.cpu_count() or 1
    days, repeats, seed = args.days, args.repeats, args.seed
    runs = args.runs or 100_000
    scenario = load_scenario(REFERENCE)
    run_scenario(scenario, runs=10, seed=seed, horizon_days=5)  # compile the kernels once
    rows: list[Row] = []

    one: list[EngineRun] = []
    every: list[EngineRun] = []
    # (3) needs the one-worker runs of (1); (1) times one worker and all cores in turn,
    # so that both see the host's drift alike.
    worker_counts = [1, cores] if 1 in only else [1] if 3 in only else []
    for workers in worker_counts:
        block = args.block_size or default_block_size(runs, workers, BLOCK_CAP)
        say(f"(1) engine: {runs:,} runs of {days} days, {workers} worker(s), blocks of {block:,}")
    for _ in range(repeats if worker_counts else 0):
        for workers, times in zip(worker_counts, (one, every), strict=False):
            times.append(time_engine(scenario, runs, days, workers, args.block_size, seed))
    if one:
        one_rps = [runs / r.seconds for r in one]
        report("1 worker", one_rps, "runs/s")
        if one[0].draws != one[0].draws_here:
            say(
                f"  note: the blocks counted {one[0].draws:,} Philox calls, "
                f"this thread {one[0].draws_here:,}"
            )
        rows.append(Row(f"(1) engine, {runs:,} runs, 1 worker", "runs/s", one_rps))
    if every:
        every_rps = [runs / r.seconds for r in every]
        report(f"{cores} workers", every_rps, "runs/s")
        target = f"≥ {ENGINE_TARGET:,.0f} runs/s (2 workers)"
        row = Row(f"(1) engine, {runs:,} runs, {cores} workers", "runs/s", every_rps, target)
        row.met = row.median >= ENGINE_TARGET
        rows.append(row)
        # Each all-cores run against the one-worker run just before it, times the cores.
        scaling = [b / (cores * a) for a, b in zip(one_rps, every_rps, strict=True)]
        report(f"{cores} workers / ({cores} x 1 worker)", scaling, "share")
        rows.append(Row(f"(1) {cores} workers against {cores} x 1 worker", "share", scaling))

    if 2 in only:
        say(f"(2) mesa.batch_run: {args.batch_runs:,} runs of {days} days, {cores} processes")
        batch = [time_batch_run(scenario, args.batch_runs, days, cores) for _ in range(repeats)]
        report("one model per run", batch, "runs/s")
        rows.append(
            Row(
                f"(2) mesa.batch_run, one model per run, {args.batch_runs:,} runs, "
                f"{cores} processes",
                "runs/s",
                batch,
            )
        )
        if every:
            paired = ratios([runs / r.seconds for r in every], batch)
            row = Row("(1) / (2), all cores each", "x", paired, f"≥ {BATCH_RATIO_TARGET:,.0f}x")
            row.met = row.median >= BATCH_RATIO_TARGET
            rows.append(row)
        else:
            say("  (the ratio (1) / (2) needs measurement 1)")

    if 3 in only:
        draws = one[0].draws
        key = rng.make_key(seed)
        rng.philox_block(key, 1_000)  # load the compiled kernel
        say(f"(3) floor: {draws:,} Philox4x32 calls (those of (1), 1 worker) alone")
        floor = [time_floor(key, draws) for _ in range(repeats)]
        report("raw generator", floor, "s")
        rows.append(Row("(3) Philox calls consumed by (1)", "calls", [float(draws)]))
        rows.append(Row("(3) floor: time to make them alone", "s", floor))
        rows.append(Row("(3) floor as runs/s (1 thread)", "runs/s", [runs / s for s in floor]))
        row = Row(
            "(3) engine time / floor time (1 worker)",
            "x",
            ratios([r.seconds for r in one], floor),
            f"≤ {FLOOR_RATIO_TARGET:g}x",
        )
        row.met = row.median <= FLOOR_RATIO_TARGET
        rows.append(row)

    if 4 in only:
        say(
            f"(4) escalation run: {args.stream_runs:,} runs of {days} days streamed to disk, "
            f"{cores} workers"
        )
        streams = [time_stream(args.stream_runs, days, cores, seed) for _ in range(repeats)]
        peaks = [float(peak) for peak, _ in streams]
        report("peak PSS of the process tree", peaks, "MB")
        report("wall time, start-up included", [s for _, s in streams], "s")
        row = Row(
            f"(4) peak memory, {args.stream_runs:,}-run streamed job (PSS, process tree)",
            "MB",
            peaks,
            "< 1 GB",
        )
        row.met = row.median < MEMORY_TARGET
        rows.append(row)
        rows.append(
            Row(
                f"(4) streamed job, {args.stream_runs:,} runs, start-up included",
                "runs/s",
                [args.stream_runs / s for _, s in streams],
            )
        )

    if 5 in only:
        total = args.points * args.point_runs
        say(
            f"(5) sweep: {args.points:,} points x {args.point_runs:,} runs of {days} days, "
            f"{SWEEP_WORKERS} workers, local pool then Dask"
        )
        root = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
        try:
            local = time_sweeps("local", args.points, args.point_runs, days, seed, repeats, root)
            report("local process pool", [total / s for s in local], "runs/s")
            dask = time_sweeps("dask", args.points, args.point_runs, days, seed, repeats, root)
            report("Dask local cluster", [total / s for s in dask], "runs/s")
            same = [
                float(same_sweeps(root / f"local-{i}", root / f"dask-{i}")) for i in range(repeats)
            ]
        finally:
            shutil.rmtree(root, ignore_errors=True)
        label = f"{args.points:,} x {args.point_runs:,} runs, {SWEEP_WORKERS} workers"
        rows.append(Row(f"(5) sweep, local pool, {label}", "runs/s", [total / s for s in local]))
        rows.append(
            Row(f"(5) sweep, Dask local cluster, {label}", "runs/s", [total / s for s in dask])
        )
        identical = all(same)
        row = Row(
            "(5) Dask / local throughput",
            "share",
            ratios(local, dask),  # a ratio of throughputs is the inverse ratio of times
            f"≥ {DASK_RATIO_TARGET:.0%}, identical results",
        )
        row.met = row.median >= DASK_RATIO_TARGET and identical
        rows.append(row)
        rows.append(Row("(5) results identical, local and Dask", "bool", same, "yes", identical))
    return rows


def table(rows: list[Row]) -> str:
    lines = ["| quantity | median | spread (min – max) | target | met |", "|---|---|---|---|---|"]
    for row in rows:
        lines.append(
            f"| {row.quantity} | {row.median_text()} | {row.spread_text()} | {row.target} "
            f"| {row.met_text()} |"
        )
    return "\n".join(lines)


# -------------------------------------------------------------------------- growth
GROWTH_PARAMETERS = {
    "attack_rate": ("0.4", "0", "5", "attacks/day"),
    "hawkes_alpha": ("0.2", "0", "0.49", "1/day"),
    "hawkes_beta": ("0.5", "0.05", "2", "1/day"),
    "strike_jump": ("0.05", "0", "1", "attacks/day"),
    "attack_deaths": ("0.8", "0", "10", "deaths/attack"),
    "attack_dispersion": ("0.3", "0.01", "10", ""),
    "strike_deaths": ("4", "0", "50", "deaths/strike"),
    "answer_probability": ("0.5", "0", "1", ""),
    "answer_threshold": ("1", "1", "10", "attacks"),
}


def synthetic_scenario(pairs: int, rules: int) -> str:
    """The YAML text of ``pairs`` pairs of adversaries with ``rules`` rules each.

    In pair ``i``, ``attacker_i`` attacks ``defender_i`` at a self-exciting
    (Hawkes) tempo that the defender's strikes excite further, and
    ``defender_i`` answers with ``rules`` tit-for-tat rules for one action, each
    with its own window and threshold, the strictest first (first match).
    Doubling ``pairs`` doubles the actors, the actions and the rules; doubling
    ``rules`` doubles the rules per actor.
    """
    lines = [
        f"name: synthetic_{pairs}_pairs_{rules}_rules",
        "title: Cost benchmark - pairs of adversaries, one attacking, one retaliating",
        'source: "assumption: a generated scenario for measuring cost growth"',
        "horizon_days: 365",
        "seed: 2025",
        "ladder:",
        "  - {rung: 0, name: calm}",
        "  - {rung: 1, name: attacks}",
        "  - {rung: 2, name: strikes}",
        "parameters:",
    ]
    for name, (value, low, high, unit) in GROWTH_PARAMETERS.items():
        unit_text = f", unit: {unit}" if unit else ""
        lines.append(
            f"  {name}: {{value: {value}, min: {low}, max: {high}{unit_text}, "
            f'source: "assumption: a round number for the cost benchmark"}}'
        )
    lines.append("actors:")
    for i in range(1, pairs + 1):
        lines += [
            f"  attacker_{i}:",
            f"    name: Attacker {i}",
            "    kind: armed_group",
            "    tempo:",
            f"      - action: attack_{i}",
            f"        target: defender_{i}",
            "        base_rate: attack_rate",
            "        alpha: hawkes_alpha",
            "        beta: hawkes_beta",
            f"        excited_by: [{{action: strike_{i}, by: defender_{i}, jump: strike_jump}}]",
            '        source: "assumption: a self-exciting tempo of attacks"',
            f"  defender_{i}:",
            f"    name: Defender {i}",
            "    kind: state",
            "    policy:",
        ]
        for r in range(rules):
            k = rules - 1 - r  # strictest first, so that several rules are consulted
            observed = "count" if k % 2 == 0 else "casualties"
            threshold = "answer_threshold" + (f" + {k // 2}" if k // 2 else "")
            lines += [
                f"      - id: answer_{r + 1}",
                f'        when: "{observed}(attack_{i}, by=attacker_{i}, within={1 + k % 10})'
                f' >= {threshold}"',
                f"        do: strike_{i}",
                f"        target: attacker_{i}",
                "        probability: answer_probability",
                f"        delay: [0, {k % 3}]",
                f"        cooldown: {k % 4}",
                '        source: "assumption: tit-for-tat with its own window and threshold"',
            ]
    lines.append("actions:")
    for i in range(1, pairs + 1):
        lines += [
            f"  attack_{i}:",
            "    rung: 1",
            "    hostile: true",
            "    casualties:",
            "      target: {distribution: negative_binomial, mean: attack_deaths, "
            "dispersion: attack_dispersion}",
            f"  strike_{i}:",
            "    rung: 2",
            "    hostile: true",
            "    casualties:",
            "      target: {distribution: poisson, mean: strike_deaths}",
        ]
    lines += [
        "outcomes:",
        '  - {id: sustained_strikes, when: "days_at_or_above(2) >= 30"}',
        '  - {id: some_strikes, when: "days_at_or_above(2) >= 1"}',
        '  - {id: calm, when: "true"}',
    ]
    return "\n".join(lines) + "\n"


def synthetic(pairs: int, rules: int) -> Scenario:
    return load_scenario_text(
        synthetic_scenario(pairs, rules), name=f"synthetic_{pairs}_pairs_{rules}_rules.yaml"
    )


@dataclass
class GrowthPoint:
    """The times of one size of a growth series, and their ratio to the previous size."""

    size: str
    scenario: str
    seconds: list[float]
    ratio: float | None = None

    @property
    def median(self) -> float:
        return float(statistics.median(self.seconds))


def describe(scenario: Scenario) -> str:
    rules = sum(len(actor.policy) for actor in scenario.actors.values())
    return f"{len(scenario.actors)} actors, {rules} rules"


def growth(args: argparse.Namespace) -> dict[str, Any]:
    runs = args.runs or GROWTH_RUNS
    days, workers, repeats, seed = args.days, args.growth_workers, args.repeats, args.seed
    reference = load_scenario(REFERENCE)
    pairs, rules = args.pairs, args.rules
    steps = range(args.doublings + 1)
    dimensions: dict[str, Callable[[int], Case]] = {
        "runs": lambda f: (f"{runs * f:,} runs", reference, runs * f, days),
        "days": lambda f: (f"{days * f:,} days", reference, runs, days * f),
        "actors": lambda f: (f"{pairs * f} pairs", synthetic(pairs * f, rules), runs, days),
        "rules": lambda f: (
            f"{rules * f} rules per defender",
            synthetic(pairs, rules * f),
            runs,
            days,
        ),
    }
    say(
        f"cost growth: {runs:,} runs of {days} days unless doubled, {workers} worker(s), "
        f"median of {repeats}; runs and days on the reference scenario, actors and rules on "
        f"a generated one ({pairs} pairs, {rules} rules per defender unless doubled)"
    )
    results: dict[str, list[GrowthPoint]] = {}
    for name, case in dimensions.items():
        say(f"doubling the {name}:")
        series: list[GrowthPoint] = []
        for step in steps:
            label, scenario, n, d = case(2**step)
            run_scenario(scenario, runs=10, seed=seed, horizon_days=5)  # build and compile
            seconds = [
                time_engine(scenario, n, d, workers, None, seed).seconds for _ in range(repeats)
            ]
            point = GrowthPoint(label, describe(scenario), seconds)
            point.ratio = point.median / series[-1].median if series else None
            series.append(point)
            spread = f"{fmt(min(seconds), 's')} – {fmt(max(seconds), 's')}" if repeats > 1 else "–"
            ratio_text = "" if point.ratio is None else f", x{point.ratio:.2f} the previous"
            say(
                f"  {label} ({point.scenario}): {fmt(point.median, 's')} "
                f"(spread {spread}){ratio_text}"
            )
        results[name] = series
    say("")
    say("| doubled | sizes | median times | time ratio per doubling | ideal (linear) |")
    say("|---|---|---|---|---|")
    for name, series in results.items():
        sizes = " → ".join(point.size for point in series)
        times = " → ".join(fmt(point.median, "s") for point in series)
        found = ", ".join(f"{point.ratio:.2f}" for point in series if point.ratio is not None)
        say(f"| {name} | {sizes} | {times} | {found or '–'} | 2.00 |")
    return {
        name: [{**asdict(point), "median": point.median} for point in series]
        for name, series in results.items()
    }


# ---------------------------------------------------------------------------- main
def parse_only(text: str) -> set[int]:
    try:
        chosen = {int(item) for item in text.split(",") if item.strip()}
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers such as 1,3, got {text!r}") from None
    if not chosen or not chosen <= set(MEASUREMENTS):
        raise argparse.ArgumentTypeError(f"expected some of {MEASUREMENTS}, got {text!r}")
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs",
        type=int,
        help=f"runs of (1) (default 100,000), or of each --growth job (default {GROWTH_RUNS:,})",
    )
    parser.add_argument(
        "--batch-runs", type=int, default=200, help="runs of (2) (default %(default)s)"
    )
    parser.add_argument(
        "--stream-runs", type=int, default=1_000_000, help="runs of (4) (default %(default)s)"
    )
    parser.add_argument(
        "--points", type=int, default=200, help="sweep points of (5) (default %(default)s)"
    )
    parser.add_argument(
        "--point-runs", type=int, default=500, help="runs per sweep point (default %(default)s)"
    )
    parser.add_argument(
        "--days", type=int, default=365, help="horizon of every job (default %(default)s)"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="repetitions of each figure (default %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=1, help="root seed (default %(default)s)")
    parser.add_argument(
        "--block-size",
        type=int,
        help="runs per block in (1) (default: about 50,000, in a number of blocks "
        "the workers share evenly)",
    )
    parser.add_argument(
        "--only",
        type=parse_only,
        default=set(MEASUREMENTS),
        help="comma-separated measurements to make, e.g. 1,3 (default: all; (3) times (1) "
        "with one worker, and the ratio (1)/(2) needs (1))",
    )
    parser.add_argument("--json", type=Path, help="also save the figures to this file")
    parser.add_argument(
        "--growth", action="store_true", help="measure the cost growth instead of the table"
    )
    parser.add_argument(
        "--pairs", type=int, default=2, help="--growth: pairs of adversaries (default %(default)s)"
    )
    parser.add_argument(
        "--rules", type=int, default=2, help="--growth: rules per defender (default %(default)s)"
    )
    parser.add_argument(
        "--doublings", type=int, default=2, help="--growth: doublings of each (default %(default)s)"
    )
    parser.add_argument(
        "--growth-workers", type=int, default=1, help="--growth: workers (default %(default)s)"
    )
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    info = machine()
    say(machine_text(info))
    say("")
    saved: dict[str, Any] = {"machine": info, "settings": dict(vars(args))}
    saved["settings"]["only"] = sorted(args.only)
    if args.growth:
        saved["growth"] = growth(args)
    else:
        rows = measure(args)
        say("")
        say(machine_text(info))
        say(f"median of {args.repeats} repetition(s); spread is min – max")
        say("")
        say(table(rows))
        saved["rows"] = [{**asdict(row), "median": row.median} for row in rows]
    if args.json:
        args.json.write_text(
            json.dumps(saved, indent=2, default=str, ensure_ascii=False), encoding="utf-8"
        )
        say(f"\nfigures saved to {args.json}")


if __name__ == "__main__":
    main()
