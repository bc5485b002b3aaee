"""A run replayed alone: its story and its comparison with the stored row."""

from __future__ import annotations

import numpy as np
import pandas as pd

from escalation import Scenario
from escalation.replay import mismatches, replay_run, story_lines


def test_the_routine_tempo_is_summarised_within_the_horizon(tiny_crisis: Scenario) -> None:
    replay = replay_run(tiny_crisis, 7, 0, horizon_days=45)
    lines = story_lines(replay, tiny_crisis)
    summary = lines[
        lines.index("Routine tempo of acts (rung 0, answering nothing), per 30 days:") :
    ]
    assert [" ".join(line.split()[:2]) for line in summary[1:]] == ["days 0-29", "days 30-44"]


def test_a_mismatch_is_written_as_numbers_are(tiny_crisis: Scenario) -> None:
    replay = replay_run(tiny_crisis, 7, 0)
    stored = pd.Series(
        {**replay.row, "govt_dead_true": np.float64(replay.row["govt_dead_true"] + 1)}
    )
    (problem,) = mismatches(replay, stored)
    expected = f"govt_dead_true: stored {replay.row['govt_dead_true'] + 1:g}, replayed "
    assert problem.startswith(expected)
    assert "np.float64" not in problem
