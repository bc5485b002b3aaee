"""The ``escalation sweep`` verb: a report when it works, a clear message when it cannot."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from escalation.cli import main
from escalation.experiments.sweep_folder import read_sweep

Write = Callable[[str, str], Path]


def test_a_grid_from_the_command_line(
    tmp_path: Path,
    duel_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["sweep", "duel.yaml", "--vary", "attack_chance=0.1:0.5:3", "--vary", "a.resolve=1,4"]
    assert main([*args, "--runs", "20", "--days", "15", "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "6 points (grid) x 20 runs x 15 days, seed 1" in printed  # the scenario's seed
    assert "war " in printed
    folders = list((tmp_path / "results").iterdir())
    assert len(folders) == 1
    assert folders[0].name.startswith("duel-sweep-")
    results = read_sweep(folders[0])
    assert results.points["attack_chance"].tolist() == pytest.approx([0.1, 0.1, 0.3, 0.3, 0.5, 0.5])
    assert results.points["a.resolve"].tolist() == [1, 4, 1, 4, 1, 4]
    assert results.manifest["horizon_days"] == 15
    assert results.manifest["command"][:3] == ["escalation", "sweep", "duel.yaml"]

    # The same command finds the same folder: nothing to run again.
    assert main([*args, "--runs", "20", "--days", "15", "--workers", "1"]) == 0
    assert "Already complete: nothing to run." in capsys.readouterr().out
    # Another experiment gets another default folder.
    assert main([*args, "--runs", "10", "--days", "15", "--workers", "1"]) == 0
    assert len(list((tmp_path / "results").iterdir())) == 2


def test_an_experiment_file_from_the_command_line(
    tmp_path: Path, duel_file: Path, write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        "study.yaml",
        """\
        name: study
        scenario: duel.yaml
        factors:
          attack_chance: {low: 0.1, high: 0.6}
          inert: {low: 0, high: 10}
        design: {kind: morris, trajectories: 3}
        runs: 15
        seed: 8
        """,
    )
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1", "--runs", "12"]) == 0
    assert "9 points (morris) x 12 runs x 30 days, seed 8" in capsys.readouterr().out
    results = read_sweep(out)
    assert results.manifest["experiment"]["name"] == "study"
    assert results.manifest["runs_per_point"] == 12
    assert str(path) in results.manifest["inputs"]
    assert main(["analyze", str(out)]) == 0
    assert "Morris elementary effects on share_war" in capsys.readouterr().out


def test_failed_points_are_listed(
    tmp_path: Path, duel_file: Path, write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    write("points.csv", "answer_chance\n0.1\n0.9\n")
    args = ["sweep", str(duel_file), "--table", str(tmp_path / "points.csv"), "--runs", "10"]
    assert main([*args, "--out", str(tmp_path / "some"), "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "1 point failed (recorded in summary.parquet):" in printed
    assert (
        "point 1 (answer_chance=0.9): ModelError: actors.b.policy[0].probability: a probability"
        in printed
    )
    write("points.csv", "answer_chance\n0.8\n0.9\n")
    assert main([*args, "--out", str(tmp_path / "all"), "--workers", "1"]) == 2
    assert "2 points failed" in capsys.readouterr().out
    assert read_sweep(tmp_path / "all").summary["failed"].all()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--vary", "atack_chance=0:1:3"],
            "'atack_chance' names no parameter of scenario 'duel'; did you mean 'attack_chance'?",
        ),
        (["--vary", "attack_chance=0.5:0.5:2"], "the range 0.5:0.5 is empty"),
        (["--vary", "attack_chance=0:2:3"], "2 is outside the parameter's domain [0, 1]"),
        (["--vary", "inert=0:10"], "--vary inert is a range without levels"),
        (
            ["--vary", "inert=0:10", "--design", "sobol", "--samples", "1000"],
            "--samples: Sobol sampling needs a power of two for the base sample size, got 1000; "
            "the nearest are 512 and 1024",
        ),
        (
            ["--vary", "inert=0:10", "--design", "lhs", "--samples", "16"],
            "--samples: 'samples' does not apply to the lhs design",
        ),
        (["--vary", "inert=0:10", "--design", "lhs"], "--points: the lhs design needs 'points'"),
        (
            ["--vary", "inert=1,2", "--scheduler", "tcp://127.0.0.1:1", "--executor", "local"],
            "--scheduler needs --executor dask",
        ),
        ([], "say what to vary"),
        (["--vary", "inert"], "expected NAME=LOW:HIGH"),
        (["--vary", "inert=1:2:3:4"], "expected LOW:HIGH, LOW:HIGH:LEVELS or V1,V2,..."),
        (
            ["--vary", "inert=1", "--vary", "inert=0:10:3"],
            "--vary inert: given more than once",
        ),
        (
            ["--vary", "inert=1,2", "--scheduler", "nonsense", "--workers", "1"],
            "cannot reach the Dask scheduler at nonsense",
        ),
        (
            ["--vary", "inert=0:10", "--design", "morris", "--trajectories", "1"],
            "<command line>: --trajectories: must be >= 2, got 1",
        ),
        (
            ["--vary", "inert=0:10", "--design", "morris", "--trajectories", "2", "--levels", "1"],
            "<command line>: --levels: must be >= 2, got 1",
        ),
        (
            ["--vary", "inert=0:10:100000000000"],
            "--vary inert: inert: 100,000,000,000 grid levels; a factor may have at most "
            "10,000,000",
        ),
        (
            ["--vary", "inert=0:10:100000000000", "--design", "lhs", "--points", "4"],
            "--vary inert: inert: 100,000,000,000 grid levels",
        ),
        (
            ["--vary", "inert=0:10:10000", "--vary", "attack_chance=0:1:10000"],
            "--vary: the grid design would have 100,000,000 points (10,000 inert x 10,000 "
            "attack_chance); a design may have at most 10,000,000 points",
        ),
        (
            ["--vary", "inert=0:10", "--design", "lhs", "--points", "100000000000"],
            "--points: the lhs design would have 100,000,000,000 points; a design may have at "
            "most 10,000,000 points",
        ),
        (
            ["--vary", "inert=0:10", "--design", "sobol", "--samples", str(2**34)],
            "--samples: the sobol design would have 51,539,607,552 points",
        ),
        (
            ["--vary", "inert=0:10", "--design", "morris", "--trajectories", "100000000000"],
            "--trajectories: the morris design would have 200,000,000,000 points",
        ),
        (
            ["--vary", "inert=1,2", "--runs", "100000000"],
            "--runs: 100,000,000 runs per point; a sweep runs at most 10,000,000 per point",
        ),
        (
            ["--vary", "inert=0:10", "--design", "lhs", "--points", "10000000", "--runs", "1001"],
            "--runs: 10,000,000 points x 1,001 runs per point = 10,010,000,000 runs in all",
        ),
        (
            ["--vary", "inert=1,2", "--days", "99999"],
            "argument --days: expected at most 36500 days (a hundred years), got 99999",
        ),
    ],
)
def test_bad_sweeps_are_refused_with_a_message(
    duel_file: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert main(["sweep", str(duel_file), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "scenario: duel.yaml\nfactors:\n  inert: {values: [1, 2]\ndesign: grid\n",
            "study.yaml:4:1: expected ',' or '}'",
        ),
        (
            "scenario: duel.yaml\nscenario: duel.yaml\nfactors: {inert: {values: [1]}}\n"
            "design: grid\n",
            "study.yaml:2:1: scenario: duplicate key 'scenario': first at line 1, again at line 2",
        ),
        (
            "scenario: 5\nfactors: {inert: {values: [1]}}\ndesign: grid\n",
            "study.yaml:1:1: scenario: expected a string, got 5",
        ),
    ],
)
def test_an_experiment_file_that_does_not_read_says_why(
    duel_file: Path, write: Write, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    path = write("study.yaml", text)
    assert main(["sweep", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "say what to vary" not in err
    assert "Traceback" not in err


def test_an_experiment_file_takes_no_factor_flags(
    duel_file: Path, write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        "study.yaml", "scenario: duel.yaml\ndesign: grid\nfactors: {inert: {values: [1]}}\n"
    )
    assert main(["sweep", str(path), "--vary", "inert=1,2"]) == 2
    assert "is an experiment file" in capsys.readouterr().err
    assert main(["sweep", str(duel_file.parent / "missing.yaml")]) == 2
    assert "missing.yaml: no such file" in capsys.readouterr().err


def test_a_finished_sweep_folder_reads_back_as_tables(tmp_path: Path, duel_file: Path) -> None:
    out = tmp_path / "s"
    assert (
        main(
            [
                "sweep",
                str(duel_file),
                "--vary",
                "inert=1,2",
                "--runs",
                "5",
                "--out",
                str(out),
                "--workers",
                "1",
            ]
        )
        == 0
    )
    runs = pd.read_parquet(out / "runs.parquet")
    assert runs["outcome"].dtype == "category"
    assert list(runs["outcome"].cat.categories) == ["war", "calm", "unclassified"]
    assert pd.read_parquet(out / "summary.parquet")["error"].isna().all()
