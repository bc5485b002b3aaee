"""The Mesa model: one model advances a block of independent runs, one day per step."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import mesa
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from escalation import rng
from escalation.kinds import MAX_HORIZON_DAYS
from escalation.model import kernels
from escalation.model.actors import ActorAgent, Event, ModelError
from escalation.model.plan import (
    CasualtyPlan,
    ClaimPlan,
    EffectPlan,
    Plan,
    at,
    build_plan,
    parameter_values,
)
from escalation.model.record import BlockRecorder, BlockResult
from escalation.scenario.errors import format_path
from escalation.scenario.schema import Scenario

__all__ = ["TRACE_COLUMNS", "EscalationModel", "ModelError", "parameter_values"]

TRACE_COLUMNS = (
    "run",
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
)
"""The columns of :meth:`EscalationModel.trace_table`."""

NEGBIN_METHOD = "auto"
"""How negative-binomial casualties are drawn (the ``method`` of
:func:`escalation.rng.negative_binomial`).  ``"gamma-poisson"`` is the scheme of
versions before 0.2, kept so that ``benchmarks/sampler_agreement.py`` can show that
both give the same distributions; the draws, and so single runs, differ."""


def _checked_parameter(
    scenario: Scenario, name: str, value: Any, known: dict[str, Any], n: int
) -> tuple[str, Any]:
    """A parameter override (one value, or one per run), refused when it names nothing
    or leaves the parameter's domain."""
    from escalation.model.plan import parameter_name
    from escalation.scenario.expressions import suggest

    try:
        canonical = parameter_name(scenario, name)
    except KeyError:
        raise ValueError(f"unknown parameter {name!r}{suggest(name, known)}") from None
    actor, _, short = canonical.partition(".")
    declared = scenario.actors[actor].parameters[short] if short else scenario.parameters[actor]
    values = np.asarray(value, dtype=np.float64)
    if values.ndim > 1 or (values.ndim == 1 and values.size != n):
        raise ValueError(
            f"parameter {name!r}: expected one value, or one per run ({n}), got shape "
            f"{values.shape}"
        )
    flat = values.reshape(-1)
    problems = [
        (~np.isfinite(flat), "must be a finite number"),
        (flat < declared.min if declared.min is not None else np.zeros(flat.size, bool), ""),
        (flat > declared.max if declared.max is not None else np.zeros(flat.size, bool), ""),
        (flat != np.round(flat) if declared.integer else np.zeros(flat.size, bool), ""),
    ]
    for index, (bad, _) in enumerate(problems):
        if np.any(bad):
            worst = float(flat[bad][0])
            if index == 0:
                raise ValueError(f"parameter {name!r} must be a finite number, got {worst!r}")
            if index == 3:
                raise ValueError(f"parameter {name!r} takes whole numbers, got {worst:g}")
            raise ValueError(
                f"parameter {name!r} = {worst:g} is outside its domain "
                f"[{declared.min if declared.min is not None else '-inf'}, "
                f"{declared.max if declared.max is not None else 'inf'}]"
            )
    return canonical, (float(values) if values.ndim == 0 else values)


IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


class EscalationModel(mesa.Model):
    """Escalation between the actors of a scenario, for a block of independent runs.

    Each step is one day, in stages: every actor decides on the state at the start
    of the day (:meth:`ActorAgent.decide`), every actor acts (:meth:`ActorAgent.act`),
    then the model resolves the day's acts in a fixed order: casualties and claims,
    effects (in the order of the scenario's ``actions``), what each actor observes,
    and the day's bookkeeping.  Run ``i`` draws its random numbers from a
    counter-based generator keyed by the root seed and ``i`` alone, so it is the
    same in any block, on any worker, and when replayed by itself.

    Parameters
    ----------
    scenario
        A validated :class:`~escalation.scenario.schema.Scenario`, or the path of a
        scenario file.
    runs
        How many runs the block holds.
    seed
        The root seed (recorded by the caller); ``None`` draws one from the OS.
    first_run
        The id of the block's first run: the block holds runs ``first_run`` to
        ``first_run + runs - 1``, or exactly ``run_ids`` when given.
    horizon_days
        Days to simulate (default: the scenario's ``horizon_days``).
    family
        A further stream id, e.g. the point of a sweep.
    parameters
        Values that replace the scenario's parameters (by name) for this block.
    trace
        Keep a day-by-day log of every act, for :func:`escalation.replay`.
    path_sample
        Runs with an id below this keep their full daily paths.
    """

    def __init__(
        self,
        scenario: Scenario | str | Path,
        runs: int = 1,
        seed: int | None = None,
        first_run: int = 0,
        horizon_days: int | None = None,
        family: int = 0,
        parameters: dict[str, Any] | None = None,
        run_ids: Sequence[int] | NDArray[np.integer[Any]] | None = None,
        trace: bool = False,
        path_sample: int = 0,
        plan: Plan | None = None,
    ) -> None:
        if seed is None:
            seed = rng.fresh_seed()
        super().__init__(seed=seed % (2**32))
        if not isinstance(scenario, Scenario):
            from escalation.scenario.loader import load_scenario

            scenario = load_scenario(scenario)
        self.plan = plan if plan is not None else build_plan(scenario)
        self.scenario = scenario
        self.seed_value = seed
        self.key = rng.make_key(seed)
        self.family = family
        if run_ids is None:
            if runs < 1:
                raise ValueError(f"runs must be >= 1, got {runs}")
            run_ids = np.arange(first_run, first_run + runs)
        self.run_ids = np.asarray(run_ids, dtype=np.uint32)
        self.horizon = scenario.horizon_days if horizon_days is None else horizon_days
        if not 1 <= self.horizon <= MAX_HORIZON_DAYS:
            raise ValueError(f"horizon_days must be in [1, {MAX_HORIZON_DAYS}], got {self.horizon}")
        params = parameter_values(scenario)
        for name, value in (parameters or {}).items():
            canonical, checked = _checked_parameter(
                scenario, name, value, params, self.run_ids.size
            )
            params[canonical] = checked
        self.recorder = BlockRecorder(self.plan, self.run_ids, params, self.horizon, path_sample)
        self.state = self.recorder.state
        self.events_today: list[Event] = []
        # Rule conditions evaluated today (decisions read the state at the start of
        # the day, which no decision changes), shared by rules that ask the same.
        self.conditions_today: dict[tuple[Any, ...], Any] = {}
        self.conditions_day = -1
        self.trace: list[dict[str, Any]] | None = [] if trace else None
        self.actor_agents = {name: ActorAgent(self, name) for name in self.plan.actors}
        self.claim_site = {
            slot: rng.site_id(f"claim:{name}") for slot, name in enumerate(self.plan.slot_names)
        }
        self.result: BlockResult | None = None
        self._sites: dict[str, int] = {}
        self._casualty_plans: dict[int, list[_CasualtySide]] = {}
        self._negative_binomial_threshold = rng.negative_binomial_threshold(NEGBIN_METHOD)
        self._action_rank = {name: rank for rank, name in enumerate(self.plan.actions)}
        self._effect_plans: dict[str, list[_Effect]] = {}
        self._highest_rung = int(np.max(self.state.max_rung))
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "day": lambda m: m.state.day,
                "mean_rung": EscalationModel.mean_rung,
                "max_rung": EscalationModel.highest_rung,
            }
        )
        self.datacollector.collect(self)

    def step(self) -> None:
        """Advance every run of the block by one day."""
        state = self.state
        self.events_today = []
        self.agents.do("decide")
        self.agents.do("act")
        events = sorted(self.events_today, key=lambda event: event.slot)
        rung_today = np.zeros(state.n, dtype=np.int64)
        actions = self.plan.actions
        self.recorder.casualties = {}
        for event in events:
            if actions[event.action].casualties:
                self._casualties(event)
        # Effects in the order of the scenario's actions, then of the acts' slots.
        for event in sorted(events, key=lambda event: self._action_rank[event.action]):
            action = actions[event.action]
            if action.effects:
                self._effects(event)
            if action.rung:
                rung_today[event.runs] = np.maximum(rung_today[event.runs], action.rung)
        for event in events:
            self.recorder.observe(event, self.key, self.run_ids, self.family)
        state.close_day(rung_today)
        state.tracker.advance(state.day + 1)
        counts_by_slot = {
            event.slot: _dense(event, state.n)
            for event in events
            if event.slot in self.plan.tempo_slots
        }
        for agent in self.actor_agents.values():
            agent.update_tempo(counts_by_slot)
        self.recorder.close_day(events)
        if self.trace is not None:
            self.trace.extend(self.recorder.describe(event, state.day) for event in events)
        state.day += 1
        self.datacollector.collect(self)
        if state.day >= self.horizon:
            self.result = self.recorder.finish()
            self.running = False

    def mean_rung(self) -> float:
        """The mean of the runs' rungs today (the Mesa reporter ``mean_rung``).

        Read from the day's count of runs at each rung, which the block keeps anyway:
        the same number as the mean of the rungs (both sums are exact).
        """
        day = self.state.day
        if day == 0:
            return float(np.mean(self.state.rung))
        counts = self.recorder.rung_counts[day - 1]
        return int(counts @ np.arange(counts.size)) / self.state.n

    def highest_rung(self) -> int:
        """The highest rung any run has reached so far (the Mesa reporter ``max_rung``)."""
        day = self.state.day
        if day > 0:
            reached = np.flatnonzero(self.recorder.rung_counts[day - 1])
            self._highest_rung = max(self._highest_rung, int(reached[-1]))
        return self._highest_rung

    def run(self, on_day: Callable[[], object] | None = None) -> BlockResult:
        """Run to the horizon and return the block's results.

        ``on_day``, when given, is called after each day (to report progress).
        """
        try:
            while self.running:
                self.step()
                if on_day is not None:
                    on_day()
        finally:
            self.release()
        assert self.result is not None
        return self.result

    def trace_table(self) -> pd.DataFrame:
        """Every traced act: one row per act of one kind by one actor a day in one run.

        Columns :data:`TRACE_COLUMNS`; ``cause`` is the ``event_id`` of the act the
        answering rule looked at (-1 for none); ids are unique within a run.
        """
        if self.trace is None:
            raise ValueError("the model was made without trace=True")
        run_ids = self.run_ids.astype(np.int64)
        parts: dict[str, list[NDArray[Any]]] = {name: [] for name in TRACE_COLUMNS}
        for entry in self.trace:
            where = np.asarray(entry["runs"], dtype=np.int64)
            size = where.size
            parts["run"].append(run_ids[where])
            for name in ("day", "event_id"):
                parts[name].append(np.full(size, entry[name], dtype=np.int64))
            for name in ("actor", "action", "target"):
                parts[name].append(np.full(size, entry[name], dtype=object))
            parts["rule"].append(np.full(size, entry["rule"] or "", dtype=object))
            parts["count"].append(np.asarray(entry["counts"], dtype=np.float64))
            parts["cause"].append(np.asarray(entry["cause"], dtype=np.int64))
            parts["chain"].append(np.asarray(entry["chain"], dtype=np.int64))
            for side in ("deaths_target", "deaths_actor"):
                deaths = entry[side]
                parts[side].append(
                    np.zeros(size) if deaths is None else np.asarray(deaths, dtype=np.float64)
                )
        if not self.trace:
            return pd.DataFrame({name: pd.Series(dtype=object) for name in TRACE_COLUMNS})
        table = pd.DataFrame({name: np.concatenate(parts[name]) for name in TRACE_COLUMNS})
        return table.sort_values(["run", "day", "event_id"], ignore_index=True)

    def release(self) -> None:
        """Let Mesa forget this model, so a worker running many blocks does not grow.

        Mesa 3.3 keeps every model as a key of the class attribute ``Agent._ids``
        (mesa issue #3179, fixed upstream in mesa PR #3180).
        """
        ids = getattr(mesa.Agent, "_ids", None)
        if isinstance(ids, dict):
            ids.pop(self, None)
        # Agents and model refer to each other: without this the block's arrays
        # would wait for the cyclic garbage collector, which a worker running one
        # large block after another may not call for several blocks.
        for agent in list(self.actor_agents.values()):
            agent.remove()
        self.actor_agents = {}
        # Mesa stores the bound, wrapped step on the instance: another cycle.
        for name in ("step", "_user_step"):
            self.__dict__.pop(name, None)

    def _casualties(self, event: Event) -> None:
        state = self.state
        event_casualties: dict[str, FloatArray] = {}
        sides = self._casualty_plans.get(event.slot)
        if sides is None:
            sides = self._casualty_plans[event.slot] = self._casualty_sides(event)
        runs = event.runs
        for side, spec, site, dead, claim, claim_site, claims, victim_claims in sides:
            per_act = at(spec.mean.evaluate(state), runs)
            checked = np.asarray(per_act)
            if not (isinstance(per_act, float | int) and 0 <= per_act < math.inf) and np.any(
                ~((checked >= 0) & (checked < math.inf))
            ):
                mean_path = ("actions", event.action, "casualties", side, "mean")
                raise ModelError(f"{format_path(mean_path)} must be >= 0 and finite", mean_path)
            mean = np.asarray(per_act * event.counts, dtype=np.float64)
            m = mean.size
            shape = _ONE
            below = 0.0
            try:
                if spec.distribution == "fixed":
                    distribution = kernels.FIXED
                elif spec.distribution == "poisson":
                    distribution = kernels.POISSON
                    mean = rng.poisson_parameters(mean, m)
                else:
                    assert spec.dispersion is not None
                    distribution = kernels.NEGATIVE_BINOMIAL
                    below = self._negative_binomial_threshold
                    each = np.asarray(spec.dispersion.evaluate(state), dtype=np.float64)
                    dispersion = (each[runs] if each.ndim else each) * event.counts
                    mean, shape = rng.negative_binomial_parameters(mean, dispersion, m)
            except ValueError as error:  # a mean too large to draw, a dispersion <= 0
                side_path = ("actions", event.action, "casualties", side)
                raise ModelError(
                    f"{format_path(side_path)}: out of range ({error})", side_path
                ) from None
            median = sigma = _ONE
            if claim == kernels.CLAIMED_SCALED:
                assert claims is not None
                median = _one_or_each(at(claims.inflation_median, runs))
            elif claim == kernels.CLAIMED_INFLATED:
                assert claims is not None
                median, sigma = rng.lognormal_parameters(
                    at(claims.inflation_median, runs), at(claims.inflation_sigma, runs), runs.size
                )
            share = (
                _ONE
                if victim_claims is None
                else _one_or_each(at(victim_claims.admitted_share, runs))
            )
            deaths, heard, drawn = kernels.casualties(
                *self.key,
                self.run_ids[runs],
                state.day,
                site,
                self.family,
                distribution,
                mean,
                shape,
                below,
                runs,
                *dead,
                share,
                claim,
                claim_site,
                median,
                sigma,
            )
            rng.count_draws(drawn)
            event_casualties[side] = deaths
            event_casualties[f"{side}_heard"] = heard
        self.recorder.casualties[event.slot] = event_casualties

    def _casualty_sides(self, event: Event) -> list[_CasualtySide]:
        """What drawing the casualties of an act of ``event``'s slot needs each time,
        read once, side by side (sides without a victim left out)."""
        plan = self.plan
        sides = []
        for side, spec in plan.actions[event.action].casualties.items():
            victim = event.target if side == "target" else event.actor
            if victim is None:
                continue
            name = f"casualties:{plan.slot_names[event.slot]}:{side}"
            claimant = event.actor if side == "target" else event.target
            claim, claim_site, claims = self._claim(claimant, event, side)
            sides.append(
                _CasualtySide(
                    side,
                    spec,
                    rng.site_id(name),
                    self._dead_counts(victim),
                    claim,
                    claim_site,
                    claims,
                    self.recorder.claims.get(victim),
                )
            )
        return sides

    def _site(self, name: str) -> int:
        site = self._sites.get(name)
        if site is None:
            site = self._sites[name] = rng.site_id(name)
        return site

    def _claim(
        self, claimant: str | None, event: Event, side: str
    ) -> tuple[int, int, ClaimPlan | None]:
        """How ``claimant`` claims the dead of ``event``'s ``side``: `kernels.casualties`'s
        ``claim`` and ``claim_site``, and the claimant's inflation when it inflates.

        An acknowledged act's author claims the enemy dead, inflated; an
        unacknowledged one claims nothing, and others hear the victim's admission.
        """
        if not self.scenario.actions[event.action].acknowledged:
            return kernels.UNCLAIMED, 0, None
        claims = self.recorder.claims.get(claimant) if claimant else None
        if claims is None:
            return kernels.CLAIMED_AS_IS, 0, None
        if not claims.inflated:
            return kernels.CLAIMED_SCALED, 0, claims
        site = self.claim_site[event.slot] ^ (0 if side == "target" else 0x5BD1E995)
        return kernels.CLAIMED_INFLATED, site, claims

    def _dead_counts(self, victim: str) -> tuple[FloatArray, FloatArray, FloatArray]:
        """The victim's true, admitted and claimed dead (the state's own arrays)."""
        variables = self.state.variables
        return (
            variables[f"{victim}.casualties"],
            variables[f"{victim}.admitted_casualties"],
            variables[f"{victim}.claimed_casualties"],
        )

    def _effect_plan(self, effect: EffectPlan, where: tuple[str | int, ...]) -> _Effect:
        """What an effect needs each time, read once: literal and parameter values
        keep their value for the block."""
        state = self.state
        value = effect.value.block_value(state)
        if value is not None:
            _check_value(np.asarray(value), effect, where)
        return _Effect(
            effect,
            state.variables[effect.variable],
            effect.operation == "add",
            -math.inf if effect.low is None else float(effect.low),
            math.inf if effect.high is None else float(effect.high),
            None if value is None else np.array([value]),
            effect.probability.block_probability(state),
        )

    def _effects(self, event: Event) -> None:
        state = self.state
        plans = self._effect_plans.get(event.action)
        if plans is None:
            effects = self.plan.actions[event.action].effects
            plans = self._effect_plans[event.action] = [
                self._effect_plan(e, ("actions", event.action, "effects", number, "value"))
                for number, e in enumerate(effects)
            ]
        for number, spec in enumerate(plans):
            effect = spec.effect
            runs = event.runs
            counts = event.counts
            fixed = spec.probability
            probability = effect.probability.evaluate(state) if fixed is None else fixed
            if fixed == 1.0:
                bad = draw = False
            elif isinstance(probability, float | int):
                bad = not 0 <= probability <= 1
                draw = probability < 1
            else:
                probability = np.asarray(probability, dtype=np.float64)
                if probability.ndim:
                    probability = probability[runs]
                bad = bool(np.any(~((probability >= 0) & (probability <= 1))))
                draw = bool(probability.ndim) or bool(probability < 1)
            if bad:
                path = ("actions", event.action, "effects", number, "probability")
                raise ModelError(f"{format_path(path)}: must be in [0, 1]", path)
            if draw:
                site = self._site(f"effect:{self.plan.slot_names[event.slot]}:{number}")
                keep = rng.bernoulli(
                    self.key, self.run_ids[runs], state.day, site, probability, self.family
                )
                runs, counts = runs[keep], counts[keep]
                if runs.size == 0:
                    continue
            value = spec.value
            if value is None:
                value = np.asarray(effect.value.evaluate(state), dtype=np.float64)
                value = value[runs] if value.ndim else value.reshape(1)
                _check_value(value, effect, ("actions", event.action, "effects", number, "value"))
            variable = spec.variable
            if effect.operation != "multiply":
                kernels.apply_effect(variable, runs, value, counts, spec.add, spec.low, spec.high)
                continue
            updated = variable[runs] * value**counts
            if effect.low is not None or effect.high is not None:
                updated = np.clip(updated, effect.low, effect.high)
            variable[runs] = updated


def _check_value(value: FloatArray, effect: EffectPlan, path: tuple[str | int, ...]) -> None:
    """Refuse a value that is not a number, or other than 0 or 1 for a boolean variable."""
    if np.isnan(value).any():
        raise ModelError(
            f"{format_path(path)}: the value for {effect.variable} is not a number "
            f"(NaN) in a run; an effect needs a number",
            path,
        )
    if not effect.boolean:
        return
    bad = (value != 0) & (value != 1)
    if np.any(bad):
        raise ModelError(
            f"{format_path(path)}: sets boolean variable {effect.variable} to "
            f"{float(value[bad].flat[0]):g}; expected 0 or 1",
            path,
        )


_ONE = np.ones(1)
"""A parameter of one element that stands for 1 in every run (never written)."""


def _one_or_each(value: Any) -> FloatArray:
    """A number as an array of one element, or a per-run array as it is."""
    return np.ascontiguousarray(value, dtype=np.float64).reshape(-1)


class _CasualtySide(NamedTuple):
    """One side's casualties of one slot's acts, as `EscalationModel._casualties` draws
    them (see `EscalationModel._casualty_sides`)."""

    side: str
    spec: CasualtyPlan
    site: int
    dead: tuple[FloatArray, FloatArray, FloatArray]
    """The victim's true, admitted and claimed dead."""
    claim: int
    claim_site: int
    claims: ClaimPlan | None
    """The claimant's inflation, when it scales or inflates what it claims."""
    victim_claims: ClaimPlan | None


class _Effect(NamedTuple):
    """An effect as `EscalationModel._effects` applies it (see `_effect_plan`)."""

    effect: EffectPlan
    variable: FloatArray
    add: bool
    low: float
    high: float
    value: FloatArray | None
    """The value, when it is fixed for the block (one element)."""
    probability: float | None
    """The probability, when it is fixed for the block and in [0, 1]."""


def _dense(event: Event, n: int) -> FloatArray:
    if event.dense_counts is not None:
        return event.dense_counts
    counts = np.zeros(n)
    counts[event.runs] = event.counts
    return counts
