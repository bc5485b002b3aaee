"""escalation: agent-based Monte Carlo simulation of escalation scenarios.

Doctrine is written as YAML policies; one Mesa model advances a block of
independent runs as arrays, and the results are tables of outcomes.

>>> from escalation import load_scenario, run_scenario
>>> scenario = load_scenario("scenarios/pakistan_afghanistan_2025.yaml")  # doctest: +SKIP
>>> results = run_scenario(scenario, runs=1000, seed=1)  # doctest: +SKIP
>>> results.outcome_shares()  # doctest: +SKIP
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("escalation")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

from escalation.experiments.replicates import SimulationResults, run_scenario
from escalation.model.engine import EscalationModel, ModelError
from escalation.replay import replay_run
from escalation.scenario.errors import Problem, ScenarioError
from escalation.scenario.loader import load_scenario, load_scenario_text
from escalation.scenario.schema import Scenario
from escalation.store import read_results, write_results

__all__ = [
    "EscalationModel",
    "ModelError",
    "Problem",
    "Scenario",
    "ScenarioError",
    "SimulationResults",
    "__version__",
    "load_scenario",
    "load_scenario_text",
    "read_results",
    "replay_run",
    "run_scenario",
    "write_results",
]
