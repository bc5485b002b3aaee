"""What the commands write gets the modes of files made the ordinary way."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from escalation import files
from escalation.cli import main
from escalation.files import as_if_created


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o022, 0o077])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    files._umask.cache_clear()
    try:
        yield request.param
    finally:
        os.umask(old)
        files._umask.cache_clear()


def test_as_if_created_follows_the_umask(tmp_path: Path, umask: int) -> None:
    ordinary = tmp_path / "ordinary"
    ordinary.write_text("")
    folder = tmp_path / "folder"
    folder.mkdir()
    private = tmp_path / "private"
    private.write_text("")
    private.chmod(0o600)
    as_if_created(private)
    assert mode(private) == mode(ordinary) == 0o666 & ~umask
    folder.chmod(0o700)
    as_if_created(folder, folder=True)
    assert mode(folder) == 0o777 & ~umask


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_results_figures_and_reports_are_as_shareable_as_other_files(
    tiny_crisis_file: Path, tmp_path: Path, umask: int, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results"
    fast = ["--runs", "12", "--seed", "1", "--workers", "1"]
    assert main(["run", str(tiny_crisis_file), *fast, "--out", str(out)]) == 0
    assert main(["plot", str(out), "--kind", "outcomes", "--dpi", "40"]) == 0
    assert main(["report", str(out), "-o", str(tmp_path / "report.html")]) == 0
    capsys.readouterr()
    assert mode(out) == 0o777 & ~umask
    for written in (
        out / "manifest.json",
        out / "figures" / "outcomes.png",
        tmp_path / "report.html",
    ):
        assert mode(written) == 0o666 & ~umask, written
