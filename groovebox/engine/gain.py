"""Per-pad stereo gain with click-free changes (audio thread, allocation-free while rendering).

A change glides linearly over ``GLIDE_FRAMES`` starting on the frame the change was applied; the glide
is defined on absolute frames, so it sounds the same whatever the block size. Gains are handed to the
mixer as a (frames, 2) float32 buffer because numpy allocates when it broadcasts a (2,) operand.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["GainRamp", "pan_gains", "GLIDE_FRAMES"]

GLIDE_FRAMES = 480    # 10 ms


def pan_gains(volume: float, pan: float) -> tuple[float, float]:
    """Constant-power pan normalised to unity at the centre: (left, right) gains."""
    angle = (min(1.0, max(-1.0, pan)) + 1.0) * math.pi / 4.0
    return volume * math.cos(angle) * math.sqrt(2.0), volume * math.sin(angle) * math.sqrt(2.0)


class GainRamp:
    """Current and target (left, right) gain of one voice, rendered per frame on demand."""

    __slots__ = ("_buffer", "_ramp", "start", "target", "glide_from", "glide_until", "glide_frames", "_stale")

    def __init__(self, max_block_frames: int) -> None:
        self._buffer = np.ones((max_block_frames, 2), np.float32)
        self._ramp = np.zeros(max_block_frames, np.float32)
        self.start = (1.0, 1.0)
        self.target = (1.0, 1.0)
        self.glide_from = 0
        self.glide_until = 0
        self.glide_frames = GLIDE_FRAMES
        self._stale = False

    def jump(self, gains: tuple[float, float]) -> None:
        """Use ``gains`` from now on, without a glide (a voice that is not sounding)."""
        self.start = self.target = gains
        self.glide_until = 0
        self._stale = True

    def glide(self, gains: tuple[float, float], at_frame: int, frames: int = GLIDE_FRAMES) -> None:
        """Move from the gain sounding at ``at_frame`` to ``gains`` over ``frames`` (``GLIDE_FRAMES``)."""
        self.start = self.at(at_frame)
        self.target = gains
        self.glide_from = at_frame
        self.glide_until = at_frame + frames
        self.glide_frames = frames

    def at(self, frame: int) -> tuple[float, float]:
        """The (left, right) gain at ``frame``."""
        if frame >= self.glide_until:
            return self.target
        t = max(0.0, (frame - self.glide_from) / self.glide_frames)
        return (self.start[0] + (self.target[0] - self.start[0]) * t,
                self.start[1] + (self.target[1] - self.start[1]) * t)

    def frames(self, at_frame: int, n: int, arange: np.ndarray) -> np.ndarray:
        """Per-frame gains for frames ``at_frame .. at_frame+n-1``: float32 (n, 2). ``arange`` is float32 0, 1, 2, ..."""
        if at_frame < self.glide_until:
            ramp = self._ramp[:n]
            np.add(arange[:n], at_frame - self.glide_from, out=ramp)
            np.multiply(ramp, 1.0 / self.glide_frames, out=ramp)
            np.minimum(ramp, 1.0, out=ramp)
            np.maximum(ramp, 0.0, out=ramp)
            settled = max(0, self.glide_until - at_frame)
            for channel in (0, 1):
                column = self._buffer[:n, channel]
                np.multiply(ramp, self.target[channel] - self.start[channel], out=column)
                np.add(column, self.start[channel], out=column)
                column[settled:] = self.target[channel]     # exactly the target, however blocks are cut
            self._stale = True
        elif self._stale:
            self._buffer[:, 0] = self.target[0]
            self._buffer[:, 1] = self.target[1]
            self._stale = False
        return self._buffer[:n]
