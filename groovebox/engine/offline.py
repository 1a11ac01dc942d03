"""Offline rendering: the live engine driven as fast as possible (export, ``groovebox render``, tests).

Runs on whichever thread calls it. Timed commands are posted just before the block that contains their
frame, exactly as a live control thread would, and the engine places them on their exact frame, so the
result is the same for every block size.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from groovebox.engine.engine import Engine

__all__ = ["render_offline"]


def render_offline(engine: Engine, total_frames: int, block_frames: int, commands: Iterable = ()) -> np.ndarray:
    """Render ``total_frames`` frames in blocks of ``block_frames``; returns float32 (total_frames, 2).

    ``commands`` must carry ``at_frame`` and be sorted by it; each is posted before the block it falls in.
    The master limiter's look-ahead delay is trimmed off, so (for a fresh engine) output frame N is engine frame N: a launch
    quantized to bar 2 starts exactly at ``round-up(bar length)`` in the result.
    """
    if not 1 <= block_frames <= engine.max_block_frames:
        raise ValueError(f"block_frames must be 1..{engine.max_block_frames}, got {block_frames}")
    latency = engine.latency_frames
    padded_frames = total_frames + latency
    out = np.zeros((padded_frames, 2), np.float32)
    pending = iter(commands)
    upcoming = next(pending, None)
    done = 0
    while done < padded_frames:
        frames = min(block_frames, padded_frames - done)
        while upcoming is not None and upcoming.at_frame < engine.frame + frames:
            engine.post(upcoming)
            upcoming = next(pending, None)
        engine.render(out[done:done + frames], frames)
        done += frames
    return out[latency:]
