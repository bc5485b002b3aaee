"""The ``escalation`` command, called in-process through ``main(argv)``.

Bad input must give exit code 2 and a message naming what was expected, never a
traceback; nothing the user already has may be touched.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from escalation import __version__, read_results
from escalation.cli import main
from escalation.store import file_sha256, read_manifest

REPOSITORY = Path(__file__).resolve().parents[1]
FAST = ["--runs", "12", "--seed", "1", "--workers", "1"]


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_bad_input(code: int, err: str, *expected: str) -> None:
    assert code == 2
    assert "Traceback" not in err
    for text in expected:
        assert text in err, err


# -- run -----------------------------------------------------------------------------


def test_run_prints_the_summary_and_writes_the_folder(
    capsys: pytest.CaptureFixture[str], tiny_crisis_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "results"
    code, stdout, err = run_cli(capsys, "run", str(tiny_crisis_file), *FAST, "--out", str(out))
    assert code == 0, err
    assert "tiny_crisis: A two-sided crisis in miniature" in stdout
    assert "12 runs x 60 days, seed 1" in stdout
    assert "Outcome" in stdout
    assert "Retaliation cycles" in stdout
    assert f"Results written to {out}/" in stdout
    results = read_results(out)
    assert len(results.runs) == 12
    assert results.seed == 1
    manifest = read_manifest(out)
    assert manifest["command"] == [
        "escalation",
        "run",
        str(tiny_crisis_file),
        *FAST,
        "--out",
        str(out),
    ]
    assert list(manifest["inputs"]) == [str(tiny_crisis_file)]


class _Terminal:
    """A standard error that says it is a terminal, and keeps what is written to it."""

    def __init__(self) -> None:
        self.text = ""

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass


@pytest.mark.parametrize(
    ("cached", "terminal", "told"),
    [
        (False, True, True),
        (True, True, False),
        (None, True, False),
        (False, False, False),
    ],
)
def test_a_run_that_compiles_the_kernels_says_so_at_a_terminal(
    monkeypatch: pytest.MonkeyPatch, cached: bool | None, terminal: bool, told: bool
) -> None:
    from escalation import cli
    from escalation.model import kernels

    monkeypatch.setattr(kernels, "cached_on_disk", lambda: cached)
    stderr = _Terminal()
    monkeypatch.setattr(stderr, "isatty", lambda: terminal)
    monkeypatch.setattr(sys, "stderr", stderr)
    cli._say_if_compiling()
    assert ("compiling the engine's kernels" in stderr.text) is told


def test_run_with_days_and_set(
    capsys: pytest.CaptureFixture[str], tiny_crisis_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "results"
    code, stdout, err = run_cli(
        capsys,
        "run",
        str(tiny_crisis_file),
        *FAST,
        "--days",
        "20",
        "--set",
        "parameters.raid_rate.value=1.2",
        "--out",
        str(out),
    )
    assert code == 0, err
    results = read_results(out)
    assert results.horizon_days == 20
    assert results.scenario.parameters["raid_rate"].value == 1.2
    assert (results.runs["raid_count"] > 0).all()  # P(no raid in 20 days) < e^-24
    # The replay runs the stored scenario, overrides and horizon included.
    code, stdout, err = run_cli(capsys, "replay", str(out), "--run", "5")
    assert code == 0, err
    assert "The replay matches run 5's row" in stdout


def test_a_warning_from_a_scenario_expression_is_one_line_naming_the_command(
    capsys: pytest.CaptureFixture[str], tiny_crisis_text: str, tmp_path: Path
) -> None:
    # On day 5 the condition divides by zero: NumPy warns, and the rule applies (inf).
    text = tiny_crisis_text.replace(
        'when: "tension >= 0.8 and not talks"', 'when: "1 / (day - 5) > 0 and not talks"'
    )
    scenario = tmp_path / "dividing.yaml"
    scenario.write_text(text, encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        code, _, err = run_cli(capsys, "run", str(scenario), *FAST, "--out", str(tmp_path / "o"))
    assert code == 0
    line = "escalation run: warning: divide by zero encountered in divide"
    assert f"{line} (in an expression of the scenario)" in err
    assert "compiler.py" not in err


def test_run_refuses_an_existing_folder_and_leaves_it_untouched(
    capsys: pytest.CaptureFixture[str], tiny_crisis_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "results"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    code, stdout, err = run_cli(capsys, "run", str(tiny_crisis_file), *FAST, "--out", str(out))
    assert_bad_input(code, err, "already exists", "--force")
    assert stdout == ""
    assert [path.name for path in out.iterdir()] == ["precious.txt"]
    assert (out / "precious.txt").read_text() == "keep me"


def test_run_with_force_replaces_the_folder(
    capsys: pytest.CaptureFixture[str], tiny_crisis_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "results"
    out.mkdir()
    (out / "manifest.json").write_text("{}")  # an earlier results folder
    (out / "stale.txt").write_text("old")
    code, _, err = run_cli(
        capsys, "run", str(tiny_crisis_file), *FAST, "--out", str(out), "--force"
    )
    assert code == 0, err
    assert not (out / "stale.txt").exists()
    assert len(read_results(out).runs) == 12


def test_run_block_size_changes_nothing_but_speed(
    capsys: pytest.CaptureFixture[str], tiny_crisis_file: Path, tmp_path: Path
) -> None:
    folders = []
    for size in ("12", "5"):
        out = tmp_path / f"blocks-{size}"
        code, _, err = run_cli(
            capsys, "run", str(tiny_crisis_file), *FAST, "--out", str(out), "--block-size", size
        )
        assert code == 0, err
        folders.append(read_results(out).runs)
    pd.testing.assert_frame_equal(folders[0], folders[1])


@pytest.mark.parametrize("change", ["edit", "delete"])
def test_run_records_the_scenario_as_it_was_read(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tiny_crisis_file: Path,
    tmp_path: Path,
    change: str,
) -> None:
    from escalation.experiments import replicates

    original_hash = file_sha256(tiny_crisis_file)
    simulate = replicates.run_scenario

    def simulate_then_change_the_file(*args: Any, **kwargs: Any) -> Any:
        results = simulate(*args, **kwargs)
        if change == "edit":
            tiny_crisis_file.write_text(tiny_crisis_file.read_text() + "# edited\n")
        else:
            tiny_crisis_file.unlink()
        return results

    monkeypatch.setattr(replicates, "run_scenario", simulate_then_change_the_file)
    out = tmp_path / "results"
    code, _, err = run_cli(capsys, "run", str(tiny_crisis_file), *FAST, "--out", str(out))
    assert code == 0, err
    assert read_manifest(out)["inputs"] == {str(tiny_crisis_file): original_hash}


def test_missing_scenario_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    code, _, err = run_cli(capsys, "run", str(missing), *FAST, "--out", str(tmp_path / "o"))
    assert_bad_input(code, err, str(missing), "cannot read the file")
    assert not (tmp_path / "o").exists()


def test_malformed_yaml(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nladder: [unclosed\n")
    code, _, err = run_cli(capsys, "run", str(broken), *FAST, "--out", str(tmp_path / "o"))
    assert_bad_input(code, err, f"{broken}:")
    assert not (tmp_path / "o").exists()


def test_unknown_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_crisis_text: str
) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text(tiny_crisis_text.replace("horizon_days:", "horizon_dyas:"))
    code, _, err = run_cli(capsys, "run", str(path), *FAST, "--out", str(tmp_path / "o"))
    assert_bad_input(code, err, f"{path}:3:1:", "horizon_dyas", "horizon_days")


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--runs", "0"], "argument --runs: expected a whole number >= 1, got 0"),
        (["--runs", "abc"], "argument --runs: expected a whole number, got 'abc'"),
        (["--seed", "-1"], "argument --seed: expected a whole number >= 0, got -1"),
        (["--days", "0"], "argument --days: expected a whole number >= 1, got 0"),
        (["--workers", "two"], "argument --workers: expected a whole number, got 'two'"),
        (["--block-size", "0"], "argument --block-size: expected a whole number >= 1, got 0"),
        (["--frobnicate"], "unrecognized arguments: --frobnicate"),
    ],
)
def test_bad_arguments(
    capsys: pytest.CaptureFixture[str],
    tiny_crisis_file: Path,
    tmp_path: Path,
    arguments: list[str],
    expected: str,
) -> None:
    out = tmp_path / "o"
    code, _, err = run_cli(capsys, "run", str(tiny_crisis_file), *arguments, "--out", str(out))
    assert_bad_input(code, err, expected)
    assert not out.exists()


@pytest.mark.parametrize("days", ["36501", "70000"])
def test_days_beyond_the_schemas_horizon_is_refused_before_any_run(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tiny_crisis_file: Path,
    tmp_path: Path,
    days: str,
) -> None:
    from escalation.experiments import replicates

    def no_simulation(*args: object, **kwargs: object) -> None:
        raise AssertionError("a horizon out of range was simulated")

    monkeypatch.setattr(replicates, "run_scenario", no_simulation)
    out = tmp_path / "o"
    code, _, err = run_cli(
        capsys, "run", str(tiny_crisis_file), *FAST, "--days", days, "--out", str(out)
    )
    assert_bad_input(code, err, "--days", "36500")
    assert not out.exists()


def test_unknown_verb_suggests_the_closest(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "rnu", "x.yaml")
    assert_bad_input(code, err, "invalid choice: 'rnu'", "did you mean 'run'?")


def test_no_verb(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys)
    assert_bad_input(code, err, "required")


def test_set_with_a_bad_path(
    capsys: pytest.CaptureFixture[str], tiny_crisis_file: Path, tmp_path: Path
) -> None:
    code, _, err = run_cli(
        capsys,
        "run",
        str(tiny_crisis_file),
        *FAST,
        "--set",
        "parameters.raid_rat.value=1",
        "--out",
        str(tmp_path / "o"),
    )
    assert_bad_input(code, err, "--set parameters.raid_rat.value=1", "did you mean 'raid_rate'?")
    assert not (tmp_path / "o").exists()


def test_run_time_model_error_is_bad_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_crisis_text: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(tiny_crisis_text.replace("probability: 0.2", "probability: '0.5 + tension'"))
    text = path.read_text()
    line = text[: text.index("'0.5 + tension'")].count("\n") + 1
    code, _, err = run_cli(capsys, "run", str(path), *FAST, "--out", str(tmp_path / "o"))
    assert_bad_input(
        code,
        err,
        f"{path}:{line}:",
        "actors.govt.policy[1].probability: a probability must be in [0, 1]",
        "(during the run)",
    )
    assert not (tmp_path / "o").exists()


def test_a_run_time_error_crosses_from_a_pool_worker_with_its_place() -> None:
    from escalation.errors import ModelError

    error = pickle.loads(pickle.dumps(ModelError("a: bad", ("actors", "a", "policy", 0))))
    assert str(error) == "a: bad"
    assert error.path == ("actors", "a", "policy", 0)


# -- validate, schema ----------------------------------------------------------------


def test_validate_ok(capsys: pytest.CaptureFixture[str], tiny_crisis_file: Path) -> None:
    code, stdout, _ = run_cli(capsys, "validate", str(tiny_crisis_file))
    assert code == 0
    assert stdout.strip() == (
        f"{tiny_crisis_file}: ok (tiny_crisis: 2 actors, 4 actions, 3 rules, 3 outcomes)"
    )


def test_validate_reports_each_bad_file(
    capsys: pytest.CaptureFixture[str],
    tiny_crisis_file: Path,
    tmp_path: Path,
    tiny_crisis_text: str,
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(tiny_crisis_text.replace("do: strike", "do: strik"))
    code, stdout, err = run_cli(capsys, "validate", str(bad), str(tiny_crisis_file))
    assert_bad_input(code, err, f"{bad}:", "unknown action 'strik'; did you mean 'strike'?")
    assert f"{tiny_crisis_file}: ok" in stdout


def test_schema_is_json_describing_scenarios(
    capsys: pytest.CaptureFixture[str], tiny_crisis_text: str
) -> None:
    code, stdout, _ = run_cli(capsys, "schema")
    assert code == 0
    schema = json.loads(stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    top = yaml.safe_load(tiny_crisis_text)
    assert set(top) <= set(schema["properties"])
    # Required fields apply to a file that extends no other.
    assert schema["if"] == {"required": ["extends"]}
    assert set(schema["$defs"]["Scenario"]["required"]) <= set(top)
    assert schema["additionalProperties"] is False  # unknown keys are refused, as by the loader
    assert "extends" in schema["properties"]
    for reference in _references(schema):
        assert reference.startswith("#/$defs/")
        assert reference.removeprefix("#/$defs/") in schema["$defs"], reference


def test_schema_accepts_a_valid_scenario(
    capsys: pytest.CaptureFixture[str], tiny_crisis_text: str
) -> None:
    jsonschema = pytest.importorskip(
        "jsonschema", reason="jsonschema is not a dependency of escalation"
    )
    _, stdout, _ = run_cli(capsys, "schema")
    schema = json.loads(stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(yaml.safe_load(tiny_crisis_text))


def _references(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _references(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _references(value)]
    return []


# -- replay ------------------------------------------------------------------------------


def test_replay_tells_the_story_and_matches(
    capsys: pytest.CaptureFixture[str], tiny_crisis_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "results"
    assert main(["run", str(tiny_crisis_file), *FAST, "--out", str(out)]) == 0
    capsys.readouterr()
    runs = read_results(out).runs
    stored = runs.loc[runs["run"] == 3].iloc[0]
    code, stdout, err = run_cli(capsys, "replay", str(out), "--run", "3")
    assert code == 0, err
    lines = stdout.splitlines()
    assert lines[0] == f"Run 3: outcome {stored['outcome']!s}"
    if float(stored["strike_count"]) > 0:
        assert any("govt -> militants" in line and "strike" in line for line in lines)
    assert f"The replay matches run 3's row in {out}/runs.parquet." in stdout
    code, stdout, err = run_cli(capsys, "replay", f"{out}/", "--run", "3")
    assert code == 0, err
    assert f"The replay matches run 3's row in {out}/runs.parquet." in stdout


def test_replay_of_results_from_another_random_number_scheme_says_so(
    capsys: pytest.CaptureFixture[str],
    tiny_crisis_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Results as version 0.1 made them: negative-binomial casualties drawn as a
    # gamma-Poisson mixture, which the manifest records.
    out = tmp_path / "results"
    monkeypatch.setattr("escalation.model.engine.NEGBIN_METHOD", "gamma-poisson")
    assert main(["run", str(tiny_crisis_file), *FAST, "--out", str(out)]) == 0
    monkeypatch.undo()
    capsys.readouterr()
    assert read_manifest(out)["rng"].endswith("negative binomial by gamma-Poisson mixture")
    runs = read_results(out).runs
    run = int(runs.loc[runs["govt_dead_true"] > 0, "run"].iloc[0])
    code, _, err = run_cli(capsys, "replay", str(out), "--run", str(run))
    assert code == 3
    assert "does NOT match" in err
    assert f"made under another random-number scheme (by escalation {__version__}" in err
    assert "theirs: Philox4x32-10" in err
    assert "gamma-Poisson mixture\n  ours:" in err
    # Under its own scheme the same run replays exactly, and no hint is needed.
    monkeypatch.setattr("escalation.model.engine.NEGBIN_METHOD", "gamma-poisson")
    code, _, err = run_cli(capsys, "replay", str(out), "--run", str(run))
    assert code == 0, err


def test_replay_all_lists_routine_acts(
    capsys: pytest.CaptureFixture[str], tiny_crisis_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "results"
    assert main(["run", str(tiny_crisis_file), *FAST, "--out", str(out)]) == 0
    capsys.readouterr()
    _, summarised, _ = run_cli(capsys, "replay", str(out), "--run", "0")
    _, everything, _ = run_cli(capsys, "replay", str(out), "--run", "0", "--all")
    assert "Routine tempo of acts" in summarised
    assert "Routine tempo of acts" not in everything
    assert "tempo of raid" in everything


def test_replay_of_a_missing_run_or_folder(
    capsys: pytest.CaptureFixture[str], tiny_crisis_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "results"
    assert main(["run", str(tiny_crisis_file), *FAST, "--out", str(out)]) == 0
    capsys.readouterr()
    code, _, err = run_cli(capsys, "replay", str(out), "--run", "99")
    assert_bad_input(code, err, "no run 99; the runs are 0 to 11")
    code, _, err = run_cli(capsys, "replay", str(tmp_path / "nothing"), "--run", "0")
    assert_bad_input(code, err, "not a results folder")


@pytest.mark.parametrize("verb", ["replay", "report", "plot"])
def test_a_folder_of_another_command_or_damaged_is_bad_input(
    capsys: pytest.CaptureFixture[str], tiny_crisis_file: Path, tmp_path: Path, verb: str
) -> None:
    out = tmp_path / "results"
    assert main(["run", str(tiny_crisis_file), *FAST, "--out", str(out)]) == 0
    capsys.readouterr()
    rest = {"replay": ["--run", "0"], "report": [], "plot": ["--kind", "outcomes"]}[verb]
    manifest = read_manifest(out)
    (out / "manifest.json").write_text(json.dumps({**manifest, "kind": "calibration"}))
    code, _, err = run_cli(capsys, verb, str(out), *rest)
    assert_bad_input(code, err, "holds a 'calibration' result")
    (out / "manifest.json").write_text(json.dumps(manifest))
    (out / "runs.parquet").write_bytes(b"not a table")
    code, _, err = run_cli(capsys, verb, str(out), *rest)
    assert_bad_input(code, err, "runs.parquet: damaged, not a readable Parquet table")


# -- the script and the module ------------------------------------------------------------


def _environment() -> dict[str, str]:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(REPOSITORY / "src"), environment.get("PYTHONPATH", "")]
    ).rstrip(os.pathsep)
    return environment


def test_run_sim_script(tiny_crisis_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "results"
    completed = subprocess.run(
        [
            sys.executable,
            "run_sim.py",
            str(tiny_crisis_file),
            "--runs",
            "50",
            "--seed",
            "1",
            "--out",
            str(out),
        ],
        cwd=REPOSITORY,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "50 runs x 60 days, seed 1" in completed.stdout
    assert len(read_results(out).runs) == 50


def test_python_m_escalation_version() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "escalation", "--version"],
        cwd=REPOSITORY,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == f"escalation {__version__}"


def test_version_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = run_cli(capsys, "--version")
    assert code == 0
    assert stdout.strip() == f"escalation {__version__}"


def test_an_output_that_cannot_be_written_is_refused_before_any_work(
    capsys: pytest.CaptureFixture[str], tiny_crisis_file: Path, tmp_path: Path
) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    documents = tmp_path / "documents"
    documents.mkdir()
    (documents / "thesis.txt").write_text("years of work")
    for out, expected in (
        (a_file / "results", "is a file, not a folder"),
        (documents, "is not a results folder (no manifest.json), so --force does not replace"),
    ):
        code, stdout, err = run_cli(
            capsys, "run", str(tiny_crisis_file), *FAST, "--out", str(out), "--force"
        )
        assert_bad_input(code, err, expected)
        assert "runs x" not in stdout  # refused before the simulation
    assert (documents / "thesis.txt").read_text() == "years of work"
