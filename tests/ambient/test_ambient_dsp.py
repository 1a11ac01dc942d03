"""The recipes' building blocks: periodic noise and modulators, circular placement, Poisson schedules."""

import math

import numpy as np
import pytest

from groovebox.ambient.recipes_dsp import (
    Ctx,
    circular_add,
    lowpass,
    modulator,
    narrow_band,
    noise,
    pan_gains,
    partials,
    poisson_onsets,
    to_audio,
)

SR = 48000


def ctx(seconds=4.0, seed=1, **kw) -> Ctx:
    return Ctx(round(seconds * SR), SR, np.random.default_rng(seed), **kw)


def band_share(x: np.ndarray, low_hz: float, high_hz: float) -> float:
    power = np.abs(np.fft.rfft(x, axis=0)) ** 2
    freqs = np.fft.rfftfreq(x.shape[0], 1 / SR)
    inside = (freqs >= low_hz) & (freqs <= high_hz)
    return float(power[inside].sum() / power.sum())


def test_noise_follows_its_spectral_shape_at_unit_rms():
    c = ctx()
    x = noise(c, lowpass(c.freqs, 500.0, 4))
    assert x.shape == (c.frames, 2) and x.dtype == np.float32
    assert np.sqrt(np.mean(x.astype(np.float64) ** 2)) == pytest.approx(1.0, rel=0.05)
    assert band_share(x, 0, 800) > 0.98
    assert abs(np.corrcoef(x[:, 0], x[:, 1])[0, 1]) < 0.1          # independent channels


def test_modulator_partials_are_whole_cycles_inside_the_band():
    c = ctx(seconds=20)
    m = modulator(c, 0.1, 0.5)
    assert m.shape == (c.frames,)
    assert abs(float(m.mean())) < 0.05
    assert float(np.sqrt(np.mean(m.astype(np.float64) ** 2))) == pytest.approx(1, rel=0.5)
    assert band_share(m[:, None], 0.05, 0.6) > 0.99
    assert abs(float(m[0] - m[-1])) <= 2 * float(np.abs(np.diff(m)).max())      # continuous across the wrap


def test_narrow_bands_and_partials_sit_at_their_frequencies():
    c = ctx(seconds=20)
    assert band_share(narrow_band(c, 1000.0, 3.0), 980, 1020) > 0.99
    tone = to_audio(partials(c, [220.0, 440.0], [1.0, 0.5], width_hz=1.0), c.frames)
    assert band_share(tone, 214, 226) + band_share(tone, 434, 446) > 0.99
    # RMS amplitudes 1 : 0.5 are expectations (a band of ~100 random bins): power shares about 0.8 : 0.2
    assert band_share(tone, 214, 226) == pytest.approx(0.8, abs=0.08)


def test_circular_add_wraps_past_the_end():
    out = np.zeros((10, 2), np.float32)
    circular_add(out, 8, np.ones((5, 2), np.float32))
    assert out[:, 0].tolist() == [1, 1, 1, 0, 0, 0, 0, 0, 1, 1]
    longer = np.zeros(4, np.float32)
    circular_add(longer, 1, np.ones(9, np.float32))                 # a grain longer than the loop
    assert longer.sum() == 9


def test_pan_gains_keep_power_constant():
    for pan in np.linspace(-1, 1, 9):
        left, right = pan_gains(pan)
        assert left**2 + right**2 == pytest.approx(1.0)
    assert pan_gains(-1.0)[1] == pytest.approx(0.0, abs=1e-12)


def test_poisson_onsets_respect_the_loop_and_the_minimum_gap():
    c = ctx(seconds=60)
    onsets = poisson_onsets(c, 0.5, min_gap_s=0.8)
    assert np.all(np.diff(onsets) > 0) and onsets[0] >= 0 and onsets[-1] < 60
    gaps = np.diff(np.append(onsets, onsets[0] + 60))
    assert gaps.min() >= 0.8 - 1e-9
    assert 15 <= onsets.size <= 45
    assert poisson_onsets(ctx(seconds=2), 0.001).size == 1            # a sparse layer is never empty


def test_poisson_gaps_look_exponential():
    gaps = np.concatenate([np.diff(poisson_onsets(ctx(seconds=200, seed=s), 1.0)) for s in range(5)])
    assert gaps.mean() == pytest.approx(1.0, rel=0.1)
    assert gaps.std() / gaps.mean() == pytest.approx(1.0, abs=0.15)
    assert math.isclose(np.median(gaps), math.log(2), rel_tol=0.15)
