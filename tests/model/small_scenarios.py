"""Tiny scenarios written inline, and the statistics the model tests check them with."""

from __future__ import annotations

import math
import textwrap
from typing import Any

import numpy as np
import pandas as pd

from escalation import Scenario, load_scenario_text, run_scenario

__all__ = ["one_actor", "scenario", "simulate", "within_se"]

HEADER = """\
name: engine_check
horizon_days: {horizon}
ladder:
  - {{rung: 0, name: calm}}
  - {{rung: 1, name: raid}}
  - {{rung: 2, name: strike}}
"""

OUTCOME_ANY = """\
outcomes:
  - {id: any, when: "true"}
"""


def scenario(body: str, *, horizon: int = 30) -> Scenario:
    """A scenario from the common header (three rungs) and ``body``.

    A body without outcomes gets the single outcome ``any``.
    """
    text = textwrap.dedent(body)
    if "outcomes:" not in text:
        text += OUTCOME_ANY
    return load_scenario_text(HEADER.format(horizon=horizon) + text)


def one_actor(policy: str, actions: str, *, horizon: int = 30, extra: str = "") -> Scenario:
    """Actor ``a`` with ``policy`` (YAML list items), a passive actor ``b``, and ``actions``."""
    return scenario(
        "actors:\n  a:\n    name: A\n    kind: state\n    policy:\n"
        + textwrap.indent(textwrap.dedent(policy), "      ")
        + "  b: {name: B, kind: state}\n"
        + "actions:\n"
        + textwrap.indent(textwrap.dedent(actions), "  ")
        + textwrap.dedent(extra),
        horizon=horizon,
    )


def simulate(subject: Scenario, runs: int, seed: int = 1, **options: Any) -> pd.DataFrame:
    """The runs frame of ``runs`` runs (no daily paths)."""
    return run_scenario(subject, runs=runs, seed=seed, path_sample=0, **options).runs


def within_se(values: pd.Series | np.ndarray, expected: float, sd: float, k: float = 5) -> bool:
    """Whether the sample mean is within ``k`` standard errors of ``expected``."""
    array = np.asarray(values, dtype=float)
    return abs(array.mean() - expected) <= k * sd / math.sqrt(array.size)
