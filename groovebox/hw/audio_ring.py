"""PortAudio output whose callback never runs Python: the engine renders ahead into a ring buffer.

Why: a Python audio callback needs the GIL. When the web server, MIDI and the control loop hold it, or the
scheduler runs them instead, a callback that must finish inside one block (5.3 ms at 256 frames) misses its
deadline and the speakers click. Here the PortAudio callback is rtmixer's C function (python-rtmixer, by
sounddevice's author): it copies frames out of an output ring and the input into an input ring, and never
touches Python. A Python thread keeps the output ring ``ahead_blocks`` blocks ahead of the device, so the
engine may be held up by nearly that long without a gap. The price is latency: a press is heard about
``ahead_blocks - 0.5`` blocks later than with a Python callback (quantized launches still land on the exact
frame; only the time from press to sound grows).

Threads:

- PortAudio's callback thread (JACK's process thread through JACK): rtmixer's C callback only.
- ``groovebox-audio-render`` (a daemon thread, SCHED_FIFO where the system allows it): tops the output ring
  up one block at a time. For each block it first hands ``capture`` the input captured together with the
  output frame ``ahead_frames`` earlier (so a recording adds ``ahead_frames`` to the device's round trip),
  then renders (in ``GIL_SAFE_FRAMES`` parts). It also counts what went wrong (see ``_RingPlayer``). Nothing on
  it lets go of the GIL between waits (see ``_HeldRing``).
- ``start``/``stop``: the control thread.

When the ring runs dry the device plays silence for the missing frames; the engine's timeline then resumes
that much later than the device's. Input captured during the gap is skipped as soon as the gap is seen, so
a recording that spans a dropout is misaligned by the gap for at most ``ahead_frames``.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
import time

import numpy as np

from groovebox.hw.audio import (
    AudioError,
    PortAudioBackend,
    Renderer,
    _import_sounddevice,
    _input_channels,
)

__all__ = ["RingPortAudioBackend", "rtmixer_problem"]

log = logging.getLogger(__name__)

_RENDER_PRIORITY = 5              # SCHED_FIFO priority of the render thread (JACK's own threads run higher)
_JOIN_TIMEOUT_S = 2.0


def _import_rtmixer():
    """rtmixer (it imports sounddevice, so that goes through ``_import_sounddevice`` first)."""
    _import_sounddevice()
    try:
        import rtmixer
    except (ImportError, OSError) as exc:
        raise AudioError(f"python-rtmixer is not available ({exc})") from exc
    return rtmixer


def rtmixer_problem() -> str | None:
    """Why the ring backend cannot work here (rtmixer missing or unloadable), or None when it can."""
    try:
        _import_rtmixer()
    except AudioError as exc:
        return str(exc)
    return None


class _HeldRing:
    """A pa_ringbuffer driven through ``ctypes.PyDLL``, whose calls keep the GIL.

    cffi (and so rtmixer's own ``RingBuffer`` methods) lets go of the GIL around every C call. On the render
    thread each let-go is a chance for a busy control thread to take the GIL, and getting it back costs up to
    the switch interval: the same convoy as NumPy's (``audio.GIL_SAFE_FRAMES``). The ring functions are
    exported by rtmixer's extension module, so they are called here directly: a copy and an index update
    behind PortAudio's memory barriers, never a wait.
    """

    def __init__(self, rtmixer, frames: int, channels: int) -> None:
        self.data = np.zeros((frames, channels), np.float32)
        self.ring = rtmixer.RingBuffer(self.data.itemsize * channels, buffer=self.data)
        self._ptr = ctypes.c_void_p(int(rtmixer._ffi.cast("uintptr_t", self.ring._ptr)))
        library = _ring_library(rtmixer)
        self._read_available = library.PaUtil_GetRingBufferReadAvailable
        self._write = library.PaUtil_WriteRingBuffer
        self._read = library.PaUtil_ReadRingBuffer
        self._skip = library.PaUtil_AdvanceRingBufferReadIndex

    def read_available(self) -> int:
        return self._read_available(self._ptr)

    def write(self, pointer: int, frames: int) -> int:
        """Copy ``frames`` frames from memory at ``pointer`` into the ring; returns the frames written."""
        return self._write(self._ptr, pointer, frames)

    def read_into(self, pointer: int, frames: int) -> int:
        return self._read(self._ptr, pointer, frames)

    def skip(self, frames: int) -> int:
        return self._skip(self._ptr, frames)


_LIBRARY: ctypes.PyDLL | None = None


def _ring_library(rtmixer) -> ctypes.PyDLL:
    """rtmixer's extension module opened with ctypes.PyDLL (calls hold the GIL), prototypes set once."""
    global _LIBRARY
    if _LIBRARY is None:
        import _rtmixer

        library = ctypes.PyDLL(_rtmixer.__file__)
        size, pointer = ctypes.c_long, ctypes.c_void_p
        for name, argtypes in (("PaUtil_GetRingBufferReadAvailable", [pointer]),
                               ("PaUtil_WriteRingBuffer", [pointer, pointer, size]),
                               ("PaUtil_ReadRingBuffer", [pointer, pointer, size]),
                               ("PaUtil_AdvanceRingBufferReadIndex", [pointer, size])):
            function = getattr(library, name)
            function.argtypes, function.restype = argtypes, size
        _LIBRARY = library
    return _LIBRARY


def _ring_frames(frames: int) -> int:
    """The smallest power of two >= ``frames`` (pa_ringbuffer's sizes must be powers of two)."""
    return 1 << max(frames - 1, 1).bit_length()


def _try_realtime() -> None:
    """Make the calling thread SCHED_FIFO when the system allows it (root, or an rtprio limit)."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(_RENDER_PRIORITY))
    except (OSError, AttributeError):
        pass


class _RingPlayer:
    """Keeps rtmixer playing the output ring and counts the frames the device played as silence (render thread).

    rtmixer drops a ring action the moment its ring cannot fill a block (it plays what there was, then
    silence), so a dry ring is seen as a finished action and a new one is queued; it starts at the next block.
    The callback first counts the block in the stream's stats, then copies what the ring holds and adds that
    to the action's ``done_frames``. ``blocks * block_frames - played frames`` is the number of frames played
    as silence. A reading taken while a callback runs can be one block too high; the true count never falls,
    so each value is confirmed by the next reading (the smaller of two readings taken a poll apart).
    The stream's stats are rtmixer's ``_state.stats`` (0.1.x; the only counter of every callback).
    """

    def __init__(self, stream, ring, block_frames: int) -> None:
        self._stream = stream
        self._ring = ring
        self._block_frames = block_frames
        self._stream_stats = stream._state.stats
        self._played_before = 0       # frames played by earlier (dropped) actions
        self._last_reading = 0
        self.missing_frames = 0       # confirmed frames played as silence so far
        self.underflows = 0           # PortAudio's own output underflows (JACK xruns reach it this way)
        self._action = stream.play_ringbuffer(ring)

    def keep_playing(self) -> None:
        """Queue a new ring action if rtmixer dropped the last one (the ring ran dry)."""
        if self._action not in self._stream.actions:
            self._played_before += self._action.done_frames
            self._action = self._stream.play_ringbuffer(self._ring)

    def update(self) -> tuple[int, int]:
        """Read the counters; returns (newly confirmed silent frames, new PortAudio underflows)."""
        stats = self._stream_stats
        reading = stats.blocks * self._block_frames - (self._played_before + self._action.done_frames)
        confirmed = min(reading, self._last_reading)
        self._last_reading = reading
        new_missing = max(confirmed - self.missing_frames, 0)
        self.missing_frames += new_missing
        underflows = stats.output_underflows
        new_underflows, self.underflows = underflows - self.underflows, underflows
        return new_missing, new_underflows


class RingPortAudioBackend(PortAudioBackend):
    """``PortAudioBackend`` with rtmixer's C callback and a render-ahead ring of ``ahead_blocks`` blocks."""

    def __init__(self, sample_rate: int = 48000, block_frames: int = 256, device: str | int | None = None,
                 input: bool = False, ahead_blocks: int = 3) -> None:
        if ahead_blocks < 1:
            raise ValueError("ahead_blocks must be at least 1 (0 means the Python callback: PortAudioBackend)")
        super().__init__(sample_rate, block_frames, device, input)
        self.ahead_blocks = ahead_blocks
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def ahead_frames(self) -> int:
        return self.ahead_blocks * self.block_frames

    # ------------------------------------------------------------------------------------ control thread
    def _start(self, render: Renderer) -> None:
        rtmixer = _import_rtmixer()
        sd = _import_sounddevice()
        self._render = render
        input_channels = _input_channels(sd, self.device) if self.want_input and self.capture else 0
        try:
            self._stream = self._open_mixer(rtmixer, sd, input_channels)
            self._set_up_rings(rtmixer, input_channels if self.has_input else 0)
            self._top_up()
            self._stream.start()
        except (sd.PortAudioError, ValueError, RuntimeError) as exc:
            self._close_stream()
            raise AudioError(f"cannot open PortAudio output {self.device!r} at {self.sample_rate} Hz: {exc}") from exc
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="groovebox-audio-render", daemon=True)
        self._thread.start()

    def _open_mixer(self, rtmixer, sd, input_channels: int):
        options = {"samplerate": self.sample_rate, "blocksize": self.block_frames, "device": self.device,
                   "latency": "low"}
        if input_channels:
            try:
                mixer = rtmixer.MixerAndRecorder(channels=(input_channels, 2), **options)
                self.has_input = True
                return mixer
            except (sd.PortAudioError, ValueError) as exc:
                log.warning("no audio input on %r (%s): playing without recording", self.device, exc)
        self.has_input = False
        return rtmixer.Mixer(channels=2, **options)

    def _set_up_rings(self, rtmixer, input_channels: int) -> None:
        """Preallocate the rings and the blocks the render thread works in; queue the ring actions."""
        frames = self.block_frames
        self._out = _HeldRing(rtmixer, _ring_frames(self.ahead_frames + 2 * frames), 2)
        self._block = np.zeros((frames, 2), np.float32)
        self._block_pointer = self._block.ctypes.data
        self._player = _RingPlayer(self._stream, self._out.ring, frames)
        self._in = None
        if input_channels:
            self._in = _HeldRing(rtmixer, _ring_frames(4 * (self.ahead_frames + 2 * frames)), input_channels)
            self._in_raw = np.zeros((frames, input_channels), np.float32)
            self._in_raw_pointer = self._in_raw.ctypes.data
            self._in_block = np.zeros((frames, 2), np.float32)
            self._recording = self._stream.record_ringbuffer(self._in.ring)

    def _stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(_JOIN_TIMEOUT_S)
            self._thread = None
        self._close_stream()

    # ------------------------------------------------------------------------------------- render thread
    def _run(self) -> None:
        _try_realtime()
        poll_s = self.block_frames / self.sample_rate / 2
        while not self._stopping.is_set():
            try:
                self._top_up()
                self._count_dropouts()
            except Exception:           # never let the thread die: the watchdog would see the audio stop
                self.stats.faults += 1
            time.sleep(poll_s)

    def _top_up(self) -> None:
        """Render blocks until the ring holds ``ahead_frames``."""
        frames = self.block_frames
        queued = self._out.read_available()
        while queued + frames <= self.ahead_frames:
            inp = self._input_block() if self._in is not None else None
            self._process_safely(self._render, self._block, frames, inp, starts_in_s=queued / self.sample_rate)
            self._out.write(self._block_pointer, frames)
            queued = self._out.read_available()

    def _input_block(self) -> np.ndarray:
        """The input captured with the output ``ahead_frames`` before this block (silence before there is any),
        copied a channel at a time (NumPy keeps the GIL for copies of up to 500 elements)."""
        raw, block = self._in_raw, self._in_block
        if self.stats.frames_total < self.ahead_frames or self._in.read_available() < len(raw):
            block.fill(0.0)
            return block
        self._in.read_into(self._in_raw_pointer, len(raw))
        for channel in range(2):
            block[:, channel] = raw[:, min(channel, raw.shape[1] - 1)]
        return block

    def _count_dropouts(self) -> None:
        """Count silent device blocks; after one, restart whatever rtmixer dropped."""
        new_missing, new_underflows = self._player.update()
        self.stats.underruns += new_underflows
        if not new_missing:
            return
        self.stats.underruns += -(-new_missing // self.block_frames)
        self._player.keep_playing()
        if self._in is not None:
            self._in.skip(min(new_missing, self._in.read_available()))
            if self._recording not in self._stream.actions:      # the input ring filled up: start it afresh
                self._in.ring.flush()
                self._recording = self._stream.record_ringbuffer(self._in.ring)
