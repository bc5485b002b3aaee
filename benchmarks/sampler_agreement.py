"""Two-sample agreement of the negative-binomial casualty samplers, on every outcome and metric.

Version 0.2 draws negative-binomial casualties with a mean below 30 by inversion (one
random number a draw) instead of the gamma-Poisson mixture (two or three).  Both are
exact samplers of the same distribution, but they read different random numbers, so
single runs differ.  This script shows that the distributions of what a user reads do
not: for every shipped scenario it runs ``--runs`` runs with the earlier scheme and as
many with the new one, under different root seeds, and tests every column of the runs
table:

* each outcome's share, and the share of runs where a metric is missing (e.g. no first
  strike): Fisher's exact test;
* each numeric metric (casualties, rungs, days at rungs, cycles, truces, border days):
  the two-sample Kolmogorov-Smirnov test and the Mann-Whitney U test.

The p-values of one scenario are adjusted together (Holm); the scheme change passes if
no adjusted p-value falls below ``--alpha``.  A control comparison then changes the
militants' mean deaths per attack by ``--control-change`` (1%) under the new scheme,
to show that the same tests do notice a difference of that size.

    python benchmarks/sampler_agreement.py
    python benchmarks/sampler_agreement.py --runs 100000 --scenario scenarios/hardline_taliban.yaml
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from escalation import load_scenario, run_scenario
from escalation.model import engine

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
REFERENCE = ROOT / "scenarios" / "pakistan_afghanistan_2025.yaml"
CONTROL_PARAMETER = "sf_deaths_per_attack"
NOT_METRICS = {"run", "outcome", "outcome_index", "point", "replicate"}


def simulate(path: Path, runs: int, seed: int, method: str, parameters=None) -> pd.DataFrame:
    """The runs table of ``path`` under one negative-binomial scheme."""
    engine.NEGBIN_METHOD = method
    try:
        results = run_scenario(
            load_scenario(path),
            runs=runs,
            seed=seed,
            workers=1,  # the scheme is set in this process; workers would not see it
            parameters=parameters,
            path_sample=0,
        )
    finally:
        engine.NEGBIN_METHOD = "auto"
    return results.runs


def comparisons(a: pd.DataFrame, b: pd.DataFrame) -> Iterator[tuple[str, str, float]]:
    """(quantity, test, p-value) for every outcome share and metric of two runs tables."""
    for outcome in sorted(set(a["outcome"]) | set(b["outcome"])):
        yield (
            f"share {outcome}",
            "Fisher",
            _fisher(a["outcome"] == outcome, b["outcome"] == outcome),
        )
    for column in a.columns:
        if column in NOT_METRICS or not pd.api.types.is_numeric_dtype(a[column]):
            continue
        x = a[column].to_numpy(dtype=float)
        y = b[column].to_numpy(dtype=float)
        if np.isnan(x).any() or np.isnan(y).any():
            yield f"{column} missing", "Fisher", _fisher(np.isnan(x), np.isnan(y))
            x, y = x[~np.isnan(x)], y[~np.isnan(y)]
        if min(x.size, y.size) < 2 or (np.ptp(x) == 0 and np.ptp(y) == 0 and x[0] == y[0]):
            continue  # one value everywhere in both: nothing to compare
        yield column, "KS", float(stats.ks_2samp(x, y, method="asymp").pvalue)
        yield column, "Mann-Whitney", float(stats.mannwhitneyu(x, y).pvalue)


def _fisher(x: pd.Series | np.ndarray, y: pd.Series | np.ndarray) -> float:
    x, y = np.asarray(x, dtype=bool), np.asarray(y, dtype=bool)
    table = [[int(x.sum()), int(x.size - x.sum())], [int(y.sum()), int(y.size - y.sum())]]
    return float(stats.fisher_exact(table).pvalue)


def holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values."""
    order = np.argsort(p)
    scaled = np.maximum.accumulate((p.size - np.arange(p.size)) * p[order])
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(scaled, 1.0)
    return adjusted


def report(name: str, a: pd.DataFrame, b: pd.DataFrame, alpha: float, show: int) -> bool:
    """Print one family of tests; return whether no adjusted p-value is below ``alpha``."""
    rows = pd.DataFrame(comparisons(a, b), columns=["quantity", "test", "p"])
    rows["holm"] = holm(rows["p"].to_numpy())
    rows = rows.sort_values("p")
    agree = bool((rows["holm"] >= alpha).all())
    print(
        f"{name}: {len(rows)} tests, {int((rows['p'] < alpha).sum())} with p < {alpha:g} "
        f"({alpha * len(rows):.0f} expected by chance), smallest p {rows['p'].iloc[0]:.3g}, "
        f"smallest Holm-adjusted p {rows['holm'].min():.3g} -> "
        + ("no difference found" if agree else "DIFFERENT")
    )
    for row in rows.head(show).itertuples():
        print(f"    {row.quantity:<40} {row.test:<13} p = {row.p:.3g}   Holm {row.holm:.3g}")
    return agree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50_000, help="runs per sample")
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--control-change", type=float, default=0.01)
    parser.add_argument("--show", type=int, default=3, help="smallest p-values listed")
    parser.add_argument(
        "--scenario", action="append", type=Path, help="default: every shipped scenario"
    )
    args = parser.parse_args()
    scenarios = args.scenario or SCENARIOS
    print(
        f"{args.runs:,} runs per sample over each scenario's horizon; root seeds "
        f"{args.seed} (gamma-Poisson) and {args.seed + 1} (inversion)\n"
    )
    started = time.perf_counter()
    verdicts = []
    reference = None  # the reference scenario's file and its runs under inversion
    for path in scenarios:
        old = simulate(path, args.runs, args.seed, "gamma-poisson")
        new = simulate(path, args.runs, args.seed + 1, "auto")
        if path.name == REFERENCE.name:
            reference = path, new
        verdicts.append(report(path.stem, old, new, args.alpha, args.show))
    if reference is not None:
        path, new = reference
        base = load_scenario(path).parameters[CONTROL_PARAMETER].value
        changed = base * (1 + args.control_change)
        control = simulate(
            path, args.runs, args.seed + 2, "auto", parameters={CONTROL_PARAMETER: changed}
        )
        print(
            f"\ncontrol: {CONTROL_PARAMETER} {base:g} -> {changed:g} "
            f"({args.control_change:+.0%}), inversion both times:"
        )
        found = not report("reference, changed", new, control, args.alpha, args.show)
        print("    the tests " + ("do" if found else "do NOT") + " notice this change")
    print(f"\n{time.perf_counter() - started:.0f} s")
    bad = [p.stem for p, ok in zip(scenarios, verdicts, strict=True) if not ok]
    print("verdict: " + (f"differences in {', '.join(bad)}" if bad else "the schemes agree"))
    raise SystemExit(1 if bad else 0)


if __name__ == "__main__":
    main()
