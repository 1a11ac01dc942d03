"""One pad's state inside the engine (audio thread; built once, mutated in place).

Scheduling uses two slots per pad, ``start_due`` and ``stop_due`` (absolute frames, -1 = none), each with
the grid beat it was quantized to (NaN when unquantized) so a tempo change can move it to the new grid
frame. Two slots are needed because a one-shot's natural end and its next (re)start can both be pending.
"""

from __future__ import annotations

import math

import numpy as np

from groovebox.engine.commands import LaunchMode
from groovebox.engine.events import PadState
from groovebox.engine.gain import GainRamp, pan_gains
from groovebox.engine.stream import StreamReader
from groovebox.engine.voice import Playhead

__all__ = ["PadSlot", "Tail"]

NOT_DUE = -1


class PadSlot:
    """Settings, launch state and playhead of one pad."""

    __slots__ = ("index", "state", "audio", "region_start", "region_frames", "native_bpm", "volume", "pan",
                 "gains", "velocity", "launch_mode", "choke_group", "quantize", "playing", "playhead",
                 "start_due", "start_beat", "stop_due", "stop_beat", "stop_is_end", "stream")

    def __init__(self, index: int, max_block_frames: int) -> None:
        self.index = index
        self.state = PadState.EMPTY
        self.audio: np.ndarray | None = None
        self.region_start = 0
        self.region_frames = 0
        self.native_bpm = 120.0
        self.volume = 1.0
        self.pan = 0.0
        self.gains = GainRamp(max_block_frames)
        self.velocity = 1.0
        self.launch_mode = LaunchMode.TOGGLE
        self.choke_group = 0
        self.quantize = -1
        self.playing = False
        self.playhead = Playhead()
        self.stream: StreamReader | None = None      # set while the pad plays a live stream (stream.py)
        self.clear_start()
        self.clear_stop()

    @property
    def looping(self) -> bool:
        return self.launch_mode != LaunchMode.ONE_SHOT

    def set_mix(self, volume: float, pan: float, at_frame: int) -> None:
        """New volume/pan: glides while the pad sounds, applies at once otherwise."""
        self.volume = volume
        self.pan = pan
        if self.playing:
            self.gains.glide(self.target_gains(), at_frame)
        else:
            self.gains.jump(self.target_gains())

    def target_gains(self) -> tuple[float, float]:
        velocity = self.velocity if self.launch_mode == LaunchMode.ONE_SHOT else 1.0
        return pan_gains(self.volume * velocity, self.pan)

    def set_region(self, start_frame: int, end_frame: int) -> None:
        """Clamp the loop region to the audio; ``end_frame`` 0 means the end of the audio."""
        total = len(self.audio)
        end = total if end_frame <= 0 else min(end_frame, total)
        start = min(max(0, start_frame), max(0, end - 1))
        self.region_start = start
        self.region_frames = max(1, end - start)

    def rate(self, tempo_bpm: float) -> float:
        return tempo_bpm / self.native_bpm

    def clear_start(self) -> None:
        self.start_due = NOT_DUE
        self.start_beat = math.nan

    def clear_stop(self) -> None:
        self.stop_due = NOT_DUE
        self.stop_beat = math.nan
        self.stop_is_end = False


class Tail:
    """A sound fading out after a stop, retrigger or choke, so that nothing clicks.

    ``curve`` is the fade multiplied by the pad's gains at the moment it started, (fade frames, 2);
    ``source`` the effect source whose sends the fading sound keeps feeding (-1: none).
    """

    __slots__ = ("active", "playhead", "curve", "fade_start", "source")

    def __init__(self, fade_frames: int) -> None:
        self.active = False
        self.playhead = Playhead()
        self.curve = np.zeros((fade_frames, 2), np.float32)
        self.fade_start = 0
        self.source = -1
