"""Performances: Standard MIDI Files that press and release pads, for offline renders, tests and benches.

A note-on of notes 36-99 (any channel) presses pad index 0-63: notes 36-51 (C1-D#2, the General MIDI
drum-pad range) are bank 1, 52-67 bank 2, and so on; a note-off, or a note-on with velocity 0, releases it. Everything else is ignored and
counted. The tempo is the project's, not the file's: tempo meta events are ignored, ticks become beats
with the file's ``ticks_per_beat`` and beats become frames at the project bpm. All tracks are merged.

Runs on the control thread or in a render worker; reading uses mido's file parser only (no ports).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import mido

__all__ = [
    "FIRST_PAD_NOTE",
    "PadAction",
    "Performance",
    "PerformanceError",
    "beat_to_frame",
    "parse_performance",
    "read_performance",
    "write_performance",
]

FIRST_PAD_NOTE = 36  # pad index 0; pad index i is note 36 + i
_PAD_COUNT = 64


@dataclass(frozen=True, slots=True)
class PadAction:
    """Press (``pressed=True``) or release a pad at an absolute frame. ``velocity`` is 0..1 (MIDI velocity / 127)."""

    at_frame: int
    pad: int
    pressed: bool
    velocity: float


@dataclass(frozen=True, slots=True)
class Performance:
    """A parsed performance: the pad actions in play order plus what was skipped.

    ``end_frame`` is where the longest track ends (its end-of-track event), so a render knows how long
    to run. ``ignored_notes`` counts note events outside 36-99; ``ignored_messages`` counts other channel
    and system messages (controllers, pitch bend, sysex, ...). Meta events are not counted.
    """

    actions: tuple[PadAction, ...]
    end_frame: int
    ignored_notes: int
    ignored_messages: int


class PerformanceError(ValueError):
    """A performance file that is missing or is not a readable Standard MIDI File."""


def beat_to_frame(beat: float, bpm: float, sample_rate: int) -> int:
    """``round(beat * 60 * sample_rate / bpm)``: the nearest frame, exact halves to even (Python's ``round``).

    Never later than the transport's grid frame for the same beat (``ceil`` of the exact frame), so a
    press written exactly on a beat is launched on that beat's grid point, not the next one.
    """
    return round(beat * 60.0 * sample_rate / bpm)


def parse_performance(path: str | os.PathLike[str], bpm: float, sample_rate: int = 48000) -> Performance:
    """Read a performance file and place its pad actions at frames for ``bpm``; see the module docstring.

    Actions are sorted by frame; actions on the same tick keep the file order (track by track).
    Raises ``PerformanceError`` for a missing file or one that is not a Standard MIDI File.
    """
    if bpm <= 0 or sample_rate <= 0:
        raise ValueError(f"bpm and sample_rate must be positive, got {bpm} and {sample_rate}")
    midi = _open(path)
    actions: list[PadAction] = []
    ignored_notes = ignored_messages = tick = 0
    for message in mido.merge_tracks(midi.tracks):
        tick += message.time
        if message.is_meta:
            continue
        action = _pad_action(message, beat_to_frame(tick / midi.ticks_per_beat, bpm, sample_rate))
        if action is not None:
            actions.append(action)
        elif message.type in ("note_on", "note_off"):
            ignored_notes += 1
        else:
            ignored_messages += 1
    end_frame = beat_to_frame(tick / midi.ticks_per_beat, bpm, sample_rate)
    return Performance(tuple(actions), end_frame, ignored_notes, ignored_messages)


def read_performance(path: str | os.PathLike[str], bpm: float, sample_rate: int = 48000) -> list[PadAction]:
    """The pad actions of a performance file, sorted by frame (see ``parse_performance``)."""
    return list(parse_performance(path, bpm, sample_rate).actions)


def _open(path: str | os.PathLike[str]) -> mido.MidiFile:
    try:
        midi = mido.MidiFile(os.fspath(path))
    except FileNotFoundError:
        raise PerformanceError(f"{os.fspath(path)}: file not found") from None
    except (OSError, EOFError, ValueError, KeyError, IndexError) as error:
        raise PerformanceError(f"{os.fspath(path)}: not a readable MIDI file: {error}") from None
    if not 0 < midi.ticks_per_beat < 0x8000:  # the top bit set means SMPTE frames, not ticks per beat
        raise PerformanceError(f"{os.fspath(path)}: only ticks-per-beat time division is supported")
    return midi


def _pad_action(message: mido.Message, at_frame: int) -> PadAction | None:
    if message.type not in ("note_on", "note_off"):
        return None
    pad = message.note - FIRST_PAD_NOTE
    if not 0 <= pad < _PAD_COUNT:
        return None
    pressed = message.type == "note_on" and message.velocity > 0
    return PadAction(at_frame, pad, pressed, message.velocity / 127.0)


def write_performance(
    path: str | os.PathLike[str],
    actions_beats: Iterable[tuple[float, int, bool, float]],
    *,
    ticks_per_beat: int = 480,
    tempo_bpm: float = 120.0,
    channel: int = 9,
) -> None:
    """Write a one-track performance from ``(at_beat, pad, pressed, velocity)`` tuples (velocity 0..1).

    Beats are rounded to the nearest tick. Presses use velocity 1-127; releases are note-offs carrying
    their velocity as release velocity. ``tempo_bpm`` is stored as a tempo event for other MIDI tools; the
    groovebox ignores it when reading. Actions at the same beat keep their given order.
    """
    timed = sorted(
        ((round(at_beat * ticks_per_beat), _message(pad, pressed, velocity, channel))
         for at_beat, pad, pressed, velocity in actions_beats),
        key=lambda item: item[0],
    )
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo_bpm), time=0)])
    previous_tick = 0
    for tick, message in timed:
        if tick < 0:
            raise ValueError(f"an action at a negative beat: tick {tick}")
        track.append(message.copy(time=tick - previous_tick))
        previous_tick = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    midi = mido.MidiFile(type=0, ticks_per_beat=ticks_per_beat)
    midi.tracks.append(track)
    midi.save(os.fspath(path))


def _message(pad: int, pressed: bool, velocity: float, channel: int) -> mido.Message:
    if not 0 <= pad < _PAD_COUNT:
        raise ValueError(f"pad must be 0-{_PAD_COUNT - 1}, got {pad}")
    value = round(min(max(velocity, 0.0), 1.0) * 127)
    note = FIRST_PAD_NOTE + pad
    if pressed:
        return mido.Message("note_on", channel=channel, note=note, velocity=max(value, 1))
    return mido.Message("note_off", channel=channel, note=note, velocity=value)
