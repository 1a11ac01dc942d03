"""Creature recipes: songbirds, owl, seagulls (events) and crickets, cicadas, frogs (choruses rendered as
beds) (worker processes; reference/generation.md §4.2).

Decisions:
- Birds, owls and gulls are events: phrases start at Poisson times (birds every 12 s at intensity 0 to
  every 2.5 s at 1; owls every 30-8 s; gulls every 15-3 s), and every phrase is synthesised anew from
  random parameters, so no two are alike. A bird phrase is 3-10 notes of one of four templates (falling
  chirps, a trill, a gliding whistle with vibrato, an FM warble) at 2-6 kHz; an owl phrase is 2-5
  breathy hoots near 300-420 Hz falling slightly; a gull phrase is 2-6 harsh harmonic cries that rise
  and fall ("kee-ow", "ha-ha-ha"). Each phrase is one animal: one pan, one level.
- Insects and frogs are continuous choruses, so they are beds. Crickets: 4-16 animals, each a carrier
  at 3.8-5.2 kHz pulsed at 15-30 Hz in chirps of 3-5 pulses, chirping 1-2 times a second with jittered
  timing and the odd pause; cicadas: a 4-8 kHz noise band pulsed at 80-200 Hz (whole cycles per loop)
  under swells of 5-15 s; frogs: 4-10 animals calling 1-3 croaks (a formant carrier pulsed at 30-80 Hz)
  at Poisson times. All are built around the loop's circle, so they loop seamlessly; crickets and frogs
  sit on a faint dark air bed (3-5% of their RMS), so their gaps are quiet, not digital silence.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal

from groovebox.ambient.recipes_dsp import (
    Ctx,
    Rendered,
    bandpass,
    coarse_factor,
    noise,
    place,
    poisson_onsets,
    render_grains,
    resonance,
    tilt,
    upsample_linear,
)

__all__ = ["birds", "cicadas", "crickets", "frogs", "gulls", "owl"]


def _tone(freq_hz: np.ndarray, env: np.ndarray, sample_rate: int,
          harmonics: tuple[float, ...] = (1.0,)) -> np.ndarray:
    """A tone following ``freq_hz`` (per sample) under ``env``, with harmonic amplitudes."""
    phase = np.cumsum(freq_hz) * (2 * math.pi / sample_rate)
    tone = sum(a * np.sin((k + 1) * phase) for k, a in enumerate(harmonics) if a)
    return (tone * env).astype(np.float32)


def _hann_env(frames: int, attack_share: float = 0.3) -> np.ndarray:
    t = np.linspace(0.0, 1.0, frames, endpoint=False)
    rise = np.clip(t / attack_share, 0.0, 1.0)
    fall = np.clip((1.0 - t) / (1.0 - attack_share), 0.0, 1.0)
    return np.sin(0.5 * np.pi * rise) ** 2 * np.sin(0.5 * np.pi * fall) ** 2


def _place_events(ctx: Ctx, onsets: np.ndarray, make) -> np.ndarray:
    """Render ``make(ctx)`` (a mono phrase) at each onset with a random pan and level, around the circle."""
    out = np.zeros((ctx.frames, 2), np.float32)
    for onset in onsets:
        phrase = make(ctx) * np.float32(ctx.rng.uniform(0.4, 1.0))
        place(out, float(onset), phrase, float(ctx.rng.uniform(-ctx.spread, ctx.spread)), ctx.sample_rate)
    return out


# ---- birds ---------------------------------------------------------------------------------------------

def _bird_note(ctx: Ctx, template: str, base_hz: float) -> np.ndarray:
    rng, sr = ctx.rng, ctx.sample_rate
    if template == "chirp":
        frames = int(rng.uniform(0.04, 0.09) * sr)
        top = base_hz * rng.uniform(1.3, 1.7)
        freq = top * (base_hz / top) ** np.linspace(0.0, 1.0, frames) ** 0.5
        return _tone(freq, _hann_env(frames, 0.15), sr, (1.0, 0.12))
    if template == "trill":
        frames = int(rng.uniform(0.025, 0.04) * sr)
        freq = base_hz * np.linspace(0.95, 1.08, frames)
        return _tone(freq, _hann_env(frames, 0.3), sr, (1.0, 0.1))
    if template == "whistle":
        frames = int(rng.uniform(0.12, 0.3) * sr)
        t = np.arange(frames) / sr
        glide = np.linspace(1.0, rng.uniform(0.8, 1.25), frames)
        freq = base_hz * glide * (1.0 + 0.03 * np.sin(2 * np.pi * rng.uniform(20.0, 40.0) * t))
        return _tone(freq, _hann_env(frames, 0.2), sr, (1.0, 0.05))
    frames = int(rng.uniform(0.15, 0.4) * sr)                  # warble: FM
    t = np.arange(frames) / sr
    freq = base_hz + rng.uniform(300.0, 800.0) * np.sin(2 * np.pi * rng.uniform(30.0, 80.0) * t)
    return _tone(freq, _hann_env(frames, 0.2), sr, (1.0, 0.15))


def _bird_phrase(ctx: Ctx) -> np.ndarray:
    rng, sr = ctx.rng, ctx.sample_rate
    template = str(rng.choice(["chirp", "trill", "whistle", "warble"]))
    base_hz = rng.uniform(2000.0, 4500.0)
    gap_s = {"chirp": (0.05, 0.12), "trill": (0.02, 0.04), "whistle": (0.08, 0.2), "warble": (0.05, 0.15)}[template]
    count = int(rng.integers(3, 11)) * (3 if template == "trill" else 1)
    parts = []
    for _ in range(count):
        note = _bird_note(ctx, template, base_hz * rng.uniform(0.93, 1.07))
        parts += [note * np.float32(rng.uniform(0.6, 1.0)), np.zeros(int(rng.uniform(*gap_s) * sr), np.float32)]
    return np.concatenate(parts)


def birds(ctx: Ctx) -> Rendered:
    """Songbird phrases at Poisson times, each from a random template, pitch, length and position."""
    onsets = poisson_onsets(ctx, ctx.between(1 / 12, 1 / 2.5), min_gap_s=0.8)
    return Rendered(_place_events(ctx, onsets, _bird_phrase), tuple(map(float, onsets)))


# ---- owl -----------------------------------------------------------------------------------------------

def _hoot(ctx: Ctx, base_hz: float) -> np.ndarray:
    rng, sr = ctx.rng, ctx.sample_rate
    frames = int(rng.uniform(0.25, 0.6) * sr)
    freq = base_hz * np.linspace(1.0, rng.uniform(0.9, 0.96), frames)
    env = _hann_env(frames, 0.15)
    tone = _tone(freq, env, sr, (1.0, 0.18, 0.05))
    sos = signal.butter(2, (base_hz * 0.8, base_hz * 2.5), btype="bandpass", fs=sr, output="sos")
    breath = signal.sosfilt(sos, rng.standard_normal(frames)) * env
    return (tone + 0.5 * breath.astype(np.float32)).astype(np.float32)


def _owl_phrase(ctx: Ctx) -> np.ndarray:
    rng, sr = ctx.rng, ctx.sample_rate
    base_hz = rng.uniform(300.0, 420.0)
    parts = []
    for _ in range(int(rng.integers(2, 6))):
        gap = np.zeros(int(rng.uniform(0.25, 0.8) * sr), np.float32)
        parts += [_hoot(ctx, base_hz * rng.uniform(0.97, 1.03)), gap]
    return np.concatenate(parts)


def owl(ctx: Ctx) -> Rendered:
    """Owl hoot phrases at Poisson times."""
    onsets = poisson_onsets(ctx, ctx.between(1 / 30, 1 / 8), min_gap_s=4.0)
    return Rendered(_place_events(ctx, onsets, _owl_phrase), tuple(map(float, onsets)))


# ---- seagulls ------------------------------------------------------------------------------------------

def _cry(ctx: Ctx, peak_hz: float) -> np.ndarray:
    rng, sr = ctx.rng, ctx.sample_rate
    frames = int(rng.uniform(0.18, 0.55) * sr)
    shape = np.linspace(0.0, 1.0, frames)
    rise_share = rng.uniform(0.1, 0.35)
    contour = np.where(shape < rise_share, 0.75 + 0.25 * shape / rise_share,
                       1.0 - rng.uniform(0.25, 0.45) * (shape - rise_share) / (1 - rise_share))
    tone = _tone(peak_hz * contour, _hann_env(frames, 0.1), sr, (1.0, 0.6, 0.45, 0.3, 0.2, 0.12))
    sos = signal.butter(2, (1500.0, 4500.0), btype="bandpass", fs=sr, output="sos")
    return (0.6 * tone + signal.sosfilt(sos, tone)).astype(np.float32)


def _gull_phrase(ctx: Ctx) -> np.ndarray:
    rng, sr = ctx.rng, ctx.sample_rate
    peak_hz = rng.uniform(1100.0, 1900.0) / 2.0
    parts = []
    for _ in range(int(rng.integers(2, 7))):
        gap = np.zeros(int(rng.uniform(0.08, 0.4) * sr), np.float32)
        parts += [_cry(ctx, peak_hz * rng.uniform(0.95, 1.05)), gap]
    return np.concatenate(parts)


def gulls(ctx: Ctx) -> Rendered:
    """Seagull cries at Poisson times."""
    onsets = poisson_onsets(ctx, ctx.between(1 / 15, 1 / 3), min_gap_s=1.0)
    return Rendered(_place_events(ctx, onsets, _gull_phrase), tuple(map(float, onsets)))


# ---- crickets ------------------------------------------------------------------------------------------

def _cricket_pulses(ctx: Ctx) -> tuple[list[np.ndarray], list[float], list[float]]:
    """(pulse start frames, carrier Hz, levels) per cricket."""
    rng, sr = ctx.rng, ctx.sample_rate
    starts, carriers, levels = [], [], []
    for _ in range(round(ctx.between(4, 16))):
        pulse_hz, per_chirp = rng.uniform(15.0, 30.0), int(rng.integers(3, 6))
        chirps = max(1, round(rng.uniform(1.0, 2.0) * ctx.seconds))
        jittered = np.arange(chirps) + rng.uniform(-0.08, 0.08, chirps)
        times = jittered * ctx.seconds / chirps + rng.uniform(0, ctx.seconds)
        times = times[rng.uniform(size=chirps) > 0.1]                     # the odd pause
        pulse_times = (times[:, None] + np.arange(per_chirp) / pulse_hz).ravel()
        starts.append(np.round(pulse_times * sr).astype(np.int64) % ctx.frames)
        carriers.append(rng.uniform(3800.0, 5200.0))
        levels.append(rng.uniform(0.3, 1.0))
    return starts, carriers, levels


def crickets(ctx: Ctx) -> Rendered:
    """A cricket chorus: pulsed carriers in chirps, each animal at its own pitch, rate and place."""
    rng, sr = ctx.rng, ctx.sample_rate
    length = int(0.02 * sr)
    t = np.arange(length, dtype=np.float32) / np.float32(sr)
    env = np.sin(np.pi * np.arange(length) / length).astype(np.float32) ** 2
    all_starts, all_grains, all_gains = [], [], []
    for starts, carrier, level in zip(*_cricket_pulses(ctx)):
        freq = np.float32(carrier) * (1.0 + rng.uniform(-0.01, 0.01, starts.size)).astype(np.float32)[:, None]
        phase = rng.uniform(0, 6.3, (starts.size, 1)).astype(np.float32)
        all_grains.append(np.sin(np.float32(2 * math.pi) * freq * t + phase) * env)
        angle = (rng.uniform(-ctx.spread, ctx.spread) + 1.0) * math.pi / 4.0
        all_gains.append(np.tile([level * math.cos(angle), level * math.sin(angle)], (starts.size, 1)))
        all_starts.append(starts)
    audio = render_grains(ctx.frames, np.concatenate(all_starts), np.concatenate(all_grains),
                          np.concatenate(all_gains))
    return Rendered(audio + _night_air(ctx, audio, 0.03))


def _night_air(ctx: Ctx, chorus: np.ndarray, level: float) -> np.ndarray:
    """A faint dark air bed under a chorus (``level`` times its RMS), so the gaps are not digital silence."""
    f = ctx.freqs
    rms = float(np.sqrt(np.mean(np.square(chorus, dtype=np.float64))))
    return noise(ctx, tilt(f, 1.0) * bandpass(f, 80.0, 4000.0, 1)) * np.float32(level * rms)


# ---- cicadas -------------------------------------------------------------------------------------------

def _swell(ctx: Ctx, factor: int) -> np.ndarray:
    """A periodic 0..1 envelope of 5-15 s calls with crescendo and decrescendo, on a coarse grid."""
    rng = ctx.rng
    grid = ctx.frames // factor
    t = np.arange(grid) * factor / ctx.sample_rate
    env = np.zeros(grid)
    for centre in poisson_onsets(ctx, 1 / 12, min_gap_s=3.0):
        length_s = min(rng.uniform(5.0, 15.0), ctx.seconds)
        u = np.mod(t - centre, ctx.seconds) / length_s
        env += np.where(u < 1.0, np.sin(np.pi * np.minimum(u, 1.0)) ** 1.5, 0.0) * rng.uniform(0.5, 1.0)
    return np.clip(env, 0.0, 1.0).astype(np.float32)


def cicadas(ctx: Ctx) -> Rendered:
    """Cicadas: a high noise band, pulsed fast, under slow overlapping swells."""
    rng = ctx.rng
    f = ctx.freqs
    carrier = noise(ctx, bandpass(f, 4000.0, 8000.0, 2) * resonance(f, rng.uniform(4800.0, 6200.0), 1.5))
    factor = coarse_factor(ctx.frames, 480)
    ramp = np.arange(ctx.frames, dtype=np.float64) / ctx.frames
    drive = np.full((2, ctx.frames), 0.08, np.float32)
    for _ in range(round(ctx.between(3, 7))):
        cycles = round(rng.uniform(80.0, 200.0) * ctx.seconds)               # whole cycles per loop
        turns = ramp * cycles + rng.uniform()                                 # each its own phase
        pulse = np.cos((turns - np.floor(turns)).astype(np.float32) * np.float32(2 * math.pi))
        pulse = 0.5 + 0.5 * pulse
        pulse *= pulse * pulse * upsample_linear(_swell(ctx, factor), factor)
        angle = (rng.uniform(-ctx.spread, ctx.spread) + 1.0) * math.pi / 4.0
        drive[0] += np.float32(math.cos(angle)) * pulse
        drive[1] += np.float32(math.sin(angle)) * pulse
    return Rendered(carrier * drive.T)


# ---- frogs ---------------------------------------------------------------------------------------------

def _croak(ctx: Ctx, formant_hz: float, pulse_hz: float) -> np.ndarray:
    rng, sr = ctx.rng, ctx.sample_rate
    frames = int(rng.uniform(0.08, 0.2) * sr)
    t = np.arange(frames) / sr
    since = np.mod(t, 1.0 / pulse_hz) * (4.0 * pulse_hz)                 # 0..4 within each pulse
    pulses = since * np.exp(1.0 - since)                                  # a smooth rise, peak 1, decay
    tone = np.sin(2 * np.pi * formant_hz * t) + 0.4 * np.sin(2 * np.pi * 2.01 * formant_hz * t)
    return (tone * pulses * _hann_env(frames, 0.1)).astype(np.float32)


def frogs(ctx: Ctx) -> Rendered:
    """A frog chorus: each frog calls 1-3 pulsed croaks at its own Poisson times and place."""
    rng, sr = ctx.rng, ctx.sample_rate
    out = np.zeros((ctx.frames, 2), np.float32)
    for _ in range(round(ctx.between(4, 10))):
        formant_hz, pulse_hz = rng.uniform(350.0, 1400.0), rng.uniform(30.0, 80.0)
        pan, level = rng.uniform(-ctx.spread, ctx.spread), rng.uniform(0.3, 1.0)
        for onset in poisson_onsets(ctx, rng.uniform(0.3, 1.0), min_gap_s=0.6):
            at = float(onset)
            for _ in range(int(rng.integers(1, 4))):
                croak = _croak(ctx, formant_hz * rng.uniform(0.97, 1.03), pulse_hz) * np.float32(level)
                place(out, at, croak, pan, sr)
                at += croak.size / sr + rng.uniform(0.05, 0.15)
    return Rendered(out + _night_air(ctx, out, 0.05))
