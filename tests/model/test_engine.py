"""Behaviour of the engine on tiny scenarios whose answers are known in closed form:
rules, effects, casualties, retaliation cycles, outcomes and errors at run time.

Statistical checks use a fixed seed and a tolerance of five standard errors (from
the closed-form variance where there is one): a correct engine would pass for
practically any seed, while a wrong mean or a wrong rule fails.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from small_scenarios import one_actor, scenario, simulate, within_se

from escalation import (
    EscalationModel,
    ModelError,
    Scenario,
    ScenarioError,
    load_scenario,
    replay_run,
    run_scenario,
)

REFERENCE = load_scenario(
    Path(__file__).resolve().parents[2] / "scenarios" / "pakistan_afghanistan_2025.yaml"
)

# -- rules: probability, delay, cooldown --------------------------------------------------


def test_first_act_of_a_constant_probability_rule_is_geometric() -> None:
    p = 0.2
    subject = one_actor(
        f"- {{id: go, do: probe, probability: {p}}}\n", "probe: {rung: 1}\n", horizon=200
    )
    runs = simulate(subject, 4000)
    first = runs["probe_first_day"]
    assert first.notna().all()
    assert within_se(first, (1 - p) / p, math.sqrt(1 - p) / p)
    assert within_se(first == 0, p, math.sqrt(p * (1 - p)))
    # With no cooldown the rule decides afresh every day: Binomial(200, p) acts.
    assert within_se(runs["probe_count"], 200 * p, math.sqrt(200 * p * (1 - p)))


def test_delay_is_uniform_on_its_range() -> None:
    subject = one_actor(
        "- {id: go, when: 'day == 0', do: probe, delay: [2, 6]}\n",
        "probe: {rung: 1}\n",
        horizon=10,
    )
    runs = simulate(subject, 5000)
    assert (runs["probe_count"] == 1).all()
    shares = runs["probe_first_day"].value_counts(normalize=True).sort_index()
    assert shares.index.tolist() == [2, 3, 4, 5, 6]
    se = math.sqrt(0.2 * 0.8 / 5000)
    assert np.all(np.abs(shares.to_numpy() - 0.2) <= 5 * se)


def test_fixed_delay_postpones_the_act() -> None:
    subject = one_actor("- {id: go, when: 'day == 3', do: probe, delay: 4}\n", "probe: {rung: 1}\n")
    runs = simulate(subject, 5)
    assert runs["probe_first_day"].tolist() == [7] * 5


def test_cooldown_with_certain_acts_gives_a_regular_rhythm() -> None:
    subject = one_actor("- {id: go, do: probe, cooldown: 3}\n", "probe: {rung: 1}\n", horizon=20)
    replay = replay_run(subject, seed=1, run=0)
    assert replay.events["day"].tolist() == [0, 4, 8, 12, 16]


@pytest.mark.parametrize("cooldown", [19, 20, 2**31, 10**15])
def test_a_cooldown_longer_than_the_horizon_means_never_again(cooldown: int) -> None:
    # A rule's next free day is kept in 32 bits: one past every day means never.
    subject = one_actor(
        f"- {{id: go, do: probe, cooldown: {cooldown}}}\n", "probe: {rung: 1}\n", horizon=21
    )
    runs = simulate(subject, 3)
    assert (runs["probe_count"] == (2 if cooldown == 19 else 1)).all()


def test_cooldown_is_respected_by_random_acts() -> None:
    cooldown = 2
    subject = one_actor(
        f"- {{id: go, do: probe, probability: 0.6, cooldown: {cooldown}}}\n",
        "probe: {rung: 1}\n",
        horizon=60,
    )
    gaps = []
    for run in range(15):
        days = replay_run(subject, seed=3, run=run).events["day"].to_numpy()
        gaps.extend(np.diff(days).tolist())
    assert min(gaps) == cooldown + 1  # never closer, and the rule is free again at once


def test_cooldown_counts_from_the_act_not_the_decision() -> None:
    subject = one_actor(
        "- {id: go, do: probe, delay: 1, cooldown: 2}\n", "probe: {rung: 1}\n", horizon=14
    )
    assert replay_run(subject, seed=1, run=0).events["day"].tolist() == [1, 5, 9, 13]


# -- first match, independent actions ----------------------------------------------------


def test_first_rule_whose_condition_holds_decides() -> None:
    subject = one_actor(
        """\
        - {id: first, when: "day >= 10", do: probe, probability: 0}
        - {id: second, do: probe, probability: 1}
        """,
        "probe: {rung: 1}\n",
    )
    runs = simulate(subject, 20)
    assert (runs["probe_count"] == 10).all()
    events = replay_run(subject, seed=1, run=0).events
    assert events["day"].tolist() == list(range(10))
    assert set(events["rule"]) == {"second"}


def test_rule_cooling_down_lets_the_next_rule_decide() -> None:
    subject = one_actor(
        """\
        - {id: first, do: probe, cooldown: 2}
        - {id: second, do: probe}
        """,
        "probe: {rung: 1}\n",
        horizon=9,
    )
    events = replay_run(subject, seed=1, run=0).events
    assert events["day"].tolist() == list(range(9))
    assert events.loc[events["rule"] == "first", "day"].tolist() == [0, 3, 6]


def test_rules_for_different_actions_decide_independently() -> None:
    subject = one_actor(
        """\
        - {id: probing, do: probe, probability: 0.5}
        - {id: talking, do: parley, probability: 0.5}
        """,
        "probe: {rung: 1}\nparley: {rung: 0}\n",
        horizon=1,
    )
    runs = simulate(subject, 4000)
    probe, parley = runs["probe_count"] == 1, runs["parley_count"] == 1
    assert within_se(probe, 0.5, 0.5)
    assert within_se(parley, 0.5, 0.5)
    assert within_se(probe & parley, 0.25, math.sqrt(0.25 * 0.75))


def test_rules_asking_the_same_evaluate_it_once_a_day() -> None:
    subject = one_actor(
        """\
        - {id: probing, when: "day >= 2", do: probe}
        - {id: talking, when: "day >= 2", do: parley}
        """,
        "probe: {rung: 1}\nparley: {rung: 0}\n",
        horizon=5,
    )
    model = EscalationModel(subject, runs=3, seed=1)
    days: list[int] = []
    for rule in model.actor_agents["a"].rules:
        evaluate = rule.when.test
        assert evaluate is not None

        def counted(state: Any, evaluate: Any = evaluate) -> Any:
            days.append(state.day)
            return evaluate(state)

        object.__setattr__(rule.when, "test", counted)
    result = model.run()
    assert days == [0, 1, 2, 3, 4]
    assert (result.columns["probe_count"] == 3).all()
    assert (result.columns["parley_count"] == 3).all()


def test_the_same_condition_read_by_other_observers_is_not_shared() -> None:
    model = EscalationModel(REFERENCE, runs=2, seed=1, horizon_days=1)
    agents = model.actor_agents

    def key(actor: str, rule_id: str) -> Any:
        agent = agents[actor]
        return agent.condition_keys[[rule.id for rule in agent.rules].index(rule_id)]

    assert key("pakistan", "strike_leadership") == key("pakistan", "strike_hideouts")
    assert key("qatar", "request_truce") == key("saudi_arabia", "request_truce")
    usa, china = key("usa", "demand_verifiable_action"), key("china", "demand_verifiable_action")
    assert usa[0] == china[0]  # the same text, read from each one's own observations
    assert usa != china


def test_certain_rules_for_different_actions_both_act_every_day() -> None:
    subject = one_actor(
        "- {id: probing, do: probe}\n- {id: talking, do: parley}\n",
        "probe: {rung: 1}\nparley: {rung: 0}\n",
        horizon=12,
    )
    runs = simulate(subject, 3)
    assert runs["probe_count"].tolist() == [12] * 3
    assert runs["parley_count"].tolist() == [12] * 3


def test_rung_of_a_day_is_that_of_its_highest_act() -> None:
    subject = one_actor(
        """\
        - {id: low, when: "day < 6", do: probe}
        - {id: high, when: "day >= 2 and day < 4", do: strike}
        """,
        "probe: {rung: 1}\nstrike: {rung: 2}\n",
        horizon=10,
    )
    runs = simulate(subject, 2)
    assert runs["max_rung"].tolist() == [2, 2]
    assert runs["days_at_or_above_1"].tolist() == [6, 6]
    assert runs["days_at_or_above_2"].tolist() == [2, 2]


WINDOWS = """\
actors:
  a:
    name: A
    kind: state
    policy:
      - {id: once, when: "day == 3", do: probe}
  b:
    name: B
    kind: state
    policy:
      - {id: recent, when: "count(probe, by=a, within=2) > 0", do: note}
      - {id: ever, when: "count(probe, by=a) > 0", do: remember}
      - {id: since, when: "days_since(probe, by=a) == 3", do: recall}
      - {id: nobody, when: "count(probe, by=b) > 0", do: mistake}
actions:
  probe: {rung: 1}
  note: {rung: 0}
  remember: {rung: 0}
  recall: {rung: 0}
  mistake: {rung: 0}
"""


def test_observation_windows_cover_the_days_before_today() -> None:
    """``within=w`` on day d counts the acts of days d - w to d - 1."""
    events = replay_run(scenario(WINDOWS, horizon=10), seed=1, run=0).events
    days = events.groupby("action")["day"].apply(list).to_dict()
    assert days == {
        "probe": [3],
        "note": [4, 5],
        "remember": [4, 5, 6, 7, 8, 9],
        "recall": [6],
    }


# -- effects ---------------------------------------------------------------------------


EFFECTS = """\
world:
  up: {initial: 0.5, min: 0, max: 1}
  down: {initial: 0.5, min: 0, max: 1}
  grow: {initial: 0.1, min: 0, max: 1}
  fixed: {initial: 0, min: 0, max: 1}
  free: {initial: 1}
actors:
  a:
    name: A
    kind: state
    state:
      resolve: {initial: 0.5, min: 0, max: 1}
    policy:
      - {id: go, do: push}
  b: {name: B, kind: state}
actions:
  push:
    rung: 0
    effects:
      - {add: up, value: 0.2}
      - {add: down, value: -0.3}
      - {multiply: grow, value: 3}
      - {set: fixed, value: 0.25}
      - {multiply: free, value: 2}
      - {add: a.resolve, value: 0.05}
"""


def test_effects_add_set_multiply_and_saturate_at_bounds() -> None:
    subject = scenario(EFFECTS, horizon=5)
    results = run_scenario(subject, runs=2, seed=1, path_sample=1)
    final = results.runs.iloc[0]
    assert final["final_up"] == pytest.approx(1.0)
    assert final["final_down"] == pytest.approx(0.0)
    assert final["final_grow"] == pytest.approx(1.0)
    assert final["final_fixed"] == pytest.approx(0.25)
    assert final["final_free"] == pytest.approx(32.0)
    assert final["final_a.resolve"] == pytest.approx(0.75)
    paths = results.timeseries.query("kind == 'path'")
    daily = paths.loc[paths["series"] == "up"].sort_values("day")["value"]
    np.testing.assert_allclose(daily, [0.7, 0.9, 1.0, 1.0, 1.0])
    grow = paths.loc[paths["series"] == "grow"].sort_values("day")["value"]
    np.testing.assert_allclose(grow, [0.3, 0.9, 1.0, 1.0, 1.0])


def test_effect_probability_thins_the_effect() -> None:
    subject = one_actor(
        "- {id: go, do: push}\n",
        "push:\n  rung: 0\n  effects: [{add: tally, value: 1, probability: 0.3}]\n",
        horizon=50,
        extra="world:\n  tally: {initial: 0}\n",
    )
    runs = simulate(subject, 2000)
    assert (runs["push_count"] == 50).all()
    assert within_se(runs["final_tally"], 15, math.sqrt(50 * 0.3 * 0.7))


def test_effects_scale_with_the_days_count_of_acts() -> None:
    subject = scenario(
        """\
        world:
          tally: {initial: 0}
        actors:
          a:
            name: A
            kind: armed_group
            tempo: [{action: push, base_rate: 1.5}]
        actions:
          push:
            rung: 0
            effects: [{add: tally, value: 1}]
        """
    )
    runs = simulate(subject, 200)
    assert runs["push_count"].sum() > 0
    np.testing.assert_array_equal(runs["final_tally"], runs["push_count"])


# -- casualties ---------------------------------------------------------------------------


def casualty_scenario(spec: str, *, horizon: int = 10) -> Scenario:
    return one_actor(
        "- {id: go, do: attack, target: b}\n",
        f"attack:\n  rung: 1\n  hostile: true\n  casualties:\n    target: {spec}\n",
        horizon=horizon,
    )


def test_fixed_casualties_add_up_exactly() -> None:
    runs = simulate(casualty_scenario("{distribution: fixed, mean: 2.5}"), 5)
    assert runs["b_dead_true"].tolist() == [25.0] * 5
    assert runs["a_dead_true"].tolist() == [0.0] * 5


def test_poisson_casualties_mean_and_variance() -> None:
    runs = simulate(casualty_scenario("{distribution: poisson, mean: 3}"), 4000)
    dead = runs["b_dead_true"]
    assert within_se(dead, 30, math.sqrt(30))
    assert dead.var() == pytest.approx(30, rel=0.15)
    assert (dead == dead.round()).all()


def test_negative_binomial_casualties_mean_and_variance() -> None:
    runs = simulate(
        casualty_scenario("{distribution: negative_binomial, mean: 3, dispersion: 0.5}"), 4000
    )
    dead = runs["b_dead_true"]
    variance = 10 * (3 + 3**2 / 0.5)  # ten independent acts
    assert within_se(dead, 30, math.sqrt(variance))
    assert dead.var() == pytest.approx(variance, rel=0.2)


def test_casualty_mean_from_a_parameter_follows_overrides() -> None:
    subject = one_actor(
        "- {id: go, do: attack, target: b}\n",
        "attack:\n  rung: 1\n  hostile: true\n"
        "  casualties:\n"
        "    target: {distribution: fixed, mean: toll}\n"
        "    actor: {distribution: fixed, mean: 1}\n",
        horizon=10,
        extra="parameters:\n  toll: {value: 2}\n",
    )
    assert simulate(subject, 2)["b_dead_true"].tolist() == [20.0, 20.0]
    overridden = simulate(subject, 2, parameters={"toll": 5})
    assert overridden["b_dead_true"].tolist() == [50.0, 50.0]
    assert overridden["a_dead_true"].tolist() == [10.0, 10.0]


def test_fractional_dead_leave_a_window_completely() -> None:
    # 0.1 dead on day 0 and 0.2 on day 1: b's one-day window holds them on days 1 and
    # 2 and is empty after, though 0.1 + 0.2 - 0.1 - 0.2 is 2.8e-17 in plain
    # floating point, which would keep "casualties(...) > 0" true for ever.
    subject = scenario(
        """\
        actors:
          a:
            name: A
            kind: state
            policy:
              - {id: strike, when: "day < 2", do: attack, target: b}
          b:
            name: B
            kind: state
            policy:
              - {id: notice, when: "casualties(attack, within=1) > 0", do: notice}
        actions:
          attack:
            rung: 1
            hostile: true
            casualties:
              target: {distribution: fixed, mean: "0.1 if day == 0 else 0.2"}
          notice: {rung: 0}
        """,
        horizon=8,
    )
    model = EscalationModel(subject, runs=3, seed=1, trace=True)
    model.run()
    trace = model.trace_table()
    notices = trace[trace["action"] == "notice"]
    assert notices.groupby("run")["day"].apply(list).tolist() == [[1, 2]] * 3


# -- retaliation cycles ---------------------------------------------------------------


CHAIN = """\
actors:
  a:
    name: A
    kind: state
    policy:
      - {id: opening, when: "day == 2", do: raid, target: b}
      - {id: third, when: "count(reprisal, by=b, within=1) > 0", do: strike, target: b}
  b:
    name: B
    kind: armed_group
    policy:
      - {id: second, when: "count(raid, by=a, within=1) > 0", do: reprisal, target: a}
actions:
  raid: {rung: 1, hostile: true}
  reprisal: {rung: 1, hostile: REPRISAL_HOSTILE}
  strike: {rung: 2, hostile: true}
"""


def test_three_answering_blows_are_one_cycle_of_length_three() -> None:
    subject = scenario(CHAIN.replace("REPRISAL_HOSTILE", "true"), horizon=10)
    results = run_scenario(subject, runs=4, seed=1, path_sample=0)
    runs = results.runs
    assert runs["cycles"].tolist() == [1] * 4
    assert runs["cycle_length_max"].tolist() == [3] * 4
    assert runs["cycle_length_mean"].tolist() == [3.0] * 4
    assert runs["first_cycle_day"].tolist() == [2.0] * 4
    assert results.cycles.to_dict("list") == {
        "run": [0, 1, 2, 3],
        "start_day": [2] * 4,
        "length": [3] * 4,
    }
    chain = replay_run(subject, seed=1, run=0).events
    assert chain[["day", "action", "chain"]].values.tolist() == [
        [2, "raid", 1],
        [3, "reprisal", 2],
        [4, "strike", 3],
    ]


def test_an_answer_that_is_no_blow_breaks_the_chain() -> None:
    subject = scenario(CHAIN.replace("REPRISAL_HOSTILE", "false"), horizon=10)
    results = run_scenario(subject, runs=3, seed=1, path_sample=0)
    assert results.runs["cycles"].tolist() == [0] * 3
    assert results.runs["first_cycle_day"].isna().all()
    assert len(results.cycles) == 0


LOOKED_AT = """\
actors:
  a:
    name: A
    kind: state
    policy:
      - {id: strike, when: "day == 0", do: hit, target: b}
      - {id: talk, when: "day == 1", do: note, target: b}
  b:
    name: B
    kind: state
    policy:
      - {id: answer, when: "day == 3 and CONDITION", do: hit, target: a}
actions:
  hit: {rung: 1, hostile: true}
  note: {rung: 0}
"""


@pytest.mark.parametrize(
    ("condition", "cycles", "answered"),
    [
        # The hit is the hostile act looked at, though the note came later.
        ("count(hit, by=a, within=3) > 0 and count(note, by=a, within=3) >= 0", 1, "hit"),
        ("count(note, by=a) >= 0 and days_since(hit, by=a) < 5", 1, "hit"),
        # A hit out of the condition's window was not looked at: the note is the answer.
        ("count(note, by=a) >= 0 and count(hit, by=a, within=2) == 0", 0, "note"),
        # Nor is it when the condition looks at nothing else: the blow starts a chain.
        ("count(hit, by=a, within=1) == 0", 0, None),
    ],
)
def test_a_blow_answers_the_latest_hostile_act_its_condition_looked_at(
    condition: str, cycles: int, answered: str | None
) -> None:
    subject = scenario(LOOKED_AT.replace("CONDITION", condition), horizon=6)
    results = run_scenario(subject, runs=2, seed=1, path_sample=0)
    assert results.runs["cycles"].tolist() == [cycles] * 2
    events = replay_run(subject, seed=1, run=0).events.set_index("day")
    assert events.loc[3, "chain"] == 1 + cycles
    cause = events.loc[3, "cause"]
    assert (None if cause < 0 else events["action"][events["event_id"] == cause].item()) == answered


# -- outcomes ----------------------------------------------------------------------------


def test_outcomes_first_match_and_unclassified() -> None:
    subject = scenario(
        """\
        actors:
          a:
            name: A
            kind: state
            policy: [{id: go, when: "day == 0", do: probe, probability: 0.5}]
        actions:
          probe: {rung: 1}
        outcomes:
          - {id: hot, when: "max_rung >= 1"}
          - {id: also_hot, when: "max_rung >= 1"}
          - {id: never, when: "false"}
        """
    )
    runs = simulate(subject, 2000)
    outcome = runs["outcome"]
    assert list(outcome.cat.categories) == ["hot", "also_hot", "never", "unclassified"]
    np.testing.assert_array_equal(outcome == "hot", runs["probe_count"] == 1)
    np.testing.assert_array_equal(outcome == "unclassified", runs["probe_count"] == 0)
    assert within_se(outcome == "hot", 0.5, 0.5)
    shares = run_scenario(subject, runs=200, seed=2).outcome_shares()
    assert shares["share"].sum() == pytest.approx(1.0)
    assert shares.loc["also_hot", "runs"] == 0


SPELLS = """\
world:
  flag: {initial: false}
actors:
  a:
    name: A
    kind: state
    policy:
      - {id: up, when: "day == 2 or day == 6", do: raise_flag}
      - {id: down, when: "day == 4", do: lower_flag}
      - {id: tally, when: "days_true(flag) == 2", do: note}
actions:
  raise_flag: {rung: 0, effects: [{set: flag, value: 1}]}
  lower_flag: {rung: 0, effects: [{set: flag, value: 0}]}
  note: {rung: 0}
outcomes:
  - id: as_told
    when: >-
      days_with(flag) == 6 and spells(flag) == 2 and first_day(raise_flag, by=a) == 2
      and first_day(lower_flag) == 4 and first_day(note) == 4 and days_at_or_above(0) == 10
"""


def test_spells_of_a_boolean_variable_and_outcome_functions() -> None:
    # The flag is true on days 2-3 and 6-9: two spells, six days.
    subject = scenario(SPELLS, horizon=10)
    row = simulate(subject, 2).iloc[0]
    assert row["outcome"] == "as_told"
    assert (row["flag_days"], row["flag_spells"], row["flag_first_day"]) == (6, 2, 2)
    assert row["flag_mean_spell"] == 3.0
    events = replay_run(subject, seed=1, run=0).events
    # days_true(flag) is the length of the current spell, as of the start of the day.
    assert events.loc[events["action"] == "note", "day"].tolist() == [4, 8]


def test_a_block_lists_its_spells_by_run_variable_name_and_start() -> None:
    # The blocks of a job, in run order, then need no sort to make the spells table.
    block = EscalationModel(REFERENCE, runs=40, seed=5, horizon_days=120).run()
    spells = block.spells
    names = np.array(block.spell_variables, dtype=object)[spells["variable"]]
    key = list(
        zip(spells["run"].tolist(), names.tolist(), spells["start_day"].tolist(), strict=True)
    )
    assert len({name for _, name, _ in key}) > 1
    assert len({(run, name) for run, name, _ in key}) < len(key)  # a run with two spells
    assert key == sorted(key)


def test_final_values_of_world_and_actor_variables_do_not_collide() -> None:
    text = """\
        world:
          a_resolve: {initial: 7}
        actors:
          a:
            name: A
            kind: state
            state: {resolve: {initial: 0.5}}
        actions:
          noop: {rung: 0}
        """
    try:
        subject = scenario(text, horizon=3)
    except ScenarioError as error:  # refusing the pair of names up front is as good
        refusal = str(error)
    else:
        row = simulate(subject, 1).iloc[0]
        finals = sorted(float(row[name]) for name in row.index if name.startswith("final_"))
        assert finals == [0.5, 7.0]
        return
    assert "a_resolve" in refusal


# -- errors at run time -----------------------------------------------------------------


def test_probability_expression_out_of_range_at_run_time_names_the_rule() -> None:
    subject = one_actor(
        "- {id: go, do: probe, probability: '2 * p'}\n",
        "probe: {rung: 1}\n",
        extra="parameters:\n  p: {value: 0.65}\n",
    )
    with pytest.raises(
        ModelError,
        match=r"actors\.a\.policy\[0\]\.probability: a probability must be in \[0, 1\], got 1\.3",
    ):
        simulate(subject, 3)


def test_overridden_probability_out_of_range_is_refused_not_clamped() -> None:
    subject = one_actor(
        "- {id: go, do: probe, probability: p}\n",
        "probe: {rung: 1}\n",
        extra="parameters:\n  p: {value: 0.5}\n",
    )
    with pytest.raises(ModelError, match=r"actors\.a\.policy\[0\]\.probability.*got -0\.1"):
        simulate(subject, 3, parameters={"p": -0.1})


@pytest.mark.parametrize(
    ("value", "overrides"),
    [("'0.5 + 0 * day'", {}), ("flag", {"flag": 0.25}), ("flag", {"flag": [1.0, 0.25, 0.0]})],
)
def test_a_boolean_set_to_another_value_at_run_time_names_the_effect(
    value: str, overrides: dict[str, Any]
) -> None:
    subject = one_actor(
        "- {id: go, do: agree}\n",
        f"agree:\n  rung: 0\n  effects: [{{set: deal, value: {value}}}]\n",
        extra="world:\n  deal: {initial: false}\nparameters:\n  flag: {value: 1, min: 0, max: 1}\n",
    )
    with pytest.raises(
        ModelError,
        match=r"actions\.agree\.effects\[0\]\.value: sets boolean variable deal to 0\.(5|25); "
        "expected 0 or 1",
    ):
        simulate(subject, 3, parameters=overrides)


@pytest.mark.parametrize(
    ("value", "overrides"),
    [
        ("'log(x - 6)'", {}),
        ("'x * level / level'", {}),
        ("'x * level / level'", {"level": [1.0, 0.0, 1.0]}),  # in one run of three
    ],
)
def test_an_effect_that_is_not_a_number_is_refused_not_stored(
    value: str, overrides: dict[str, Any]
) -> None:
    subject = one_actor(
        "- {id: go, do: shift}\n",
        f"shift:\n  rung: 0\n  effects: [{{set: x, value: {value}}}]\n",
        extra="world:\n  x: {initial: 5, min: 0, max: 10}\n"
        "parameters:\n  level: {value: 0, min: 0, max: 1}\n",
    )
    with (
        pytest.raises(
            ModelError,
            match=r"actions\.shift\.effects\[0\]\.value: the value for x is not a number",
        ),
        np.errstate(invalid="ignore", divide="ignore"),
    ):
        simulate(subject, 3, parameters=overrides)


def test_a_boolean_set_by_an_expression_of_0_or_1_runs() -> None:
    subject = one_actor(
        "- {id: go, do: agree}\n",
        "agree:\n  rung: 0\n  effects: [{set: deal, value: 'day < 5'}]\n",
        extra="world:\n  deal: {initial: false}\n",
    )
    assert len(simulate(subject, 3)) == 3


def test_negative_casualty_mean_at_run_time() -> None:
    subject = one_actor(
        "- {id: go, do: attack, target: b}\n",
        "attack:\n  rung: 1\n  casualties: {target: {distribution: poisson, mean: '1 - day'}}\n",
    )
    with pytest.raises(ModelError, match=r"actions\.attack\.casualties\.target\.mean must be >= 0"):
        simulate(subject, 2)


@pytest.mark.filterwarnings("ignore:divide by zero")
@pytest.mark.filterwarnings("ignore:invalid value encountered in divide")
@pytest.mark.parametrize(
    ("rate", "message"),
    [
        ("1 - day", r"actors\.a\.tempo\[0\] \(raid\): intensity -1 < 0, expected >= 0"),
        ("1 / day", r"actors\.a\.tempo\[0\] \(raid\): intensity out of range .*inf"),
        ("0 / (day - day)", r"actors\.a\.tempo\[0\] \(raid\): intensity not a number"),
    ],
)
def test_tempo_intensity_out_of_range_at_run_time(rate: str, message: str) -> None:
    subject = scenario(
        f"""\
        actors:
          a:
            name: A
            kind: armed_group
            tempo: [{{action: raid, base_rate: "{rate}"}}]
        actions:
          raid: {{rung: 0}}
        """
    )
    with pytest.raises(ModelError, match=message):
        simulate(subject, 2)


@pytest.mark.filterwarnings("ignore:divide by zero")
@pytest.mark.parametrize("distribution", ["fixed", "poisson"])
def test_infinite_casualty_mean_at_run_time(distribution: str) -> None:
    subject = one_actor(
        "- {id: go, do: attack, target: b}\n",
        "attack:\n  rung: 1\n  casualties: {target: {distribution: "
        + distribution
        + ", mean: '1 / day'}}\n",
    )
    message = r"actions\.attack\.casualties\.target\.mean must be >= 0 and finite"
    with pytest.raises(ModelError, match=message):
        simulate(subject, 3)


def test_casualty_dispersion_out_of_range_at_run_time() -> None:
    subject = one_actor(
        "- {id: go, do: attack, target: b}\n",
        "attack:\n  rung: 1\n  casualties: {target: {distribution: negative_binomial, "
        "mean: 2, dispersion: '1 - day'}}\n",
    )
    message = r"actions\.attack\.casualties\.target: out of range \(dispersion must lie in"
    with pytest.raises(ModelError, match=message):
        simulate(subject, 3)


def test_exploding_tempo_from_an_override_is_refused() -> None:
    subject = scenario(
        """\
        parameters:
          strength: {value: 0.5}
        actors:
          a:
            name: A
            kind: armed_group
            tempo: [{action: raid, base_rate: 0.1, alpha: strength, beta: 1}]
        actions:
          raid: {rung: 0}
        """
    )
    assert simulate(subject, 2)["raid_count"].notna().all()
    with pytest.raises(ModelError, match=r"actors\.a\.tempo\[0\] \(raid\): alpha/beta must be < 1"):
        simulate(subject, 2, parameters={"strength": 1.5})


def test_unknown_parameter_override_is_refused() -> None:
    subject = one_actor("- {id: go, do: probe}\n", "probe: {rung: 1}\n")
    with pytest.raises(ValueError, match="unknown parameter 'nope'"):
        simulate(subject, 2, parameters={"nope": 1.0})


def test_conditional_probability_of_constants() -> None:
    subject = one_actor(
        "- {id: go, do: probe, probability: '1 if day < 5 else 0'}\n",
        "probe: {rung: 1}\n",
        horizon=10,
    )
    assert simulate(subject, 3)["probe_count"].tolist() == [5, 5, 5]


def test_conditional_probability_depending_on_the_state() -> None:
    subject = one_actor(
        "- {id: go, do: probe, probability: '1 if tally < 3 else 0'}\n",
        "probe:\n  rung: 1\n  effects: [{add: tally, value: 1}]\n",
        horizon=10,
        extra="world:\n  tally: {initial: 0}\n",
    )
    assert simulate(subject, 3)["probe_count"].tolist() == [3, 3, 3]


def test_each_daily_sum_is_its_own_variables_sum() -> None:
    # The variables are rows of one array, summed together each day: the last day's
    # sums must be those of each variable's final values, bit for bit.
    result = EscalationModel(REFERENCE, runs=300, seed=4, horizon_days=40).run()
    sums = result.daily_sums
    checked = 0
    for name, daily in sums.items():
        assert daily.shape == (40,)
        actor, _, variable = name.partition(".")
        column = f"{actor}_dead_true" if variable == "casualties" else f"final_{name}"
        if column not in result.columns:  # a boolean world variable has no final value
            continue
        assert daily[-1] == result.columns[column].sum(), name
        checked += 1
    assert checked > 10
    assert len({float(daily[-1]) for daily in sums.values()}) > 5  # rows not mixed up
