"""Effect edits in the live editor: SetEffects, SetSends and SetSend post the right engine commands, undo and
redo them, and a live engine sounds like a fresh one compiled from the edited project."""

import numpy as np
import pytest
import soundfile

from groovebox.control.editor import (
    AddTrack,
    EditError,
    Editor,
    SetEffects,
    SetSend,
    SetSends,
)
from groovebox.engine import Engine
from groovebox.engine import commands as c
from groovebox.fx import Delay, EffectsConfig, Filter, Reverb
from groovebox.fx.processor import FxProcessor
from groovebox.project.compile import compile_project, session_commands
from groovebox.project.model import Project

SR = 48000


class Clock:
    def __init__(self) -> None:
        self.now_s = 0.0

    def __call__(self) -> float:
        return self.now_s


@pytest.fixture
def loop_file(tmp_path):
    path = tmp_path / "loop.wav"
    rng = np.random.default_rng(2)
    soundfile.write(path, (0.1 * rng.standard_normal((SR, 2))).astype(np.float32), SR, subtype="FLOAT")
    return path


def make_editor(project: Project | None = None, clock=None):
    posted: list = []
    editor = Editor(project or Project(), posted.append, pad_count=16, clock=clock or Clock())
    posted.clear()
    return editor, posted


REVERB_BUS = EffectsConfig(buses=[{"name": "Room", "chain": [Reverb(dry_level=0.0)]}])


def test_set_effects_posts_a_processor_and_undo_redo_swap_it():
    editor, posted = make_editor()
    editor.apply(SetEffects(REVERB_BUS))
    assert [type(command) for command in posted] == [c.SetEffect]
    assert posted[0].slot == 0 and isinstance(posted[0].processor, FxProcessor)
    posted.clear()
    editor.undo()
    assert posted == [c.SetEffect(0, None)]
    assert editor.project.effects == EffectsConfig()
    posted.clear()
    editor.redo()
    assert posted[0].slot == 0 and isinstance(posted[0].processor, FxProcessor)
    assert editor.project.effects == REVERB_BUS


def test_only_the_changed_slot_gets_a_new_processor():
    editor, posted = make_editor()
    editor.apply(SetEffects(REVERB_BUS))
    posted.clear()
    both = EffectsConfig(buses=REVERB_BUS.buses, master=[Filter(cutoff_hz=2000.0)])
    editor.apply(SetEffects(both))
    assert [command.slot for command in posted] == [c.MASTER]


def test_effects_can_be_given_as_json_and_bad_values_change_nothing():
    editor, posted = make_editor()
    editor.apply(SetEffects({"master": [{"type": "delay", "delaySeconds": 0.25, "mix": 0.3}]}))
    assert editor.project.effects.master == [Delay(delay_seconds=0.25, mix=0.3)]
    posted.clear()
    with pytest.raises(EditError, match="roomSize"):
        editor.apply(SetEffects({"master": [{"type": "reverb", "roomSize": 3}]}))
    assert posted == [] and editor.project.effects.master == [Delay(delay_seconds=0.25, mix=0.3)]


def test_pad_and_track_sends_post_glides_and_undo():
    editor, posted = make_editor()
    editor.apply(SetSend(bus=1, level=0.4, pad_index=3))
    assert posted == [c.SetPadSends(3, (0.0, 0.4, 0.0, 0.0))]
    editor.apply(AddTrack("drums", track_id="drums"))
    posted.clear()
    editor.apply(SetSends((0.2, 0.0, 0.7), track_id="drums"))
    assert posted == [c.SetTrackSends(0, (0.2, 0.0, 0.7, 0.0))]
    posted.clear()
    editor.undo()
    assert posted == [c.SetTrackSends(0, (0.0, 0.0, 0.0, 0.0))]


@pytest.mark.parametrize("edit, message", [
    (SetSend(bus=4, level=0.5, pad_index=0), "bus 4"),
    (SetSend(bus=0, level=1.5, pad_index=0), "sends"),
    (SetSend(bus=0, level=0.5, pad_index=40), "pad 40"),
    (SetSend(bus=0, level=0.5, track_id="nope"), "nope"),
    (SetSend(bus=0, level=0.5), "either a pad or a track"),
    (SetSends((0.1,) * 5, pad_index=0), "sends"),
])
def test_bad_sends_are_refused(edit, message):
    editor, posted = make_editor()
    with pytest.raises(EditError, match=message):
        editor.apply(edit)
    assert posted == []


def test_a_sweep_of_one_send_is_one_undo_step():
    clock = Clock()
    editor, _ = make_editor(clock=clock)
    for level in (0.1, 0.2, 0.3):
        editor.apply(SetSend(bus=0, level=level, pad_index=0))
        clock.now_s += 0.1
    editor.undo()
    assert editor.project.pad_at(0) is None or editor.project.pad_at(0).sends in ([], [0.0, 0.0, 0.0, 0.0])


def test_a_session_started_by_the_editor_posts_its_effects(loop_file):
    project = Project.model_validate({"pads": [{"padIndex": 0, "audioPath": str(loop_file), "sends": [0.5]}],
                                      "effects": {"master": [{"type": "eq", "lowGainDb": 3}]}})
    posted: list = []
    Editor(project, posted.append, pad_count=16)
    assert c.SetPadSends(0, (0.5, 0.0, 0.0, 0.0)) in posted
    assert any(isinstance(command, c.SetEffect) and command.slot == c.MASTER for command in posted)


def test_the_edited_live_engine_sounds_like_a_fresh_compile(loop_file):
    """Effects edited live (after the fades) render like an engine started from the edited project."""
    project = Project.model_validate({"pads": [{"padIndex": 0, "audioPath": str(loop_file)}], "quantizeGrid": "off"})
    live = Engine(sample_rate=SR, pads=16, meters=False)
    editor = Editor(project, live.post, pad_count=16)
    editor.apply(SetEffects({"buses": [{"chain": [{"type": "delay", "delaySeconds": 0.01, "mix": 1.0}]}],
                             "master": [{"type": "compressor", "thresholdDb": -30, "ratio": 4}]}))
    editor.apply(SetSend(bus=0, level=0.6, pad_index=0))
    fresh = Engine(sample_rate=SR, pads=16, meters=False)
    for command in session_commands(compile_project(editor.project)):
        fresh.post(command)
    for engine in (live, fresh):
        engine.post(c.PressPad(0))
    outputs = []
    for engine in (live, fresh):
        out = np.zeros((256 * 180, 2), np.float32)
        for start in range(0, len(out), 256):
            engine.render(out[start:start + 256], 256)
        outputs.append(out)
    np.testing.assert_allclose(outputs[0], outputs[1], atol=1e-6)
