"""The verb compare: scenario files run and results folders read, drawn side by side."""

from __future__ import annotations

from pathlib import Path

import pytest

from escalation import read_results
from escalation.cli import main
from escalation.report_text import outcome_table

MAGIC_SVG = b"<?xml"


def test_compare_runs_files_and_reads_folders(
    mediated_folder: Path,
    mediated_crisis_text: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shy = tmp_path / "shy.yaml"
    shy.write_text(
        mediated_crisis_text.replace("name: mediated_crisis", "name: shy_mediator").replace(
            "probability: 0.15", "probability: 0.01"
        ),
        encoding="utf-8",
    )
    out = tmp_path / "compare.svg"
    keep = tmp_path / "kept"
    command = [
        "compare",
        str(mediated_folder),
        str(shy),
        "--runs",
        "300",
        "--seed",
        "5",
        "--workers",
        "1",
        "-o",
        str(out),
        "--keep",
        str(keep),
    ]
    assert main(command) == 0
    printed = capsys.readouterr().out
    assert out.read_bytes().startswith(MAGIC_SVG)
    header = printed.splitlines()[0].split()
    assert header == ["Outcome", "mediated_crisis", "shy_mediator"]
    stored = outcome_table(read_results(mediated_folder).runs)
    war = stored.loc["war"]
    assert f"{100 * war['share']:.1f}% [{100 * war['low']:.1f}, {100 * war['high']:.1f}]" in printed
    kept = read_results(keep / "shy_mediator")
    assert len(kept.runs) == 300
    assert kept.seed == 5
    # A mediator that seldom mediates leaves more wars.
    assert outcome_table(kept.runs).loc["war", "share"] > war["share"]
    assert main(command) == 2
    assert "exists" in capsys.readouterr().err


def test_compare_checks_every_input_first(
    mediated_crisis_text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(mediated_crisis_text, encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text(mediated_crisis_text.replace("probability: 0.15", "probability: 1.5"))
    out = tmp_path / "c.png"
    assert main(["compare", str(good), str(broken), "-o", str(out)]) == 2
    assert "must be in [0, 1], got 1.5" in capsys.readouterr().err
    assert not out.exists()
    assert main(["compare", str(good), str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml: no such scenario file or results folder" in capsys.readouterr().err


def test_run_settings_are_refused_when_nothing_is_run(
    mediated_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    command = ["compare", str(mediated_folder), str(mediated_folder), "-o", str(tmp_path / "c.png")]
    assert main([*command, "--seed", "3"]) == 2
    assert "--seed apply to scenario files" in capsys.readouterr().err
    assert main(command) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].split() == ["Outcome", "mediated_crisis", "mediated_crisis-2"]
