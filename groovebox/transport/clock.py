"""A fractional musical clock: frames <-> beats for one tempo segment at a time.

Runs on the audio thread (inside ``Engine.render``) and is cheap: plain float arithmetic, no allocation
beyond Python floats. Musical time is derived from the integer sample clock, never accumulated, so bar
lengths that are fractional in frames never drift. A tempo change re-anchors the clock at the change frame.

A grid point falls on the first integer frame at or after its exact (fractional) time, i.e.
``ceil(frame_at_beat(beat))``; every user of the clock goes through ``grid_frame`` so they agree.
"""

from __future__ import annotations

import math

# Tolerance for float error when a grid time is (mathematically) an exact integer frame.
_EPS_FRAMES = 1e-7


class TempoClock:
    """Maps absolute frames to beats (quarter notes) and back.

    ``beat 0`` is the downbeat of bar 1. Not thread-safe: owned by the engine (audio thread).
    """

    __slots__ = ("sample_rate", "beats_per_bar", "tempo_bpm", "frames_per_beat", "anchor_frame", "anchor_beat")

    def __init__(self, sample_rate: int, tempo_bpm: float, beats_per_bar: int = 4) -> None:
        if tempo_bpm <= 0:
            raise ValueError(f"tempo_bpm must be positive, got {tempo_bpm}")
        self.sample_rate = sample_rate
        self.beats_per_bar = beats_per_bar
        self.tempo_bpm = float(tempo_bpm)
        self.frames_per_beat = 60.0 * sample_rate / self.tempo_bpm
        self.anchor_frame = 0
        self.anchor_beat = 0.0

    def beat_at(self, frame: int | float) -> float:
        """The musical position (beats, fractional) at ``frame``."""
        return self.anchor_beat + (frame - self.anchor_frame) / self.frames_per_beat

    def frame_at(self, beat: float) -> float:
        """The exact (fractional) frame at which ``beat`` falls."""
        return self.anchor_frame + (beat - self.anchor_beat) * self.frames_per_beat

    def grid_frame(self, beat: float) -> int:
        """The integer frame on which a grid point at ``beat`` sounds: the first frame at or after it."""
        return math.ceil(self.frame_at(beat) - _EPS_FRAMES)

    def next_grid(self, frame: int, step_beats: float) -> tuple[int, float]:
        """The first grid point at or after ``frame`` for a grid of ``step_beats``: (frame, beat)."""
        k = math.floor(self.beat_at(frame) / step_beats) - 1
        while True:
            beat = k * step_beats
            at_frame = self.grid_frame(beat)
            if at_frame >= frame:
                return at_frame, beat
            k += 1

    def set_tempo(self, tempo_bpm: float, at_frame: int) -> None:
        """Change tempo from ``at_frame`` on; the beat at ``at_frame`` is unchanged."""
        if tempo_bpm <= 0:
            raise ValueError(f"tempo_bpm must be positive, got {tempo_bpm}")
        self.anchor_beat = self.beat_at(at_frame)
        self.anchor_frame = at_frame
        self.tempo_bpm = float(tempo_bpm)
        self.frames_per_beat = 60.0 * self.sample_rate / self.tempo_bpm

    def locate(self, beat: float, at_frame: int) -> None:
        """Make ``at_frame`` be ``beat`` (rewind, jump to a bar)."""
        self.anchor_frame = at_frame
        self.anchor_beat = float(beat)

    def bars_to_beats(self, bars: float) -> float:
        return bars * self.beats_per_bar
