"""The check and calibration figures: one labelled panel per target or parameter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from escalation.scenario import load_scenario
from escalation.validation.check import check_scenario, evaluate
from escalation.validation.figures import check_figure, plot_target, posterior_figure
from escalation.validation.statistics import Sample
from escalation.validation.targets import Target, load_targets


def test_a_target_panel_shows_model_and_record() -> None:
    target = Target.model_validate(
        {
            "id": "delay",
            "statistic": "cycle_length",
            "observed": 2,
            "range": [1, 3],
            "source": "test",
        }
    )
    sample = Sample("values", np.array([1.0, 2.0, 2.0, 3.0, 4.0]), "days", "answer")
    row = pd.Series(evaluate(target, sample, 0.9))
    ax = plot_target(row, sample)
    assert ax.get_xlabel() == "days"
    assert ax.get_ylabel() == "share of answers"
    assert ax.get_title().startswith("delay: pass")
    assert len(ax.containers[0]) == 4  # a bar per whole day from 1 to 4


def test_a_share_panel_spans_zero_to_one() -> None:
    target = Target.model_validate(
        {"id": "share", "statistic": "cycle_length", "range": [0.3, 0.9], "source": "test"}
    )
    sample = Sample("share", np.array([1.0, 0.0, 1.0]), "share", "trigger")
    ax = plot_target(pd.Series(evaluate(target, sample, 0.9)), sample)
    assert ax.get_xlim() == (0.0, 1.0)
    assert ax.get_xlabel() == "share of triggers"


def test_check_figure_has_a_panel_per_target_and_a_caption(
    crisis_file: Path, targets_file: Path, tmp_path: Path
) -> None:
    scenario = load_scenario(crisis_file)
    result = check_scenario(scenario, load_targets(targets_file, scenario), runs=20, seed=1)
    figure = check_figure(result)
    assert isinstance(figure, Figure)
    titled = [ax for ax in figure.axes if ax.get_title()]
    assert len(titled) == 3
    caption = figure.get_supxlabel()
    assert "20 runs" in caption
    assert "seed 1" in caption
    figure.savefig(tmp_path / "check.png")
    assert (tmp_path / "check.png").stat().st_size > 10_000


def test_posterior_figure_labels_each_parameter_with_its_unit() -> None:
    generator = np.random.default_rng(0)
    particles = pd.DataFrame(
        {"rate": generator.uniform(0.4, 0.6, 50), "weight": np.full(50, 1 / 50)}
    )
    figure = posterior_figure(particles, {"rate": (0.0, 2.0)}, "caption", {"rate": "1/day"})
    (ax,) = [ax for ax in figure.axes if ax.get_visible() and ax.get_xlabel()]
    assert ax.get_xlabel() == "rate (1/day)"
    assert ax.get_xlim() == (0.0, 2.0)
    assert ax.get_title().startswith("rate: 0.5")


def test_a_whole_number_parameter_gets_one_bar_per_value() -> None:
    particles = pd.DataFrame({"n": [1.0, 2.0, 2.0, 5.0], "weight": np.full(4, 0.25)})
    figure = posterior_figure(particles, {"n": (1.0, 5.0)}, "caption", integers=frozenset({"n"}))
    (ax,) = [ax for ax in figure.axes if ax.get_xlabel()]
    bars = ax.containers[0]
    assert len(bars) == 5
    assert ax.get_xlim() == (0.5, 5.5)
    heights = [bar.get_height() for bar in bars]
    assert heights == pytest.approx([0.25, 0.5, 0, 0, 0.25])
