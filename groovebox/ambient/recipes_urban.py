"""People and city recipes: crowd and café babble, traffic, city roar (beds); sirens, footsteps, trains
(events) (worker processes; reference/generation.md §4.2).

Decisions:
- Babble: five vowel bands (noise through the first three formants of a, e, i, o, u) made once; each of
  8-40 voices (6-24 in a café) talks in spurts of 1-4 s separated by 0.5-3 s pauses, a syllable every
  0.15-0.3 s on a random vowel, and every voice has its own pan and level. The voices' syllable
  envelopes are summed per vowel and channel on a ~200 Hz grid around the loop's circle, so the whole
  crowd costs five band noises. The right channel reads each band a few seconds later (a circular shift),
  which decorrelates it for free. A crowd laughs now and then (a voice's run of "ha" syllables); a café
  adds cup and spoon clinks (2-4 inharmonic partials at 2-7 kHz).
- Traffic: passes arrive as a Poisson process (5-40 per minute with intensity) around the circle; each is
  an engine tone (25-60 Hz, three harmonics) and tyre hiss (a shared 0.5-4 kHz noise read at the pass's
  time) under a 1/distance envelope of a car driving past at 8-20 m/s, 5-25 m away (heard from about
  six times that distance, faded in and out over the outer 40% of the pass), with its Doppler
  shift (c / (c + radial speed)) and a pan that follows its position. A low-passed pink bed is the far road.
- City: a dark roar (pink below 400-800 Hz) with a slow drift, a murmur band, and distant horns.
- Sirens: Poisson every 60 s to 20 s (wail, yelp or hi-lo), 8-16 s long, passing with Doppler and pan.
- Footsteps: walkers arrive as a Poisson process; each walks past (6-16 steps at 100-125 steps a minute,
  ±5% jitter) with heel and toe grains 30-60 ms apart through a surface model: concrete (1-3 kHz band),
  wet (plus a 3-8 kHz splash and small drop bubbles) or snow (clusters of micro-grains under 3 kHz).
- Train: a pass every 90 s to 30 s (at least 6 s apart: a long minimum gap against a short mean would
  make the passes nearly periodic): a rumble envelope of 10-20 s, wheel clacks in pairs per bogie at
  the carriage period, sometimes a horn chord at the start.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import signal

from groovebox.ambient.recipes_dsp import (
    Ctx,
    Rendered,
    bandpass,
    circular_add,
    coarse_factor,
    highpass,
    lowpass,
    modulator,
    noise,
    place,
    poisson_onsets,
    resonance,
    tilt,
    upsample_linear,
)

__all__ = ["babble", "city", "footsteps", "siren", "traffic", "train"]

SPEED_OF_SOUND_M_S = 343.0
_VOWEL_FORMANTS_HZ = ((730, 1090, 2440), (530, 1840, 2480), (270, 2290, 3010), (570, 840, 2410), (300, 870, 2240))


# ---- babble --------------------------------------------------------------------------------------------

def _vowel_bands(ctx: Ctx) -> list[np.ndarray]:
    f = ctx.freqs
    bands = []
    for f1, f2, f3 in _VOWEL_FORMANTS_HZ:
        formants = resonance(f, f1, 5.0) + 0.7 * resonance(f, f2, 6.0) + 0.3 * resonance(f, f3, 8.0)
        shape = formants * bandpass(f, 150.0, 5000.0)
        bands.append(noise(ctx, shape, 1)[:, 0])
    return bands


def _syllable(points: int) -> np.ndarray:
    return np.sin(np.pi * (np.arange(points) + 0.5) / points) ** 2


def _talk(ctx: Ctx, env: np.ndarray, step_s: float, gains: tuple[float, float], laugh: bool) -> None:
    """Add one voice's syllables into ``env`` (vowels, 2, grid) around the circle."""
    rng = ctx.rng
    grid = env.shape[2]
    t = rng.uniform(0.0, ctx.seconds)
    end = t + ctx.seconds
    while t < end:
        spurt_end = t + rng.uniform(1.0, 4.0)
        while t < min(spurt_end, end):
            length = max(2, int(rng.uniform(0.1, 0.25) / step_s))
            vowel = int(rng.integers(0, len(_VOWEL_FORMANTS_HZ)))
            index = (int(t / step_s) + np.arange(length)) % grid
            shape = _syllable(length) * rng.uniform(0.4, 1.0)
            env[vowel, 0, index] += gains[0] * shape
            env[vowel, 1, index] += gains[1] * shape
            t += rng.uniform(0.15, 0.3)
        if laugh and rng.uniform() < 0.05:
            for k in range(int(rng.integers(4, 8))):                   # "ha-ha-ha": vowel a, decaying
                index = (int((t + k * 0.18) / step_s) + np.arange(max(2, int(0.12 / step_s)))) % grid
                shape = _syllable(index.size) * 1.2 * 0.85**k
                env[0, 0, index] += gains[0] * shape
                env[0, 1, index] += gains[1] * shape
        t += rng.uniform(0.5, 3.0)


def _clinks(ctx: Ctx, out: np.ndarray) -> None:
    rng, sr = ctx.rng, ctx.sample_rate
    for onset in poisson_onsets(ctx, ctx.between(0.3, 1.5), min_gap_s=0.1):
        frames = int(0.35 * sr)
        t = np.arange(frames) / sr
        partials = rng.uniform(2000.0, 7000.0, int(rng.integers(2, 5)))
        clink = sum(np.sin(2 * np.pi * p * t) * np.exp(-t / rng.uniform(0.04, 0.3)) for p in partials)
        clink *= np.minimum(1.0, t / 0.0005) * rng.uniform(0.2, 1.0)
        place(out, float(onset), clink.astype(np.float32), float(rng.uniform(-ctx.spread, ctx.spread)), sr)


def babble(ctx: Ctx) -> Rendered:
    """A crowd or café (params: cafe=True): many voices talking in spurts, a laugh now and then, clinks."""
    rng, sr = ctx.rng, ctx.sample_rate
    cafe = bool(ctx.params.get("cafe"))
    bands = _vowel_bands(ctx)
    factor = coarse_factor(ctx.frames, sr / 200.0)
    grid = ctx.frames // factor
    env = np.full((len(bands), 2, grid), 0.12)                        # a faint wash under the voices
    for _ in range(round(ctx.between(6, 24) if cafe else ctx.between(8, 40))):
        angle = (rng.uniform(-ctx.spread, ctx.spread) + 1.0) * math.pi / 4.0
        level = rng.uniform(0.2, 1.0) ** 1.5
        _talk(ctx, env, factor / sr, (level * math.cos(angle), level * math.sin(angle)), laugh=True)
    out = np.zeros((ctx.frames, 2), np.float32)
    shift = int(rng.integers(sr, max(sr + 1, ctx.frames - sr)))
    for band, band_env in zip(bands, env):
        out[:, 0] += band * upsample_linear(band_env[0].astype(np.float32), factor)
        out[:, 1] += np.roll(band, shift) * upsample_linear(band_env[1].astype(np.float32), factor)
    out /= np.float32(np.sqrt(np.mean(out**2)) + 1e-12)
    if cafe:
        clinks = np.zeros_like(out)
        _clinks(ctx, clinks)
        out += clinks * np.float32(1.5 / (np.abs(clinks).max() + 1e-12))
    return Rendered(out)


# ---- traffic -------------------------------------------------------------------------------------------

def _pass(ctx: Ctx, tyres: np.ndarray, onset_s: float, out: np.ndarray) -> None:
    """One car driving past: engine + tyres under distance, Doppler and pan, added around the circle."""
    rng, sr = ctx.rng, ctx.sample_rate
    speed, closest = rng.uniform(8.0, 20.0), rng.uniform(5.0, 25.0)
    half_s = min(6.0 * closest / speed, 5.0, ctx.seconds / 2)          # out to ~1/6 of the nearest level
    t = np.arange(-int(half_s * sr), int(half_s * sr), dtype=np.float32) / np.float32(sr)
    x = np.float32(speed) * t
    r = np.sqrt(x * x + np.float32(closest * closest))
    doppler = SPEED_OF_SOUND_M_S / (SPEED_OF_SOUND_M_S + np.float32(speed) * x / r)
    edge = np.clip((np.float32(half_s) - np.abs(t)) / np.float32(0.4 * half_s), 0.0, 1.0)
    level = (np.float32(closest) / r) * (0.5 - 0.5 * np.cos(np.float32(np.pi) * edge))
    phase = np.cumsum(doppler * np.float32(rng.uniform(25.0, 60.0) * 2 * math.pi / sr), dtype=np.float64)
    sine, cosine = np.sin(phase).astype(np.float32), np.cos(phase).astype(np.float32)
    engine = sine * (1.0 + cosine + 0.33 * (3.0 - 4.0 * sine * sine))      # sin x + sin 2x/2 + sin 3x/3
    start = int((onset_s - half_s) * sr)
    hiss = np.take(tyres, np.arange(start, start + t.size), mode="wrap") * np.float32(speed / 14.0)
    mono = (0.5 * engine + hiss) * level
    side = np.float32(ctx.spread * rng.choice((-1.0, 1.0)))            # which way the car drives
    angle = (np.clip(x / r, -1.0, 1.0) * side + 1.0) * np.float32(math.pi / 4)
    circular_add(out, start, np.stack([mono * np.cos(angle), mono * np.sin(angle)], axis=1))


def traffic(ctx: Ctx) -> Rendered:
    """Cars passing at Poisson times over the far road's low rumble."""
    f = ctx.freqs
    tyres = noise(ctx, bandpass(f, 500.0, 4000.0, 2), 1)[:, 0]
    passes = np.zeros((ctx.frames, 2), np.float32)
    for onset in poisson_onsets(ctx, ctx.between(5.0, 40.0) / 60.0, min_gap_s=0.5):
        _pass(ctx, tyres, float(onset), passes)
    bed = noise(ctx, tilt(f, 1.5) * lowpass(f, 500.0) * highpass(f, 30.0))
    bed *= (1.0 + 0.25 * np.tanh(modulator(ctx, 0.02, 0.2)))[:, None]
    peak = float(np.abs(passes).max()) or 1.0
    return Rendered((0.35 * bed + passes * np.float32(2.5 / peak)).astype(np.float32))


# ---- city ----------------------------------------------------------------------------------------------

def _horn(ctx: Ctx) -> np.ndarray:
    rng, sr = ctx.rng, ctx.sample_rate
    frames = int(rng.uniform(0.2, 0.8) * sr)
    t = np.arange(frames) / sr
    tones = rng.uniform(350.0, 500.0) * np.array([1.0, rng.choice([1.19, 1.26])])
    body = sum(np.sin(2 * np.pi * k * f0 * t) / k for f0 in tones for k in (1, 3, 5))
    env = np.minimum(1.0, t / 0.02) * np.minimum(1.0, (t[-1] - t) / 0.05)
    sos = signal.butter(2, 1500.0, fs=sr, output="sos")                # heard from blocks away
    return signal.sosfilt(sos, body * env).astype(np.float32)


def city(ctx: Ctx) -> Rendered:
    """A city's low roar with a murmur band and distant horns."""
    f, rng = ctx.freqs, ctx.rng
    roar = noise(ctx, tilt(f, 1.5) * lowpass(f, ctx.between(400.0, 800.0)) * highpass(f, 25.0))
    roar *= (1.0 + 0.3 * np.tanh(modulator(ctx, 0.03, 0.3)))[:, None]
    murmur = noise(ctx, bandpass(f, 300.0, 2500.0, 1)) * (0.6 + 0.3 * np.tanh(modulator(ctx, 0.1, 0.6)))[:, None]
    horns = np.zeros((ctx.frames, 2), np.float32)
    for onset in poisson_onsets(ctx, ctx.between(0.02, 0.12), min_gap_s=1.0):
        place(horns, float(onset), _horn(ctx) * np.float32(rng.uniform(0.3, 1.0)),
              float(rng.uniform(-ctx.spread, ctx.spread)), ctx.sample_rate)
    horns *= np.float32(1.2 / (np.abs(horns).max() + 1e-12))
    return Rendered((roar + 0.25 * murmur + horns).astype(np.float32))


# ---- sirens --------------------------------------------------------------------------------------------

def _siren_pitch(ctx: Ctx, t: np.ndarray) -> np.ndarray:
    rng = ctx.rng
    style = rng.choice(["wail", "yelp", "hilo"])
    if style == "hilo":
        low = rng.uniform(420.0, 500.0)
        return np.where(np.mod(t * rng.uniform(0.8, 1.2), 1.0) < 0.5, low, low * 1.33)
    rate_hz = rng.uniform(0.15, 0.35) if style == "wail" else rng.uniform(2.0, 4.0)
    sweep = 0.5 - 0.5 * np.cos(2 * np.pi * rate_hz * t + rng.uniform(0, 6.3))
    return rng.uniform(550.0, 700.0) + rng.uniform(600.0, 800.0) * sweep


def _siren(ctx: Ctx) -> tuple[np.ndarray, np.ndarray]:
    """One siren passing by: (mono, pan per sample)."""
    rng, sr = ctx.rng, ctx.sample_rate
    length_s = min(rng.uniform(8.0, 16.0), ctx.seconds)
    t = np.arange(int(length_s * sr)) / sr
    speed, closest = rng.uniform(10.0, 20.0), rng.uniform(40.0, 200.0)
    x = speed * (t - length_s / 2)
    r = np.sqrt(x * x + closest * closest)
    doppler = SPEED_OF_SOUND_M_S / (SPEED_OF_SOUND_M_S + speed * x / r)
    phase = np.cumsum(_siren_pitch(ctx, t) * doppler) * (2 * math.pi / sr)
    tone = np.sin(phase) + 0.3 * np.sin(2 * phase) + 0.15 * np.sin(3 * phase)
    fade = np.minimum(1.0, np.minimum(t, length_s - t) / 1.5)
    return (tone * (closest / r) * fade).astype(np.float32), np.clip(x / r, -1, 1) * ctx.spread


def siren(ctx: Ctx) -> Rendered:
    """Sirens passing at Poisson times; each differs in style, speed, pitch and path."""
    out = np.zeros((ctx.frames, 2), np.float32)
    onsets = poisson_onsets(ctx, ctx.between(1 / 60, 1 / 20), min_gap_s=10.0)
    for onset in onsets:
        mono, pan = _siren(ctx)
        angle = (pan + 1.0) * math.pi / 4.0
        stereo = np.stack([mono * np.cos(angle), mono * np.sin(angle)], axis=1).astype(np.float32)
        circular_add(out, round(float(onset) * ctx.sample_rate), stereo * np.float32(ctx.rng.uniform(0.5, 1.0)))
    return Rendered(out, tuple(map(float, onsets)))


# ---- footsteps -----------------------------------------------------------------------------------------

@lru_cache(maxsize=256)
def _bandpass_sos(low_hz: int, high_hz: int, sample_rate: int) -> np.ndarray:
    return signal.butter(2, (low_hz, high_hz), btype="bandpass", fs=sample_rate, output="sos")


def _burst(ctx: Ctx, seconds: float, tau_s: float, band_hz: tuple[float, float]) -> np.ndarray:
    """A decaying band-passed noise burst (band edges rounded to 50 Hz so the filter designs are reused)."""
    rng, sr = ctx.rng, ctx.sample_rate
    frames = max(8, int(seconds * sr))
    t = np.arange(frames) / sr
    sos = _bandpass_sos(int(round(band_hz[0] / 50) * 50), int(round(band_hz[1] / 50) * 50), sr)
    return signal.sosfilt(sos, rng.standard_normal(frames)) * np.exp(-t / tau_s)


def _step(ctx: Ctx, surface: str) -> np.ndarray:
    """One footfall (heel then toe) on ``surface``: mono float32."""
    rng, sr = ctx.rng, ctx.sample_rate
    frames = int(0.2 * sr)
    grain = np.zeros(frames)
    for offset_s, level in ((0.0, 1.0), (rng.uniform(0.03, 0.06), rng.uniform(0.3, 0.6))):
        at = int(offset_s * sr)
        if surface == "snow":
            for _ in range(int(rng.integers(10, 30))):
                micro = _burst(ctx, 0.004, rng.uniform(0.0005, 0.0015), (300.0, 3000.0)) * rng.uniform(0.2, 1.0)
                start = at + int(rng.uniform(0.0, 0.08) * sr)
                grain[start:start + micro.size] += level * micro[:frames - start]
            continue
        band_hz = (rng.uniform(900, 1300), rng.uniform(2500, 3500))
        hit = _burst(ctx, rng.uniform(0.01, 0.03), rng.uniform(0.003, 0.008), band_hz)
        n = np.arange(hit.size)
        thud = np.sin(2 * np.pi * rng.uniform(80, 120) * n / sr) * np.exp(-n / (0.01 * sr))
        grain[at:at + hit.size] += level * (hit + 0.3 * thud * np.abs(hit).max())
        if surface == "wet":
            splash = _burst(ctx, rng.uniform(0.03, 0.08), 0.015, (3000.0, 8000.0)) * rng.uniform(0.4, 0.9)
            grain[at:at + splash.size] += level * splash
    return grain.astype(np.float32)


def footsteps(ctx: Ctx) -> Rendered:
    """People walking past at Poisson times (params: surface="wet" | "snow"; default concrete)."""
    rng, sr = ctx.rng, ctx.sample_rate
    surface = str(ctx.params.get("surface", "concrete"))
    out = np.zeros((ctx.frames, 2), np.float32)
    onsets = poisson_onsets(ctx, ctx.between(1 / 14, 1 / 4), min_gap_s=2.0)
    for onset in onsets:
        steps = int(rng.integers(6, 17))
        interval_s = 60.0 / rng.uniform(100.0, 125.0)
        pans = np.linspace(rng.uniform(-1, 1), rng.uniform(-1, 1), steps) * ctx.spread
        walker = rng.uniform(0.5, 1.0)
        at = float(onset)
        for k in range(steps):
            near = 0.35 + 0.65 * math.sin(math.pi * (k + 0.5) / steps)       # approach, pass, recede
            level = np.float32(walker * near * rng.uniform(0.8, 1.0))
            place(out, at, _step(ctx, surface) * level, float(pans[k]), sr)
            at += interval_s * rng.uniform(0.95, 1.05)
    return Rendered(out, tuple(map(float, onsets)))


# ---- train ---------------------------------------------------------------------------------------------

def _train_pass(ctx: Ctx, length_s: float) -> np.ndarray:
    """One train passing: rumble, wheel clacks and maybe a horn; stereo float32."""
    rng, sr = ctx.rng, ctx.sample_rate
    frames = int(length_s * sr)
    t = np.arange(frames) / sr
    ramp_s = min(3.0, length_s / 3)
    env = np.minimum(1.0, np.minimum(t, length_s - t) / ramp_s) ** 2
    sos = signal.butter(2, rng.uniform(100.0, 180.0), fs=sr, output="sos")
    rumble = signal.sosfilt(sos, rng.standard_normal((2, frames)), axis=-1).T * env[:, None] * 4.0
    speed = rng.uniform(10.0, 25.0)
    car_s, bogie_s = 25.0 / speed, 2.5 / speed
    clack_sos = signal.butter(2, (300.0, 2000.0), btype="bandpass", fs=sr, output="sos")
    at = rng.uniform(0.0, car_s)
    while at < length_s - 0.2:
        for offset in (0.0, bogie_s):
            frame = int((at + offset) * sr)
            n = np.arange(int(0.02 * sr))
            click = signal.sosfilt(clack_sos, rng.standard_normal(n.size)) * np.exp(-n / (0.004 * sr))
            end = min(frames, frame + click.size)
            rumble[frame:end] += (click[:end - frame] * env[frame] * rng.uniform(0.6, 1.0))[:, None]
        at += car_s
    if rng.uniform() < 0.35:
        horn_frames = int(min(rng.uniform(1.0, 2.0), length_s / 2) * sr)
        th = np.arange(horn_frames) / sr
        chord = sum(np.sin(2 * np.pi * k * f0 * th) / k for f0 in (311.0, 370.0, 466.0) for k in (1, 2, 3))
        horn = chord * np.minimum(1.0, th / 0.05) * np.minimum(1.0, (th[-1] - th) / 0.2) * 0.3
        start = int(ramp_s * 0.5 * sr)
        rumble[start:start + horn_frames] += horn[:, None]
    return rumble.astype(np.float32)


def train(ctx: Ctx) -> Rendered:
    """Trains passing at Poisson times (at least one per loop)."""
    onsets = poisson_onsets(ctx, ctx.between(1 / 90, 1 / 30), min_gap_s=6.0)
    out = np.zeros((ctx.frames, 2), np.float32)
    for onset in onsets:
        length_s = min(ctx.rng.uniform(10.0, 20.0), ctx.seconds)
        circular_add(out, round(float(onset) * ctx.sample_rate), _train_pass(ctx, length_s))
    return Rendered(out, tuple(map(float, onsets)))
