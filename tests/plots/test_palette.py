"""One colour per actor, the same in every figure, and told apart by colour-blind eyes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from matplotlib.colors import to_rgb

from escalation.plots.palette import (
    ACTOR_COLOURS,
    NEUTRAL,
    actor_colour,
    actor_colours,
    outcome_colours,
    series_colours,
)

KNOWN = (
    "pakistan",
    "taliban",
    "ttp",
    "kp_government",
    "china",
    "russia",
    "iran",
    "usa",
    "india",
    "qatar",
    "turkiye",
    "saudi_arabia",
)

# Machado, Oliveira and Fernandes (2009), severity 1: linear-RGB simulation matrices.
DEFICIENCIES = {
    "none": np.eye(3),
    "protanopia": np.array(
        [
            [0.152286, 1.052583, -0.204868],
            [0.114503, 0.786281, 0.099216],
            [-0.003882, -0.048116, 1.051998],
        ]
    ),
    "deuteranopia": np.array(
        [
            [0.367322, 0.860646, -0.227968],
            [0.280085, 0.672501, 0.047413],
            [-0.011820, 0.042940, 0.968881],
        ]
    ),
    "tritanopia": np.array(
        [
            [1.255528, -0.076749, -0.178779],
            [-0.078411, 0.930809, 0.147602],
            [0.004733, 0.691367, 0.303900],
        ]
    ),
}


def _lab(colour: str, deficiency: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of a colour as seen with a colour-vision deficiency."""
    srgb = np.asarray(to_rgb(colour))
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    seen = np.clip(deficiency @ linear, 0, 1)
    to_xyz = np.array(
        [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
    )
    xyz = to_xyz @ seen / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _closest_pair(colours: list[str]) -> float:
    return min(
        float(np.linalg.norm(_lab(a, matrix) - _lab(b, matrix)))
        for matrix in DEFICIENCIES.values()
        for a, b in itertools.combinations(colours, 2)
    )


def test_every_known_actor_has_its_own_colour() -> None:
    assert set(ACTOR_COLOURS) == set(KNOWN)
    assert len(set(ACTOR_COLOURS.values())) == len(KNOWN)
    assert all(actor_colour(actor) == ACTOR_COLOURS[actor] for actor in KNOWN)


def test_the_main_parties_stay_far_apart_for_colour_blind_readers() -> None:
    # CIELAB distance: 10 is plainly different side by side, 20 is different at a glance.
    main = [ACTOR_COLOURS[a] for a in ("pakistan", "taliban", "ttp", "kp_government")]
    assert _closest_pair(main) > 20
    assert _closest_pair(list(ACTOR_COLOURS.values())) > 10


def test_unknown_actors_get_a_stable_colour() -> None:
    assert actor_colour("rebels") == actor_colour("rebels")
    assert actor_colour("rebels") in ACTOR_COLOURS.values()


def test_a_set_of_actors_gets_distinct_colours_whatever_the_order() -> None:
    actors = ["a", "b", "c", "d", "e", "f", "pakistan", "ttp"]
    colours = actor_colours(actors)
    assert colours == actor_colours(list(reversed(actors)))
    assert len(set(colours.values())) == len(actors)
    assert colours["pakistan"] == ACTOR_COLOURS["pakistan"]
    assert colours["ttp"] == ACTOR_COLOURS["ttp"]
    assert ACTOR_COLOURS["pakistan"] not in {colours[a] for a in "abcdef"}


def test_outcome_colours_follow_the_scenario_and_grey_is_unclassified() -> None:
    colours = outcome_colours(["war", "ceasefire", "unclassified", "calm"])
    assert colours["unclassified"] == NEUTRAL
    assert len({colours["war"], colours["ceasefire"], colours["calm"]}) == 3
    assert outcome_colours(["war", "ceasefire"])["war"] == colours["war"]


@pytest.mark.parametrize("count", [1, 3, 8])
def test_series_colours_differ(count: int) -> None:
    names = [f"s{i}" for i in range(count)]
    assert len(set(series_colours(names).values())) == count
