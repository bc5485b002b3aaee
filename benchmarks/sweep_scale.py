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
present; ``--scenario stand-in`` uses the small scenario ``STAND_IN`` of
_common.py, whose three parameters play the same roles, to measure the sweep
machinery (streaming, scheduling, memory) at full size in minutes rather than
hours.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REFERENCE, PeakMemory, executor, make_spec, same_sweeps  # noqa: E402

from escalation.experiments.sweep import run_sweep  # noqa: E402


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
            run_sweep(spec, out, executor=handle)
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
        identical = same_sweeps(*(root / kind for kind, *_ in rows))
        print(f"runs and summaries identical across executors: {'yes' if identical else 'NO'}")
    if not args.out:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
