"""Time and peak memory of reading a large results folder back: report, figures, replay.

Makes a results folder of the reference scenario (``escalation run``, 1,000,000 runs
by default; ``--folder`` reads an existing one instead), then runs each command that
reads it in a fresh interpreter, ``--repeats`` times after one unmeasured warm-up, and
prints the median and spread of its wall time and of its peak resident set (the
kernel's own maximum for that process, from ``os.wait4``: these commands run in one
process).

    python benchmarks/bench_readback.py
    python benchmarks/bench_readback.py --runs 100000 --repeats 1
    python benchmarks/bench_readback.py --folder results/some-large-run
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "scenarios" / "pakistan_afghanistan_2025.yaml"
FIGURES = ("outcomes", "casualties", "rung", "cycles", "survival", "timeline")


def commands(folder: Path, scratch: Path, run: int) -> dict[str, list[str]]:
    escalation = [sys.executable, "-m", "escalation"]
    listed = {
        "escalation report": [
            *escalation,
            "report",
            str(folder),
            "--out",
            str(scratch / "report.html"),
            "--force",
        ]
    }
    for kind in FIGURES:
        listed[f"escalation plot --kind {kind}"] = [
            *escalation,
            "plot",
            str(folder),
            "--kind",
            kind,
            "--out",
            str(scratch / f"{kind}.png"),
            "--force",
        ]
    listed[f"escalation replay --run {run}"] = [
        *escalation,
        "replay",
        str(folder),
        "--run",
        str(run),
    ]
    return listed


def measure(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident set (MB) of one command."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    errors = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed ({process.returncode}):\n{errors.decode(errors='replace')}"
        )
    return seconds, usage.ru_maxrss / 1024  # kB on Linux


def spread(values: list[float], unit: str, digits: int) -> tuple[str, str]:
    median = f"{statistics.median(values):,.{digits}f} {unit}"
    return median, f"{min(values):,.{digits}f} – {max(values):,.{digits}f} {unit}"


def make_folder(out: Path, runs: int, seed: int) -> None:
    command = [
        sys.executable,
        "-m",
        "escalation",
        "run",
        str(REFERENCE),
        "--runs",
        str(runs),
        "--seed",
        str(seed),
        "--out",
        str(out),
    ]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    print(f"made {out.name}: {runs:,} runs in {time.perf_counter() - started:.0f} s", flush=True)


def table_sizes(folder: Path) -> str:
    import pyarrow.parquet as pq

    sizes = []
    for name in ("runs", "cycles", "spells", "timeseries"):
        path = folder / f"{name}.parquet"
        if path.is_file():
            rows = pq.ParquetFile(path).metadata.num_rows
            sizes.append(f"{name} {rows:,} rows ({path.stat().st_size / 1e6:.0f} MB)")
    return "; ".join(sizes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000_000, help="runs of the folder made")
    parser.add_argument("--seed", type=int, default=5, help="root seed of the folder made")
    parser.add_argument("--folder", type=Path, help="read this results folder instead")
    parser.add_argument("--repeats", type=int, default=3, help="measured runs of each command")
    args = parser.parse_args()
    if args.repeats < 1 or args.runs < 1:
        parser.error("--repeats and --runs must be at least 1")
    if args.folder is not None and not (args.folder / "manifest.json").is_file():
        parser.error(f"--folder {args.folder}: not a results folder (no manifest.json)")
    from escalation import __version__

    print(f"machine: {platform.platform()}, {os.cpu_count()} cores")
    print(f"Python {platform.python_version()}, escalation {__version__}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-readback-") as scratch:
        folder = args.folder
        if folder is None:
            folder = Path(scratch) / "results"
            make_folder(folder, args.runs, args.seed)
        print(table_sizes(folder))
        import pyarrow.parquet as pq

        runs = pq.ParquetFile(folder / "runs.parquet").metadata.num_rows
        rows = []
        for label, command in commands(folder, Path(scratch), run=runs // 2).items():
            measure(command)
            seconds, peaks = zip(*(measure(command) for _ in range(args.repeats)), strict=True)
            rows.append((label, *spread(list(seconds), "s", 1), *spread(list(peaks), "MB", 0)))
            print(f"  {label}: {rows[-1][1]}, {rows[-1][3]}", flush=True)
    print(f"\nmedian of {args.repeats} repetition(s), spread min – max\n")
    print("| command | wall time | spread | peak resident set | spread |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
