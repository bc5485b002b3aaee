"""Every shipped scenario validates and runs; the reference scenario cites its sources."""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from escalation import load_scenario, run_scenario
from escalation.model.record import UNCLASSIFIED
from escalation.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted(
    path for path in (ROOT / "scenarios").rglob("*.yaml") if "targets" not in path.parts
)
REFERENCE = ROOT / "scenarios" / "pakistan_afghanistan_2025.yaml"
COUNTERFACTUALS = [
    "kp_dialogue_track.yaml",
    "taliban_pragmatists_prevail.yaml",
    "early_mediation.yaml",
    "hardline_taliban.yaml",
]
ARTICLE = os.environ.get("ESCALATION_SOURCE_ARTICLE")
"""The source article's text file; the quotes are checked against it when it is given."""


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-"}))
    return re.sub(r"\s+", " ", text).strip()


def test_the_scenarios_folder_holds_the_reference_and_four_counterfactuals() -> None:
    names = {path.name for path in SCENARIOS}
    assert REFERENCE.name in names
    assert set(COUNTERFACTUALS) <= names


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_shipped_scenario_validates_and_runs(path: Path) -> None:
    scenario = load_scenario(path)
    results = run_scenario(scenario, runs=60, seed=11, path_sample=5)
    shares = results.outcome_shares()
    assert shares["share"].sum() == pytest.approx(1.0)
    assert UNCLASSIFIED not in shares.index  # every run is classified
    assert (results.runs["max_rung"] < len(scenario.ladder)).all()
    dead = results.runs.filter(like="_dead_")
    assert (dead.to_numpy() >= 0).all()


@pytest.mark.parametrize("name", COUNTERFACTUALS)
def test_counterfactuals_extend_the_reference(name: str) -> None:
    text = (ROOT / "scenarios" / name).read_text(encoding="utf-8")
    assert re.search(r"^extends:\s*pakistan_afghanistan_2025\.yaml\s*$", text, re.M)
    assert load_scenario(ROOT / "scenarios" / name) != load_scenario(REFERENCE)


@pytest.fixture(scope="module")
def reference() -> Scenario:
    return load_scenario(REFERENCE)


def test_every_rule_of_the_reference_names_its_source(reference: Scenario) -> None:
    for actor_name, actor in reference.actors.items():
        for rule in actor.policy:
            assert len(rule.source) >= 30, f"{actor_name}.{rule.id} quotes no source"


def test_every_number_of_the_reference_says_where_it_comes_from(reference: Scenario) -> None:
    parameters = list(reference.parameters.items()) + [
        (f"{a}.{n}", p)
        for a, actor in reference.actors.items()
        for n, p in actor.parameters.items()
    ]
    for name, parameter in parameters:
        source = parameter.source.strip()
        assert source.startswith(("CONTEXT.md", "assumption", "The article")), (
            f"{name}: source {source!r}"
        )
    for action_name, action in reference.actions.items():
        for side, casualties in action.casualties.items():
            if not isinstance(casualties.mean, str):
                assert casualties.source, f"actions.{action_name}.casualties.{side} has no source"


@pytest.mark.skipif(ARTICLE is None, reason="set ESCALATION_SOURCE_ARTICLE to the article's text")
def test_every_rule_quotes_the_article_or_the_calibration_notes(reference: Scenario) -> None:
    assert ARTICLE is not None
    article_path = Path(ARTICLE)
    article = _normalise(article_path.read_text(encoding="utf-8"))
    context_path = article_path.with_name("CONTEXT.md")
    context = _normalise(context_path.read_text(encoding="utf-8")) if context_path.exists() else ""
    unquoted = []
    for actor_name, actor in reference.actors.items():
        for rule in actor.policy:
            source = _normalise(rule.source)
            if source.startswith("CONTEXT.md:"):
                quote = source.removeprefix("CONTEXT.md:").strip().strip('"')
                found = quote in context
            else:
                quote = re.sub(r"^Article:\s*", "", source).strip().strip('"')
                found = quote in article
            if not found:
                unquoted.append(f"{actor_name}.{rule.id}: {quote[:60]!r}")
    assert not unquoted, "rules whose source is not a verbatim quote:\n" + "\n".join(unquoted)


def test_the_reference_outcomes_are_all_reached(reference: Scenario) -> None:
    """A reference scenario whose futures all end the same way would teach nothing."""
    results = run_scenario(reference, runs=600, seed=5, path_sample=0)
    shares = results.outcome_shares()["share"]
    assert shares.max() < 0.8
    assert np.count_nonzero(shares.to_numpy() > 0) >= 4
