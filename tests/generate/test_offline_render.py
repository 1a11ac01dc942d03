"""Offline generator rendering: exact length, stems, determinism, seams, SoundFont use and fallback, DSP."""

import hashlib
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest

from groovebox.generate.offline import loop_frames, render_offline, soundfont
from groovebox.generate.offline.dsp import fold_tail, loudness_lufs, lowpass, reverb
from groovebox.generate.offline.voices import (
    NoteFrames,
    drum_sample,
    render_synth_notes,
)
from groovebox.generate.request import GenerationRequest

needs_soundfont = pytest.mark.skipif(not soundfont.available(), reason="FluidSynth or the GM SoundFont is missing")


def _render(prompt="a loop", seed=1, **fields):
    return render_offline(GenerationRequest(prompt=prompt, **fields), seed)


def _digest(audio: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(audio).tobytes()).hexdigest()


@pytest.mark.parametrize("bars, bpm", [(1, 200), (2, 124), (3, 97), (4, 174), (1, 60)])
def test_exact_length_stems_and_mix(bars, bpm):
    loop = _render("funk groove", bars=bars, bpm=bpm)
    frames = round(bars * 4 * 60 / bpm * 48000)
    assert loop_frames(bars, bpm, 48000) == frames
    assert loop.audio.shape == (frames, 2) and loop.audio.dtype == np.float32
    assert loop.parts == tuple(loop.stems) == ("drums", "bass", "chords", "melody")
    for stem in loop.stems.values():
        assert stem.shape == (frames, 2) and stem.dtype == np.float32 and np.all(np.isfinite(stem))
        assert np.max(np.abs(stem)) > 1e-3
    np.testing.assert_allclose(sum(loop.stems.values()), loop.audio, atol=1e-6)
    assert np.max(np.abs(loop.audio)) <= 0.9
    assert (loop.bpm, loop.bars, loop.genre, loop.seed) == (bpm, bars, "funk", 1)


def test_same_seed_is_bit_identical_and_other_seeds_differ():
    first, again = _render("lo-fi keys", seed=11), _render("lo-fi keys", seed=11)
    assert _digest(first.audio) == _digest(again.audio)
    assert all(_digest(first.stems[k]) == _digest(again.stems[k]) for k in first.stems)
    others = {_digest(_render("lo-fi keys", seed=seed).audio) for seed in (12, 13)}
    assert _digest(first.audio) not in others and len(others) == 2


def test_a_fresh_process_renders_the_same_bits():
    request = {"prompt": "rock riff with piano", "bars": 2}
    _render("warm up the caches", seed=3, genre="afrobeat")          # leave state behind, if there were any
    expected = _digest(_render(seed=21, **request).audio)
    script = ("import hashlib, numpy as np\n"
              "from groovebox.generate.offline import render_offline\n"
              "from groovebox.generate.request import GenerationRequest\n"
              f"loop = render_offline(GenerationRequest(**{request!r}), 21)\n"
              "print(hashlib.sha256(np.ascontiguousarray(loop.audio).tobytes()).hexdigest())\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False,
                            cwd=Path(__file__).resolve().parents[2], env={**os.environ, "PYTHONHASHSEED": "7"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_the_wrap_is_continuous():
    for genre in ("ambient", "house", "rock"):
        loop = _render(genre=genre, seed=4)
        x = loop.audio.astype(np.float64)
        jump = np.abs(x[0] - x[-1])
        typical = np.percentile(np.abs(np.diff(x, axis=0)), 99, axis=0)
        assert np.all(jump <= typical), genre


def test_parameters_reach_the_audio():
    assert set(_render("deep house", mute_drums=True).stems) == {"bass", "chords", "melody"}
    assert set(_render("deep house", only_bass_and_drums=True).stems) == {"drums", "bass"}
    assert set(_render("just a beat").stems) == {"drums"}

    def centroid_hz(loop):
        tonal = (loop.stems["chords"] + loop.stems["melody"]).mean(axis=1)
        spectrum = np.abs(np.fft.rfft(tonal))
        freqs = np.fft.rfftfreq(tonal.size, 1 / 48000)
        return float((spectrum * freqs).sum() / spectrum.sum())
    dark = _render("house", brightness=0.05, seed=2)
    bright = _render("house", brightness=0.95, seed=2)
    assert centroid_hz(bright) > 1.3 * centroid_hz(dark)


@needs_soundfont
def test_gm_rendering_is_deterministic_without_leftover_state():
    piano = soundfont.GmPart(0, False, tuple((i * 6000, i * 6000 + 5000, 60 + i % 5, 100) for i in range(12)), 60, 30)
    strings = soundfont.GmPart(48, False, ((0, 40000, 55, 90), (40000, 70000, 57, 90)), 0, 90)
    first = soundfont.render_gm([piano, strings], 96000, 24000, 0.5)
    soundfont.render_gm([strings], 50000, 24000, 0.9)
    again = soundfont.render_gm([piano, strings], 96000, 24000, 0.5)
    assert first.shape == (4, 96000) and first.dtype == np.float32
    assert np.array_equal(first, again)
    assert np.max(np.abs(first[0:2])) > 0.01 and np.max(np.abs(first[2:4])) > 0.01


@needs_soundfont
def test_gm_drum_one_shots_are_cached_and_scaled():
    sample, gain = soundfont.drum_one_shot("kick", 0.8, 48000)
    again, _ = soundfont.drum_one_shot("kick", 0.8, 48000)
    assert sample is again and not sample.flags.writeable
    assert sample.shape[1] == 2 and 0.01 < np.max(np.abs(sample)) < 1.0
    assert 0.8 < gain < 1.25
    assert soundfont.drum_one_shot("snare", 0.05, 48000)[0].shape[1] == 2


@needs_soundfont
def test_the_soundfont_path_comes_from_the_environment(tmp_path, monkeypatch):
    reference = _render("acid house with piano", seed=6)
    copy = tmp_path / "copy.sf2"
    copy.symlink_to(soundfont.find_soundfont())
    monkeypatch.setenv("GROOVEBOX_SOUNDFONT", str(copy))
    assert soundfont.find_soundfont() == copy
    assert _digest(_render("acid house with piano", seed=6).audio) == _digest(reference.audio)


def test_a_missing_soundfont_falls_back_to_numpy_voices_and_says_so(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("GROOVEBOX_SOUNDFONT", str(tmp_path / "missing.sf2"))
    monkeypatch.setattr(soundfont, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="groovebox.generate.offline.soundfont"):
        loop = _render("funk with rhodes", seed=2)
    assert "missing.sf2" in caplog.text and "numpy voices" in caplog.text
    assert not soundfont.available()
    assert set(loop.stems) == {"drums", "bass", "chords", "melody"}
    assert all(np.max(np.abs(stem)) > 1e-3 for stem in loop.stems.values())
    assert _digest(loop.audio) == _digest(_render("funk with rhodes", seed=2).audio)


def test_fold_tail_wraps_everything_past_the_loop_onto_its_head():
    x = np.arange(10, dtype=np.float32)[:, None] * np.ones((1, 2), np.float32)
    folded = fold_tail(x, 4)
    np.testing.assert_array_equal(folded[:, 0], [0 + 4 + 8, 1 + 5 + 9, 2 + 6, 3 + 7])


def test_reverb_is_linear_and_decays():
    rng = np.random.default_rng(0)
    impulse = np.zeros((96000, 2), np.float32)
    impulse[100] = 1.0
    wet = reverb(impulse, 1.5, 48000)
    assert np.max(np.abs(wet[:1000])) < 1e-3 * np.max(np.abs(wet))        # no dry path: the first echo is ~30 ms late
    energy = [float(np.sum(wet[i:i + 12000] ** 2)) for i in range(0, 96000, 12000)]
    assert energy[1] > energy[4] > energy[7]
    other = rng.normal(0, 0.1, (96000, 2)).astype(np.float32)
    np.testing.assert_allclose(reverb(impulse + other, 1.5, 48000), wet + reverb(other, 1.5, 48000), atol=1e-4)
    assert not np.any(reverb(np.zeros((48000, 2), np.float32), 1.5, 48000))


def test_stem_loudness_agrees_with_pyloudnorm():
    rng = np.random.default_rng(3)
    t = np.arange(96000) / 48000
    for signal in (np.sin(2 * np.pi * 220 * t) * 0.3, rng.normal(0, 0.05, t.size)):
        stereo = np.stack([signal, signal], axis=1).astype(np.float32)
        assert abs(loudness_lufs(stereo, 48000) - pyloudnorm.Meter(48000).integrated_loudness(stereo)) < 0.7
    assert loudness_lufs(np.zeros((48000, 2), np.float32), 48000) == float("-inf")


def test_lowpass_attenuates_above_the_cutoff():
    t = np.arange(48000) / 48000
    tone = np.stack([np.sin(2 * np.pi * 8000 * t)] * 2, axis=1).astype(np.float32)
    assert np.max(np.abs(lowpass(tone, 1000.0, 48000)[2000:])) < 0.05
    assert lowpass(tone, 30000.0, 48000) is tone


@pytest.mark.parametrize("voice", ["kick", "snare", "clap", "rim", "hat", "ohat", "crash", "ride", "shaker", "perc",
                                   "conga", "tom_hi", "tom_mid", "tom_lo", "tick"])
def test_drum_voices(voice):
    sample = drum_sample(voice, 48000, 0.5, np.random.default_rng(0), "house")
    assert sample.dtype == np.float32 and 0.5 < np.max(np.abs(sample)) <= 1.0 and np.all(np.isfinite(sample))


@pytest.mark.parametrize("voice", ["808", "sub", "acid", "reese", "synth_bass", "pad", "stab", "pluck", "bell", "lead"])
def test_synth_voices_play_the_right_pitch(voice):
    pitch = 45 if voice in ("808", "sub", "acid", "reese", "synth_bass") else 69
    out = render_synth_notes(voice, [NoteFrames(0, 24000, pitch, 0.9)], 96000, 48000, 0.5, np.random.default_rng(0))
    assert out.shape == (96000, 2) and np.all(np.isfinite(out)) and np.max(np.abs(out)) > 0.05
    mono = out[:24000].mean(axis=1)
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(mono.size)))
    freqs = np.fft.rfftfreq(mono.size, 1 / 48000)
    fundamental = 440.0 * 2 ** ((pitch - 69) / 12)
    strongest = freqs[np.argmax(spectrum)]
    ratio = strongest / fundamental
    assert abs(ratio - round(ratio)) < 0.03 and round(ratio) >= 1        # a harmonic of the note
    assert np.max(np.abs(out[24000 + 48000:])) < 0.01 * np.max(np.abs(out))   # released


def test_other_sample_rates_keep_the_exact_length():
    for sample_rate in (44100, 96000):
        loop = render_offline(GenerationRequest(prompt="funk with rhodes", bars=2, bpm=103), 5, sample_rate=sample_rate)
        assert loop.audio.shape == (round(2 * 4 * 60 / 103 * sample_rate), 2)
        assert np.max(np.abs(loop.audio)) > 0.05


@pytest.mark.parametrize("bpm", [60, 97, 120, 174, 200])
def test_the_fluidsynth_rate_puts_every_sixteenth_on_a_block_boundary(bpm):
    from groovebox.generate.offline.render import _grid_rate
    for wanted in (16000, 24000, 48000):
        rate = _grid_rate(wanted, bpm)
        blocks_per_sixteenth = rate * 15 / bpm / 64
        assert rate >= wanted and rate < wanted + 64 * bpm / 15
        assert abs(blocks_per_sixteenth - round(blocks_per_sixteenth)) < 1e-9


def test_random_requests_always_render_a_proper_loop():
    import random

    from groovebox.generate.offline import GENRES
    from groovebox.generate.request import Scale
    rnd = random.Random(11)
    words = ["dark", "happy", "piano", "strings", "beat", "bass", "melody", "pads", "808", "303 acid", "jazzy", "sparse",
             "busy", "guitar", "choir", "flute", "boom bap", "lofi", "live drums", "polka", ""]
    for _ in range(8):
        request = GenerationRequest(
            prompt=" ".join(rnd.sample(words, 3)).strip() or "x", genre=rnd.choice([*GENRES, "", "no such genre"]),
            bars=rnd.choice([1, 2, 3, 4]), bpm=rnd.choice([None, rnd.randint(60, 200)]), scale=rnd.choice(list(Scale)),
            density=rnd.choice([None, rnd.random()]), brightness=rnd.choice([None, rnd.random()]),
            temperature=rnd.uniform(0.0, 3.0), mute_bass=rnd.random() < 0.3, mute_drums=rnd.random() < 0.3)
        loop = render_offline(request, rnd.randint(0, 2**31 - 1))
        assert loop.audio.shape == (round(loop.bars * 4 * 60 / loop.bpm * 48000), 2)
        assert np.all(np.isfinite(loop.audio)) and 1e-3 < np.max(np.abs(loop.audio)) <= 0.9
