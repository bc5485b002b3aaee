from .analysis import (
    plot_discovery_box as plot_discovery_box,
)
from .analysis import (
    plot_sensitivity as plot_sensitivity,
)
from .casualties import (
    plot_casualties as plot_casualties,
)
from .cycles import (
    plot_cycle_lengths as plot_cycle_lengths,
)
from .cycles import (
    plot_cycle_starts as plot_cycle_starts,
)
from .outcomes import (
    plot_outcome_shares as plot_outcome_shares,
)
from .survival import (
    plot_time_to_truce as plot_time_to_truce,
)
from .survival import (
    plot_truce_duration as plot_truce_duration,
)
from .sweeps import (
    plot_share_heatmap as plot_share_heatmap,
)
from .sweeps import (
    plot_share_vs_parameter as plot_share_vs_parameter,
)
from .timeline import (
    plot_run_timeline as plot_run_timeline,
)
from .timeline import (
    plot_rung_over_time as plot_rung_over_time,
)

__all__ = [
    "plot_casualties",
    "plot_cycle_lengths",
    "plot_cycle_starts",
    "plot_discovery_box",
    "plot_outcome_shares",
    "plot_run_timeline",
    "plot_rung_over_time",
    "plot_sensitivity",
    "plot_share_heatmap",
    "plot_share_vs_parameter",
    "plot_time_to_truce",
    "plot_truce_duration",
]
