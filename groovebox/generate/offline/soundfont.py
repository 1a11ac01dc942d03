"""General MIDI SoundFont rendering through FluidSynth (pyfluidsynth + libfluidsynth), worker process.

Decisions:
- SoundFont: ``$GROOVEBOX_SOUNDFONT`` if set, else ``/usr/share/sounds/sf2/TimGM6mb.sf2`` (Debian
  ``timgm6mb-soundfont``), looked up at call time. Missing file or library: ``available()`` is False and
  the caller uses numpy voices instead (logged once per process as a warning).
- Determinism: a fresh synth per render (no state carried between renders), float output through
  ``fluid_synth_process`` (the int16 path adds dither), chorus off (its LFO is the only modulation),
  reverb settings fixed per render. The same events give bit-identical output.
- The SoundFont is parsed once per process (30 ms saved per render) by a holder synth that is never
  played; each render's fresh synth borrows it with ``fluid_synth_add_sfont`` and hands it back with
  ``fluid_synth_remove_sfont`` before it is deleted. Sample data is read-only (dynamic sample loading is
  off), so borrowing carries no state from one render to the next. A lock serialises renders per process.
- All GM parts of a loop render in one synth, one *audio group* per part (FluidSynth routes MIDI channel
  ``c`` to group ``c % groups``), so stems come out separately from one pass. Reverb units cost as much
  as several voices, so only parts with a reverb send get an effects group (they take the first channels).
- Events are applied between ``fluid_synth_process`` calls on whole segments (never per sample); FluidSynth
  starts them on its 64-frame block grid (the caller picks a rate at which that grid repeats every 16th
  note). A note-on for a key that is still sounding on the channel releases the old note first, and that
  old note's later note-off is dropped. FluidSynth's warning/info/debug log output is switched off for
  the process (errors still print).
- Drums use bank 128 preset 0 ("Standard") on the part's own channel, so any channel can be a kit. Kits
  in a loop come from ``drum_one_shot``: each hit rendered once and placed by numpy on its exact frame.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import logging
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = [
    "DEFAULT_SOUNDFONT",
    "DRUM_VELOCITY_LAYERS",
    "GM_DRUM_NOTES",
    "GmPart",
    "available",
    "drum_note_off_frames",
    "drum_one_shot",
    "find_soundfont",
    "render_gm",
]

log = logging.getLogger(__name__)

DEFAULT_SOUNDFONT = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
GM_DRUM_NOTES = {"kick": 36, "snare": 38, "clap": 39, "rim": 37, "hat": 42, "ohat": 46, "shaker": 70, "perc": 76,
                 "conga": 63, "tom_hi": 50, "tom_mid": 47, "tom_lo": 43, "crash": 49, "ride": 51, "tick": 75}
_DRUM_NOTE_FRAMES_S = 0.25
_DRUM_ONE_SHOT_S = 2.5
DRUM_VELOCITY_LAYERS = (24, 44, 64, 84, 104, 127)
_FLUID_WARN, _FLUID_DBG = 2, 4
_GEN_REVERB_SEND = 16          # SF2 generator reverbEffectsSend (0.1 % units)
_warned: set[str] = set()
_lock = threading.Lock()
_holders: dict[tuple[str, float], tuple[object, int]] = {}    # (path, mtime) -> (holder synth, fluid_sfont_t*)


@dataclass(frozen=True)
class GmPart:
    """One GM stem: program (or the drum kit) and its notes as ``(on_frame, off_frame, key, velocity 1-127)``."""

    program: int
    drums: bool
    events: tuple[tuple[int, int, int, int], ...]
    reverb_send: int = 40
    pan: int = 64


def find_soundfont() -> Path | None:
    """The SoundFont to use now, or None (with a warning logged once) when the file is missing."""
    override = os.environ.get("GROOVEBOX_SOUNDFONT")
    path = Path(override) if override else DEFAULT_SOUNDFONT
    if path.is_file():
        return path
    _warn_once(f"SoundFont {path} not found; offline loops use numpy voices instead of General MIDI instruments")
    return None


def _fluidsynth():
    try:
        # pyfluidsynth prints where it found the library when $CI is set; stdout belongs to the CLI's --json.
        with contextlib.redirect_stdout(io.StringIO()):
            import fluidsynth
    except (ImportError, OSError) as error:
        _warn_once(f"pyfluidsynth/libfluidsynth unavailable ({error}); offline loops use numpy voices")
        return None
    return fluidsynth


def available() -> bool:
    """True when both the FluidSynth library and a SoundFont file are present."""
    return _fluidsynth() is not None and find_soundfont() is not None


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        log.warning(message)


def _quiet(module) -> None:
    """Silence FluidSynth's own warning/info/debug printing (errors still reach stderr)."""
    set_log = getattr(module._fl, "fluid_set_log_function", None)
    if set_log is not None:
        set_log.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
        for level in range(_FLUID_WARN, _FLUID_DBG + 1):
            set_log(level, None, None)


def render_gm(parts: list[GmPart], total_frames: int, sample_rate: int, room_size: float) -> np.ndarray | None:
    """Render every part: float32 (2 * len(parts), total_frames), rows part0 L, part0 R, part1 L, ...

    None when FluidSynth or the SoundFont is missing.
    """
    module = _fluidsynth()
    soundfont = find_soundfont()
    if module is None or soundfont is None:
        return None
    if not parts:
        return np.zeros((0, total_frames), np.float32)
    # parts that want reverb take the first channels: FluidSynth sends channel c's effects to effects
    # group c % effects_groups, so only those parts pay for a reverb unit (about 8 ms per 10 s at 24 kHz)
    order = sorted(range(len(parts)), key=lambda i: parts[i].reverb_send == 0)
    ordered = [parts[i] for i in order]
    wet_parts = sum(1 for part in parts if part.reverb_send > 0)
    with _lock:
        _quiet(module)
        sfont = _shared_soundfont(module, soundfont)
        if sfont is None:
            return None
        synth = _new_synth(module, len(parts), max(1, wet_parts), sample_rate, room_size)
        borrowed_id = _fn(module, "fluid_synth_add_sfont", [ctypes.c_void_p, ctypes.c_void_p])(synth.synth, sfont)
        try:
            if borrowed_id < 0:
                raise RuntimeError(f"FluidSynth could not use {soundfont}")
            rendered = np.zeros((2 * len(parts), total_frames), np.float32)
            _setup_channels(module, synth, ordered, borrowed_id)
            _play(module, synth, ordered, rendered, max(1, wet_parts))
            _silence(module, synth, len(parts), max(1, wet_parts))
        finally:
            if borrowed_id >= 0:
                _fn(module, "fluid_synth_remove_sfont", [ctypes.c_void_p, ctypes.c_void_p])(synth.synth, sfont)
            synth.delete()
    out = np.empty_like(rendered)
    for channel, index in enumerate(order):
        out[2 * index:2 * index + 2] = rendered[2 * channel:2 * channel + 2]
    return out


def drum_one_shot(voice: str, velocity: float, sample_rate: int,
                  soundfont: Path | None = None) -> tuple[np.ndarray, float] | None:
    """A GM kit hit for ``voice`` as (float32 (frames, 2) sample, gain for ``velocity`` 0..1), or None.

    Drum hits are one-shots, so each (note, velocity layer) is rendered once per process and mixed by
    the caller at the exact frame: FluidSynth itself would place each hit on its 64-frame block grid, and
    bar lines a few milliseconds apart read as a seam click. Velocity picks the nearest of
    ``DRUM_VELOCITY_LAYERS``; the gain covers the rest linearly. ``soundfont``: the file to use (looked up
    when None).
    """
    soundfont = soundfont or find_soundfont()
    if soundfont is None or _fluidsynth() is None:
        return None
    midi_velocity = max(1, min(127, round(velocity * 127)))
    layer = min(DRUM_VELOCITY_LAYERS, key=lambda v: abs(v - midi_velocity))
    sample = _drum_sample(str(soundfont), soundfont.stat().st_mtime, GM_DRUM_NOTES[voice], layer, sample_rate)
    return sample, midi_velocity / layer


@lru_cache(maxsize=256)
def _drum_sample(soundfont: str, mtime: float, note: int, velocity: int, sample_rate: int) -> np.ndarray:
    frames = int(_DRUM_ONE_SHOT_S * sample_rate)
    hold = drum_note_off_frames(sample_rate)
    rendered = render_gm([GmPart(0, True, ((0, hold, note, velocity),), reverb_send=0)], frames, sample_rate, 0.2)
    sample = np.ascontiguousarray(rendered.T)
    audible = np.flatnonzero(np.abs(sample).max(axis=1) > 1e-5)
    sample = sample[:audible[-1] + 1 if audible.size else 1].copy()
    sample.flags.writeable = False
    return sample


def _fn(module, name: str, argtypes: list):
    function = getattr(module._fl, name)
    function.argtypes = argtypes
    function.restype = ctypes.c_void_p if name.endswith("_by_id") else ctypes.c_int
    return function


def _shared_soundfont(module, path: Path) -> int | None:
    """The process-wide parsed SoundFont (a ``fluid_sfont_t*``), loaded on first use."""
    key = (str(path), path.stat().st_mtime)
    if key not in _holders:
        holder = module.Synth(gain=0.0, samplerate=48000.0)
        soundfont_id = holder.sfload(str(path))
        if soundfont_id < 0:
            holder.delete()
            _warn_once(f"FluidSynth could not load {path}; offline loops use numpy voices")
            return None
        sfont = _fn(module, "fluid_synth_get_sfont_by_id", [ctypes.c_void_p, ctypes.c_int])(holder.synth, soundfont_id)
        _holders[key] = (holder, sfont)
    return _holders[key][1]


def _new_synth(module, groups: int, effects_groups: int, sample_rate: int, room_size: float):
    return module.Synth(gain=0.4, samplerate=float(sample_rate), **{
        "synth.audio-groups": groups, "synth.audio-channels": groups, "synth.effects-groups": effects_groups,
        "synth.chorus.active": 0, "synth.reverb.active": 1, "synth.cpu-cores": 1, "synth.polyphony": 256,
        "synth.reverb.room-size": float(room_size), "synth.reverb.damp": 0.4, "synth.reverb.width": 0.8,
        "synth.reverb.level": 0.9, "synth.midi-channels": 16, "synth.dynamic-sample-loading": 0})


def _setup_channels(module, synth, parts: list[GmPart], soundfont_id: int) -> None:
    set_gen = _fn(module, "fluid_synth_set_gen", [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_float])
    for channel, part in enumerate(parts):
        synth.program_select(channel, soundfont_id, 128 if part.drums else 0, 0 if part.drums else part.program)
        synth.cc(channel, 7, 127)
        synth.cc(channel, 10, part.pan)
        synth.cc(channel, 91, part.reverb_send)
        synth.cc(channel, 93, 0)
        if part.reverb_send == 0:
            # instruments carry their own reverb send (SF2 generator); a -100 % offset makes a dry part dry,
            # so it adds nothing to the effects group it shares with a wet part
            set_gen(synth.synth, channel, _GEN_REVERB_SEND, -1000.0)


def _silence(module, synth, channels: int, effects_groups: int) -> None:
    """Stop every voice and let FluidSynth free them before the borrowed SoundFont is handed back."""
    for channel in range(channels):
        synth.all_sounds_off(channel)
    scratch = np.zeros((2 * channels, 64), np.float32)
    process = _fn(module, "fluid_synth_process", [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_void_p,
                                                  ctypes.c_int, ctypes.c_void_p])
    _process(process, synth, scratch, 0, 64, effects_groups)


def _schedule(parts: list[GmPart]) -> list[tuple[int, int, int, int, int, int]]:
    """(frame, kind 0=off/1=on, channel, key, velocity, note id) sorted; offs before ons on the same frame."""
    events = []
    for channel, part in enumerate(parts):
        for note_id, (on, off, key, velocity) in enumerate(part.events):
            events.append((on, 1, channel, key, velocity, note_id))
            events.append((max(off, on + 1), 0, channel, key, 0, note_id))
    return sorted(events)


def _play(module, synth, parts: list[GmPart], out: np.ndarray, effects_groups: int) -> None:
    process = _fn(module, "fluid_synth_process", [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_void_p,
                                                  ctypes.c_int, ctypes.c_void_p])
    total_frames = out.shape[1]
    sounding: dict[tuple[int, int], int] = {}
    cursor = 0
    for frame, kind, channel, key, velocity, note_id in _schedule(parts):
        frame = min(frame, total_frames)
        if frame > cursor:
            _process(process, synth, out, cursor, frame, effects_groups)
            cursor = frame
        if kind == 1:
            if (channel, key) in sounding:
                synth.noteoff(channel, key)
            synth.noteon(channel, key, velocity)
            sounding[(channel, key)] = note_id
        elif sounding.get((channel, key)) == note_id:
            synth.noteoff(channel, key)
            del sounding[(channel, key)]
    if cursor < total_frames:
        _process(process, synth, out, cursor, total_frames, effects_groups)


def _process(process, synth, out: np.ndarray, start: int, end: int, effects_groups: int) -> None:
    """Render frames [start, end) of every group into ``out`` (rows: group0 L, group0 R, group1 L, ...).

    Effects group j (reverb L/R, chorus L/R) is mixed into audio group j's rows."""
    rows = out.shape[0]
    first = out.ctypes.data + start * out.strides[1]
    dry_addresses = [first + row * out.strides[0] for row in range(rows)]
    dry = (ctypes.c_void_p * rows)(*dry_addresses)
    fx_count = 4 * effects_groups
    fx = (ctypes.c_void_p * fx_count)(*[dry_addresses[(k // 4) * 2 + (k % 2)] for k in range(fx_count)])
    result = process(synth.synth, end - start, fx_count, fx, rows, dry)
    if result != 0:
        raise RuntimeError(f"fluid_synth_process failed ({result})")


def drum_note_off_frames(sample_rate: int) -> int:
    """How long a GM drum note is held (drum samples mostly ignore note-off)."""
    return int(_DRUM_NOTE_FRAMES_S * sample_rate)
