"""Quantized launching is sample-exact for every grid value and block size."""

import math
import random
from fractions import Fraction

import numpy as np
import pytest
from conftest import SR, dc_audio, first_nonzero

from groovebox.engine import commands as c
from groovebox.engine import render_offline
from groovebox.engine.engine import DECLICK_FRAMES

STEP_BEATS = {
    c.Quantize.SIXTEENTH: Fraction(1, 4), c.Quantize.EIGHTH: Fraction(1, 2), c.Quantize.QUARTER: Fraction(1),
    c.Quantize.HALF: Fraction(2), c.Quantize.BAR: Fraction(4), c.Quantize.TWO_BARS: Fraction(8),
    c.Quantize.FOUR_BARS: Fraction(16),
}
BLOCKS = [32, 64, 256, 257, 1024]


def expected_grid_frame(pressed_at: int, tempo_bpm: Fraction, quantize: c.Quantize) -> int:
    """Exact arithmetic: the first frame at or after the first grid time >= the press."""
    if quantize == c.Quantize.OFF:
        return pressed_at
    step_frames = STEP_BEATS[quantize] * Fraction(60 * SR) / tempo_bpm
    k = math.floor(Fraction(pressed_at - 1) / step_frames) + 1
    return math.ceil(k * step_frames)


@pytest.mark.parametrize("block_frames", BLOCKS)
@pytest.mark.parametrize("quantize", list(c.Quantize))
def test_press_starts_on_next_grid_frame(make_engine, quantize, block_frames):
    rng = random.Random(f"{quantize}-{block_frames}")
    for tempo in (Fraction(120), Fraction(133), Fraction(975, 10)):
        pressed_at = rng.randrange(1, 3 * SR)
        engine = make_engine(tempo_bpm=float(tempo), quantize=quantize)
        engine.post(c.LoadPad(0, dc_audio(SR), float(tempo)))
        expected = expected_grid_frame(pressed_at, tempo, quantize)
        out = render_offline(engine, expected + 600, block_frames, [c.PressPad(0, at_frame=pressed_at)])
        assert first_nonzero(out) == expected, (float(tempo), pressed_at)


@pytest.mark.parametrize("block_frames", BLOCKS)
@pytest.mark.parametrize("quantize", [c.Quantize.SIXTEENTH, c.Quantize.QUARTER, c.Quantize.BAR])
def test_toggle_stops_on_next_grid_frame(make_engine, quantize, block_frames):
    tempo = Fraction(128)
    engine = make_engine(tempo_bpm=128.0, quantize=quantize)
    engine.post(c.LoadPad(0, dc_audio(4 * SR), 128.0))
    started = expected_grid_frame(100, tempo, quantize)
    second_press = started + 7777
    stop_frame = expected_grid_frame(second_press, tempo, quantize)
    presses = [c.PressPad(0, at_frame=100), c.PressPad(0, at_frame=second_press)]
    out = render_offline(engine, stop_frame + 2000, block_frames, presses)
    assert out[stop_frame - 1, 0] == pytest.approx(0.5)
    assert out[stop_frame, 0] < 0.5                      # the declick fade begins on the grid frame
    assert not out[stop_frame + DECLICK_FRAMES:].any()


@pytest.mark.parametrize("block_frames", BLOCKS)
def test_gate_stops_at_release(make_engine, block_frames):
    engine = make_engine(quantize=c.Quantize.QUARTER)
    engine.post(c.LoadPad(0, dc_audio(SR), 120.0, launch_mode=c.LaunchMode.GATE))
    actions = [c.PressPad(0, at_frame=5000), c.ReleasePad(0, at_frame=40001)]
    out = render_offline(engine, 50000, block_frames, actions)
    assert first_nonzero(out) == 24000
    assert out[40000, 0] == pytest.approx(0.5)
    assert out[40001, 0] < 0.5
    assert not out[40001 + DECLICK_FRAMES:].any()


def test_gate_released_before_launch_never_sounds(make_engine):
    engine = make_engine(quantize=c.Quantize.BAR)
    engine.post(c.LoadPad(0, dc_audio(SR), 120.0, launch_mode=c.LaunchMode.GATE))
    out = render_offline(engine, 3 * SR, 256, [c.PressPad(0, at_frame=100), c.ReleasePad(0, at_frame=2000)])
    assert not out.any()


def test_tempo_change_keeps_playing_pads_on_the_grid(make_engine):
    """A one-bar loop with a click at its start keeps clicking on every bar after a tempo change."""
    audio = np.zeros((96000, 2), np.float32)        # one bar at 120 BPM
    audio[0] = 1.0
    engine = make_engine(tempo_bpm=120.0, quantize=c.Quantize.BAR)
    engine.post(c.LoadPad(0, audio, 120.0))
    out = render_offline(engine, 8 * 96000, 256, [c.PressPad(0, at_frame=10), c.SetTempo(150.0, at_frame=150000)])
    clicks = np.flatnonzero(out[:, 0] > 0.5)
    bars = [96000] + [engine.clock.grid_frame(4.0 * bar) for bar in range(2, 8)]   # tempo changed in bar 2
    found = [bar for bar in bars if np.any(np.abs(clicks - bar) <= 1)]
    assert found == bars


def test_tempo_change_moves_a_queued_launch_to_the_new_grid(make_engine):
    engine = make_engine(tempo_bpm=120.0, quantize=c.Quantize.BAR)
    engine.post(c.LoadPad(0, dc_audio(SR), 120.0))
    commands = [c.PressPad(0, at_frame=50000), c.SetTempo(100.0, at_frame=60000)]
    out = render_offline(engine, 3 * SR, 256, commands)
    # beat at 60000 is 2.5; bar 2 (beat 4) is 1.5 beats later at 100 BPM = 43200 frames
    assert first_nonzero(out) == 60000 + 43200
