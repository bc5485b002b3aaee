"""What a block of runs observes and leaves behind: perception, metrics, time series."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from escalation import rng
from escalation.model import kernels
from escalation.model.compiler import BUILTIN_ACTOR_VARIABLES, ObservationKey
from escalation.model.plan import ClaimPlan, Number, Plan, at, resolve
from escalation.model.state import (
    BlockState,
    ObservationTracker,
    Observed,
    RouteTable,
    _Track,
)
from escalation.scenario.schema import MAX_INFLATION_SIGMA

if TYPE_CHECKING:
    from escalation.model.actors import Event

from escalation.model.actors import ModelError

__all__ = ["BlockRecorder", "BlockResult", "UNCLASSIFIED"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

UNCLASSIFIED = "unclassified"
"""The outcome of a run that no outcome condition matched."""


@dataclass
class BlockResult:
    """The results of one block: a column per metric, one element per run."""

    run_ids: NDArray[np.uint32]
    columns: dict[str, NDArray[Any]]
    outcome_names: tuple[str, ...]
    cycles: dict[str, NDArray[Any]]
    rung_counts: IntArray
    daily_sums: dict[str, FloatArray]
    paths: dict[str, NDArray[Any]]
    spells: dict[str, NDArray[Any]] = field(default_factory=dict)
    """One row per spell of a boolean world variable: ``run`` (the block's row),
    ``variable`` (a position in ``spell_variables``), ``start_day``, ``length``,
    ``ended``; by run, then variable name, then start day."""
    spell_variables: tuple[str, ...] = ()
    draws: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def name_ranks(names: Sequence[str]) -> IntArray:
    """Each name's rank among ``names``, so that sorting ranks sorts names."""
    rank = np.empty(len(names), dtype=np.int64)
    rank[np.argsort(np.array(names, dtype=object))] = np.arange(len(names))
    return rank


class _Route(NamedTuple):
    """How one observer perceives one kind of act by one actor on one target."""

    observer: str | None
    keys: tuple[ObservationKey, ...]
    third_party: bool
    detect: float | FloatArray
    blame: list[tuple[str, float | FloatArray]]
    tracks: list[_Track] | None
    """The tracks an act attributed to its actor feeds; None when the observer may
    blame another actor."""
    missable: bool
    """Whether the observer may miss the act (a detection probability below 1)."""
    alone: RouteTable | None
    """Those tracks laid out for one pass (`ObservationTracker.lone_routes`), for an
    observer whose chance to see the act differs from run to run (the others are
    recorded with the event's other observers: `BlockRecorder._lay_out_routes`)."""
    blamed: tuple[tuple[int, RouteTable | None], ...] | None
    """When the observer may blame another actor: each actor it may put the act down
    to (the act's own among them), in order, and the tracks that acts put down to that
    actor feed, laid out for one pass (None: no key of the observer's follows it)."""


class _Slot(NamedTuple):
    """What recording an act of one slot needs (see `BlockRecorder._slot`)."""

    first: FloatArray
    """Its action's first day, per run."""
    action_counts: FloatArray
    actor_index: int
    table: RouteTable | None
    """Its observers recorded together (`BlockRecorder._lay_out_routes`)."""
    routes: list[_Route]
    """Its observers recorded one by one."""


class BlockRecorder:
    """Owns the block's state; records perception, daily series and final metrics."""

    def __init__(
        self,
        plan: Plan,
        run_ids: NDArray[np.uint32],
        params: dict[str, float],
        horizon: int,
        path_sample: int,
    ) -> None:
        n = run_ids.size
        self.plan = plan
        self.run_ids = run_ids
        self.horizon = horizon
        self._resolve_perception(params)
        # Every variable is a row of one array, the daily series first, so that a day's
        # sums of them all are one reduction (`close_day`); the dictionary keeps the
        # scenario's order.
        self.series = self._series_names()
        rows = {name: row for row, name in enumerate(self.series)}
        for name in plan.initial:
            rows.setdefault(name, len(rows))
        table = np.empty((len(rows), n))
        variables = {name: table[rows[name]] for name in plan.initial}
        for name, value in plan.initial.items():
            variables[name][:] = value
        for name, parameter in plan.initial_parameters.items():
            low, high = plan.variable_bounds[name]
            variables[name][:] = resolve(
                parameter,
                params,
                f"initial value of {name}",
                -math.inf if low is None else low,
                math.inf if high is None else high,
            )
        self._series_table = table[: len(self.series)]
        self.state = BlockState(
            n=n,
            params=params,
            variables=variables,
            rows=rows,
            values=table,
            tracker=ObservationTracker(
                plan.tracked, n, plan.aliases, largest_id=horizon * max(plan.n_slots, 1)
            ),
            ladder_size=len(plan.scenario.ladder),
            boolean_variables=plan.boolean_variables,
        )
        self.casualties: dict[int, dict[str, FloatArray]] = {}
        self.action_counts = {name: np.zeros(n) for name in plan.actions}
        self._cycle_runs: list[IntArray] = []
        self._cycle_roots: list[IntArray] = []
        self._cycle_lengths: list[IntArray] = []
        self._keys_by_action = self._observer_index()
        self._routes: dict[tuple[str, str, str | None], list[_Route]] = {}
        self._slots: dict[int, _Slot] = {}
        self._sites: dict[tuple[str, str | None, int], int] = {}
        # The casualties of acts that cause none: shared and never written (see
        # `ActorAgent`'s ones).
        self._no_deaths = np.zeros(n)
        self.rung_counts = np.zeros((horizon, len(plan.scenario.ladder)), dtype=np.int64)
        self._daily_sums = np.zeros((horizon, len(self.series)))
        sampled = np.flatnonzero(run_ids < path_sample)
        self.sampled = sampled
        self.paths: dict[str, NDArray[Any]] = {
            name: np.zeros((horizon, sampled.size)) for name in ("rung", *self.series)
        }
        self._draws_start = rng.draws_consumed()

    def _resolve_perception(self, params: dict[str, float]) -> None:
        """This block's perception numbers (parameters may set them)."""
        plan = self.plan
        self.detection = {
            pair: resolve(value, params, f"detection of {pair[1]} by {pair[0]}", 0.0, 1.0)
            for pair, value in plan.detection.items()
        }
        self.misattribution = {
            pair: tuple(
                (other, resolve(value, params, f"misattribution by {pair[0]}", 0.0, 1.0), acts)
                for other, value, acts in entries
            )
            for pair, entries in plan.misattribution.items()
        }
        for pair, entries in self.misattribution.items():
            for action in plan.actions:
                total = sum(p for _, p, acts in entries if acts is None or action in acts)
                if total > 1 + 1e-12:
                    raise ModelError(
                        f"misattribution probabilities of {pair[1]}'s {action} by {pair[0]} "
                        f"add up to {total:g}, more than 1"
                    )
        self.claims = {
            actor: ClaimPlan(
                _positive(median, params, f"claims of {actor}: enemy_inflation_median"),
                resolve(
                    sigma,
                    params,
                    f"claims of {actor}: enemy_inflation_sigma",
                    0.0,
                    MAX_INFLATION_SIGMA,
                ),
                resolve(share, params, f"claims of {actor}: own_admitted_share", 0.0, 1.0),
            )
            for actor, (median, sigma, share) in plan.claims.items()
        }

    def _series_names(self) -> tuple[str, ...]:
        names = [f"{actor}.casualties" for actor in self.plan.actors]
        names += [name for name in self.plan.initial if not _counts_dead(name, self.plan)]
        return tuple(names)

    def _observer_index(self) -> dict[str | None, list[tuple[int, int, ObservationKey]]]:
        """Every observer's keys by the action they name (None: any hostile act), each
        with the observer's place in `Plan.keys_by_observer` and its own place among
        the observer's keys."""
        index: dict[str | None, list[tuple[int, int, ObservationKey]]] = {}
        for place, keys in enumerate(self.plan.keys_by_observer.values()):
            for position, key in enumerate(keys):
                index.setdefault(key.action, []).append((place, position, key))
        return index

    def _observers_of(
        self, action: str, target: str | None
    ) -> list[tuple[str | None, tuple[ObservationKey, ...]]]:
        """The observers of ``action`` on ``target``, each with the keys the act can
        feed, in the order of `Plan.keys_by_observer`.

        Only the keys that name the action, or any hostile act, are looked at, so a
        block's set-up grows with the kinds of act it meets, not with its actions
        times its targets times its observers."""
        candidates = list(self._keys_by_action.get(action, ()))
        if self.plan.actions[action].hostile:
            candidates += self._keys_by_action.get(None, ())
        observers = list(self.plan.keys_by_observer)
        relevant: dict[int, list[ObservationKey]] = {}
        for place, _, key in sorted(candidates, key=lambda item: item[:2]):
            if key.on is None or key.on == target:
                relevant.setdefault(place, []).append(key)
        return [(observers[place], tuple(keys)) for place, keys in relevant.items()]

    def _route(self, actor: str, action: str, target: str | None) -> list[_Route]:
        """How each interested observer perceives ``actor``'s ``action`` on ``target``.

        Depends only on the block's perception numbers, so it is worked out once.
        """
        routes = []
        for observer, keys in self._observers_of(action, target):
            third_party = observer is not None and observer != target
            detect: float | FloatArray = 1.0
            blame: list[tuple[str, float | FloatArray]] = []
            if observer is not None and observer != actor:
                pair = (observer, actor)
                # Nobody misses an attack on themselves, though they may misjudge its author.
                detect = 1.0 if observer == target else self.detection.get(pair, 1.0)
                blame = [
                    (other, probability)
                    for other, probability, actions in self.misattribution.get(pair, ())
                    if actions is None or action in actions
                ]
            tracks = alone = blamed = None
            if blame:
                blamed = self._blame(actor, keys, blame)
            else:
                tracks = self._tracks_of(keys, actor)
                if isinstance(detect, np.ndarray):
                    alone = self.state.tracker.lone_routes(tracks)
            missable = bool(np.any(np.asarray(detect) < 1.0))
            routes.append(
                _Route(observer, keys, third_party, detect, blame, tracks, missable, alone, blamed)
            )
        return routes

    def _tracks_of(self, keys: Sequence[ObservationKey], by: str) -> list[_Track]:
        """The tracks of ``keys`` that acts put down to ``by`` feed, in order."""
        tracker = self.state.tracker
        return [tracker.track(key) for key in keys if key.by is None or key.by == by]

    def _blame(
        self, actor: str, keys: Sequence[ObservationKey], blame: list[tuple[str, Any]]
    ) -> tuple[tuple[int, RouteTable | None], ...]:
        """`_Route.blamed` for an observer of ``actor``'s acts that may blame them on
        the others of ``blame``."""
        plan = self.plan
        tracker = self.state.tracker
        blamed = []
        for by in sorted(
            {plan.actor_index(actor), *(plan.actor_index(other) for other, _ in blame)}
        ):
            tracks = self._tracks_of(keys, plan.actors[by])
            blamed.append((by, tracker.lone_routes(tracks) if tracks else None))
        return tuple(blamed)

    def _lay_out_routes(
        self, event: Event, key: tuple[int, int], family: int
    ) -> tuple[RouteTable | None, list[_Route]]:
        """An event's observers, split: those who never blame another actor and see
        it with one chance in every run, recorded together in one compiled pass
        (`ObservationTracker.record_routes`); the others, one by one."""
        route_key = (event.actor, event.action, event.target)
        routes = self._routes.get(route_key)
        if routes is None:
            routes = self._routes[route_key] = self._route(*route_key)
        together: list[tuple[list[_Track], float, int, bool]] = []
        alone: list[_Route] = []
        for route in routes:
            if route.tracks is None or route.alone is not None:
                alone.append(route)
                continue
            site = self._site("detect", route.observer, event.slot)
            third_party = route.third_party and event.target is not None
            together.append((route.tracks, float(route.detect), site, third_party))
        if not together:
            return None, alone
        return self.state.tracker.route_table(key, family, together), alone

    def _slot(self, event: Event, key: tuple[int, int], family: int) -> _Slot:
        """What recording an act of ``event``'s slot needs each time, read once."""
        first = self.state.first_days.setdefault(
            (event.actor, event.action), np.full(self.state.n, math.inf)
        )
        return _Slot(
            first,
            self.action_counts[event.action],
            self.plan.actor_index(event.actor),
            *self._lay_out_routes(event, key, family),
        )

    def _site(self, draw: str, observer: str | None, slot: int) -> int:
        """The draw site of ``observer``'s ``draw`` ("detect" or "misattribute") for
        acts of ``slot``."""
        site = self._sites.get((draw, observer, slot))
        if site is None:
            name = f"{draw}:{observer}:{self.plan.slot_names[slot]}"
            site = self._sites[(draw, observer, slot)] = rng.site_id(name)
        return site

    def observe(
        self, event: Event, key: tuple[int, int], run_ids: NDArray[np.uint32], family: int
    ) -> None:
        """Record the event as each interested observer perceives it."""
        plan = self.plan
        state = self.state
        day = state.day
        slot = self._slots.get(event.slot)
        if slot is None:
            slot = self._slots[event.slot] = self._slot(event, key, family)
        first, action_counts, actor_index, table, routes = slot
        kernels.first_and_count(first, action_counts, event.runs, event.counts, float(day))
        event_id = day * plan.n_slots + event.slot
        if event.continued:
            chained = event.chain >= 2
            self._cycle_runs.append(event.runs[chained])
            self._cycle_roots.append(event.root[chained])
            self._cycle_lengths.append(event.chain[chained])
        deaths_by_side = self.casualties.get(event.slot, {})
        target_deaths = deaths_by_side.get("target")
        if target_deaths is None:
            target_deaths = self._no_deaths[: event.runs.size]
        heard = deaths_by_side.get("target_heard", target_deaths)
        tracker = state.tracker
        if table is not None:
            rng.count_draws(
                tracker.record_routes(
                    table,
                    day,
                    run_ids[event.runs],
                    event_id,
                    actor_index,
                    event.runs,
                    event.counts,
                    target_deaths,
                    heard,
                    event.chain,
                    event.root,
                )
            )
        for route in routes:
            deaths = heard if route.third_party and event.target is not None else target_deaths
            runs, counts, chain, root = event.runs, event.counts, event.chain, event.root
            if route.missable:
                site = self._site("detect", route.observer, event.slot)
                p = np.asarray(at(route.detect, runs), dtype=np.float64).reshape(-1)
                runs, counts, deaths, chain, root = kernels.keep_seen(
                    *key, run_ids[runs], day, site, family, p, runs, counts, deaths, chain, root
                )
                rng.count_draws(event.runs.size)
            if runs.size == 0:
                continue
            if route.alone is not None:
                # Never misjudged: what is seen is one batch, attributed to its actor.
                batch = Observed(runs, counts, deaths, chain, root, actor_index)
                tracker.record_tracks(route.alone, day, batch, event_id)
                continue
            perceived = np.full(runs.size, actor_index, dtype=np.int64)
            draw = rng.uniform(
                key,
                run_ids[runs],
                day,
                self._site("misattribute", route.observer, event.slot),
                family,
            )
            edge: Any = 0.0
            for other, share in route.blame:
                probability = at(share, runs)
                hit = (draw >= edge) & (draw < edge + probability)
                perceived[hit] = plan.actor_index(other)
                edge += probability
            assert route.blamed is not None
            for by, tracks in route.blamed:
                if tracks is None:
                    continue
                seen_runs, seen_counts, seen_deaths, seen_chain, seen_root = kernels.take_where(
                    perceived, by, runs, counts, deaths, chain, root
                )
                if seen_runs.size:
                    batch = Observed(seen_runs, seen_counts, seen_deaths, seen_chain, seen_root, by)
                    tracker.record_tracks(tracks, day, batch, event_id)

    def close_day(self, events: list[Event]) -> None:
        state = self.state
        day = state.day
        self.rung_counts[day] = np.bincount(state.rung, minlength=self.rung_counts.shape[1])
        # Each row's sum, as `numpy.sum` of the row alone would give it (the same
        # pairwise summation).
        self._daily_sums[day] = self._series_table.sum(axis=1)
        if self.sampled.size:
            self.paths["rung"][day] = state.rung[self.sampled]
            for name in self.series:
                self.paths[name][day] = state.variables[name][self.sampled]

    def describe(self, event: Event, day: int) -> dict[str, Any]:
        """A readable record of an event, for the replay story (traced blocks only)."""
        deaths = self.casualties.get(event.slot, {})
        return {
            "day": day,
            "event_id": day * self.plan.n_slots + event.slot,
            "actor": event.actor,
            "action": event.action,
            "target": event.target,
            "rule": event.rule,
            "runs": event.runs.copy(),
            "counts": event.counts.copy(),
            "cause": event.cause.copy(),
            "chain": event.chain.copy(),
            "deaths_target": deaths.get("target"),
            "deaths_actor": deaths.get("actor"),
        }

    def finish(self) -> BlockResult:
        """Classify each run's outcome and gather its metrics."""
        plan = self.plan
        state = self.state
        n = state.n
        outcome = np.full(n, len(plan.outcomes), dtype=np.int64)
        for index, (_name, condition) in enumerate(plan.outcomes):
            outcome[(outcome == len(plan.outcomes)) & condition.evaluate(state)] = index
        columns: dict[str, NDArray[Any]] = {"outcome_index": outcome}
        columns["max_rung"] = state.max_rung.copy()
        for level in range(1, len(plan.scenario.ladder)):
            columns[f"days_at_or_above_{level}"] = state.days_at_or_above(level)
        for actor in plan.actors:
            columns[f"{actor}_dead_true"] = state.variables[f"{actor}.casualties"].copy()
            columns[f"{actor}_dead_claimed"] = state.variables[f"{actor}.claimed_casualties"].copy()
            columns[f"{actor}_dead_admitted"] = state.variables[
                f"{actor}.admitted_casualties"
            ].copy()
        cycles = self._cycle_table()
        columns.update(self._cycle_metrics(cycles, n))
        for name, counts in self.action_counts.items():
            columns[f"{name}_count"] = counts.copy()
            columns[f"{name}_first_day"] = state.first_day((None, name))
        for name in plan.boolean_variables:
            days = state.days_with[name]
            spells = state.spell_count[name]
            columns[f"{name}_days"] = days.copy()
            columns[f"{name}_first_day"] = state.first_true[name].copy()
            columns[f"{name}_spells"] = spells.copy()
            with np.errstate(invalid="ignore", divide="ignore"):
                columns[f"{name}_mean_spell"] = np.where(spells > 0, days / spells, np.nan)
        for name, values in state.variables.items():
            if name in plan.boolean_variables or _counts_dead(name, plan):
                continue
            columns[f"final_{name}"] = values.copy()
        return BlockResult(
            run_ids=self.run_ids,
            columns=columns,
            outcome_names=tuple(name for name, _ in plan.outcomes),
            cycles=cycles,
            rung_counts=self.rung_counts,
            daily_sums={name: self._daily_sums[:, k].copy() for k, name in enumerate(self.series)},
            paths={"run_id": self.run_ids[self.sampled], **self.paths},
            spells=self._spell_table(),
            spell_variables=plan.boolean_variables,
            draws=rng.draws_consumed() - self._draws_start,
        )

    def _spell_table(self) -> dict[str, NDArray[Any]]:
        """One row per spell of each boolean world variable (`BlockResult.spells`);
        open ones end censored."""
        state = self.state
        rows = list(state.ended_spells)
        ended = [np.ones(runs.size, dtype=bool) for _, runs, _, _ in rows]
        for position, name in enumerate(self.plan.boolean_variables):
            still = np.flatnonzero(state.variables[name] != 0)
            if still.size:
                length = state.spell_length[name][still]
                variable = np.full(still.size, position, dtype=np.int64)
                rows.append((variable, still, self.horizon - length, length))
                ended.append(np.zeros(still.size, dtype=bool))
        if not rows:
            empty = np.zeros(0, dtype=np.int64)
            return {
                "run": empty,
                "variable": empty,
                "start_day": empty,
                "length": empty,
                "ended": np.zeros(0, dtype=bool),
            }
        table = {
            "run": np.concatenate([runs for _, runs, _, _ in rows]),
            "variable": np.concatenate([variable for variable, _, _, _ in rows]),
            "start_day": np.concatenate([start for _, _, start, _ in rows]),
            "length": np.concatenate([length for _, _, _, length in rows]),
            "ended": np.concatenate(ended),
        }
        # By run, then variable name: the rows were added day by day, so a stable
        # sort keeps each variable's spells in a run in the order they started.  The
        # block sorts its own rows, so that a pool's workers do it side by side and
        # the blocks, in run order, need no sort when they are combined.
        names = self.plan.boolean_variables
        ranks = name_ranks(names)[table["variable"]]
        order = kernels.order_by_run(table["run"], ranks, self.state.n)
        return {name: values[order] for name, values in table.items()}

    def _cycle_table(self) -> dict[str, NDArray[Any]]:
        """One row per retaliation cycle: a chain of two or more answering blows."""
        if not self._cycle_runs:
            empty = np.zeros(0, dtype=np.int64)
            return {"run": empty, "start_day": empty, "length": empty}
        # A cycle is a (run, root) pair, its length the longest chain from that root,
        # listed by run, then root (the event id of its first blow, so by start day).
        runs, roots, lengths = kernels.cycle_table(
            np.concatenate(self._cycle_runs),
            np.concatenate(self._cycle_roots),
            np.concatenate(self._cycle_lengths),
            self.state.n,
        )
        return {"run": runs, "start_day": roots // self.plan.n_slots, "length": lengths}

    @staticmethod
    def _cycle_metrics(table: dict[str, NDArray[Any]], n: int) -> dict[str, NDArray[Any]]:
        runs, lengths = table["run"], table["length"]
        count = np.bincount(runs, minlength=n)
        total = np.bincount(runs, weights=lengths, minlength=n)
        longest = np.zeros(n, dtype=np.int64)
        first = np.full(n, math.inf)
        if runs.size:
            # The table is in order of run, then root (so of start day): each run's
            # cycles are one stretch of rows, the first of them the earliest.
            starts = np.flatnonzero(np.diff(runs, prepend=-1))
            present = runs[starts]
            longest[present] = np.maximum.reduceat(lengths, starts)
            first[present] = table["start_day"][starts]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(count > 0, total / count, np.nan)
        return {
            "cycles": count,
            "cycle_length_mean": mean,
            "cycle_length_max": longest,
            "first_cycle_day": first,
        }


def _positive(value: Number, params: dict[str, float], what: str) -> Any:
    """`resolve` for a number that must be > 0, as a sweep may set it to 0."""
    number = resolve(value, params, what, 0.0, math.inf)
    if np.any(np.asarray(number) == 0):
        raise ModelError(f"{what}: must be > 0, got 0")
    return number


def _counts_dead(name: str, plan: Plan) -> bool:
    """Whether ``name`` is one of the dead every actor keeps (true, claimed, admitted),
    which the runs table reports in its own columns."""
    actor, _, short = name.partition(".")
    return actor in plan.actors and short in BUILTIN_ACTOR_VARIABLES
