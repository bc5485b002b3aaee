from .experiments.replicates import (
    SimulationResults as SimulationResults,
)
from .experiments.replicates import (
    run_scenario as run_scenario,
)
from .model.engine import (
    EscalationModel as EscalationModel,
)
from .model.engine import (
    ModelError as ModelError,
)
from .replay import (
    replay_run as replay_run,
)
from .scenario.errors import (
    Problem as Problem,
)
from .scenario.errors import (
    ScenarioError as ScenarioError,
)
from .scenario.loader import (
    load_scenario as load_scenario,
)
from .scenario.loader import (
    load_scenario_text as load_scenario_text,
)
from .scenario.schema import (
    Scenario as Scenario,
)
from .store import (
    read_results as read_results,
)
from .store import (
    write_results as write_results,
)

__version__: str

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
