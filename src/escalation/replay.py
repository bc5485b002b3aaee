"""Replay one run alone and tell its story: who did what to whom, why, with what effect."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from escalation.model.engine import EscalationModel
from escalation.model.record import UNCLASSIFIED
from escalation.scenario.schema import Scenario

__all__ = ["Replay", "replay_run", "story_lines"]


@dataclass
class Replay:
    """A replayed run: its events, in order, and its row of metrics."""

    run: int
    events: pd.DataFrame
    row: dict[str, Any]


def replay_run(
    scenario: Scenario,
    seed: int,
    run: int,
    *,
    horizon_days: int | None = None,
    parameters: dict[str, float] | None = None,
    family: int = 0,
) -> Replay:
    """Re-run run ``run`` by itself, keeping every act."""
    model = EscalationModel(
        scenario,
        seed=seed,
        run_ids=[run],
        horizon_days=horizon_days,
        parameters=parameters,
        trace=True,
        family=family,
    )
    result = model.run()
    assert model.trace is not None
    rows = []
    for entry in model.trace:
        deaths_target = entry["deaths_target"]
        deaths_actor = entry["deaths_actor"]
        rows.append(
            {
                "day": entry["day"],
                "event_id": entry["event_id"],
                "actor": entry["actor"],
                "action": entry["action"],
                "target": entry["target"],
                "rule": entry["rule"] or "",
                "count": int(entry["counts"][0]),
                "cause": int(entry["cause"][0]),
                "chain": int(entry["chain"][0]),
                "deaths_target": float(deaths_target[0]) if deaths_target is not None else 0.0,
                "deaths_actor": float(deaths_actor[0]) if deaths_actor is not None else 0.0,
            }
        )
    events = pd.DataFrame(
        rows,
        columns=[
            "day",
            "event_id",
            "actor",
            "action",
            "target",
            "rule",
            "count",
            "cause",
            "chain",
            "deaths_target",
            "deaths_actor",
        ],
    )
    names = (*result.outcome_names, UNCLASSIFIED)
    row: dict[str, Any] = {"run": run}
    for name, values in result.columns.items():
        value = values[0].item()
        if name == "outcome_index":
            row["outcome"] = names[int(value)]
        else:
            row[name] = math.nan if isinstance(value, float) and math.isinf(value) else value
    return Replay(run, events, row)


def story_lines(replay: Replay, scenario: Scenario, *, routine: bool = False) -> list[str]:
    """The run's day-by-day story.

    Acts of rung 0 that answer nothing (the routine tempo of attacks) are
    summarised per month unless ``routine`` is true, so the story shows the crisis.
    """
    events = replay.events
    by_id = {int(row.event_id): row for row in events.itertuples()}
    lines = [f"Run {replay.run}: outcome {replay.row['outcome']}"]
    quiet: dict[int, list[float]] = {}
    for row in events.itertuples():
        rung = scenario.actions[row.action].rung
        if not routine and rung == 0 and not row.rule:
            month = int(row.day) // 30
            tally = quiet.setdefault(month, [0, 0.0])
            tally[0] += row.count
            tally[1] += row.deaths_target
            continue
        who = row.actor if row.target is None else f"{row.actor} -> {row.target}"
        what = row.action if row.count == 1 else f"{row.action} x{row.count}"
        text = f"day {int(row.day):>4}  {who:<28} {what:<30} (rung {rung})"
        why = []
        if row.rule:
            why.append(f"rule {row.actor}.{row.rule}")
        else:
            why.append(f"tempo of {row.action}")
        if row.cause >= 0 and row.cause in by_id:
            cause = by_id[row.cause]
            why.append(f"answering {cause.actor} {cause.action} of day {int(cause.day)}")
        if row.chain >= 2:
            why.append(f"blow {row.chain} of a retaliation cycle")
        effect = []
        if row.deaths_target:
            effect.append(f"{row.target} dead {row.deaths_target:g}")
        if row.deaths_actor:
            effect.append(f"{row.actor} dead {row.deaths_actor:g}")
        if why:
            text += "  why: " + "; ".join(why)
        if effect:
            text += "  effect: " + ", ".join(effect)
        lines.append(text)
    if quiet:
        lines.append("")
        lines.append("Routine tempo of acts (rung 0, answering nothing), per 30 days:")
        for month, (count, dead) in sorted(quiet.items()):
            lines.append(
                f"  days {30 * month:>3}-{30 * month + 29:<3}  {count:>4.0f} acts, {dead:g} dead"
            )
    return lines


def mismatches(replay: Replay, stored: pd.Series) -> list[str]:
    """The metrics where the replay differs from the stored row (none expected)."""
    problems = []
    for name, value in replay.row.items():
        if name not in stored.index:
            continue
        saved = stored[name]
        if name == "outcome":
            same = str(saved) == str(value)
        elif isinstance(value, float) and math.isnan(value):
            same = bool(pd.isna(saved))
        else:
            same = bool(np.isclose(float(saved), float(value), rtol=0, atol=0))
        if not same:
            problems.append(f"{name}: stored {saved!r}, replayed {value!r}")
    return problems
