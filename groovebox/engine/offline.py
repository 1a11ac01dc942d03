"""Offline rendering: the live engine driven as fast as possible (export, ``groovebox render``, tests).

Runs on whichever thread calls it. Timed commands are posted just before the block that contains their
frame, exactly as a live control thread would, and the engine places them on their exact frame, so the
result is the same for every block size. The master limiter's look-ahead delay is trimmed off: output
frame N is engine (musical) frame N, so a launch quantized to bar 2 starts exactly on bar 2's frame.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from groovebox.engine.engine import Engine

__all__ = ["OfflineRenderer", "render_offline"]


class OfflineRenderer:
    """Renders consecutive stretches of a fresh engine's output; each call continues where the last ended."""

    def __init__(self, engine: Engine, block_frames: int) -> None:
        if not 1 <= block_frames <= engine.max_block_frames:
            raise ValueError(f"block_frames must be 1..{engine.max_block_frames}, got {block_frames}")
        self.engine = engine
        self.block_frames = block_frames
        self._discard = np.zeros((block_frames, 2), np.float32)

    def render(self, frames: int, commands: Iterable = ()) -> np.ndarray:
        """The next ``frames`` frames, float32 (frames, 2). ``commands`` carry ``at_frame``, sorted by it."""
        out = np.empty((frames, 2), np.float32)
        self.render_into(out, commands)
        return out

    def render_into(self, out: np.ndarray, commands: Iterable = ()) -> None:
        """Overwrite every frame of ``out`` (float32 (frames, 2), e.g. a slice of a whole song's buffer) with
        the next ``len(out)`` frames, as ``render`` does."""
        engine = self.engine
        frames = len(out)
        pending = iter(commands)
        upcoming = next(pending, None)
        done = 0
        while done < frames:
            priming = engine.frame < engine.latency_frames
            if priming:
                count = min(self.block_frames, engine.latency_frames - engine.frame)
                target = self._discard[:count]
            else:
                count = min(self.block_frames, frames - done)
                target = out[done:done + count]
            while upcoming is not None and upcoming.at_frame < engine.frame + count:
                engine.post(upcoming)
                upcoming = next(pending, None)
            engine.render(target, count)
            if not priming:
                done += count
        for command in ([upcoming] if upcoming is not None else []) + list(pending):
            engine.post(command)


def render_offline(engine: Engine, total_frames: int, block_frames: int, commands: Iterable = ()) -> np.ndarray:
    """Render the first ``total_frames`` frames of a fresh engine in blocks of ``block_frames``."""
    return OfflineRenderer(engine, block_frames).render(total_frames, commands)
