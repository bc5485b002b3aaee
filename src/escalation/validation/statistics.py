"""The statistics a target can name: each turns simulated runs into a sample.

A statistic gives either *values* (one per run, per act or per cycle), summarised
by their median and central interval, or a *share* (a yes or no per act), summarised
by the share and its Wilson interval.  Statistics of acts read the traced runs
(:attr:`Evidence.events`); the others read the runs table of every run.

=========================== ====== ===============================================
statistic                   sample options (required; optional)
=========================== ====== ===============================================
response_delay_days         values trigger, response; link, within
answered_share              share  trigger, response; link, within
event_deaths                values acts; side
monthly_acts                values acts
act_rate                    values action; scale
episode_rate                values acts; within, scale
claimed_to_admitted_ratio   values actor
cycle_length                values (none)
column                      values column; scale, above (a share when given)
=========================== ====== ===============================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from escalation.validation.evidence import Evidence

if TYPE_CHECKING:
    from escalation.validation.targets import Acts, Target

__all__ = ["STATISTICS", "Sample", "StatisticSpec", "compute", "needs_trace"]

FloatArray = NDArray[np.float64]
DAYS_PER_MONTH = 30
DAYS_PER_YEAR = 365


@dataclass(frozen=True)
class Sample:
    """What the model says of one statistic.

    Attributes
    ----------
    kind
        ``"values"`` (summarised by quantiles) or ``"share"`` (``values`` are 0 or 1).
    values
        One number per unit (run, act, cycle, run-month).
    unit
        What a value counts, for labels: ``"days"``, ``"deaths"``...
    per
        What one value is about: ``"answer"``, ``"run"``, ``"cycle"``...
    """

    kind: Literal["values", "share"]
    values: FloatArray
    unit: str
    per: str

    @property
    def n(self) -> int:
        return int(self.values.size)


@dataclass(frozen=True)
class StatisticSpec:
    """A statistic of the registry: its function and the options it takes."""

    name: str
    function: Callable[[Target, Evidence], Sample]
    required: tuple[str, ...]
    optional: tuple[str, ...]
    traced: bool
    doc: str


def _events(evidence: Evidence, statistic: str) -> pd.DataFrame:
    if evidence.events is None:
        raise ValueError(f"statistic {statistic!r} needs traced runs; none were traced")
    return evidence.events


def _matching(events: pd.DataFrame, acts: Acts) -> pd.DataFrame:
    mask = events["action"].isin(acts.action)
    if acts.actor is not None:
        mask &= events["actor"] == acts.actor
    if acts.target is not None:
        mask &= events["target"] == acts.target
    if acts.min_deaths is not None:
        mask &= events["deaths_target"] >= acts.min_deaths
    return events.loc[mask]


def _answers(target: Target, evidence: Evidence) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Triggers, and answers joined to the trigger they answer (``day_trigger``)."""
    assert target.trigger is not None
    assert target.response is not None
    events = _events(evidence, target.statistic)
    triggers = _matching(events, target.trigger)[["run", "event_id", "day"]]
    responses = _matching(events, target.response)[["run", "event_id", "day", "cause"]]
    if (target.link or "cause") == "cause":
        joined = responses.merge(
            triggers.rename(columns={"event_id": "cause", "day": "day_trigger"}),
            on=["run", "cause"],
        )
        joined = joined.rename(columns={"cause": "trigger_id"})
    else:
        joined = pd.merge_asof(
            responses.sort_values("day"),
            triggers.rename(columns={"event_id": "trigger_id", "day": "day_trigger"})
            .assign(day=lambda frame: frame["day_trigger"])
            .sort_values("day"),
            on="day",
            by="run",
            direction="backward",
            allow_exact_matches=False,
        ).dropna(subset=["trigger_id"])
    joined = joined.assign(delay=joined["day"] - joined["day_trigger"])
    if target.within is not None:
        joined = joined.loc[joined["delay"] <= target.within]
    return triggers, joined


def response_delay_days(target: Target, evidence: Evidence) -> Sample:
    """Days from each answered act to the act that answered it.

    ``link: cause`` (the default) pairs an answer with the act its rule looked at
    when it decided (the engine's cause link); ``link: time`` with the latest
    trigger before it, within ``within`` days.
    """
    _, joined = _answers(target, evidence)
    return Sample("values", joined["delay"].to_numpy(np.float64), "days", "answer")


def answered_share(target: Target, evidence: Evidence) -> Sample:
    """The share of trigger acts that some response answered.

    With ``within``, an answer later than ``within`` days does not count, and
    triggers in the last ``within`` days of the horizon, whose answer could fall
    beyond it, are left out.
    """
    triggers, joined = _answers(target, evidence)
    if target.within is not None:
        triggers = triggers.loc[triggers["day"] < evidence.horizon_days - target.within]
    answered = joined[["run", "trigger_id"]].drop_duplicates()
    flags = triggers.merge(
        answered.rename(columns={"trigger_id": "event_id"}),
        on=["run", "event_id"],
        how="left",
        indicator=True,
    )["_merge"].eq("both")
    return Sample("share", flags.to_numpy().astype(np.float64), "share", "trigger")


def event_deaths(target: Target, evidence: Evidence) -> Sample:
    """Deaths of each matching act (a day's acts of one kind by one actor together).

    ``side``: ``target`` (the side acted upon, the default), ``actor`` (the side
    acting) or ``both``.
    """
    assert target.acts is not None
    events = _matching(_events(evidence, target.statistic), target.acts)
    side = target.side or "target"
    if side == "target":
        deaths = events["deaths_target"]
    elif side == "actor":
        deaths = events["deaths_actor"]
    else:
        deaths = events["deaths_target"] + events["deaths_actor"]
    return Sample("values", deaths.to_numpy(np.float64), "deaths", "act")


def monthly_acts(target: Target, evidence: Evidence) -> Sample:
    """Matching acts in each whole 30-day month of each traced run, empty months included."""
    assert target.acts is not None
    events = _matching(_events(evidence, target.statistic), target.acts)
    months = evidence.horizon_days // DAYS_PER_MONTH
    if months == 0:
        raise ValueError(
            f"statistic 'monthly_acts' needs a horizon of at least {DAYS_PER_MONTH} days, "
            f"got {evidence.horizon_days}"
        )
    month = events["day"].to_numpy() // DAYS_PER_MONTH
    keep = month < months
    position = {int(run): index for index, run in enumerate(evidence.traced_runs)}
    rows = np.array([position[int(r)] for r in events["run"].to_numpy()[keep]], dtype=np.int64)
    counts = np.zeros((evidence.traced_runs.size, months))
    np.add.at(counts, (rows, month[keep]), events["count"].to_numpy()[keep])
    return Sample("values", counts.reshape(-1), "acts", "run-month")


def episode_rate(target: Target, evidence: Evidence) -> Sample:
    """Episodes of matching acts per year (or month) of each traced run.

    Acts no more than ``within`` days apart (default 1: consecutive days) belong
    to one episode, as a series of strikes does in the record.  ``scale`` as for
    ``act_rate``, with ``per_year`` the default.
    """
    assert target.acts is not None
    events = _matching(_events(evidence, target.statistic), target.acts)
    gap = target.within or 1
    days = events[["run", "day"]].drop_duplicates().sort_values(["run", "day"])
    run = days["run"].to_numpy()
    day = days["day"].to_numpy()
    starts = np.ones(run.size, dtype=bool)
    starts[1:] = (run[1:] != run[:-1]) | (day[1:] - day[:-1] > gap)
    position = {int(r): index for index, r in enumerate(evidence.traced_runs)}
    counts = np.zeros(evidence.traced_runs.size)
    np.add.at(counts, np.array([position[int(r)] for r in run[starts]], dtype=np.int64), 1.0)
    values, unit = _scaled(counts, target.scale or "per_year", evidence.horizon_days, "episodes")
    return Sample("values", values, unit, "run")


def act_rate(target: Target, evidence: Evidence) -> Sample:
    """Acts of the given actions per month (30 days) or year of each run's horizon.

    ``scale``: ``per_month`` (the default), ``per_year`` (365 days) or ``none`` (the
    total over the horizon).  Reads the runs table, so it sees every run.
    """
    assert target.action is not None
    runs = evidence.results.runs
    total = np.zeros(len(runs))
    for name in target.action:
        total += runs[f"{name}_count"].to_numpy(np.float64)
    values, unit = _scaled(total, target.scale or "per_month", evidence.horizon_days, "acts")
    return Sample("values", values, unit, "run")


def _scaled(values: FloatArray, scale: str, horizon: int, unit: str) -> tuple[FloatArray, str]:
    if scale == "per_month":
        return values * DAYS_PER_MONTH / horizon, f"{unit} per month"
    if scale == "per_year":
        return values * DAYS_PER_YEAR / horizon, f"{unit} per year"
    return values, unit


def claimed_to_admitted_ratio(target: Target, evidence: Evidence) -> Sample:
    """The deaths of ``actor`` its enemies claim over those it admits, per run.

    Runs where the actor admits no death have no ratio and are left out.
    """
    assert target.actor is not None
    runs = evidence.results.runs
    claimed = runs[f"{target.actor}_dead_claimed"].to_numpy(np.float64)
    admitted = runs[f"{target.actor}_dead_admitted"].to_numpy(np.float64)
    keep = admitted > 0
    return Sample("values", claimed[keep] / admitted[keep], "ratio", "run")


def cycle_length(target: Target, evidence: Evidence) -> Sample:
    """Blows in each retaliation cycle (a chain of two or more answering blows)."""
    lengths = evidence.results.cycles["length"].to_numpy(np.float64)
    return Sample("values", lengths, "blows", "cycle")


def column(target: Target, evidence: Evidence) -> Sample:
    """A column of the runs table, per run, optionally per month or year of horizon.

    Runs where the column is undefined (a first day when the act never came) are
    left out.  With ``above``, the sample is the share of runs whose value exceeds it.
    """
    assert target.column is not None
    values = evidence.results.runs[target.column].to_numpy(np.float64)
    values = values[~np.isnan(values)]
    values, unit = _scaled(values, target.scale or "none", evidence.horizon_days, target.column)
    if target.above is not None:
        return Sample("share", (values > target.above).astype(np.float64), "share", "run")
    return Sample("values", values, unit, "run")


def _spec(
    function: Callable[[Target, Evidence], Sample],
    required: tuple[str, ...],
    optional: tuple[str, ...] = (),
    traced: bool = False,
) -> StatisticSpec:
    doc = (function.__doc__ or "").strip().splitlines()[0]
    return StatisticSpec(function.__name__, function, required, optional, traced, doc)


STATISTICS: dict[str, StatisticSpec] = {
    spec.name: spec
    for spec in (
        _spec(response_delay_days, ("trigger", "response"), ("link", "within"), traced=True),
        _spec(answered_share, ("trigger", "response"), ("link", "within"), traced=True),
        _spec(event_deaths, ("acts",), ("side",), traced=True),
        _spec(monthly_acts, ("acts",), traced=True),
        _spec(act_rate, ("action",), ("scale",)),
        _spec(episode_rate, ("acts",), ("within", "scale"), traced=True),
        _spec(claimed_to_admitted_ratio, ("actor",)),
        _spec(cycle_length, ()),
        _spec(column, ("column",), ("scale", "above")),
    )
}
"""Every statistic a target may name, by name."""


def needs_trace(target: Target) -> bool:
    """Whether the target's statistic reads the acts of traced runs."""
    return STATISTICS[target.statistic].traced


def compute(target: Target, evidence: Evidence) -> Sample:
    """The model's sample of ``target``'s statistic."""
    return STATISTICS[target.statistic].function(target, evidence)
