"""Sweep folders: each sweep figure one command away, and the sweep's report."""

from __future__ import annotations

from pathlib import Path

import pytest
from sweep_frames import FACTORS, write_sweep

from escalation import Scenario
from escalation.cli import main
from escalation.plots.gallery import read_sweep, sweep_figure
from escalation.report import build_report
from escalation.store import read_manifest


def test_a_sweep_folder_draws_its_figures(
    tmp_path: Path, mediated_crisis: Scenario, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep = write_sweep(tmp_path / "sweep", mediated_crisis)
    for extra in (
        ["--kind", "share", "--parameter", "p_answer"],
        ["--kind", "heatmap", "--outcome", "calm"],
        ["--kind", "sensitivity", "--output", "share_war"],
        ["--kind", "sensitivity", "--output", "mean_max_rung"],
        ["--kind", "discovery"],
    ):
        assert main(["plot", str(sweep), *extra, "--dpi", "50"]) == 0, extra
    names = sorted(p.name for p in (sweep / "figures").iterdir())
    assert names == [
        "discovery.png",
        "heatmap-calm.png",
        "sensitivity-mean_max_rung.png",
        "sensitivity-share_war.png",
        "share-p_answer.png",
    ]
    capsys.readouterr()
    assert main(["plot", str(sweep), "--kind", "sensitivity"]) == 2
    assert "choose one with --output, one of mean_max_rung, share_war" in capsys.readouterr().err
    # The outputs go by the names `escalation analyze` takes too.
    for output in ("war", "max_rung"):
        out = tmp_path / f"{output}.png"
        code = main(
            ["plot", str(sweep), "--kind", "sensitivity", "--output", output, "-o", str(out)]
        )
        assert code == 0
        assert out.read_bytes()[:4] == b"\x89PNG"
    capsys.readouterr()
    assert main(["plot", str(sweep), "--kind", "sensitivity", "--output", "peace"]) == 2
    assert "--output peace: no sensitivity analysis for it" in capsys.readouterr().err
    assert main(["plot", str(sweep), "--kind", "rung"]) == 2
    assert "--kind rung needs a run folder" in capsys.readouterr().err


def test_the_box_is_drawn_in_the_designed_domain(tmp_path: Path) -> None:
    sweep = read_sweep(write_sweep(tmp_path / "sweep", None), read_manifest(tmp_path / "sweep"))
    assert sweep.domains()[FACTORS[0]] == (0.0, 20.0)
    figure = sweep_figure(sweep, "discovery")
    (ax,) = figure.axes
    boxes = [c for c in ax.containers if c.get_label() == "the box"]
    # threshold 5.5 and up, of the designed 0 to 20 (not the 1 to 10 the points span)
    assert boxes[0].patches[0].get_x() == pytest.approx(5.5 / 20)


def test_an_unfinished_sweep_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep = write_sweep(tmp_path / "sweep", None)
    (sweep / "summary.parquet").unlink()
    assert main(["plot", str(sweep), "--kind", "share"]) == 2
    assert "no summary.parquet yet (status complete)" in capsys.readouterr().err


def test_a_sweep_report(tmp_path: Path, mediated_crisis: Scenario) -> None:
    sweep = write_sweep(tmp_path / "sweep", mediated_crisis)
    html = build_report(sweep)
    for heading in (
        "Share of war across the sweep",
        "Sensitivity ranking",
        "Discovered scenarios",
        "Design points",
        "Doctrine",
        "Provenance",
    ):
        assert f"<h2>{heading}</h2>" in html
    assert html.count("<img ") == 2 + 1 + 2 + 1  # shares, heat map, sensitivities, box
    assert "<h3>Failed points</h3>" in html
    assert "the model raised" in html
    assert "A mediator brokered a ceasefire." in html
