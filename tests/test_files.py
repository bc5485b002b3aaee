"""What the commands write gets the modes of files made the ordinary way."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from escalation import files
from escalation.cli import main
from escalation.errors import ResultsExistError
from escalation.files import as_if_created, check_file, check_folder


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


def test_force_replaces_results_or_nothing_but_never_other_files(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    (results / "manifest.json").write_text("{}")
    assert check_folder(results, force=True) == results
    empty = tmp_path / "empty"
    empty.mkdir()
    assert check_folder(empty, force=True) == empty
    documents = tmp_path / "documents"
    documents.mkdir()
    (documents / "thesis.txt").write_text("three years of work")
    with pytest.raises(ResultsExistError, match="is not a results folder"):
        check_folder(documents, force=True)
    with pytest.raises(ResultsExistError, match="already exists"):
        check_folder(results, force=False)


def test_the_current_folder_and_those_above_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner = tmp_path / "a" / "b"
    inner.mkdir(parents=True)
    monkeypatch.chdir(inner)
    for out in (".", "..", str(tmp_path), "../b"):
        with pytest.raises(ResultsExistError, match="the current folder or one above it"):
            check_folder(out, force=True)


def test_a_place_that_cannot_be_written_is_refused_before_any_work(tmp_path: Path) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    with pytest.raises(ResultsExistError, match="is a file, not a folder"):
        check_folder(a_file / "results", force=False)
    with pytest.raises(ResultsExistError, match="is a file, not a folder"):
        check_file(a_file / "deeper" / "figure.png", force=False, flag="-o")
    with pytest.raises(ResultsExistError, match="is a folder; name a file"):
        check_file(tmp_path, force=True)
    assert (
        check_file(tmp_path / "new" / "figure.png", force=False) == tmp_path / "new" / "figure.png"
    )


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_a_folder_that_refuses_files_is_found_out_by_trying(tmp_path: Path) -> None:
    # Permissions do not tell: /proc refuses new files even to root.
    with pytest.raises(ResultsExistError, match="cannot write in /proc"):
        check_file(Path("/proc") / "report.html", force=False)
    with pytest.raises(ResultsExistError, match="cannot write in /proc"):
        check_folder(Path("/proc") / "results", force=False)
