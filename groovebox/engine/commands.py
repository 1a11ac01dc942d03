"""Commands the control thread posts to the engine (control -> audio).

Commands are frozen, slotted dataclasses named as imperatives. The control thread builds them (that
allocates, which is fine there); the audio thread only reads their fields inside ``Engine.render``.
Frames are absolute engine frames (48 kHz sample clock since the engine started).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import IntEnum

import numpy as np

from groovebox.engine.effects import BUSES, MASTER
from groovebox.engine.song import MAX_TRACKS, Arrangement, build_arrangement
from groovebox.engine.stream import Header
from groovebox.engine.tap import MasterTap

__all__ = [
    "validated",
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
    "AttachStream",
    "DetachStream",
    "SongTrack",
    "SongClip",
    "SetSong",
    "SetTrackMix",
    "SongPlay",
    "SongStop",
    "SongLocate",
    "SetSongLoop",
    "SetEffect",
    "SetPadSends",
    "SetTrackSends",
    "ArmRecord",
    "StopRecord",
    "SetMasterTap",
    "MAX_TRACKS",
    "BUSES",
    "MASTER",
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
    tempo the audio was played at (varispeed keeps it on the grid when the project tempo differs). A playing
    pad carries on from the same beat in the new audio, crossfading over the declick frames (at ``at_frame``
    when given: a time-stretched loop swapped in on a bar line).
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
    at_frame: int | None = None  # None = at the start of the block that drains it; else on that frame
    only_replacing: np.ndarray | None = None  # given: applies only if the pad still holds exactly this audio


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
    """Stop every pad (on the grid, or at once). ``one_shots=False`` lets one-shots ring out."""

    at_frame: int | None = None
    quantized: bool = True
    one_shots: bool = True


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


@dataclass(frozen=True, slots=True)
class AttachStream:
    """Make ``pad`` a stream pad that plays a live ring (see ``engine/stream.py``); it launches like any pad.

    ``ring`` is float32 (frames, 2), C-contiguous, usually in shared memory; ``header`` the float64 stream
    header beside it. ``prebuffer_frames`` of written audio must lie ahead of the read position at a lock.
    Both arrays come back in ``BufferReleased`` events once the engine lets go of them (``DetachStream``, or a
    ``LoadPad``/``UnloadPad`` of the pad).
    """

    pad: int
    ring: np.ndarray
    header: np.ndarray
    prebuffer_frames: int
    volume: float = 1.0
    pan: float = 0.0
    launch_mode: LaunchMode = LaunchMode.TOGGLE
    quantize: int = -1


@dataclass(frozen=True, slots=True)
class DetachStream:
    """Stop and empty ``pad`` if it is a stream pad (a no-op otherwise)."""

    pad: int


@dataclass(frozen=True, slots=True)
class SongTrack:
    """A song track's mix (``SetSong``); ``SetTrackMix`` changes it while the song plays."""

    volume: float = 0.8
    pan: float = 0.0
    muted: bool = False
    soloed: bool = False


@dataclass(frozen=True, slots=True)
class SongClip:
    """A loop placed on track ``track`` from ``start_bar`` (0 = the song's first bar) for ``length_bars``.

    ``audio`` is float32, C-contiguous, (frames, 2) at the engine rate; clips that play the same loop should
    share one array. ``region_start_frame``/``region_end_frame`` (0 = the end) bound the part that loops: it
    repeats to fill the clip, and a shorter clip cuts it. ``native_bpm`` is the tempo the audio was played at
    (varispeed follows the engine tempo); 0 = unknown: it plays at rate 1 at any tempo. ``volume``/``pan``
    replace the track's when given.
    """

    track: int
    audio: np.ndarray
    start_bar: float
    length_bars: float
    native_bpm: float = 0.0
    region_start_frame: int = 0
    region_end_frame: int = 0
    volume: float | None = None
    pan: float | None = None


@dataclass(frozen=True, slots=True)
class SetSong:
    """Replace the song (tracks with their mix, and clips). Posting it again while the song plays keeps
    tracks whose sound does not change untouched. ``arrangement`` is filled in by validation (control
    thread); leave it None. The replaced arrangement comes back in a ``SongReleased`` event."""

    tracks: tuple[SongTrack, ...]
    clips: tuple[SongClip, ...] = ()
    at_frame: int | None = None
    arrangement: Arrangement | None = None


@dataclass(frozen=True, slots=True)
class SetTrackMix:
    """A song track's volume, pan, mute and solo (glides while it sounds)."""

    track: int
    volume: float
    pan: float
    muted: bool = False
    soloed: bool = False
    at_frame: int | None = None


@dataclass(frozen=True, slots=True)
class SongPlay:
    """Play the song from its position: on the next grid point where the engine's place in the bar is the
    song position's (``quantized``, like a launch), or at once (the grid moves to line the bars up)."""

    at_frame: int | None = None
    quantized: bool = True


@dataclass(frozen=True, slots=True)
class SongStop:
    """Stop the song (the position stays where it stopped), at once or on the next bar line."""

    at_frame: int | None = None
    quantized: bool = False


@dataclass(frozen=True, slots=True)
class SongLocate:
    """Move the song position to ``beat`` (beats from song bar 0; a bar is ``beats_per_bar`` beats), or by
    ``beat`` when ``relative`` (rewind one bar: ``SongLocate(-4, relative=True)``). While the song plays the
    jump is ``quantized`` (on the next grid point with the target's place in the bar; relative jumps on the
    next bar line) or at once."""

    beat: float
    at_frame: int | None = None
    relative: bool = False
    quantized: bool = True


@dataclass(frozen=True, slots=True)
class SetSongLoop:
    """Loop the song over bars ``[start_bar, end_bar)`` (whole bars) while ``enabled``."""

    enabled: bool
    start_bar: int = 0
    end_bar: int = 1
    at_frame: int | None = None


@dataclass(frozen=True, slots=True)
class SetEffect:
    """Put ``processor`` on effect slot ``slot`` (0..BUSES-1: a send bus; ``MASTER``: the master insert), or
    empty it (None). The slot crossfades to it over ``effects.FADE_FRAMES`` from the block that picks it up.

    ``processor`` has ``process(block) -> block`` (float32 (frames, 2)) and ``reset()``; it is built above the
    engine (``groovebox.fx``) and must not be shared with another slot or engine. It comes back in an
    ``EffectReleased`` event once the engine no longer uses it.
    """

    slot: int
    processor: object | None = None


@dataclass(frozen=True, slots=True)
class SetPadSends:
    """A pad's send levels (0..1, one per bus, post-fader); they glide and persist across ``LoadPad``."""

    pad: int
    levels: tuple[float, ...] = (0.0,) * BUSES


@dataclass(frozen=True, slots=True)
class SetTrackSends:
    """A song track's send levels (0..1, one per bus, post-fader); they glide and persist across ``SetSong``."""

    track: int
    levels: tuple[float, ...] = (0.0,) * BUSES


@dataclass(frozen=True, slots=True)
class ArmRecord:
    """Record the audio input into empty pad ``pad`` (see ``recorder.py``): a count-in of at least a bar,
    then ``bars`` bars (0: until ``StopRecord`` or a press of the pad). ``buffer`` is zeroed float32
    (frames, 2) that the control thread allocated, at least a bar long at the current tempo;
    ``latency_frames`` is the round trip from the engine's output back to its input."""

    pad: int
    buffer: np.ndarray
    bars: int = 0
    latency_frames: int = 0


@dataclass(frozen=True, slots=True)
class StopRecord:
    """End the running recording on the nearest bar line; ``cancel`` (or a stop during the count-in)
    drops it and leaves the pad empty."""

    cancel: bool = False


@dataclass(frozen=True, slots=True)
class SetMasterTap:
    """Copy every block of the master output into ``tap`` from the next block on (None: stop). The control
    thread keeps its own reference, so the engine never frees it."""

    tap: MasterTap | None


Command = (
    LoadPad | UnloadPad | PressPad | ReleasePad | StopPad | StopAll | SetPadMix | SetPadRegion | SetTempo
    | SetQuantize | SetMaster | SetMetronome | Locate | AttachStream | DetachStream | SetSong | SetTrackMix
    | SongPlay | SongStop | SongLocate | SetSongLoop | SetEffect | SetPadSends | SetTrackSends | ArmRecord
    | StopRecord | SetMasterTap
)

MAX_RECORD_BARS = 256
MAX_RECORD_LATENCY_FRAMES = 48000


MIN_BPM = 10.0
MAX_BPM = 1000.0


def validated(command: Command, pads: int, beats_per_bar: int = 4) -> Command:
    """Check a command on the control thread so that nothing can raise or turn into NaN in ``render``.

    Raises ``ValueError`` with a clear message; returns the command with enums normalised and gains clamped
    (a ``SetSong`` also gets its ``arrangement``, built for ``beats_per_bar``).
    """
    if hasattr(command, "pad") and not 0 <= command.pad < pads:
        raise ValueError(f"pad index {command.pad} out of range 0..{pads - 1}")
    if getattr(command, "at_frame", None) is not None and command.at_frame < 0:
        raise ValueError("at_frame must not be negative")
    if isinstance(command, SetSong):
        return _check_song(command, beats_per_bar)
    check = _CHECKS.get(type(command))
    return check(command) if check else command


def _finite(name: str, value: float, low: float = -math.inf, high: float = math.inf) -> float:
    if not isinstance(value, (int, float)) or not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"{name} must be a finite number in [{low}, {high}], got {value!r}")
    return float(value)


def _unit(name: str, value: float) -> float:
    return _finite(name, value, 0.0, 1.0)


def _check_audio(audio: np.ndarray) -> None:
    if not isinstance(audio, np.ndarray) or audio.dtype != np.float32 or audio.ndim != 2 or audio.shape[1] != 2:
        raise ValueError("pad audio must be a float32 array of shape (frames, 2)")
    if not audio.flags.c_contiguous or len(audio) == 0:
        raise ValueError("pad audio must be C-contiguous and not empty")
    if not np.isfinite(audio).all():
        raise ValueError("pad audio contains NaN or infinite samples")


def _check_region(command: LoadPad | SetPadRegion) -> LoadPad | SetPadRegion:
    if command.region_start_frame < 0 or command.region_end_frame < 0:
        raise ValueError("loop region frames must not be negative")
    return command


def _check_load(command: LoadPad) -> LoadPad:
    _check_audio(command.audio)
    _check_region(command)
    if not 0 <= command.choke_group <= 16:
        raise ValueError(f"choke_group must be 0..16, got {command.choke_group}")
    return replace(command, native_bpm=_finite("native_bpm", command.native_bpm, MIN_BPM, MAX_BPM),
                   volume=_unit("volume", command.volume), pan=_finite("pan", command.pan, -1.0, 1.0),
                   launch_mode=LaunchMode(command.launch_mode),
                   quantize=-1 if command.quantize == -1 else int(Quantize(command.quantize)))


MIN_STREAM_PREBUFFER_FRAMES = 256


def _check_stream(command: AttachStream) -> AttachStream:
    ring, header = command.ring, command.header
    if not isinstance(ring, np.ndarray) or ring.dtype != np.float32 or ring.ndim != 2 or ring.shape[1] != 2 \
            or not ring.flags.c_contiguous:
        raise ValueError("a stream ring must be a C-contiguous float32 array of shape (frames, 2)")
    if not isinstance(header, np.ndarray) or header.dtype != np.float64 or header.shape != (Header.SIZE,) \
            or not header.flags.writeable:
        raise ValueError(f"a stream header must be a writeable float64 array of {Header.SIZE} values")
    if not MIN_STREAM_PREBUFFER_FRAMES <= command.prebuffer_frames <= len(ring) // 4:
        raise ValueError(f"prebuffer_frames must be {MIN_STREAM_PREBUFFER_FRAMES}..{len(ring) // 4} for this "
                         f"ring, got {command.prebuffer_frames}")
    if LaunchMode(command.launch_mode) == LaunchMode.ONE_SHOT:
        raise ValueError("a stream pad cannot be a one-shot")
    return replace(command, prebuffer_frames=int(command.prebuffer_frames),
                   volume=_unit("volume", command.volume), pan=_finite("pan", command.pan, -1.0, 1.0),
                   launch_mode=LaunchMode(command.launch_mode),
                   quantize=-1 if command.quantize == -1 else int(Quantize(command.quantize)))


def _check_song(command: SetSong, beats_per_bar: int) -> SetSong:
    tracks, clips = tuple(command.tracks), tuple(command.clips)
    if len(tracks) > MAX_TRACKS:
        raise ValueError(f"a song has at most {MAX_TRACKS} tracks, got {len(tracks)}")
    tracks = tuple(_check_track(track, index) for index, track in enumerate(tracks))
    checked_audio: set[int] = set()
    clips = tuple(_check_clip(clip, index, len(tracks), checked_audio) for index, clip in enumerate(clips))
    return SetSong(tracks, clips, command.at_frame, build_arrangement(tracks, clips, beats_per_bar))


def _check_track(track: SongTrack, index: int) -> SongTrack:
    if not isinstance(track, SongTrack):
        raise ValueError(f"song track {index} must be a SongTrack")
    return SongTrack(_unit(f"track {index} volume", track.volume), _finite(f"track {index} pan", track.pan, -1.0, 1.0),
                     bool(track.muted), bool(track.soloed))


def _check_clip(clip: SongClip, index: int, tracks: int, checked_audio: set[int]) -> SongClip:
    if not isinstance(clip, SongClip):
        raise ValueError(f"song clip {index} must be a SongClip")
    if not isinstance(clip.track, int) or not 0 <= clip.track < tracks:
        raise ValueError(f"clip {index}: track {clip.track!r} out of range 0..{tracks - 1}")
    if id(clip.audio) not in checked_audio:
        _check_audio(clip.audio)
        checked_audio.add(id(clip.audio))
    _check_region(clip)
    native_bpm = 0.0 if clip.native_bpm == 0 else _finite(f"clip {index} native_bpm", clip.native_bpm, MIN_BPM, MAX_BPM)
    return replace(clip, start_bar=_finite(f"clip {index} start_bar", clip.start_bar, 0.0, 1e6),
                   length_bars=_positive(f"clip {index} length_bars", clip.length_bars), native_bpm=native_bpm,
                   region_start_frame=int(clip.region_start_frame), region_end_frame=int(clip.region_end_frame),
                   volume=None if clip.volume is None else _unit(f"clip {index} volume", clip.volume),
                   pan=None if clip.pan is None else _finite(f"clip {index} pan", clip.pan, -1.0, 1.0))


def _positive(name: str, value: float) -> float:
    value = _finite(name, value, 0.0, 1e6)
    if value <= 0.0:
        raise ValueError(f"{name} must be greater than 0, got {value!r}")
    return value


def _check_track_mix(command: SetTrackMix) -> SetTrackMix:
    if not isinstance(command.track, int) or not 0 <= command.track < MAX_TRACKS:
        raise ValueError(f"track index {command.track!r} out of range 0..{MAX_TRACKS - 1}")
    return replace(command, volume=_unit("volume", command.volume), pan=_finite("pan", command.pan, -1.0, 1.0),
                   muted=bool(command.muted), soloed=bool(command.soloed))


def _check_song_loop(command: SetSongLoop) -> SetSongLoop:
    start, end = command.start_bar, command.end_bar
    for name, value in (("start_bar", start), ("end_bar", end)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or value != int(value) or not 0 <= value <= 1e6:
            raise ValueError(f"loop {name} must be a whole, non-negative bar number, got {value!r}")
    if end <= start:
        raise ValueError(f"the loop region must end after it starts (bars {start}..{end})")
    return replace(command, enabled=bool(command.enabled), start_bar=int(start), end_bar=int(end))


def _check_effect(command: SetEffect) -> SetEffect:
    if isinstance(command.slot, bool) or not isinstance(command.slot, int) or not 0 <= command.slot <= MASTER:
        raise ValueError(f"effect slot {command.slot!r} out of range 0..{MASTER} ({MASTER} = the master insert)")
    processor = command.processor
    if processor is not None and not (callable(getattr(processor, "process", None))
                                      and callable(getattr(processor, "reset", None))):
        raise ValueError("an effect processor needs process(block) and reset() methods")
    return command


def _check_levels(levels: tuple[float, ...]) -> tuple[float, ...]:
    if not isinstance(levels, (tuple, list)) or len(levels) != BUSES:
        raise ValueError(f"send levels are {BUSES} numbers (one per bus), got {levels!r}")
    return tuple(_unit(f"send {bus}", level) for bus, level in enumerate(levels))


def _check_track_sends(command: SetTrackSends) -> SetTrackSends:
    if isinstance(command.track, bool) or not isinstance(command.track, int) or not 0 <= command.track < MAX_TRACKS:
        raise ValueError(f"track index {command.track!r} out of range 0..{MAX_TRACKS - 1}")
    return replace(command, levels=_check_levels(command.levels))


def _check_arm_record(command: ArmRecord) -> ArmRecord:
    buffer = command.buffer
    if not isinstance(buffer, np.ndarray) or buffer.dtype != np.float32 or buffer.ndim != 2 \
            or buffer.shape[1] != 2 or not buffer.flags.c_contiguous or not buffer.flags.writeable or not len(buffer):
        raise ValueError("a recording buffer must be a writeable, C-contiguous float32 array of shape (frames, 2)")
    if not 0 <= command.bars <= MAX_RECORD_BARS:
        raise ValueError(f"bars must be 0 (until stopped) .. {MAX_RECORD_BARS}, got {command.bars}")
    if not 0 <= command.latency_frames <= MAX_RECORD_LATENCY_FRAMES:
        raise ValueError(f"latency_frames must be 0..{MAX_RECORD_LATENCY_FRAMES}, got {command.latency_frames}")
    return replace(command, bars=int(command.bars), latency_frames=int(command.latency_frames))


_CHECKS = {
    AttachStream: _check_stream,
    LoadPad: _check_load,
    PressPad: lambda cmd: replace(cmd, velocity=_unit("velocity", cmd.velocity)),
    SetPadMix: lambda cmd: replace(cmd, volume=_unit("volume", cmd.volume), pan=_finite("pan", cmd.pan, -1.0, 1.0)),
    SetPadRegion: _check_region,
    SetTempo: lambda cmd: replace(cmd, tempo_bpm=_finite("tempo_bpm", cmd.tempo_bpm, MIN_BPM, MAX_BPM)),
    SetQuantize: lambda cmd: replace(cmd, quantize=Quantize(cmd.quantize)),
    SetMaster: lambda cmd: replace(cmd, volume=_unit("volume", cmd.volume)),
    SetMetronome: lambda cmd: replace(cmd, volume=_unit("volume", cmd.volume)),
    Locate: lambda cmd: replace(cmd, beat=_finite("beat", cmd.beat)),
    SetTrackMix: _check_track_mix,
    SongLocate: lambda cmd: replace(cmd, beat=_finite("beat", cmd.beat, -1e7, 1e7)),
    SetSongLoop: _check_song_loop,
    SetEffect: _check_effect,
    SetPadSends: lambda cmd: replace(cmd, levels=_check_levels(cmd.levels)),
    SetTrackSends: _check_track_sends,
    ArmRecord: _check_arm_record,
}
