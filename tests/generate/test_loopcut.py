"""Cutting exact loops out of a stream at the downbeat (groovebox.generate.loopcut), on synthetic streams."""

import functools

import numpy as np
import pytest
from analysis_signals import SR, loop_frames, stream

from groovebox.generate import loopcut, metrics

MS = SR / 1000


def nearest_downbeat_ms(s, frame: float) -> float:
    """Distance (ms) from ``frame`` to the nearest true downbeat onset of stream ``s``."""
    return float((frame - s.downbeat_frames[np.argmin(np.abs(s.downbeat_frames - frame))]) / MS)


@functools.lru_cache(maxsize=2)
def short_stream() -> np.ndarray:
    audio = stream(120, 8.0, seed=71).audio
    audio.flags.writeable = False
    return audio


def random_cases(count: int, seed: int):
    rng = np.random.default_rng(seed)
    for case in range(count):
        bpm = float(rng.uniform(70, 180)) if case % 3 else float(rng.integers(70, 181))
        bars = int(rng.choice([1, 2, 4]))
        seconds = loopcut.frames_recommended(bpm, bars) / SR + rng.uniform(0.0, 3.0)
        yield bpm, bars, stream(bpm, seconds, seed=1000 * seed + case)


def test_loop_length_is_exact():
    assert loopcut.loop_length_frames(124, 4) == 371613                # 371,612.9 frames
    assert loopcut.loop_length_frames(120, 2) == 192000
    assert loopcut.loop_length_frames(90, 3, 44100, beats_per_bar=3) == round(3 * 3 * 60 / 90 * 44100)


def test_frames_needed_and_recommended():
    bar = loop_frames(120, 1)
    needed = loopcut.frames_needed(120, 4)
    assert loop_frames(120, 4) + bar < needed < loop_frames(120, 4) + bar + round(0.2 * SR)
    assert loopcut.frames_needed(120, 4, settle_frames=5000) == needed + 5000
    assert loopcut.frames_needed(120, 4, crossfade_ms=20.0) == needed + round(0.010 * SR)
    assert loopcut.frames_recommended(120, 4) >= needed
    assert loopcut.frames_recommended(120, 1) >= loopcut.RELIABLE_ANALYSIS_BARS * bar
    assert loopcut.frames_recommended(120, 16) == loopcut.frames_needed(120, 16)
    assert bar < loopcut.downbeat_frames_needed(120) < bar + round(0.25 * SR)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cuts_start_just_before_the_true_downbeat(seed):
    """Random tempos 70-180 BPM, random start phase inside a bar, ±5 ms humanising, noise."""
    for bpm, bars, s in random_cases(6, seed):
        cut = loopcut.cut_loop(s.audio, SR, bpm, bars)
        assert cut.audio.shape == (loopcut.loop_length_frames(bpm, bars), 2)
        assert cut.audio.dtype == np.float32
        start_error_ms = nearest_downbeat_ms(s, cut.start_frame)
        assert -5.0 <= start_error_ms <= 0.0, (bpm, bars, start_error_ms)   # before the transient
        assert abs(nearest_downbeat_ms(s, cut.downbeat_frame)) <= 3.0, (bpm, bars)
        assert cut.start_frame == round(cut.downbeat_frame) - round(0.002 * SR)
        assert metrics.seam_click_db(cut.audio, SR, bars) <= 3.0, (bpm, bars)
        assert abs(cut.seam_db) <= 1.0, (bpm, bars)                       # vs the stream's own continuation
        assert metrics.sample_jump_ratio(cut.audio) <= 1.0, (bpm, bars)


def test_the_loop_is_the_stream_with_a_preroll_crossfade():
    s = stream(100, 16.0, seed=7)
    cut = loopcut.cut_loop(s.audio, SR, 100, 2, crossfade_ms=10.0)
    start, frames, fade = cut.start_frame, loop_frames(100, 2), round(0.010 * SR)
    np.testing.assert_array_equal(cut.audio[:-fade], s.audio[start:start + frames - fade])
    ramp = (np.arange(1, fade + 1) / fade)[:, None]
    expected = s.audio[start + frames - fade:start + frames] * (1 - ramp) + s.audio[start - fade:start] * ramp
    np.testing.assert_allclose(cut.audio[-fade:], expected, atol=1e-6)
    np.testing.assert_allclose(cut.audio[-1], s.audio[start - 1], atol=1e-6)   # wraps into the real continuation
    assert cut.seam_db == metrics.seam_click_vs_stream_db(cut.audio, s.audio, start, SR)
    assert abs(cut.seam_db) <= 1.0


def test_a_hard_cut_is_the_plain_stream_and_the_crossfade_lowers_its_seam():
    clicks, stream_clicks = [], []
    for seed, bpm in enumerate([70, 124]):
        s = stream(bpm, 20.0, seed=seed)
        hard = loopcut.cut_loop(s.audio, SR, bpm, 4, crossfade_ms=0.0)
        soft = loopcut.cut_loop(s.audio, SR, bpm, 4, crossfade_ms=10.0)
        np.testing.assert_array_equal(hard.audio, s.audio[hard.start_frame:hard.start_frame + hard.audio.shape[0]])
        assert metrics.seam_click_db(soft.audio, SR, 4) <= 3.0 and soft.seam_db <= 3.0
        clicks.append(metrics.seam_click_db(hard.audio, SR, 4) - metrics.seam_click_db(soft.audio, SR, 4))
        stream_clicks.append(hard.seam_db - soft.seam_db)
    assert np.mean(clicks) > 1.0                                    # (the 12-stream statistics: test_metrics)
    assert np.mean(stream_clicks) > 1.0


def test_a_minimal_stream_still_cuts_on_a_bar_line():
    rng = np.random.default_rng(11)
    for case in range(6):
        bpm, bars = float(rng.uniform(70, 180)), int(rng.choice([1, 2, 4]))
        s = stream(bpm, loopcut.frames_needed(bpm, bars) / SR, seed=300 + case)
        assert s.audio.shape[0] == loopcut.frames_needed(bpm, bars)
        cut = loopcut.cut_loop(s.audio, SR, bpm, bars)
        assert cut.audio.shape[0] == loopcut.loop_length_frames(bpm, bars)
        assert cut.start_frame + cut.audio.shape[0] <= s.audio.shape[0]
        assert abs(nearest_downbeat_ms(s, cut.start_frame)) <= 15.0     # the right bar line, not another beat


def test_settle_frames_are_ignored():
    bpm, bars = 110, 2
    s = stream(bpm, 20.0, seed=21)
    settle = round(3.3 * SR)
    audio = s.audio.copy()
    audio[:settle] = np.random.default_rng(0).uniform(-0.9, 0.9, (settle, 2))   # the jump after a reset
    cut = loopcut.cut_loop(audio, SR, bpm, bars, settle_frames=settle)
    assert cut.start_frame - round(0.010 * SR) >= settle             # the pre-roll is post-settle too
    assert -5.0 <= nearest_downbeat_ms(s, cut.start_frame) <= 0.0
    assert cut.start_frame < settle + loop_frames(bpm, 1) + round(0.2 * SR)   # the first bar line after it


def test_find_downbeat_honours_search_from_frame():
    bpm = 96
    s = stream(bpm, 20.0, seed=31)
    bar = loop_frames(bpm, 1)
    first = loopcut.find_downbeat(s.audio, SR, bpm)
    later = loopcut.find_downbeat(s.audio, SR, bpm, search_from_frame=int(first) + bar // 2)
    assert first >= 0 and later >= first + bar // 2
    assert abs(nearest_downbeat_ms(s, first)) <= 3.0 and abs(nearest_downbeat_ms(s, later)) <= 3.0
    assert round((later - first) / bar) in (1, 2)


def test_a_stream_without_drums_still_gives_an_exact_seamless_loop():
    bpm, bars = 120, 4
    s = stream(bpm, loopcut.frames_recommended(bpm, bars) / SR, seed=41, drums=False)
    cut = loopcut.cut_loop(s.audio, SR, bpm, bars)
    assert cut.audio.shape == (loopcut.loop_length_frames(bpm, bars), 2)
    assert abs(nearest_downbeat_ms(s, cut.start_frame)) <= 60.0     # near a chord change
    assert metrics.seam_click_db(cut.audio, SR, bars) <= 3.0


def test_mono_streams_are_accepted():
    s = stream(128, 14.0, seed=51)
    mono = s.audio.mean(axis=1)
    cut = loopcut.cut_loop(mono, SR, 128, 1)
    assert cut.audio.shape == (loop_frames(128, 1), 2)
    np.testing.assert_array_equal(cut.audio[:, 0], cut.audio[:, 1])
    assert -5.0 <= nearest_downbeat_ms(s, cut.start_frame) <= 0.0


def test_a_short_stream_says_how_long_it_must_be():
    bpm, bars = 92, 4
    needed = loopcut.frames_needed(bpm, bars, settle_frames=SR)
    s = stream(bpm, (needed - 10) / SR, seed=61)
    with pytest.raises(ValueError, match=f"needs at least {needed / SR:.2f} s"):
        loopcut.cut_loop(s.audio, SR, bpm, bars, settle_frames=SR)


def test_silence_is_refused():
    silent = np.zeros((loopcut.frames_needed(120, 1), 2), np.float32)
    with pytest.raises(ValueError, match="silent"):
        loopcut.cut_loop(silent, SR, 120, 1)


@pytest.mark.parametrize("audio, message", [
    (np.zeros((SR * 10, 2), np.int16), "floating-point"),
    (np.zeros((2, SR * 10), np.float32), "pass audio.T"),
    (np.zeros((SR * 10, 4), np.float32), r"\(frames, 2\)"),
    (np.zeros((3, SR * 10, 2), np.float32), r"\(frames, 2\)"),
    (np.full((SR * 10, 2), np.inf, np.float32), "NaN or infinite"),
])
def test_bad_streams_are_rejected_with_a_clear_message(audio, message):
    with pytest.raises(ValueError, match=message):
        loopcut.cut_loop(audio, SR, 120, 1)


@pytest.mark.parametrize("kwargs, message", [
    ({"bpm": 0}, "bpm"),
    ({"bpm": float("nan")}, "bpm"),
    ({"bars": 0}, "bars"),
    ({"bars": 1.5}, "bars"),
    ({"beats_per_bar": 0}, "beats_per_bar"),
    ({"sample_rate": 48000.0}, "sample_rate"),
    ({"settle_frames": -1}, "settle_frames"),
    ({"crossfade_ms": -1.0}, "crossfade_ms"),
])
def test_bad_parameters_are_rejected(kwargs, message):
    args = {"stream": short_stream(), "sample_rate": SR, "bpm": 120, "bars": 1} | kwargs
    with pytest.raises(ValueError, match=message):
        loopcut.cut_loop(**args)


def test_search_from_frame_must_be_inside_the_stream():
    audio = short_stream()
    with pytest.raises(ValueError, match="outside the stream"):
        loopcut.find_downbeat(audio, SR, 120, search_from_frame=audio.shape[0])
    last_start = audio.shape[0] - loopcut.downbeat_frames_needed(120)
    assert loopcut.find_downbeat(audio, SR, 120, search_from_frame=last_start) >= last_start
    with pytest.raises(ValueError, match="to find a downbeat"):
        loopcut.find_downbeat(audio, SR, 120, search_from_frame=last_start + 1)
