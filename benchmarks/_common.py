"""Helpers shared by the benchmark scripts: scenarios, sweeps, executors, peak memory.

The scripts put this folder on ``sys.path`` so that ``python benchmarks/NAME.py``
works from the project root.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow.parquet as pq

from escalation import load_scenario, load_scenario_text
from escalation.experiments.design import DesignFactor, DesignSpec
from escalation.experiments.executors import ExecutorHandle, dask_executor, local_pool
from escalation.experiments.experiment import SweepSpec, command_line_experiment, sweep_spec
from escalation.experiments.factors import parse_vary
from escalation.experiments.sweep_folder import read_sweep

__all__ = [
    "FACTORS",
    "REFERENCE",
    "STAND_IN",
    "PeakMemory",
    "executor",
    "make_spec",
    "same_runs",
    "same_sweeps",
]

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "scenarios" / "pakistan_afghanistan_2025.yaml"
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
    """Peak memory of a process and all its descendants, sampled in a thread.

    ``tree`` sums the proportional set size (PSS) of every process, so pages that
    forked workers share with their parent are counted once; ``sweep`` is the
    resident set of the root process alone.  The root is this process unless
    ``pid`` names another (e.g. a command started with :mod:`subprocess`);
    sampling stops when the root is gone.
    """

    def __init__(self, interval: float = 0.5, pid: int | None = None) -> None:
        import psutil

        self.process = psutil.Process(pid)
        self.interval = interval
        self.tree = 0
        self.sweep = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @property
    def root(self) -> int:
        """The peak resident set of the root process alone (``sweep``)."""
        return self.sweep

    @staticmethod
    def _pss(process: object) -> int:
        info = process.memory_full_info()  # type: ignore[attr-defined]
        return int(getattr(info, "pss", info.rss))

    def _sample(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                total = self._pss(self.process)
                rss = self.process.memory_info().rss
                children = self.process.children(recursive=True)
            except psutil.Error:  # the root has exited (or become a zombie)
                return
            for child in children:
                try:
                    total += self._pss(child)
                except psutil.Error:
                    continue
            self.sweep = max(self.sweep, rss)
            self.tree = max(self.tree, total)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def make_spec(scenario_arg: str, points: int, runs: int, days: int | None, seed: int) -> SweepSpec:
    """A Latin hypercube sweep over ``FACTORS`` of a scenario file or ``"stand-in"``."""
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
def executor(kind: str, workers: int) -> Iterator[ExecutorHandle]:
    """A local process pool (``"local"``) or a local Dask cluster (``"dask"``)."""
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


def same_sweeps(first: Path, second: Path) -> bool:
    """Whether two sweep folders hold the same runs and the same summary."""
    if not same_runs(first / "runs.parquet", second / "runs.parquet"):
        return False
    return bool(read_sweep(first).summary.equals(read_sweep(second).summary))
