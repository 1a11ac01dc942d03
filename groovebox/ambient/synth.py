"""Render one scene layer to audio: the element's recipe, then the layer's mix (distance, width, pan, level).

Runs in worker processes (scene rendering is heavy: 0.15-0.55 s per 30 s layer on the dev box), and
in tests. Output: float32 ``(frames, 2)`` at ``sample_rate``, a seamless loop.

Decisions (reference/generation.md §4.2-4.3):
- One recipe per catalogue ``recipe`` id (``RECIPES``, 29 of them); kinds share recipes through their
  catalogue ``params``. Beds are exactly periodic by construction; event layers place randomly timed
  one-shots around the loop's circle (a one-shot crossing the end continues at the start), so they loop
  too. Every random number comes from the layer's seed (and its kind), so a render is reproducible.
- Distance: 0..1 maps to 1..8 m; level falls 6.02 dB per doubling (0 to -18 dB), the high end is
  low-passed spectrally (second order, 20 kHz at 0 down to 1.5 kHz at 1, a circular filter, so the loop
  stays seamless) and the stereo width narrows (x ``1 - distance/2``). The planner adds reverb send.
- Width: beds scale their side signal (mid/side) by the layer's ``spread``; event layers spread their
  one-shots' pans over ``±spread``. Pan: a constant-power balance (unity at the centre).
- Intensity is the recipe's own (event rate, density, filter), plus a level change of
  ``6 * (intensity - 0.5)`` dB (heavy rain is louder than light rain).
- Loudness: a layer is scaled so its integrated loudness (BS.1770, measured as a loop by
  ``groovebox.generate.metrics``) is ``expected_loudness_lufs(layer)``: ``TARGET_LUFS`` (-23 LUFS) +
  ``gain_db`` + the distance and intensity level changes. If that pushes a sample over ``CEILING`` (0.99),
  a circular look-ahead limiter (metrics.normalise_loop) holds the peaks there and keeps the loudness,
  up to 8 dB of limiting. Peakier layers (footsteps, a clock, drizzle near +6 dB and full intensity) are
  limited by 8 dB and come out quieter than asked by the rest; if even that fails, the layer is scaled
  down to the ceiling. Nothing leaves here above 0.99.
- ``drift`` is *not* rendered: it is the live "animate" depth (slow random walks on gain and filter applied
  while the layer plays), so a rendered loop is the layer at rest.
- ``music_bed`` renders the offline pad chord; a Lyria musical bed replaces it when online (elsewhere).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import scipy.fft
import scipy.linalg

from groovebox.ambient import (
    recipes_creatures,
    recipes_tonal,
    recipes_urban,
    recipes_water,
    recipes_weather,
)
from groovebox.ambient.catalogue import element
from groovebox.ambient.recipes_dsp import Ctx, Rendered, filter_spectrally, lowpass
from groovebox.ambient.scene import ElementKind, Scene, SceneLayer
from groovebox.generate.metrics import integrated_loudness_lufs, normalise_loop

__all__ = [
    "CEILING",
    "RECIPES",
    "SAMPLE_RATE",
    "TARGET_LUFS",
    "distance_cutoff_hz",
    "distance_gain_db",
    "at_loudness",
    "expected_loudness_lufs",
    "intensity_gain_db",
    "layer_seed",
    "render_layer",
    "render_layer_detail",
    "render_scene",
    "seam_db",
]

TARGET_LUFS = -23.0
CEILING = 0.99
SAMPLE_RATE = 48000
MIN_SECONDS = 1.0
FAR_DISTANCE_M = 8.0             # distance 1.0; distance 0.0 is 1 m
_NEAR_CUTOFF_HZ = 20000.0
_FAR_CUTOFF_HZ = 1500.0
_SEAM_REFERENCE_POINTS = 64
_SEAM_PREDICTOR_ORDER = 16
_SEAM_WINDOW_S = 0.003
_SEAM_FLOOR = 1e-4               # windows 40 dB under the loop's mean step energy count as silence
_LIMITER_REACH_DB = 8.0
_CEILING_F32 = np.nextafter(np.float32(CEILING), np.float32(0.0))   # the largest float32 <= 0.99

RECIPES: dict[str, Callable[[Ctx], Rendered]] = {
    "rain": recipes_weather.rain,
    "thunder": recipes_weather.thunder,
    "wind": recipes_weather.wind,
    "whistle": recipes_weather.whistle,
    "leaves": recipes_weather.leaves,
    "fire": recipes_water.fire,
    "stream": recipes_water.stream,
    "waves": recipes_water.waves,
    "underwater": recipes_water.underwater,
    "birds": recipes_creatures.birds,
    "owl": recipes_creatures.owl,
    "gulls": recipes_creatures.gulls,
    "crickets": recipes_creatures.crickets,
    "cicadas": recipes_creatures.cicadas,
    "frogs": recipes_creatures.frogs,
    "babble": recipes_urban.babble,
    "traffic": recipes_urban.traffic,
    "city": recipes_urban.city,
    "siren": recipes_urban.siren,
    "footsteps": recipes_urban.footsteps,
    "train": recipes_urban.train,
    "hum": recipes_tonal.hum,
    "hvac": recipes_tonal.hvac,
    "clock": recipes_tonal.clock,
    "noise": recipes_tonal.colored_noise,
    "drone": recipes_tonal.drone,
    "pad": recipes_tonal.pad,
    "bells": recipes_tonal.bells,
    "creak": recipes_tonal.creak,
}


# ---- mix laws ------------------------------------------------------------------------------------------

def distance_gain_db(distance: float) -> float:
    """Level change of a layer at ``distance`` (0..1 = 1..8 m): -6.02 dB per doubling, 0 to -18 dB."""
    return -20.0 * math.log10(FAR_DISTANCE_M ** distance)


def distance_cutoff_hz(distance: float) -> float:
    """Low-pass cutoff of a layer at ``distance``: 20 kHz at 0 to 1.5 kHz at 1 (geometric)."""
    return _NEAR_CUTOFF_HZ * (_FAR_CUTOFF_HZ / _NEAR_CUTOFF_HZ) ** distance


def intensity_gain_db(intensity: float) -> float:
    """Level change with intensity: -3 dB at 0, 0 at 0.5, +3 dB at 1."""
    return 6.0 * (intensity - 0.5)


def expected_loudness_lufs(layer: SceneLayer) -> float:
    """The integrated loudness a rendered layer has (unless the ceiling made it quieter)."""
    return TARGET_LUFS + layer.gain_db + distance_gain_db(layer.distance) + intensity_gain_db(layer.intensity)


def layer_seed(seed: int, index: int) -> int:
    """A layer's own seed from a scene seed and the layer's position (any ints)."""
    return int(np.random.SeedSequence([seed % 2**64, index % 2**32]).generate_state(1, np.uint64)[0])


# ---- rendering -----------------------------------------------------------------------------------------

def render_layer_detail(layer: SceneLayer, *, seconds: float, sample_rate: int = SAMPLE_RATE, seed: int) -> Rendered:
    """``render_layer`` plus the onset times (s) of the layer's scheduled events (empty for beds)."""
    if not (isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds >= MIN_SECONDS):
        raise ValueError(f"seconds must be a number >= {MIN_SECONDS}, got {seconds!r}")
    if not (isinstance(sample_rate, int) and sample_rate >= 8000):
        raise ValueError(f"sample_rate must be an integer >= 8000 Hz, got {sample_rate!r}")
    spec = element(layer.kind)
    kind_number = list(ElementKind).index(layer.kind)
    rng = np.random.default_rng(np.random.SeedSequence([seed % 2**64, kind_number]))
    width = layer.spread * (1.0 - 0.5 * layer.distance)
    ctx = Ctx(round(seconds * sample_rate), sample_rate, rng, intensity=layer.intensity, spread=width,
              params=spec.recipe_params)
    rendered = RECIPES[spec.recipe](ctx)
    audio = _at_distance(rendered.audio, layer.distance, ctx)
    if spec.role == "bed":
        audio = _with_width(audio, width)
    audio = _panned(audio, layer.pan)
    return Rendered(at_loudness(audio, sample_rate, expected_loudness_lufs(layer)), rendered.onsets_s)


def render_layer(layer: SceneLayer, *, seconds: float, sample_rate: int = SAMPLE_RATE, seed: int) -> np.ndarray:
    """One layer as a seamless loop: float32 ``(round(seconds * sample_rate), 2)``, peak <= ``CEILING``."""
    return render_layer_detail(layer, seconds=seconds, sample_rate=sample_rate, seed=seed).audio


def render_scene(scene: Scene, *, seconds: float, sample_rate: int = SAMPLE_RATE, seed: int) -> list[np.ndarray]:
    """Every layer of ``scene`` (layer ``i`` rendered with ``layer_seed(seed, i)``)."""
    return [render_layer(layer, seconds=seconds, sample_rate=sample_rate, seed=layer_seed(seed, index))
            for index, layer in enumerate(scene.layers)]


def _at_distance(audio: np.ndarray, distance: float, ctx: Ctx) -> np.ndarray:
    cutoff_hz = distance_cutoff_hz(distance)
    if cutoff_hz >= 0.45 * ctx.sample_rate or cutoff_hz >= 19000.0:
        return audio
    return filter_spectrally(audio, lowpass(ctx.freqs, cutoff_hz, 2))


def _with_width(audio: np.ndarray, width: float) -> np.ndarray:
    mid = 0.5 * (audio[:, 0] + audio[:, 1])
    side = (0.5 * width) * (audio[:, 0] - audio[:, 1])
    return np.stack([mid + side, mid - side], axis=1).astype(np.float32)


def _panned(audio: np.ndarray, pan: float) -> np.ndarray:
    angle = (pan + 1.0) * math.pi / 4.0
    gains = np.array([math.cos(angle), math.sin(angle)], np.float32) * np.float32(math.sqrt(2.0))
    return audio * gains


def at_loudness(audio: np.ndarray, sample_rate: int, target_lufs: float) -> np.ndarray:
    loudness = integrated_loudness_lufs(audio, sample_rate)
    if not math.isfinite(loudness):
        return np.zeros_like(audio, dtype=np.float32)
    out = (audio * np.float32(10.0 ** ((target_lufs - loudness) / 20.0))).astype(np.float32)
    over_db = 20.0 * math.log10(max(float(np.abs(out).max()), 1e-30) / CEILING)
    if over_db > 0.0:
        out = _limited(out, sample_rate, target_lufs, over_db)
    return np.clip(out, -_CEILING_F32, _CEILING_F32, out=out)     # only float32 rounding is left to clip


def _limited(audio: np.ndarray, sample_rate: int, target_lufs: float, over_db: float) -> np.ndarray:
    """``audio`` (at ``target_lufs``, peaks ``over_db`` above the ceiling) under the ceiling: the circular
    limiter at the target when at most ``_LIMITER_REACH_DB`` of limiting is needed, else at the loudness
    that much limiting can hold; failing that, plainly scaled down."""
    target = target_lufs - max(0.0, over_db - _LIMITER_REACH_DB)
    try:
        return normalise_loop(audio, sample_rate, target_lufs=target, ceiling_dbfs=20.0 * math.log10(CEILING))
    except ValueError:
        return audio * np.float32(10.0 ** (-over_db / 20.0))


# ---- seam ----------------------------------------------------------------------------------------------

def seam_db(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> float:
    """Seam click of a loop in dB (pass <= +3): the click contrast across the wrap less the median click
    contrast at 63 points evenly spaced inside the loop.

    It is the project's seam measure (``metrics.seam_click_db``: step energy in a ±3 ms window across the
    wrap against the loop's own) with two changes that ambience needs:
    - "Step" is the error of a linear predictor (order 16, fitted per channel to the loop's circular
      autocorrelation) instead of the plain first difference, which is the order-1 predictor. The
      predictor whitens the texture, so a chirp's envelope or a crackle's ring reads as ordinary while a
      discontinuity - which no predictor foresees - stands out by tens of dB.
    - Click contrast at a point is the error energy in the ±3 ms window over the mean of the 6 ms windows
      either side of it (floored 40 dB under the loop's mean, so silent gaps read 0 dB). A step raises
      the middle window only; a loud passage raises all three, so the reading does not depend on whether
      the wrap falls in a loud or a quiet moment (a wave crash, a passing car).
    0 dB: the wrap is like any point inside; a loop cut short reads +3 to +40 dB, except in white-ish
    noise (rain, pink noise), where a cut is neither measurable nor audible. Pair it with
    ``metrics.sample_jump_ratio``, as the reference does."""
    steps = _prediction_error_energy(np.asarray(audio, np.float64), _SEAM_PREDICTOR_ORDER)
    half = max(1, round(_SEAM_WINDOW_S * sample_rate))
    n = steps.size
    if n < 6 * half * _SEAM_REFERENCE_POINTS:
        raise ValueError(f"a loop of {n} frames is too short to measure its seam")
    floor = _SEAM_FLOOR * float(steps.mean()) + 1e-30
    points = [0] + [round(k * n / _SEAM_REFERENCE_POINTS) for k in range(1, _SEAM_REFERENCE_POINTS)]
    contrasts = [_click_contrast_db(steps, point, half, floor) for point in points]
    return float(contrasts[0] - np.median(contrasts[1:]))


def _prediction_error_energy(x: np.ndarray, order: int) -> np.ndarray:
    """Per frame, the squared error of each channel's circular linear predictor, summed over channels."""
    x = x[:, None] if x.ndim == 1 else x
    frames = x.shape[0]
    energy = np.zeros(frames)
    for channel in x.T:
        spec = scipy.fft.rfft(channel)
        autocorrelation = scipy.fft.irfft(np.abs(spec) ** 2, frames)[:order + 1]
        if autocorrelation[0] <= 0.0:
            continue
        autocorrelation[0] *= 1.0 + 1e-9                      # keeps the system well conditioned
        coefficients = scipy.linalg.solve_toeplitz(autocorrelation[:order], autocorrelation[1:order + 1])
        inverse = np.zeros(frames)
        inverse[0], inverse[1:order + 1] = 1.0, -coefficients
        error = scipy.fft.irfft(spec * scipy.fft.rfft(inverse), frames)      # circular: the wrap included
        energy += error * error
    return energy


def _click_contrast_db(steps: np.ndarray, centre: int, half: int, floor: float) -> float:
    def energy(middle: int) -> float:
        return float(steps[(middle + np.arange(-half, half)) % steps.size].mean())
    around = 0.5 * (energy(centre - 2 * half) + energy(centre + 2 * half))
    return 10.0 * math.log10((energy(centre) + floor) / (around + floor))
