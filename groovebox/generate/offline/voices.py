"""Numpy synth voices: electronic drum kit and synth bass/pad/stab/pluck/bell/lead notes (worker process).

Everything is vectorised per hit or per note (no per-sample Python), float64 phase, float32 output.
Noise comes from seeded generators (the render's for synth notes, a fixed per-voice seed for the cached
drum samples), so the same seed gives bit-identical audio.

Recipes (``reference/generation.md`` §1.5):
- kick: sine with an exponential pitch drop (about 150 -> 50 Hz) plus a short noise click, soft-clipped.
- snare: high-passed noise plus a 180 Hz / 330 Hz tone; clap: four 8 ms-spaced noise bursts and a tail.
- hats: high-passed noise, 45 ms (closed) or 300 ms (open) decay; brightness raises the cutoff.
- 808 bass: sine with glide and a short pitch punch, long decay, tanh drive; acid: saw through a resonant
  low-pass whose envelope is a crossfade between a bright and a dark filtered copy (a time-varying
  filter without a per-sample loop); reese: detuned saws plus sine; pads: detuned saws, slow envelope.
- Tonal voices use harmonic spectra only (saw, square, sine, integer-ratio FM), so their partials stay
  on the harmonic series of in-scale notes.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from groovebox.generate.offline.dsp import (
    bandpass,
    biquad_lowpass,
    highpass,
    midi_hz,
    pan_stereo,
)

__all__ = [
    "DRUM_PANS",
    "SYNTH_VOICES",
    "NoteFrames",
    "drum_sample",
    "electronic_kit",
    "render_drum_hits",
    "render_synth_notes",
    "stem_lowpass_hz",
]

SYNTH_VOICES = ("808", "sub", "acid", "reese", "synth_bass", "pad", "stab", "pluck", "bell", "lead")
DRUM_PANS = {"hat": 0.25, "ohat": 0.25, "shaker": -0.35, "perc": -0.3, "conga": 0.3, "ride": 0.3, "crash": -0.2,
             "tom_hi": -0.3, "tom_mid": 0.0, "tom_lo": 0.3, "tick": 0.15}
# (start Hz, end Hz, amplitude decay s) of the kick per genre
_KICK_TUNING = {"trap": (130.0, 48.0, 0.28), "drum-and-bass": (180.0, 55.0, 0.18), "techno": (160.0, 47.0, 0.36),
                "hip-hop": (140.0, 52.0, 0.3), "lo-fi": (120.0, 52.0, 0.26), "reggaeton": (150.0, 50.0, 0.3)}
_DEFAULT_KICK = (155.0, 50.0, 0.32)
_ONSET_FADE_FRAMES = 32
_CHOKE_GROUP = ("hat", "ohat")
_CHOKE_FADE_FRAMES = 240


@dataclass(frozen=True, slots=True)
class NoteFrames:
    """A note placed in frames: onset, held length, MIDI pitch, velocity 0..1, optional glide start pitch."""

    start: int
    length: int
    pitch: int
    velocity: float
    glide_from: int | None = None


def _time(n: int, sample_rate: int) -> np.ndarray:
    return np.arange(n, dtype=np.float64) / sample_rate


def _noise(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.uniform(-1.0, 1.0, n)


def drum_sample(voice: str, sample_rate: int, brightness: float, rng: np.random.Generator, genre: str = "") -> np.ndarray:
    """One hit of ``voice`` at full velocity: float32 mono, peak about 1."""
    if voice == "kick":
        return _kick(sample_rate, rng, *_KICK_TUNING.get(genre, _DEFAULT_KICK))
    if voice in ("snare", "clap", "rim"):
        return {"snare": _snare, "clap": _clap, "rim": _rim}[voice](sample_rate, brightness, rng)
    if voice in ("hat", "ohat", "crash", "ride", "shaker"):
        return _metal(voice, sample_rate, brightness, rng)
    tuning = {"perc": (520.0, 0.07), "conga": (330.0, 0.16), "tom_hi": (210.0, 0.22), "tom_mid": (160.0, 0.25),
              "tom_lo": (115.0, 0.3), "tick": (2600.0, 0.012)}
    if voice not in tuning:
        raise ValueError(f"unknown drum voice {voice!r}")
    return _tom(sample_rate, rng, *tuning[voice])


def _kick(sample_rate: int, rng: np.random.Generator, start_hz: float, end_hz: float, decay_s: float) -> np.ndarray:
    n = int(decay_s * 4 * sample_rate)
    t = _time(n, sample_rate)
    freq = end_hz + (start_hz - end_hz) * np.exp(-t / 0.035)
    body = np.sin(2 * np.pi * np.cumsum(freq) / sample_rate) * np.exp(-t / decay_s)
    click = highpass(_noise(rng, n) * np.exp(-t / 0.0025), 1500.0, sample_rate) * 0.35
    return _normalise(np.tanh(1.6 * (body + click)))


def _snare(sample_rate: int, brightness: float, rng: np.random.Generator) -> np.ndarray:
    n = int(0.35 * sample_rate)
    t = _time(n, sample_rate)
    noise = highpass(_noise(rng, n), 1200.0 + 1500.0 * brightness, sample_rate) * np.exp(-t / 0.11)
    tone = (np.sin(2 * np.pi * 180.0 * t) + 0.5 * np.sin(2 * np.pi * 330.0 * t)) * np.exp(-t / 0.045)
    return _normalise(0.75 * noise + 0.55 * tone)


def _clap(sample_rate: int, brightness: float, rng: np.random.Generator) -> np.ndarray:
    n = int(0.4 * sample_rate)
    t = _time(n, sample_rate)
    env = 0.8 * np.exp(-np.maximum(t - 0.024, 0.0) / 0.12) * (t >= 0.024)
    for burst_s in (0.0, 0.008, 0.016, 0.024):
        env += (t >= burst_s) * np.exp(-np.maximum(t - burst_s, 0.0) / 0.004)
    return _normalise(bandpass(_noise(rng, n) * env, 800.0, 2200.0 + 2500.0 * brightness, sample_rate))


def _rim(sample_rate: int, brightness: float, rng: np.random.Generator) -> np.ndarray:
    n = int(0.08 * sample_rate)
    t = _time(n, sample_rate)
    tone = np.sin(2 * np.pi * 1750.0 * t) * np.exp(-t / 0.01) + 0.6 * np.sin(2 * np.pi * 520.0 * t) * np.exp(-t / 0.015)
    click = highpass(_noise(rng, n), 2000.0, sample_rate) * np.exp(-t / 0.004)
    return _normalise(tone + 0.5 * click)


def _metal(voice: str, sample_rate: int, brightness: float, rng: np.random.Generator) -> np.ndarray:
    decay_s, cutoff_hz, rise_s = {"hat": (0.045, 7000.0, 0.0), "ohat": (0.3, 6500.0, 0.0), "crash": (1.3, 4000.0, 0.0),
                                  "ride": (0.7, 5000.0, 0.0), "shaker": (0.055, 5000.0, 0.012)}[voice]
    n = int(decay_s * 5 * sample_rate)
    t = _time(n, sample_rate)
    env = np.exp(-t / decay_s)
    if rise_s:
        env *= 1.0 - np.exp(-t / rise_s)
    cutoff_hz *= 0.75 + 0.5 * brightness
    return _normalise(highpass(_noise(rng, n), cutoff_hz, sample_rate, order=4) * env)


def _tom(sample_rate: int, rng: np.random.Generator, pitch_hz: float, decay_s: float) -> np.ndarray:
    n = int(decay_s * 5 * sample_rate)
    t = _time(n, sample_rate)
    freq = pitch_hz * (1.0 + 0.35 * np.exp(-t / 0.02))
    body = np.sin(2 * np.pi * np.cumsum(freq) / sample_rate) * np.exp(-t / decay_s)
    noise = bandpass(_noise(rng, n), 0.8 * pitch_hz, min(6.0 * pitch_hz, 12000.0), sample_rate) * np.exp(-t / (decay_s / 4))
    return _normalise(body + 0.3 * noise)


def _normalise(x: np.ndarray) -> np.ndarray:
    """Peak 1 and a 0.7 ms fade-in, so even a hit on the loop's first frame starts from silence."""
    peak = float(np.max(np.abs(x))) or 1.0
    out = (x / peak).astype(np.float32)
    fade = min(len(out), _ONSET_FADE_FRAMES)
    out[:fade] *= (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, fade))).astype(np.float32)
    return out


@lru_cache(maxsize=128)
def _kit_sample(voice: str, sample_rate: int, brightness: float, genre: str) -> np.ndarray:
    """A panned stereo hit, cached per process. Its noise comes from a fixed per-voice seed (a drum machine
    plays the same sample every time), which makes caching deterministic."""
    rng = np.random.default_rng(zlib.crc32(voice.encode()))
    sample = pan_stereo(drum_sample(voice, sample_rate, brightness, rng, genre), DRUM_PANS.get(voice, 0.0))
    sample.flags.writeable = False
    return sample


def electronic_kit(sample_rate: int, brightness: float, genre: str):
    """Sample source for ``render_drum_hits``: the numpy kit (gain follows velocity^1.3)."""
    def source(voice: str, velocity: float) -> tuple[np.ndarray, float]:
        return _kit_sample(voice, sample_rate, round(brightness, 2), genre), velocity ** 1.3
    return source


def render_drum_hits(hits: Sequence[tuple[int, str, float]], total_frames: int, source, loop_frames: int) -> np.ndarray:
    """Mix ``(frame, voice, velocity)`` hits (frames inside the loop) into a float32 (total_frames, 2) buffer.

    ``source(voice, velocity)`` gives (stereo sample, gain). A closed or open hat cuts the open hat still
    ringing (hi-hat choke, 5 ms fade), as the GM kit's exclusive class does; the last open hat of the loop
    is cut by the first hat of the next repeat.
    """
    out = np.zeros((total_frames, 2), np.float32)
    ordered = sorted(hits)
    choke_at = _choke_frames(ordered, loop_frames)
    for index, (frame, voice, velocity) in enumerate(ordered):
        sample, gain = source(voice, velocity)
        end = min(total_frames, frame + len(sample), choke_at.get(index, total_frames))
        segment = sample[:end - frame] * np.float32(gain)
        if end == choke_at.get(index):
            fade = min(len(segment), _CHOKE_FADE_FRAMES)
            segment[len(segment) - fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]
        out[frame:end] += segment
    return out


def _choke_frames(ordered: Sequence[tuple[int, str, float]], loop_frames: int) -> dict[int, int]:
    """Index of each open-hat hit -> frame of the next hat hit (closed or open, wrapping around) that cuts it."""
    hats = [(i, frame) for i, (frame, voice, _) in enumerate(ordered) if voice in _CHOKE_GROUP]
    if not hats:
        return {}
    following = [frame for _, frame in hats[1:]] + [hats[0][1] + loop_frames]
    return {i: later for (i, frame), later in zip(hats, following) if ordered[i][1] == "ohat" and later > frame}


def stem_lowpass_hz(voice: str, brightness: float) -> float | None:
    """Static low-pass applied to a whole synth stem (None: the voice filters per note)."""
    ranges = {"pad": (500.0, 4500.0), "stab": (1200.0, 7000.0), "lead": (1800.0, 9000.0), "reese": (350.0, 1500.0)}
    if voice not in ranges:
        return None
    low, high = ranges[voice]
    return low * (high / low) ** brightness


def render_synth_notes(voice: str, notes: Sequence[NoteFrames], total_frames: int, sample_rate: int, brightness: float,
                       rng: np.random.Generator) -> np.ndarray:
    """Mix the notes of one numpy ``voice`` into a float32 (total_frames, 2) buffer (before the stem filter)."""
    out = np.zeros((total_frames, 2), np.float32)
    render = _NOTE_RENDERERS[voice]
    for note in notes:
        sound = render(note, sample_rate, brightness, rng)
        if sound.ndim == 1:
            sound = np.repeat(sound[:, None], 2, axis=1)
        end = min(total_frames, note.start + len(sound))
        out[note.start:end] += sound[:end - note.start]
    return out


def _envelope(length: int, sample_rate: int, attack_s: float, release_s: float, decay_s: float = 0.0,
              sustain: float = 1.0) -> np.ndarray:
    """Attack, optional exponential decay towards ``sustain``, hold to ``length``, then a release that
    falls exponentially to exactly zero. float32, ``length`` + release frames."""
    release = max(1, int(release_s * sample_rate))
    attack = max(1, min(length, int(attack_s * sample_rate)))
    env = np.ones(length + release, np.float32)
    env[:attack] = np.arange(1, attack + 1, dtype=np.float32) / attack
    if decay_s > 0.0:
        decay = np.exp(np.arange(length, dtype=np.float32) * np.float32(-1.0 / (decay_s * sample_rate)))
        env[:length] *= sustain + (1.0 - sustain) * decay
    env[length:] = env[length - 1] * _release_shape(release)
    return env


@lru_cache(maxsize=64)
def _release_shape(frames: int) -> np.ndarray:
    steps = np.arange(frames, dtype=np.float32)
    shape = np.exp(steps * np.float32(-5.0 / frames)) * (1.0 - steps / frames)
    shape.flags.writeable = False
    return shape


def _frequency(note: NoteFrames, n: int, sample_rate: int, glide_s: float) -> np.ndarray | float:
    target = midi_hz(note.pitch)
    if note.glide_from is None:
        return target
    start = midi_hz(note.glide_from)
    t = _time(n, sample_rate)
    return target * (start / target) ** np.exp(-t / glide_s)


def _cycles(freq: np.ndarray | float, n: int, sample_rate: int, phase: float = 0.0) -> np.ndarray:
    if np.isscalar(freq):
        return phase + freq * _time(n, sample_rate)
    return phase + np.cumsum(freq) / sample_rate


def _saw(cycles: np.ndarray) -> np.ndarray:
    wave = cycles - np.floor(cycles)          # 10x faster than cycles % 1.0
    wave *= 2.0
    wave -= 1.0
    return wave.astype(np.float32)


def _square(cycles: np.ndarray) -> np.ndarray:
    return np.where(cycles - np.floor(cycles) < 0.5, np.float32(1.0), np.float32(-1.0))


def _sine(cycles: np.ndarray) -> np.ndarray:
    """sin(2 pi cycles) in float32 (phase kept in float64 until the fractional part is taken)."""
    return np.sin((2.0 * np.pi) * (cycles - np.floor(cycles)).astype(np.float32))


def _sub(note: NoteFrames, sample_rate: int, brightness: float, rng: np.random.Generator) -> np.ndarray:
    env = _envelope(note.length, sample_rate, 0.004, 0.05, 0.3, 0.8)
    cycles = _cycles(_frequency(note, len(env), sample_rate, 0.04), len(env), sample_rate)
    wave = _sine(cycles) + 0.12 * _sine(2.0 * cycles)
    return (wave * env * note.velocity).astype(np.float32)


def _808(note: NoteFrames, sample_rate: int, brightness: float, rng: np.random.Generator) -> np.ndarray:
    env = _envelope(note.length, sample_rate, 0.002, 0.08, 1.6, 0.25)
    n = len(env)
    freq = _frequency(note, n, sample_rate, 0.06) * (1.0 + 0.12 * np.exp(-_time(n, sample_rate) / 0.01))
    wave = _sine(_cycles(freq, n, sample_rate))
    drive = 1.2 + 2.0 * brightness
    return (np.tanh(drive * wave * env) / math.tanh(drive) * note.velocity).astype(np.float32)


def _acid(note: NoteFrames, sample_rate: int, brightness: float, rng: np.random.Generator) -> np.ndarray:
    env = _envelope(note.length, sample_rate, 0.003, 0.02, 0.2, 0.8)
    n = len(env)
    saw = _saw(_cycles(_frequency(note, n, sample_rate, 0.035), n, sample_rate))
    dark_hz = 180.0 + 900.0 * brightness
    bright_hz = dark_hz * (3.0 + 4.0 * note.velocity)
    sweep = np.exp(-_time(n, sample_rate) / 0.12)
    filtered = sweep * biquad_lowpass(saw, bright_hz, 5.0, sample_rate) + (1 - sweep) * biquad_lowpass(saw, dark_hz, 5.0, sample_rate)
    return (np.tanh(1.8 * filtered * env) / math.tanh(1.8) * note.velocity * 0.8).astype(np.float32)


def _reese(note: NoteFrames, sample_rate: int, brightness: float, rng: np.random.Generator) -> np.ndarray:
    env = _envelope(note.length, sample_rate, 0.02, 0.12)
    n = len(env)
    freq = _frequency(note, n, sample_rate, 0.05)
    phases = rng.uniform(0, 1, 2)
    wave = (0.5 * _saw(_cycles(np.multiply(freq, 1.004), n, sample_rate, phases[0]))
            + 0.5 * _saw(_cycles(np.multiply(freq, 0.996), n, sample_rate, phases[1]))
            + 0.8 * _sine(_cycles(freq, n, sample_rate)))
    return (wave * env * note.velocity * 0.6).astype(np.float32)


def _synth_bass(note: NoteFrames, sample_rate: int, brightness: float, rng: np.random.Generator) -> np.ndarray:
    env = _envelope(note.length, sample_rate, 0.003, 0.03, 0.2, 0.6)
    n = len(env)
    cycles = _cycles(_frequency(note, n, sample_rate, 0.03), n, sample_rate)
    wave = 0.6 * _saw(cycles) + 0.4 * _square(cycles)
    sweep = np.exp(-_time(n, sample_rate) / 0.09)
    dark = biquad_lowpass(wave, 150.0 + 400.0 * brightness, 0.7, sample_rate)
    bright = biquad_lowpass(wave, 800.0 + 2500.0 * brightness, 0.9, sample_rate)
    return ((sweep * bright + (1 - sweep) * dark) * env * note.velocity * 0.8).astype(np.float32)


def _pad(note: NoteFrames, sample_rate: int, brightness: float, rng: np.random.Generator) -> np.ndarray:
    env = _envelope(note.length, sample_rate, 0.35, 0.9)
    n = len(env)
    freq = midi_hz(note.pitch)
    phases = rng.uniform(0, 1, 4)
    left = _saw(_cycles(freq * 0.9954, n, sample_rate, phases[0])) + _saw(_cycles(freq * 1.0012, n, sample_rate, phases[1]))
    right = _saw(_cycles(freq * 1.0046, n, sample_rate, phases[2])) + _saw(_cycles(freq * 0.9988, n, sample_rate, phases[3]))
    gain = env * note.velocity * 0.25
    return np.stack([left * gain, right * gain], axis=1).astype(np.float32)


def _stab(note: NoteFrames, sample_rate: int, brightness: float, rng: np.random.Generator) -> np.ndarray:
    env = _envelope(note.length, sample_rate, 0.003, 0.06, 0.18, 0.3)
    n = len(env)
    cycles = _cycles(midi_hz(note.pitch), n, sample_rate, float(rng.uniform()))
    return ((0.6 * _saw(cycles) + 0.4 * _square(cycles)) * env * note.velocity * 0.35).astype(np.float32)


def _pluck(note: NoteFrames, sample_rate: int, brightness: float, rng: np.random.Generator) -> np.ndarray:
    env = _envelope(note.length, sample_rate, 0.002, 0.06, 0.3, 0.0)
    n = len(env)
    saw = _saw(_cycles(midi_hz(note.pitch), n, sample_rate, float(rng.uniform())))
    sweep = np.exp(-_time(n, sample_rate) / 0.07)
    bright = biquad_lowpass(saw, 2500.0 + 6000.0 * brightness, 1.2, sample_rate)
    dark = biquad_lowpass(saw, 500.0 + 900.0 * brightness, 0.9, sample_rate)
    return ((sweep * bright + (1 - sweep) * dark) * env * note.velocity * 0.5).astype(np.float32)


def _bell(note: NoteFrames, sample_rate: int, brightness: float, rng: np.random.Generator) -> np.ndarray:
    env = _envelope(note.length, sample_rate, 0.002, 0.6, 1.1, 0.0)
    n = len(env)
    t = _time(n, sample_rate)
    cycles = midi_hz(note.pitch) * t
    index = ((1.0 + 2.0 * brightness) / (2.0 * np.pi)) * np.exp(-t / 0.25)
    wave = _sine(cycles + index * _sine(2.0 * cycles))
    return (wave * env * note.velocity * 0.5).astype(np.float32)


def _lead(note: NoteFrames, sample_rate: int, brightness: float, rng: np.random.Generator) -> np.ndarray:
    env = _envelope(note.length, sample_rate, 0.01, 0.08, 0.3, 0.8)
    n = len(env)
    t = _time(n, sample_rate)
    vibrato = 1.0 + 0.004 * np.sin(2 * np.pi * 5.0 * t) * np.minimum(1.0, t / 0.3)
    freq = midi_hz(note.pitch) * vibrato
    wave = _saw(_cycles(freq * 1.003, n, sample_rate)) + _saw(_cycles(freq * 0.997, n, sample_rate, 0.5))
    return (wave * env * note.velocity * 0.3).astype(np.float32)


_NOTE_RENDERERS = {"808": _808, "sub": _sub, "acid": _acid, "reese": _reese, "synth_bass": _synth_bass, "pad": _pad,
                   "stab": _stab, "pluck": _pluck, "bell": _bell, "lead": _lead}
