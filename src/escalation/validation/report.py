"""The check and the calibration as terminal text."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from escalation.validation.check import CheckResult

__all__ = ["RULE_LABELS", "check_text", "number", "posterior_text"]

RULE_LABELS = {
    "observed_in_interval": "observed in interval",
    "median_in_range": "median in range",
    "interval_overlaps_range": "interval meets range",
    "range_in_interval": "range in interval",
}
"""How each pass rule reads in a table."""


def number(value: float) -> str:
    """A number as a reader wants it: 2, 0.375, 88.6, 1,244; '-' for NaN."""
    if math.isnan(value):
        return "-"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if abs(value) >= 1000 or value == round(value):
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _observed(row: pd.Series) -> str:
    has_range = not math.isnan(row["range_low"])
    has_value = not math.isnan(row["observed"])
    span = f"[{number(row['range_low'])}, {number(row['range_high'])}]"
    if has_value and has_range:
        return f"{number(row['observed'])} in {span}"
    return number(row["observed"]) if has_value else span


def _percentile(row: pd.Series) -> str:
    if not math.isnan(row["percentile"]):
        return f"{row['percentile']:.0f}"
    if not math.isnan(row["percentile_low"]):
        return f"{row['percentile_low']:.0f}-{row['percentile_high']:.0f}"
    return "-"


def check_text(result: CheckResult) -> str:
    """The check table: per target the model, the record, the percentile, the verdict."""
    table = result.table
    level = sorted(set(table["interval"]))
    width = max(28, *(len(str(i)) + 2 for i in table["id"]))
    lines = [
        f"Targets {result.targets.name} against scenario {result.scenario.name}: "
        f"{result.runs:,} runs x {result.horizon_days} days "
        f"({result.traced_runs:,} traced), seed {result.seed}",
        f"model: median (or share) [central {', '.join(f'{100 * v:g}%' for v in level)}]; "
        "pct: percentile of the record in the model's sample",
        "",
        f"{'target':<{width}}{'model':<26}{'n':>8}  {'observed':<20}{'pct':>6}  {'rule':<22}result",
    ]
    for _, row in table.iterrows():
        model = f"{number(row['centre'])} [{number(row['low'])}, {number(row['high'])}]"
        verdict = "pass" if row["passed"] else "FAIL"
        lines.append(
            f"{row['id']:<{width}}{model:<26}{int(row['n']):>8,}  {_observed(row):<20}"
            f"{_percentile(row):>6}  {RULE_LABELS[row['rule']]:<22}{verdict}"
        )
    failed = table.loc[~table["passed"]]
    lines += ["", f"{len(table) - len(failed)} of {len(table)} targets pass."]
    for _, row in failed.iterrows():
        why = row["note"] or _why(row)
        lines.append(f"  {row['id']}: {why}")
    return "\n".join(lines)


def _why(row: pd.Series) -> str:
    model = f"{number(row['centre'])} [{number(row['low'])}, {number(row['high'])}]"
    rule = row["rule"]
    if rule == "observed_in_interval":
        return f"the record, {number(row['observed'])}, lies outside the model's {model}"
    span = f"[{number(row['range_low'])}, {number(row['range_high'])}]"
    if rule == "median_in_range":
        return f"the model's median {number(row['centre'])} lies outside the record's {span}"
    if rule == "interval_overlaps_range":
        return f"the model's {model} and the record's {span} do not meet"
    return f"the record's {span} is not inside the model's {model}"


def posterior_text(summary: pd.DataFrame, generations: pd.DataFrame, met: pd.Series) -> str:
    """The calibration's generations, the accepted parameters' quantiles, the targets met."""
    lines = [
        f"{'generation':>10}{'epsilon':>12}{'accepted':>10}{'simulated':>11}{'rate':>8}"
        f"{'seconds':>9}"
    ]
    for _, row in generations.iterrows():
        lines.append(
            f"{int(row['generation']):>10}{number(row['epsilon']):>12}"
            f"{int(row['accepted']):>10}{int(row['simulated']):>11}"
            f"{row['acceptance_rate']:>8.2f}{row['seconds']:>9.1f}"
            + ("" if row["kept"] else "  (acceptance too low: dropped)")
        )
    lines += [
        "",
        f"{'parameter':<32}{'prior':>18}{'5%':>10}{'median':>10}{'95%':>10}",
    ]
    for name, row in summary.iterrows():
        prior = f"[{number(row['prior_low'])}, {number(row['prior_high'])}]"
        lines.append(
            f"{name!s:<32}{prior:>18}{number(row['q05']):>10}{number(row['median']):>10}"
            f"{number(row['q95']):>10}"
        )
    lines += ["", "Share of accepted particles whose runs meet each target:"]
    for target, share in met.items():
        lines.append(f"  {target!s:<32}{100 * share:5.0f}%")
    return "\n".join(lines)
