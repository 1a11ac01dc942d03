"""The live Lyria stream for a stream pad: a spawned worker process that fills a shared-memory ring.

Two halves. ``LiveStreamProcess`` lives in the daemon (created and used on the control loop): it owns the
shared memory (the ring, float32 (frames, 2) at 48 kHz, and the ``groovebox.engine.stream`` header), starts
the worker and talks to it over a pipe. ``_worker_main`` runs in the spawned process: a ``LyriaStream`` on
its own asyncio loop, decoding chunks and writing them into the ring. The JSON parse of a 512 KB chunk holds
the GIL for ~8 ms on a Pi, which is why none of this runs in the daemon.

Decisions:
- The ring is written by this process only, read by the engine only (single producer, single consumer, no
  locks): data first, then WRITTEN. Lyria bursts faster than real time, so the producer writes in pieces of
  ``piece_s`` and only while WRITTEN stays within ``prebuffer_s + lead_s`` of the engine's published READ;
  that lead (4 s by default) bounds how long a steering change takes to be heard, and keeps well over half
  the ring (the recent past) intact for "capture the last N bars". LyriaStream keeps at most one decoded
  chunk waiting (``max_buffered_chunks=1``) for the same reason. Until an epoch's downbeat is found the
  producer may also fill the ring up to what the detector needs (at most half the ring ahead of READ), so a
  first launch or a relock after a reconnect waits for the network, not for real time; the engine then
  locks on the newest audio, so the lead shrinks back at once.
- Epochs: every new connection starts the music again at another beat phase (and a context reset, for a
  tempo change, does too), so each starts an epoch at the current WRITTEN. Its downbeat is found with
  ``loopcut.find_downbeat`` on ``detect_bars`` bars after ``settle_bars`` (in a thread, so writing goes on)
  and published; the engine relocks on it. After a reset the old music may still be in flight (our chunk,
  LyriaStream's queue, the socket), so the settle period also skips ``reset_slack_chunks`` chunks. A silent
  epoch gets its settle point as "downbeat": the phase of silence does not matter.
- The stream plays at the project tempo: the request's bpm is replaced by the session tempo (rounded and
  clamped to Lyria's 60..200, which the engine covers by varispeed). A tempo change that rounds to a new bpm
  sends the config and then RESET_CONTEXT (a hard cut) and starts an epoch; smaller ones are varispeed only.
- Steering messages carry the whole state (prompt weights, density, brightness); the worker sends Lyria only
  what changed, through LyriaStream's 200 ms throttle. Zero weights are dropped; a steer that would leave no
  active prompt is refused with a message (Lyria rejects an empty prompt list).
- Messages to the daemon are small dicts (``kind``: connected, epoch, downbeat, filtered, error, stopped);
  errors carry LyriaError's performer-facing text, never the key. A fatal error (bad key, unreachable,
  every prompt blocked) ends the worker; the daemon keeps what is in the ring.
- Stopping is bounded: the stream gets ``_CLOSE_TIMEOUT_S`` to close, and leftover tasks as long again
  (websockets shields its close handshake, which a server still blocked on sending us audio never answers).
- Shared memory: the daemon creates and unlinks the blocks; the worker attaches without registering them with
  the resource tracker (Python 3.11 registers attached blocks too and would unlink the daemon's at exit).
  ``_SharedBlock`` closes quietly when numpy views still point into it (the engine may hold the ring until
  its ``BufferReleased``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import multiprocessing
import os
from dataclasses import dataclass, field
from multiprocessing import resource_tracker, shared_memory

import numpy as np
from google.genai import types

from groovebox.engine.stream import Header, new_header, ring_slice, ring_write
from groovebox.generate import loopcut
from groovebox.generate.apikey import redact
from groovebox.generate.lyria import (
    LyriaAuthError,
    LyriaEndpoint,
    LyriaError,
    LyriaPromptFiltered,
    LyriaStream,
    LyriaUnavailable,
    RetryPolicy,
    generation_config,
    to_48k,
    weighted_prompts,
)
from groovebox.generate.request import GenerationRequest

__all__ = ["NO_ACTIVE_PROMPT", "SAMPLE_RATE", "LiveOptions", "LiveStreamProcess", "live_bpm"]

SAMPLE_RATE = 48000
LYRIA_MIN_BPM, LYRIA_MAX_BPM = 60, 200
NO_ACTIVE_PROMPT = "There needs to be one active prompt to play: give a prompt Lyria did not block a weight above 0"
_CONTEXT = multiprocessing.get_context("spawn")
_WAIT_S = 0.01
_COMMAND_POLL_S = 0.02
_CLOSE_TIMEOUT_S = 0.5
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveOptions:
    """Buffering and detection settings of one live stream (seconds at 48 kHz, bars at the stream bpm)."""

    ring_s: float = 64.0
    prebuffer_s: float = 2.0
    lead_s: float = 2.0             # how far past the prebuffer the producer may run ahead of the reader
    settle_bars: float = 1.0
    detect_bars: int = 4
    reset_slack_chunks: int = 2
    piece_s: float = 0.05
    nice: int = 5

    def __post_init__(self) -> None:
        if not 8.0 <= self.ring_s <= 600.0:
            raise ValueError(f"ring_s must be 8..600 s, got {self.ring_s}")
        if self.prebuffer_s <= 0 or self.lead_s <= 0 or self.prebuffer_s + self.lead_s > self.ring_s / 4:
            raise ValueError("prebuffer_s and lead_s must be positive and together at most a quarter of the ring")
        if self.detect_bars < 1 or self.settle_bars < 0:
            raise ValueError("detect_bars must be >= 1 and settle_bars >= 0")

    @property
    def capacity_frames(self) -> int:
        return round(self.ring_s * SAMPLE_RATE)

    @property
    def max_lead_frames(self) -> int:
        return round((self.prebuffer_s + self.lead_s) * SAMPLE_RATE)


def live_bpm(tempo_bpm: float) -> int:
    """The bpm to ask Lyria for at project tempo ``tempo_bpm``: rounded, clamped to Lyria's 60..200."""
    return int(min(LYRIA_MAX_BPM, max(LYRIA_MIN_BPM, round(tempo_bpm))))


class _SharedBlock(shared_memory.SharedMemory):
    """SharedMemory whose close never raises: with numpy views still alive it stays mapped until they go."""

    def close_quietly(self) -> bool:
        try:
            self.close()
        except BufferError:
            return False
        return True

    def __del__(self) -> None:
        with contextlib.suppress(OSError, BufferError):
            self.close()


def _attach_block(name: str) -> _SharedBlock:
    """Attach to the daemon's block without telling the resource tracker (see the module docstring)."""
    register = resource_tracker.register
    resource_tracker.register = lambda *args, **kwargs: None
    try:
        return _SharedBlock(name=name)
    finally:
        resource_tracker.register = register


@dataclass(frozen=True)
class _WorkerSpec:
    request_json: str
    ring_name: str
    header_name: str
    capacity: int
    options: LiveOptions
    endpoint: LyriaEndpoint
    retry: RetryPolicy
    api_key: str = field(repr=False)


# ------------------------------------------------------------------------------------------- daemon side

class LiveStreamProcess:
    """The daemon's handle on one live stream: shared ring + header, worker process, pipe. Control loop only.

    ``request`` gives the prompts and the generation config; its bpm is replaced by ``live_bpm(tempo_bpm)``
    and its seed resolved. The worker starts connecting at once.
    """

    def __init__(self, request: GenerationRequest, tempo_bpm: float, *, api_key: str,
                 endpoint: LyriaEndpoint | None = None, retry: RetryPolicy | None = None,
                 options: LiveOptions = LiveOptions()) -> None:
        if not api_key:
            raise LyriaAuthError("no Gemini API key is configured: the live pad needs Lyria")
        self.options = options
        self.request = request.resolved().model_copy(update={"bpm": live_bpm(tempo_bpm)})
        capacity = options.capacity_frames
        self._ring_block = _SharedBlock(create=True, size=capacity * 2 * 4)
        self._header_block = _SharedBlock(create=True, size=Header.SIZE * 8)
        self._unlinked = False
        self.ring: np.ndarray | None = np.ndarray((capacity, 2), np.float32, buffer=self._ring_block.buf)
        self.header: np.ndarray | None = new_header(self._header_block.buf)
        spec = _WorkerSpec(self.request.model_dump_json(), self._ring_block.name, self._header_block.name, capacity,
                           options, endpoint or LyriaEndpoint(), retry or RetryPolicy(), api_key)
        self._conn, child = _CONTEXT.Pipe()
        self.process = _CONTEXT.Process(target=_worker_main, args=(spec, child), name="live-stream", daemon=True)
        try:
            self.process.start()
        except BaseException:
            self.release_memory()
            raise
        finally:
            child.close()

    @property
    def prompts(self) -> list[tuple[str, float]]:
        return self.request.weighted_prompts()

    @property
    def density(self) -> float | None:
        return self.request.density

    @property
    def brightness(self) -> float | None:
        return self.request.brightness

    def send(self, message: dict) -> bool:
        """Send a command to the worker; False when it is gone."""
        try:
            self._conn.send(message)
        except (OSError, ValueError):
            return False
        return True

    def messages(self) -> list[dict]:
        """The worker's messages that arrived since the last call."""
        found = []
        try:
            while self._conn.poll():
                found.append(self._conn.recv())
        except (EOFError, OSError):
            pass
        return found

    def alive(self) -> bool:
        return self.process.is_alive()

    def stop(self) -> None:
        """Ask the worker to close the stream and exit (see ``alive``; ``terminate`` if it does not)."""
        self.send({"kind": "stop"})

    def terminate(self, timeout_s: float = 2.0) -> None:
        self.process.join(timeout_s)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(1.0)

    def release_memory(self) -> bool:
        """Drop this handle's views, unlink the blocks and unmap them; False if someone still holds a view
        (they stay mapped until the views go). Call once the engine released the ring and header."""
        self.ring = self.header = None
        if not self._unlinked:
            self._unlinked = True
            for block in (self._ring_block, self._header_block):
                with contextlib.suppress(FileNotFoundError):
                    block.unlink()
        closed = [block.close_quietly() for block in (self._ring_block, self._header_block)]
        self._conn.close()
        return all(closed)


# ------------------------------------------------------------------------------------------- worker side

def _worker_main(spec: _WorkerSpec, conn) -> None:
    """Entry point of the spawned worker: stream until told to stop, the daemon goes, or Lyria fails."""
    logging.basicConfig(level=logging.WARNING, format="live stream: %(levelname)s %(message)s")
    with contextlib.suppress(OSError):
        os.nice(spec.options.nice)
    ring_block, header_block = _attach_block(spec.ring_name), _attach_block(spec.header_name)
    try:
        producer = _Producer(spec, ring_block, header_block, conn)
        _run_bounded(producer.run(), _CLOSE_TIMEOUT_S)
        producer.drop_views()
    finally:
        ring_block.close_quietly()
        header_block.close_quietly()
        with contextlib.suppress(OSError, ValueError):
            conn.send({"kind": "stopped"})


def _run_bounded(coroutine, cleanup_s: float) -> None:
    """``asyncio.run`` without its unbounded wait for cancelled tasks: websockets shields its close handshake,
    which a server blocked on sending to us never answers, so leftovers get ``cleanup_s`` and are dropped."""
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(coroutine)
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.wait(pending, timeout=cleanup_s))
        if any(not task.done() for task in pending):
            logging.getLogger("asyncio").setLevel(logging.CRITICAL)   # "Task was destroyed but it is pending"
    finally:
        loop.close()


class _Producer:
    """Reads the LyriaStream, writes the ring, finds downbeats, applies steering. The worker's asyncio loop."""

    def __init__(self, spec: _WorkerSpec, ring_block: _SharedBlock, header_block: _SharedBlock, conn) -> None:
        self.spec = spec
        self.options = spec.options
        self.ring = np.ndarray((spec.capacity, 2), np.float32, buffer=ring_block.buf)
        self.header = np.ndarray((Header.SIZE,), np.float64, buffer=header_block.buf)
        self.conn = conn
        self.request = GenerationRequest.model_validate_json(spec.request_json)
        self.prompts = self.request.weighted_prompts()
        self.bpm = self.request.bpm
        self.connection: int | None = None
        self.epoch = int(self.header[Header.EPOCH])
        self.epoch_start = 0
        self.settle_frames = 0
        self.detected = False
        self.detector: asyncio.Task | None = None
        self.chunk_frames = 2 * SAMPLE_RATE
        self.reported_filtered: set[str] = set()
        self.stream: LyriaStream | None = None

    def drop_views(self) -> None:
        self.ring = self.header = None

    async def run(self) -> None:
        self.stream = LyriaStream(self.spec.api_key, weighted_prompts(self.request), self._config(),
                                  endpoint=self.spec.endpoint, retry=self.spec.retry, max_buffered_chunks=1)
        try:
            await self.stream.start()
            try:
                await self._pump_until_stopped()
            finally:
                await self._close_stream()
        except LyriaError as error:
            self._report_error(error)
        except Exception as error:                     # the worker reports and ends; the daemon plays on
            log.exception("live stream failed")
            self._send({"kind": "error", "error": "failed", "fatal": True,
                        "message": redact(f"the live stream failed: {type(error).__name__}: {error}",
                                          self.spec.api_key)})
        finally:
            if self.detector is not None:
                self.detector.cancel()

    async def _close_stream(self) -> None:
        """Close, but do not wait out a close handshake the server is too busy to answer (a server blocked on
        sending us audio we no longer read would keep us for websockets' whole close timeout)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stream.close(), _CLOSE_TIMEOUT_S)

    async def _pump_until_stopped(self) -> None:
        pump = asyncio.create_task(self._pump(), name="live-pump")
        commands = asyncio.create_task(self._commands(), name="live-commands")
        done, pending = await asyncio.wait({pump, commands}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            task.result()

    # -- audio

    async def _pump(self) -> None:
        while True:
            chunk = await self.stream.read()
            self._report_filtered()
            if chunk.connection != self.connection:
                self.connection = chunk.connection
                self._send({"kind": "connected", "connection": chunk.connection})
                self._new_epoch(self._bars_frames(self.options.settle_bars), "connected")
            audio = to_48k(chunk.audio, chunk.sample_rate)
            self.chunk_frames = len(audio)
            await self._write(audio)

    async def _write(self, audio: np.ndarray) -> None:
        """Write ``audio`` at WRITTEN in pieces, never more than the lead ahead of the engine's READ."""
        header, piece = self.header, max(1, round(self.options.piece_s * SAMPLE_RATE))
        done = 0
        while done < len(audio):
            written = int(header[Header.WRITTEN])
            count = min(piece, len(audio) - done, math.floor(self._write_limit(header[Header.READ]) - written))
            if count <= 0:
                await asyncio.sleep(_WAIT_S)
                continue
            ring_write(self.ring, written, audio[done:done + count])
            header[Header.WRITTEN] = written + count
            done += count
            self._maybe_detect()
            await asyncio.sleep(0)

    def _write_limit(self, read: float) -> float:
        """The stream frame the producer may write up to: the lead past READ, or, while the epoch's
        downbeat is unknown, what the detector needs (never more than half the ring past READ)."""
        limit = read + self.options.max_lead_frames
        if not self.detected:
            limit = max(limit, min(self.epoch_start + self._detect_frames(), read + self.spec.capacity // 2))
        return limit

    def _detect_frames(self) -> int:
        """Epoch frames ``find_downbeat`` needs: the settle period, then ``detect_bars`` bars (at least what
        ``loopcut.downbeat_frames_needed`` asks for)."""
        needed = max(self._bars_frames(self.options.detect_bars), loopcut.downbeat_frames_needed(self.bpm))
        return self.settle_frames + needed + 1

    def _bars_frames(self, bars: float) -> int:
        return math.ceil(bars * 4 * 60.0 / self.bpm * SAMPLE_RATE)

    def _new_epoch(self, settle_frames: int, reason: str) -> None:
        """The music restarts at WRITTEN (see ``groovebox.engine.stream`` for the write order)."""
        if self.detector is not None:
            self.detector.cancel()
            self.detector = None
        header = self.header
        self.epoch += 1
        self.epoch_start = int(header[Header.WRITTEN])
        self.settle_frames = settle_frames
        self.detected = False
        header[Header.DOWNBEAT_EPOCH] = -1.0
        header[Header.EPOCH_START] = self.epoch_start
        header[Header.BPM] = self.bpm
        header[Header.EPOCH] = self.epoch
        self._send({"kind": "epoch", "epoch": self.epoch, "start_frame": self.epoch_start, "bpm": self.bpm,
                    "reason": reason})

    def _maybe_detect(self) -> None:
        if self.detected or self.detector is not None:
            return
        needed = self._detect_frames()
        if self.header[Header.WRITTEN] - self.epoch_start < needed:
            return
        audio = ring_slice(self.ring, self.epoch_start, self.epoch_start + needed)
        self.detector = asyncio.create_task(self._detect(self.epoch, self.epoch_start, audio))

    async def _detect(self, epoch: int, epoch_start: int, audio: np.ndarray) -> None:
        settle = self.settle_frames
        try:
            onset = await asyncio.to_thread(loopcut.find_downbeat, audio, SAMPLE_RATE, self.bpm,
                                            search_from_frame=settle)
        except ValueError:                             # silence: any phase will do
            onset = float(settle)
        if epoch != self.epoch:
            return
        self.detector = None
        self.header[Header.DOWNBEAT] = epoch_start + onset
        self.header[Header.DOWNBEAT_EPOCH] = epoch
        self.detected = True
        self._send({"kind": "downbeat", "epoch": epoch, "frame": epoch_start + onset})

    # -- steering

    async def _commands(self) -> None:
        """Apply the daemon's commands until "stop" or until the daemon goes away."""
        while True:
            try:
                while self.conn.poll():
                    message = self.conn.recv()
                    if message.get("kind") == "stop":
                        return
                    await self._apply(message)
            except (EOFError, OSError):
                return
            await asyncio.sleep(_COMMAND_POLL_S)

    async def _apply(self, message: dict) -> None:
        kind = message.get("kind")
        if kind == "steer":
            await self._steer_prompts([(str(text), float(weight)) for text, weight in message["prompts"]])
            await self._steer_config({name: message[name] for name in ("density", "brightness") if name in message})
        elif kind == "bpm":
            await self._change_bpm(live_bpm(float(message["bpm"])))

    async def _steer_prompts(self, prompts: list[tuple[str, float]]) -> None:
        if prompts == self.prompts:
            return
        active = [(text, weight) for text, weight in prompts if weight > 0]
        if not any(text not in self.stream.filtered for text, _ in active):
            self._send({"kind": "error", "error": "no_prompt", "fatal": False, "message": NO_ACTIVE_PROMPT})
            return
        self.prompts = prompts
        await self.stream.set_prompts([types.WeightedPrompt(text=text, weight=weight) for text, weight in active])

    async def _steer_config(self, changes: dict) -> None:
        if all(getattr(self.request, name) == value for name, value in changes.items()):
            return
        self.request = self.request.model_copy(update=changes)
        await self.stream.set_config(self._config())

    async def _change_bpm(self, bpm: int) -> None:
        if bpm == self.bpm:
            return
        self.bpm = bpm
        self.request = self.request.model_copy(update={"bpm": bpm})
        await self.stream.set_config(self._config())
        await self.stream.reset_context()
        slack = self.options.reset_slack_chunks * self.chunk_frames
        self._new_epoch(self._bars_frames(self.options.settle_bars) + slack, "tempo")

    def _config(self) -> types.LiveMusicGenerationConfig:
        return generation_config(self.request, self.request.seed)

    # -- messages

    def _send(self, message: dict) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.conn.send(message)

    def _report_filtered(self) -> None:
        for text, reason in list(self.stream.filtered.items()):
            if text not in self.reported_filtered:
                self.reported_filtered.add(text)
                self._send({"kind": "filtered", "text": text, "reason": reason,
                            "message": LyriaPromptFiltered(text, reason).message})

    def _report_error(self, error: LyriaError) -> None:
        if self.stream is not None:
            self._report_filtered()
        kind = "auth" if isinstance(error, LyriaAuthError) else "filtered" if isinstance(error, LyriaPromptFiltered) \
            else "unavailable" if isinstance(error, LyriaUnavailable) else "failed"
        self._send({"kind": "error", "error": kind, "fatal": True, "message": redact(error.message, self.spec.api_key)})

