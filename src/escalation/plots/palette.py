"""Colours: one fixed colour per actor across every figure, colour-blind safe.

The actors of the reference crisis get fixed colours from Paul Tol's *muted*
qualitative scheme (P. Tol, "Colour schemes", SRON/EPS/TN/09-002, 2021),
completed with orange, vermillion and black from Okabe and Ito's scheme (2008),
chosen so that every pair stays apart under simulated protanopia, deuteranopia
and tritanopia (Machado, Oliveira and Fernandes, 2009). Any other
actor id is given a colour from the same list by a hash of its id, so it keeps
that colour in every figure of every run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

__all__ = [
    "ACTOR_COLOURS",
    "NEUTRAL",
    "OUTCOME_COLOURS",
    "SERIES_COLOURS",
    "actor_colour",
    "actor_colours",
    "outcome_colours",
    "series_colours",
]

ACTOR_COLOURS: Mapping[str, str] = {
    "pakistan": "#117733",
    "taliban": "#332288",
    "ttp": "#CC6677",
    "kp_government": "#88CCEE",
    "china": "#882255",
    "russia": "#44AA99",
    "iran": "#999933",
    "usa": "#AA4499",
    "india": "#DDCC77",
    "qatar": "#E69F00",
    "turkiye": "#D55E00",
    "saudi_arabia": "#000000",
}
"""The fixed colour of each actor of the reference crisis."""

_POOL: tuple[str, ...] = tuple(ACTOR_COLOURS.values())

NEUTRAL = "#BBBBBB"
"""Grey, for what belongs to no actor (e.g. the 'unclassified' outcome)."""

OUTCOME_COLOURS: tuple[str, ...] = (
    "#CC3311",
    "#EE7733",
    "#0077BB",
    "#009988",
    "#33BBEE",
    "#EE3377",
    "#332288",
    "#999933",
)
"""Outcomes in the scenario's order (Tol's *vibrant* scheme, then two *muted*)."""

SERIES_COLOURS: tuple[str, ...] = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#000000",
    "#F0E442",
)
"""Scenarios compared side by side (Okabe and Ito's scheme, 2008)."""


def _hashed_slot(actor: str) -> int:
    digest = hashlib.sha256(actor.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % len(_POOL)


def actor_colour(actor: str) -> str:
    """The colour of one actor: fixed for the known actors, hashed from the id otherwise.

    Two unknown actors may hash to the same colour; :func:`actor_colours` resolves
    such clashes within a scenario's set of actors.
    """
    known = ACTOR_COLOURS.get(actor)
    return known if known is not None else _POOL[_hashed_slot(actor)]


def actor_colours(actors: Iterable[str]) -> dict[str, str]:
    """Colours for a scenario's actors, all different while the palette allows.

    Known actors keep their fixed colour; the others, taken in sorted order (so the
    answer depends on the set of actors, never on the order given), take their
    hashed colour or, if another actor of the set holds it, the next free one. Give
    every figure of a scenario the same set (its actors) and each actor keeps one
    colour throughout.
    """
    names = sorted(set(actors))
    colours = {name: ACTOR_COLOURS[name] for name in names if name in ACTOR_COLOURS}
    taken = set(colours.values())
    for name in names:
        if name in colours:
            continue
        slot = _hashed_slot(name)
        for step in range(len(_POOL)):
            candidate = _POOL[(slot + step) % len(_POOL)]
            if candidate not in taken:
                break
        else:
            candidate = _POOL[slot]
        colours[name] = candidate
        taken.add(candidate)
    return colours


def outcome_colours(outcomes: Sequence[str]) -> dict[str, str]:
    """Colours for outcomes in the scenario's order; 'unclassified' is grey."""
    colours: dict[str, str] = {}
    position = 0
    for name in outcomes:
        if name == "unclassified":
            colours[name] = NEUTRAL
            continue
        colours[name] = OUTCOME_COLOURS[position % len(OUTCOME_COLOURS)]
        position += 1
    return colours


def series_colours(names: Sequence[str]) -> dict[str, str]:
    """Colours for scenarios drawn side by side, in the order given."""
    return {name: SERIES_COLOURS[i % len(SERIES_COLOURS)] for i, name in enumerate(names)}
