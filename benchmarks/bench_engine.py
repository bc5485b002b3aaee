"""Runs per second of the vectorised engine against one Mesa model per run.

Times the reference scenario (365 days) advanced as blocks of runs in one
process, and the same scenario through ``mesa.batch_run`` with one model per run
(the way a Mesa model is usually batch-run), and prints both and their ratio.
Each figure is the median of ``--repeats`` repetitions, with the spread.

    python benchmarks/bench_engine.py
    python benchmarks/bench_engine.py --runs 10000 --batch-runs 100 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import mesa

from escalation import EscalationModel, load_scenario, run_scenario

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "scenarios" / "pakistan_afghanistan_2025.yaml"


def time_engine(scenario, runs: int, days: int, workers: int) -> float:
    started = time.perf_counter()
    run_scenario(scenario, runs=runs, seed=1, horizon_days=days, workers=workers, path_sample=0)
    return runs / (time.perf_counter() - started)


def time_batch_run(scenario, runs: int, days: int, processes: int) -> float:
    started = time.perf_counter()
    mesa.batch_run(
        EscalationModel,
        parameters={
            "scenario": [scenario],  # batch_run sweeps any iterable value
            "runs": 1,
            "seed": 1,
            "horizon_days": days,
            "first_run": range(runs),
        },
        iterations=1,
        max_steps=days,
        number_processes=processes,
        data_collection_period=-1,
        display_progress=False,
    )
    return runs / (time.perf_counter() - started)


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):>10,.0f}  (min {min(values):,.0f}, max {max(values):,.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(REFERENCE))
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--batch-runs", type=int, default=200)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-processes", type=int, default=1)
    args = parser.parse_args()

    scenario = load_scenario(args.scenario)
    run_scenario(scenario, runs=10, seed=1, horizon_days=5)  # compile the kernels once
    engine = [time_engine(scenario, args.runs, args.days, 1) for _ in range(args.repeats)]
    batch = [
        time_batch_run(scenario, args.batch_runs, args.days, args.batch_processes)
        for _ in range(args.repeats)
    ]
    ratio = statistics.median(engine) / statistics.median(batch)
    print(f"scenario {scenario.name}, {args.days} days, median of {args.repeats} repetitions")
    print(f"vectorised engine, {args.runs:,} runs, 1 process:   {spread(engine)} runs/s")
    print(
        f"mesa.batch_run, one model per run, {args.batch_runs:,} runs, "
        f"{args.batch_processes} process(es): {spread(batch)} runs/s"
    )
    print(f"ratio: {ratio:,.0f}x")


if __name__ == "__main__":
    main()
