"""The verb plot on a run folder, called in-process."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from escalation.cli import main
from escalation.plots.gallery import RUN_KINDS

MAGIC = {".png": b"\x89PNG", ".svg": b"<?xml", ".pdf": b"%PDF"}


@pytest.fixture
def folder(mediated_folder: Path, tmp_path: Path) -> Path:
    """A copy of the results folder, so a test may write figures into it."""
    return Path(shutil.copytree(mediated_folder, tmp_path / "results"))


@pytest.mark.parametrize("kind", RUN_KINDS)
def test_every_run_figure_is_one_command_away(
    kind: str, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plot", str(folder), "--kind", kind, "--dpi", "60"]) == 0
    out = folder / "figures" / f"{kind}.png"
    assert out.read_bytes().startswith(MAGIC[".png"])
    assert f"Figure written to {out}" in capsys.readouterr().out


def test_figures_are_never_overwritten_silently(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    command = ["plot", str(folder), "--kind", "outcomes", "--dpi", "50"]
    assert main(command) == 0
    before = (folder / "figures" / "outcomes.png").read_bytes()
    assert main(command) == 2
    assert "outcomes.png exists; choose another -o or pass --force" in capsys.readouterr().err
    assert (folder / "figures" / "outcomes.png").read_bytes() == before
    assert main([*command, "--force"]) == 0
    assert not [p for p in (folder / "figures").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_the_suffix_chooses_the_format(suffix: str, folder: Path, tmp_path: Path) -> None:
    out = tmp_path / f"deaths{suffix}"
    assert main(["plot", str(folder), "--kind", "casualties", "-o", str(out)]) == 0
    assert out.read_bytes().startswith(MAGIC[suffix])


def test_bad_requests_are_named(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plot", str(folder), "--kind", "outcomes", "-o", str(tmp_path / "x.jpg")]) == 2
    assert "expected .png, .svg, .pdf" in capsys.readouterr().err
    assert main(["plot", str(folder), "--kind", "heatmap"]) == 2
    assert "--kind heatmap needs a sweep folder" in capsys.readouterr().err
    assert main(["plot", str(folder), "--kind", "timeline", "--run", "9999"]) == 2
    assert "no run 9999; the runs are 0 to 599" in capsys.readouterr().err
    assert main(["plot", str(folder), "--kind", "survival", "--variable", "peace"]) == 2
    assert "no boolean variable 'peace'" in capsys.readouterr().err
    assert main(["plot", str(tmp_path / "nothing"), "--kind", "rung"]) == 2
    assert "not a results folder" in capsys.readouterr().err
