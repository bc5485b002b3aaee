"""Tests of the cross-reference checks: names that must exist, expressions that must compile.

Each test breaks one thing in an otherwise valid scenario and matches the problem
reported at its YAML path; the last ones break many things at once and expect
every problem in one go.
"""

from __future__ import annotations

import copy
import math
import re
from typing import Any

import pytest

from escalation import ScenarioError, load_scenario_text, rng
from escalation.model import record
from escalation.scenario import check
from escalation.scenario.check import check_references, sampler_limits
from escalation.scenario.schema import Scenario

BASE: dict[str, Any] = {
    "name": "check",
    "ladder": [{"rung": 0, "name": "calm"}, {"rung": 1, "name": "raid"}],
    "parameters": {"chance": {"value": 0.5}},
    "world": {"tension": {"initial": 0.0, "min": 0, "max": 1}},
    "actors": {
        "a": {
            "name": "A",
            "kind": "state",
            "state": {"resolve": {"initial": 0.5}},
            "policy": [
                {
                    "id": "hit",
                    "when": "true",
                    "do": "attack",
                    "target": "b",
                    "probability": "chance",
                }
            ],
        },
        "b": {"name": "B", "kind": "armed_group"},
        "c": {"name": "C", "kind": "mediator"},
    },
    "actions": {
        "attack": {
            "rung": 1,
            "hostile": True,
            "casualties": {"target": {"distribution": "poisson", "mean": 1}},
            "effects": [{"add": "tension", "value": 0.1}],
        },
        "parley": {"rung": 0},
    },
    "outcomes": [{"id": "any", "when": "true"}],
}


def scenario_with(**changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(BASE)
    document.update(changes)
    return document


def problems(document: dict[str, Any]) -> dict[str, str]:
    """The cross-reference problems of a structurally valid document, by YAML path."""
    found = check_references(Scenario.model_validate(document))
    return {_dotted(path): message for path, message in found}


def _dotted(path: tuple[str | int, ...]) -> str:
    return ".".join(str(part) for part in path)


def only_problem(document: dict[str, Any]) -> tuple[str, str]:
    found = problems(document)
    assert len(found) == 1, found
    return next(iter(found.items()))


def test_base_scenario_has_no_problem() -> None:
    assert problems(BASE) == {}


# -- unknown names ---------------------------------------------------------------------


def test_unknown_action_in_a_rule() -> None:
    document = scenario_with()
    document["actors"]["a"]["policy"][0]["do"] = "atack"
    path, message = only_problem(document)
    assert path == "actors.a.policy.0.do"
    assert message == "unknown action 'atack'; did you mean 'attack'?"


def test_unknown_target_actor() -> None:
    document = scenario_with()
    document["actors"]["a"]["policy"][0]["target"] = "bb"
    assert only_problem(document) == (
        "actors.a.policy.0.target",
        "unknown actor 'bb'; did you mean 'b'?",
    )


def test_an_actor_cannot_target_itself() -> None:
    document = scenario_with()
    document["actors"]["a"]["policy"][0]["target"] = "a"
    path, message = only_problem(document)
    assert path == "actors.a.policy.0.target"
    assert message.startswith("'a' cannot target itself")


def test_unknown_variable_of_an_effect() -> None:
    document = scenario_with()
    document["actions"]["attack"]["effects"] = [{"add": "a.resolv", "value": 1}]
    path, message = only_problem(document)
    assert path == "actions.attack.effects.0.add"
    assert "unknown variable 'a.resolv'; did you mean 'a.resolve'?" in message


@pytest.mark.parametrize("variable", ["casualties", "claimed_casualties", "admitted_casualties"])
def test_an_effect_cannot_change_the_dead_the_engine_keeps(variable: str) -> None:
    document = scenario_with()
    document["actions"]["attack"]["effects"] = [{"add": f"b.{variable}", "value": 5}]
    path, message = only_problem(document)
    assert path == "actions.attack.effects.0.add"
    assert message.startswith(f"'b.{variable}' is kept by the engine")


@pytest.mark.parametrize(
    ("effect", "path", "message"),
    [
        (
            {"set": "talks", "value": 0.5},
            "actions.parley.effects.0.value",
            "'talks' is a boolean variable: expected 0 or 1, got 0.5",
        ),
        (
            {"add": "talks", "value": 1},
            "actions.parley.effects.0.add",
            "'talks' is a boolean variable: an effect sets it to 0 or 1 (with 'set', not 'add')",
        ),
        (
            {"multiply": "a.ready", "value": 0},
            "actions.parley.effects.0.multiply",
            "'a.ready' is a boolean variable",
        ),
    ],
)
def test_a_boolean_variable_is_set_to_0_or_1(
    effect: dict[str, Any], path: str, message: str
) -> None:
    document = scenario_with()
    document["world"]["talks"] = {"initial": False}
    document["actors"]["a"]["state"]["ready"] = {"initial": True}
    document["actions"]["parley"]["effects"] = [effect]
    found_path, found = only_problem(document)
    assert found_path == path
    assert message in found


def test_a_boolean_variable_set_to_0_1_or_an_expression_is_fine() -> None:
    document = scenario_with()
    document["world"]["talks"] = {"initial": False}
    document["actions"]["parley"]["effects"] = [
        {"set": "talks", "value": 1},
        {"set": "talks", "value": 0.0},
        {"set": "talks", "value": "chance > 0.2"},
    ]
    assert problems(document) == {}


def test_unknown_world_variable_of_an_effect() -> None:
    document = scenario_with()
    document["actions"]["attack"]["effects"] = [{"set": "tensoin", "value": 1}]
    path, message = only_problem(document)
    assert path == "actions.attack.effects.0.set"
    assert "did you mean 'tension'?" in message


def test_unknown_name_in_an_expression() -> None:
    document = scenario_with()
    document["actors"]["a"]["policy"][0]["when"] = "tensoin > 0.5"
    path, message = only_problem(document)
    assert path == "actors.a.policy.0.when"
    assert message.startswith("in expression 'tensoin > 0.5': unknown name 'tensoin'")
    assert "did you mean 'tension'?" in message


def test_unknown_actor_in_perception() -> None:
    document = scenario_with(
        perception={
            "detection": [{"observer": "bb", "actor": "a", "probability": 0.5}],
            "misattribution": [
                {
                    "observer": "b",
                    "actual": "a",
                    "perceived": "cc",
                    "probability": 0.2,
                    "actions": ["atack"],
                }
            ],
            "claims": [{"actor": "aa"}],
        }
    )
    assert problems(document) == {
        "perception.detection.0.observer": "unknown actor 'bb'; did you mean 'b'?",
        "perception.misattribution.0.perceived": "unknown actor 'cc'; did you mean 'c'?",
        "perception.misattribution.0.actions.0": "unknown action 'atack'; did you mean 'attack'?",
        "perception.claims.0.actor": "unknown actor 'aa'; did you mean 'a'?",
    }


def test_unknown_names_in_a_tempo() -> None:
    document = scenario_with()
    document["actors"]["b"]["tempo"] = [
        {
            "action": "atack",
            "target": "a",
            "base_rate": "chanse",
            "initial_excitation": "chanse * 2",
            "excited_by": [{"action": "parly", "by": "aa", "jump": 0.1}],
        }
    ]
    found = problems(document)
    assert found["actors.b.tempo.0.action"] == "unknown action 'atack'; did you mean 'attack'?"
    assert "did you mean 'chance'?" in found["actors.b.tempo.0.base_rate"]
    assert "did you mean 'chance'?" in found["actors.b.tempo.0.initial_excitation"]
    assert found["actors.b.tempo.0.excited_by.0.action"].endswith("did you mean 'parley'?")
    assert found["actors.b.tempo.0.excited_by.0.by"] == "unknown actor 'aa'; did you mean 'a'?"


def test_a_condition_of_250_terms_compiles() -> None:
    # A user's sum of 250 counts once exhausted the stack of the recursive compiler.
    document = scenario_with()
    terms = " + ".join(["count(attack, within=1)"] * 250)
    document["actors"]["a"]["policy"][0]["when"] = f"{terms} > 0"
    assert problems(document) == {}


def test_a_very_long_expression_is_quoted_in_part() -> None:
    document = scenario_with()
    text = " + ".join(["count(attack)"] * 1001) + " > 0"
    document["actors"]["a"]["policy"][0]["when"] = text
    path, message = only_problem(document)
    assert path == "actors.a.policy.0.when"
    assert message.startswith(f"in expression {text[:200]!r}... ({len(text):,} characters): ")
    assert "expression too long: at most 1000 operands" in message
    assert len(message) < 400


def test_unknown_name_in_an_outcome() -> None:
    document = scenario_with(outcomes=[{"id": "hot", "when": "days_at_or_above(5) > 0"}])
    path, message = only_problem(document)
    assert path == "outcomes.0.when"
    assert "rung 5 is not on the ladder (0 to 1)" in message


# -- clashes and the ladder ------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "name", "entry", "other"),
    [
        ("parameters", "a", {"value": 1}, "actors"),
        ("parameters", "attack", {"value": 1}, "actions"),
        ("world", "b", {"initial": 0}, "actors"),
        ("world", "chance", {"initial": 0}, "parameters"),
    ],
)
def test_names_clash_between_sections(
    section: str, name: str, entry: dict[str, Any], other: str
) -> None:
    document = scenario_with()
    document[section] = {**document[section], name: entry}
    path, message = only_problem(document)
    assert path == f"{section}.{name}"
    assert message == f"{name!r} is already the name of an entry in {other}; names must be unique"


def test_action_named_like_an_actor_clashes() -> None:
    document = scenario_with()
    document["actions"]["c"] = {"rung": 0}
    assert only_problem(document) == (
        "actions.c",
        "'c' is already the name of an entry in actors; names must be unique",
    )


@pytest.mark.parametrize("name", ["day", "rung", "max_rung", "inf", "true", "self"])
def test_reserved_names_are_refused(name: str) -> None:
    document = scenario_with()
    document["world"][name] = {"initial": 0}
    assert only_problem(document) == (f"world.{name}", f"{name!r} is a reserved name")


def test_rung_beyond_the_ladder() -> None:
    document = scenario_with()
    document["actions"]["parley"]["rung"] = 2
    assert only_problem(document) == (
        "actions.parley.rung",
        "rung 2 is not on the ladder (0 to 1)",
    )


# -- targets, probabilities, ids ---------------------------------------------------------


def test_targetless_rule_for_an_action_that_kills_its_target() -> None:
    document = scenario_with()
    del document["actors"]["a"]["policy"][0]["target"]
    assert only_problem(document) == (
        "actors.a.policy.0",
        "action 'attack' kills on its target, so it needs a 'target'",
    )


def test_targetless_tempo_for_an_action_that_kills_its_target() -> None:
    document = scenario_with()
    document["actors"]["b"]["tempo"] = [{"action": "attack", "base_rate": 0.1}]
    assert only_problem(document) == (
        "actors.b.tempo.0",
        "action 'attack' kills on its target, so it needs a 'target'",
    )


def test_targetless_rule_is_fine_when_the_action_kills_no_target() -> None:
    document = scenario_with()
    document["actors"]["a"]["policy"].append({"id": "talk", "do": "parley"})
    assert problems(document) == {}


def test_misattribution_probabilities_summing_over_one() -> None:
    document = scenario_with(
        perception={
            "misattribution": [
                {"observer": "b", "actual": "a", "perceived": "c", "probability": 0.7},
                {"observer": "b", "actual": "a", "perceived": "b", "probability": 0.4},
                {"observer": "c", "actual": "a", "perceived": "b", "probability": 0.4},
            ]
        }
    )
    assert only_problem(document) == (
        "perception.misattribution.1.probability",
        "misattribution probabilities for observer 'b' and actual 'a' add up to 1.1 for 'attack', "
        "more than 1",
    )


def test_misattribution_probabilities_summing_to_exactly_one_are_fine() -> None:
    document = scenario_with(
        perception={
            "misattribution": [
                {"observer": "b", "actual": "a", "perceived": "c", "probability": 0.7},
                {"observer": "b", "actual": "a", "perceived": "b", "probability": 0.3},
            ]
        }
    )
    assert problems(document) == {}


def test_misattribution_for_disjoint_actions_is_summed_per_action() -> None:
    document = scenario_with(
        perception={
            "misattribution": [
                {
                    "observer": "b",
                    "actual": "a",
                    "perceived": "c",
                    "probability": 0.6,
                    "actions": ["attack"],
                },
                {
                    "observer": "b",
                    "actual": "a",
                    "perceived": "c",
                    "probability": 0.6,
                    "actions": ["parley"],
                },
            ]
        }
    )
    assert problems(document) == {}


@pytest.mark.parametrize(
    ("parameters", "probability", "shown"),
    [
        ({"chance": {"value": 1.5}}, "chance", "'chance' is 1.5"),
        ({"chance": {"value": -0.2}}, "chance", "'chance' is -0.2"),
        ({"chance": {"value": 0.5}}, "1.25", "'1.25' is 1.25"),
    ],
)
def test_probability_outside_zero_one(
    parameters: dict[str, Any], probability: str, shown: str
) -> None:
    document = scenario_with(parameters=parameters)
    document["actors"]["a"]["policy"][0]["probability"] = probability
    path, message = only_problem(document)
    assert path == "actors.a.policy.0.probability"
    assert message == f"{shown}; a probability must be in [0, 1]"


def test_probability_from_an_actor_parameter_outside_zero_one() -> None:
    document = scenario_with()
    document["actors"]["a"]["parameters"] = {"nerve": {"value": 2}}
    document["actors"]["a"]["policy"][0]["probability"] = "self.nerve"
    assert only_problem(document) == (
        "actors.a.policy.0.probability",
        "'self.nerve' is 2; a probability must be in [0, 1]",
    )


def test_effect_probability_from_a_parameter_outside_zero_one() -> None:
    document = scenario_with(parameters={"chance": {"value": 0.5}, "often": {"value": 3}})
    document["actions"]["attack"]["effects"] = [
        {"add": "tension", "value": 0.1, "probability": "often"}
    ]
    assert only_problem(document) == (
        "actions.attack.effects.0.probability",
        "'often' is 3; a probability must be in [0, 1]",
    )


def test_duplicate_outcome_ids() -> None:
    document = scenario_with(
        outcomes=[
            {"id": "war", "when": "max_rung >= 1"},
            {"id": "calm", "when": "true"},
            {"id": "war", "when": "true"},
        ]
    )
    assert only_problem(document) == ("outcomes.2.id", "outcome id 'war' is used twice")


def test_the_outcome_of_unmatched_runs_is_a_reserved_id() -> None:
    document = scenario_with(
        outcomes=[{"id": "war", "when": "max_rung >= 1"}, {"id": "unclassified", "when": "true"}]
    )
    assert only_problem(document) == (
        "outcomes.1.id",
        "the outcome id 'unclassified' is reserved for the runs no outcome matches; choose another",
    )


def test_the_reserved_outcome_is_the_engines() -> None:
    assert check.UNCLASSIFIED == record.UNCLASSIFIED


def test_claims_given_twice() -> None:
    document = scenario_with(perception={"claims": [{"actor": "a"}, {"actor": "a"}]})
    assert only_problem(document) == ("perception.claims.1.actor", "claims for 'a' are given twice")


# -- everything at once -------------------------------------------------------------


def test_all_problems_are_reported_at_once() -> None:
    document = scenario_with(
        parameters={"chance": {"value": 1.5}, "b": {"value": 1}},
        outcomes=[{"id": "x", "when": "true"}, {"id": "x", "when": "rnug > 0"}],
    )
    rule = document["actors"]["a"]["policy"][0]
    rule.update(do="atack", when="cuont(attack) > 0")
    document["actions"]["parley"]["rung"] = 4
    found = problems(document)
    assert set(found) == {
        "parameters.b",
        "actors.a.policy.0.do",
        "actors.a.policy.0.when",
        "actors.a.policy.0.probability",
        "actions.parley.rung",
        "outcomes.1.id",
        "outcomes.1.when",
    }


def test_loader_reports_every_problem_with_its_line() -> None:
    text = """\
name: check
ladder: [{rung: 0, name: calm}, {rung: 1, name: raid}]
actors:
  a:
    name: A
    kind: state
    policy:
      - {id: hit, when: "cuont(attack) > 0", do: atack, target: bb}
  b: {name: B, kind: state}
actions:
  attack: {rung: 3, hostile: true}
outcomes:
  - {id: x, when: "true"}
  - {id: x, when: "true"}
"""
    with pytest.raises(ScenarioError) as excinfo:
        load_scenario_text(text, name="check.yaml")
    found = {(problem.line, problem.path): problem.message for problem in excinfo.value.problems}
    assert set(found) == {
        (8, "actors.a.policy[0].when"),
        (8, "actors.a.policy[0].do"),
        (8, "actors.a.policy[0].target"),
        (11, "actions.attack.rung"),
        (14, "outcomes[1].id"),
    }
    assert all(problem.file == "check.yaml" for problem in excinfo.value.problems)
    message = str(excinfo.value)
    assert re.search(
        r"check\.yaml:8:\d+: actors\.a\.policy\[0\]\.do: unknown action 'atack'", message
    )
    assert "did you mean 'count'?" in message


def test_perception_numbers_may_name_parameters() -> None:
    document = scenario_with(
        parameters={"chance": {"value": 0.5}, "seen": {"value": 0.9}, "boast": {"value": 3}},
        perception={
            "detection": [{"observer": "b", "actor": "a", "probability": "seen"}],
            "claims": [{"actor": "a", "enemy_inflation_median": "boast"}],
        },
    )
    assert problems(document) == {}


def test_perception_parameter_unknown_or_out_of_range() -> None:
    document = scenario_with(
        parameters={"chance": {"value": 0.5}, "boast": {"value": 3}},
        perception={
            "detection": [{"observer": "b", "actor": "a", "probability": "chanse"}],
            "claims": [{"actor": "a", "own_admitted_share": "boast"}],
        },
    )
    assert problems(document) == {
        "perception.detection.0.probability": (
            "'chanse' is not a number or a parameter; did you mean 'chance'?"
        ),
        "perception.claims.0.own_admitted_share": (
            "parameter 'boast' is 3; this field needs [0, 1]"
        ),
    }


def test_misattribution_shares_from_parameters_are_summed() -> None:
    document = scenario_with(
        parameters={"chance": {"value": 0.5}, "often": {"value": 0.8}},
        perception={
            "misattribution": [
                {"observer": "b", "actual": "a", "perceived": "c", "probability": "often"},
                {"observer": "b", "actual": "a", "perceived": "b", "probability": "chance"},
            ]
        },
    )
    path, message = only_problem(document)
    assert path == "perception.misattribution.1.probability"
    assert "add up to 1.3 for 'attack', more than 1" in message


# -- literals the samplers must draw from -----------------------------------------------


def test_sampler_limits_are_the_samplers_own() -> None:
    limits = sampler_limits()
    rng.poisson_parameters(limits["poisson"], 1)
    rng.negative_binomial_parameters(limits["negative_binomial"], 1.0, 1)
    with pytest.raises(ValueError, match="lam must lie in"):
        rng.poisson_parameters(math.nextafter(limits["poisson"], math.inf), 1)
    with pytest.raises(ValueError, match="mean must lie in"):
        rng.negative_binomial_parameters(math.nextafter(limits["negative_binomial"], 2e15), 1.0, 1)
    assert 9.2e18 < limits["poisson"] < 9.23e18


@pytest.mark.parametrize(
    ("casualties", "message"),
    [
        (
            {"distribution": "poisson", "mean": 1e300},
            "must be at most 9.22337e+18, the largest mean the Poisson sampler takes, got 1e+300",
        ),
        (
            {"distribution": "negative_binomial", "mean": 1e16, "dispersion": 1},
            "must be at most 1e+15, the largest mean the negative binomial sampler takes, "
            "got 1e+16",
        ),
    ],
)
def test_a_casualty_mean_beyond_its_sampler_is_refused(
    casualties: dict[str, Any], message: str
) -> None:
    document = scenario_with()
    document["actions"]["attack"]["casualties"] = {"target": casualties}
    assert only_problem(document) == ("actions.attack.casualties.target.mean", message)


@pytest.mark.parametrize(
    "casualties",
    [
        {"distribution": "fixed", "mean": 1e300},  # given as it is, never drawn
        {"distribution": "poisson", "mean": 9.2e18},
        {"distribution": "negative_binomial", "mean": 1e15, "dispersion": 1},
        {"distribution": "poisson", "mean": "chance * 1e300"},  # checked as the run draws
    ],
)
def test_casualty_means_the_engine_takes_pass(casualties: dict[str, Any]) -> None:
    document = scenario_with()
    document["actions"]["attack"]["casualties"] = {"target": casualties}
    assert problems(document) == {}


def test_tempo_rates_beyond_the_poisson_sampler_are_refused() -> None:
    document = scenario_with()
    document["actors"]["b"]["tempo"] = [
        {
            "action": "attack",
            "target": "a",
            "base_rate": 1e300,
            "initial_excitation": 1e300,
            "excited_by": [{"action": "parley", "jump": 1e300}, {"action": "attack", "jump": 1}],
        }
    ]
    found = problems(document)
    assert set(found) == {
        "actors.b.tempo.0.base_rate",
        "actors.b.tempo.0.initial_excitation",
        "actors.b.tempo.0.excited_by.0.jump",
    }
    assert found["actors.b.tempo.0.base_rate"] == (
        "must be at most 9.22337e+18, the largest rate the Poisson sampler draws a tempo's "
        "daily count from, got 1e+300"
    )


def test_inflation_sigma_from_a_parameter_is_bounded() -> None:
    document = scenario_with(
        parameters={"chance": {"value": 0.5}, "spread": {"value": 11}},
        perception={"claims": [{"actor": "a", "enemy_inflation_sigma": "spread"}]},
    )
    assert only_problem(document) == (
        "perception.claims.0.enemy_inflation_sigma",
        "parameter 'spread' is 11; this field needs [0, 10]",
    )
