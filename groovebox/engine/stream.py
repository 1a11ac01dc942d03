"""Stream pads: a pad that plays a live stream (Lyria RealTime) from a shared-memory ring, on the bar grid.

``StreamReader.read`` and ``publish`` run on the audio thread inside ``Engine.render`` and never allocate
block-sized buffers, lock, log or wait. ``new_header``, ``lock_snapshot``, ``ring_slice`` and ``ring_write``
are for the other sides (the control loop, the producer process). numpy + stdlib only.

The ring is a float32 (capacity, 2) array at the engine rate, filled by one producer (the Lyria worker
process) and read by one consumer (the engine). Frames are *absolute stream frames* (counted since the
producer started); stream frame ``s`` lives at ring row ``s % capacity``. Beside it, a float64 header
(``Header``; integers up to 2**53 are exact) carries the hand-shake, one writer per field::

    producer -> engine   WRITTEN (frames written; bumped *after* the data), EPOCH (counts (re)starts of the
                         music: a connection or a context reset), EPOCH_START (first frame of the current
                         epoch), BPM, DOWNBEAT + DOWNBEAT_EPOCH (a detected downbeat of that epoch)
    engine -> producer   READ (the stream frame the engine reads next; a virtual, real-time clock while the
                         pad is not locked, so the producer paces itself against it)
    engine -> control    UNDERRUNS, and the lock (LOCKED, LOCK_ENGINE_FRAME, LOCK_STREAM_FRAME, LOCK_RATE,
                         LOCK_BPM, LOST_AT_FRAME) under a sequence counter (LOCK_SEQ, odd while writing)

Write order (each field is one aligned 8-byte store, so single values are never torn): a new epoch sets
DOWNBEAT_EPOCH = -1, then EPOCH_START and BPM, then EPOCH; a detection sets DOWNBEAT, then DOWNBEAT_EPOCH.
The engine reads DOWNBEAT_EPOCH and EPOCH before and after the values and uses them only if nothing changed.

Decisions:
- Locking: at the launch frame (the pad's quantized start) the reader picks the stream frame
  ``downbeat + k*bar + phase`` for the largest ``k`` that leaves ``prebuffer_frames`` between it and WRITTEN,
  where ``phase`` is the engine's position inside its bar converted to stream frames: the stream's downbeats
  then sound on the engine's bar lines whatever the launch grid. The start frame is rounded to an integer so
  that at equal tempos the read is a plain copy. If no such frame exists (no downbeat detected yet, too little
  buffered) the pad stays queued and retries on every following bar line.
- It reads at ``rate = engine tempo / stream bpm`` (1 when the stream was requested at the project tempo)
  through the ordinary ``Playhead``, treating the ring as a looping region; tempo changes re-anchor it.
- The reader never plays a frame that was not written for this lap of the ring: only frames below
  ``min(WRITTEN, boundary)`` are audible, where ``boundary`` is the start of the first epoch that began after
  it locked (a reconnect or reset restarts the music at another beat phase). The gain follows
  ``min(rise from the last gain, fall to the cut)`` with ``fade_frames``-long linear ramps, so a lock fades in,
  a cut fades out just before the last written frame, and the envelope does not depend on the block size.
- Losing the data (WRITTEN reached: an underrun, counted; or an epoch boundary) unlocks the reader: it outputs
  exact zeros and relocks on the first later engine bar line where the lock rule holds again, never before
  the frame where it stopped (no audio is heard twice). The pad stays PLAYING meanwhile.
- A stopped, unlocked or idle reader publishes a virtual read clock that advances in real time but never
  passes WRITTEN, so the producer keeps only its lead of fresh audio, and a launch plays the newest of it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from groovebox.engine.voice import Playhead, Scratch
from groovebox.transport.clock import TempoClock

__all__ = [
    "Header",
    "LockInfo",
    "StreamReader",
    "StreamScratch",
    "lock_snapshot",
    "new_header",
    "ring_slice",
    "ring_write",
]


class Header:
    """Indices into the stream header (float64). See the module docstring for who writes what."""

    WRITTEN = 0
    EPOCH = 1
    EPOCH_START = 2
    BPM = 3
    DOWNBEAT = 4
    DOWNBEAT_EPOCH = 5
    READ = 8
    UNDERRUNS = 9
    LOCK_SEQ = 10
    LOCKED = 11
    LOCK_ENGINE_FRAME = 12
    LOCK_STREAM_FRAME = 13
    LOCK_RATE = 14
    LOCK_BPM = 15
    LOST_AT_FRAME = 16
    SIZE = 24


def new_header(buffer=None) -> np.ndarray:
    """A header (float64, ``Header.SIZE``) in ``buffer`` (e.g. shared memory) or a new array, initialised."""
    header = np.zeros(Header.SIZE, np.float64) if buffer is None else \
        np.ndarray((Header.SIZE,), np.float64, buffer=buffer)
    header[:] = 0.0
    for index in (Header.DOWNBEAT, Header.DOWNBEAT_EPOCH, Header.LOCK_ENGINE_FRAME, Header.LOCK_STREAM_FRAME,
                  Header.LOST_AT_FRAME):
        header[index] = -1.0
    return header


@dataclass(frozen=True)
class LockInfo:
    """Where the engine last anchored the stream: engine frame ``engine_frame`` played stream frame
    ``stream_frame``, advancing ``rate`` stream frames per engine frame; ``lost_at_frame`` is the engine frame
    where the previous (or, when not ``locked``, this) lock ended (-1: never)."""

    locked: bool
    engine_frame: int
    stream_frame: float
    rate: float
    bpm: float
    lost_at_frame: int

    def stream_frame_at(self, engine_frame: int) -> float:
        return self.stream_frame + (engine_frame - self.engine_frame) * self.rate


def lock_snapshot(header: np.ndarray) -> LockInfo:
    """A consistent copy of the lock fields (any thread but the audio thread; retries while the engine writes)."""
    for _ in range(1000):
        seq = header[Header.LOCK_SEQ]
        if seq % 2 == 0:
            info = LockInfo(bool(header[Header.LOCKED]), int(header[Header.LOCK_ENGINE_FRAME]),
                            float(header[Header.LOCK_STREAM_FRAME]), float(header[Header.LOCK_RATE]),
                            float(header[Header.LOCK_BPM]), int(header[Header.LOST_AT_FRAME]))
            if header[Header.LOCK_SEQ] == seq:
                return info
        time.sleep(0.0002)
    raise RuntimeError("the stream lock kept changing while being read")


def ring_slice(ring: np.ndarray, start_frame: int, stop_frame: int) -> np.ndarray:
    """A copy of absolute stream frames ``start_frame .. stop_frame`` (not the audio thread: it allocates)."""
    capacity = len(ring)
    frames = stop_frame - start_frame
    if not 0 <= frames <= capacity:
        raise ValueError(f"cannot take {frames} frames from a ring of {capacity}")
    first = start_frame % capacity
    if first + frames <= capacity:
        return ring[first:first + frames].copy()
    return np.concatenate([ring[first:], ring[:frames - (capacity - first)]])


def ring_write(ring: np.ndarray, start_frame: int, audio: np.ndarray) -> None:
    """Copy ``audio`` (frames, 2) to absolute stream frames ``start_frame ..`` (the producer side)."""
    capacity = len(ring)
    frames = len(audio)
    if frames > capacity:
        raise ValueError(f"cannot write {frames} frames into a ring of {capacity}")
    first = start_frame % capacity
    head = min(frames, capacity - first)
    ring[first:first + head] = audio[:head]
    if head < frames:
        ring[:frames - head] = audio[head:]


class StreamScratch:
    """Work buffers shared by every stream pad of one engine (audio thread, one pad at a time)."""

    def __init__(self, max_block_frames: int) -> None:
        self.arange = np.arange(max_block_frames, dtype=np.float32)
        self.gain = np.zeros(max_block_frames, np.float32)
        self.fall = np.zeros(max_block_frames, np.float32)


class StreamReader:
    """The engine side of one stream pad: lock, read with fades, publish. Audio thread only (built on it
    by ``AttachStream``; a few Python objects, no buffers)."""

    __slots__ = (
        "anchor_frame",
        "anchor_stream",
        "boundary",
        "bpm",
        "capacity",
        "epoch",
        "fade_frames",
        "gain",
        "header",
        "locked",
        "played_until",
        "prebuffer_frames",
        "published_at",
        "rate",
        "ring",
        "underruns",
        "virtual_read",
    )

    def __init__(self, ring: np.ndarray, header: np.ndarray, prebuffer_frames: int, fade_frames: int,
                 at_frame: int) -> None:
        self.ring = ring
        self.header = header
        self.capacity = len(ring)
        self.prebuffer_frames = prebuffer_frames
        self.fade_frames = fade_frames
        self.locked = False
        self.anchor_frame = 0
        self.anchor_stream = 0.0
        self.bpm = 0.0
        self.rate = 1.0
        self.epoch = -1.0
        self.boundary = math.inf
        self.played_until = -math.inf
        self.virtual_read = float(header[Header.WRITTEN])
        self.published_at = at_frame
        self.gain = 0.0
        self.underruns = int(header[Header.UNDERRUNS])

    # ------------------------------------------------------------------ locking
    def position(self, at_frame: int) -> float:
        """The absolute stream frame read at engine frame ``at_frame`` (while locked)."""
        return self.anchor_stream + (at_frame - self.anchor_frame) * self.rate

    def lock_point(self, at_frame: int, clock: TempoClock) -> float:
        """The stream frame to play at ``at_frame`` so that the stream's downbeats fall on the engine's bar
        lines, with at least the prebuffer written after it; NaN when there is none yet."""
        header = self.header
        downbeat_epoch = header[Header.DOWNBEAT_EPOCH]      # read around the values: see ``Header``
        epoch = header[Header.EPOCH]
        downbeat = header[Header.DOWNBEAT]
        bpm = header[Header.BPM]
        written = header[Header.WRITTEN]
        epoch_start = header[Header.EPOCH_START]
        if not downbeat_epoch == epoch == header[Header.DOWNBEAT_EPOCH] == header[Header.EPOCH] \
                or downbeat < 0 or bpm <= 0:
            return math.nan
        beat_frames = 60.0 * clock.sample_rate / bpm
        bar_frames = beat_frames * clock.beats_per_bar
        offset = (clock.beat_at(at_frame) % clock.beats_per_bar) * beat_frames
        bars = math.floor((written - self.prebuffer_frames - downbeat - offset) / bar_frames)
        if bars < 0:
            return math.nan
        start = float(round(downbeat + bars * bar_frames + offset))
        if start < self.played_until or start < epoch_start or start < written - self.capacity // 2:
            return math.nan
        return start

    def lock(self, playhead: Playhead, at_frame: int, stream_frame: float, tempo_bpm: float) -> None:
        """Play ``stream_frame`` at engine frame ``at_frame`` (from ``lock_point``), fading in."""
        header = self.header
        self.locked = True
        self.anchor_frame = at_frame
        self.anchor_stream = stream_frame
        self.bpm = float(header[Header.BPM])
        self.rate = tempo_bpm / self.bpm
        self.epoch = header[Header.EPOCH]
        self.boundary = math.inf
        self.gain = 0.0
        playhead.start(self.ring, 0, self.capacity, True, at_frame, self.rate)
        playhead.anchor_pos = stream_frame % self.capacity
        self._publish_lock(at_frame)

    def reanchor(self, playhead: Playhead, at_frame: int, tempo_bpm: float) -> None:
        """The engine tempo changed at ``at_frame``: keep the position, follow the new rate (varispeed)."""
        if not self.locked:
            return
        self.anchor_stream = self.position(at_frame)
        self.anchor_frame = at_frame
        self.rate = tempo_bpm / self.bpm
        playhead.anchor_frame = at_frame
        playhead.anchor_pos = self.anchor_stream % self.capacity
        playhead.rate = self.rate
        self._publish_lock(at_frame)

    def stop(self, at_frame: int) -> None:
        """The pad stopped (or the grid moved): let go of the stream without counting an underrun."""
        if self.locked:
            self._lose(at_frame, underrun=False)

    def can_fade_out(self, at_frame: int) -> bool:
        """True when the ``fade_frames`` from ``at_frame`` are written audio a tail may fade out."""
        return self.locked and self.gain >= 1.0 and self._cut_frame(at_frame) >= at_frame + self.fade_frames

    # ------------------------------------------------------------------ reading
    def read(self, dst: np.ndarray, at_frame: int, n: int, playhead: Playhead, clock: TempoClock,
             scratch: Scratch, own: StreamScratch) -> None:
        """Fill ``dst[:n]`` with the stream for engine frames ``at_frame ..`` (silence where there is none)."""
        if not self.locked:
            self._wait_for_lock(dst, at_frame, n, playhead, clock, scratch, own)
            return
        cut = self._cut_frame(at_frame)
        if cut >= at_frame + n + self.fade_frames and self.gain >= 1.0:
            playhead.read(dst, at_frame, n, scratch)
            return
        audible = min(max(cut - at_frame, 0), n)
        if audible:
            playhead.read(dst, at_frame, audible, scratch)
            self._envelope(dst, at_frame, audible, cut, own)
        if audible < n:
            dst[audible:n] = 0.0
            self._lose(at_frame + audible, underrun=self.boundary > self.header[Header.WRITTEN])
            self._wait_for_lock(dst[audible:n], at_frame + audible, n - audible, playhead, clock, scratch, own)

    def publish(self, frame: int) -> None:
        """End of a block at engine frame ``frame``: tell the producer where reading has got to."""
        if self.locked:
            read = self.position(frame)
        else:
            read = min(self.virtual_read + (frame - self.published_at), self.header[Header.WRITTEN])
            self.virtual_read = read
        self.published_at = frame
        self.header[Header.READ] = read

    def _cut_frame(self, at_frame: int) -> int:
        """The first engine frame whose audio is not (or no longer) in the ring."""
        header = self.header
        written = header[Header.WRITTEN]
        if header[Header.EPOCH] != self.epoch and self.boundary == math.inf:
            self.boundary = header[Header.EPOCH_START]
        if self.position(at_frame) < written - self.capacity:
            return at_frame                                  # overwritten: the producer broke its lead rule
        interpolating = 0.0 if self.rate == 1.0 and self.anchor_stream.is_integer() else 1.0
        limit = min(written, self.boundary) - interpolating
        return math.ceil(self.anchor_frame + (limit - self.anchor_stream) / self.rate - 1e-9)

    def _envelope(self, dst: np.ndarray, at_frame: int, n: int, cut: int, own: StreamScratch) -> None:
        """Multiply ``dst[:n]`` by min(rise from the last gain, fall to ``cut``), both ``fade_frames`` long."""
        fade = float(self.fade_frames)
        gain = own.gain[:n]
        np.add(own.arange[:n], self.gain * fade + 1.0, out=gain)
        np.minimum(gain, fade, out=gain)
        if cut - at_frame < n + fade:
            fall = own.fall[:n]
            np.subtract(float(cut - at_frame), own.arange[:n], out=fall)
            np.minimum(gain, fall, out=gain)
            np.maximum(gain, 0.0, out=gain)
        np.multiply(gain, 1.0 / fade, out=gain)
        np.multiply(dst[:n], gain[:, None], out=dst[:n])
        self.gain = float(gain[n - 1])

    def _wait_for_lock(self, dst: np.ndarray, at_frame: int, n: int, playhead: Playhead, clock: TempoClock,
                       scratch: Scratch, own: StreamScratch) -> None:
        """Silence, and an attempt to lock on the bar line inside these frames (if any)."""
        dst[:n] = 0.0
        bar_frame = clock.next_grid(at_frame, clock.beats_per_bar)[0]
        if bar_frame >= at_frame + n:
            return
        start = self.lock_point(bar_frame, clock)
        if math.isnan(start):
            return
        self.lock(playhead, bar_frame, start, clock.tempo_bpm)
        offset = bar_frame - at_frame
        self.read(dst[offset:n], bar_frame, n - offset, playhead, clock, scratch, own)

    def _lose(self, at_frame: int, underrun: bool) -> None:
        self.played_until = self.position(at_frame)
        self.virtual_read = min(self.played_until, self.header[Header.WRITTEN])
        self.published_at = at_frame
        self.locked = False
        self.gain = 0.0
        if underrun:
            self.underruns += 1
            self.header[Header.UNDERRUNS] = self.underruns
        self._publish_lock(at_frame)

    def _publish_lock(self, at_frame: int) -> None:
        header = self.header
        header[Header.LOCK_SEQ] += 1.0
        header[Header.LOCKED] = 1.0 if self.locked else 0.0
        if self.locked:
            header[Header.LOCK_ENGINE_FRAME] = at_frame
            header[Header.LOCK_STREAM_FRAME] = self.anchor_stream
            header[Header.LOCK_RATE] = self.rate
            header[Header.LOCK_BPM] = self.bpm
        else:
            header[Header.LOST_AT_FRAME] = at_frame
        header[Header.LOCK_SEQ] += 1.0
