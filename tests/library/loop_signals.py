"""Synthetic loops for the library tests (deterministic for a given seed), float32 (frames, 2) at 48 kHz.

- ``drum_loop``: a drum pattern rendered circularly (tails wrap onto the head) so it repeats seamlessly and
  is exactly ``bars`` bars long at ``bpm``. Patterns: "four" (kick on every beat, snare on 2 and 4,
  off-beat hats), "rock" (kick on 1 and 3, snare on 2 and 4, eighth hats), "boombap" (kick on 1 and the
  "and" of 2 and 3, snare on 2 and 4, eighth hats).
- ``chord_loop``: sustained diatonic chords (and a bass note) in a major key, no drums.
- ``bass_loop``: a low saw bass line (eighth notes), no drums.
- ``noise_bed``: slowly swelling filtered noise (no pitch, no beat).
"""

from __future__ import annotations

import numpy as np
from scipy import signal

SR = 48000
MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)
PATTERNS = {  # eighth-note steps in one bar (0..7) for each voice
    "four": {"kick": (0, 2, 4, 6), "snare": (2, 6), "hat": (1, 3, 5, 7)},
    "rock": {"kick": (0, 4), "snare": (2, 6), "hat": (0, 1, 2, 3, 4, 5, 6, 7)},
    "boombap": {"kick": (0, 3, 5), "snare": (2, 6), "hat": (0, 1, 2, 3, 4, 5, 6, 7)},
}


def loop_frames(bpm: float, bars: int, sample_rate: int = SR) -> int:
    return round(bars * 4 * 60.0 / bpm * sample_rate)


def kick(sample_rate: int = SR) -> np.ndarray:
    t = np.arange(int(0.3 * sample_rate)) / sample_rate
    phase = 2 * np.pi * np.cumsum(48.0 + 110.0 * np.exp(-t / 0.025)) / sample_rate
    return np.sin(phase) * np.exp(-t / 0.13) * np.minimum(1.0, t / 0.001)


def snare(rng: np.random.Generator, sample_rate: int = SR) -> np.ndarray:
    t = np.arange(int(0.25 * sample_rate)) / sample_rate
    sos = signal.butter(2, 1500, "highpass", fs=sample_rate, output="sos")
    noise = signal.sosfilt(sos, rng.standard_normal(t.size)) * np.exp(-t / 0.07)
    return (noise + 0.6 * np.sin(2 * np.pi * 185 * t) * np.exp(-t / 0.05)) * np.minimum(1.0, t / 0.0005)


def hat(rng: np.random.Generator, sample_rate: int = SR) -> np.ndarray:
    t = np.arange(int(0.08 * sample_rate)) / sample_rate
    sos = signal.butter(4, 7000, "highpass", fs=sample_rate, output="sos")
    return signal.sosfilt(sos, rng.standard_normal(t.size)) * np.exp(-t / 0.02)


def saw(freq_hz: float, duration_s: float, sample_rate: int = SR, harmonics: int = 8) -> np.ndarray:
    t = np.arange(int(duration_s * sample_rate)) / sample_rate
    wave = sum(np.sin(2 * np.pi * k * freq_hz * t) / k for k in range(1, harmonics + 1)
               if k * freq_hz < 0.45 * sample_rate)
    fade = max(1, int(0.01 * sample_rate))
    env = np.minimum(1.0, np.minimum(np.arange(t.size), t.size - 1 - np.arange(t.size)) / fade)
    return wave * env


def midi_hz(note: float) -> float:
    return 440.0 * 2.0 ** ((note - 69) / 12.0)


def _add(out: np.ndarray, sound: np.ndarray, at_frame: int, gain: float) -> None:
    index = (at_frame + np.arange(sound.size)) % out.shape[0]
    for channel in range(2):
        np.add.at(out[:, channel], index, gain * sound)


def drum_loop(bpm: float, bars: int, *, pattern: str = "four", seed: int = 0, sample_rate: int = SR) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = loop_frames(bpm, bars, sample_rate)
    out = np.zeros((n, 2))
    eighth_s = 30.0 / bpm
    sounds = {"kick": (kick(sample_rate), 0.7), "snare": (snare(rng, sample_rate), 0.3),
              "hat": (hat(rng, sample_rate), 0.12)}
    for bar in range(bars):
        for voice, steps in PATTERNS[pattern].items():
            sound, gain = sounds[voice]
            for step in steps:
                accent = 1.0 if voice != "hat" or step % 2 else 0.7
                _add(out, sound, round((bar * 8 + step) * eighth_s * sample_rate), gain * accent)
    out += 1e-4 * rng.standard_normal(out.shape)
    return out.astype(np.float32)


def chord_loop(major_tonic_pc: int, *, bpm: float = 100.0, bars: int = 4, sample_rate: int = SR) -> np.ndarray:
    n = loop_frames(bpm, bars, sample_rate)
    out = np.zeros((n, 2))
    bar_s = 240.0 / bpm
    scale = [48 + major_tonic_pc + step for step in MAJOR_STEPS]
    for bar in range(bars):
        root = (0, 4, 5, 3)[bar % 4]
        for third in (0, 2, 4):
            degree = root + third
            note = scale[degree % 7] + 12 * (degree // 7) + 12
            _add(out, saw(midi_hz(note), bar_s, sample_rate, harmonics=5), round(bar * bar_s * sample_rate), 0.08)
        _add(out, saw(midi_hz(scale[root] - 12), bar_s, sample_rate, harmonics=3),
             round(bar * bar_s * sample_rate), 0.1)
    return out.astype(np.float32)


def bass_loop(*, bpm: float = 120.0, bars: int = 2, sample_rate: int = SR) -> np.ndarray:
    n = loop_frames(bpm, bars, sample_rate)
    out = np.zeros((n, 2))
    eighth_s = 30.0 / bpm
    notes = (36, 36, 43, 36, 39, 36, 41, 43)
    for step in range(8 * bars):
        sound = saw(midi_hz(notes[step % 8]), eighth_s * 0.9, sample_rate, harmonics=6)
        _add(out, sound, round(step * eighth_s * sample_rate), 0.3)
    sos = signal.butter(2, 400, "lowpass", fs=sample_rate, output="sos")
    return signal.sosfiltfilt(sos, out, axis=0).astype(np.float32)


def noise_bed(seconds: float = 6.0, *, seed: int = 0, sample_rate: int = SR) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = round(seconds * sample_rate)
    sos = signal.butter(2, [300, 3000], "bandpass", fs=sample_rate, output="sos")
    noise = signal.sosfilt(sos, rng.standard_normal((n, 2)), axis=0)
    swell = 0.6 + 0.4 * np.sin(2 * np.pi * np.arange(n) / n)[:, None]
    return (0.2 * noise * swell).astype(np.float32)
