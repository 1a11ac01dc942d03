"""A scene's musical bed from Lyria RealTime (the fake server through the real google-genai client), and the
offline pad chord with a note when Lyria refuses."""

import sys
from pathlib import Path

import pyloudnorm
import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "generate"))
from lyria_fixtures import REVOKED_KEY, fake_lyria_fixture, secret_key  # noqa: E402,F401  (fixture)

from groovebox.ambient.build import build_scene, live_layer  # noqa: E402
from groovebox.ambient.scene import ElementKind, Scene, SceneLayer  # noqa: E402
from groovebox.ambient.synth import expected_loudness_lufs  # noqa: E402
from groovebox.generate.produce import GeneratorConfig  # noqa: E402

SCENE = Scene(text="a quiet harbour at dusk", title="Harbour", layers=[
    SceneLayer(kind=ElementKind.WAVES), SceneLayer(kind=ElementKind.SEAGULLS),
    SceneLayer(kind=ElementKind.MUSIC_BED, description="warm slow strings", gain_db=-6.0)])


def config(fake) -> GeneratorConfig:
    return GeneratorConfig(engine="lyria", lyria_base_url=fake.ready["url"], key_file="")


def test_the_music_bed_comes_from_lyria_at_the_layers_loudness(fake_lyria, tmp_path, monkeypatch):
    monkeypatch.setenv("GEMINI_API_KEY", secret_key("bed"))
    preset = build_scene(tmp_path, SCENE, seconds=7.0, seed=2, generator=config(fake_lyria))
    engines = {layer["kind"]: layer["engine"] for layer in preset["layers"]}
    assert engines == {"waves": "synth", "seagulls": "synth", "music_bed": "lyria"}
    bed = next(layer for layer in preset["layers"] if layer["kind"] == "music_bed")
    audio, rate = soundfile.read(tmp_path / "library" / f"{bed['loopId']}.flac", dtype="float32")
    assert len(audio) == round(2 * 4 * 60 / 70 * rate)        # two whole bars at 70 BPM, about 7 s
    loudness = pyloudnorm.Meter(rate).integrated_loudness(audio)
    assert abs(loudness - expected_loudness_lufs(live_layer(SCENE.layers[2]))) < 1.0
    assert preset["scene"]["notes"] == []


def test_a_refused_key_leaves_the_offline_pad_chord_and_says_why(fake_lyria, tmp_path, monkeypatch):
    monkeypatch.setenv("GEMINI_API_KEY", REVOKED_KEY)
    preset = build_scene(tmp_path, SCENE, seconds=5.0, seed=2, generator=config(fake_lyria))
    assert {layer["engine"] for layer in preset["layers"]} == {"synth"}
    (note,) = preset["scene"]["notes"]
    assert note.startswith("the musical bed is the offline pad chord: Lyria failed") and REVOKED_KEY not in note
