"""The master chain's long-block shortcuts (steady state, flat gain) give exactly the per-chunk recursion's
output, and an engine without meters renders the same audio."""

import numpy as np
import pytest
from conftest import SR, dc_audio

from groovebox.engine import Engine, Status, render_offline
from groovebox.engine import commands as c
from groovebox.engine.master import MasterChain

SCALAR_BLOCK = 96                     # 3 chunks: below the shortcut's threshold, every chunk in Python


def bursts(frames: int, seed: int) -> np.ndarray:
    """Quiet noise with loud bursts: the limiter clamps, releases, and settles a few ulps below 1.0."""
    rng = np.random.default_rng(seed)
    audio = 0.3 * rng.uniform(-1, 1, (frames, 2))
    for start in (30011, 60000, 61500, 400000):
        audio[start:start + 2000] *= 6.0
    return audio.astype(np.float32)


def process(mix: np.ndarray, block_frames: int, volumes: dict | None = None) -> np.ndarray:
    chain = MasterChain(SR, 4096, volume=0.8)
    out = np.empty_like(mix)
    for start in range(0, len(mix), block_frames):
        if volumes and start in volumes:
            chain.volume_target = volumes[start]
        n = min(block_frames, len(mix) - start)
        chain.process(mix[start:start + n], out[start:start + n], n)
    return out


def count_recursion_chunks(monkeypatch) -> list:
    """How many chunks go through the one-at-a-time recursion (the rest took the steady-state shortcut)."""
    chunks = [0]
    close = MasterChain._close_chunks

    def counted(self, first, peaks, start):
        chunks[0] += len(peaks) - start
        close(self, first, peaks, start)
    monkeypatch.setattr(MasterChain, "_close_chunks", counted)
    return chunks


@pytest.mark.parametrize("block_frames", [1000, 2048, 4096])
def test_long_blocks_limit_exactly_like_the_per_chunk_recursion(block_frames, monkeypatch):
    mix = bursts(480000, 1)
    expected = process(mix, SCALAR_BLOCK)
    chunks = count_recursion_chunks(monkeypatch)
    out = process(mix, block_frames)
    assert 0.9 < np.abs(out).max() <= 10 ** (-0.3 / 20) + 1e-6                      # it did limit
    assert 0 < chunks[0] < len(mix) // 32 * 0.9                  # both the recursion and the shortcut ran
    np.testing.assert_array_equal(out, expected)


def test_volume_moves_are_exact_in_long_blocks():
    mix = bursts(200000, 2)
    volumes = {8192: 0.3, 16384: 1.0, 4096 * 20: 0.5}
    np.testing.assert_array_equal(process(mix, 4096, volumes), process(mix, 64, volumes))


def test_non_finite_input_takes_the_per_chunk_path():
    mix = bursts(50000, 3)
    mix[20000, 0] = np.inf
    with np.errstate(invalid="ignore"):                      # inf * gain 0 is NaN, on both paths
        np.testing.assert_array_equal(process(mix, 4096), process(mix, SCALAR_BLOCK))


def test_an_engine_without_meters_renders_the_same_audio():
    outs, peaks = [], []
    for meters in (True, False):
        engine = Engine(sample_rate=SR, max_block_frames=2048, meters=meters)
        engine.post(c.SetQuantize(c.Quantize.OFF))
        engine.post(c.LoadPad(0, dc_audio(SR, 0.5), 120.0, volume=1.0))
        outs.append(render_offline(engine, 20000, 2048, [c.PressPad(0, at_frame=100)]))
        peaks.append(engine.status[Status.PEAK_L])
    np.testing.assert_array_equal(outs[0], outs[1])
    assert peaks == [pytest.approx(0.5), 0.0]
