"""Rendered layers loop seamlessly, never clip, sit at their loudness target and follow their mix."""

import math

import numpy as np
import pytest

from groovebox.ambient.catalogue import ELEMENTS
from groovebox.ambient.scene import ElementKind, SceneLayer
from groovebox.ambient.synth import (
    CEILING,
    distance_gain_db,
    expected_loudness_lufs,
    intensity_gain_db,
    render_layer,
    render_layer_detail,
    seam_db,
)
from groovebox.generate.metrics import integrated_loudness_lufs, sample_jump_ratio

SR = 48000
BEDS = [kind for kind in ElementKind if ELEMENTS[kind].role == "bed"]
SEAM_SEEDS = (11, 12, 13)


def default_layer(kind, **mix) -> SceneLayer:
    spec = ELEMENTS[kind]
    values = {"gain_db": 0.0, "spread": spec.spread, "distance": spec.distance, "intensity": spec.intensity,
              "pan": 0.2}
    return SceneLayer(kind=kind, **{**values, **mix})


def centroid_hz(audio: np.ndarray) -> float:
    power = np.abs(np.fft.rfft(audio.mean(axis=1))) ** 2
    freqs = np.fft.rfftfreq(audio.shape[0], 1 / SR)
    return float((power * freqs).sum() / power.sum())


# ---- seams ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", BEDS, ids=str)
def test_every_bed_loops_without_a_seam(kind):
    """The wrap must look like any point inside the loop. A single point of a random texture can land on
    one of its own transients (a crackle, a croak), so the median over three seeds is what must pass:
    a construction that is not periodic fails every seed."""
    seams, jumps = [], []
    for seed in SEAM_SEEDS:
        audio = render_layer(default_layer(kind), seconds=6, seed=seed)
        seams.append(seam_db(audio, SR))
        jumps.append(sample_jump_ratio(audio))
    assert np.median(seams) <= 3.0, seams
    assert np.median(jumps) <= 1.0, jumps


@pytest.mark.parametrize("kind", [ElementKind.BROWN_NOISE, ElementKind.HUM, ElementKind.DRONE,
                                  ElementKind.MUSIC_BED, ElementKind.UNDERWATER], ids=str)
def test_the_seam_metric_catches_a_loop_cut_short(kind):
    audio = render_layer(default_layer(kind), seconds=6, seed=SEAM_SEEDS[0])
    cut = audio[:-1777]                                   # no longer a whole number of periods
    assert seam_db(cut, SR) > 3.0 or sample_jump_ratio(cut) > 1.0


def test_the_seam_checks_catch_a_sine_that_does_not_loop():
    t = np.arange(4 * SR) / SR
    whole = np.sin(2 * np.pi * 220.0 * t)                 # 880 cycles: loops
    broken = np.sin(2 * np.pi * 220.37 * t)               # ends 0.48 cycles short: a step
    assert seam_db(whole, SR) <= 3.0
    assert seam_db(broken, SR) > 20.0
    assert sample_jump_ratio(whole) <= 1.001       # a sine's wrap step is its largest step, i.e. its p99 step
    assert sample_jump_ratio(broken) > 1.0


def test_the_seam_metric_reads_a_click_at_the_wrap():
    audio = render_layer(default_layer(ElementKind.BROWN_NOISE), seconds=4, seed=1).copy()
    assert seam_db(audio, SR) <= 3.0
    audio[:3] += 0.05                                      # a small step just after the wrap
    assert seam_db(audio, SR) > 10.0


# ---- level ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(ElementKind), ids=str)
def test_nothing_clips_at_full_intensity_and_plus_six_db(kind):
    layer = SceneLayer(kind=kind, gain_db=6.0, intensity=1.0, distance=0.0, spread=1.0, pan=-0.3)
    audio = render_layer(layer, seconds=5, seed=5)
    assert audio.dtype == np.float32 and audio.shape == (5 * SR, 2)
    assert np.isfinite(audio).all()
    assert float(np.abs(audio).max()) <= CEILING


@pytest.mark.parametrize("kind", list(ElementKind), ids=str)
def test_loudness_is_on_target(kind):
    layer = default_layer(kind)
    audio = render_layer(layer, seconds=6, seed=6)
    assert integrated_loudness_lufs(audio, SR) == pytest.approx(expected_loudness_lufs(layer), abs=1.0)


def test_expected_loudness_follows_gain_distance_and_intensity():
    base = SceneLayer(kind=ElementKind.PINK_NOISE, gain_db=0.0, distance=0.0, intensity=0.5)
    assert expected_loudness_lufs(base) == pytest.approx(-23.0)
    moved = base.model_copy(update={"gain_db": -6.0, "distance": 1.0 / 3.0, "intensity": 1.0})
    assert expected_loudness_lufs(moved) == pytest.approx(-23.0 - 6.0 - 6.02 + 3.0, abs=0.01)
    assert distance_gain_db(1.0) == pytest.approx(-18.06, abs=0.01) and intensity_gain_db(0.0) == -3.0


def test_gain_moves_the_measured_loudness():
    loud, quiet = (render_layer(default_layer(ElementKind.WIND, gain_db=g), seconds=6, seed=3) for g in (0.0, -12.0))
    difference = integrated_loudness_lufs(loud, SR) - integrated_loudness_lufs(quiet, SR)
    assert difference == pytest.approx(12.0, abs=0.2)


# ---- mix -----------------------------------------------------------------------------------------------

def test_pan_is_a_constant_power_balance():
    left = render_layer(default_layer(ElementKind.PINK_NOISE, pan=-1.0), seconds=4, seed=2)
    centre = render_layer(default_layer(ElementKind.PINK_NOISE, pan=0.0), seconds=4, seed=2)
    assert np.abs(left[:, 1]).max() < 1e-6 < np.abs(left[:, 0]).max()
    rms = lambda x: float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    assert rms(centre[:, 0]) == pytest.approx(rms(centre[:, 1]), rel=0.1)


def test_spread_zero_makes_a_bed_mono_and_one_keeps_it_wide():
    mono = render_layer(default_layer(ElementKind.RAIN, spread=0.0, pan=0.0), seconds=4, seed=2)
    wide = render_layer(default_layer(ElementKind.RAIN, spread=1.0, distance=0.0, pan=0.0), seconds=4, seed=2)
    assert np.allclose(mono[:, 0], mono[:, 1], atol=1e-6)
    assert np.corrcoef(wide[:, 0], wide[:, 1])[0, 1] < 0.8


def test_distance_darkens_a_layer():
    near = render_layer(default_layer(ElementKind.CROWD, distance=0.0), seconds=4, seed=2)
    far = render_layer(default_layer(ElementKind.CROWD, distance=0.9), seconds=4, seed=2)
    assert centroid_hz(far) < 0.7 * centroid_hz(near)
    loudness = [integrated_loudness_lufs(x, SR) for x in (near, far)]
    assert loudness[0] - loudness[1] == pytest.approx(-distance_gain_db(0.9), abs=1.0)


def test_intensity_raises_event_rates_and_density():
    def onsets(intensity):
        return sum(len(render_layer_detail(default_layer(ElementKind.BIRDS, intensity=intensity, gain_db=-12.0),
                                           seconds=60, seed=seed).onsets_s) for seed in (4, 5, 6))
    assert onsets(1.0) > 2 * onsets(0.0)
    light = render_layer(default_layer(ElementKind.RAIN, intensity=0.0, distance=0.0), seconds=4, seed=4)
    heavy = render_layer(default_layer(ElementKind.RAIN, intensity=1.0, distance=0.0), seconds=4, seed=4)
    # more drops: a heavy downpour is less sparse (a lower crest factor) than light rain
    crest = lambda x: float(np.abs(x).max() / np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    assert crest(heavy) < crest(light)


# ---- reproducibility and input checks -------------------------------------------------------------------

def test_the_same_seed_renders_the_same_loop_and_another_seed_another():
    layer = default_layer(ElementKind.FIRE)
    first, again, other = (render_layer(layer, seconds=3, seed=s) for s in (1, 1, 2))
    assert np.array_equal(first, again)
    assert not np.allclose(first, other)


def test_length_follows_seconds_and_sample_rate():
    audio = render_layer(default_layer(ElementKind.HVAC), seconds=2.5, sample_rate=44100, seed=1)
    assert audio.shape == (round(2.5 * 44100), 2)


@pytest.mark.parametrize("seconds", [0.2, math.nan, -3.0])
def test_bad_lengths_are_refused(seconds):
    with pytest.raises(ValueError, match="seconds"):
        render_layer(default_layer(ElementKind.RAIN), seconds=seconds, seed=1)
