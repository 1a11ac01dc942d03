"""``groovebox ambient "SCENE" -o DIR`` writes decodable layer loops, a mixdown and scene.json."""

import argparse
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile

from groovebox.ambient.render_cli import add_ambient_parser
from groovebox.ambient.scene import ElementKind, Scene, SceneLayer
from groovebox.generate.metrics import integrated_loudness_lufs

SR = 48000


def run(argv, planner=None) -> int:
    parser = argparse.ArgumentParser(prog="groovebox")
    add_ambient_parser(parser.add_subparsers(dest="command"), **({"planner": planner} if planner else {}))
    args = parser.parse_args(["ambient", *argv])
    return args.handler(args)


def test_writes_layers_mixdown_and_scene_json(tmp_path, capsys):
    out = tmp_path / "storm"
    assert run(["thunderstorm at sea", "-o", str(out), "--seconds", "3", "--seed", "4", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    saved = json.loads((out / "scene.json").read_text())
    assert printed == saved
    scene = Scene.model_validate(saved["scene"])
    assert {ElementKind.THUNDER, ElementKind.WAVES} <= {layer.kind for layer in scene.layers}
    assert saved["seconds"] == 3 and saved["sample_rate"] == SR and saved["seed"] == 4 and saved["frames"] == 3 * SR
    assert [entry["kind"] for entry in saved["layers"]] == [layer.kind.value for layer in scene.layers]
    for index, entry in enumerate(saved["layers"]):
        assert entry["file"] == f"layer-{index:02d}-{entry['kind']}.flac"
        audio, rate = soundfile.read(out / entry["file"], dtype="float32")
        assert rate == SR and audio.shape == (3 * SR, 2)
        assert integrated_loudness_lufs(audio, SR) == pytest.approx(entry["loudness_lufs"], abs=0.05)
        assert np.abs(audio).max() <= 0.99 + 1e-6
    mix, rate = soundfile.read(out / "mixdown.flac", dtype="float32")
    assert rate == SR and mix.shape == (3 * SR, 2)
    assert saved["mixdown"]["loudness_lufs"] == pytest.approx(-18.0, abs=0.5)
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []     # no temporary files left


def test_the_same_seed_writes_the_same_audio(tmp_path, capsys):
    for name in ("a", "b"):
        run(["rain on a tin roof", "-o", str(tmp_path / name), "--seconds", "2", "--seed", "7"])
    capsys.readouterr()
    first, _ = soundfile.read(tmp_path / "a" / "mixdown.flac")
    second, _ = soundfile.read(tmp_path / "b" / "mixdown.flac")
    assert np.array_equal(first, second)


def test_summary_names_the_scene_and_its_files(tmp_path, capsys):
    run(["campfire under the stars", "-o", str(tmp_path), "--seconds", "2", "--seed", "1"])
    text = capsys.readouterr().out
    assert "Campfire under the stars" in text and "layer-00-campfire.flac" in text and "mixdown.flac" in text


def test_the_planner_is_injectable_and_gets_the_seed(tmp_path, capsys):
    calls = []

    def planner(text, *, seed):
        calls.append((text, seed))
        layers = [SceneLayer(kind=kind) for kind in (ElementKind.PINK_NOISE, ElementKind.HUM, ElementKind.CLOCK)]
        return Scene(text=text, title="fake", layers=layers, planner="openai", notes=["from a fake"])

    assert run(["anything at all", "-o", str(tmp_path), "--seconds", "2", "--seed", "3", "--json"], planner) == 0
    saved = json.loads(capsys.readouterr().out)
    assert calls == [("anything at all", 3)]
    assert saved["scene"]["planner"] == "openai"
    assert [entry["file"] for entry in saved["layers"]] == ["layer-00-pink_noise.flac", "layer-01-hum.flac",
                                                            "layer-02-clock.flac"]


def test_without_a_seed_a_random_one_is_recorded(tmp_path, capsys):
    run(["wind", "-o", str(tmp_path), "--seconds", "2", "--json"])
    assert isinstance(json.loads(capsys.readouterr().out)["seed"], int)


@pytest.mark.parametrize("argv,message", [(["rain", "--seconds", "0.1"], "--seconds"),
                                          (["rain", "--seconds", "nan"], "--seconds"),
                                          (["   ", "--seconds", "2"], "SCENE")])
def test_bad_arguments_are_one_clear_error(tmp_path, argv, message):
    with pytest.raises(ValueError, match=message):
        run([*argv, "-o", str(tmp_path)])


def test_runs_as_a_command(tmp_path):
    env = {name: value for name, value in os.environ.items() if name != "GEMINI_API_KEY"}   # offline planner
    result = subprocess.run([sys.executable, "-m", "groovebox", "ambient", "forest at dawn",
                             "-o", str(tmp_path), "--seconds", "2", "--seed", "2", "--json"],
                            capture_output=True, text=True, timeout=120, check=False, env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["scene"]["title"] == "Forest at dawn"
    assert all((tmp_path / entry["file"]).exists() for entry in report["layers"])
    failed = subprocess.run([sys.executable, "-m", "groovebox", "ambient", "rain", "-o", str(tmp_path),
                             "--seconds", "9999"], capture_output=True, text=True, timeout=60, check=False, env=env)
    assert failed.returncode == 2 and "--seconds" in failed.stderr


def test_the_command_shares_the_synthesisers_limits():
    from groovebox.ambient import render_cli, synth
    assert (render_cli.MIN_SECONDS, render_cli.SAMPLE_RATE) == (synth.MIN_SECONDS, synth.SAMPLE_RATE)


def test_adding_the_command_does_not_import_the_heavy_modules():
    code = ("import sys, argparse; from groovebox.ambient.render_cli import add_ambient_parser; "
            "add_ambient_parser(argparse.ArgumentParser().add_subparsers()); "
            "print(sorted(m for m in ('pedalboard', 'pyloudnorm', 'groovebox.ambient.synth') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"
