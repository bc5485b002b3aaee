from .errors import (
    Problem as Problem,
)
from .errors import (
    ScenarioError as ScenarioError,
)
from .loader import (
    load_scenario as load_scenario,
)
from .loader import (
    load_scenario_text as load_scenario_text,
)
from .loader import (
    scenario_json_schema as scenario_json_schema,
)
from .schema import (
    Scenario as Scenario,
)

__all__ = [
    "Problem",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "load_scenario_text",
    "scenario_json_schema",
]
