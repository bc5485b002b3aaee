"""Actors as Mesa agents: each decides on its rules and acts for a whole block of runs.

Decisions read only the state at the start of the day and write only the actor's
own schedule, and every draw is a function of (run, day, site), so the order in
which Mesa calls the agents changes nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import mesa
import numpy as np
from numpy.typing import NDArray

from escalation import rng
from escalation.errors import ModelError
from escalation.model import kernels
from escalation.model.plan import RulePlan, TempoPlan
from escalation.scenario.errors import format_path

if TYPE_CHECKING:
    from escalation.model.compiler import ObservationKey
    from escalation.model.engine import EscalationModel

__all__ = ["ActorAgent", "Event", "ModelError"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@dataclass
class Event:
    """One kind of act by one actor on one day, in the runs where it happened."""

    slot: int
    actor: str
    action: str
    target: str | None
    runs: IntArray
    counts: FloatArray
    chain: IntArray
    root: IntArray
    cause: IntArray
    rule: str | None = None
    dense_counts: FloatArray | None = None
    """For acts drawn in every run (a tempo): the counts of all runs, zeros included."""
    continued: int = 0
    """How many of the acts continue a retaliation chain (``chain`` >= 2)."""


def _subset(value: float | FloatArray, runs: IntArray) -> float | FloatArray:
    if isinstance(value, np.ndarray):
        return value[runs] if value.ndim else float(value)
    return value


def _check_probability(value: float | FloatArray, path: tuple[str | int, ...]) -> None:
    where = format_path(path)
    if isinstance(value, float | int):
        if not 0 <= value <= 1:
            raise ModelError(f"{where}: a probability must be in [0, 1], got {value:g}", path)
        return
    array = np.asarray(value, dtype=np.float64)
    bad = ~((array >= 0) & (array <= 1))
    if np.any(bad):
        raise ModelError(
            f"{where}: a probability must be in [0, 1], got {array[bad].flat[0]:g}", path
        )


class _Decision(NamedTuple):
    """What a rule's decision reads each day, read once per block."""

    position: int
    rule: RulePlan
    same: tuple[Any, ...]
    """Its condition's key: rules with the same key share one evaluation a day."""
    action: str
    ready_day: NDArray[np.int32]
    """The first day it may decide again, per run (its row of `ActorAgent.ready_day`)."""
    sources: tuple[NDArray[Any], ...]
    """Where the keys its condition reads keep their last acts (the tracker's arrays
    and these keys' rows of them), whether those acts are hostile (only hostile acts
    continue a chain), and how far back the condition looks at each: what
    `kernels.hold` reads."""
    probability: float | None
    """Its probability when fixed for the block."""
    low: int
    high: int
    """Its delay's range."""


class ActorAgent(mesa.Agent):
    """A party to the crisis, holding its policy's schedule for every run of the block."""

    def __init__(self, model: EscalationModel, name: str) -> None:
        super().__init__(model)
        self.name = name
        plan = model.plan
        n = model.state.n
        self.rules: tuple[RulePlan, ...] = plan.rules[name]
        self.tempos: tuple[TempoPlan, ...] = plan.tempos[name]
        self.index = plan.actor_index(name)
        count = len(self.rules)
        # Per rule, the runs whose decided act falls due on each day, and what each of
        # those acts answers: (event id, chain length, chain root, perceived author of
        # the event), a row per run.
        self.schedule: list[dict[int, list[tuple[IntArray, IntArray]]]] = [{} for _ in range(count)]
        # The first day each rule may decide again: after its cooldown, never while an
        # act it decided is still waiting for its day.
        # Days fit 32 bits (`kernels.NEVER` stands for never), which halves what
        # every rule's decision reads each day.
        self.ready_day = np.zeros((count, n), dtype=np.int32)
        self.pending = [0] * count
        self.cooldown_horizon = [0] * count
        # A single act's count, shared by every event of one act per run.  Nothing
        # writes to it; it stays writeable only so that the compiled kernels see one
        # array type (a read-only array would compile each kernel a second time).
        self._ones = np.ones(n)
        # Per rule, where the keys its condition reads keep their last acts (see
        # `_Decision.sources`).
        tracker = model.state.tracker
        cause_sources: list[tuple[NDArray[Any], ...]] = []
        for rule in self.rules:
            # How far back the condition looks at each key: its widest window.
            reach: dict[ObservationKey, float] = {}
            for key, within in zip(rule.when.keys, rule.when.windows, strict=True):
                reach[key] = max(reach.get(key, 0.0), math.inf if within is None else within)
            keys = list(reach)
            hostile = [key.action is None or plan.actions[key.action].hostile for key in keys]
            cause_sources.append(
                (
                    tracker.last_days,
                    tracker.causes,
                    *tracker.cause_sources(keys),
                    np.array(hostile, dtype=np.uint8),
                    np.array([reach[key] for key in keys], dtype=np.float64),
                )
            )
        # Rules whose conditions have the same text and read the same observations
        # (and the same actor, through ``self``) share one evaluation a day.
        self.condition_keys = [
            (
                rule.when.text,
                name if "self" in rule.when.text else None,
                tuple(id(tracker.track(key)) for key in rule.when.keys),
            )
            for rule in self.rules
        ]
        # What each rule's decision reads, in the order of the policy, read once.  A
        # probability that reads only literals and parameters keeps its value for the
        # block; it is drawn (when strictly between 0 and 1) in the same pass that
        # finds where the rule may fire.
        self._decisions = [
            _Decision(
                position,
                rule,
                self.condition_keys[position],
                rule.action,
                self.ready_day[position],
                cause_sources[position],
                rule.probability.block_probability(model.state),
                *rule.delay,
            )
            for position, rule in enumerate(self.rules)
        ]
        self._eligible = np.empty(n, dtype=np.uint8)
        self._everywhere = np.ones(n, dtype=np.uint8)  # shared and never written, as _ones
        self.excitation = [
            np.broadcast_to(
                np.asarray(tempo.initial_excitation.evaluate(model.state), dtype=np.float64), (n,)
            ).copy()
            for tempo in self.tempos
        ]

    def decide(self) -> None:
        """Evaluate the policy: for each action the first applicable rule decides."""
        model = self.model
        state = model.state
        day = state.day
        decided: dict[str, NDArray[np.uint8]] = {}
        n = state.n
        eligible = self._eligible
        if model.conditions_day != day:
            model.conditions_today, model.conditions_day = {}, day
        memo = model.conditions_today
        pending = self.pending
        k0, k1 = model.key
        run_ids = model.run_ids
        family = model.family
        drawn_today = 0
        for position, rule, same, action, ready_day, sources, p, low, high in self._decisions:
            truth = memo.get(same)
            if truth is None:
                test = rule.when.test
                truth = memo[same] = test(state) if test is not None else True
            taken = decided.get(action)
            first = taken is None
            if isinstance(truth, np.ndarray):
                if truth.shape != (n,):
                    truth = np.broadcast_to(truth, (n,)).copy()
                applies = truth.view(np.uint8)
            elif truth:
                applies = self._everywhere
            else:
                applies = None
            if applies is None or not kernels.any_set(applies):
                # The rule applies in no run: it decides nothing, and leaves the
                # action to the next rule.
                if first:
                    decided[action] = np.zeros(n, dtype=np.uint8)
                continue
            check_ready = pending[position] > 0 or day < self.cooldown_horizon[position]
            if taken is None:
                taken = decided[action] = np.empty(n, dtype=np.uint8)
            if p is not None:
                runs, drawn, answered = kernels.decide_and_fire(
                    applies,
                    ready_day,
                    check_ready,
                    day,
                    taken,
                    first,
                    eligible,
                    k0,
                    k1,
                    run_ids,
                    rule.fire_site,
                    family,
                    p,
                    *sources,
                )
                drawn_today += drawn
            else:
                kernels.decide_mask(applies, ready_day, check_ready, day, taken, first, eligible)
                runs = self._fire(rule, eligible.view(np.bool_))
                if runs.size:
                    answered = kernels.hold(ready_day, runs, day, *sources)
            if runs.size == 0:
                continue
            schedule = self.schedule[position]
            if low == high:
                schedule.setdefault(day + low, []).append((runs, answered))
            else:
                grouped, grouped_answered, starts = kernels.delay_groups(
                    k0, k1, run_ids, runs, answered, day, rule.delay_site, family, low, high
                )
                drawn_today += runs.size
                for k in np.flatnonzero(starts[1:] > starts[:-1]).tolist():
                    part = slice(starts[k], starts[k + 1])
                    schedule.setdefault(day + low + k, []).append(
                        (grouped[part], grouped_answered[part])
                    )
            pending[position] += runs.size
        rng.count_draws(drawn_today)

    def _rule_path(self, rule: RulePlan, field: str) -> tuple[str | int, ...]:
        """Where the scenario gives ``field`` of ``rule``."""
        policy = self.model.scenario.actors[self.name].policy
        position = next(i for i, written in enumerate(policy) if written.id == rule.id)
        return ("actors", self.name, "policy", position, field)

    def _tempo_path(self, position: int) -> tuple[str | int, ...]:
        """Where the scenario gives this actor's tempo number ``position``."""
        return ("actors", self.name, "tempo", position)

    def _fire(self, rule: RulePlan, eligible: NDArray[np.bool_]) -> IntArray:
        """The runs among ``eligible`` where ``rule`` fires today."""
        model = self.model
        state = model.state
        day = state.day
        if not eligible.any():
            return np.empty(0, dtype=np.int64)
        value = rule.probability.evaluate(state)
        if isinstance(value, np.ndarray) and value.shape == (state.n,):
            # One probability per run: checked and drawn where eligible, in one pass.
            each = np.ascontiguousarray(value, dtype=np.float64)
            fired, drawn, bad = kernels.fire_each(
                model.key[0],
                model.key[1],
                model.run_ids,
                eligible.view(np.uint8),
                day,
                rule.fire_site,
                model.family,
                each,
            )
            if bad >= 0:
                _check_probability(each[bad], self._rule_path(rule, "probability"))
            rng.count_draws(drawn)
            return fired
        runs = np.flatnonzero(eligible)
        probability = _subset(value, runs)
        _check_probability(probability, self._rule_path(rule, "probability"))
        if np.ndim(probability) == 0:
            if probability <= 0.0:
                return runs[:0]
            if probability >= 1.0:
                return runs
        fire = rng.bernoulli(
            model.key, model.run_ids[runs], day, rule.fire_site, probability, model.family
        )
        return runs[fire]

    def act(self) -> None:
        """Carry out the acts due today and draw the day's tempo of repeated acts."""
        model = self.model
        state = model.state
        day = state.day
        plan = model.plan
        base_id = day * plan.n_slots
        for position, rule in enumerate(self.rules):
            if not self.pending[position]:
                continue
            due = self.schedule[position].pop(day, None)
            if due is None:
                continue
            if len(due) == 1:
                runs, answered = due[0]
            else:
                # Acts decided on different days: in the order of their runs (a rule
                # has at most one act waiting in a run).
                runs = np.concatenate([group for group, _ in due])
                order = np.argsort(runs, kind="stable")
                runs = runs[order]
                answered = np.concatenate([rows for _, rows in due])[order]
            self.pending[position] -= runs.size
            self.cooldown_horizon[position] = day + rule.cooldown + 1
            chain, root, cause, continued = kernels.take_due(
                answered,
                runs,
                self.index,
                base_id + rule.slot,
                plan.actions[rule.action].hostile,
                self.ready_day[position],
                min(day + rule.cooldown + 1, kernels.NEVER),
            )
            model.events_today.append(
                Event(
                    rule.slot,
                    self.name,
                    rule.action,
                    rule.target,
                    runs,
                    self._ones[: runs.size],
                    chain,
                    root,
                    cause,
                    rule.id,
                    continued=continued,
                )
            )
        for position, tempo in enumerate(self.tempos):
            rate = tempo.base_rate.evaluate(state) + self.excitation[position]
            if np.any(~(rate >= 0)):
                bad = np.asarray(rate)[~(np.asarray(rate) >= 0)].flat[0]
                path = self._tempo_path(position)
                what = "not a number" if np.isnan(bad) else f"{bad:g} < 0"
                raise ModelError(
                    f"{format_path(path)} ({tempo.action}): intensity {what}, expected >= 0",
                    path,
                )
            rate = np.asarray(rate, dtype=np.float64)
            if rate.shape != (state.n,):
                # A writeable array, as the casualty draws pass theirs: a read-only
                # broadcast would make numba compile the Poisson kernel a second time.
                rate = np.full(state.n, rate)
            try:
                counts = rng.poisson(
                    model.key, model.run_ids, day, tempo.count_site, rate, model.family
                )
            except ValueError as error:  # an infinite intensity, or one too large to draw
                path = self._tempo_path(position)
                raise ModelError(
                    f"{format_path(path)} ({tempo.action}): intensity out of range ({error})",
                    path,
                ) from None
            hostile = plan.actions[tempo.action].hostile
            runs, acts, chain, root, cause, dense = kernels.tempo_acts(
                counts, hostile, base_id + tempo.slot
            )
            if runs.size == 0:
                continue
            model.events_today.append(
                Event(
                    tempo.slot,
                    self.name,
                    tempo.action,
                    tempo.target,
                    runs,
                    acts,
                    chain,
                    root,
                    cause,
                    dense_counts=dense,
                )
            )

    def update_tempo(self, today: dict[int, FloatArray]) -> None:
        """Decay the excitation and add today's acts (an exponential Hawkes kernel).

        With the daily kernel (alpha/beta)(1 - e^-beta) e^(-beta (k-1)), k >= 1, the
        offspring of one act sum to alpha/beta, so the mean rate is
        base_rate / (1 - alpha/beta) as for the continuous process.
        """
        state = self.model.state
        for position, tempo in enumerate(self.tempos):
            alpha = tempo.alpha.evaluate(state)
            beta = tempo.beta.evaluate(state)
            if np.any(np.asarray(alpha) >= np.asarray(beta)) or np.any(np.asarray(beta) <= 0):
                path = self._tempo_path(position)
                raise ModelError(
                    f"{format_path(path)} ({tempo.action}): alpha/beta must be < 1 and beta > 0",
                    path,
                )
            decay = np.exp(-beta)
            excitation = self.excitation[position] * decay
            counts = today.get(tempo.slot)
            if counts is not None:
                excitation = excitation + (alpha / beta) * (1 - decay) * counts
            for cross in tempo.excited_by:
                observed = state.tracker.count(cross.key, 1)
                excitation = excitation + cross.jump.evaluate(state) * observed
            self.excitation[position] = excitation
