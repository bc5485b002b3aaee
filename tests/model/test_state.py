"""The observation tracker's storage of the last act per key."""

from __future__ import annotations

import numpy as np
import pytest

from escalation.model.compiler import ObservationKey, Requirements
from escalation.model.state import ObservationTracker

KEY = ObservationKey("a", "attack", "b", None)


def _requirements() -> Requirements:
    requirements = Requirements()
    requirements.need(KEY, 3, "count")
    requirements.causes.add(KEY)
    return requirements


@pytest.mark.parametrize(
    ("largest_id", "dtype"),
    [(0, np.int32), (2**31 - 2, np.int32), (2**31 - 1, np.int64), (10**12, np.int64)],
)
def test_causes_take_32_bits_while_every_id_fits(largest_id: int, dtype: type) -> None:
    tracker = ObservationTracker(_requirements(), 5, largest_id=largest_id)
    assert tracker.causes.dtype == dtype
    assert tracker.causes.shape == (1, 5, 4)
    # No act seen yet: no event, a chain of length 0, no root, no author.
    assert tracker.causes[0].tolist() == [[-1, 0, -1, -1]] * 5
