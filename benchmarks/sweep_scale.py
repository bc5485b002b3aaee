"""Benchmark: a sweep of 1,000 points x 1,000 runs on a local pool and on a local Dask cluster.

Varies the three parameters of the analyst's question (Pakistan's retaliation
threshold, the Taliban's faction balance, the mediators' eagerness) over a
Latin hypercube, and reports for each executor the wall time, runs per second
and the peak memory of the whole process tree (the sweep and its workers,
proportional set sizes sampled every 0.5 s with psutil) and of the sweep
process alone, then checks that both executors
wrote the same runs, row for row.

    python benchmarks/sweep_scale.py                          # 1,000 x 1,000
    python benchmarks/sweep_scale.py --points 20 --runs 1000  # a reduced size
    python benchmarks/sweep_scale.py --scenario stand-in      # the light stand-in

The reference scenario (scenarios/pakistan_afghanistan_2025.yaml) is used when
present; ``--scenario stand-in`` uses the small scenario below, whose three
parameters play the same roles, to measure the sweep machinery (streaming,
scheduling, memory) at full size in minutes rather than hours.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow.parquet as pq

from escalation import load_scenario, load_scenario_text
from escalation.experiments.design import DesignFactor, DesignSpec
from escalation.experiments.executors import dask_executor, local_pool
from escalation.experiments.experiment import SweepSpec, command_line_experiment, sweep_spec
from escalation.experiments.factors import parse_vary
from escalation.experiments.sweep import run_sweep
from escalation.experiments.sweep_folder import read_sweep

REFERENCE = Path(__file__).resolve().parent.parent / "scenarios" / "pakistan_afghanistan_2025.yaml"
FACTORS = ("strike_threshold=5:20", "hardliner_share0=0:1", "mediation_eagerness=0:1")

STAND_IN = """\
name: stand_in
title: A light stand-in with the reference scenario's three swept parameters
horizon_days: 365
seed: 2025
ladder:
  - {rung: 0, name: calm}
  - {rung: 1, name: militant_attacks}
  - {rung: 2, name: cross_border_strikes}
  - {rung: 3, name: open_war}
parameters:
  attack_rate: {value: 0.5, min: 0, max: 5, source: "assumption: stand-in"}
  strike_threshold: {value: 10, min: 5, max: 20, integer: true, source: "assumption: stand-in"}
  hardliner_share0: {value: 0.65, min: 0, max: 1, source: "assumption: stand-in"}
  mediation_eagerness: {value: 0.5, min: 0, max: 1, source: "assumption: stand-in"}
world:
  ceasefire: {initial: false}
actors:
  ttp:
    name: TTP
    kind: armed_group
    tempo:
      - {action: attack, target: pakistan, base_rate: attack_rate, alpha: 0.3, beta: 0.6}
  pakistan:
    name: Pakistan
    kind: state
    policy:
      - id: strike
        when: "not ceasefire and casualties(attack, by=ttp, within=3) >= strike_threshold"
        do: cross_border_strike
        target: taliban
        probability: 0.6
        delay: [1, 2]
        cooldown: 5
  taliban:
    name: Afghan Taliban
    kind: state
    policy:
      - id: retaliate
        when: "count(cross_border_strike, by=pakistan, within=2) > 0"
        do: border_assault
        target: pakistan
        probability: hardliner_share0
  mediators:
    name: Qatar and Turkey
    kind: mediator
    policy:
      - id: mediate
        when: "not ceasefire and count(border_assault, within=7) > 0"
        do: broker_ceasefire
        probability: "0.1 * mediation_eagerness"
actions:
  attack:
    rung: 1
    hostile: true
    casualties: {target: {distribution: negative_binomial, mean: 0.6, dispersion: 0.3}}
  cross_border_strike:
    rung: 2
    hostile: true
    casualties: {target: {distribution: poisson, mean: 10}}
  border_assault:
    rung: 3
    hostile: true
    casualties: {target: {distribution: poisson, mean: 5}, actor: {distribution: poisson, mean: 8}}
  broker_ceasefire:
    rung: 0
    effects: [{set: ceasefire, value: 1}]
outcomes:
  - {id: open_war, when: "days_at_or_above(3) >= 10"}
  - {id: mediated_ceasefire, when: "days_with(ceasefire) > 0"}
  - {id: baseline, when: "true"}
"""
"""A scenario of the same shape, light enough for the full 1,000 x 1,000 on a laptop."""


class PeakMemory:
    """Peak memory of this process and all its descendants, sampled in a thread.

    ``tree`` sums the proportional set size (PSS) of every process, so pages that
    forked workers share with their parent are counted once; ``sweep`` is the
    resident set of this process alone.
    """

    def __init__(self, interval: float = 0.5) -> None:
        import psutil

        self.process = psutil.Process()
        self.interval = interval
        self.tree = 0
        self.sweep = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @staticmethod
    def _pss(process: object) -> int:
        info = process.memory_full_info()  # type: ignore[attr-defined]
        return int(getattr(info, "pss", info.rss))

    def _sample(self) -> None:
        import psutil

        while not self._stop.is_set():
            total = self._pss(self.process)
            for child in self.process.children(recursive=True):
                try:
                    total += self._pss(child)
                except psutil.Error:
                    continue
            self.sweep = max(self.sweep, self.process.memory_info().rss)
            self.tree = max(self.tree, total)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def make_spec(scenario_arg: str, points: int, runs: int, days: int | None, seed: int) -> SweepSpec:
    if scenario_arg == "stand-in":
        folder = Path(tempfile.mkdtemp(prefix="stand-in-"))
        path = folder / "stand_in.yaml"
        path.write_text(STAND_IN, encoding="utf-8")
        scenario = load_scenario_text(STAND_IN, name=str(path))
    else:
        path = Path(scenario_arg)
        scenario = load_scenario(path)
    factors = [DesignFactor(parse_vary(text, scenario)) for text in FACTORS]
    design = DesignSpec("lhs", points=points)
    experiment = command_line_experiment(str(path), factors, design)
    return sweep_spec(experiment, runs=runs, horizon_days=days, seed=seed)


@contextmanager
def executor(kind: str, workers: int) -> Iterator[object]:
    if kind == "local":
        with local_pool(workers) as handle:
            yield handle
    else:
        with dask_executor(workers=workers) as handle:
            yield handle


def same_runs(first: Path, second: Path) -> bool:
    """Whether two runs.parquet files hold the same rows, compared batch by batch."""
    left, right = pq.ParquetFile(first), pq.ParquetFile(second)
    if left.metadata.num_rows != right.metadata.num_rows:
        return False
    batches = zip(left.iter_batches(65_536), right.iter_batches(65_536), strict=True)
    return all(a.equals(b) for a, b in batches)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=1000, help="runs per point")
    parser.add_argument("--days", type=int, help="horizon (default: the scenario's)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument(
        "--scenario",
        default=str(REFERENCE) if REFERENCE.exists() else "stand-in",
        help="a scenario file, or 'stand-in' (default: the reference scenario if present)",
    )
    parser.add_argument("--executors", default="local,dask", help="comma-separated")
    parser.add_argument("--out", help="keep the sweep folders here (default: a temporary folder)")
    args = parser.parse_args()

    spec = make_spec(args.scenario, args.points, args.runs, args.days, args.seed)
    root = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="sweep-scale-"))
    root.mkdir(parents=True, exist_ok=True)
    total = args.points * args.runs
    print(
        f"scenario {spec.scenario.name}: {args.points:,} points x {args.runs:,} runs = "
        f"{total:,} runs of {spec.horizon_days} days; {args.workers} workers; "
        f"{os.cpu_count()} cores; load average before {os.getloadavg()[0]:.1f}"
    )
    rows = []
    for kind in args.executors.split(","):
        out = root / kind
        shutil.rmtree(out, ignore_errors=True)
        with PeakMemory() as memory, executor(kind, args.workers) as handle:
            started = time.perf_counter()
            run_sweep(spec, out, executor=handle)  # type: ignore[arg-type]
            seconds = time.perf_counter() - started
        size = (out / "runs.parquet").stat().st_size
        rows.append((kind, seconds, memory.tree, memory.sweep, size, os.getloadavg()[0]))
    header = (
        f"{'executor':<10}{'wall s':>10}{'runs/s':>10}{'peak PSS tree':>16}"
        f"{'peak RSS sweep':>16}{'runs.parquet':>14}{'load':>7}"
    )
    print(header)
    for kind, seconds, tree, parent, size, load in rows:
        print(
            f"{kind:<10}{seconds:>10.1f}{total / seconds:>10,.0f}{tree / 2**20:>12,.0f} MiB"
            f"{parent / 2**20:>12,.0f} MiB{size / 2**20:>10,.1f} MiB{load:>7.1f}"
        )
    if len(rows) == 2:
        first, second = (root / kind / "runs.parquet" for kind, *_ in rows)
        identical = same_runs(first, second)
        summaries = [read_sweep(root / kind).summary for kind, *_ in rows]
        identical = identical and summaries[0].equals(summaries[1])
        print(f"runs and summaries identical across executors: {'yes' if identical else 'NO'}")
    if not args.out:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
