"""Reading loop audio at any playback rate without allocating (audio thread).

A ``Playhead`` holds where a voice reads: a region of a float32 (frames, 2) buffer, an anchor (the output
frame at which the read position was ``anchor_pos``) and a rate (source frames per output frame). The
position at any output frame is computed from the anchor, never accumulated, so the samples produced do
not depend on how the output is cut into blocks. At rate 1 with an integer anchor the read is a plain copy;
otherwise (varispeed while the tempo differs from the loop's native tempo) it interpolates linearly.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["Scratch", "Playhead"]


class Scratch:
    """Preallocated work buffers shared by every voice of one engine (used one voice at a time)."""

    def __init__(self, max_block_frames: int) -> None:
        n = max_block_frames
        self.arange = np.arange(n, dtype=np.float64)
        self.arange32 = np.arange(n, dtype=np.float32)
        self.pos = np.zeros(n, np.float64)
        self.floor = np.zeros(n, np.float64)
        self.frac = np.zeros((n, 2), np.float32)   # same shape as the audio: broadcasting would allocate
        self.i0 = np.zeros(n, np.int64)
        self.i1 = np.zeros(n, np.int64)
        self.voice = np.zeros((n, 2), np.float32)
        self.other = np.zeros((n, 2), np.float32)


class Playhead:
    """Read state of one playing sound. Mutated only on the audio thread."""

    __slots__ = ("audio", "region_start", "region_frames", "looping", "anchor_frame", "anchor_pos", "rate")

    def __init__(self) -> None:
        self.audio: np.ndarray | None = None
        self.region_start = 0
        self.region_frames = 0
        self.looping = True
        self.anchor_frame = 0
        self.anchor_pos = 0.0
        self.rate = 1.0

    def start(self, audio: np.ndarray, region_start: int, region_frames: int, looping: bool, at_frame: int,
              rate: float) -> None:
        """Begin reading the region from its first frame at output frame ``at_frame``."""
        self.audio = audio
        self.region_start = region_start
        self.region_frames = region_frames
        self.looping = looping
        self.anchor_frame = at_frame
        self.anchor_pos = 0.0
        self.rate = rate

    def copy_from(self, other: Playhead) -> None:
        self.audio = other.audio
        self.region_start = other.region_start
        self.region_frames = other.region_frames
        self.looping = other.looping
        self.anchor_frame = other.anchor_frame
        self.anchor_pos = other.anchor_pos
        self.rate = other.rate

    def position_at(self, at_frame: int) -> float:
        """Read position (frames into the region, wrapped when looping) at output frame ``at_frame``."""
        pos = self.anchor_pos + (at_frame - self.anchor_frame) * self.rate
        return math.fmod(pos, self.region_frames) if self.looping else pos

    def reanchor(self, at_frame: int, rate: float) -> None:
        """Keep the current position at ``at_frame`` and continue at ``rate`` from there."""
        self.anchor_pos = self.position_at(at_frame)
        self.anchor_frame = at_frame
        self.rate = rate

    def end_frame(self) -> int:
        """For a non-looping read: the first output frame whose position is past the region."""
        remaining = (self.region_frames - self.anchor_pos) / self.rate
        return self.anchor_frame + max(0, math.ceil(remaining - 1e-9))

    def read(self, dst: np.ndarray, at_frame: int, n: int, s: Scratch) -> None:
        """Fill ``dst[:n]`` with the samples for output frames ``at_frame .. at_frame+n-1``."""
        if self.rate == 1.0 and self.anchor_pos.is_integer():
            self._copy(dst, at_frame, n)
        else:
            self._interpolate(dst, at_frame, n, s)

    def _copy(self, dst: np.ndarray, at_frame: int, n: int) -> None:
        length = self.region_frames
        pos = int(self.anchor_pos) + (at_frame - self.anchor_frame)
        if self.looping:
            pos %= length
        done = 0
        while done < n:
            if pos >= length:
                if not self.looping:
                    dst[done:n] = 0.0
                    return
                pos = 0
            count = min(n - done, length - pos)
            start = self.region_start + pos
            dst[done:done + count] = self.audio[start:start + count]
            done += count
            pos += count

    def _interpolate(self, dst: np.ndarray, at_frame: int, n: int, s: Scratch) -> None:
        length = self.region_frames
        pos, floor, i0, i1 = s.pos[:n], s.floor[:n], s.i0[:n], s.i1[:n]
        np.add(s.arange[:n], at_frame - self.anchor_frame, out=pos)    # exact integer offsets
        np.multiply(pos, self.rate, out=pos)
        np.add(pos, self.anchor_pos, out=pos)
        if self.looping:
            np.fmod(pos, length, out=pos)
        np.floor(pos, out=floor)
        np.subtract(pos, floor, out=pos)                              # pos is now the fraction
        np.copyto(s.frac[:n, 0], pos, casting="same_kind")
        np.copyto(s.frac[:n, 1], pos, casting="same_kind")
        np.copyto(i0, floor, casting="unsafe")
        np.add(i0, 1, out=i1)
        if self.looping:
            np.remainder(i1, length, out=i1)                          # the last frame blends into the first
        else:
            np.minimum(i0, length - 1, out=i0)
            np.minimum(i1, length - 1, out=i1)
        np.add(i0, self.region_start, out=i0)
        np.add(i1, self.region_start, out=i1)
        first, second = dst[:n], s.other[:n]
        np.take(self.audio, i0, axis=0, out=first, mode="clip")
        np.take(self.audio, i1, axis=0, out=second, mode="clip")
        np.subtract(second, first, out=second)
        np.multiply(second, s.frac[:n], out=second)
        np.add(first, second, out=first)
        if not self.looping:
            first[self._frames_before_end(at_frame, n):] = 0.0

    def _frames_before_end(self, at_frame: int, n: int) -> int:
        """How many of the ``n`` frames from ``at_frame`` still lie inside a non-looping region."""
        position = self.anchor_pos + (at_frame - self.anchor_frame) * self.rate
        return max(0, min(n, math.ceil((self.region_frames - position) / self.rate - 1e-9)))
