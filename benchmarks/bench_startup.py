"""Wall time of short commands, start-up included, as a user at a terminal waits for them.

Each command runs in a fresh interpreter, ``--repeats`` times after one unmeasured
warm-up (which fills the operating system's file cache and numba's kernel cache);
prints the median and the spread of each.  The figure is drawn from the results the
run command wrote.

    python benchmarks/bench_startup.py
    python benchmarks/bench_startup.py --repeats 9 --runs 10000
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "scenarios" / "pakistan_afghanistan_2025.yaml"


def commands(runs: int, out: Path) -> dict[str, list[str]]:
    escalation = [sys.executable, "-m", "escalation"]
    return {
        "escalation --help": [*escalation, "--help"],
        "escalation validate (reference scenario)": [*escalation, "validate", str(REFERENCE)],
        f"escalation run (reference scenario, {runs:,} runs)": [
            *escalation,
            "run",
            str(REFERENCE),
            "--runs",
            str(runs),
            "--seed",
            "1",
            "--out",
            str(out),
            "--force",
        ],
        "escalation plot (the run's outcome shares)": [
            *escalation,
            "plot",
            str(out),
            "--kind",
            "outcomes",
            "-o",
            str(out.with_suffix(".png")),
            "--force",
        ],
    }


def seconds(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each command")
    parser.add_argument("--runs", type=int, default=10_000, help="runs of the run command")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as folder:
        for label, command in commands(args.runs, Path(folder) / "out").items():
            seconds(command)
            times = [seconds(command) for _ in range(args.repeats)]
            print(
                f"{label}: {statistics.median(times):.2f} s "
                f"(min {min(times):.2f}, max {max(times):.2f}; {args.repeats} runs)",
                flush=True,
            )


if __name__ == "__main__":
    main()
