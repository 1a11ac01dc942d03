"""Effects in the project document, compiled to engine commands and rendered (real pedalboard)."""

import json

import numpy as np
import pytest
import soundfile

from groovebox.engine import commands as c
from groovebox.fx import Delay, EffectsConfig
from groovebox.fx.processor import FxProcessor
from groovebox.project import Project, ProjectError, parse_project
from groovebox.project.compile import compile_project, effect_commands, session_commands
from groovebox.project.model import send_levels
from groovebox.project.render import render_project

SR = 48000


def with_effects(**changes) -> Project:
    document = {
        "pads": [{"padIndex": 0, "audioPath": "beat.wav", "sends": [0.5]}],
        "tracks": [{"trackId": "t1", "sends": [0.0, 0.3], "clips": [{"audioPath": "beat.wav", "durationBars": 2.0}]}],
        "effects": {"buses": [{"name": "Room", "chain": [{"type": "reverb", "dryLevel": 0, "roomSize": 0.8}]},
                              {"chain": [{"type": "delay", "delaySeconds": 0.125, "feedback": 0.4, "mix": 1}]}],
                    "master": [{"type": "compressor", "thresholdDb": -18, "ratio": 3},
                               {"type": "eq", "lowGainDb": 2}]},
    }
    document.update(changes)
    return Project.model_validate(document)


@pytest.fixture
def beat(tmp_path):
    rng = np.random.default_rng(4)
    audio = np.zeros((SR, 2), np.float32)
    for start in range(0, SR, SR // 4):                     # four clicks with short noise bursts
        audio[start:start + 2000] = 0.4 * rng.uniform(-1, 1, (2000, 2)) * np.exp(-np.arange(2000) / 300)[:, None]
    soundfile.write(tmp_path / "beat.wav", audio, SR, subtype="FLOAT")
    return tmp_path


def test_an_old_project_file_without_effects_or_sends_still_loads():
    old = json.dumps({"projectName": "old", "pads": [{"padIndex": 1, "loopId": "abc"}],
                      "tracks": [{"trackId": "t", "clips": []}]})
    project = parse_project(old)
    assert project.effects == EffectsConfig()
    assert send_levels(project.pads[0]) == (0.0, 0.0, 0.0, 0.0)


def test_effects_and_sends_round_trip_through_camel_case_json():
    project = with_effects()
    document = json.loads(project.to_json())
    assert document["effects"]["buses"][0]["chain"][0]["roomSize"] == 0.8
    assert document["pads"][0]["sends"] == [0.5]
    assert parse_project(project.to_json()) == project
    assert send_levels(project.tracks[0]) == (0.0, 0.3, 0.0, 0.0)


@pytest.mark.parametrize("change, where", [
    ({"pads": [{"padIndex": 0, "sends": [0.1, 0.2, 0.3, 0.4, 0.5]}]}, "pads.0.sends"),
    ({"pads": [{"padIndex": 0, "sends": [1.5]}]}, "pads.0.sends.0"),
    ({"effects": {"master": [{"type": "delay", "delaySeconds": 9}]}}, "effects.master.0.delay.delaySeconds"),
])
def test_bad_effect_settings_name_the_field(change, where):
    base = json.loads(Project().to_json())
    base.update(change)
    with pytest.raises(ProjectError, match=where.replace(".", r"\.")):
        parse_project(json.dumps(base))


def test_compile_sets_the_buses_master_and_sends(beat):
    compiled = compile_project(with_effects(), beat / "p.json")
    effects = {command.slot: command.processor for command in compiled.effects if isinstance(command, c.SetEffect)}
    assert set(effects) == {0, 1, c.MASTER}
    assert all(isinstance(processor, FxProcessor) for processor in effects.values())
    assert c.SetPadSends(0, (0.5, 0.0, 0.0, 0.0)) in compiled.effects
    assert c.SetTrackSends(0, (0.0, 0.3, 0.0, 0.0)) in compiled.effects
    assert session_commands(compiled)[-len(compiled.effects):] == compiled.effects
    assert compile_project(Project(), None).effects == []


def test_effect_commands_only_touch_what_changed():
    before = with_effects()
    assert effect_commands(before, before) == []
    louder = before.replace(pads=[before.pads[0].replace(sends=[0.9])])
    assert effect_commands(louder, before) == [c.SetPadSends(0, (0.9, 0.0, 0.0, 0.0))]
    room, echo = before.effects.buses
    effects = EffectsConfig(buses=[room.model_copy(update={"enabled": False}), echo], master=before.effects.master)
    off = effect_commands(before.replace(effects=effects), before)
    assert off == [c.SetEffect(0, None)]
    renamed = EffectsConfig(buses=[room.model_copy(update={"name": "Hall"}), echo], master=before.effects.master)
    assert effect_commands(before.replace(effects=renamed), before) == []
    fewer = before.replace(tracks=[])
    assert effect_commands(fewer, before) == [c.SetTrackSends(0, (0.0, 0.0, 0.0, 0.0))]


def test_a_rendered_song_carries_its_effects_and_renders_the_same_in_any_block_size(beat):
    project = with_effects()
    plain = render_project(project.replace(effects=EffectsConfig()), beat / "p.json", [])
    wet = render_project(project, beat / "p.json", [])
    assert wet.shape == plain.shape
    assert np.abs(wet - plain).max() > 0.01
    # an export renders with the default block size; another block size gives the same samples
    assert np.allclose(render_project(project, beat / "p.json", [], block_frames=1000), wet, atol=1e-5)


def test_a_delay_bus_repeats_a_hit_after_its_delay(beat):
    delay = EffectsConfig(buses=[{"chain": [Delay(delay_seconds=0.1, feedback=0.0, mix=1.0)]}])
    project = Project.model_validate({"tracks": [{"trackId": "t", "sends": [1.0], "volume": 1.0,
                                                  "clips": [{"audioPath": "beat.wav", "durationBars": 0.125}]}]})
    dry = render_project(project, beat / "p.json", [], seconds=0.5)
    wet = render_project(project.replace(effects=delay), beat / "p.json", [], seconds=0.5)
    echo = wet[int(0.1 * SR):int(0.1 * SR) + 1500] - dry[int(0.1 * SR):int(0.1 * SR) + 1500]
    np.testing.assert_allclose(echo, dry[:1500], atol=1e-4)
