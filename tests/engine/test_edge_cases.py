"""Edge cases found in review: same-frame ordering, one-shot ends, bad commands, odd block sizes."""

import math

import numpy as np
import pytest
from conftest import SR, dc_audio, first_nonzero

from groovebox.engine import PadState, PadStateChanged, render_offline
from groovebox.engine import commands as c


@pytest.mark.parametrize("block_frames", [128, 256, 333, 512, 1024])
def test_a_press_on_the_frame_a_stop_is_due_is_block_independent(make_engine, block_frames):
    def render(block):
        engine = make_engine(quantize=c.Quantize.BAR)
        engine.post(c.LoadPad(0, np.linspace(-0.5, 0.5, 30000, dtype=np.float32).repeat(2).reshape(-1, 2), 120.0))
        presses = [c.PressPad(0, at_frame=0), c.PressPad(0, at_frame=1000), c.PressPad(0, at_frame=96000)]
        return render_offline(engine, 3 * 96000, block, presses)
    np.testing.assert_array_equal(render(block_frames), render(256))


def test_a_quantized_stop_does_not_outlast_a_one_shots_own_end(make_engine):
    engine = make_engine(tempo_bpm=100.0, quantize=c.Quantize.BAR)
    engine.post(c.LoadPad(0, dc_audio(4800), 120.0, launch_mode=c.LaunchMode.ONE_SHOT, volume=1.0))
    out = render_offline(engine, 150000, 256, [c.PressPad(0, at_frame=0), c.StopPad(0, at_frame=10)])
    assert np.count_nonzero(out[:, 0]) == 5759                 # 4800 frames at 120 BPM, varisped to 100 BPM,
    assert not out[5759:].any()                                # the last frame of the end fade is 0
    states = [e.state for e in engine.poll_events() if isinstance(e, PadStateChanged)]
    assert states[-1] == PadState.LOADED


def test_reloading_a_playing_one_shot_as_a_loop_keeps_it_looping(make_engine):
    engine = make_engine(quantize=c.Quantize.OFF)
    engine.post(c.LoadPad(0, dc_audio(24000), 120.0, launch_mode=c.LaunchMode.ONE_SHOT, volume=1.0))
    render_offline(engine, 1000, 256, [c.PressPad(0, at_frame=0)])
    engine.post(c.LoadPad(0, dc_audio(24000), 120.0, launch_mode=c.LaunchMode.TOGGLE, volume=1.0))
    out = np.zeros((48000, 2), np.float32)
    engine.render(out, 48000)
    assert out[30000:, 0].min() > 0.4                          # still sounding past the old one-shot end


@pytest.mark.parametrize("command", [
    c.SetTempo(0.0), c.SetTempo(math.nan), c.SetQuantize(99), c.SetMaster(math.nan), c.Locate(math.inf),
    c.PressPad(0, velocity=2.0), c.SetPadMix(0, volume=math.nan, pan=0.0), c.PressPad(64), c.PressPad(0, at_frame=-5),
    c.LoadPad(0, np.zeros((10, 2), np.float32), native_bpm=0.0),
    c.LoadPad(0, np.zeros((10, 2), np.float32), 120.0, launch_mode=9),
    c.LoadPad(0, np.zeros((10, 2), np.float32), 120.0, quantize=42),
    c.LoadPad(0, np.zeros((10, 2), np.float32), 120.0, volume=math.nan),
])
def test_bad_commands_are_refused_on_the_control_thread(make_engine, command):
    engine = make_engine()
    with pytest.raises(ValueError):
        engine.post(command)


def test_empty_and_oversized_blocks_render(make_engine):
    engine = make_engine(quantize=c.Quantize.OFF)
    engine.post(c.LoadPad(0, dc_audio(SR), 120.0, volume=1.0))
    engine.post(c.PressPad(0))
    out = np.zeros((5000, 2), np.float32)
    engine.render(out, 0)
    engine.render(out, 5000)                                   # more than max_block_frames (2048)
    assert engine.frame == 5000
    assert first_nonzero(out) == engine.latency_frames


def test_a_tempo_change_in_the_middle_of_a_click_lets_it_finish(make_engine):
    def render(commands):
        engine = make_engine(tempo_bpm=120.0)
        engine.post(c.SetMetronome(True, 1.0))
        return render_offline(engine, 30000, 256, commands)
    steady = render([])
    changed = render([c.SetTempo(90.0, at_frame=24500)])
    np.testing.assert_array_equal(changed[:24000 + 1440], steady[:24000 + 1440])
    assert not changed[24000 + 1440:30000].any()               # next click comes later at 90 BPM


def test_locate_moves_playing_loops_with_the_grid(make_engine):
    """A one-bar loop with a click on its first frame keeps clicking on bar lines after a locate."""
    audio = np.zeros((96000, 2), np.float32)
    audio[0] = 1.0
    engine = make_engine(quantize=c.Quantize.OFF)
    engine.post(c.LoadPad(0, audio, 120.0, volume=1.0))
    out = render_offline(engine, 4 * 96000, 256, [c.PressPad(0, at_frame=0), c.Locate(0.0, at_frame=130000)])
    clicks = np.flatnonzero(out[:, 0] > 0.5)
    assert list(clicks) == [0, 96000, 130000, 226000, 322000]   # bar 1 again at 130000, then every bar
