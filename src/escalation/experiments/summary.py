"""The summary of a sweep point: outcome shares with intervals, metric means and quantiles.

One row per point of ``summary.parquet``: ``point``, the factor columns, ``runs``,
then for each outcome ``o`` (the scenario's, then ``unclassified``)
``share_o``, ``share_o_low`` and ``share_o_high`` (Wilson 95% interval), then for
each numeric metric ``m`` of the runs ``mean_m``, ``q05_m``, ``q50_m`` and
``q95_m``, and last ``failed`` and ``error``.  A metric that is NaN in some runs
(the first day of an act that never happened) is summarised over the runs where
it is defined; all NaN gives NaN.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from escalation.report_text import wilson_interval

__all__ = ["QUANTILES", "failed_row", "point_summary", "summary_frame"]

QUANTILES = (0.05, 0.5, 0.95)


def point_summary(runs: pa.Table, outcomes: list[str], metrics: list[str]) -> dict[str, Any]:
    """The summary row of one point from its runs (``point``, ``outcome``, metrics).

    Read from the point's Arrow table as it comes from disk, with no pandas frame.
    """
    n = runs.num_rows
    row: dict[str, Any] = {"point": int(runs.column("point")[0].as_py()), "runs": n}
    tally = pc.value_counts(pc.cast(runs.column("outcome"), pa.string()))
    counts = dict(
        zip(tally.field("values").to_pylist(), tally.field("counts").to_pylist(), strict=True)
    )
    found = np.array([counts.get(o, 0) for o in outcomes], dtype=np.int64)
    low, high = wilson_interval(found, n)
    for index, outcome in enumerate(outcomes):
        row[f"share_{outcome}"] = found[index] / n
        row[f"share_{outcome}_low"] = float(low[index])
        row[f"share_{outcome}_high"] = float(high[index])
    # A metric a column: nulls (a day never reached) as NaN, booleans as 0 and 1.
    columns = np.empty((len(metrics), n))
    for index, metric in enumerate(metrics):
        column = pc.cast(runs.column(metric), pa.float64(), safe=False)
        columns[index] = column.to_numpy(zero_copy_only=False)
    values = columns.T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN metrics give NaN, as stated
        means = np.nanmean(values, axis=0)
        # np.nanquantile takes the columns one at a time in Python; the columns with
        # no NaN go through np.quantile at once, which gives the same numbers.
        whole = ~np.isnan(values).any(axis=0)
        quantiles = np.empty((len(QUANTILES), values.shape[1]))
        quantiles[:, whole] = np.quantile(values[:, whole], QUANTILES, axis=0)
        quantiles[:, ~whole] = np.nanquantile(values[:, ~whole], QUANTILES, axis=0)
    for index, metric in enumerate(metrics):
        row[f"mean_{metric}"] = float(means[index])
        for q, level in enumerate(QUANTILES):
            row[f"q{round(level * 100):02d}_{metric}"] = float(quantiles[q, index])
    row["failed"] = False
    row["error"] = None
    return row


def failed_row(point: int, error: str) -> dict[str, Any]:
    """The summary row of a point whose model raised."""
    return {"point": point, "runs": 0, "failed": True, "error": error}


def summary_frame(
    rows: list[dict[str, Any]], points: pd.DataFrame, outcomes: list[str], metrics: list[str]
) -> pd.DataFrame:
    """The rows as a table with the factor columns, in the documented column order."""
    statistics = [f"share_{o}{suffix}" for o in outcomes for suffix in ("", "_low", "_high")] + [
        f"{kind}_{m}"
        for m in metrics
        for kind in ("mean", *(f"q{round(q * 100):02d}" for q in QUANTILES))
    ]
    frame = pd.DataFrame(rows, columns=["point", "runs", *statistics, "failed", "error"])
    frame[statistics] = frame[statistics].astype(np.float64)
    frame["point"] = frame["point"].astype(np.int64)
    frame["runs"] = frame["runs"].astype(np.int64)
    frame["failed"] = frame["failed"].astype(bool)
    frame["error"] = frame["error"].astype("string")
    factors = [c for c in points.columns if c != "point"]
    merged = points.merge(frame, on="point", how="right", validate="one_to_one")
    return merged[["point", *factors, "runs", *statistics, "failed", "error"]]
