"""Weather recipes: rain (and on a roof, and drizzle), thunder, wind, whistling wind, rustling leaves
(worker processes; Farnell, *Designing Sound*, ch. rain/wind/thunder, as summarised in
reference/generation.md §4.2).

Decisions:
- Rain is one spectrum: drops are Poisson impulses (500-5,000/s with intensity; drizzle 80-600/s) with
  random sign, exponential amplitude and pan, band-passed 1.5-9 kHz (on a roof: resonant modes at
  0.8-2 kHz), over a pink bed high-passed at 500 Hz, plus a 100-300 Hz rumble when heavy. Drop density
  follows a slow periodic gust, so heavy rain swells a little.
- Wind is three periodic noise bands (low, mid, high) whose gains follow a squared gust signal (partials
  0.05-0.5 Hz) with rising powers, so gusts get louder and brighter together, as a band-pass whose centre
  follows the gust would; each channel has its own small gust deviation (decorrelated L/R).
- Whistling wind adds narrow noise bands (a few Hz wide, 0.5-2 kHz) that open above a gust threshold, in
  pairs a semitone apart crossfaded by the gust so the pitch seems to bend with the wind.
- Thunder strikes are Poisson (every 50 s at intensity 0 to every 12 s at 1, at least one per loop, at
  least 6 s apart); each is a rumble of 3-7 delayed sub-strikes of low-passed noise decaying over 4-9 s,
  and, for near strikes (more likely at high intensity), a high-passed crack first.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from groovebox.ambient.recipes_dsp import (
    Ctx,
    Rendered,
    bandpass,
    circular_add,
    highpass,
    impulse_spectrum,
    lowpass,
    modulator,
    narrow_band,
    noise,
    poisson_onsets,
    resonance,
    spectrum,
    tilt,
    to_audio,
    unit_shape,
)

__all__ = ["leaves", "rain", "thunder", "whistle", "wind"]


# ---- rain ----------------------------------------------------------------------------------------------

def _drop_shape(ctx: Ctx, surface: str) -> np.ndarray:
    f = ctx.freqs
    if surface == "roof":
        modes = sum(resonance(f, centre, q) * gain for centre, q, gain in
                    ((ctx.rng.uniform(800, 1100), 9.0, 1.0), (ctx.rng.uniform(1300, 1700), 11.0, 0.8),
                     (ctx.rng.uniform(1800, 2200), 12.0, 0.5)))
        return unit_shape(modes * highpass(f, 300.0) + 0.35 * bandpass(f, 2000.0, 9000.0, 1))
    return unit_shape(bandpass(f, 1500.0, 9000.0, 1))


def rain(ctx: Ctx) -> Rendered:
    """Rain: drops over a pink hiss, one periodic spectrum (params: surface="roof", drizzle=True)."""
    f, rng = ctx.freqs, ctx.rng
    drizzle = bool(ctx.params.get("drizzle"))
    rate_hz = ctx.between(80.0, 600.0) if drizzle else ctx.between(500.0, 5000.0)
    count = max(1, rng.poisson(rate_hz * ctx.seconds))
    starts = rng.integers(0, ctx.frames, count)
    gust = 1.0 + 0.3 * ctx.intensity * modulator(ctx, 0.03, 0.2)[starts]
    amplitudes = np.minimum(rng.exponential(1.0, count), 3.0) * rng.choice((-1.0, 1.0), count) * np.maximum(gust, 0.2)
    drops = impulse_spectrum(ctx, starts, amplitudes, rng.uniform(-ctx.spread, ctx.spread, count))
    bed_shape = unit_shape(tilt(f, 1.0) * highpass(f, 500.0) * lowpass(f, 12000.0 if not drizzle else 8000.0))
    total = drops * (_drop_shape(ctx, str(ctx.params.get("surface", ""))) * 1.0)
    total += spectrum(ctx, bed_shape) * np.float32(0.9 if drizzle else ctx.between(0.5, 1.0))
    if ctx.intensity > 0.6 and not drizzle:
        rumble = unit_shape(bandpass(f, 100.0, 300.0, 2))
        total += spectrum(ctx, rumble) * np.float32(1.5 * (ctx.intensity - 0.6))
    return Rendered(to_audio(total, ctx.frames))


# ---- thunder -------------------------------------------------------------------------------------------

def _rumble(ctx: Ctx, length_s: float, near: bool) -> np.ndarray:
    """Stereo rumble (frames, 2): low-passed noise under several decaying sub-strikes."""
    rng, sr = ctx.rng, ctx.sample_rate
    frames = int(length_s * sr)
    cutoff_hz = rng.uniform(160.0, 320.0) if near else rng.uniform(70.0, 160.0)
    sos = signal.butter(2, cutoff_hz, fs=sr, output="sos")
    body = signal.sosfilt(sos, rng.standard_normal((2, frames)), axis=-1).T
    t = np.arange(frames) / sr
    env = np.zeros(frames)
    for index in range(int(rng.integers(3, 8))):
        at = 0.0 if index == 0 else rng.uniform(0.0, 0.45) * length_s        # the first strike starts it
        tau = rng.uniform(0.4, 2.2)
        rise = np.clip((t - at) / rng.uniform(0.03, 0.25), 0.0, 1.0)
        env += rng.uniform(0.3, 1.0) * rise * np.exp(-np.maximum(t - at, 0.0) / tau)
    env *= np.clip((length_s - t) / 0.5, 0.0, 1.0)         # reach zero at the end of the grain
    return body * env[:, None]


def _crack(ctx: Ctx) -> np.ndarray:
    rng, sr = ctx.rng, ctx.sample_rate
    frames = int(rng.uniform(0.08, 0.2) * sr)
    sos = signal.butter(2, rng.uniform(1200.0, 2500.0), btype="highpass", fs=sr, output="sos")
    burst = signal.sosfilt(sos, rng.standard_normal(frames))
    t = np.arange(frames) / sr
    return burst * np.exp(-t / rng.uniform(0.015, 0.05))


def thunder(ctx: Ctx) -> Rendered:
    """Thunder strikes at Poisson times over silence; every strike differs."""
    rng, sr = ctx.rng, ctx.sample_rate
    onsets = poisson_onsets(ctx, ctx.between(1 / 50, 1 / 12), min_gap_s=6.0)
    out = np.zeros((ctx.frames, 2), np.float32)
    for onset in onsets:
        near = rng.uniform() < ctx.between(0.2, 0.7)
        length_s = min(rng.uniform(4.0, 9.0), ctx.seconds)
        pan = rng.uniform(-ctx.spread, ctx.spread)
        strike = _rumble(ctx, length_s, near) * rng.uniform(0.5, 1.0)
        strike *= np.array([1.0 - 0.5 * max(pan, 0.0), 1.0 + 0.5 * min(pan, 0.0)])
        if near:
            crack = _crack(ctx) * (np.abs(strike).max() * rng.uniform(0.8, 1.6))
            strike[:crack.size] += crack[:, None] * np.array([1.0 - 0.7 * max(pan, 0), 1.0 + 0.7 * min(pan, 0)])
        circular_add(out, round(onset * sr), strike.astype(np.float32))
    return Rendered(out, tuple(float(t) for t in onsets))


# ---- wind ----------------------------------------------------------------------------------------------

def _gust(ctx: Ctx) -> np.ndarray:
    """A positive gust signal, mean about 1: slow swells times faster gusts, squared."""
    slow = np.tanh(modulator(ctx, 0.02, 0.08))
    fast = np.tanh(modulator(ctx, 0.05, 0.5))
    depth = ctx.between(0.25, 0.5)
    g = np.maximum(0.15, 1.0 + 0.3 * slow + depth * fast) ** 2
    return (g / g.mean()).astype(np.float32)


def _wind_bands(ctx: Ctx, gust: np.ndarray) -> np.ndarray:
    f = ctx.freqs
    bright = ctx.between(0.0, 1.0)
    low = noise(ctx, tilt(f, 2.0) * lowpass(f, 300.0) * highpass(f, 30.0))
    mid = noise(ctx, resonance(f, 350.0 + 350.0 * bright, 1.2) * highpass(f, 60.0))
    high = noise(ctx, resonance(f, 900.0 + 700.0 * bright, 1.5))
    side = modulator(ctx, 0.05, 0.4) * np.float32(0.15)
    gusts = np.stack([gust * (1.0 + side), gust * (1.0 - side)], axis=1)
    mix = 0.8 * low * np.sqrt(gusts) + 0.6 * mid * gusts + (0.15 + 0.3 * bright) * high * gusts**2
    return mix.astype(np.float32)


def wind(ctx: Ctx) -> Rendered:
    """Gusting wind: three noise bands following a gust signal, decorrelated left/right."""
    return Rendered(_wind_bands(ctx, _gust(ctx)))


def whistle(ctx: Ctx) -> Rendered:
    """Wind whistling round a building: a wind bed plus narrow tones that open when the gust is strong."""
    rng = ctx.rng
    gust = _gust(ctx)
    out = 0.5 * _wind_bands(ctx, gust)
    threshold = np.quantile(gust[::64], ctx.between(0.75, 0.4))
    opening = np.clip((gust - threshold) / (gust.max() - threshold + 1e-6), 0.0, 1.0)
    for _ in range(int(rng.integers(2, 4))):
        pitch_hz = rng.uniform(500.0, 1800.0)
        width_hz = rng.uniform(2.0, 6.0)
        lower = _narrow_band(ctx, pitch_hz, width_hz)
        upper = _narrow_band(ctx, pitch_hz * 1.06, width_hz)
        tone = (lower * (1.0 - opening) + upper * opening) * opening
        tone /= np.sqrt(np.mean(tone**2)) + 1e-9
        pan = rng.uniform(-ctx.spread, ctx.spread) * 0.7
        out[:, 0] += 0.5 * tone * (1.0 - max(pan, 0.0))
        out[:, 1] += 0.5 * tone * (1.0 + min(pan, 0.0))
    return Rendered(out.astype(np.float32))


def _narrow_band(ctx: Ctx, centre_hz: float, width_hz: float) -> np.ndarray:
    """Mono periodic noise a few Hz wide around ``centre_hz``: a tone that wavers."""
    return narrow_band(ctx, centre_hz, width_hz, channels=1)[:, 0]


# ---- leaves --------------------------------------------------------------------------------------------

def leaves(ctx: Ctx) -> Rendered:
    """Leaves rustling: gust-driven micro-clicks (2-8 kHz) over a soft high hiss."""
    f, rng = ctx.freqs, ctx.rng
    gust = np.maximum(0.0, 0.7 + 0.5 * np.tanh(modulator(ctx, 0.08, 0.7))) ** 2
    rate_hz = ctx.between(300.0, 3000.0)
    count = max(1, rng.poisson(rate_hz * ctx.seconds))
    starts = rng.integers(0, ctx.frames, count)
    amplitudes = np.minimum(rng.exponential(1.0, count), 3.0) * rng.choice((-1.0, 1.0), count) * gust[starts]
    clicks = impulse_spectrum(ctx, starts, amplitudes, rng.uniform(-ctx.spread, ctx.spread, count))
    shape = unit_shape(bandpass(f, 2000.0, 8000.0, 2) * resonance(f, rng.uniform(3000.0, 5000.0), 0.8))
    rustle = to_audio(clicks * shape, ctx.frames)
    hiss = noise(ctx, bandpass(f, 1500.0, 9000.0, 1)) * (0.15 + 0.4 * gust)[:, None]
    return Rendered((rustle + 0.5 * hiss).astype(np.float32))
