"""control/stretcher.py with a real engine (rendered offline) and the real worker process."""

import time

import numpy as np
import pytest

from groovebox.control.stretcher import Stretcher
from groovebox.engine import Engine, Status
from groovebox.engine import commands as c
from groovebox.engine.offline import OfflineRenderer
from groovebox.library.stretch import StretchCache

SR = 48000
BLOCK = 256


def click_loop(bpm: float, bars: int = 1) -> np.ndarray:
    """Short decaying clicks on every beat: a loop whose beats are easy to find."""
    frames = round(bars * 4 * 60 / bpm * SR)
    audio = np.zeros((frames, 2), np.float32)
    hit = (0.5 * np.exp(-np.arange(2400) / 300) * np.sin(2 * np.pi * 200 * np.arange(2400) / SR)).astype(np.float32)
    for beat in range(bars * 4):
        at = round(beat * 60 / bpm * SR)
        audio[at:at + len(hit)] += hit[:frames - at, None]
    return audio


def render_until(renderer, stretcher, predicate, limit_blocks=4000):
    out = []
    for _ in range(limit_blocks):
        out.append(renderer.render(BLOCK))
        stretcher.poll()
        if predicate():
            return np.concatenate(out)
        time.sleep(0.002)
    raise AssertionError("condition not reached")


@pytest.fixture
def rig(tmp_path):
    engine = Engine(tempo_bpm=120.0)
    stretcher = Stretcher(engine.post, StretchCache(tmp_path), tempo_bpm=120.0,
                          beat_now=lambda: float(engine.status[Status.BEAT]), beat_frame=engine.clock.grid_frame)
    yield engine, stretcher
    stretcher.close()


def test_tempo_change_swaps_stretch_at_bar_then_cache(rig):
    engine, stretcher = rig
    loop = click_loop(120.0)
    renderer = OfflineRenderer(engine, BLOCK)
    stretcher.post(c.LoadPad(0, loop, 120.0, volume=0.8))
    stretcher.post(c.PressPad(0))
    renderer.render(SR)
    stretcher.post(c.SetTempo(100.0))
    assert not stretcher.poll()
    rendered = render_until(renderer, stretcher, lambda: engine.pads[0].native_bpm == 100.0)
    pad = engine.pads[0]
    assert len(pad.audio) == round(len(loop) * 120 / 100) and pad.playing
    assert pad.playhead.rate == 1.0
    swap_frame = pad.playhead.anchor_frame                 # where the new audio took over
    assert swap_frame == engine.clock.grid_frame(round(engine.clock.beat_at(swap_frame)))
    assert round(engine.clock.beat_at(swap_frame)) % 4 == 0  # exactly on a bar line
    # no discontinuity: the largest step around the swap is no bigger than the loop's own click onsets
    steps = np.abs(np.diff(rendered[:, 0]))
    around = steps[-3 * BLOCK:]
    assert around.max() <= steps.max() * 1.01
    # and the beats keep landing on the grid after the swap
    after = renderer.render(round(4 * 60 / 100 * SR))
    onsets = np.flatnonzero(np.abs(after[:, 0]) > 0.2)
    first = onsets[0] + engine.frame - len(after)
    assert abs((engine.clock.beat_at(first) + 1e-3) % 1.0) < 0.02
    # back to 120: the original audio; then 100 again: from the cache, no worker round trip
    stretcher.post(c.SetTempo(120.0))
    renderer.render(BLOCK)
    assert engine.pads[0].native_bpm == 120.0 and engine.pads[0].audio is loop
    stretcher.post(c.SetTempo(100.0))
    assert not stretcher._pending and stretcher.busy       # ready from the cache at once
    render_until(renderer, stretcher, lambda: engine.pads[0].native_bpm == 100.0, limit_blocks=2000)
