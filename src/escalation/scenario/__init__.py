"""The scenario language: YAML text -> validated, frozen, typed :class:`Scenario`."""

from escalation.scenario.errors import Problem, ScenarioError
from escalation.scenario.loader import load_scenario, load_scenario_text, scenario_json_schema
from escalation.scenario.schema import Scenario

__all__ = [
    "Problem",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "load_scenario_text",
    "scenario_json_schema",
]
