import numpy as np
import pytest
from loop_signals import SR, bass_loop, chord_loop, drum_loop, loop_frames, noise_bed

from groovebox.generate import metrics
from groovebox.library.analysis import (
    analyse,
    category_from_name,
    conform,
    detect_key,
    detect_tempo,
    guess_category,
    loudness_lufs,
    waveform_peaks,
)

ACCEPTANCE_TEMPOS = [70, 85, 92, 100, 120, 128, 140, 160, 174, 180]


def _silence(seconds: float) -> np.ndarray:
    return np.zeros((round(seconds * SR), 2), np.float32)


@pytest.mark.parametrize("bpm", ACCEPTANCE_TEMPOS)
def test_tempo_of_exact_four_bar_drum_loops(bpm):
    loop = drum_loop(bpm, 4, pattern="rock")
    tempo = detect_tempo(loop)
    assert tempo.bpm == pytest.approx(bpm, abs=0.5)
    assert tempo.bars == 4 and tempo.loop_frames == len(loop)
    assert tempo.beat_strength > 0.5


# Where two bar counts fit the length (70/140, 160/80, 180/90), with other grooves.
@pytest.mark.parametrize("bpm, pattern", [(180, "four"), (70, "boombap"), (160, "boombap")])
def test_half_and_double_time_readings_are_resolved(bpm, pattern):
    tempo = detect_tempo(drum_loop(bpm, 4, pattern=pattern))
    assert (tempo.bpm, tempo.bars) == (pytest.approx(bpm, abs=0.5), 4)


@pytest.mark.parametrize("bpm, bars", [(125, 1), (178, 2), (160, 8)])
def test_other_bar_counts(bpm, bars):
    tempo = detect_tempo(drum_loop(bpm, bars, pattern="four"))
    assert (tempo.bpm, tempo.bars) == (pytest.approx(bpm, abs=0.5), bars)


@pytest.mark.parametrize("bpm, edit, expected_change_frames", [
    (120, "pad 0.3 s", -14400),          # trailing silence: trimmed
    (174, "pad 1.5 s", -72000),          # more than the 8% length slack: found from the trimmed length
    (100, "cut 50 ms", +2400),           # a cut tail: padded back
    (140, "lead 30 ms", -1440),          # encoder delay / late start: dropped
])
def test_loops_with_a_little_extra_or_missing_time_are_conformed(bpm, edit, expected_change_frames):
    exact = drum_loop(bpm, 4, pattern="rock")
    kind, amount = edit.split(" ", 1)
    frames = round(float(amount.split()[0]) * (SR if amount.endswith(" s") else SR / 1000))
    edited = {"pad": lambda: np.concatenate([exact, _silence(frames / SR)]),
              "cut": lambda: exact[:-frames],
              "lead": lambda: np.concatenate([_silence(frames / SR), exact])}[kind]()
    tempo = detect_tempo(edited)
    assert tempo.bpm == pytest.approx(bpm, abs=0.5) and tempo.bars == 4
    assert tempo.loop_frames == loop_frames(bpm, 4) == len(edited) + expected_change_frames
    conformed = conform(edited, tempo.loop_frames)
    if kind == "lead":
        np.testing.assert_array_equal(conformed, exact)
    else:
        np.testing.assert_array_equal(conformed[:min(len(exact), len(edited))], exact[:min(len(exact), len(edited))])


def test_a_ring_out_tail_is_folded_onto_the_head():
    exact = drum_loop(120, 2, pattern="rock")
    tail = 0.05 * np.random.default_rng(1).standard_normal((4800, 2)).astype(np.float32)
    tempo = detect_tempo(np.concatenate([exact, tail]))
    assert (tempo.bpm, tempo.loop_frames) == (120.0, len(exact))
    conformed = conform(np.concatenate([exact, tail]), len(exact))
    np.testing.assert_allclose(conformed[:4800], exact[:4800] + tail, atol=1e-6)
    np.testing.assert_array_equal(conformed[4800:], exact[4800:])


def test_conform_pads_and_keeps_dtype():
    audio = np.ones((10, 2), np.float32)
    padded = conform(audio, 15)
    assert padded.dtype == np.float32 and padded.shape == (15, 2)
    assert padded[:10].all() and not padded[10:].any()


def test_audio_without_a_beat_keeps_its_length():
    bed = noise_bed(6.0)
    tempo = detect_tempo(bed)
    assert tempo.loop_frames == len(bed)            # not conformed to a spurious beat
    assert tempo.beat_strength < 0.3
    assert tempo.bars * 4 * 60 / tempo.bpm == pytest.approx(6.0, rel=1e-4)


def test_too_short_for_a_bar_has_no_tempo():
    tempo = detect_tempo(drum_loop(120, 1)[:24000])
    assert (tempo.bpm, tempo.bars, tempo.loop_frames) == (None, None, 24000)


def test_exact_length_gives_the_roundest_matching_tempo():
    loop = drum_loop(174, 4)                        # 264828 frames: 173.9997 BPM by division
    assert detect_tempo(loop).bpm == 174.0


def test_key_of_tonal_material():
    expected = "A_FLAT_MAJOR_F_MINOR"
    chords = chord_loop(8, bpm=120, bars=4)
    assert detect_key(chords) == expected
    assert metrics.key_adherence(chords, SR, expected)[0] == 0      # the shared metric agrees it is the best


@pytest.mark.parametrize("audio", [drum_loop(120, 2), noise_bed(3.0), np.zeros((48000, 2), np.float32)],
                         ids=["drums", "noise", "silence"])
def test_no_key_for_atonal_material(audio):
    assert detect_key(audio) == ""


@pytest.mark.parametrize("name, category", [
    ("Kick_01.wav", "drums"), ("funky-drumloop-95", "drums"), ("HiHat 16th", "drums"), ("808_slide_C", "bass"),
    ("deep bassline", "bass"), ("WarmPad Dm", "synth"), ("Rhodes chords", "keys"), ("vox_chop_3", "vocals"),
    ("Riser FX", "fx"), ("Ambient drone", "ambient"), ("take 7", None), ("", None),
    ("bass and drums", "bass"),                  # the first known word wins
])
def test_category_from_name(name, category):
    assert category_from_name(name) == category


@pytest.mark.parametrize("audio, category", [
    (drum_loop(120, 2), "drums"),
    (bass_loop(bpm=120, bars=2), "bass"),
    (chord_loop(2, bpm=120, bars=4), "synth"),
    (noise_bed(4.0), "ambient"),
], ids=["drums", "bass", "chords", "noise"])
def test_category_from_sound(audio, category):
    assert guess_category(audio) == category


def test_name_beats_sound():
    assert guess_category(noise_bed(2.0), name="vox_breath") == "vocals"


def test_waveform_peaks():
    audio = np.concatenate([np.full((512, 2), 0.5), np.full((512, 2), -0.25)]).astype(np.float32)
    audio[100, 1] = -0.9
    peaks = waveform_peaks(audio, count=4)
    np.testing.assert_allclose(peaks, [[-0.9, 0.5], [0.5, 0.5], [-0.25, -0.25], [-0.25, -0.25]])
    assert waveform_peaks(audio[:3]).shape == (3, 2)


def test_loudness():
    assert loudness_lufs(np.zeros((48000, 2), np.float32)) is None
    loop = drum_loop(120, 1)
    assert loudness_lufs(loop) == pytest.approx(metrics.integrated_loudness_lufs(loop, SR), abs=0.01)


def test_analyse_puts_it_together():
    loop = drum_loop(128, 2, pattern="rock")
    result = analyse(np.concatenate([loop, _silence(0.2)]), name="groove")
    assert (result.tempo.bpm, result.tempo.bars, result.key, result.category) == (128.0, 2, "", "drums")
    assert result.frames == len(loop) and result.original_frames == len(loop) + 9600
    assert result.peaks.shape == (256, 2) and result.loudness_lufs is not None


def test_bad_audio_is_refused():
    with pytest.raises(ValueError, match="NaN"):
        detect_tempo(np.full((1000, 2), np.nan, np.float32))
    with pytest.raises(ValueError, match="shaped"):
        analyse(np.zeros((0, 2), np.float32))
