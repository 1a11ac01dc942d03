"""The song through compile and export: tracks/clips -> SetSong, whole-song renders, formats read back."""

import math
from fractions import Fraction

import numpy as np
import pytest
import soundfile

from groovebox.engine import Engine, render_offline
from groovebox.engine import commands as c
from groovebox.engine.engine import DECLICK_FRAMES
from groovebox.library.store import Library
from groovebox.project import Project, ProjectError
from groovebox.project.compile import compile_project, session_commands, song_end_beat
from groovebox.project.performance import PadAction
from groovebox.project.render import render_project, song_frames, write_audio

SR = 48000


def bar_frame(bar, tempo_bpm) -> int:
    return math.ceil(Fraction(bar) * 4 * 60 * SR / Fraction(tempo_bpm))


@pytest.fixture
def loops(tmp_path):
    rng = np.random.default_rng(3)
    soundfile.write(tmp_path / "beat.wav", (0.3 * rng.uniform(-1, 1, (SR, 2))).astype(np.float32), SR, subtype="FLOAT")
    soundfile.write(tmp_path / "pad.flac", 0.2 * rng.uniform(-1, 1, (30000, 1)), 44100, subtype="PCM_24")
    return tmp_path


def song_project(**changes) -> Project:
    tracks = [
        {"trackName": "Drums", "volume": 1.0, "clips": [
            {"audioPath": "beat.wav", "startBar": 0, "durationBars": 2.0},
            {"audioPath": "beat.wav", "startBar": 3, "durationBars": 0.5, "startOffsetInLoopSeconds": 0.25}]},
        {"trackName": "Pad", "volume": 0.5, "pan": -0.5, "isMuted": False, "clips": [
            {"audioPath": "pad.flac", "startBar": 1, "durationBars": 3.0, "volumeOverride": 0.7, "panOverride": 0.2,
             "endOffsetInLoopSeconds": 0.5}]},
    ]
    return Project.model_validate({"bpm": 126, "masterVolume": 1.0, "tracks": tracks, **changes})


def test_tracks_and_clips_compile_to_one_set_song_sharing_decoded_audio(loops):
    compiled = compile_project(song_project(), loops / "p.json")
    song = compiled.song
    assert [(t.volume, t.pan, t.muted, t.soloed) for t in song.tracks] == [(1.0, 0.0, False, False),
                                                                           (0.5, -0.5, False, False)]
    first, second, pad = song.clips
    assert first.audio is second.audio and first.audio.shape == (SR, 2)          # decoded once
    assert pad.audio.shape == (round(30000 * SR / 44100), 2)
    assert (first.track, first.start_bar, first.length_bars, first.native_bpm) == (0, 0.0, 2.0, 0.0)
    assert (second.region_start_frame, second.region_end_frame) == (12000, 0)
    assert (pad.track, pad.region_end_frame, pad.volume, pad.pan) == (1, 24000, 0.7, 0.2)
    assert session_commands(compiled)[-1] is song
    assert song_end_beat(song, 4) == 16.0 and compile_project(Project()).song is None


def test_a_library_clip_takes_its_native_tempo_from_the_library(tmp_path):
    library = Library(tmp_path / "data")
    record = library.add(np.zeros((SR, 2), np.float32) + 0.1, name="loop", source="uploaded", bpm=100.0, bars=1)
    project = Project.model_validate({"tracks": [{"clips": [{"loopId": record.loop_id, "durationBars": 1.0}]}]})
    compiled = compile_project(project, None, tmp_path / "data" / "library")
    assert compiled.song.clips[0].native_bpm == 100.0
    with pytest.raises(ProjectError, match="needs a library"):
        compile_project(project, None, None)


def test_bad_clips_are_named(loops):
    missing = song_project(tracks=[{"clips": [{"clipId": "c9", "audioPath": "gone.wav"}]}])
    with pytest.raises(ProjectError, match="clip c9"):
        compile_project(missing, loops / "p.json")
    outside = song_project(tracks=[{"clips": [{"clipId": "c8", "audioPath": "beat.wav",
                                               "startOffsetInLoopSeconds": 5.0}]}])
    with pytest.raises(ProjectError, match="clip c8: loop region"):
        compile_project(outside, loops / "p.json")


def test_the_whole_song_renders_to_the_end_of_its_last_clip(loops):
    project = song_project()
    audio = render_project(project, loops / "p.json", [], block_frames=512)
    end = bar_frame(4, 126)                                 # the pad clip ends on bar 4
    assert len(audio) == end + DECLICK_FRAMES == song_frames(compile_project(project, loops / "p.json"))
    beat = soundfile.read(loops / "beat.wav", dtype="float32")[0]
    np.testing.assert_allclose(audio[:bar_frame(1, 126)], beat[np.arange(bar_frame(1, 126)) % SR], atol=1e-6)
    assert np.abs(audio[end - 1000:end]).max() > 0.01 and not audio[-1].any()
    # the same engine, driven by hand, makes the same samples
    engine = Engine(max_block_frames=2048, tempo_bpm=126.0)
    for command in session_commands(compile_project(project, loops / "p.json")):
        engine.post(command)
    np.testing.assert_array_equal(render_offline(engine, len(audio), 256, [c.SongPlay(at_frame=0)]), audio)


def test_song_and_performance_render_together_for_the_longer_of_the_two(loops):
    project = song_project(pads=[{"padIndex": 0, "audioPath": "beat.wav", "launchMode": "oneShot", "volume": 1.0}],
                           quantizeGrid="off")
    early = render_project(project, loops / "p.json", [PadAction(1000, 0, True, 1.0)])
    assert len(early) == bar_frame(4, 126) + DECLICK_FRAMES       # the song is longer
    song_only = render_project(project, loops / "p.json", [])
    assert np.abs(early[1000:20000] - song_only[1000:20000]).max() > 0.05
    late_press = bar_frame(5, 126)
    late = render_project(project, loops / "p.json", [PadAction(late_press, 0, True, 1.0)])
    assert len(late) == late_press + SR                          # the one-shot rings out after the song
    np.testing.assert_array_equal(late[:len(song_only)], song_only)


def test_progress_rises_to_one(loops):
    reported = []
    render_project(song_project(), loops / "p.json", [], block_frames=1024, progress=reported.append)
    assert len(reported) >= 4 and reported == sorted(reported) and reported[-1] == 1.0
    assert all(0.0 < fraction <= 1.0 for fraction in reported)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    rng = np.random.default_rng(5)
    soundfile.write(folder / "beat.wav", (0.3 * rng.uniform(-1, 1, (SR, 2))).astype(np.float32), SR, subtype="FLOAT")
    soundfile.write(folder / "pad.flac", 0.2 * rng.uniform(-1, 1, (30000, 1)), 44100, subtype="PCM_24")
    return folder, render_project(song_project(), folder / "p.json", [], block_frames=1024)


@pytest.mark.parametrize("name, bits, bound", [
    ("song.wav", 32, 0.0),                       # float: exactly the render
    ("song.wav", 24, 2.0 ** -23),                # 24-bit: the quantisation step
    ("song.flac", 24, 2.0 ** -23),
    ("song.wav", 16, 1.5 / 32768 + 1e-9),        # 16-bit: rounding plus +-1 LSB TPDF dither
    ("song.flac", 16, 1.5 / 32768 + 1e-9),
])
def test_an_export_reads_back_as_the_offline_render(rendered, name, bits, bound):
    folder, audio = rendered
    target = folder / f"{bits}-{name}"
    write_audio(target, audio, bits=bits)
    back, rate = soundfile.read(target, dtype="float64")
    info = soundfile.info(target)
    assert rate == SR and back.shape == audio.shape and info.subtype == {32: "FLOAT", 24: "PCM_24", 16: "PCM_16"}[bits]
    assert np.abs(back - audio).max() <= bound
    assert not list(folder.glob(".*partial"))


def test_an_mp3_export_sounds_like_the_render(rendered):
    folder, audio = rendered
    write_audio(folder / "song.mp3", audio)
    back, rate = soundfile.read(folder / "song.mp3", dtype="float32")
    assert rate == SR and soundfile.info(folder / "song.mp3").format == "MP3"
    assert abs(len(back) - len(audio)) < 4 * 1152                  # MP3 frames pad the ends
    lag = int(np.argmax(np.correlate(back[:8000, 0], audio[:4000, 0], mode="valid")))
    aligned = back[lag:lag + len(audio) - 5000, 0]
    correlation = np.corrcoef(aligned, audio[:len(aligned), 0])[0, 1]
    assert correlation > 0.85                                       # white noise: the encoder drops the top octave
    level = np.sqrt(np.mean(aligned ** 2) / np.mean(audio[:len(aligned), 0] ** 2))
    assert 0.85 < level < 1.1


def test_unknown_formats_and_bit_depths_are_refused(tmp_path):
    audio = np.zeros((10, 2), np.float32)
    with pytest.raises(ValueError, match=r"\.wav, \.flac or \.mp3"):
        write_audio(tmp_path / "out.ogg", audio)
    with pytest.raises(ValueError, match="16 or 24 bits"):
        write_audio(tmp_path / "out.flac", audio, bits=32)
    assert not list(tmp_path.iterdir())
