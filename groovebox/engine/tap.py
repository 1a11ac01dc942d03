"""A tap on the master output: the audio thread copies every rendered block into a ring that the control
thread drains (recording the live mix to a file).

Single producer (``write``, audio thread), single consumer (``read``, control thread), no locks: the
producer advances ``written`` after copying and the consumer advances ``read_frames`` after copying; both
are Python ints, swapped atomically under the GIL. When the consumer falls a whole ring behind, the oldest
audio is overwritten and ``read`` reports the frames lost (the recording has a gap, the audio never waits).
"""

from __future__ import annotations

import numpy as np

__all__ = ["MasterTap"]


class MasterTap:
    """A ring of ``frames`` stereo float32 frames."""

    def __init__(self, frames: int) -> None:
        self.ring = np.zeros((frames, 2), np.float32)
        self.written = 0          # frames written since the tap started (audio thread)
        self.read_frames = 0      # frames taken by ``read`` (control thread)

    def write(self, block: np.ndarray, frames: int) -> None:
        """Append ``block[:frames]``; audio thread, allocation-free."""
        size = len(self.ring)
        start = self.written % size
        first = min(frames, size - start)
        self.ring[start:start + first] = block[:first]
        if first < frames:
            self.ring[:frames - first] = block[first:frames]
        self.written += frames

    def read(self) -> tuple[np.ndarray, int]:
        """(the frames written since the last read, a copy; how many frames were lost before them)."""
        written, size = self.written, len(self.ring)
        lost = max(0, written - self.read_frames - size)
        first = self.read_frames + lost
        count = written - first
        start = first % size
        if start + count <= size:
            audio = self.ring[start:start + count].copy()
        else:
            audio = np.concatenate([self.ring[start:], self.ring[:count - (size - start)]])
        self.read_frames = written
        return audio, lost
