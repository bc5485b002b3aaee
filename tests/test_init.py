"""The package's exports load on first use, and the command line starts light."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

import escalation

REFERENCE = Path(__file__).parents[1] / "scenarios" / "pakistan_afghanistan_2025.yaml"
HEAVY = ("mesa", "numba", "scipy", "matplotlib", "pyarrow", "dask", "SALib")
"""Libraries that take a large share of a command's start-up."""


@pytest.mark.parametrize(
    "package",
    ["escalation", "escalation.scenario", "escalation.validation", "escalation.plots"],
)
def test_every_export_of_a_lazy_package_resolves(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__all__
    for name in module.__all__:
        # Not the submodule of the same name (``escalation.validation.calibrate``),
        # which importing that submodule binds on the package.
        assert not isinstance(getattr(module, name), types.ModuleType), name
    assert set(module.__all__) <= set(dir(module))


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="run_scenarios"):
        escalation.run_scenarios  # noqa: B018 - the attribute access is the test


def test_the_version_is_exported() -> None:
    assert "__version__" in escalation.__all__
    assert escalation.__version__.count(".") >= 2


def _loaded_after(code: str) -> dict[str, bool]:
    """Which of the heavy libraries a fresh interpreter has imported after ``code``."""
    probe = (
        f"{code}\nimport json, sys\nprint(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))"
    )
    output = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    loaded: dict[str, bool] = json.loads(output.splitlines()[-1])
    return loaded


def test_building_the_command_line_imports_no_heavy_library() -> None:
    loaded = _loaded_after("import escalation.cli\nescalation.cli.build_parser()")
    assert not any(loaded.values()), loaded


def test_validating_a_scenario_loads_neither_mesa_nor_the_plotting_and_storage_libraries() -> None:
    code = (
        "import contextlib, io, escalation.cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert escalation.cli.main(['validate', {str(REFERENCE)!r}]) == 0"
    )
    loaded = _loaded_after(code)
    for name in ("mesa", "matplotlib", "pyarrow", "dask", "SALib"):
        assert not loaded[name], name


def test_reading_results_for_a_figure_loads_neither_mesa_nor_numba(
    tiny_crisis: escalation.Scenario, tmp_path: Path
) -> None:
    out = tmp_path / "results"
    escalation.write_results(escalation.run_scenario(tiny_crisis, runs=20, seed=1), out)
    code = (
        "import escalation.plots.gallery\n"
        "from escalation.store import read_results\n"
        f"read_results({str(out)!r})"
    )
    loaded = _loaded_after(code)
    for name in ("mesa", "numba"):
        assert not loaded[name], name
