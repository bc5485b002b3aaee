"""Sweep tables built by hand, in the formats a sweep folder holds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from escalation import Scenario
from escalation.report_text import wilson_interval

FACTORS = ("pakistan.strike_threshold", "p_answer")


def war_chance(threshold: float, answer: float) -> float:
    return float(1 / (1 + np.exp(-(threshold - 5) * 0.8 - (answer - 0.5) * 4)))


def grid_summary(runs: int = 200, seed: int = 0) -> pd.DataFrame:
    """A 10 x 5 grid over two factors, shares drawn from a known logistic surface."""
    generator = np.random.default_rng(seed)
    rows = []
    grid = [(t, a) for t in np.linspace(1, 10, 10) for a in (0.1, 0.3, 0.5, 0.7, 0.9)]
    for point, (threshold, answer) in enumerate(grid):
        wars = int(generator.binomial(runs, war_chance(threshold, answer)))
        low, high = wilson_interval(wars, runs)
        rows.append(
            {
                "point": point,
                FACTORS[0]: threshold,
                FACTORS[1]: answer,
                "runs": runs,
                "share_war": wars / runs,
                "share_war_low": float(low),
                "share_war_high": float(high),
                "share_calm": 1 - wars / runs,
                "share_calm_low": 1 - float(high),
                "share_calm_high": 1 - float(low),
                "mean_max_rung": 1.5,
                "q05_max_rung": 1.0,
                "q50_max_rung": 2.0,
                "q95_max_rung": 2.0,
                "failed": False,
                "error": None,
            }
        )
    return pd.DataFrame(rows)


def sobol_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "parameter": ["p_answer", "pakistan.strike_threshold"],
            "S1": [0.12, 0.61],
            "S1_conf": [0.03, 0.05],
            "ST": [0.2, 0.8],
            "ST_conf": [0.04, 0.06],
        }
    )


def morris_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "parameter": ["p_answer", "pakistan.strike_threshold"],
            "mu_star": [0.3, 0.5],
            "mu_star_conf": [0.05, 0.07],
            "sigma": [0.1, 0.2],
            "mu": [0.3, 0.5],
        }
    )


def prim_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "parameter": ["pakistan.strike_threshold", "p_answer"],
            "low": [5.5, -np.inf],
            "high": [np.inf, 0.6],
            "coverage": [0.62, 0.62],
            "density": [0.91, 0.91],
            "threshold": [0.5, 0.5],
            "mass": [0.27, 0.27],
        }
    )


def write_sweep(folder: Path, scenario: Scenario | None) -> Path:
    """A sweep folder: manifest, summary.parquet and analysis/*.parquet."""
    (folder / "analysis").mkdir(parents=True)
    summary = grid_summary()
    summary["error"] = summary["error"].astype("string")
    summary.loc[3, "failed"] = True
    summary.loc[3, "error"] = "the model raised"
    summary.to_parquet(folder / "summary.parquet", index=False)
    sobol_frame().to_parquet(folder / "analysis" / "sobol_share_war.parquet", index=False)
    morris_frame().to_parquet(folder / "analysis" / "morris_mean_max_rung.parquet", index=False)
    prim_frame().to_parquet(folder / "analysis" / "prim_war.parquet", index=False)
    manifest: dict[str, object] = {
        "kind": "sweep",
        "status": "complete",
        "seed": "9",
        "factors": [
            {"name": FACTORS[0], "low": 0.0, "high": 20.0, "levels": 10},
            {"name": FACTORS[1], "low": 0.1, "high": 0.9, "levels": 5},
        ],
        "command": ["escalation", "sweep", "experiment.yaml"],
        "versions": {"escalation": "0"},
    }
    if scenario is not None:
        manifest["scenario"] = scenario.model_dump(mode="json")
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder
