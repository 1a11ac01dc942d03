"""library/stretch.py: exact length, pitch kept, tempo reached, seamless wrap, cache behaviour, bad ratios."""

import os

import numpy as np
import pytest
from loop_signals import SR, drum_loop

from groovebox.generate import metrics
from groovebox.library.stretch import StretchCache, audio_key, stretch_loop, stretched_frames


def dominant_hz(audio: np.ndarray) -> float:
    mono = audio.mean(axis=1) * np.hanning(len(audio))
    spectrum = np.abs(np.fft.rfft(mono))
    return float(np.fft.rfftfreq(len(mono), 1 / SR)[np.argmax(spectrum)])


@pytest.fixture(scope="module")
def drums():
    return drum_loop(120, 2)


@pytest.fixture(scope="module")
def drums_108(drums):
    return stretch_loop(drums, 120, 108)


def test_exact_length_and_format(drums, drums_108):
    assert len(drums_108) == stretched_frames(len(drums), 120, 108) == round(len(drums) * 120 / 108)
    assert drums_108.dtype == np.float32 and drums_108.shape[1] == 2 and drums_108.flags.c_contiguous


def test_tempo_reaches_target(drums_108):
    played = np.concatenate([drums_108] * 3)        # as the engine plays it: repeated
    assert abs(metrics.estimate_tempo_bpm(played, SR, 6, expected_bpm=108) - 108) < 0.1


def test_seam_is_smooth(drums_108):
    assert metrics.seam_click_db(drums_108, SR, 2) <= 3.0


def test_pitch_is_preserved():
    frames = round(4 * 60 / 100 * SR)
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(frames) / SR)).astype(np.float32)
    stereo = np.stack([tone, tone], axis=1)
    out = stretch_loop(stereo, 100, 125)
    assert len(out) == round(frames * 100 / 125)
    assert abs(dominant_hz(out) - 440) < 3
    assert abs(dominant_hz(stereo) - 440) < 3


@pytest.mark.parametrize("target", [59.0, 241.0, 0.0, float("nan")])
def test_bad_ratios_are_refused(drums, target):
    with pytest.raises(ValueError):
        stretch_loop(drums, 120, target)


def test_cache_hit_miss_and_eviction(tmp_path):
    audio = np.random.default_rng(1).standard_normal((48000, 2)).astype(np.float32)
    key = audio_key(audio)
    one_entry = audio.nbytes + 1024
    cache = StretchCache(tmp_path, max_bytes=2 * one_entry)
    assert cache.get(key, 110.0) is None
    cache.put(key, 110.004, audio)
    np.testing.assert_array_equal(cache.get(key, 110.0), audio)     # rounded to 0.01 BPM
    assert cache.get(key, 110.02) is None
    cache.put(key, 111.0, audio)
    old = cache.path(key, 111.0)
    os.utime(old, (1, 1))                                           # the least recently used
    cache.put(key, 112.0, audio)
    assert not old.exists() and cache.get(key, 110.0) is not None and cache.get(key, 112.0) is not None
    assert audio_key(audio) != audio_key(audio * 0.5)
    assert not list(tmp_path.glob(".tmp-*"))
