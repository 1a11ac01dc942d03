"""Encoder acceleration, the generate page's word lists, the new-scene page's texts, and waveform columns."""

import pytest

from groovebox.ambient.catalogue import ARCHETYPES
from groovebox.ambient.offline_planner import plan_offline
from groovebox.generate.offline import GENRES
from groovebox.generate.request import Scale
from groovebox.panel import prompt
from groovebox.panel.accel import Acceleration
from groovebox.panel.panel import waveform_columns
from groovebox.panel.prompt import KEYS, build_request, key_label
from groovebox.panel.scenes import scene_text


class Clock:
    def __init__(self):
        self.now_s = 0.0

    def __call__(self):
        return self.now_s


def test_slow_turns_are_exact_and_fast_turns_accelerate():
    clock = Clock()
    accel = Acceleration(clock)
    assert accel.scale(1) == 1
    clock.now_s += 0.5
    assert accel.scale(1) == 1                   # slow
    clock.now_s += 0.07
    assert accel.scale(1) == 2
    clock.now_s += 0.04
    assert accel.scale(1) == 4
    clock.now_s += 0.01
    assert accel.scale(1) == 8                   # a flick
    clock.now_s += 0.01
    assert accel.scale(-1) == -1                 # reversing is exact at once


def test_every_panel_genre_is_an_offline_genre():
    assert set(prompt.GENRES) <= set(GENRES)


def test_keys_read_like_a_musician_writes_them():
    assert key_label(Scale.SCALE_UNSPECIFIED) == "any"
    assert key_label(Scale.C_MAJOR_A_MINOR) == "C/Am"
    assert key_label(Scale.B_FLAT_MAJOR_G_MINOR) == "Bb/Gm"
    assert len({key_label(k) for k in KEYS}) == len(KEYS)


def test_the_prompt_is_the_chosen_words():
    request = build_request("lo-fi", "rhodes", "dreamy", Scale.D_MAJOR_B_MINOR, 2, 3)
    assert request.prompt == "dreamy lo-fi rhodes" and request.bars == 2 and request.options == 3
    assert build_request("techno", "", "", Scale.SCALE_UNSPECIFIED, 4, 1).prompt == "techno"


def test_waveform_columns_scale_to_the_loudest_column():
    peaks = [(-0.1, 0.1), (-0.5, 0.5), (0.0, 0.0), (-0.25, 0.25)]
    assert waveform_columns(peaks, 4, 10) == (2, 10, 0, 5)
    assert waveform_columns(peaks, 8, 10) == (2, 2, 10, 10, 0, 0, 5, 5)
    assert waveform_columns([], 8, 10) == ()


@pytest.mark.parametrize("name", sorted(ARCHETYPES))
def test_each_new_scene_choice_plans_the_archetype_it_names(name):
    scene = plan_offline(scene_text(ARCHETYPES[name]))
    assert scene.notes == [f"archetype: {name}"]
    assert set(ARCHETYPES[name].kinds) & {layer.kind for layer in scene.layers}
