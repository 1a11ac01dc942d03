"""Synthetic test signals for the loop metrics and the stream cutter (deterministic for a given seed).

Three kinds of material, all float32 ``(frames, 2)`` at 48 kHz:

- ``drum_loop``: kick on every beat, snare on 2 and 4, off-beat hats; exactly loop length, rendered
  circularly (tails wrap onto the head) so it repeats seamlessly. ``content_bpm`` lets the content run at
  another tempo than the length claims.
- ``music_loop``: chords + bass + melody in a key (major or relative-minor material), circular, optional drums.
- ``stream``: an endless-stream stand-in (Lyria-like): drums, bass and chords changing at bar lines,
  humanised timing, starting at a random point inside a bar, with a little noise. Returns the audio and the
  true onset frame of every downbeat kick.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

SR = 48000
MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)


def loop_frames(bpm: float, bars: int, sample_rate: int = SR, beats_per_bar: int = 4) -> int:
    return round(bars * beats_per_bar * 60.0 / bpm * sample_rate)


# ---- one-shot voices ---------------------------------------------------------------------------------

def kick(sample_rate: int = SR) -> np.ndarray:
    t = np.arange(int(0.3 * sample_rate)) / sample_rate
    freq_hz = 48.0 + 110.0 * np.exp(-t / 0.025)
    phase = 2 * np.pi * np.cumsum(freq_hz) / sample_rate
    env = np.exp(-t / 0.13) * np.minimum(1.0, t / 0.001)
    return np.sin(phase) * env


def snare(rng: np.random.Generator, sample_rate: int = SR) -> np.ndarray:
    t = np.arange(int(0.25 * sample_rate)) / sample_rate
    sos = signal.butter(2, 1500, "highpass", fs=sample_rate, output="sos")
    noise = signal.sosfilt(sos, rng.standard_normal(t.size)) * np.exp(-t / 0.07)
    body = 0.6 * np.sin(2 * np.pi * 185 * t) * np.exp(-t / 0.05)
    return (noise + body) * np.minimum(1.0, t / 0.0005)


def hat(rng: np.random.Generator, sample_rate: int = SR) -> np.ndarray:
    t = np.arange(int(0.08 * sample_rate)) / sample_rate
    sos = signal.butter(4, 7000, "highpass", fs=sample_rate, output="sos")
    return signal.sosfilt(sos, rng.standard_normal(t.size)) * np.exp(-t / 0.02)


def tone(freq_hz: float, duration_s: float, sample_rate: int = SR, *, harmonics: int = 5,
         attack_s: float = 0.005, release_s: float = 0.03) -> np.ndarray:
    """A saw-like note (1/k harmonics) with a linear attack and release; lasts duration_s + release_s."""
    t = np.arange(int((duration_s + release_s) * sample_rate)) / sample_rate
    wave = sum(np.sin(2 * np.pi * k * freq_hz * t) / k for k in range(1, harmonics + 1)
               if k * freq_hz < 0.45 * sample_rate)
    env = np.minimum(1.0, t / attack_s) * np.clip((duration_s + release_s - t) / release_s, 0.0, 1.0)
    return wave * env


def midi_hz(note: float) -> float:
    return 440.0 * 2.0 ** ((note - 69) / 12.0)


# ---- placing events -------------------------------------------------------------------------------------

def _add(out: np.ndarray, sound: np.ndarray, at_frame: int, gains: tuple[float, float], circular: bool) -> None:
    n = out.shape[0]
    if circular:
        idx = (at_frame + np.arange(sound.size)) % n
        np.add.at(out[:, 0], idx, gains[0] * sound)
        np.add.at(out[:, 1], idx, gains[1] * sound)
        return
    lo, hi = max(at_frame, 0), min(at_frame + sound.size, n)
    if hi > lo:
        out[lo:hi, 0] += gains[0] * sound[lo - at_frame:hi - at_frame]
        out[lo:hi, 1] += gains[1] * sound[lo - at_frame:hi - at_frame]


@dataclass
class _Drums:
    kick: np.ndarray
    snares: list[np.ndarray]
    hats: list[np.ndarray]

    @classmethod
    def make(cls, rng: np.random.Generator, sample_rate: int) -> _Drums:
        return cls(kick(sample_rate), [snare(rng, sample_rate) for _ in range(4)],
                   [hat(rng, sample_rate) for _ in range(8)])


def _drum_events(drums: _Drums, beat_s: float, beats: range, beats_per_bar: int):
    """(time_s, sound, gains) for kick on every beat, snare on 2 and 4, hats on the off-beat 8ths."""
    for beat in beats:
        t = beat * beat_s
        yield t, drums.kick, (0.75, 0.75), "kick"
        if beat % beats_per_bar in (1, 3):
            yield t, drums.snares[beat % 4], (0.30, 0.26), "snare"
        yield t + beat_s / 2, drums.hats[beat % 8], (0.10, 0.14), "hat"


# ---- loops ----------------------------------------------------------------------------------------------

def drum_loop(bpm: float, bars: int, *, sample_rate: int = SR, seed: int = 0, beats_per_bar: int = 4,
              content_bpm: float | None = None, with_bass: bool = True, level: float = 0.5) -> np.ndarray:
    """A seamless drum loop (+ a sustained bass note per bar) whose length is exact at ``bpm``; ``level``
    scales it (the default peaks around -1 dBFS)."""
    rng = np.random.default_rng(seed)
    n = loop_frames(bpm, bars, sample_rate, beats_per_bar)
    out = np.zeros((n, 2))
    beat_s = 60.0 / (content_bpm or bpm)
    beats = range(int(np.ceil(n / sample_rate / beat_s)))
    drums = _Drums.make(rng, sample_rate)
    for t, sound, gains, _ in _drum_events(drums, beat_s, beats, beats_per_bar):
        if t * sample_rate < n:
            _add(out, sound, round(t * sample_rate), gains, circular=True)
    if with_bass:
        bar_s = beat_s * beats_per_bar
        for bar in range(int(np.ceil(n / sample_rate / bar_s))):
            note = tone(midi_hz(36 + (0, 5, 7, 3)[bar % 4]), bar_s, sample_rate, harmonics=4)
            _add(out, note, round(bar * bar_s * sample_rate), (0.12, 0.12), circular=True)
    out = level * out + 10 ** (-60 / 20) * rng.standard_normal(out.shape)
    return out.astype(np.float32)


def scale_notes(tonic_pc: int, minor: bool) -> list[int]:
    """Pitch classes of the diatonic scale starting on its tonic (minor = the relative minor's rotation)."""
    steps = [(tonic_pc + s) % 12 for s in MAJOR_STEPS]
    return steps[5:] + steps[:5] if minor else steps


def music_loop(major_tonic_pc: int, *, minor: bool, bpm: float = 100.0, bars: int = 4, sample_rate: int = SR,
               seed: int = 0, drums: bool = True, level: float = 0.5) -> np.ndarray:
    """Chords + bass + melody using only the diatonic set of ``major_tonic_pc`` (relative-minor material
    when ``minor``: tonic on the 6th degree, progression i-VI-III-VII), exact and circular."""
    rng = np.random.default_rng(seed)
    degrees = scale_notes(major_tonic_pc, minor)
    tonic_midi = 48 + degrees[0]
    scale_midi = [tonic_midi + ((pc - degrees[0]) % 12) for pc in degrees]
    progression = (0, 5, 2, 6) if minor else (0, 4, 5, 3)
    n = loop_frames(bpm, bars, sample_rate)
    out = np.zeros((n, 2))
    beat_s = 60.0 / bpm
    bar_s = 4 * beat_s
    for bar in range(bars):
        root = progression[bar % len(progression)]
        at = round(bar * bar_s * sample_rate)
        for step in (0, 2, 4):
            degree = root + step
            note = scale_midi[degree % 7] + 12 * (degree // 7)
            _add(out, tone(midi_hz(note), bar_s, sample_rate), at, (0.07, 0.09), circular=True)
        _add(out, tone(midi_hz(scale_midi[root] - 24), bar_s, sample_rate, harmonics=3), at, (0.15, 0.15), True)
        degree = root
        for eighth in range(8):
            if rng.random() < 0.2:
                continue
            degree = root + (0, 2, 4)[rng.integers(3)] if eighth % 2 == 0 else degree + int(rng.integers(-2, 3))
            note = scale_midi[degree % 7] + 12 * (degree // 7) + 12
            t = bar * bar_s + eighth * beat_s / 2
            _add(out, tone(midi_hz(note), beat_s / 2 * 0.9, sample_rate, harmonics=3, release_s=0.02),
                 round(t * sample_rate), (0.08, 0.06), circular=True)
    if drums:
        kit = _Drums.make(rng, sample_rate)
        for t, sound, gains, _ in _drum_events(kit, beat_s, range(4 * bars), 4):
            _add(out, sound, round(t * sample_rate), tuple(0.6 * g for g in gains), circular=True)
    return (level * out).astype(np.float32)


# ---- stream ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Stream:
    audio: np.ndarray                 # float32 (frames, 2)
    downbeat_frames: np.ndarray       # true onset frame of each downbeat kick inside the stream (int)
    bar_frames: float


def stream(bpm: float, duration_s: float, *, sample_rate: int = SR, seed: int = 0, beats_per_bar: int = 4,
           humanise_s: float = 0.005, noise_db: float = -50.0, start_beat: float | None = None,
           drums: bool = True, level: float = 0.5) -> Stream:
    """A Lyria-like stream: kick on every beat, snare on 2 and 4, off-beat hats, a legato bass and chord per
    bar (I-V-vi-IV in a random key), humanised by up to ``humanise_s`` (each hit, except that the kick, bass
    and chord on a bar line share one offset); it starts ``start_beat`` beats into a bar (random when None,
    kept away from the bar line)."""
    rng = np.random.default_rng(seed)
    n = round(duration_s * sample_rate)
    beat_s = 60.0 / bpm
    bar_s = beat_s * beats_per_bar
    if start_beat is None:
        start_beat = rng.uniform(0.3, beats_per_bar - 0.3)
    origin_s = start_beat * beat_s                       # musical time of stream frame 0
    out = np.zeros((n, 2))
    kit = _Drums.make(rng, sample_rate)
    bars = int((duration_s + origin_s) / bar_s) + 2
    bar_offsets_s = rng.uniform(-humanise_s, humanise_s, bars)   # the band lands together on each bar line
    downbeats = []
    beats = range(bars * beats_per_bar)
    for t, sound, gains, kind in _drum_events(kit, beat_s, beats, beats_per_bar):
        if not drums:
            break
        on_bar_line = kind == "kick" and round(t / beat_s) % beats_per_bar == 0
        offset_s = bar_offsets_s[round(t / bar_s)] if on_bar_line else rng.uniform(-humanise_s, humanise_s)
        at = round((t - origin_s + offset_s) * sample_rate)
        _add(out, sound, at, gains, circular=False)
        if on_bar_line and 0 <= at < n:
            downbeats.append(at)
    tonic = int(rng.integers(12))
    scale_midi = [48 + tonic + s for s in MAJOR_STEPS]
    for bar in range(bars):
        root = (0, 4, 5, 3)[bar % 4]
        at = round((bar * bar_s - origin_s + bar_offsets_s[bar]) * sample_rate)
        for step in (0, 2, 4):
            degree = root + step
            note = scale_midi[degree % 7] + 12 * (degree // 7)
            _add(out, tone(midi_hz(note), bar_s, sample_rate, attack_s=0.008), at, (0.06, 0.08), circular=False)
        bass = tone(midi_hz(scale_midi[root] - 24), bar_s, sample_rate, harmonics=4, attack_s=0.004)
        _add(out, bass, at, (0.2, 0.2), circular=False)
    out = level * out + 10 ** (noise_db / 20) * rng.standard_normal(out.shape)
    if not drums:                                      # the bar lines are the chord and bass onsets
        downbeats = [at for at in (round((bar * bar_s - origin_s + bar_offsets_s[bar]) * sample_rate)
                                   for bar in range(bars)) if 0 <= at < n]
    return Stream(out.astype(np.float32), np.asarray(downbeats), bar_s * sample_rate)
