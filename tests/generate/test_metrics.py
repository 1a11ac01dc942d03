"""Loop-quality metrics and loudness normalisation (groovebox.generate.metrics), on synthetic loops."""

import json
import math

import numpy as np
import pyloudnorm
import pytest
from analysis_signals import SR, drum_loop, loop_frames, music_loop, stream

from groovebox.generate import metrics
from groovebox.generate.request import Scale

SCALES = list(Scale)[1:]            # index = major tonic pitch class


def sine(freq_hz: float, seconds: float, amplitude: float, channels: int = 2, phase: float = 0.0) -> np.ndarray:
    t = np.arange(round(seconds * SR)) / SR
    wave = (amplitude * np.sin(2 * np.pi * freq_hz * t + phase)).astype(np.float32)
    return np.repeat(wave[:, None], channels, axis=1) if channels else wave


def crossfaded(audio: np.ndarray, start: int, frames: int, fade: int) -> np.ndarray:
    """The pre-roll crossfade of reference §2.2, done by hand (independent of loopcut)."""
    loop = audio[start:start + frames].astype(np.float64)
    ramp = (np.arange(1, fade + 1) / fade)[:, None]
    loop[-fade:] = loop[-fade:] * (1 - ramp) + audio[start - fade:start] * ramp
    return loop


# ---- tempo ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bpm", [70, 92, 120, 174])
def test_tempo_of_an_exact_drum_loop_is_within_005_bpm(bpm):
    loop = drum_loop(bpm, 4, seed=bpm)
    assert abs(metrics.estimate_tempo_bpm(loop, SR, 4, expected_bpm=bpm) - bpm) <= 0.05
    assert abs(metrics.estimate_tempo_bpm(loop, SR, 4) - bpm) <= 0.05          # expectation from the length


@pytest.mark.parametrize("bars", [1, 2, 8])
def test_tempo_works_for_short_and_long_loops(bars):
    loop = drum_loop(124, bars, seed=bars)
    assert abs(metrics.estimate_tempo_bpm(loop, SR, bars, expected_bpm=124) - 124) <= 0.05


@pytest.mark.parametrize("content_bpm", [126.0, 115.5])
@pytest.mark.parametrize("bars", [2, 4])
def test_content_at_another_tempo_is_measured_at_its_own_tempo(content_bpm, bars):
    loop = drum_loop(120, bars, content_bpm=content_bpm, seed=3)       # 120-BPM length, other content
    assert loop.shape[0] == loop_frames(120, bars)
    estimate = metrics.estimate_tempo_bpm(loop, SR, bars, expected_bpm=120)
    assert abs(estimate - content_bpm) <= 0.2


def test_tempo_of_silence_is_nan():
    assert math.isnan(metrics.estimate_tempo_bpm(np.zeros((SR * 4, 2), np.float32), SR, 2, expected_bpm=120))


# ---- key -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("major_pc, minor", [(0, False), (0, True), (2, True), (3, False), (7, False), (9, True),
                                             (10, False), (11, True)])
def test_key_rank_is_zero_in_key_and_large_for_wrong_targets(major_pc, minor):
    loop = music_loop(major_pc, minor=minor, bpm=140, bars=4, seed=major_pc)   # the whole progression
    rank, in_scale = metrics.key_adherence(loop, SR, SCALES[major_pc])
    assert rank == 0
    assert in_scale >= 0.65
    for wrong in (1, 6, 11):                                # a semitone, a tritone away
        wrong_rank, wrong_share = metrics.key_adherence(loop, SR, SCALES[(major_pc + wrong) % 12])
        assert wrong_rank >= 3
        assert wrong_share < in_scale


def test_key_ignores_drums():
    with_drums = music_loop(5, minor=False, bpm=140, bars=4, seed=1, drums=True)
    without = music_loop(5, minor=False, bpm=140, bars=4, seed=1, drums=False)
    assert metrics.key_adherence(with_drums, SR, Scale.F_MAJOR_D_MINOR)[0] == 0
    share_with = metrics.key_adherence(with_drums, SR, Scale.F_MAJOR_D_MINOR)[1]
    share_without = metrics.key_adherence(without, SR, Scale.F_MAJOR_D_MINOR)[1]
    assert abs(share_with - share_without) < 0.05


def test_key_needs_a_concrete_scale():
    loop = music_loop(0, minor=False, bpm=120, bars=1)
    with pytest.raises(ValueError, match="SCALE_UNSPECIFIED"):
        metrics.key_adherence(loop, SR, Scale.SCALE_UNSPECIFIED)
    with pytest.raises(ValueError, match="unknown scale"):
        metrics.key_adherence(loop, SR, "H_MAJOR")


# ---- seam ----------------------------------------------------------------------------------------------

def test_a_seamless_loop_passes_both_seam_checks():
    loop = drum_loop(120, 4, seed=2)
    assert metrics.seam_click_db(loop, SR, 4) <= 3.0
    assert metrics.sample_jump_ratio(loop) <= 1.0


def test_a_step_at_the_wrap_is_flagged():
    loop = drum_loop(120, 4, seed=2).astype(np.float64)
    loop += np.linspace(0.0, 0.5, loop.shape[0])[:, None]           # ends 0.5 above where it starts
    assert metrics.seam_click_db(loop, SR, 4) > 3.0
    assert metrics.sample_jump_ratio(loop) > 1.0


def test_sample_jump_of_whole_and_broken_sine_periods():
    whole = sine(100.0, 0.5, 0.5, phase=np.pi / 2)                  # 50 whole periods, wrapping at a crest
    broken = sine(100.0, 0.5025, 0.5, phase=np.pi / 2)              # a quarter period more
    assert metrics.sample_jump_ratio(whole) < 1.0
    assert metrics.sample_jump_ratio(broken) > 10.0


def test_seam_reproduces_the_reference_hard_cut_vs_preroll_crossfade():
    hard_db, soft_db, jumps = [], [], []
    for seed, bpm in enumerate([70, 92, 120, 124, 150, 174] * 2):
        s = stream(bpm, 24.0, seed=seed)
        frames = loop_frames(bpm, 4)
        start = int(s.downbeat_frames[1]) - round(0.002 * SR)      # bar-aligned, just before the transient
        hard = s.audio[start:start + frames]
        hard_db.append(metrics.seam_click_db(hard, SR, 4))
        jumps.append(metrics.sample_jump_ratio(hard))
        soft = crossfaded(s.audio, start, frames, round(0.010 * SR))
        soft_db.append(metrics.seam_click_db(soft, SR, 4))
        assert metrics.sample_jump_ratio(soft) <= 1.0
    hard_db, soft_db, jumps = map(np.array, (hard_db, soft_db, jumps))
    assert soft_db.max() <= 3.0                                     # every crossfaded cut passes
    assert np.any(jumps > 1.0) and np.all(hard_db[jumps > 1.0] > 3.0)   # every real discontinuity is flagged
    assert np.count_nonzero(hard_db > 3.0) >= len(hard_db) // 2     # hard cuts click more often than not
    assert np.mean(hard_db - soft_db) > 3.0                         # the crossfade removes the click


def test_the_seam_against_the_stream_passes_a_preroll_crossfade_and_flags_hard_cuts_and_short_loops():
    soft_db, hard_db, jumps = [], [], []
    for seed, bpm in enumerate([70, 92, 120, 124, 150, 174] * 2):
        s = stream(bpm, 24.0, seed=seed)
        frames = loop_frames(bpm, 4)
        start = int(s.downbeat_frames[1]) - round(0.002 * SR)
        soft_db.append(metrics.seam_click_vs_stream_db(crossfaded(s.audio, start, frames, round(0.010 * SR)),
                                                       s.audio, start, SR))
        hard = s.audio[start:start + frames]
        hard_db.append(metrics.seam_click_vs_stream_db(hard, s.audio, start, SR))
        jumps.append(metrics.sample_jump_ratio(hard))
        beat = round(frames / 16)
        short = crossfaded(s.audio, start, frames - beat + round(0.020 * SR), round(0.010 * SR))
        assert metrics.seam_click_vs_stream_db(short, s.audio, start, SR) > 3.0   # ends 20 ms into a kick
    soft_db, hard_db, jumps = map(np.array, (soft_db, hard_db, jumps))
    assert np.all(np.abs(soft_db) <= 1.0)                   # the wrap replays the stream's own continuation
    assert np.any(jumps > 1.0) and np.all(hard_db[jumps > 1.0] > 3.0)   # every real discontinuity is flagged
    assert np.mean(hard_db - soft_db) > 3.0


def test_the_stream_seam_ignores_what_the_loop_only_seam_mistakes_for_a_click():
    """An accented first downbeat: the loop-only reading compares it with quieter bar lines; the stream
    reading compares it with itself."""
    s = stream(120, 24.0, seed=3)
    frames, start = loop_frames(120, 4), int(s.downbeat_frames[2]) - round(0.002 * SR)
    audio = s.audio.astype(np.float64)
    accent = slice(start, start + round(0.003 * SR))
    audio[accent] += np.random.default_rng(0).normal(0.0, 0.05, (accent.stop - accent.start, 2))
    loop = crossfaded(audio, start, frames, round(0.010 * SR))
    assert metrics.seam_click_db(loop, SR, 4) > 3.0
    assert abs(metrics.seam_click_vs_stream_db(loop, audio, start, SR)) <= 1.0


def test_the_stream_seam_needs_the_cut_point_inside_the_stream():
    s = stream(120, 6.0, seed=5).audio
    loop = s[SR:2 * SR]
    with pytest.raises(ValueError, match="start_frame"):
        metrics.seam_click_vs_stream_db(loop, s, 10, SR)
    with pytest.raises(ValueError, match="start_frame"):
        metrics.seam_click_vs_stream_db(loop, s, 1.5, SR)
    mono = s.mean(axis=1)
    dual = np.repeat(mono[:, None], 2, axis=1)
    assert metrics.seam_click_vs_stream_db(mono[SR:2 * SR], mono, SR, SR) == pytest.approx(
        metrics.seam_click_vs_stream_db(dual[SR:2 * SR], dual, SR, SR))    # mono is measured as dual mono


def test_a_one_bar_loop_compares_the_seam_with_its_beat_lines():
    loop = drum_loop(120, 1, seed=4)
    assert metrics.seam_click_db(loop, SR, 1) <= 3.0
    with pytest.raises(ValueError, match="no internal"):
        metrics.seam_click_db(loop, SR, 1, beats_per_bar=1)


# ---- level ---------------------------------------------------------------------------------------------

def test_loudness_is_pyloudnorm_bs1770_of_the_loop_repeating():
    loop = drum_loop(100, 2, seed=5).astype(np.float64)
    wrapped = np.concatenate([loop[-round(0.3 * SR):], loop])      # every frame in four 0.4 s blocks
    expected = pyloudnorm.Meter(SR).integrated_loudness(wrapped)
    assert metrics.integrated_loudness_lufs(loop, SR) == pytest.approx(expected, abs=1e-9)
    assert metrics.integrated_loudness_lufs(sine(997.0, 2.0, 0.1), SR) == pytest.approx(-20.0, abs=0.15)


def test_loudness_does_not_depend_on_where_the_loop_starts():
    loop = drum_loop(110, 2, seed=7)
    readings = [metrics.integrated_loudness_lufs(np.roll(loop, shift, axis=0), SR)
                for shift in (0, 4321, 26367, 100000)]
    assert max(readings) - min(readings) < 0.05


def test_short_loops_are_measured_tiled_and_mono_as_dual_mono():
    short = sine(997.0, 0.25, 0.1)                                  # shorter than the 0.4 s gating block
    assert metrics.integrated_loudness_lufs(short, SR) == pytest.approx(-20.0, abs=0.3)
    mono = sine(997.0, 2.0, 0.1, channels=0)
    assert mono.ndim == 1
    assert metrics.integrated_loudness_lufs(mono, SR) == pytest.approx(
        metrics.integrated_loudness_lufs(sine(997.0, 2.0, 0.1), SR), abs=1e-9)


def test_peak_dbfs():
    assert metrics.peak_dbfs(sine(440.0, 0.1, 0.5)) == pytest.approx(20 * math.log10(0.5), abs=0.01)
    assert metrics.peak_dbfs(np.zeros((100, 2), np.float32)) == -math.inf


def test_silence_ratio_counts_50ms_frames_below_minus_60_dbfs():
    audio = sine(440.0, 1.0, 0.3)
    audio[SR // 2:] = 0.0
    assert metrics.silence_ratio(audio, SR) == pytest.approx(0.5)
    hiss = (10 ** (-70 / 20) * np.random.default_rng(0).standard_normal((SR, 2))).astype(np.float32)
    assert metrics.silence_ratio(hiss, SR) == 1.0
    assert metrics.silence_ratio(sine(440.0, 1.0, 10 ** (-50 / 20)), SR) == 0.0
    assert metrics.silence_ratio(np.zeros((100, 2), np.float32), SR) == 1.0    # one short frame


# ---- normalisation -------------------------------------------------------------------------------------

NORMALISE_CASES = {
    "drums": lambda: drum_loop(120, 4, seed=1),
    "quiet drums": lambda: drum_loop(70, 2, seed=2) * 0.05,
    "drums, no bass": lambda: drum_loop(92, 4, seed=4, with_bass=False),
    "hot clipped drums": lambda: np.clip(drum_loop(174, 4, seed=3) * 3, -1, 1),
    "music": lambda: music_loop(3, minor=True, bpm=100, bars=4),
    "short": lambda: drum_loop(240, 1, seed=5, beats_per_bar=1),
}


@pytest.mark.parametrize("name", NORMALISE_CASES)
def test_normalise_reaches_the_target_under_the_ceiling(name):
    loop = NORMALISE_CASES[name]()
    out = metrics.normalise_loop(loop, SR)
    assert out.dtype == np.float32 and out.shape == loop.shape
    assert abs(metrics.integrated_loudness_lufs(out, SR) - metrics.TARGET_LUFS) <= 0.5
    assert metrics.peak_dbfs(out) <= metrics.CEILING_DBFS
    assert metrics.sample_jump_ratio(out) <= max(1.0, 1.5 * metrics.sample_jump_ratio(loop))


def test_normalise_with_other_targets():
    loop = drum_loop(128, 2, seed=6)
    out = metrics.normalise_loop(loop, SR, target_lufs=-12.0, ceiling_dbfs=-3.0)
    assert abs(metrics.integrated_loudness_lufs(out, SR) + 12.0) <= 0.5
    assert metrics.peak_dbfs(out) <= -3.0


def test_the_limiter_wraps_round_the_loop():
    """A loop and a rotated copy normalise to rotations of each other (up to the loudness tolerance)."""
    loop = drum_loop(110, 2, seed=7)                                # peaks need ~5 dB of limiting
    shift = 10 - int(np.argmax(np.abs(loop).max(axis=1)))          # the loudest peak lands on frame 10,
                                                                    # so its attack ramp wraps to the end
    plain = metrics.normalise_loop(loop, SR).astype(np.float64)
    rotated = metrics.normalise_loop(np.roll(loop, shift, axis=0), SR).astype(np.float64)
    expected = np.roll(plain, shift, axis=0)
    scale = float(np.sum(expected * rotated) / np.sum(expected * expected))
    assert scale == pytest.approx(1.0, abs=0.02)
    assert np.abs(scale * expected - rotated).max() < 2e-3


def test_normalise_keeps_mono_shapes():
    mono = sine(220.0, 1.0, 0.05, channels=0)
    column = mono[:, None]
    assert metrics.normalise_loop(mono, SR).shape == mono.shape
    assert metrics.normalise_loop(column, SR).shape == column.shape


def test_normalise_refuses_silence():
    with pytest.raises(ValueError, match="silence"):
        metrics.normalise_loop(np.zeros((SR, 2), np.float32), SR)


# ---- measure + validation ------------------------------------------------------------------------------

def test_measure_a_good_loop():
    loop = music_loop(2, minor=False, bpm=110, bars=4, seed=9)
    result = metrics.measure(loop, SR, 110, 4, scale=Scale.D_MAJOR_B_MINOR)
    assert result.seam_db <= 3.0 and result.sample_jump <= 1.0
    assert abs(result.tempo_error_bpm) <= 0.1
    assert result.key_rank == 0 and result.in_scale >= 0.65
    assert result.silence_ratio == 0.0
    assert math.isfinite(result.loudness_lufs) and result.peak_dbfs <= 0.0
    encoded = json.loads(json.dumps(result.as_dict()))
    assert encoded["key_rank"] == 0
    assert encoded["tempo_bpm"] == round(result.tempo_bpm, 3)


def test_measure_without_a_scale_and_of_silence():
    silent = metrics.measure(np.zeros((SR * 2, 2), np.float32), SR, 120, 1)
    assert silent.key_rank is None and silent.in_scale is None
    assert silent.silence_ratio == 1.0
    as_dict = silent.as_dict()
    assert as_dict["loudness_lufs"] is None and as_dict["peak_dbfs"] is None and as_dict["tempo_bpm"] is None
    json.dumps(as_dict)
    assert metrics.measure(drum_loop(120, 1), SR, 120, 1, scale=Scale.SCALE_UNSPECIFIED).key_rank is None


@pytest.mark.parametrize("audio, message", [
    (np.zeros((SR, 2), np.int16), "floating-point"),
    (np.zeros((2, SR), np.float32), "pass audio.T"),
    (np.zeros((SR, 3), np.float32), r"\(frames, 2\)"),
    (np.zeros((10, SR, 2), np.float32), r"\(frames, 2\)"),
    (np.zeros((0, 2), np.float32), "frames"),
    (np.full((SR, 2), np.nan, np.float32), "NaN"),
])
def test_bad_audio_is_rejected_with_a_clear_message(audio, message):
    for call in (lambda: metrics.peak_dbfs(audio), lambda: metrics.measure(audio, SR, 120, 2),
                 lambda: metrics.normalise_loop(audio, SR)):
        with pytest.raises(ValueError, match=message):
            call()


def test_bad_parameters_are_rejected():
    loop = drum_loop(120, 1)
    with pytest.raises(ValueError, match="bars"):
        metrics.measure(loop, SR, 120, 0)
    with pytest.raises(ValueError, match="bpm"):
        metrics.measure(loop, SR, -5, 1)
    with pytest.raises(ValueError, match="sample_rate"):
        metrics.silence_ratio(loop, 48000.0)
    with pytest.raises(ValueError, match="frames"):
        metrics.sample_jump_ratio(loop[:2])
