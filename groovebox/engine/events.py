"""Events the engine reports (audio -> control), in the past tense.

Created on the audio thread only when something happens (a pad changes state, a buffer is replaced), never
per block: continuous values (position, meters) live in ``Engine.status`` instead, which the control thread
reads. The control thread drains ``Engine.poll_events()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

__all__ = [
    "PadState",
    "PadStateChanged",
    "BufferReleased",
    "TempoChanged",
    "StreamDetached",
    "SongState",
    "SongStateChanged",
    "SongLocated",
    "SongReleased",
    "EffectReleased",
    "EffectFailed",
    "RecordingDone",
    "RecordingCancelled",
    "Status",
]


class PadState(IntEnum):
    """Pad launch states::

        EMPTY --load--> LOADED --press--> QUEUED --grid--> PLAYING --press--> STOPPING --grid--> LOADED
                          ^                  |  (press again cancels)   |   (press again cancels)
                          +------------------+--------------------------+ (gate release, one-shot end, choke)
    """

    EMPTY = 0
    LOADED = 1
    QUEUED = 2
    PLAYING = 3
    STOPPING = 4
    RECORDING = 5       # an empty pad taking the audio input (QUEUED during its count-in; see recorder.py)


@dataclass(frozen=True, slots=True)
class PadStateChanged:
    """``pad`` entered ``state`` at engine frame ``at_frame`` (for QUEUED/STOPPING: when it was decided;
    ``due_frame`` is when the start/stop will happen)."""

    pad: int
    state: PadState
    at_frame: int
    due_frame: int = -1


@dataclass(frozen=True, slots=True)
class BufferReleased:
    """The engine no longer references ``audio``; the control thread may drop it."""

    audio: np.ndarray


@dataclass(frozen=True, slots=True)
class RecordingDone:
    """A recording into ``pad`` is complete: ``audio`` (``bars`` bars, played at ``native_bpm``) is what the
    pad has been playing since ``end_frame``. ``buffer`` is the whole preallocated buffer ``audio`` is a view
    of; the pad keeps the view until the control thread loads something else."""

    pad: int
    audio: np.ndarray
    buffer: np.ndarray
    native_bpm: float
    bars: int
    start_frame: int
    end_frame: int


@dataclass(frozen=True, slots=True)
class RecordingCancelled:
    """The recording armed on ``pad`` was cancelled (or refused: the pad was not empty, or another recording
    was running) and its ``buffer`` is free."""

    pad: int
    buffer: np.ndarray | None


@dataclass(frozen=True, slots=True)
class TempoChanged:
    tempo_bpm: float
    at_frame: int


@dataclass(frozen=True, slots=True)
class StreamDetached:
    """``pad`` stopped being a stream pad at ``at_frame`` (``DetachStream``, or a ``LoadPad``/``UnloadPad`` of
    it); its ring and header come back in ``BufferReleased`` events."""

    pad: int
    at_frame: int


class SongState(IntEnum):
    """Song transport states: STOPPED --play--> QUEUED --grid--> PLAYING --stop--> STOPPED (an unquantized
    play goes straight to PLAYING; a stop while QUEUED cancels the start)."""

    STOPPED = 0
    QUEUED = 1
    PLAYING = 2


@dataclass(frozen=True, slots=True)
class SongStateChanged:
    """The song transport entered ``state`` at engine frame ``at_frame``; ``beat`` is the song position there
    (in beats, counted from song bar 0), or where it will start when QUEUED (``due_frame``: the start frame)."""

    state: SongState
    at_frame: int
    due_frame: int
    beat: float


@dataclass(frozen=True, slots=True)
class SongLocated:
    """The song position jumped to ``beat`` at ``at_frame`` (a locate, a rewind, a loop-region wrap)."""

    beat: float
    at_frame: int


@dataclass(frozen=True, slots=True)
class SongReleased:
    """A ``SetSong`` replaced this arrangement (``engine.song.Arrangement``); the engine no longer references
    it or its audio, so the control thread may drop it."""

    arrangement: object


@dataclass(frozen=True, slots=True)
class EffectReleased:
    """The engine no longer uses this effect processor (replaced by a ``SetEffect``); the control thread may
    drop it."""

    processor: object


@dataclass(frozen=True, slots=True)
class EffectFailed:
    """The processor of effect slot ``slot`` (a bus, or ``effects.MASTER``) raised or returned the wrong shape;
    the engine dropped it (the bus is silent, the master insert passes the mix) and releases it."""

    slot: int
    reason: str


class Status:
    """Indices into ``Engine.status`` (float64 array written in place every block).

    ``SONG_STATE`` is a ``SongState``; ``SONG_BEAT``/``SONG_BAR`` the song position (beats / bars from song bar 0,
    fractional) at the end of the block: moving while playing, fixed while stopped or queued.
    """

    FRAME = 0
    BEAT = 1
    TEMPO_BPM = 2
    PEAK_L = 3
    PEAK_R = 4
    RMS_L = 5
    RMS_R = 6
    GAIN_REDUCTION_DB = 7
    SONG_STATE = 8
    SONG_BEAT = 9
    SONG_BAR = 10
    SIZE = 11
