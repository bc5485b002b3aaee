"""The verbs ``escalation check`` and ``escalation calibrate``, called in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from escalation.cli import main
from escalation.scenario import load_scenario


def check(crisis: Path, targets: Path, out: Path, *extra: str) -> int:
    return main(
        [
            "check",
            str(crisis),
            "--targets",
            str(targets),
            "--seed",
            "5",
            "--workers",
            "1",
            "--out",
            str(out),
            *extra,
        ]
    )


def test_check_passes_and_writes_its_folder(
    crisis_file: Path, targets_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "check"
    assert check(crisis_file, targets_file, out) == 0
    printed = capsys.readouterr().out
    assert "3 of 3 targets pass." in printed
    assert sorted(p.name for p in out.iterdir()) == [
        "check.parquet",
        "check.png",
        "check.txt",
        "manifest.json",
    ]
    table = pd.read_parquet(out / "check.parquet")
    assert table["passed"].all()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["kind"] == "check"
    assert manifest["seed"] == "5"
    assert manifest["passed"] is True
    assert {Path(p).name for p in manifest["inputs"]} == {"crisis.yaml", "targets.yaml"}
    assert (out / "check.png").read_bytes()[:4] == b"\x89PNG"


def test_check_exits_3_when_a_target_fails(
    crisis_file: Path, targets_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = check(crisis_file, targets_file, tmp_path / "out", "--set", "parameters.base.value=2")
    assert code == 3
    assert "2 of 3 targets pass." in capsys.readouterr().out


def test_check_never_overwrites_silently(
    crisis_file: Path, targets_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "check"
    out.mkdir()
    (out / "mine.txt").write_text("keep me", encoding="utf-8")
    assert check(crisis_file, targets_file, out) == 2
    assert "already exists" in capsys.readouterr().err
    assert (out / "mine.txt").read_text(encoding="utf-8") == "keep me"
    assert check(crisis_file, targets_file, out, "--force") == 2  # not a results folder
    assert "is not a results folder" in capsys.readouterr().err
    assert (out / "mine.txt").read_text(encoding="utf-8") == "keep me"
    assert check(crisis_file, targets_file, out / "new") == 0
    assert check(crisis_file, targets_file, out / "new", "--force") == 0  # results replace results


def test_a_bad_targets_file_is_exit_2_with_its_line(
    crisis_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    targets = tmp_path / "bad.yaml"
    targets.write_text(
        "name: bad\ntargets:\n  - id: x\n    statistic: cycle_lenght\n    observed: 3\n"
        "    source: test\n",
        encoding="utf-8",
    )
    assert check(crisis_file, targets, tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert "bad.yaml:4" in err
    assert "did you mean 'cycle_length'" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def calibrate(crisis: Path, targets: Path, out: Path, *extra: str) -> int:
    return main(
        [
            "calibrate",
            str(crisis),
            "--targets",
            str(targets),
            "--vary",
            "base=0.2:1.5",
            "--particles",
            "6",
            "--generations",
            "2",
            "--runs",
            "8",
            "--seed",
            "2",
            "--workers",
            "1",
            "--out",
            str(out),
            *extra,
        ]
    )


def test_calibrate_writes_particles_figure_and_scenario(
    crisis_file: Path, targets_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "calibration"
    written = tmp_path / "calibrated.yaml"
    assert calibrate(crisis_file, targets_file, out, "--write-scenario", str(written)) == 0
    printed = capsys.readouterr().out
    assert "parameter" in printed
    assert "base" in printed
    assert "Share of accepted particles whose runs meet each target" in printed
    assert {p.name for p in out.iterdir()} == {
        "particles.parquet",
        "history.parquet",
        "generations.parquet",
        "posterior.parquet",
        "calibration.txt",
        "posterior.png",
        "manifest.json",
    }
    particles = pd.read_parquet(out / "particles.parquet")
    assert len(particles) == 6
    assert particles["base"].between(0.2, 1.5).all()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["kind"] == "calibration"
    assert manifest["priors"] == {"base": [0.2, 1.5]}
    scenario = load_scenario(written)
    assert scenario.name == "crisis_calibrated"
    posterior = pd.read_parquet(out / "posterior.parquet").set_index("parameter")
    assert scenario.parameters["base"].value == pytest.approx(posterior.loc["base", "median"])
    assert "extends: crisis.yaml" in written.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--vary", "bse=0:1"], "did you mean 'base'"),
        (["--vary", "base=0.1,0.2"], "a calibration draws from a range"),
        (["--vary", "base=0:100"], "outside the parameter's domain"),
        (["--vary", "base=0.2:1"], "names a parameter twice"),
        (["--particles", "1"], "--particles: a population needs 2 particles or more"),
        (
            ["--set", "parameters.base.value=1", "--write-scenario", "x.yaml"],
            "cannot carry --set overrides",
        ),
    ],
)
def test_calibrate_bad_input_is_exit_2(
    crisis_file: Path,
    targets_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    out = tmp_path / "calibration"
    assert calibrate(crisis_file, targets_file, out, *extra) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("days", ["99999", "0"])
def test_a_horizon_out_of_range_is_refused_naming_days(
    crisis_file: Path,
    targets_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    days: str,
) -> None:
    expected = {
        "99999": "argument --days: expected at most 36500 days (a hundred years), got 99999",
        "0": "argument --days: expected a whole number >= 1, got 0",
    }[days]
    for verb in (check, calibrate):
        out = tmp_path / verb.__name__
        assert verb(crisis_file, targets_file, out, "--days", days) == 2
        err = capsys.readouterr().err
        assert expected in err
        assert "Traceback" not in err
        assert not out.exists()


def test_a_horizon_too_short_for_a_statistic_is_exit_2(
    crisis_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    targets = tmp_path / "monthly.yaml"
    targets.write_text(
        "name: monthly\ntargets:\n  - id: m\n    statistic: monthly_acts\n"
        "    acts: {action: attack}\n    observed: 20\n    source: test\n",
        encoding="utf-8",
    )
    assert check(crisis_file, targets, tmp_path / "out", "--days", "20") == 2
    err = capsys.readouterr().err
    assert "needs a horizon of at least 30 days, got 20" in err
    assert not (tmp_path / "out").exists()


def test_check_help_gives_the_exit_code_of_a_failed_target(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "3 when some fail" in text
    assert "1 when some fail" not in text
