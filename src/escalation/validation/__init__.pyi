from .calibrate import (
    Calibration as Calibration,
)
from .calibrate import (
    calibrate as calibrate,
)
from .check import (
    CheckResult as CheckResult,
)
from .check import (
    check_scenario as check_scenario,
)
from .statistics import (
    STATISTICS as STATISTICS,
)
from .statistics import (
    Sample as Sample,
)
from .targets import (
    Target as Target,
)
from .targets import (
    Targets as Targets,
)
from .targets import (
    TargetsError as TargetsError,
)
from .targets import (
    load_targets as load_targets,
)

__all__ = [
    "STATISTICS",
    "Calibration",
    "CheckResult",
    "Sample",
    "Target",
    "Targets",
    "TargetsError",
    "calibrate",
    "check_scenario",
    "load_targets",
]
