"""A LoadPad timed for a frame (a time-stretched loop swapped in on a bar line): exact, crossfaded, and
dropped when the pad got other audio meanwhile."""

import numpy as np

from groovebox.engine import Engine
from groovebox.engine import commands as c
from groovebox.engine.events import BufferReleased


def playing_engine(audio):
    engine = Engine()
    engine.post(c.SetQuantize(c.Quantize.OFF))
    engine.post(c.LoadPad(0, audio, 120.0))
    engine.post(c.PressPad(0))
    return engine


def render(engine, frames):
    out = np.zeros((frames, 2), np.float32)
    engine.render(out, frames)
    return out


def test_a_timed_swap_lands_on_its_frame_and_crossfades_without_a_level_step():
    first = np.full((48000, 2), 0.25, np.float32)
    engine = playing_engine(first)
    render(engine, 10000)
    engine.post(c.LoadPad(0, np.full((40000, 2), 0.25, np.float32), 144.0, at_frame=20000, only_replacing=first))
    out = render(engine, 20000)
    assert engine.pads[0].playhead.anchor_frame == 20000 and len(engine.pads[0].audio) == 40000
    level = out[2000:, 0]                                    # after the start glide; the swap is at 10000
    assert np.abs(level - level[0]).max() <= 0.01 * level[0]     # a linear crossfade: no step, no dip


def test_a_swap_for_audio_the_pad_no_longer_holds_is_dropped():
    first = np.full((48000, 2), 0.25, np.float32)
    engine = playing_engine(first)
    stale = np.full((40000, 2), 0.5, np.float32)
    engine.post(c.LoadPad(0, stale, 144.0, at_frame=9000, only_replacing=first))
    render(engine, 4096)
    replacement = np.full((24000, 2), 0.1, np.float32)
    engine.post(c.LoadPad(0, replacement, 120.0))              # the performer loads another loop first
    render(engine, 8192)
    assert engine.pads[0].audio is replacement
    released = [event.audio for event in engine.poll_events() if isinstance(event, BufferReleased)]
    assert any(audio is stale for audio in released)
