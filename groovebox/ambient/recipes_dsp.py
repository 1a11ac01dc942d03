"""Building blocks of the ambient recipes: periodic noise, spectral filters, periodic modulators, circular
event placement (worker processes; numpy and scipy, float32 audio shaped ``(frames, channels)``).

Decisions (reference/generation.md §4.3):
- A bed is exactly periodic in its length, so the loop is seamless by construction: noise is made in the
  FFT domain (``irfft`` of a shaped random spectrum), filters are spectral (circular), modulators are sums
  of sinusoids with a whole number of cycles per loop (an ``irfft`` with a few non-zero bins on a grid
  whose step divides the loop, interpolated periodically), and one-shots are added circularly (a grain
  crossing the end continues at the start). Nothing here runs an IIR filter across the loop; grains may
  use one, because a grain is finite and is placed as a whole.
- Levels: ``spectrum``/``noise``/``impulse_spectrum`` are scaled so that a ``unit_shape`` gives audio of
  RMS about 1, so recipes mix components by plain factors without measuring them.
- Spectral magnitudes are functions of frequency in Hz (``freqs`` from ``Ctx.freqs``): Butterworth-shaped
  low/high-pass magnitudes, resonant peaks with a Q, tilts ``1/f**(exponent/2)`` (1 = pink, 2 = brown).
- Random numbers come only from ``Ctx.rng``, so a recipe is reproducible from its seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.fft

__all__ = [
    "Ctx",
    "Rendered",
    "bandpass",
    "bubbles",
    "circular_add",
    "coarse_factor",
    "decay",
    "envelope_track",
    "filter_spectrally",
    "highpass",
    "impulse_spectrum",
    "lowpass",
    "modulator",
    "narrow_band",
    "noise",
    "normalised",
    "pan_gains",
    "partials",
    "place",
    "poisson_onsets",
    "render_grains",
    "resonance",
    "spectrum",
    "tilt",
    "to_audio",
    "unit_shape",
    "upsample_linear",
]

_GRAIN_CHUNK = 2_000_000      # samples per vectorised grain batch (memory bound)


@dataclass
class Ctx:
    """What a recipe gets: the loop length, the rate, a seeded generator, intensity (0..1), the width over
    which its events are spread (0..1) and its catalogue parameters."""

    frames: int
    sample_rate: int
    rng: np.random.Generator
    intensity: float = 0.5
    spread: float = 0.8
    params: dict = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate

    @cached_property
    def freqs(self) -> np.ndarray:
        """Frequencies (Hz, float32) of the ``rfft`` bins of a loop."""
        return np.fft.rfftfreq(self.frames, 1.0 / self.sample_rate).astype(np.float32)

    def between(self, low: float, high: float) -> float:
        """``low`` at intensity 0, ``high`` at 1 (linear)."""
        return low + (high - low) * self.intensity


@dataclass
class Rendered:
    """A recipe's output: float32 ``(frames, 2)`` and the onset times (s) of its scheduled events."""

    audio: np.ndarray
    onsets_s: tuple[float, ...] = ()


# ---- periodic noise and spectral filters ---------------------------------------------------------------

def spectrum(ctx: Ctx, magnitude: np.ndarray, channels: int = 2) -> np.ndarray:
    """A random complex spectrum (channels, bins), complex64, shaped by ``magnitude``; DC is zero. Scaled
    so its audio (``to_audio``) has an RMS of about ``sqrt(mean(magnitude**2))``: 1 for a ``unit_shape``."""
    bins = ctx.freqs.size
    spec = ctx.rng.standard_normal((channels, 2 * bins), dtype=np.float32).view(np.complex64)
    spec *= (np.asarray(magnitude, np.float32) * np.float32(math.sqrt(ctx.frames / 2.0) / ctx.frames))
    spec[:, 0] = 0.0
    return spec


def to_audio(spec: np.ndarray, frames: int) -> np.ndarray:
    """``irfft`` of (channels, bins) spectra -> float32 (frames, channels); exactly periodic in ``frames``."""
    return np.ascontiguousarray(scipy.fft.irfft(spec, n=frames, axis=-1, norm="forward").T, dtype=np.float32)


def noise(ctx: Ctx, magnitude: np.ndarray, channels: int = 2) -> np.ndarray:
    """Periodic noise with the spectral shape ``magnitude``, float32 (frames, channels), RMS about 1."""
    return to_audio(spectrum(ctx, unit_shape(magnitude), channels), ctx.frames)


def narrow_band(ctx: Ctx, centre_hz: float, width_hz: float, channels: int = 2) -> np.ndarray:
    """Periodic noise in a Gaussian band ``width_hz`` (standard deviation) around ``centre_hz``: a tone that
    wavers in level and pitch at about ``width_hz``. Float32 (frames, channels), RMS about 1."""
    hz_per_bin = ctx.sample_rate / ctx.frames
    lo = max(1, int((centre_hz - 5 * width_hz) / hz_per_bin))
    hi = min(ctx.freqs.size, int((centre_hz + 5 * width_hz) / hz_per_bin) + 2)
    spec = np.zeros((channels, ctx.freqs.size), np.complex64)
    if hi > lo:
        shape = np.exp(-0.5 * ((ctx.freqs[lo:hi] - centre_hz) / width_hz) ** 2)
        shape /= np.sqrt(np.sum(shape**2)) + 1e-30
        part = ctx.rng.standard_normal((channels, 2 * (hi - lo)), dtype=np.float32).view(np.complex64)
        spec[:, lo:hi] = part * (0.5 * shape).astype(np.float32)
    return to_audio(spec, ctx.frames)


def normalised(x: np.ndarray) -> np.ndarray:
    """``x`` scaled to RMS 1 (over all its samples); silence stays silence."""
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    return x / np.float32(rms) if rms > 0 else x


def tilt(freqs: np.ndarray, exponent: float, floor_hz: float = 20.0) -> np.ndarray:
    """Magnitude ``1/f**(exponent/2)`` (power 1/f**exponent: 1 pink, 2 brown), flat below ``floor_hz``."""
    return np.maximum(freqs, floor_hz) ** np.float32(-exponent / 2.0)


def lowpass(freqs: np.ndarray, cutoff_hz: float, order: int = 2) -> np.ndarray:
    """Butterworth low-pass magnitude of ``order``."""
    return 1.0 / np.sqrt(1.0 + (freqs / np.float32(cutoff_hz)) ** (2 * order))


def highpass(freqs: np.ndarray, cutoff_hz: float, order: int = 2) -> np.ndarray:
    """Butterworth high-pass magnitude of ``order`` (0 at DC)."""
    ratio = np.float32(cutoff_hz) / np.maximum(freqs, np.float32(1e-3))
    return 1.0 / np.sqrt(1.0 + ratio ** (2 * order))


def bandpass(freqs: np.ndarray, low_hz: float, high_hz: float, order: int = 2) -> np.ndarray:
    """High-pass at ``low_hz`` times low-pass at ``high_hz``."""
    return highpass(freqs, low_hz, order) * lowpass(freqs, high_hz, order)


def resonance(freqs: np.ndarray, centre_hz: float, q: float) -> np.ndarray:
    """Magnitude of a two-pole band-pass at ``centre_hz`` with quality ``q`` (1 at the centre)."""
    f = np.maximum(freqs, np.float32(1e-3)) / np.float32(centre_hz)
    return 1.0 / np.sqrt(1.0 + (q * (f - 1.0 / f)) ** 2)


def filter_spectrally(x: np.ndarray, magnitude: np.ndarray) -> np.ndarray:
    """Circular (zero-phase) filtering of float32 (frames, channels) audio by ``magnitude`` over the bins."""
    spec = scipy.fft.rfft(x, axis=0)
    spec *= np.asarray(magnitude, np.float32)[:, None]
    return scipy.fft.irfft(spec, n=x.shape[0], axis=0).astype(np.float32)


# ---- periodic modulators -------------------------------------------------------------------------------

def modulator(ctx: Ctx, low_hz: float, high_hz: float) -> np.ndarray:
    """A smooth random periodic signal (float32, ``frames``, mean 0, RMS 1) whose partials lie between
    ``low_hz`` and ``high_hz`` with a whole number of cycles per loop (at least one partial).

    Built by an ``irfft`` on a grid ``factor`` times coarser than the audio (``factor`` divides the loop
    length, so the grid is periodic too, and keeps at least 10 grid points per cycle of ``high_hz``),
    then linearly interpolated."""
    k_low = max(1, math.floor(low_hz * ctx.seconds))
    k_high = max(k_low, math.ceil(high_hz * ctx.seconds))
    count = k_high - k_low + 1
    factor = coarse_factor(ctx.frames, ctx.sample_rate / (10.0 * max(high_hz, 1e-3)))
    grid = ctx.frames // factor
    coefficients = np.zeros(grid // 2 + 1, np.complex64)
    count = min(count, coefficients.size - k_low - 1)
    coefficients[k_low:k_low + count] = ctx.rng.standard_normal(2 * count, dtype=np.float32).view(np.complex64)
    coefficients *= np.float32(0.5 / math.sqrt(count))       # RMS^2 = 2 * sum |c|^2 = 1 on average
    coarse = scipy.fft.irfft(coefficients, n=grid, norm="forward").astype(np.float32)
    return upsample_linear(coarse, factor)


def coarse_factor(frames: int, at_most: float) -> int:
    """The largest divisor of ``frames`` not above ``at_most`` (and 256)."""
    for factor in range(int(min(at_most, 256)), 1, -1):
        if frames % factor == 0:
            return factor
    return 1


def upsample_linear(coarse: np.ndarray, factor: int) -> np.ndarray:
    """Periodic linear interpolation of ``coarse`` by an integer ``factor``."""
    if factor == 1:
        return coarse
    ramp = np.arange(factor, dtype=np.float32) / np.float32(factor)
    step = np.roll(coarse, -1) - coarse
    return (coarse[:, None] + step[:, None] * ramp[None, :]).ravel()


def envelope_track(coarse: np.ndarray, frames: int) -> np.ndarray:
    """A periodic control signal of any length stretched to ``frames`` by periodic linear interpolation."""
    grid = coarse.size
    positions = np.arange(frames, dtype=np.float64) * (grid / frames)
    return np.interp(positions, np.arange(grid), coarse, period=grid).astype(np.float32)


# ---- events --------------------------------------------------------------------------------------------

def poisson_onsets(ctx: Ctx, rate_hz: float, *, min_gap_s: float = 0.0, at_least: int = 1) -> np.ndarray:
    """Onset times (s, sorted, in [0, seconds)) of a Poisson process of ``rate_hz`` on the loop's circle:
    exponential gaps never shorter than ``min_gap_s`` (the gap across the wrap included), rotated by a
    random offset; at least ``at_least`` events, so that a sparse layer is never empty."""
    seconds, rng = ctx.seconds, ctx.rng
    mean_gap = 1.0 / max(rate_hz, 1e-6)
    times, t = [], 0.0
    while t < seconds:
        times.append(t)
        t += max(min_gap_s, float(rng.exponential(mean_gap)))
    if len(times) > 1 and seconds - times[-1] < min_gap_s:
        times.pop()
    while len(times) < at_least:
        times.append(float(rng.uniform(0.0, seconds)))
    return np.sort(np.mod(np.array(times) + rng.uniform(0.0, seconds), seconds))


def pan_gains(pan: float) -> tuple[float, float]:
    """Constant-power (left, right) gains for ``pan`` in -1..1 (0.707 each at the centre)."""
    angle = (np.clip(pan, -1.0, 1.0) + 1.0) * math.pi / 4.0
    return math.cos(angle), math.sin(angle)


def circular_add(out: np.ndarray, start: int, grain: np.ndarray) -> None:
    """Add ``grain`` (frames[, channels]) into ``out`` from ``start``, wrapping past the end (in place)."""
    frames = out.shape[0]
    start %= frames
    offset = 0
    while offset < grain.shape[0]:
        at = (start + offset) % frames
        count = min(frames - at, grain.shape[0] - offset)
        out[at:at + count] += grain[offset:offset + count]
        offset += count


def place(out: np.ndarray, start_s: float, mono: np.ndarray, pan: float, sample_rate: int) -> None:
    """Add a mono grain into stereo ``out`` at ``start_s`` with a constant-power pan, wrapping."""
    left, right = pan_gains(pan)
    stereo = np.stack([mono * np.float32(left), mono * np.float32(right)], axis=1)
    circular_add(out, round(start_s * sample_rate), stereo)


def render_grains(frames: int, starts: np.ndarray, grains: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """Sum many equal-length grains into a loop: ``starts`` (count,) frames, ``grains`` (count, length),
    ``gains`` (count, 2) left/right; wraps circularly. Returns float32 (frames, 2)."""
    out = np.zeros((frames, 2), np.float64)
    count, length = grains.shape
    per_batch = max(1, _GRAIN_CHUNK // max(length, 1))
    offsets = np.arange(length)
    for lo in range(0, count, per_batch):
        hi = min(count, lo + per_batch)
        index = ((starts[lo:hi, None] + offsets) % frames).ravel()
        for channel in range(2):
            weights = (grains[lo:hi] * gains[lo:hi, channel:channel + 1]).ravel()
            out[:, channel] += np.bincount(index, weights=weights, minlength=frames)
    return out.astype(np.float32)


def decay(frames: int, tau_s: float, sample_rate: int, *, attack_s: float = 0.0) -> np.ndarray:
    """An exponential decay envelope (float32) with an optional linear attack."""
    t = np.arange(frames, dtype=np.float32) / np.float32(sample_rate)
    env = np.exp(-t / np.float32(max(tau_s, 1e-5)))
    if attack_s > 0:
        env *= np.minimum(1.0, t / np.float32(attack_s))
    return env.astype(np.float32)


def unit_shape(magnitude: np.ndarray) -> np.ndarray:
    """``magnitude`` scaled so that noise shaped by it has the same RMS as noise shaped by any other."""
    energy = float(np.sqrt(np.mean(np.square(magnitude, dtype=np.float64))))
    return (magnitude / np.float32(energy)).astype(np.float32) if energy > 0 else magnitude


def impulse_spectrum(ctx: Ctx, starts: np.ndarray, amplitudes: np.ndarray, pans: np.ndarray) -> np.ndarray:
    """The spectrum (2, bins) of impulses at ``starts`` (frames) with amplitudes and constant-power pans,
    scaled like ``spectrum``: filtered by a ``unit_shape`` its audio has an RMS of about 1 per channel."""
    angle = (np.clip(pans, -1.0, 1.0) + 1.0) * (math.pi / 4.0)
    trains = np.stack([np.bincount(starts, weights=amplitudes * np.cos(angle), minlength=ctx.frames),
                       np.bincount(starts, weights=amplitudes * np.sin(angle), minlength=ctx.frames)])
    spec = scipy.fft.rfft(trains.astype(np.float32), axis=-1, norm="forward")
    power = np.sum(np.square(trains, dtype=np.float64), axis=1)
    spec *= np.sqrt(ctx.frames / np.maximum(power, 1e-30)).astype(np.float32)[:, None]
    return spec


def bubbles(ctx: Ctx, rate_hz: float, low_hz: float, high_hz: float, tau_s: tuple[float, float],
            *, grain_s: float, amplitude: np.ndarray | None = None) -> np.ndarray:
    """A cloud of bubbles (Poisson at ``rate_hz``): sines from ``low_hz``..``high_hz`` (log-uniform) rising
    by 10-60% with an exponential decay ``tau_s`` (range), placed circularly with random pans.
    ``amplitude`` (frames) scales each bubble by its value at the onset. Float32 (frames, 2), RMS 1."""
    rng, sr = ctx.rng, ctx.sample_rate
    count = max(1, int(rng.poisson(rate_hz * ctx.seconds)))
    starts = rng.integers(0, ctx.frames, count)
    t = np.arange(int(grain_s * sr), dtype=np.float32) / np.float32(sr)
    f0 = np.exp(rng.uniform(math.log(low_hz), math.log(high_hz), count)).astype(np.float32)[:, None]
    rise = rng.uniform(0.1, 0.6, count).astype(np.float32)[:, None] / np.float32(grain_s)
    tau = rng.uniform(*tau_s, count).astype(np.float32)[:, None]
    phase = np.float32(2 * math.pi) * f0 * (t + 0.5 * rise * t * t)
    taper = np.minimum(1.0, (t[-1] - t) / np.float32(0.2 * grain_s))          # fade the truncated tail
    grains = np.sin(phase) * (np.exp(-t / tau) * (1.0 - np.exp(-t / np.float32(0.0005))) * taper)
    level = np.minimum(rng.exponential(1.0, count), 3.0)
    if amplitude is not None:
        level = level * amplitude[starts]
    angle = (rng.uniform(-ctx.spread, ctx.spread, count) + 1.0) * (math.pi / 4.0)
    gains = np.stack([np.cos(angle), np.sin(angle)], axis=1) * level[:, None]
    return normalised(render_grains(ctx.frames, starts, grains, gains))


def partials(ctx: Ctx, freqs_hz, amplitudes, width_hz: float, channels: int = 2) -> np.ndarray:
    """A spectrum (channels, bins) of narrow Gaussian noise bands (standard deviation ``width_hz``, at
    least one bin) at ``freqs_hz`` with RMS ``amplitudes``: sustained tones that waver slowly. Bands are
    independent per channel, so the channels are decorrelated."""
    hz_per_bin = ctx.sample_rate / ctx.frames
    width_bins = max(width_hz / hz_per_bin, 0.6)
    spec = np.zeros((channels, ctx.freqs.size), np.complex64)
    for freq_hz, amplitude in zip(freqs_hz, amplitudes):
        centre = freq_hz / hz_per_bin
        lo, hi = max(1, int(centre - 4 * width_bins)), min(ctx.freqs.size, int(centre + 4 * width_bins) + 2)
        if hi <= lo:
            continue
        shape = np.exp(-0.5 * ((np.arange(lo, hi) - centre) / width_bins) ** 2)
        shape *= amplitude * 0.5 / (np.sqrt(np.sum(shape**2)) + 1e-30)
        part = ctx.rng.standard_normal((channels, 2 * (hi - lo)), dtype=np.float32).view(np.complex64)
        spec[:, lo:hi] += part * shape.astype(np.float32)
    return spec
