"""``groovebox render`` of a song (library loops via --data-dir, formats, bit depths) and ``bench render``."""

import json

import numpy as np
import soundfile

from groovebox.cli import main
from groovebox.library.store import Library

SR = 48000


def library_song(tmp_path):
    """A data directory with two library loops (one recorded at 100 BPM) and a project that uses them."""
    library = Library(tmp_path / "data")
    beat = library.add(np.full((SR, 2), 0.25, np.float32), name="beat", source="uploaded", bpm=120.0, bars=1)
    slow = library.add(np.full((SR * 12 // 5, 2), 0.125, np.float32), name="slow", source="uploaded", bpm=100.0,
                       bars=1)
    project = {"bpm": 120, "masterVolume": 1.0, "tracks": [
        {"volume": 1.0, "clips": [{"loopId": beat.loop_id, "startBar": 1, "durationBars": 2.0}]},
        {"volume": 1.0, "isMuted": True, "clips": [{"loopId": slow.loop_id, "startBar": 0, "durationBars": 4.0}]},
        {"volume": 1.0, "clips": [{"loopId": slow.loop_id, "startBar": 4, "durationBars": 1.0}]}]}
    (tmp_path / "song.json").write_text(json.dumps(project))
    return tmp_path


def test_render_without_a_performance_plays_the_whole_song(tmp_path, capsys):
    folder = library_song(tmp_path)
    out = folder / "song.flac"
    assert main(["render", str(folder / "song.json"), "--data-dir", str(folder / "data"), "-o", str(out),
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["song"] and summary["format"] == "flac" and summary["bits"] == 24
    audio, rate = soundfile.read(out)
    assert rate == SR and len(audio) == summary["frames"] == 5 * 96000 + 128     # 5 bars plus the last fade
    assert not audio[:96000].any()                                  # track 1 is muted; track 0 starts on bar 1
    np.testing.assert_allclose(audio[96000:3 * 96000, 0], 0.25, atol=1e-6)
    assert not audio[3 * 96000 + 128:4 * 96000].any()
    # the 100 BPM loop plays by varispeed at 120 BPM: its 2.4 s fill exactly the one bar of its clip
    np.testing.assert_allclose(audio[4 * 96000:5 * 96000, 0], 0.125, atol=1e-6)


def test_render_writes_the_format_of_the_suffix_and_the_bits_asked_for(tmp_path, capsys):
    folder = library_song(tmp_path)
    common = ["render", str(folder / "song.json"), "--data-dir", str(folder / "data"), "--block", "1024"]
    assert main([*common, "-o", str(folder / "s16.wav"), "--bits", "16"]) == 0
    assert main([*common, "-o", str(folder / "s.mp3")]) == 0
    assert soundfile.info(folder / "s16.wav").subtype == "PCM_16"
    assert soundfile.info(folder / "s.mp3").format == "MP3"
    capsys.readouterr()
    assert main([*common, "-o", str(folder / "x.flac"), "--bits", "32"]) == 2
    assert "--bits 32 is not available for FLAC" in capsys.readouterr().err
    assert main([*common, "-o", str(folder / "x.ogg")]) == 2
    assert ".wav, .flac or .mp3" in capsys.readouterr().err
    assert not (folder / "x.flac").exists() and not (folder / "x.ogg").exists()


def test_a_song_of_library_loops_needs_the_data_dir(tmp_path, capsys):
    folder = library_song(tmp_path)
    assert main(["render", str(folder / "song.json"), "-o", str(folder / "x.wav")]) == 2
    assert "needs a library (give --data-dir)" in capsys.readouterr().err


def test_bench_render_reports_the_real_time_factor(capsys):
    assert main(["bench", "render", "--seconds", "6", "--tracks", "3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["tracks"] == 3 and result["bars"] == 3 and result["clips"] >= 3
    assert result["audio_s"] >= 6.0 and result["realtime_factor"] > 0 and result["peak_dbfs"] < 0
