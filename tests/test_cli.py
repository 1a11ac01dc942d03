"""The command line as a user runs it: render, schema, bench, errors."""

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile

from groovebox.cli import main
from groovebox.project.performance import write_performance


def groovebox(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "groovebox", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def project_with_performance(tmp_path):
    rng = np.random.default_rng(7)
    soundfile.write(tmp_path / "drums.wav", rng.uniform(-0.4, 0.4, (30000, 1)), 44100)       # mono 44.1 kHz
    soundfile.write(tmp_path / "pad.flac", rng.uniform(-0.3, 0.3, (50000, 2)), 48000, subtype="PCM_24")
    project = {"projectName": "cli", "bpm": 126, "quantizeGrid": "1/8", "pads": [
        {"padIndex": 0, "audioPath": "drums.wav", "launchMode": "toggle"},
        {"padIndex": 1, "audioPath": "pad.flac", "launchMode": "gate", "pan": -0.4},
        {"padIndex": 2, "audioPath": "drums.wav", "launchMode": "oneShot", "loopStartOffsetSeconds": 0.1},
    ]}
    (tmp_path / "song.json").write_text(json.dumps(project))
    # (beat, pad, pressed, velocity): off-grid presses and releases
    write_performance(tmp_path / "perf.mid", [(0.1, 0, True, 1.0), (1.3, 1, True, 0.8), (2.71, 1, False, 0.0),
                                              (3.05, 2, True, 0.6), (5.5, 0, True, 1.0)])
    return tmp_path


def test_render_is_sample_identical_for_every_block_size(project_with_performance):
    folder = project_with_performance
    renders = {}
    for block in (32, 64, 256, 257, 1024):
        out = folder / f"out{block}.wav"
        result = groovebox("render", str(folder / "song.json"), "--performance", str(folder / "perf.mid"),
                           "--block", str(block), "-o", str(out), "--json")
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout)
        assert summary["block_frames"] == block and summary["actions"] == 5
        renders[block], rate = soundfile.read(out, dtype="int32")
        assert rate == 48000
    reference = renders[256]
    assert np.abs(reference).max() > 0
    for block, audio in renders.items():
        np.testing.assert_array_equal(audio, reference, err_msg=f"--block {block}")


def test_render_covers_the_performance_and_its_tail(project_with_performance):
    folder = project_with_performance
    assert main(["render", str(folder / "song.json"), "--performance", str(folder / "perf.mid"),
                 "-o", str(folder / "out.flac")]) == 0
    audio, _ = soundfile.read(folder / "out.flac")
    last_press = round(5.5 * 60 * 48000 / 126)
    assert len(audio) > last_press
    assert np.abs(audio[-1]).max() < 1e-3             # ends when the last stop's declick fade has finished
    assert np.abs(audio[-128:-96]).max() > np.abs(audio[-32:]).max()


def test_render_seconds_sets_the_length(project_with_performance):
    folder = project_with_performance
    assert main(["render", str(folder / "song.json"), "--seconds", "1.5", "-o", str(folder / "s.wav")]) == 0
    assert soundfile.info(folder / "s.wav").frames == 72000


def test_render_errors_are_one_clear_line(project_with_performance, capsys):
    folder = project_with_performance
    assert main(["render", str(folder / "song.json"), "-o", str(folder / "x.wav")]) == 2
    assert "nothing to render" in capsys.readouterr().err
    (folder / "bad.json").write_text('{"bpm": 9000}')
    assert main(["render", str(folder / "bad.json"), "--seconds", "1", "-o", str(folder / "x.wav")]) == 2
    assert "bpm" in capsys.readouterr().err
    (folder / "missing.json").write_text(json.dumps({"pads": [{"padIndex": 0, "audioPath": "nope.wav"}]}))
    assert main(["render", str(folder / "missing.json"), "--seconds", "1", "-o", str(folder / "x.wav")]) == 2
    assert "pad 0" in capsys.readouterr().err
    assert not (folder / "x.wav").exists()


def test_schema_project_prints_the_camel_case_schema(capsys):
    assert main(["schema", "project"]) == 0
    schema = json.loads(capsys.readouterr().out)
    text = json.dumps(schema)
    for name in ("projectName", "bpm", "masterVolume", "quantizeGrid", "padIndex", "loopStartOffsetSeconds",
                 "loopEndOffsetSeconds", "launchMode", "chokeGroup", "audioPath", "loopId"):
        assert name in text


def test_version_and_help():
    result = groovebox("--version")
    assert result.returncode == 0 and result.stdout.startswith("groovebox ")
    for command in ("run", "render", "schema", "bench", "devices"):
        assert groovebox(command, "--help").returncode == 0


def test_bench_engine_prints_the_measurements(capsys):
    assert main(["bench", "engine", "--voices", "16", "--block", "128", "--seconds", "0.5", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"block_frames", "voices", "budget_us", "render_us_p50", "render_us_p99",
                           "render_us_p999", "dsp_load_p50", "dsp_load_p999"}
    assert result["voices"] == 16 and result["block_frames"] == 128
    assert 0 < result["render_us_p50"] <= result["render_us_p999"]


def test_bench_soak_runs_the_daemon_on_its_own_jack_server(jack_server):
    result = groovebox("bench", "soak", "--seconds", "2", "--json")
    assert result.returncode == 0, result.stderr
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(measured) == {"seconds", "block_frames", "ahead_blocks", "underruns", "jack_xruns", "dsp_load_p999"}
    assert measured["dsp_load_p999"] > 0             # audio really ran with the pads playing


def test_run_refuses_a_bad_config_at_start_with_the_field_path(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[audio]\nblock_frames = 99999\n")
    result = groovebox("run", "--config", str(bad), "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert "bad.toml: audio.block_frames: Input should be less than or equal to 2048" in result.stderr
    result = groovebox("run", "--web", "nonsense", "--data-dir", str(tmp_path))
    assert result.returncode == 2 and "HOST:PORT" in result.stderr


def test_devices_lists_outputs_or_says_there_are_none(capsys):
    assert main(["devices", "--json"]) == 0
    assert isinstance(json.loads(capsys.readouterr().out)["audio"], list)


def test_render_plays_the_last_launch_of_a_performance(tmp_path):
    soundfile.write(tmp_path / "hit.wav", np.full((4800, 2), 0.5), 48000, subtype="FLOAT")
    project = {"bpm": 120, "quantizeGrid": "1 bar", "pads": [
        {"padIndex": 0, "audioPath": "hit.wav", "launchMode": "oneShot", "volume": 1.0},
        {"padIndex": 1, "audioPath": "hit.wav", "launchMode": "toggle", "volume": 1.0}]}
    (tmp_path / "p.json").write_text(json.dumps(project))
    write_performance(tmp_path / "perf.mid", [(0.0, 0, True, 1.0), (0.5, 1, True, 1.0)])
    assert main(["render", str(tmp_path / "p.json"), "--performance", str(tmp_path / "perf.mid"),
                 "-o", str(tmp_path / "out.wav")]) == 0
    audio, _ = soundfile.read(tmp_path / "out.wav")
    level = 0.5 * 0.8                                          # masterVolume defaults to 0.8
    np.testing.assert_allclose(audio[:4672], level, atol=1e-6)  # the one-shot on beat 1 rings out, then its
    assert 0 < audio[4700, 0] < level and audio[4799, 0] == 0   # last 128 frames fade so a cut cannot click
    np.testing.assert_allclose(audio[96000:96000 + 4800], level, atol=1e-6)  # the loop queued for bar 2 plays
    assert len(audio) == 2 * 96000 + 128                       # ... and stops on bar 3 with a fade
