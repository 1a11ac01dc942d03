"""Tap tempo: turns a performer's taps into a tempo.

Runs on the control thread (taps arrive as events); pure Python, no clock of its own: callers pass the
tap time in seconds so tests and offline use are deterministic.
"""

from __future__ import annotations

from collections import deque


class TapTempo:
    """Average the intervals of the last taps; a pause longer than ``timeout_s`` starts over.

    Returns a tempo once two taps are in, clamped to ``[min_bpm, max_bpm]``.
    """

    def __init__(self, max_taps: int = 8, timeout_s: float = 2.0, min_bpm: float = 20.0, max_bpm: float = 400.0):
        self._taps_s: deque[float] = deque(maxlen=max_taps)
        self.timeout_s = timeout_s
        self.min_bpm = min_bpm
        self.max_bpm = max_bpm

    def tap(self, at_s: float) -> float | None:
        """Register a tap at time ``at_s`` (seconds, monotonic); return the tempo in BPM or None."""
        if self._taps_s and (at_s - self._taps_s[-1] > self.timeout_s or at_s <= self._taps_s[-1]):
            self._taps_s.clear()
        self._taps_s.append(at_s)
        if len(self._taps_s) < 2:
            return None
        interval_s = (self._taps_s[-1] - self._taps_s[0]) / (len(self._taps_s) - 1)
        return min(self.max_bpm, max(self.min_bpm, 60.0 / interval_s))

    def reset(self) -> None:
        self._taps_s.clear()
