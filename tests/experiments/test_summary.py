"""A sweep point's summary row, against the statistics computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from escalation.experiments.summary import QUANTILES, point_summary, summary_frame
from escalation.report_text import wilson_interval

OUTCOMES = ["war", "truce", "unclassified"]


@pytest.fixture
def runs() -> pd.DataFrame:
    generator = np.random.default_rng(4)
    n = 101
    first_day = generator.uniform(0, 365, n)
    first_day[generator.random(n) < 0.3] = np.nan  # an act some runs never saw
    return pd.DataFrame(
        {
            "point": np.full(n, 7, dtype=np.int64),
            "replicate": np.arange(n, dtype=np.int64),
            "outcome": pd.Categorical.from_codes(
                generator.choice([0, 2], n), categories=pd.Index(OUTCOMES)
            ),
            "deaths": generator.negative_binomial(2, 0.1, n).astype(np.int64),
            "first_strike_day": first_day,
            "truce": generator.random(n) < 0.4,
            "never_day": np.full(n, np.nan),
        }
    )


def test_a_point_summary_is_the_statistics_of_its_runs(runs: pd.DataFrame) -> None:
    metrics = ["deaths", "first_strike_day", "truce", "never_day"]
    row = point_summary(pa.Table.from_pandas(runs, preserve_index=False), OUTCOMES, metrics)
    n = len(runs)
    assert row["point"] == 7
    assert row["runs"] == n
    for outcome in OUTCOMES:
        found = int((runs["outcome"] == outcome).sum())
        low, high = wilson_interval(np.array([found]), n)
        assert row[f"share_{outcome}"] == found / n
        assert row[f"share_{outcome}_low"] == pytest.approx(float(low[0]))
        assert row[f"share_{outcome}_high"] == pytest.approx(float(high[0]))
    assert row["share_truce"] == 0.0  # an outcome no run reached
    for metric in metrics[:3]:
        defined = runs[metric].astype(np.float64).dropna().to_numpy()
        assert row[f"mean_{metric}"] == pytest.approx(defined.mean())
        for level in QUANTILES:
            expected = np.quantile(defined, level)
            assert row[f"q{round(level * 100):02d}_{metric}"] == pytest.approx(expected)
    assert row["mean_truce"] == pytest.approx(runs["truce"].mean())
    assert np.isnan(row["mean_never_day"])  # all NaN gives NaN
    assert np.isnan(row["q50_never_day"])
    assert row["failed"] is False


def test_summary_rows_make_the_documented_table(runs: pd.DataFrame) -> None:
    metrics = ["deaths", "truce"]
    row = point_summary(pa.Table.from_pandas(runs, preserve_index=False), OUTCOMES, metrics)
    points = pd.DataFrame({"point": [7], "attack_chance": [0.25]})
    frame = summary_frame([row], points, OUTCOMES, metrics)
    assert list(frame.columns[:4]) == ["point", "attack_chance", "runs", "share_war"]
    assert list(frame.columns[-2:]) == ["failed", "error"]
    assert frame["q95_deaths"].dtype == np.float64
    assert frame.loc[0, "runs"] == len(runs)
