"""The mixdown sums the layers with circular reverb/delay sends at a fixed loudness, never clipping."""

import numpy as np
import pytest

from groovebox.ambient.mixdown import CEILING_DBFS, MIXDOWN_LUFS, mix_scene, send_buses
from groovebox.ambient.scene import ElementKind, Scene, SceneLayer
from groovebox.ambient.synth import render_scene, seam_db
from groovebox.generate.metrics import (
    integrated_loudness_lufs,
    peak_dbfs,
    sample_jump_ratio,
)

SR = 48000


def scene_of(*layers: SceneLayer) -> Scene:
    return Scene(text="test scene", layers=list(layers))


@pytest.fixture(scope="module")
def storm():
    scene = scene_of(SceneLayer(kind=ElementKind.RAIN, gain_db=-4.0, reverb_send=0.2),
                     SceneLayer(kind=ElementKind.THUNDER, gain_db=-1.0, distance=0.6, reverb_send=0.5),
                     SceneLayer(kind=ElementKind.WIND, gain_db=-6.0, delay_send=0.3),
                     SceneLayer(kind=ElementKind.BELLS, gain_db=0.0, distance=0.7, reverb_send=0.6, delay_send=0.4))
    layers = render_scene(scene, seconds=8, seed=9)
    return scene, layers, mix_scene(layers, scene)


def test_mixdown_is_at_its_loudness_under_the_ceiling(storm):
    _, layers, mix = storm
    assert mix.dtype == np.float32 and mix.shape == layers[0].shape
    assert integrated_loudness_lufs(mix, SR) == pytest.approx(MIXDOWN_LUFS, abs=0.5)
    assert peak_dbfs(mix) <= CEILING_DBFS + 1e-6


def test_mixdown_loops_seamlessly(storm):
    _, _, mix = storm
    assert seam_db(mix, SR) <= 3.0
    assert sample_jump_ratio(mix) <= 1.0


def test_send_buses_weight_each_layer_by_its_sends(storm):
    scene, layers, _ = storm
    dry, reverb, delay = send_buses(layers, scene)
    assert np.allclose(dry, sum(layers), atol=1e-6)
    expected = sum(audio * layer.reverb_send for audio, layer in zip(layers, scene.layers))
    assert np.allclose(reverb, expected, atol=1e-6)
    assert np.allclose(delay, layers[2] * 0.3 + layers[3] * 0.4, atol=1e-6)


def test_reverb_tail_of_the_loop_end_sounds_at_its_start():
    frames = 4 * SR
    burst = np.zeros((frames, 2), np.float32)
    burst[frames - 2400:frames - 2300] = 0.5                    # 2 ms of sound 50 ms before the loop's end
    quiet = np.full((frames, 2), 1e-4, np.float32)              # keeps the mix measurable everywhere

    def mixed(send: float) -> np.ndarray:
        scene = scene_of(SceneLayer(kind=ElementKind.BELLS, reverb_send=send),
                         SceneLayer(kind=ElementKind.HUM, reverb_send=0.0),
                         SceneLayer(kind=ElementKind.CLOCK, reverb_send=0.0))
        return mix_scene([burst, quiet, quiet], scene)

    head = slice(0, SR // 2)                                     # the first half second of the loop
    wet_head, dry_head = (float(np.sqrt(np.mean(mixed(send)[head] ** 2))) for send in (1.0, 0.0))
    assert wet_head > 10 * dry_head


def test_layers_of_different_lengths_or_counts_are_refused(storm):
    scene, layers, _ = storm
    with pytest.raises(ValueError, match="layers"):
        mix_scene(layers[:2], scene)
    with pytest.raises(ValueError, match="length"):
        mix_scene([layers[0][:1000], *layers[1:]], scene)


def test_silent_layers_mix_to_silence():
    scene = scene_of(*(SceneLayer(kind=ElementKind.HUM) for _ in range(3)))
    mix = mix_scene([np.zeros((SR, 2), np.float32)] * 3, scene)
    assert mix.shape == (SR, 2) and not np.any(mix)
