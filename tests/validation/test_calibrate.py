"""ABC-SMC on a tempo whose rate the target fixes, and the calibrated scenario it writes."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from escalation.experiments.factors import parse_vary
from escalation.scenario import Scenario, load_scenario
from escalation.store import ResultsExistError
from escalation.validation.calibrate import Calibration, calibrate
from escalation.validation.scenario_file import write_calibrated_scenario
from escalation.validation.targets import Targets, load_targets

Write = Callable[[str, str], Path]

TEMPO = """\
name: tempo
horizon_days: 30
runs: 20
ladder:
  - {rung: 0, name: calm}
  - {rung: 1, name: attack}
parameters:
  waves: {value: 2, min: 1, max: 5, integer: true, unit: waves}
actors:
  ttp:
    name: TTP
    kind: armed_group
    parameters:
      rate: {value: 0.5, min: 0, max: 3, unit: attacks/day, source: "test: a guess"}
    tempo:
      - {action: attack, base_rate: "self.rate * waves / 2", alpha: 0, beta: 1}
actions:
  attack: {rung: 1, hostile: true}
outcomes:
  - {id: any, when: "true"}
"""
"""Poisson attacks at rate ``rate * waves / 2`` a day."""

FACTS = """\
name: tempo_facts
targets:
  - id: attacks
    statistic: act_rate
    action: attack
    observed: 15
    source: "test: 15 a month is a rate of 0.5 a day"
"""


@pytest.fixture(scope="module")
def tempo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Scenario, Targets]:
    root = tmp_path_factory.mktemp("tempo")
    path = root / "scenarios" / "tempo.yaml"
    path.parent.mkdir()
    path.write_text(TEMPO, encoding="utf-8")
    (root / "facts.yaml").write_text(FACTS, encoding="utf-8")
    scenario = load_scenario(path)
    return path, scenario, load_targets(root / "facts.yaml", scenario)


@pytest.fixture(scope="module")
def calibration(tempo: tuple[Path, Scenario, Targets]) -> Calibration:
    _, scenario, targets = tempo
    factors = [parse_vary("ttp.rate=0.05:2", scenario)]
    return calibrate(
        scenario, targets, factors, particles=30, generations=3, runs=20, quantile=0.25, seed=17
    )


def test_the_accepted_rate_is_the_one_the_target_implies(calibration: Calibration) -> None:
    low, median, high = calibration.intervals()["ttp.rate"]
    # 15 attacks a month is 0.5 a day; the prior spans 0.05 to 2.
    assert median == pytest.approx(0.5, rel=0.1)
    assert low < 0.5 < high
    assert high - low < 0.25 * (2 - 0.05)
    generations = calibration.generations
    assert generations["epsilon"].iloc[0] == np.inf
    assert generations["epsilon"].is_monotonic_decreasing
    assert calibration.particles["weight"].sum() == pytest.approx(1.0)
    assert calibration.met()["attacks"] > 0.5


def test_the_population_table(calibration: Calibration) -> None:
    particles = calibration.particles
    assert len(particles) == 30
    columns = {"candidate", "weight", "distance", "ttp.rate", "model_attacks", "miss_attacks"}
    assert columns | {"meets_attacks"} <= set(particles)
    assert sorted(calibration.history["generation"].unique()) == list(
        range(len(calibration.generations))
    )
    assert calibration.scales["attacks"] > 0
    summary = calibration.summary()
    assert summary.loc["ttp.rate", "prior_low"] == 0.05
    assert summary.loc["ttp.rate", "q05"] <= summary.loc["ttp.rate", "median"]


def test_a_calibration_depends_on_the_seed_alone(tempo: tuple[Path, Scenario, Targets]) -> None:
    _, scenario, targets = tempo
    factors = [parse_vary("ttp.rate=0.05:2", scenario)]

    def run(**how: object) -> pd.DataFrame:
        return calibrate(
            scenario, targets, factors, particles=8, generations=2, runs=10, seed=3, **how
        ).particles  # type: ignore[arg-type]

    alone = run(workers=1)
    with ThreadPoolExecutor(max_workers=3) as executor:
        mapped = run(executor=executor)
    pd.testing.assert_frame_equal(alone, mapped)
    pd.testing.assert_frame_equal(alone, run(workers=2))
    other = calibrate(scenario, targets, factors, particles=8, generations=2, runs=10, seed=4)
    assert not other.particles["ttp.rate"].equals(alone["ttp.rate"])


def test_whole_number_parameters_are_simulated_whole(
    tempo: tuple[Path, Scenario, Targets],
) -> None:
    _, scenario, targets = tempo
    factors = [parse_vary("waves=1:5", scenario)]
    result = calibrate(scenario, targets, factors, particles=60, generations=1, runs=5, seed=1)
    waves = result.particles["waves"]
    assert (waves == waves.round()).all()
    # Every whole value has the same prior weight, the end points included.
    counts = waves.value_counts().reindex([1, 2, 3, 4, 5], fill_value=0)
    assert stats.chisquare(counts.to_numpy()).pvalue > 1e-3
    assert result.medians()["waves"] == round(result.medians()["waves"])


def test_impossible_settings_are_refused(tempo: tuple[Path, Scenario, Targets]) -> None:
    _, scenario, targets = tempo
    factors = [parse_vary("ttp.rate=0.05:2", scenario)]
    with pytest.raises(ValueError, match="at least one parameter"):
        calibrate(scenario, targets, [])
    with pytest.raises(ValueError, match="particles must be >= 2"):
        calibrate(scenario, targets, factors, particles=1)
    with pytest.raises(ValueError, match=r"quantile must be in \(0, 1\)"):
        calibrate(scenario, targets, factors, quantile=1.0)


def test_a_prior_that_never_measures_the_targets_is_reported(
    write: Write, tempo: tuple[Path, Scenario, Targets]
) -> None:
    _, scenario, _ = tempo
    facts = write(
        "cycles.yaml",
        "name: f\ntargets:\n  - {id: c, statistic: cycle_length, observed: 3, source: test}\n",
    )
    factors = [parse_vary("ttp.rate=0.05:2", scenario)]
    with pytest.raises(ValueError, match="could be measured in"):
        calibrate(
            scenario,
            load_targets(facts, scenario),
            factors,
            particles=4,
            runs=2,
            min_acceptance=0.5,
        )


def test_the_calibrated_scenario_extends_the_original(
    tempo: tuple[Path, Scenario, Targets], calibration: Calibration
) -> None:
    path, scenario, _ = tempo
    out = path.parent.parent / "calibrated" / "tempo_calibrated.yaml"
    written = write_calibrated_scenario(calibration, path, out, targets_path="facts.yaml")
    document = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert document["extends"] == "../scenarios/tempo.yaml"
    median = calibration.medians()["ttp.rate"]
    assert document["actors"]["ttp"]["parameters"]["rate"]["value"] == median
    assert "90% interval" in document["actors"]["ttp"]["parameters"]["rate"]["source"]
    assert written.name == "tempo_calibrated"
    assert written.actors["ttp"].parameters["rate"].value == median
    # The rest is the original's: domain, unit, the other parameters, the policy.
    assert written.actors["ttp"].parameters["rate"].max == 3
    assert written.actors["ttp"].parameters["rate"].unit == "attacks/day"
    assert written.parameters == scenario.parameters
    assert load_scenario(out) == written
    with pytest.raises(ResultsExistError, match="exists"):
        write_calibrated_scenario(calibration, path, out)
    assert sorted(p.name for p in out.parent.iterdir()) == ["tempo_calibrated.yaml"]
