"""Master bus: volume, a look-ahead brick-wall limiter and meters (audio thread, allocation-free).

The limiter works on fixed 32-frame chunks aligned to the absolute frame clock, so its output does not
depend on the render block size. It delays the signal by two chunks (64 frames, 1.3 ms at 48 kHz) so that
the gain at every chunk boundary can already respect the peaks of the chunks on both sides of it::

    input chunks  |  k-1  |   k   |  k+1  |
    gain points   G(k-1)  G(k)    G(k+1)      G(k) <= ceiling / max(peak(k-1), peak(k))

Within a chunk the gain moves linearly between its two boundary points, both of which respect the chunk's
peak, so no sample can exceed the ceiling; release is exponential (``release_s``). The master volume
moves towards its target by at most ``_VOLUME_STEP`` per chunk, so volume changes are click-free.
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
        # (frames, 2) rather than (frames, 1): numpy allocates when it broadcasts
        self._gain_column = np.zeros((CHUNK_FRAMES, 2), np.float32)
        self._ramp = np.repeat(np.arange(CHUNK_FRAMES, dtype=np.float32)[:, None] / CHUNK_FRAMES, 2, axis=1)
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
        done = 0
        while done < frames:
            offset = self._in_frame % CHUNK_FRAMES
            count = min(frames - done, CHUNK_FRAMES - offset)
            segment = mix[done:done + count]
            ring = self._in_frame % self._ring_frames
            self._history[ring:ring + count] = segment
            magnitude = self._abs[:count]
            np.abs(segment, out=magnitude)
            self._chunk_peak = max(self._chunk_peak, float(magnitude.max()))
            done += count
            self._in_frame += count
            if self._in_frame % CHUNK_FRAMES == 0:
                self._close_chunk(self._in_frame // CHUNK_FRAMES - 1)

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
        done = 0
        while done < frames:
            frame = out_frame + done
            offset = frame % CHUNK_FRAMES
            count = min(frames - done, CHUNK_FRAMES - offset)
            target = out[done:done + count]
            if frame < 0:
                target.fill(0.0)
            else:
                chunk = frame // CHUNK_FRAMES
                start_gain = self._gain_points[chunk % self._ring_chunks]
                end_gain = self._gain_points[(chunk + 1) % self._ring_chunks]
                gain = self._gain_column[:count]
                np.multiply(self._ramp[offset:offset + count], end_gain - start_gain, out=gain)
                np.add(gain, start_gain, out=gain)
                ring = frame % self._ring_frames
                np.multiply(self._history[ring:ring + count], gain, out=target)
            done += count
        np.clip(out[:frames], -1.0, 1.0, out=out[:frames])

    def _meter(self, out: np.ndarray, frames: int) -> None:
        magnitude = self._abs[:frames]
        np.abs(out[:frames], out=magnitude)
        magnitude.max(axis=0, out=self.peak)
        np.square(out[:frames], out=magnitude)
        magnitude.mean(axis=0, out=self.rms)
        np.sqrt(self.rms, out=self.rms)
