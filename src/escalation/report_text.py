"""Readable summaries of results: the tables a terminal shows and a report reuses."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.special import ndtri

if TYPE_CHECKING:
    from escalation.experiments.replicates import SimulationResults

__all__ = [
    "RunColumns",
    "casualty_table",
    "cycle_table",
    "outcome_table",
    "summary_text",
    "wilson_interval",
]


def wilson_interval(
    successes: np.ndarray | int, trials: int, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial share (good near 0 and 1, unlike Wald)."""
    z = ndtri(0.5 + confidence / 2)  # the normal quantile (scipy.stats.norm.ppf's)
    k = np.asarray(successes, dtype=np.float64)
    share = k / trials
    centre = (share + z**2 / (2 * trials)) / (1 + z**2 / trials)
    half = z / (1 + z**2 / trials) * np.sqrt(share * (1 - share) / trials + z**2 / (4 * trials**2))
    # At 0 and at every trial the bound is exactly 0 or 1; in floating point the sum
    # can miss it by an ulp and leave the share outside its own interval.
    low = np.where(k == 0, 0.0, np.maximum(centre - half, 0.0))
    high = np.where(k == trials, 1.0, np.minimum(centre + half, 1.0))
    return low, high


class RunColumns:
    """The runs table of some results, read column by column.

    Results streamed to disk, or read with ``read_results(..., lazy=True)``, keep
    only their run ids in memory; each column a summary or a figure needs is read
    when asked for and let go after use.
    """

    def __init__(self, results: SimulationResults) -> None:
        self._results = results

    @property
    def columns(self) -> tuple[str, ...]:
        return self._results.columns

    def __contains__(self, name: object) -> bool:
        return name in self._results.columns

    def __getitem__(self, name: str) -> pd.Series:
        return self._results.column(name)

    def __len__(self) -> int:
        return self._results.n_runs


Runs = pd.DataFrame | RunColumns


def outcome_table(runs: Runs, confidence: float = 0.95) -> pd.DataFrame:
    """Runs and share per outcome with the Wilson interval, in the scenario's order."""
    counts = runs["outcome"].value_counts(sort=False)
    total = len(runs)
    low, high = wilson_interval(counts.to_numpy(), total, confidence)
    table = pd.DataFrame(
        {"runs": counts.to_numpy(), "share": counts.to_numpy() / total, "low": low, "high": high},
        index=pd.Index(counts.index.astype(str), name="outcome"),
    )
    if "unclassified" in table.index and table.loc["unclassified", "runs"] == 0:
        table = table.drop(index="unclassified")
    return table


def casualty_table(runs: Runs, actors: list[str]) -> pd.DataFrame:
    """Deaths per actor: median and 5%-95% range, true, claimed by the enemy, admitted."""
    rows = []
    for actor in actors:
        true = runs[f"{actor}_dead_true"]
        if not true.any():
            continue
        row: dict[str, float | str] = {"actor": actor}
        for kind in ("true", "claimed", "admitted"):
            values = runs[f"{actor}_dead_{kind}"]
            row[f"{kind}_median"] = float(values.median())
            row[f"{kind}_q05"] = float(values.quantile(0.05))
            row[f"{kind}_q95"] = float(values.quantile(0.95))
        rows.append(row)
    return pd.DataFrame(rows).set_index("actor") if rows else pd.DataFrame()


def cycle_table(results: SimulationResults) -> dict[str, float]:
    """Statistics of the retaliation cycles (chains of answering blows)."""
    runs = RunColumns(results)
    lengths = results.cycle_columns("length")["length"]
    return {
        "cycles_per_run_mean": float(runs["cycles"].mean()),
        "runs_with_a_cycle": float((runs["cycles"] > 0).mean()),
        "length_median": float(lengths.median()) if len(lengths) else float("nan"),
        "length_q95": float(lengths.quantile(0.95)) if len(lengths) else float("nan"),
        "length_max": float(lengths.max()) if len(lengths) else float("nan"),
        "first_cycle_day_median": float(runs["first_cycle_day"].median()),
    }


def _percent(value: float) -> str:
    return f"{100 * value:5.1f}%"


def _count(value: float) -> str:
    return f"{value:,.0f}"


def summary_text(results: SimulationResults) -> str:
    """The terminal summary of a batch of runs."""
    scenario = results.scenario
    runs = RunColumns(results)
    n = len(runs)
    lines = [
        f"{scenario.name}: {scenario.title}".rstrip(": "),
        f"{n:,} run{'' if n == 1 else 's'} x {results.horizon_days} "
        f"day{'' if results.horizon_days == 1 else 's'}, seed {results.seed}"
        + (
            f", {results.timings['simulate_seconds']:.1f} s "
            f"({results.timings['runs_per_second']:,.0f} runs/s)"
            if results.timings
            else ""
        ),
        "",
        f"{'Outcome':<24}{'runs':>8}{'share':>9}   95% interval",
    ]
    for outcome, row in outcome_table(runs).iterrows():
        lines.append(
            f"{outcome!s:<24}{int(row['runs']):>8,}{_percent(row['share']):>9}   "
            f"[{_percent(row['low']).strip()}, {_percent(row['high']).strip()}]"
        )
    deaths = casualty_table(runs, list(scenario.actors))
    if not deaths.empty:
        lines += [
            "",
            "Deaths per actor over the horizon: median [5%, 95%]",
            f"{'actor':<16}{'true':>26}{'claimed by the enemy':>28}{'admitted':>24}",
        ]
        for actor, row in deaths.iterrows():
            cells = [
                f"{_count(row[f'{kind}_median'])} "
                f"[{_count(row[f'{kind}_q05'])}, {_count(row[f'{kind}_q95'])}]"
                for kind in ("true", "claimed", "admitted")
            ]
            lines.append(f"{actor!s:<16}{cells[0]:>26}{cells[1]:>28}{cells[2]:>24}")
    cycles = cycle_table(results)
    lines += [
        "",
        "Retaliation cycles (each blow answering the adversary's last):",
        f"  {cycles['cycles_per_run_mean']:.2f} per run on average; "
        f"{_percent(cycles['runs_with_a_cycle']).strip()} of runs have at least one",
        (
            f"  length (blows): median {cycles['length_median']:g}, 95th percentile "
            f"{cycles['length_q95']:g}, longest {cycles['length_max']:g}"
            if cycles["cycles_per_run_mean"] > 0
            else "  no run has a retaliation cycle"
        ),
    ]
    highest = runs["max_rung"].value_counts(normalize=True).sort_index()
    ladder = {rung.rung: rung.name for rung in scenario.ladder}
    lines += ["", "Highest rung reached:"]
    for level, share in zip(highest.index.to_numpy(), highest.to_numpy(), strict=True):
        lines.append(f"  {int(level)} {ladder.get(int(level), '')!s:<36}{_percent(float(share))}")
    flags = [name for name, v in scenario.world.items() if v.is_boolean]
    if flags:
        # The first day is known only in the runs where the variable ever held: its
        # median is theirs (the survival figure's median counts the others as later).
        lines += [
            "",
            f"{'World':<24}{'runs ever':>10}{'mean days':>11}{'first day if ever (median)':>28}",
        ]
        for name in flags:
            ever = (runs[f"{name}_days"] > 0).mean()
            first = runs[f"{name}_first_day"].median()
            lines.append(
                f"{name:<24}{_percent(ever):>10}{runs[f'{name}_days'].mean():>11.1f}"
                f"{('-' if np.isnan(first) else f'{first:g}'):>28}"
            )
    return "\n".join(lines)
