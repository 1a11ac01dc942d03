"""Encoder acceleration: fast turns move further per detent. Pure logic, called on the control loop.

Decisions: the multiplier comes from the time since the previous detent in the same direction (a slow
turn is exact, a flick crosses a tempo or volume range in a second); reversing direction drops back to
single steps at once, so overshooting and coming back is precise.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["STEPS_BY_INTERVAL", "Acceleration"]

# (detents closer together than this many seconds, multiplier): first match wins
STEPS_BY_INTERVAL = ((0.025, 8), (0.05, 4), (0.1, 2))


class Acceleration:
    """``scale(direction)`` -> how many steps one detent (+1/-1) is worth right now."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last_s: float | None = None
        self._last_direction = 0

    def scale(self, direction: int) -> int:
        now_s = self._clock()
        multiplier = 1
        if self._last_s is not None and direction == self._last_direction:
            interval_s = now_s - self._last_s
            multiplier = next((steps for limit_s, steps in STEPS_BY_INTERVAL if interval_s < limit_s), 1)
        self._last_s, self._last_direction = now_s, direction
        return direction * multiplier
