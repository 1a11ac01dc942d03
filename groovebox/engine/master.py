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

Two shortcuts give exactly the same numbers as the per-chunk recursion, and make long blocks (offline renders)
cheap:
- Steady state. With the volume at its target and the limiter's release at a fixed point (fully released, or
  stuck a few ulps below 1.0 where ``limit + (1 - limit) * release`` rounds back to ``limit``), a chunk whose
  ``need`` is not below the current limit leaves every state variable as it was and writes the same gain
  point. Blocks of at least ``_VECTOR_CHUNKS`` chunks compute every chunk's ``need`` with ufuncs (the same
  float64 operations), write the gain points up to the first chunk that would limit, and leave the rest to
  the scalar recursion. Short live blocks (128 frames = 4 chunks) keep the plain loop, which is faster there.
- Flat gain. ``_flat_from`` is the first chunk since which every gain point has been ``_flat_gain``; output
  frames that only use those points get ``float32(G)`` (``ramp * (G - G) + G`` rounds to exactly that), so the
  history is multiplied by one float32 scalar instead of a per-frame ramp.

``metering`` off (offline renders that nobody watches) skips the peak/RMS meters; the audio is unchanged.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["MasterChain", "CHUNK_FRAMES", "LATENCY_FRAMES"]

CHUNK_FRAMES = 32
LATENCY_FRAMES = 2 * CHUNK_FRAMES
_VOLUME_STEP = 0.02
_TINY = 1e-12
_VECTOR_CHUNKS = 16          # blocks with fewer whole chunks run the scalar recursion only
_NO_CHUNK = -(1 << 62)


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
        self._chunk_peaks = np.zeros(n // CHUNK_FRAMES + 3, np.float64)
        self._need = np.zeros(n // CHUNK_FRAMES + 2, np.float64)
        self._below = np.zeros(n // CHUNK_FRAMES + 2, np.bool_)
        self.ceiling = 10.0 ** (ceiling_db / 20.0)
        self._release = 1.0 - math.exp(-CHUNK_FRAMES / (release_s * sample_rate))
        self.volume_target = volume
        self._volume = volume
        self._limit = 1.0
        self._in_frame = 0
        self._chunk_peak = 0.0
        self._last_peak = 0.0
        self._flat_gain = float(volume)             # every gain point from chunk ``_flat_from`` on
        self._flat_from = _NO_CHUNK
        self.metering = True
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
        if self.metering:
            self._meter(out, frames)

    def _take_input(self, mix: np.ndarray, frames: int) -> None:
        self._write_history(mix, frames)
        magnitude = self._abs[:frames]
        np.abs(mix[:frames], out=magnitude)
        head = min(frames, -self._in_frame % CHUNK_FRAMES)
        if head:                                                   # finish the open chunk
            head_peak = self._peaks[:1]
            np.maximum.reduce(magnitude[:head].reshape(1, 2 * head), axis=1, out=head_peak)
            self._in_frame += head
            if self._in_frame % CHUNK_FRAMES == 0:
                self._close_chunks(self._in_frame // CHUNK_FRAMES - 1, head_peak, 0)
            else:
                self._chunk_peak = max(self._chunk_peak, head_peak.item(0))
        whole = (frames - head) // CHUNK_FRAMES
        if whole:                                                  # whole chunks: one reduction for all
            peaks = self._peaks[:whole]
            block = magnitude[head:head + whole * CHUNK_FRAMES].reshape(whole, 2 * CHUNK_FRAMES)
            np.maximum.reduce(block, axis=1, out=peaks)
            first = self._in_frame // CHUNK_FRAMES
            done = self._close_steady(peaks, first) if whole >= _VECTOR_CHUNKS else 0
            if done < whole:
                self._close_chunks(first, peaks, done)
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

    def _close_chunks(self, first: int, peaks: np.ndarray, start: int) -> None:
        """Chunks ``first + start, ..., first + len(peaks) - 1`` are complete (chunk ``first + k`` peaked at
        ``peaks[k]``; the first of them also at ``_chunk_peak``): fix the gain point at the start of each.
        The recursion runs on local variables, one chunk at a time (see the module docstring)."""
        volume, target, limit = self._volume, self.volume_target, self._limit
        release, ceiling = self._release, self.ceiling
        chunk_peak, last_peak = self._chunk_peak, self._last_peak
        flat_gain, flat_from = self._flat_gain, self._flat_from
        points, ring = self._gain_points, self._ring_chunks
        item = peaks.item
        for k in range(start, len(peaks)):       # max(a, b) is "b if b > a else a", min(a, b) "b if b < a else a"
            value = item(k)                      # (the builtins' exact rule, NaN included), without their calls
            chunk_peak = value if value > chunk_peak else chunk_peak
            peak = last_peak if last_peak > chunk_peak else chunk_peak          # max(chunk_peak, last_peak)
            last_peak = chunk_peak
            chunk_peak = 0.0
            step = target - volume
            step = step if step < _VOLUME_STEP else _VOLUME_STEP
            volume += step if step > -_VOLUME_STEP else -_VOLUME_STEP      # max(-S, min(S, target - volume))
            released = limit + (1.0 - limit) * release
            scaled = peak * volume
            need = ceiling / (_TINY if _TINY > scaled else scaled)            # max(peak * volume, _TINY)
            limit = need if need < 1.0 else 1.0
            limit = released if released < limit else limit                 # min(1.0, need, released)
            gain = volume * limit
            if gain != flat_gain:
                flat_gain, flat_from = gain, first + k
            points[(first + k) % ring] = gain
        self._volume, self._limit = volume, limit
        self._chunk_peak, self._last_peak = chunk_peak, last_peak
        self._flat_gain, self._flat_from = flat_gain, flat_from

    def _close_steady(self, peaks: np.ndarray, first: int) -> int:
        """Close chunks ``first, first + 1, ...`` (peaks ``peaks``) while the state stays at its fixed point
        (see the module docstring); returns how many were closed. The rest need ``_close_chunks``."""
        limit, volume = self._limit, self._volume
        if volume != self.volume_target or limit + (1.0 - limit) * self._release != limit:
            return 0
        whole = len(peaks)
        chunk_peaks = self._chunk_peaks[:whole + 1]              # [last chunk's peak, this block's chunks]
        chunk_peaks[0] = self._last_peak
        np.copyto(chunk_peaks[1:], peaks)
        chunk_peaks[1] = max(self._chunk_peak, float(peaks[0]))  # the first chunk began in the last block
        if not math.isfinite(float(np.maximum.reduce(chunk_peaks))):
            return 0                                             # NaN/inf: Python's max() order matters
        need, below = self._need[:whole], self._below[:whole]
        np.maximum(chunk_peaks[1:], chunk_peaks[:-1], out=need)  # max(chunk peak, last peak)
        np.multiply(need, volume, out=need)
        np.maximum(need, _TINY, out=need)
        np.divide(self.ceiling, need, out=need)
        np.less(need, limit, out=below)
        steady = int(below.argmax())
        if not below[steady]:
            steady = whole
        if steady:
            gain = volume * limit
            if gain != self._flat_gain:
                self._flat_gain, self._flat_from = gain, first
            self._fill_gain_points(first, steady, gain)
            self._last_peak = float(chunk_peaks[steady])
            self._chunk_peak = 0.0
        return steady

    def _fill_gain_points(self, first: int, count: int, gain: float) -> None:
        start = first % self._ring_chunks
        end = start + count
        self._gain_points[start:min(end, self._ring_chunks)] = gain
        if end > self._ring_chunks:
            self._gain_points[:end - self._ring_chunks] = gain

    def _write_output(self, out: np.ndarray, out_frame: int, frames: int) -> None:
        silent = min(frames, max(0, -out_frame))
        if silent:
            out[:silent].fill(0.0)
        n = frames - silent
        if n:
            first_frame = out_frame + silent
            flat = first_frame // CHUNK_FRAMES >= self._flat_from
            gain = np.float32(self._flat_gain) if flat else self._gains(first_frame, n)
            target = out[silent:frames]
            ring = first_frame % self._ring_frames
            first = min(n, self._ring_frames - ring)
            np.multiply(self._history[ring:ring + first], gain if flat else gain[:first], out=target[:first])
            if first < n:
                np.multiply(self._history[:n - first], gain if flat else gain[first:n], out=target[first:n])
        clipped = out[:frames]
        np.maximum(clipped, -1.0, out=clipped)                         # = np.clip(-1, 1), NaN and -0.0 too,
        np.minimum(clipped, 1.0, out=clipped)                          # without its Python wrapper

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
        np.maximum.reduce(magnitude, axis=0, out=self.peak)
        np.square(out[:frames], out=magnitude)
        np.add.reduce(magnitude, axis=0, out=self.rms)                # ``mean`` without its Python wrapper:
        np.true_divide(self.rms, np.intp(frames), out=self.rms, casting="unsafe")   # the same two ufuncs
        np.sqrt(self.rms, out=self.rms)
