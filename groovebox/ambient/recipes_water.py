"""Fire and water recipes: fire (indoors and a campfire), stream, ocean waves, underwater (worker processes;
reference/generation.md §4.2).

Decisions:
- Fire: a roar (brown noise below 200 Hz) and a hiss (300-1,500 Hz) share one periodic noise under a
  lapping modulation (0.3-2 Hz); a sizzle above 3 kHz flutters with a 15-45 Hz modulation; crackles
  (Poisson 2-20/s with intensity, 1.5x outdoors) are 1-10 ms noise bursts, differentiated (a cheap
  high-pass), and rarer pops are 30-60 ms low thumps with a click; crackles and pops are set by their
  peak (3-5x and 3x the body's RMS), not their RMS, which depends on how sparse they are. Outdoors the
  roar is weaker.
- Stream: bubbles (sines 0.6-3.5 kHz rising as they decay in 2-8 ms, 60-250/s with intensity, their
  density following a slow gurgle) over a pink bed band-limited to 1.2-2.5 kHz.
- Waves: crashes spaced 5-12 s (closer and brighter with intensity), each an envelope rising over
  1.5-3 s and washing out over 2-4 s, summed around the loop's circle (the wash of a crash carries on
  into the next loop, so a short loop has no step where the next crash rises). Three noise bands follow it: the
  low band never falls silent, the mid band follows the crash, the high band follows a delayed copy
  squared (the fizz of the wash), so each crash sweeps from dark to bright.
- Underwater: low-passed brown noise with a slow swell, and sparse low bubbles (200-900 Hz, 15-60 ms).
"""

from __future__ import annotations

import math

import numpy as np

from groovebox.ambient.recipes_dsp import (
    Ctx,
    Rendered,
    bandpass,
    bubbles,
    coarse_factor,
    highpass,
    lowpass,
    modulator,
    noise,
    render_grains,
    tilt,
    unit_shape,
    upsample_linear,
)

__all__ = ["fire", "stream", "underwater", "waves"]


# ---- fire ----------------------------------------------------------------------------------------------

def _crackles(ctx: Ctx, rate_hz: float) -> np.ndarray:
    rng, sr = ctx.rng, ctx.sample_rate
    count = max(1, int(rng.poisson(rate_hz * ctx.seconds)))
    length = int(0.012 * sr)
    t = np.arange(length, dtype=np.float32) / np.float32(sr)
    tau = rng.uniform(0.0005, 0.003, count).astype(np.float32)[:, None]
    burst = rng.standard_normal((count, length + 1), dtype=np.float32)
    grains = np.diff(burst, axis=1) * np.exp(-t / tau)
    level = np.minimum(rng.exponential(1.0, count), 4.0)
    angle = (rng.uniform(-ctx.spread, ctx.spread, count) + 1.0) * (math.pi / 4.0)
    gains = np.stack([np.cos(angle), np.sin(angle)], axis=1) * level[:, None]
    return render_grains(ctx.frames, rng.integers(0, ctx.frames, count), grains, gains)


def _pops(ctx: Ctx, rate_hz: float) -> np.ndarray:
    rng, sr = ctx.rng, ctx.sample_rate
    count = max(1, int(rng.poisson(rate_hz * ctx.seconds)))
    length = int(0.06 * sr)
    t = np.arange(length, dtype=np.float32) / np.float32(sr)
    pitch = rng.uniform(120.0, 400.0, count).astype(np.float32)[:, None]
    tau = rng.uniform(0.008, 0.02, count).astype(np.float32)[:, None]
    thump = np.sin(np.float32(2 * math.pi) * pitch * t) * np.exp(-t / tau)
    click = rng.standard_normal((count, length), dtype=np.float32) * np.exp(-t / np.float32(0.0008))
    level = rng.uniform(0.5, 1.0, count)
    angle = (rng.uniform(-ctx.spread, ctx.spread, count) + 1.0) * (math.pi / 4.0)
    gains = np.stack([np.cos(angle), np.sin(angle)], axis=1) * level[:, None]
    return render_grains(ctx.frames, rng.integers(0, ctx.frames, count), thump + 0.7 * click, gains)


def _peak_scaled(x: np.ndarray, peak: float) -> np.ndarray:
    """Sparse one-shots are set by their loudest peak (their RMS says little about how loud they sound)."""
    top = float(np.abs(x).max())
    return x * np.float32(peak / top) if top > 0 else x


def fire(ctx: Ctx) -> Rendered:
    """A fire: lapping roar and hiss, fluttering sizzle, crackles and pops (params: outdoor=True)."""
    f = ctx.freqs
    outdoor = bool(ctx.params.get("outdoor"))
    roar = unit_shape(tilt(f, 2.0) * lowpass(f, 200.0) * highpass(f, 25.0)) * (0.5 if outdoor else 1.0)
    hiss = unit_shape(bandpass(f, 300.0, 1500.0, 1)) * 0.45
    lap = 1.0 + 0.45 * np.tanh(modulator(ctx, 0.3, 2.0))
    body = noise(ctx, roar + hiss) * lap[:, None]
    flutter = (0.5 + 0.5 * np.tanh(modulator(ctx, 15.0, 45.0))) ** 2
    sizzle = noise(ctx, bandpass(f, 3000.0, 12000.0, 2)) * flutter[:, None]
    rate_hz = ctx.between(2.0, 20.0) * (1.5 if outdoor else 1.0)
    crackles = _peak_scaled(_crackles(ctx, rate_hz), ctx.between(3.0, 5.0))
    pops = _peak_scaled(_pops(ctx, ctx.between(0.05, 0.5)), 3.0)
    mix = 0.55 * body + ctx.between(0.08, 0.2) * sizzle + crackles + pops
    return Rendered(mix.astype(np.float32))


# ---- stream --------------------------------------------------------------------------------------------

def stream(ctx: Ctx) -> Rendered:
    """A babbling stream: many small rising bubbles over a band-limited pink bed."""
    f = ctx.freqs
    gurgle = np.maximum(0.1, 1.0 + 0.5 * np.tanh(modulator(ctx, 0.2, 1.5)))
    cloud = bubbles(ctx, ctx.between(60.0, 250.0), 600.0, 3500.0, (0.002, 0.008), grain_s=0.016, amplitude=gurgle)
    bed = noise(ctx, tilt(f, 1.0) * bandpass(f, 150.0, ctx.between(1200.0, 2500.0), 2))
    return Rendered((cloud + ctx.between(0.4, 0.8) * bed).astype(np.float32))


# ---- waves ---------------------------------------------------------------------------------------------

def _crash_envelope(ctx: Ctx, factor: int) -> np.ndarray:
    """Sum of wave envelopes on a grid ``factor`` times coarser than the loop, peak 1, periodic."""
    rng = ctx.rng
    grid = ctx.frames // factor
    step_s = factor / ctx.sample_rate
    t = np.arange(grid) * step_s
    spacing_s = ctx.between(10.0, 6.0)
    count = max(1, round(ctx.seconds / spacing_s))
    centres = (np.arange(count) + rng.uniform(-0.3, 0.3, count)) * ctx.seconds / count + rng.uniform(0, ctx.seconds)
    env = np.zeros(grid)
    for centre in centres:
        rise_s, tau_s = min(rng.uniform(1.5, 3.0), 0.5 * ctx.seconds), rng.uniform(2.0, 4.0)
        since = np.mod(t - centre, ctx.seconds)                         # time since the last crash
        # the wash of this crash and of all its repeats in earlier loops (a geometric sum), so the
        # envelope is continuous where the next crash starts to rise
        wash = np.exp(-since / tau_s) / (1.0 - math.exp(-ctx.seconds / tau_s))
        to_next = ctx.seconds - since                                    # time until the next crash
        rising = np.where(to_next < rise_s, 0.5 + 0.5 * np.cos(np.pi * to_next / rise_s), 0.0)
        env += rng.uniform(0.6, 1.0) * (wash + rising)
    return (env / env.max()).astype(np.float32)


def waves(ctx: Ctx) -> Rendered:
    """Ocean waves: crashes that sweep three noise bands from dark to bright, around the loop."""
    f = ctx.freqs
    factor = coarse_factor(ctx.frames, 480)
    coarse = _crash_envelope(ctx, factor)
    crash = upsample_linear(coarse, factor)[:, None]
    delay = max(1, round(0.6 * ctx.sample_rate / factor))
    wash = upsample_linear(np.roll(coarse, delay), factor)[:, None]
    low = noise(ctx, tilt(f, 2.0) * lowpass(f, 400.0) * highpass(f, 30.0))
    mid = noise(ctx, tilt(f, 1.0) * bandpass(f, 200.0, 2500.0, 1))
    high = noise(ctx, bandpass(f, 2500.0, 12000.0, 2))
    mix = 0.6 * low * (0.35 + 0.65 * crash) + 0.7 * mid * crash + ctx.between(0.2, 0.6) * high * wash**2
    return Rendered(mix.astype(np.float32))


# ---- underwater ----------------------------------------------------------------------------------------

def underwater(ctx: Ctx) -> Rendered:
    """Underwater: a muffled low swell and slow, low bubbles."""
    f = ctx.freqs
    swell = 1.0 + 0.3 * np.tanh(modulator(ctx, 0.05, 0.3))
    body = noise(ctx, tilt(f, 2.0) * lowpass(f, ctx.between(250.0, 500.0), 3) * highpass(f, 20.0))
    cloud = bubbles(ctx, ctx.between(2.0, 25.0), 200.0, 900.0, (0.015, 0.06), grain_s=0.15)
    return Rendered((body * swell[:, None] + 0.35 * cloud).astype(np.float32))
