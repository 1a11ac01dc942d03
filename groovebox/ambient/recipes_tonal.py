"""Machine and tonal recipes: electrical hum and neon, HVAC, a ticking clock, coloured noise, a drone and a
soft pad chord (beds); bells and creaking wood (events) (worker processes; reference/generation.md §4.2).

Decisions:
- Sustained tones are built in the spectrum as narrow noise bands (``partials``): each partial wavers in
  level and pitch by a fraction of a hertz, and the loop stays exactly periodic.
- Hum: 50 or 60 Hz mains with harmonics falling as 1/k^1.2, odd ones stronger (a transformer), and a
  rectified buzz on the even harmonics above 200 Hz that grows with intensity. Neon adds a slow ±5% level
  drift and flicker: random bursts of 2-8 kHz crackle during which the buzz swells.
- HVAC: broadband fan noise with a hump at 300-600 Hz, the blade-pass tone (80-150 Hz and harmonics)
  and a little motor hum, under a very slow flow drift.
- Clock: a tick-tock period near 1 s chosen so a whole even number of ticks fills the loop (a clock is
  periodic: this is the one bed made of one-shots); every tick differs slightly in level and pitch.
- Drone: a low root (D1-B1) with harmonics and a fifth, in low/mid/high groups that swell independently
  (whole cycles per loop), so the timbre shifts slowly. Pad (the offline ``music_bed``): a soft chord (maj7,
  min7, min9, sus2, add9) of chorused partials that breathes every ~12 s.
- Bells: Poisson tolls (every 40 s to 10 s), 1-5 strikes 1.5-3 s apart, partials at the ratios of a
  church bell (hum 0.5, prime 1, tierce 1.2, quint 1.5, nominal 2, ...), higher partials decaying faster.
- Creaks: Poisson every 8 s to 2 s; a stick-slip pulse train gliding between 20-250 Hz excites three wood
  resonances (250-1,200 Hz, Q 8-20) and a low groan mode, low-passed at 2.5 kHz.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import signal

from groovebox.ambient.recipes_dsp import (
    Ctx,
    Rendered,
    bandpass,
    coarse_factor,
    highpass,
    lowpass,
    modulator,
    noise,
    partials,
    place,
    poisson_onsets,
    resonance,
    spectrum,
    tilt,
    to_audio,
    unit_shape,
    upsample_linear,
)

__all__ = ["bells", "clock", "colored_noise", "creak", "drone", "hum", "hvac", "pad"]


# ---- hum and neon --------------------------------------------------------------------------------------

def _hum_spectrum(ctx: Ctx, mains_hz: float) -> np.ndarray:
    buzz = ctx.between(0.1, 0.6)
    freqs, amps = [], []
    for k in range(1, 25):
        amplitude = k ** -1.2 * (1.0 if k % 2 else 0.4)
        if k % 2 == 0 and k * mains_hz >= 200.0:
            amplitude += buzz * (k / 2) ** -0.8                    # rectified buzz: harmonics of 2x mains
        freqs.append(k * mains_hz)
        amps.append(amplitude)
    return partials(ctx, freqs, amps, width_hz=0.08)


def _flicker(ctx: Ctx, factor: int) -> np.ndarray:
    """0/1-ish gate of flicker bursts (0.05-0.6 s) at Poisson times, on a coarse grid."""
    grid = ctx.frames // factor
    gate = np.zeros(grid, np.float32)
    step_s = factor / ctx.sample_rate
    for onset in poisson_onsets(ctx, ctx.between(0.05, 0.4), min_gap_s=0.5):
        length = max(1, int(ctx.rng.uniform(0.05, 0.6) / step_s))
        gate[(int(onset / step_s) + np.arange(length)) % grid] = ctx.rng.uniform(0.5, 1.0)
    return gate


def hum(ctx: Ctx) -> Rendered:
    """Mains hum with a rectified buzz (params: neon=True adds drift and flickering crackle)."""
    mains_hz = float(ctx.rng.choice([50.0, 60.0]))
    tone = to_audio(_hum_spectrum(ctx, mains_hz), ctx.frames)
    tone /= np.float32(np.sqrt(np.mean(tone**2)) + 1e-12)
    if not ctx.params.get("neon"):
        return Rendered(tone)
    factor = coarse_factor(ctx.frames, ctx.sample_rate / 500.0)
    gate = upsample_linear(_flicker(ctx, factor), factor)
    drift = 1.0 + 0.05 * np.tanh(modulator(ctx, 0.1, 1.0))
    crackle = noise(ctx, bandpass(ctx.freqs, 2000.0, 8000.0, 2))
    crackle *= (gate * np.abs(np.tanh(2.0 * modulator(ctx, 20.0, 60.0))))[:, None]
    return Rendered((tone * (drift * (1.0 + 0.5 * gate))[:, None] + 0.6 * crackle).astype(np.float32))


# ---- hvac ----------------------------------------------------------------------------------------------

def hvac(ctx: Ctx) -> Rendered:
    """Ventilation: fan noise with a low-mid hump, blade-pass tones and motor hum, slowly drifting."""
    f, rng = ctx.freqs, ctx.rng
    fan = unit_shape(tilt(f, 1.0) * resonance(f, rng.uniform(300.0, 600.0), 0.7) * highpass(f, 40.0)
                     * lowpass(f, ctx.between(2000.0, 6000.0)))
    spec = spectrum(ctx, fan)
    blade_hz = rng.uniform(80.0, 150.0)
    spec += partials(ctx, [blade_hz * k for k in (1, 2, 3, 4)], [0.25, 0.12, 0.06, 0.03], width_hz=0.3)
    mains_hz = float(rng.choice([50.0, 60.0]))
    spec += partials(ctx, [mains_hz, 2 * mains_hz], [0.05, 0.08], width_hz=0.05)
    flow = 1.0 + 0.08 * np.tanh(modulator(ctx, 0.02, 0.1))
    return Rendered(to_audio(spec, ctx.frames) * flow[:, None])


# ---- clock ---------------------------------------------------------------------------------------------

def _tick(ctx: Ctx, modes_hz: tuple[float, ...]) -> np.ndarray:
    rng, sr = ctx.rng, ctx.sample_rate
    frames = int(0.06 * sr)
    t = np.arange(frames) / sr
    ring = sum(np.sin(2 * np.pi * m * rng.uniform(0.99, 1.01) * t) * np.exp(-t / ctx.between(0.004, 0.012)) / (i + 1)
               for i, m in enumerate(modes_hz))
    click = rng.standard_normal(frames) * np.exp(-t / 0.0007)
    return ((ring + 0.5 * click) * rng.uniform(0.85, 1.0)).astype(np.float32)


def clock(ctx: Ctx) -> Rendered:
    """A ticking clock: tick and tock alternate, a whole even number of them per loop, over faint room tone."""
    rng = ctx.rng
    ticks = max(2, 2 * round(ctx.seconds / 2.0))
    period_s = ctx.seconds / ticks
    tick_modes = tuple(rng.uniform(0.9, 1.1) * m for m in (2500.0, 4200.0, 6100.0))
    tock_modes = tuple(0.72 * m for m in tick_modes)
    out = np.zeros((ctx.frames, 2), np.float32)
    pan = rng.uniform(-0.2, 0.2)
    phase_s = rng.uniform(0.0, period_s)
    for k in range(ticks):
        grain = _tick(ctx, tick_modes if k % 2 == 0 else tock_modes)
        place(out, phase_s + k * period_s + rng.uniform(-0.002, 0.002), grain, pan, ctx.sample_rate)
    room = noise(ctx, tilt(ctx.freqs, 1.0) * bandpass(ctx.freqs, 60.0, 4000.0))
    room *= np.float32(0.004 * np.abs(out).max())
    return Rendered(out + room)


# ---- noise ---------------------------------------------------------------------------------------------

def colored_noise(ctx: Ctx) -> Rendered:
    """Pink (exponent 1) or brown (2) noise; intensity brightens it a little."""
    f = ctx.freqs
    exponent = float(ctx.params.get("exponent", 1.0))
    cutoff = ctx.between(6000.0, 18000.0) if exponent < 1.5 else ctx.between(500.0, 2000.0)
    return Rendered(noise(ctx, tilt(f, exponent) * highpass(f, 20.0) * lowpass(f, cutoff, 1)))


# ---- drone and pad -------------------------------------------------------------------------------------

def _swelling_groups(ctx: Ctx, groups: list[tuple[list[float], list[float]]], width_hz: float,
                     swell_hz: tuple[float, float]) -> np.ndarray:
    """Each group of partials under its own periodic swell, summed: float32 (frames, 2)."""
    out = np.zeros((ctx.frames, 2), np.float32)
    for freqs, amps in groups:
        if not freqs:
            continue
        swell = 0.7 + 0.3 * np.tanh(modulator(ctx, *swell_hz))
        out += to_audio(partials(ctx, freqs, amps, width_hz), ctx.frames) * swell[:, None]
    return out


def drone(ctx: Ctx) -> Rendered:
    """A low drone: harmonics and a fifth of a low root, in three slowly swelling groups."""
    rng = ctx.rng
    root_hz = float(rng.choice([36.71, 41.2, 43.65, 49.0, 55.0, 61.74]))
    series = [(k * root_hz, k ** -0.8) for k in range(1, 17) if k == 1 or rng.uniform() < 0.75]
    series += [(1.5 * root_hz * k, 0.5 * k ** -0.8) for k in (1, 2, 4)]
    tilt_power = ctx.between(1.5, 0.6)
    groups = [([], []), ([], []), ([], [])]
    for freq, amp in series:
        group = groups[0 if freq < 120 else 1 if freq < 400 else 2]
        group[0].append(freq)
        group[1].append(amp * (freq / root_hz) ** -tilt_power)
    return Rendered(_swelling_groups(ctx, groups, width_hz=0.15, swell_hz=(0.02, 0.1)))


_CHORDS = {"maj7": (0, 4, 7, 11), "min7": (0, 3, 7, 10), "min9": (0, 3, 7, 10, 14), "sus2": (0, 2, 7, 12),
           "add9": (0, 4, 7, 14)}


def pad(ctx: Ctx) -> Rendered:
    """A soft pad chord (the offline musical bed): chorused partials breathing every ~12 s."""
    rng = ctx.rng
    root_hz = float(rng.choice([110.0, 130.81, 146.83, 164.81, 174.61, 196.0]))
    intervals = _CHORDS[str(rng.choice(sorted(_CHORDS)))]
    notes = [root_hz / 2] + [root_hz * 2 ** (i / 12) for i in intervals]
    bright = ctx.between(0.3, 1.0)
    low, high = ([], []), ([], [])
    for note in notes:
        for k in range(1, 7):
            target = low if k <= 2 else high
            target[0].append(note * k)
            target[1].append(k ** -1.5 * (1.0 if k <= 2 else bright))
    breath_hz = 1.0 / 12.0
    return Rendered(_swelling_groups(ctx, [low, high], width_hz=0.25, swell_hz=(breath_hz / 2, breath_hz)))


# ---- bells ---------------------------------------------------------------------------------------------

_BELL_PARTIALS = ((0.5, 0.6), (1.0, 0.8), (1.2, 0.5), (1.5, 0.3), (2.0, 1.0), (2.5, 0.3), (2.66, 0.25),
                  (3.0, 0.2), (4.0, 0.1))


def _strike(ctx: Ctx, fundamental_hz: float) -> np.ndarray:
    rng, sr = ctx.rng, ctx.sample_rate
    t60_s = rng.uniform(4.0, 8.0)
    frames = int(min(t60_s, ctx.seconds) * sr)
    t = np.arange(frames, dtype=np.float32) / np.float32(sr)
    out = np.zeros(frames, np.float32)
    for ratio, amplitude in _BELL_PARTIALS:
        tau = t60_s / 6.9 / ratio ** 0.8
        n = min(frames, int(6 * tau * sr))
        beat = rng.uniform(-0.4, 0.4)
        freq = fundamental_hz * ratio
        out[:n] += np.float32(amplitude) * np.sin(np.float32(2 * np.pi * freq) * t[:n]) * (
            np.exp(-t[:n] / np.float32(tau)) * (1.0 + 0.2 * np.cos(np.float32(2 * np.pi * beat) * t[:n])))
    out *= np.minimum(1.0, (t[-1] - t) / np.float32(0.2))
    return out


def bells(ctx: Ctx) -> Rendered:
    """Bells tolling at Poisson times: 1-5 strikes of one or two bells, each strike slightly different."""
    rng, sr = ctx.rng, ctx.sample_rate
    out = np.zeros((ctx.frames, 2), np.float32)
    onsets = poisson_onsets(ctx, ctx.between(1 / 40, 1 / 10), min_gap_s=6.0)
    for onset in onsets:
        pitches = rng.choice([196.0, 220.0, 246.94, 261.63, 293.66, 329.63, 392.0], size=2) * rng.choice([0.5, 1.0])
        pan = rng.uniform(-ctx.spread, ctx.spread)
        at = float(onset)
        for k in range(int(rng.integers(1, 6))):
            place(out, at, _strike(ctx, float(pitches[k % 2])) * np.float32(rng.uniform(0.7, 1.0)), pan, sr)
            at += rng.uniform(1.5, 3.0)
    return Rendered(out, tuple(map(float, onsets)))


# ---- creaks --------------------------------------------------------------------------------------------

def _creak(ctx: Ctx) -> np.ndarray:
    rng, sr = ctx.rng, ctx.sample_rate
    length_s = rng.uniform(0.3, 1.5)
    frames = int(length_s * sr)
    u = np.linspace(0.0, 1.0, frames)
    rate_hz = np.interp(u, [0.0, rng.uniform(0.3, 0.7), 1.0],
                        [rng.uniform(20, 80), rng.uniform(60, 250), rng.uniform(20, 120)])
    cycles = np.cumsum(rate_hz) / sr
    pulses = np.zeros(frames)
    edges = np.flatnonzero(np.diff(np.floor(cycles)) > 0)
    pulses[edges] = rng.uniform(0.5, 1.0, edges.size)
    body = np.zeros(frames)
    for centre, q, gain in [(rng.uniform(250, 1200), rng.uniform(8, 20), 1.0) for _ in range(3)] + \
                           [(rng.uniform(100, 200), 6.0, 0.8)]:
        b, a = signal.iirpeak(centre, q, fs=sr)
        body += gain * signal.lfilter(b, a, pulses)
    env = np.sin(np.pi * u) ** 0.5
    woody = signal.sosfilt(_creak_lowpass(sr), body)                     # the pulses' clicks stay in the wood
    return (woody * env).astype(np.float32)


@lru_cache(maxsize=4)
def _creak_lowpass(sample_rate: int) -> np.ndarray:
    return signal.butter(2, 2500.0, fs=sample_rate, output="sos")


def creak(ctx: Ctx) -> Rendered:
    """Wooden creaks at Poisson times, each a different glide through different resonances."""
    out = np.zeros((ctx.frames, 2), np.float32)
    onsets = poisson_onsets(ctx, ctx.between(1 / 8, 1 / 2), min_gap_s=0.8)
    for onset in onsets:
        place(out, float(onset), _creak(ctx) * np.float32(ctx.rng.uniform(0.4, 1.0)),
              float(ctx.rng.uniform(-ctx.spread, ctx.spread)), ctx.sample_rate)
    return Rendered(out, tuple(map(float, onsets)))
