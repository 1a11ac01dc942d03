"""Metronome clicks on every beat, accented on the bar's downbeat (audio thread, allocation-free).

Clicks are short decaying sines rendered once at start-up. Beat frames come from the engine's
``TempoClock`` (``next_grid``), the same rule that places quantized launches, so the click and a launched
loop start on the same sample. A click that is sounding remembers where it started, so a tempo change or a
locate in the middle of it does not cut or repeat it. A recording's count-in (``count_in_until``) clicks
even when the metronome is off.
"""

from __future__ import annotations

import numpy as np

from groovebox.transport.clock import TempoClock

__all__ = ["Metronome"]

_CLICK_S = 0.03


def _click(sample_rate: int, freq_hz: float, level: float) -> np.ndarray:
    t = np.arange(int(_CLICK_S * sample_rate)) / sample_rate
    wave = level * np.sin(2 * np.pi * freq_hz * t) * np.exp(-t / (_CLICK_S / 5))
    return np.repeat(wave.astype(np.float32)[:, None], 2, axis=1)


class Metronome:
    """Mixes clicks into segments of the pre-master mix, in frame order."""

    def __init__(self, sample_rate: int) -> None:
        self.accent = _click(sample_rate, 1600.0, 1.0)
        self.normal = _click(sample_rate, 1000.0, 0.6)
        self.click_frames = len(self.accent)
        self.enabled = False
        self.volume = 0.5
        self.count_in_until = 0         # clicks before this frame even when disabled (a recording's count-in)
        self._sounding = self.normal
        self._sounding_from = -self.click_frames

    def mix_into(self, mix: np.ndarray, at_frame: int, n: int, clock: TempoClock, scratch: np.ndarray) -> None:
        """Add the clicks sounding during frames ``at_frame .. at_frame+n-1`` to ``mix[:n]``."""
        end_frame = at_frame + n
        clicks_until = end_frame if self.enabled else min(end_frame, self.count_in_until)
        if clicks_until <= at_frame and self._sounding_from + self.click_frames <= at_frame:
            return
        self._mix_click(mix, at_frame, end_frame, scratch)
        beat_frame, beat = clock.next_grid(at_frame, 1.0)
        while beat_frame < clicks_until:
            self._sounding = self.accent if round(beat) % clock.beats_per_bar == 0 else self.normal
            self._sounding_from = beat_frame
            self._mix_click(mix, at_frame, end_frame, scratch)
            beat_frame, beat = clock.next_grid(beat_frame + 1, 1.0)

    def _mix_click(self, mix: np.ndarray, at_frame: int, end_frame: int, scratch: np.ndarray) -> None:
        start = self._sounding_from
        first = max(start, at_frame)
        last = min(start + self.click_frames, end_frame)
        if last <= first:
            return
        segment = scratch[:last - first]
        np.multiply(self._sounding[first - start:last - start], self.volume, out=segment)
        target = mix[first - at_frame:last - at_frame]
        np.add(target, segment, out=target)
