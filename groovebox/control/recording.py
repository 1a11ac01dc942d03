"""Recording into a pad from the audio input: arming, stopping and the finished take (control loop).

The engine does the bar-exact work (``engine/recorder.py``); this module decides whether a recording may
start, allocates its buffer off the audio thread, works out the latency compensation, follows the engine's
events and hands each finished take to ``on_take`` (the daemon stores it in the library and assigns it to
the pad through the editor, so it is saved and undoable).

Decisions:
- Only an empty pad records; one recording at a time. Errors are ``RecordError`` with a sentence, or
  ``SaveLocked`` in gig mode (the take would become a library loop).
- The buffer holds ``bars`` bars at the current tempo plus 10 % (a tempo change during the take), or
  ``audio.record_max_s`` for an open take (a fixed take may not be longer); it is zero-filled lazily by the OS, so arming costs no time.
- Latency taken off the take = the engine's look-ahead + the device's round trip (``audio.record_latency_frames``
  when set (>= 0), else what the backend reports (PortAudio), else 0) + the backend's render-ahead ring.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from groovebox.control.savelock import SaveLock
from groovebox.engine import PadState
from groovebox.engine import commands as c
from groovebox.engine.events import RecordingCancelled, RecordingDone

__all__ = ["PadRecorder", "RecordError"]

log = logging.getLogger(__name__)

TEMPO_MARGIN = 1.1


class RecordError(Exception):
    """A recording cannot start or stop; the message says why."""


class PadRecorder:
    """Arms and stops recordings into pads; ``on_event`` must see every engine event (session listener)."""

    def __init__(self, session, *, max_s: float, latency_frames: int = -1,
                 on_take: Callable[[RecordingDone], None] | None = None, save_lock: SaveLock | None = None) -> None:
        self.session = session
        self.save_lock = save_lock or SaveLock()
        self.max_s = max_s
        self.configured_latency_frames = latency_frames
        self.on_take = on_take
        self.pad: int | None = None          # the pad armed or recording
        self.bars = 0

    # ------------------------------------------------------------------ commands
    def arm(self, pad: int, bars: int = 0) -> None:
        """Count in, then record ``bars`` bars (0: until stopped) into empty pad ``pad``."""
        self._check_can_arm(pad, bars)
        buffer = np.zeros((self._buffer_frames(bars), 2), np.float32)
        self.session.post(c.ArmRecord(pad, buffer, bars=bars, latency_frames=self.latency_frames))
        self.pad, self.bars = pad, bars

    def stop(self, cancel: bool = False) -> None:
        """End the take on the nearest bar line (``cancel``: drop it); RecordError when nothing records."""
        if self.pad is None:
            raise RecordError("nothing is recording")
        self.session.post(c.StopRecord(cancel=cancel))

    @property
    def latency_frames(self) -> int:
        audio = self.session.audio
        round_trip = self.configured_latency_frames
        if round_trip < 0:
            round_trip = audio.round_trip_frames or 0
        return min(self.session.engine.latency_frames + round_trip + audio.ahead_frames, c.MAX_RECORD_LATENCY_FRAMES)

    # ------------------------------------------------------------------ engine events
    def on_event(self, event: object) -> None:
        if isinstance(event, RecordingDone):
            self.pad = None
            if self.on_take is not None:
                self.on_take(event)
        elif isinstance(event, RecordingCancelled):
            if event.pad == self.pad:
                self.pad = None

    # ------------------------------------------------------------------ reports
    def describe(self) -> dict:
        """For ``/api/health`` and the pages: whether there is an input, and what is recording."""
        state = "idle"
        if self.pad is not None:
            pad_state = self.session.pad_states[self.pad]
            state = {PadState.QUEUED: "count-in", PadState.RECORDING: "recording"}.get(pad_state, "finishing")
        return {"input": self.session.audio.has_input, "pad": self.pad, "state": state, "bars": self.bars,
                "latency_frames": self.latency_frames}

    # ------------------------------------------------------------------ checks
    def _check_can_arm(self, pad: int, bars: int) -> None:
        self.save_lock.check("recording into a pad")          # the take becomes a library loop
        states = self.session.pad_states
        if not self.session.audio.has_input:
            raise RecordError(f"no audio input on the {self.session.audio.name} audio backend, so nothing can be "
                              "recorded (set [audio] input = true and use a device with an input)")
        if not 0 <= pad < len(states):
            raise RecordError(f"this groovebox has pads 0-{len(states) - 1}, not {pad}")
        if self.pad is not None:
            raise RecordError(f"pad {self.pad} is recording; stop it first")
        if states[pad] != PadState.EMPTY:
            raise RecordError(f"pad {pad} has a loop: clear it or record into an empty pad")
        if not 0 <= bars <= c.MAX_RECORD_BARS:
            raise RecordError(f"bars must be 0 (until stopped) to {c.MAX_RECORD_BARS}")
        if bars and self._bars_frames(bars) > self.max_s * self.session.engine.sample_rate:
            raise RecordError(f"{bars} bars at {self.session.tempo_bpm:g} BPM is longer than the longest recording "
                              f"({self.max_s:g} s, [audio] record_max_s)")

    def _bars_frames(self, bars: int) -> float:
        clock = self.session.engine.clock
        return bars * clock.beats_per_bar * clock.frames_per_beat

    def _buffer_frames(self, bars: int) -> int:
        if bars:
            return int(self._bars_frames(bars) * TEMPO_MARGIN) + 1
        one_bar = self._bars_frames(1) * TEMPO_MARGIN
        return int(max(self.max_s * self.session.engine.sample_rate, one_bar)) + 1

