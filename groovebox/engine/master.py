"""Master bus: volume, a look-ahead brick-wall limiter and meters (audio thread, allocation-free).

The limiter works on fixed 32-frame chunks aligned to the absolute frame clock, so its output does not
depend on the render block size. It delays the signal by two chunks (64 frames, 1.3 ms at 48 kHz) so that
the gain at every chunk boundary can already respect the peaks of the chunks on both sides of it::

    input chunks  |  k-1  |   k   |  k+1  |
    gain points   G(k-1)  G(k)    G(k+1)      G(k) <= ceiling / max(peak(k-1), peak(k))

Within a chunk the gain moves linearly between its two boundary points, both of which respect the chunk's
peak, so no sample can exceed the ceiling; release is exponential (``release_s``). The master volume
moves towards its target by at most ``_VOLUME_STEP`` per chunk, so volume changes are click-free.

Per block, the per-frame work (chunk peaks, the per-frame gain ramp, the gain multiply) is a fixed handful of
ufunc calls on preallocated buffers; only the scalar gain recursion runs once per chunk in Python. The gain
arithmetic is float64 rounded to float32 at fixed points, so the result is identical for every block size.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["MasterChain", "CHUNK_FRAMES", "LATENCY_FRAMES"]

CHUNK_FRAMES = 32
LATENCY_FRAMES = 2 * CHUNK_FRAMES
_VOLUME_STEP = 0.02
_TINY = 1e-12


class MasterChain:
    """Applies volume and limiting to the mixed block, writes peak/RMS meters."""

    def __init__(self, sample_rate: int, max_block_frames: int, ceiling_db: float = -0.3,
                 release_s: float = 0.15, volume: float = 1.0) -> None:
        if ceiling_db >= 0.0:
            raise ValueError("the limiter ceiling must be below 0 dBFS")
        chunks = -(-(max_block_frames + 2 * LATENCY_FRAMES) // CHUNK_FRAMES)
        self._ring_frames = chunks * CHUNK_FRAMES
        self._history = np.zeros((self._ring_frames, 2), np.float32)
        self._ring_chunks = chunks + 4
        self._gain_points = np.full(self._ring_chunks, volume, np.float64)
        self._abs = np.zeros((max_block_frames, 2), np.float32)
        self._ramp = np.arange(CHUNK_FRAMES, dtype=np.float32) / CHUNK_FRAMES
        n = max_block_frames
        self._arange = np.arange(n, dtype=np.int64)
        self._index = np.zeros(n, np.int64)
        self._start = np.zeros(n, np.float64)
        self._step = np.zeros(n, np.float64)
        self._ramp32 = np.zeros(n, np.float32)
        self._ramp64 = np.zeros(n, np.float64)
        self._gain = np.zeros(n, np.float32)
        self._gain2 = np.zeros((n, 2), np.float32)     # (frames, 2): numpy allocates when it broadcasts
        self._peaks = np.zeros(n // CHUNK_FRAMES + 2, np.float32)
        self.ceiling = 10.0 ** (ceiling_db / 20.0)
        self._release = 1.0 - math.exp(-CHUNK_FRAMES / (release_s * sample_rate))
        self.volume_target = volume
        self._volume = volume
        self._limit = 1.0
        self._in_frame = 0
        self._chunk_peak = 0.0
        self._last_peak = 0.0
        self.peak = np.zeros(2, np.float32)
        self.rms = np.zeros(2, np.float32)

    @property
    def gain_reduction_db(self) -> float:
        return 20.0 * math.log10(max(self._limit, _TINY))

    def process(self, mix: np.ndarray, out: np.ndarray, frames: int) -> None:
        """Consume ``mix[:frames]`` and write the limited, delayed signal to ``out[:frames]``."""
        out_frame = self._in_frame - LATENCY_FRAMES
        self._take_input(mix, frames)
        self._write_output(out, out_frame, frames)
        self._meter(out, frames)

    def _take_input(self, mix: np.ndarray, frames: int) -> None:
        self._write_history(mix, frames)
        magnitude = self._abs[:frames]
        np.abs(mix[:frames], out=magnitude)
        head = min(frames, -self._in_frame % CHUNK_FRAMES)
        if head:                                                   # finish the open chunk
            self._chunk_peak = max(self._chunk_peak, float(magnitude[:head].max()))
            self._in_frame += head
            if self._in_frame % CHUNK_FRAMES == 0:
                self._close_chunk(self._in_frame // CHUNK_FRAMES - 1)
        whole = (frames - head) // CHUNK_FRAMES
        if whole:                                                  # whole chunks: one reduction for all
            peaks = self._peaks[:whole]
            block = magnitude[head:head + whole * CHUNK_FRAMES].reshape(whole, 2 * CHUNK_FRAMES)
            np.maximum.reduce(block, axis=1, out=peaks)
            first = self._in_frame // CHUNK_FRAMES
            for k in range(whole):
                self._chunk_peak = max(self._chunk_peak, float(peaks[k]))
                self._close_chunk(first + k)
            self._in_frame += whole * CHUNK_FRAMES
        rest = frames - head - whole * CHUNK_FRAMES
        if rest:                                                   # open the next chunk
            self._chunk_peak = max(self._chunk_peak, float(magnitude[frames - rest:frames].max()))
            self._in_frame += rest

    def _write_history(self, mix: np.ndarray, frames: int) -> None:
        ring = self._in_frame % self._ring_frames
        first = min(frames, self._ring_frames - ring)
        self._history[ring:ring + first] = mix[:first]
        if first < frames:
            self._history[:frames - first] = mix[first:frames]

    def _close_chunk(self, chunk: int) -> None:
        """Chunk ``chunk`` is complete: fix the gain point at its start."""
        peak = max(self._chunk_peak, self._last_peak)
        self._last_peak = self._chunk_peak
        self._chunk_peak = 0.0
        step = self.volume_target - self._volume
        self._volume += max(-_VOLUME_STEP, min(_VOLUME_STEP, step))
        released = self._limit + (1.0 - self._limit) * self._release
        need = self.ceiling / max(peak * self._volume, _TINY)
        self._limit = min(1.0, need, released)
        self._gain_points[chunk % self._ring_chunks] = self._volume * self._limit

    def _write_output(self, out: np.ndarray, out_frame: int, frames: int) -> None:
        silent = min(frames, max(0, -out_frame))
        if silent:
            out[:silent].fill(0.0)
        n = frames - silent
        if n:
            first_frame = out_frame + silent
            gain = self._gains(first_frame, n)
            target = out[silent:frames]
            ring = first_frame % self._ring_frames
            first = min(n, self._ring_frames - ring)
            np.multiply(self._history[ring:ring + first], gain[:first], out=target[:first])
            if first < n:
                np.multiply(self._history[:n - first], gain[first:n], out=target[first:n])
        np.clip(out[:frames], -1.0, 1.0, out=out[:frames])

    def _gains(self, first_frame: int, n: int) -> np.ndarray:
        """Per-frame gain (n, 2) float32: ``ramp * (G(k+1) - G(k)) + G(k)`` for each frame's chunk k."""
        index, start, step, ramp = self._index[:n], self._start[:n], self._step[:n], self._ramp32[:n]
        np.add(self._arange[:n], first_frame, out=index)
        np.remainder(index, CHUNK_FRAMES, out=index)
        np.take(self._ramp, index, out=ramp, mode="clip")                  # position inside the chunk
        np.add(self._arange[:n], first_frame, out=index)
        np.floor_divide(index, CHUNK_FRAMES, out=index)
        np.remainder(index, self._ring_chunks, out=index)
        np.take(self._gain_points, index, out=start, mode="clip")          # G(k)
        np.add(index, 1, out=index)
        np.remainder(index, self._ring_chunks, out=index)
        np.take(self._gain_points, index, out=step, mode="clip")           # G(k + 1)
        np.subtract(step, start, out=step)
        gain = self._gain[:n]
        np.copyto(self._ramp64[:n], ramp)                                   # mixed dtypes would buffer a copy
        np.multiply(self._ramp64[:n], step, out=step)
        np.copyto(gain, step, casting="same_kind")                          # rounded to float32 ...
        np.copyto(step, gain)
        np.add(step, start, out=step)                                       # ... plus G(k) in float64 ...
        np.copyto(gain, step, casting="same_kind")                          # ... rounded again
        both = self._gain2[:n]
        both[:, 0] = gain
        both[:, 1] = gain
        return both

    def _meter(self, out: np.ndarray, frames: int) -> None:
        magnitude = self._abs[:frames]
        np.abs(out[:frames], out=magnitude)
        magnitude.max(axis=0, out=self.peak)
        np.square(out[:frames], out=magnitude)
        magnitude.mean(axis=0, out=self.rms)
        np.sqrt(self.rms, out=self.rms)
