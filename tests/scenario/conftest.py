"""A tiny valid scenario, and a helper that writes scenario files into ``tmp_path``."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

TINY = """\
name: tiny
horizon_days: 30
runs: 10
seed: 1
ladder:
  - {rung: 0, name: peace}
  - {rung: 1, name: clash}
parameters:
  strike_chance:
    value: 0.5
    min: 0
    max: 1
    source: "assumption: a coin flip"
actors:
  a:
    name: Country A
    kind: state
    policy:
      - id: answer
        when: "true"
        do: attack
        target: b
        probability: 0.5
  b:
    name: Country B
    kind: state
actions:
  attack:
    rung: 1
    hostile: true
outcomes:
  - id: any
    when: "true"
"""
"""Valid against the schema: two rungs, one parameter, actors a and b, one rule."""


@pytest.fixture
def tiny() -> str:
    """The text of the tiny scenario."""
    return TINY


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """``write(name, text)`` writes a dedented file into ``tmp_path`` and returns its path."""

    def write_file(name: str, text: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write_file
