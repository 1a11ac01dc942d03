"""Ambient scenes live: a scene built into the library, loaded onto a bank, played, animated and faded; and
layer changes while it plays are click-free on rendered audio."""

import asyncio

import numpy as np
import pytest

from groovebox.ambient.build import render_variant
from groovebox.ambient.scene import ElementKind, SceneLayer
from groovebox.control.editor import Editor, library_loop_info
from groovebox.control.scenes import ScenePlayer, layer_volume, list_presets
from groovebox.control.session import Session, SessionInfo
from groovebox.engine import Engine, PadState
from groovebox.engine import commands as c
from groovebox.fx.processor import build_processor
from groovebox.fx.spec import Reverb
from groovebox.hw import OfflineBackend
from groovebox.project.model import Project

SR = 48000


def make_player(tmp_path):
    engine = Engine(pads=64)
    session = Session(engine, OfflineBackend(), SessionInfo("offline", SR, 256))
    editor = Editor(Project(), session.post, library_dir=tmp_path / "library", loop_info=library_loop_info(tmp_path),
                    pad_count=64)
    session.event_listeners.append(lambda event: None)
    return ScenePlayer(session, editor, None, tmp_path), session, editor


def advance(session, seconds):
    for _ in range(int(seconds * SR / 1024)):
        session.engine.render(np.zeros((1024, 2), np.float32), 1024)
    session.poll()


def test_a_described_scene_becomes_a_playing_bank_of_library_loops(tmp_path):
    player, session, editor = make_player(tmp_path)

    async def scenario():
        preset = await player.create("thunderstorm at sea", seconds=5.0, seed=3)
        return preset, player.load(preset)

    preset, state = asyncio.run(scenario())
    kinds = [layer["kind"] for layer in state["layers"]]
    assert "thunder" in kinds and "waves" in kinds and state["playing"]
    pads = {pad.pad_index: pad for pad in editor.project.pads}
    assert sorted(pads) == list(range(48, 48 + len(kinds)))
    for layer, entry in zip(preset["scene"]["layers"], state["layers"], strict=True):
        pad = pads[entry["pad"]]
        assert pad.loop_id == entry["loopId"] and (tmp_path / "library" / f"{pad.loop_id}.flac").is_file()
        assert pad.volume == pytest.approx(layer_volume(SceneLayer.model_validate(layer)))
        assert pad.pan == layer["pan"] and pad.sends[:2] == [layer["reverb_send"], layer["delay_send"]]
        assert pad.quantize == "off"
    assert editor.project.effects.buses[0].chain[0].type == "reverb"
    assert editor.project.effects.buses[1].chain[0].type == "delay"
    advance(session, 0.2)
    assert all(session.pad_states[pad] == PadState.PLAYING for pad in pads)
    assert [p["sceneId"] for p in list_presets(tmp_path)] == [preset["sceneId"]]
    editor.undo()                                                   # loading was one edit
    assert editor.project.pads == [] and editor.project.effects.buses == []


def test_drift_wanders_within_its_depth_and_the_fade_ends_in_silence(tmp_path):
    player, session, editor = make_player(tmp_path)
    posted = []
    real_post = session.post
    session.post = lambda command: (posted.append(command), real_post(command))

    async def scenario():
        preset = await player.create("rain on a tin roof", seconds=5.0, seed=1)
        player.load(preset)
        advance(session, 0.05)                                   # the layers play
        player.set_drift(0, 1.0)
        base = editor.project.pad_at(48).volume
        for step in range(48):
            player._drift_step(48, 6.0, new_target=step % 16 == 0)
        drifted = [cmd.volume for cmd in posted if isinstance(cmd, c.SetPadMix) and cmd.pad == 48]
        player.fade_out(1.0)
        for _ in range(14):
            advance(session, 0.02)
            await asyncio.sleep(0.1)
        return base, drifted

    base, drifted = asyncio.run(scenario())
    assert len(set(drifted)) > 10
    assert all(base * 10 ** (-6 / 20) - 1e-6 <= volume <= min(1.0, base * 10 ** (6 / 20)) + 1e-6 for volume in drifted)
    steps_db = np.abs(np.diff(20 * np.log10(drifted)))
    assert steps_db.max() < 1.0                                      # small steps: a wander, not jumps
    assert not player.playing
    finals = {cmd.pad: cmd.volume for cmd in posted if isinstance(cmd, c.SetPadMix)}
    faded = [cmd.volume for cmd in posted if isinstance(cmd, c.SetPadMix) and cmd.pad == 48]
    assert 0.0 in faded and finals                                  # reached silence before stopping


# ---- click-free layer changes, on rendered audio ---------------------------------------------------------

def click_db(audio: np.ndarray, at: int, window: int = 32, span: int = 60) -> float:
    """How far the high-frequency energy (second difference) in the window at ``at`` exceeds the loudest
    of ``span`` windows on either side (dB). A glide sits between its two sides; a step sticks out."""
    hf = np.diff(audio[:, 0], 2) ** 2
    def energy(start):
        return hf[start:start + window].mean() + 1e-20
    around = [energy(at - k * window) for k in range(2, span)] + [energy(at + k * window) for k in range(2, span)]
    here = max(energy(at - window), energy(at), energy(at + window // 2))
    return 10 * np.log10(here / max(around))


def tonal_layer_audio() -> np.ndarray:
    return render_variant(SceneLayer(kind=ElementKind.DRONE, intensity=0.5), 4.0, seed=5)   # tonal: steps click


def render_with(change, at: int = 2 * SR, frames: int = 3 * SR) -> np.ndarray:
    engine = Engine(pads=16)
    engine.post(c.SetQuantize(c.Quantize.OFF))
    engine.post(c.SetEffect(0, build_processor([Reverb(room_size=0.7, wet_level=1.0, dry_level=0.0)], SR)))
    engine.post(c.LoadPad(0, tonal_layer_audio(), 120.0, volume=0.3, pan=-0.5))
    engine.post(c.SetPadSends(0, (0.1, 0.0, 0.0, 0.0)))
    engine.post(c.PressPad(0))
    out = np.zeros((frames, 2), np.float32)
    engine.render(out[:at], at)
    if change is not None:
        engine.post(change)
    engine.render(out[at:], frames - at)
    return out


@pytest.mark.parametrize("change", [c.SetPadMix(0, 1.0, -0.5), c.SetPadMix(0, 0.3, 0.9),
                                    c.SetPadSends(0, (1.0, 0.0, 0.0, 0.0))], ids=["volume", "pan", "send"])
def test_changing_a_layer_while_it_plays_is_click_free(change):
    out = render_with(change)
    assert np.abs(out[2 * SR + 2000:]).max() > 0.01
    assert click_db(out, 2 * SR) < 3.0


def test_the_click_measure_catches_a_hard_step():
    out = render_with(None)
    stepped = out.copy()
    stepped[2 * SR:] *= 3.0                                          # the same change without a glide
    assert click_db(stepped, 2 * SR) > 20.0


def test_no_scene_is_created_under_the_save_lock(tmp_path):
    from groovebox.control.savelock import SaveLock, SaveLocked

    player, _, _ = make_player(tmp_path)
    player.save_lock = SaveLock(True)
    with pytest.raises(SaveLocked, match="creating a scene"):
        asyncio.run(player.create("rain", seconds=5.0))
    assert not (tmp_path / "library").exists() and list_presets(tmp_path) == []


def test_play_twice_a_new_fade_and_a_stop_from_elsewhere_leave_no_stray_tasks(tmp_path):
    player, session, _ = make_player(tmp_path)

    async def scenario():
        player.load(await player.create("rain on a tin roof", seconds=5.0, seed=1))
        advance(session, 0.05)
        first = list(player._tasks)
        player.play()                                           # again: the old animation is replaced
        await asyncio.sleep(0)
        assert all(task.cancelled() or task.done() for task in first) and len(player._tasks) == 2
        player.fade_out(600.0)
        old_fade = player._fade_task
        player.fade_out(60.0)                                    # a new fade replaces the running one
        await asyncio.sleep(0)
        assert old_fade.cancelled() and player.fade["seconds"] == 60.0
        assert player.cancel_fade()["fade"] is None
        session.stop_all(quantized=False)                        # stopped from a controller
        advance(session, 0.1)
        await asyncio.sleep(0.6)                                 # the next drift step notices
        return player.playing, [task.done() for task in player._tasks]

    playing, tasks_done = asyncio.run(scenario())
    assert playing is False and all(tasks_done)


def test_saving_keeps_the_mix_as_it_plays_and_loading_brings_it_back(tmp_path):
    from groovebox.control.editor import SetPadPan, SetPadRegion, SetPadVolume, SetSends

    player, _, editor = make_player(tmp_path)

    async def scenario():
        preset = await player.create("rain on a tin roof", seconds=5.0, seed=1)
        player.load(preset, play=False)
        editor.apply(SetPadVolume(48, 0.5))
        editor.apply(SetPadPan(48, -0.4))
        editor.apply(SetSends((0.7, 0.1, 0.0, 0.0), pad_index=48))
        editor.apply(SetPadRegion(48, 0.5, 3.0))
        player.set_drift(0, 0.6)
        player.save()
        player.load(preset, play=False)                  # the same dict; now read it back from disk
        editor.apply(SetPadVolume(48, 1.0))
        from groovebox.control.scenes import read_preset
        return player.load(read_preset(tmp_path, preset["sceneId"]), play=False)

    state = asyncio.run(scenario())
    pad = editor.project.pad_at(48)
    assert pad.volume == pytest.approx(0.5, abs=1e-3) and pad.pan == -0.4 and pad.sends[:2] == [0.7, 0.1]
    assert (pad.loop_start_offset_seconds, pad.loop_end_offset_seconds) == (0.5, 3.0)
    assert state["layers"][0]["drift"] == 0.6
