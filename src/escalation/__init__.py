"""escalation: agent-based Monte Carlo simulation of escalation scenarios.

Doctrine is written as YAML policies; one Mesa model advances a block of
independent runs as arrays, and the results are tables of outcomes.

>>> from escalation import load_scenario, run_scenario
>>> scenario = load_scenario("scenarios/pakistan_afghanistan_2025.yaml")  # doctest: +SKIP
>>> results = run_scenario(scenario, runs=1000, seed=1)  # doctest: +SKIP
>>> results.outcome_shares()  # doctest: +SKIP
"""

from importlib.metadata import PackageNotFoundError, version

import lazy_loader

try:
    __version__ = version("escalation")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

# What the package exports is listed, and typed, in __init__.pyi; it is imported on
# first use, so that a command that needs little (``escalation validate``) starts
# without loading the engine, Mesa and the compiled kernels.
__getattr__, _lazy_dir, __all__ = lazy_loader.attach_stub(__name__, __file__)
__all__ = [*__all__, "__version__"]


def __dir__() -> list[str]:
    return list(__all__)
