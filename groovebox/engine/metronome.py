"""Metronome clicks on every beat, accented on the bar's downbeat (audio thread, allocation-free).

Clicks are short decaying sines rendered once at start-up. Beat frames come from the engine's
``TempoClock`` (``grid_frame``), the same rule that places quantized launches, so the click and a launched
loop start on the same sample.
"""

from __future__ import annotations

import math

import numpy as np

from groovebox.transport.clock import TempoClock

__all__ = ["Metronome"]

_CLICK_S = 0.03


def _click(sample_rate: int, freq_hz: float, level: float) -> np.ndarray:
    t = np.arange(int(_CLICK_S * sample_rate)) / sample_rate
    wave = level * np.sin(2 * np.pi * freq_hz * t) * np.exp(-t / (_CLICK_S / 5))
    return np.repeat(wave.astype(np.float32)[:, None], 2, axis=1)


class Metronome:
    """Mixes clicks into a segment of the pre-master mix."""

    def __init__(self, sample_rate: int) -> None:
        self.accent = _click(sample_rate, 1600.0, 1.0)
        self.normal = _click(sample_rate, 1000.0, 0.6)
        self.click_frames = len(self.accent)
        self.enabled = False
        self.volume = 0.5

    def mix_into(self, mix: np.ndarray, at_frame: int, n: int, clock: TempoClock, scratch: np.ndarray) -> None:
        """Add the clicks sounding during frames ``at_frame .. at_frame+n-1`` to ``mix[:n]``."""
        if not self.enabled:
            return
        beat = math.floor(clock.beat_at(at_frame - self.click_frames))
        end_frame = at_frame + n
        while True:
            start = clock.grid_frame(beat)
            if start >= end_frame:
                return
            first = max(start, at_frame)
            last = min(start + self.click_frames, end_frame)
            if last > first:
                click = self.accent if beat % clock.beats_per_bar == 0 else self.normal
                segment = scratch[:last - first]
                np.multiply(click[first - start:last - start], self.volume, out=segment)
                np.add(mix[first - at_frame:last - at_frame], segment, out=mix[first - at_frame:last - at_frame])
            beat += 1
