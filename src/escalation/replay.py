"""Replay one run alone and tell its story: who did what to whom, why, with what effect."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from escalation.model.engine import EscalationModel
from escalation.model.record import UNCLASSIFIED
from escalation.scenario.schema import Scenario

if TYPE_CHECKING:
    from escalation.experiments.replicates import SimulationResults

__all__ = ["Replay", "replay_result", "replay_run", "story_lines"]


@dataclass
class Replay:
    """A replayed run: its events, in order, and its row of metrics."""

    run: int
    events: pd.DataFrame
    row: dict[str, Any]
    horizon_days: int


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
    events = model.trace_table().drop(columns=["run"])
    names = (*result.outcome_names, UNCLASSIFIED)
    row: dict[str, Any] = {"run": run}
    for name, values in result.columns.items():
        value = values[0].item()
        if name == "outcome_index":
            row["outcome"] = names[int(value)]
        else:
            row[name] = math.nan if isinstance(value, float) and math.isinf(value) else value
    return Replay(run, events, row, model.horizon)


def replay_result(results: SimulationResults, run: int) -> Replay:
    """Replay run ``run`` of stored results, with their scenario, seed, horizon and
    parameters."""
    return replay_run(
        results.scenario,
        results.seed,
        run,
        horizon_days=results.horizon_days,
        parameters=results.settings.get("parameters") or None,
    )


def story_lines(replay: Replay, scenario: Scenario, *, routine: bool = False) -> list[str]:
    """The run's day-by-day story.

    Acts of rung 0 that answer nothing (the routine tempo of attacks) are
    summarised per 30 days unless ``routine`` is true, so the story shows the crisis.
    """
    records = [
        {str(name): value for name, value in record.items()}
        for record in replay.events.to_dict("records")
    ]
    by_id = {int(record["event_id"]): record for record in records}
    lines = [f"Run {replay.run}: outcome {replay.row['outcome']}"]
    quiet: dict[int, list[float]] = {}
    for record in records:
        actor, action = str(record["actor"]), str(record["action"])
        target = record["target"] if isinstance(record["target"], str) else None
        day, count, rule = int(record["day"]), int(record["count"]), str(record["rule"])
        rung = scenario.actions[action].rung
        if not routine and rung == 0 and not rule:
            tally = quiet.setdefault(day // 30, [0.0, 0.0])
            tally[0] += count
            tally[1] += float(record["deaths_target"])
            continue
        who = actor if target is None else f"{actor} -> {target}"
        what = action if count == 1 else f"{action} x{count}"
        text = f"day {day:>4}  {who:<28} {what:<30} (rung {rung})"
        why = [f"rule {actor}.{rule}" if rule else f"tempo of {action}"]
        cause = by_id.get(int(record["cause"]))
        if cause is not None:
            why.append(f"answering {cause['actor']} {cause['action']} of day {int(cause['day'])}")
        if int(record["chain"]) >= 2:
            why.append(f"blow {int(record['chain'])} of a retaliation cycle")
        effect = []
        if record["deaths_target"]:
            effect.append(f"{target} dead {float(record['deaths_target']):g}")
        if record["deaths_actor"]:
            effect.append(f"{actor} dead {float(record['deaths_actor']):g}")
        text += "  why: " + "; ".join(why)
        if effect:
            text += "  effect: " + ", ".join(effect)
        lines.append(text)
    if quiet:
        lines += ["", "Routine tempo of acts (rung 0, answering nothing), per 30 days:"]
        last_day = replay.horizon_days - 1
        for month, (count_total, dead) in sorted(quiet.items()):
            lines.append(
                f"  days {30 * month:>3}-{min(30 * month + 29, last_day):<3}  "
                f"{count_total:>4.0f} acts, {dead:g} dead"
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
            problems.append(f"{name}: stored {_plain(saved)}, replayed {_plain(value)}")
    return problems


def _plain(value: object) -> str:
    """A stored or replayed value as a reader writes it (``603``, not ``np.float64(603.0)``)."""
    if isinstance(value, np.generic):
        value = value.item()
    return f"{value:g}" if isinstance(value, float) else str(value)
