"""Commands the control thread posts to the engine (control -> audio).

Commands are frozen, slotted dataclasses named as imperatives. The control thread builds them (that
allocates, which is fine there); the audio thread only reads their fields inside ``Engine.render``.
Frames are absolute engine frames (48 kHz sample clock since the engine started).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

__all__ = [
    "LaunchMode",
    "Quantize",
    "QUANTIZE_BEATS",
    "LoadPad",
    "UnloadPad",
    "PressPad",
    "ReleasePad",
    "StopPad",
    "StopAll",
    "SetPadMix",
    "SetPadRegion",
    "SetTempo",
    "SetQuantize",
    "SetMaster",
    "SetMetronome",
    "Locate",
    "Command",
]


class LaunchMode(IntEnum):
    """How a pad reacts to press and release.

    TOGGLE   press starts (quantized), the next press stops (quantized).
    TRIGGER  every press (re)starts from the region start on the grid; loops until stopped.
    GATE     press starts (quantized), release stops at once (a release before the start cancels it).
    ONE_SHOT every press (re)starts on the grid and plays the region once.
    """

    TOGGLE = 0
    TRIGGER = 1
    GATE = 2
    ONE_SHOT = 3


class Quantize(IntEnum):
    """Launch grid. Values index ``QUANTIZE_BEATS``; bars are ``beats_per_bar`` beats."""

    OFF = 0
    SIXTEENTH = 1
    EIGHTH = 2
    QUARTER = 3
    HALF = 4
    BAR = 5
    TWO_BARS = 6
    FOUR_BARS = 7


# Grid step in beats (a beat is a quarter note) or, for bar values, in bars (negative = bars).
QUANTIZE_BEATS: dict[Quantize, float] = {
    Quantize.OFF: 0.0,
    Quantize.SIXTEENTH: 0.25,
    Quantize.EIGHTH: 0.5,
    Quantize.QUARTER: 1.0,
    Quantize.HALF: 2.0,
    Quantize.BAR: -1.0,
    Quantize.TWO_BARS: -2.0,
    Quantize.FOUR_BARS: -4.0,
}


@dataclass(frozen=True, slots=True)
class LoadPad:
    """Give a pad its audio. ``audio`` is float32, C-contiguous, shape (frames, 2), at the engine rate.

    ``region_start_frame``/``region_end_frame`` bound the loop region inside ``audio``; ``native_bpm`` is the
    tempo the audio was played at (varispeed keeps it on the grid when the project tempo differs).
    The replaced buffer comes back in a ``BufferReleased`` event so it is freed off the audio thread.
    """

    pad: int
    audio: np.ndarray
    native_bpm: float
    region_start_frame: int = 0
    region_end_frame: int = 0  # 0 = end of audio
    volume: float = 1.0
    pan: float = 0.0
    launch_mode: LaunchMode = LaunchMode.TOGGLE
    choke_group: int = 0  # 0 = none
    quantize: int = -1  # -1 = follow the global quantize, else a Quantize value


@dataclass(frozen=True, slots=True)
class UnloadPad:
    pad: int


@dataclass(frozen=True, slots=True)
class PressPad:
    """A pad was pressed at ``at_frame`` (None = at the start of the block that drains it).

    ``velocity`` (0..1) scales one-shots on velocity-sensitive controllers; 1.0 otherwise.
    """

    pad: int
    at_frame: int | None = None
    velocity: float = 1.0


@dataclass(frozen=True, slots=True)
class ReleasePad:
    pad: int
    at_frame: int | None = None


@dataclass(frozen=True, slots=True)
class StopPad:
    """Stop a pad on the grid (``quantized``) or at once."""

    pad: int
    at_frame: int | None = None
    quantized: bool = True


@dataclass(frozen=True, slots=True)
class StopAll:
    at_frame: int | None = None
    quantized: bool = True


@dataclass(frozen=True, slots=True)
class SetPadMix:
    pad: int
    volume: float
    pan: float


@dataclass(frozen=True, slots=True)
class SetPadRegion:
    pad: int
    region_start_frame: int
    region_end_frame: int  # 0 = end of audio


@dataclass(frozen=True, slots=True)
class SetTempo:
    """Change tempo at ``at_frame`` (None = block start). Playing pads follow by varispeed."""

    tempo_bpm: float
    at_frame: int | None = None


@dataclass(frozen=True, slots=True)
class SetQuantize:
    quantize: Quantize


@dataclass(frozen=True, slots=True)
class SetMaster:
    volume: float


@dataclass(frozen=True, slots=True)
class SetMetronome:
    enabled: bool
    volume: float = 0.5


@dataclass(frozen=True, slots=True)
class Locate:
    """Move the musical clock so that ``at_frame`` is ``beat`` (e.g. rewind to bar 1 with beat=0)."""

    beat: float
    at_frame: int | None = None


Command = (
    LoadPad | UnloadPad | PressPad | ReleasePad | StopPad | StopAll | SetPadMix | SetPadRegion | SetTempo
    | SetQuantize | SetMaster | SetMetronome | Locate
)
