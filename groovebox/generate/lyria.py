"""Lyria RealTime: a self-healing music stream, and seamless loops captured from it.

Runs inside a generation worker process, on that process's own asyncio loop (``capture_loop_sync`` makes
one); nothing here may run in the daemon process, whose GIL the audio callback needs (a 512 KB chunk costs
~8 ms to parse on a Pi). Protocol facts are in reference/lyria-realtime.md.

    loop = capture_loop_sync(request, seed, api_key=load_api_key(), progress=report, cancel=event)
    loop.audio                       # float32 (round(bars*4*60/bpm*48000), 2), seamless, starts on a downbeat

Decisions:
- ``LyriaStream`` owns the session. It keeps the full prompt list and the full ``LiveMusicGenerationConfig``
  locally and, on every (re)connect, sends prompts, config, then PLAY: the server treats each config as a
  full replacement and forgets everything when the socket goes. Steering (``set_prompts``, ``set_config``)
  is throttled to one send per 200 ms (leading send at once, later changes coalesced into one trailing send),
  as PromptDJ does; ``reset_context`` flushes pending sends first (a bpm/scale change needs config, then reset).
- Reconnects: any close (``APIError``), dropped socket, network error, refused handshake with 429/5xx, or
  stall (no audio for ``stall_timeout_s`` while playing) reconnects after 0.5, 1, 2, 4, 4 ... s; after
  ``max_attempts`` consecutive failures it gives up with ``LyriaUnavailable``. A connection that delivered
  audio resets the count. Not retried: HTTP 401/403 (``LyriaAuthError``, the key is wrong), 400/404, close
  1007 (our request is malformed), close 1008 (policy: an invalid key becomes ``LyriaAuthError``), and an
  untrusted TLS certificate.
- ``receive()`` is read with short timeouts so stalls are noticed; a timeout cancels the SDK generator, which
  is safe because websockets' ``recv()`` loses nothing when cancelled, and a fresh ``receive()`` continues.
- The SDK retries ``connect()`` with a legacy keyword when a ``TypeError`` escapes the ``async with`` body
  (reference §1 "Gotcha"), so the body turns a TypeError into ``_EscapedTypeError`` and re-raises it outside.
- A filtered prompt is remembered and never resent. ``strict_prompts=True`` (captures) turns it into
  ``LyriaPromptFiltered`` at once: a loop without one of the requested prompts is not what was asked for.
- Audio is decoded from the chunk's own ``mimeType`` (rate, channels) to float32 (frames, 2); a capture
  resamples a non-48 kHz stream once, after recording, so chunk seams carry no resampling edges.
- A capture records from the first chunk of one connection: after a reconnect it starts again, because a
  loop must come from one continuous stream. It discards ``settle_bars`` (>= 2) bars, records
  ``loopcut.frames_recommended`` frames (enough bar lines for a downbeat within ~2 ms) and cuts exactly N bars at a detected downbeat with ``loopcut.cut_loop``.
  Percentages: connecting 0, settling/recording 5-90 (back down after a reconnect), cutting 90-100.
- The API key never appears in a message or a log record: every message is built through ``redact``, and
  a ``KeyRedactingFilter`` sits on the loggers that could print it (websockets logs handshake headers at DEBUG).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import math
import socket
import ssl
import warnings
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, Self

import numpy as np
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from google.genai.live_music import AsyncMusicSession
from scipy import signal
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from groovebox.generate import loopcut
from groovebox.generate.apikey import KeyRedactingFilter, redact
from groovebox.generate.request import DEFAULT_BPM, GenerationRequest, Scale

__all__ = [
    "SAMPLE_RATE",
    "LyriaAuthError",
    "LyriaCancelled",
    "LyriaEndpoint",
    "LyriaError",
    "LyriaPromptFiltered",
    "LyriaStream",
    "LyriaUnavailable",
    "RetryPolicy",
    "StreamChunk",
    "capture_loop",
    "capture_loop_sync",
    "decode_audio_chunk",
    "to_48k",
    "generation_config",
    "weighted_prompts",
]

SAMPLE_RATE = 48000
OFFLINE_HINT = "use the offline generator instead"
_GUARDED_LOGGERS = ("websockets.client", "google_genai.live_music", "google_genai._api_client", __name__)
log = logging.getLogger(__name__)

ProgressCallback = Callable[[str, float], None]


class CancelFlag(Protocol):
    def is_set(self) -> bool: ...


# ---------------------------------------------------------------------------------------------- errors

class LyriaError(Exception):
    """A Lyria failure with a message a performer can act on (never containing the API key)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LyriaAuthError(LyriaError):
    """The Gemini API key is missing or was refused."""


class LyriaPromptFiltered(LyriaError):
    """Lyria's safety filter blocked a prompt; ``text`` is the prompt, ``reason`` Lyria's explanation."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f'Lyria blocked the prompt "{text}": {reason}')
        self.text, self.reason = text, reason


class LyriaUnavailable(LyriaError):
    """Lyria cannot be reached (no network, DNS, refused, repeated drops); ``attempts`` connections were tried."""

    def __init__(self, message: str, attempts: int = 0) -> None:
        super().__init__(message)
        self.attempts = attempts


class LyriaCancelled(LyriaError):
    """The capture was cancelled by the caller."""


class _StreamStalled(Exception):
    pass


class _GarbledMessage(Exception):
    pass


class _EscapedTypeError(Exception):
    """Carries a TypeError out of the SDK's ``connect()`` body without triggering its legacy retry."""

    def __init__(self, error: TypeError) -> None:
        super().__init__(str(error))
        self.error = error


# ------------------------------------------------------------------------------------ request mapping

@dataclass(frozen=True)
class LyriaEndpoint:
    """Where the Lyria RealTime endpoint is: ``base_url`` None is Google's; the SDK always speaks wss:// to it."""

    base_url: str | None = None
    api_version: str = "v1alpha"
    model: str = "models/lyria-realtime-exp"


@dataclass(frozen=True)
class RetryPolicy:
    """Reconnect timing: backoff ``initial_backoff_s`` doubling up to ``max_backoff_s``; give up after
    ``max_attempts`` consecutive failed connections; a connection without audio for ``stall_timeout_s`` (while
    playing) or without ``setupComplete`` within ``connect_timeout_s`` counts as failed."""

    initial_backoff_s: float = 0.5
    max_backoff_s: float = 4.0
    max_attempts: int = 5
    stall_timeout_s: float = 10.0
    connect_timeout_s: float = 15.0

    def backoff_s(self, failures: int) -> float:
        """The wait before the next attempt after ``failures`` (>= 1) consecutive failures."""
        return min(self.max_backoff_s, self.initial_backoff_s * 2 ** (failures - 1))


def generation_config(request: GenerationRequest, seed: int) -> types.LiveMusicGenerationConfig:
    """The full Lyria config for ``request`` with ``seed`` (bpm None -> 120; SCALE_UNSPECIFIED and unset
    density/brightness are left out, which lets the model decide)."""
    fields = {
        "temperature": request.temperature, "top_k": request.top_k, "seed": seed, "guidance": request.guidance,
        "bpm": request.bpm if request.bpm is not None else DEFAULT_BPM, "density": request.density,
        "brightness": request.brightness, "mute_bass": request.mute_bass, "mute_drums": request.mute_drums,
        "only_bass_and_drums": request.only_bass_and_drums,
        "music_generation_mode": types.MusicGenerationMode(request.mode.value),
    }
    if request.scale != Scale.SCALE_UNSPECIFIED:
        fields["scale"] = types.Scale(request.scale.value)
    return types.LiveMusicGenerationConfig(**fields)


def weighted_prompts(request: GenerationRequest) -> list[types.WeightedPrompt]:
    """The request's prompt, genre, instrument and mood as Lyria weighted prompts (never empty)."""
    return [types.WeightedPrompt(text=text, weight=weight) for text, weight in request.weighted_prompts()]


# ------------------------------------------------------------------------------------------------ audio

@dataclass(frozen=True)
class StreamChunk:
    """One decoded audio chunk: ``audio`` float32 (frames, 2) at ``sample_rate``; ``connection`` counts the
    stream's successful connections (1 = first); ``at_frame`` is its first frame within that connection."""

    audio: np.ndarray
    sample_rate: int
    connection: int
    at_frame: int


def _mime_parameters(mime_type: str | None) -> tuple[int, int]:
    if not mime_type:
        return SAMPLE_RATE, 2
    kind, *params = [part.strip() for part in mime_type.split(";")]
    if kind.lower() != "audio/l16":
        raise LyriaError(f"Lyria sent audio in an unsupported format ({mime_type})")
    values = dict(part.split("=", 1) for part in params if "=" in part)
    try:
        rate, channels = int(values.get("rate", SAMPLE_RATE)), int(values.get("channels", 2))
    except ValueError:
        raise LyriaError(f"Lyria sent an unreadable audio format ({mime_type})") from None
    if rate <= 0 or channels <= 0:
        raise LyriaError(f"Lyria sent an unreadable audio format ({mime_type})")
    return rate, channels


def decode_audio_chunk(data: bytes, mime_type: str | None) -> tuple[np.ndarray, int]:
    """Signed 16-bit little-endian PCM -> (float32 (frames, 2), sample rate). Mono is duplicated, extra
    channels are dropped, a trailing partial frame is ignored."""
    rate, channels = _mime_parameters(mime_type)
    pcm = np.frombuffer(data, dtype="<i2", count=len(data) // 2)
    frames = pcm.size // channels
    audio = pcm[: frames * channels].reshape(frames, channels).astype(np.float32) / np.float32(32768.0)
    if channels == 1:
        audio = np.repeat(audio, 2, axis=1)
    return np.ascontiguousarray(audio[:, :2]), rate


# ----------------------------------------------------------------------------------------------- stream

class _Throttled:
    """Runs ``send()`` at most once per ``interval_s``: at once when idle, else once at the end of the
    interval with whatever the state is then."""

    def __init__(self, send: Callable[[], Awaitable[None]], interval_s: float) -> None:
        self._send, self._interval_s = send, interval_s
        self._last_s = -math.inf
        self._pending: asyncio.Task | None = None

    async def request(self) -> None:
        if self._pending is not None:
            return
        wait_s = self._last_s + self._interval_s - asyncio.get_running_loop().time()
        if wait_s <= 0:
            await self._fire()
        else:
            self._pending = asyncio.create_task(self._later(wait_s))

    async def flush(self) -> None:
        if self._pending is not None:
            self.cancel()
            await self._fire()

    def mark_sent(self) -> None:
        self._last_s = asyncio.get_running_loop().time()

    def cancel(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None

    async def _later(self, wait_s: float) -> None:
        await asyncio.sleep(wait_s)
        self._pending = None
        await self._fire()

    async def _fire(self) -> None:
        self.mark_sent()
        await self._send()


class LyriaStream:
    """A Lyria RealTime music stream that survives drops: ``async with`` it, then ``await read()`` chunks.

    Lives on one asyncio loop. ``read`` raises ``LyriaAuthError``, ``LyriaPromptFiltered`` (strict mode, or no
    prompt left), ``LyriaUnavailable`` or ``LyriaError`` once the stream has failed for good (and again on
    every later call). Up to ``max_buffered_chunks`` chunks wait for the reader, then reading the socket
    pauses (websockets answers pings meanwhile)."""

    def __init__(self, api_key: str | None, prompts: Sequence[types.WeightedPrompt],
                 config: types.LiveMusicGenerationConfig, *, endpoint: LyriaEndpoint | None = None,
                 retry: RetryPolicy | None = None, strict_prompts: bool = False, throttle_s: float = 0.2,
                 max_buffered_chunks: int = 32) -> None:
        if not api_key:
            raise LyriaAuthError("no Gemini API key is configured (set GEMINI_API_KEY or put it in "
                                 f"/etc/groovebox/gemini-api-key); {OFFLINE_HINT}")
        self._key = api_key
        self._prompts = self._checked_prompts(prompts)
        self._config = config
        self._endpoint = endpoint or LyriaEndpoint()
        self._retry = retry or RetryPolicy()
        self._strict = strict_prompts
        self._max_buffered = max_buffered_chunks
        self.filtered: dict[str, str] = {}          # prompt text -> Lyria's reason
        self.connections = 0                         # successful connections so far
        self.attempts = 0                            # connection attempts so far
        self._playing = True
        self._closing = False
        self._session = None
        self._connection_frames = 0
        self._last_audio_s = 0.0
        self._chunks_delivered = 0
        self._queue: asyncio.Queue = asyncio.Queue()
        self._drained = asyncio.Event()
        self._failure: LyriaError | None = None
        self._task: asyncio.Task | None = None
        self._client: genai.Client | None = None
        self._log_filter = KeyRedactingFilter(api_key)
        self._prompt_sender = _Throttled(self._send_prompts, throttle_s)
        self._config_sender = _Throttled(self._send_config, throttle_s)

    # -- lifecycle

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Start connecting (in a background task); chunks arrive through ``read``."""
        for name in _GUARDED_LOGGERS:
            logging.getLogger(name).addFilter(self._log_filter)
        self._client = _make_client(self._key, self._endpoint)
        self._task = asyncio.create_task(self._run(), name="lyria-stream")

    async def close(self) -> None:
        """Stop streaming and close the connection (normal closure, 1000). Re-raises an unexpected crash of the
        stream task."""
        self._closing = True
        self._prompt_sender.cancel()
        self._config_sender.cancel()
        try:
            session = self._session
            if session is not None:
                with contextlib.suppress(ConnectionClosed, OSError, TimeoutError):
                    async with asyncio.timeout(self._retry.connect_timeout_s):
                        await session.close()
            if self._task is not None:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        finally:
            if self._client is not None:
                await self._client.aio.aclose()
                self._client.close()
            for name in _GUARDED_LOGGERS:
                logging.getLogger(name).removeFilter(self._log_filter)

    async def read(self) -> StreamChunk:
        """The next audio chunk (waits for it)."""
        item = await self._queue.get()
        self._drained.set()
        if item is None:
            self._queue.put_nowait(None)            # every later read fails the same way
            raise self._failure
        return item

    # -- live steering

    async def set_prompts(self, prompts: Sequence[types.WeightedPrompt]) -> None:
        """Replace the weighted prompts (zero weights are dropped); sent throttled."""
        self._prompts = self._checked_prompts(prompts)
        await self._prompt_sender.request()

    async def set_config(self, config: types.LiveMusicGenerationConfig) -> None:
        """Replace the whole config (unset fields go back to the model's choice); sent throttled. A bpm or
        scale change takes effect only after ``reset_context``."""
        self._config = config
        await self._config_sender.request()

    async def reset_context(self) -> None:
        """Send pending prompt/config changes, then RESET_CONTEXT (a hard cut in the music)."""
        await self._prompt_sender.flush()
        await self._config_sender.flush()
        await self._send_control(types.LiveMusicPlaybackControl.RESET_CONTEXT)

    async def play(self) -> None:
        self._playing = True
        self._last_audio_s = asyncio.get_running_loop().time()
        await self._send_control(types.LiveMusicPlaybackControl.PLAY)

    async def pause(self) -> None:
        self._playing = False
        await self._send_control(types.LiveMusicPlaybackControl.PAUSE)

    @property
    def prompts(self) -> list[types.WeightedPrompt]:
        return list(self._prompts)

    @property
    def config(self) -> types.LiveMusicGenerationConfig:
        return self._config

    # -- internals: sending

    def _checked_prompts(self, prompts: Sequence[types.WeightedPrompt]) -> list[types.WeightedPrompt]:
        kept = [prompt for prompt in prompts if prompt.weight and prompt.text]
        if not kept:
            raise ValueError("Lyria needs at least one prompt with text and a non-zero weight")
        return kept

    def _active_prompts(self) -> list[types.WeightedPrompt]:
        return [prompt for prompt in self._prompts if prompt.text not in self.filtered]

    async def _send_prompts(self) -> None:
        await self._send_on_session(lambda session: session.set_weighted_prompts(prompts=self._active_prompts()))

    async def _send_config(self) -> None:
        await self._send_on_session(lambda session: session.set_music_generation_config(config=self._config))

    async def _send_control(self, control: types.LiveMusicPlaybackControl) -> None:
        method = {types.LiveMusicPlaybackControl.PLAY: "play", types.LiveMusicPlaybackControl.PAUSE: "pause",
                  types.LiveMusicPlaybackControl.RESET_CONTEXT: "reset_context"}[control]
        await self._send_on_session(lambda session: getattr(session, method)())

    async def _send_on_session(self, send: Callable[[AsyncMusicSession], Awaitable[None]]) -> None:
        session = self._session
        if session is None:
            return                       # not connected: the next connection sends the whole state anyway
        with contextlib.suppress(ConnectionClosed):
            await send(session)          # a dead socket is noticed and healed by the receive loop

    async def _send_state(self, session: AsyncMusicSession) -> None:
        """Everything the server must know, in order: prompts, the full config, then PLAY."""
        await session.set_weighted_prompts(prompts=self._active_prompts())
        await session.set_music_generation_config(config=self._config)
        self._prompt_sender.mark_sent()
        self._config_sender.mark_sent()
        self._last_audio_s = asyncio.get_running_loop().time()
        if self._playing:
            await session.play()

    # -- internals: connecting and receiving

    async def _run(self) -> None:
        try:
            await self._connect_forever()
            self._fail(LyriaError("the Lyria stream was closed"))
        except LyriaError as error:
            log.warning("lyria: %s", error.message)
            self._fail(error)
        except asyncio.CancelledError:
            self._fail(LyriaError("the Lyria stream was closed"))
            raise
        finally:
            if self._failure is None:            # a crash: readers must not hang; close() re-raises it
                self._fail(LyriaError("the Lyria stream stopped on an internal error"))

    def _fail(self, error: LyriaError) -> None:
        self._failure = error
        self._queue.put_nowait(None)

    async def _connect_forever(self) -> None:
        failures = 0
        while True:
            delivered_before = self._chunks_delivered
            cause = await self._attempt()
            if self._closing:
                return
            failures = 1 if self._chunks_delivered > delivered_before else failures + 1
            if failures >= self._retry.max_attempts:
                raise LyriaUnavailable(self._scrub(f"Lyria is unreachable ({cause}) after {self.attempts} "
                                                   f"attempts; {OFFLINE_HINT}"), self.attempts)
            delay_s = self._retry.backoff_s(failures)
            log.warning("lyria: %s; reconnecting in %.2f s (attempt %d of %d)", self._scrub(cause), delay_s,
                        failures + 1, self._retry.max_attempts)
            await asyncio.sleep(delay_s)

    async def _attempt(self) -> str:
        """One connection, start to end: returns why it ended when that is worth a retry, raises otherwise."""
        self.attempts += 1
        try:
            await self._one_connection()
            return "the server ended the stream"
        except InvalidStatus as error:
            return self._refused(error.response.status_code)
        except genai_errors.APIError as error:
            return self._closed(error.code, str(error.details or error.message or ""))
        except ssl.SSLCertVerificationError as error:
            raise LyriaUnavailable(self._scrub(f"the Lyria server's TLS certificate is not trusted "
                                               f"({error.verify_message}); {OFFLINE_HINT}"), self.attempts) from None
        except _StreamStalled as error:
            return str(error)
        except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError, _GarbledMessage) as error:
            return self._describe(error)

    async def _one_connection(self) -> None:
        connect = self._client.aio.live.music.connect(model=self._endpoint.model)
        try:
            async with contextlib.AsyncExitStack() as stack:
                async with asyncio.timeout(self._retry.connect_timeout_s):
                    session = await stack.enter_async_context(connect)
                try:
                    await self._stream_session(session)
                except TypeError as error:
                    raise _EscapedTypeError(error) from error
        except _EscapedTypeError as escaped:
            raise escaped.error from None

    async def _stream_session(self, session: AsyncMusicSession) -> None:
        self.connections += 1
        self._connection_frames = 0
        log.info("lyria: connected (connection %d)", self.connections)
        self._session = session
        try:
            await self._send_state(session)
            await self._receive(session)
        finally:
            self._session = None

    async def _receive(self, session: AsyncMusicSession) -> None:
        loop = asyncio.get_running_loop()
        while True:
            messages = session.receive()
            try:
                while True:
                    deadline_s = min(self._stall_deadline_s(), loop.time() + 1.0)
                    try:
                        async with asyncio.timeout_at(deadline_s):
                            message = await anext(messages)
                    except TimeoutError:
                        self._check_stall(loop.time())
                        break                 # nothing lost (recv() is cancel-safe): read on with a new generator
                    except StopAsyncIteration:
                        return
                    except ValueError as error:            # the SDK could not parse a message
                        raise _GarbledMessage(str(error)[:200]) from None
                    await self._handle(message)
            finally:
                await messages.aclose()

    def _stall_deadline_s(self) -> float:
        return self._last_audio_s + self._retry.stall_timeout_s if self._playing else math.inf

    def _check_stall(self, now_s: float) -> None:
        if now_s >= self._stall_deadline_s():
            raise _StreamStalled(f"no audio for {self._retry.stall_timeout_s:g} s")

    async def _handle(self, message: types.LiveMusicServerMessage) -> None:
        if message.filtered_prompt is not None:
            self._on_filtered(message.filtered_prompt)
        content = message.server_content
        for chunk in (content.audio_chunks or []) if content is not None else []:
            if chunk.data:
                await self._deliver(chunk)

    def _on_filtered(self, filtered: types.LiveMusicFilteredPrompt) -> None:
        text, reason = filtered.text or "", filtered.filtered_reason or "no reason given"
        self.filtered[text] = reason
        log.info("lyria: prompt %r was filtered: %s", text, reason)
        if self._strict or not self._active_prompts():
            raise LyriaPromptFiltered(text, reason)

    async def _deliver(self, chunk: types.AudioChunk) -> None:
        audio, rate = decode_audio_chunk(chunk.data, chunk.mime_type)
        self._queue.put_nowait(StreamChunk(audio, rate, self.connections, self._connection_frames))
        self._connection_frames += len(audio)
        self._chunks_delivered += 1
        while self._queue.qsize() >= self._max_buffered:
            self._drained.clear()
            await self._drained.wait()
        self._last_audio_s = asyncio.get_running_loop().time()

    # -- internals: classifying failures

    def _refused(self, status: int) -> str:
        if status in (401, 403):
            raise LyriaAuthError(f"the Gemini API key was refused (HTTP {status})")
        if status in (400, 404):
            raise LyriaError(f"the Lyria endpoint refused the connection (HTTP {status}); check the model "
                             f"name ({self._endpoint.model}) and API version ({self._endpoint.api_version})")
        return f"the server answered HTTP {status}"

    def _closed(self, code: int | None, reason: str) -> str:
        reason = self._scrub(reason)
        if code == 1008 and "key" in reason.lower():
            raise LyriaAuthError(f"the Gemini API key was refused ({reason})")
        if code in (1007, 1008):
            raise LyriaError(f"Lyria rejected the request (close code {code}: {reason})")
        return f"the connection closed (code {code}{': ' + reason if reason else ''})"

    def _describe(self, error: BaseException) -> str:
        if isinstance(error, socket.gaierror):
            return "the server's name cannot be resolved (no network or no DNS?)"
        if isinstance(error, ConnectionRefusedError):
            return "the connection was refused"
        if isinstance(error, OSError) and error.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN):
            return "there is no network"
        if isinstance(error, TimeoutError):
            return f"no answer within {self._retry.connect_timeout_s:g} s"
        if isinstance(error, ConnectionClosed):
            return "the connection dropped"
        return self._scrub(f"{type(error).__name__}: {error}"[:300])

    def _scrub(self, text: str) -> str:
        return redact(text, self._key)


def _make_client(api_key: str, endpoint: LyriaEndpoint) -> genai.Client:
    # connect() warns ExperimentalWarning on every call; once is enough for the log of a worker process
    warnings.filterwarnings("ignore", message="Realtime music generation is experimental")
    options = types.HttpOptions(api_version=endpoint.api_version, base_url=endpoint.base_url)
    return genai.Client(api_key=api_key, http_options=options)


# ---------------------------------------------------------------------------------------------- capture

class _Progress:
    def __init__(self, callback: ProgressCallback | None) -> None:
        self._callback = callback

    def __call__(self, stage: str, percent: float) -> None:
        if self._callback is not None:
            self._callback(stage, round(min(100.0, max(0.0, percent)), 1))


async def capture_loop(request: GenerationRequest, seed: int, *, api_key: str | None,
                       endpoint: LyriaEndpoint | None = None, progress: ProgressCallback | None = None,
                       cancel: CancelFlag | None = None, retry: RetryPolicy | None = None,
                       settle_bars: float = 2.0, crossfade_ms: float = 10.0) -> loopcut.CutLoop:
    """Stream ``request`` from Lyria with ``seed`` and cut a seamless loop of exactly ``request.bars`` bars.

    ``progress(stage, percent)`` gets "connecting", "settling", "recording", "reconnecting", "cutting";
    ``cancel.is_set()`` is checked at least every 0.1 s while streaming (then ``LyriaCancelled``). Raises the
    ``LyriaError`` family; ``CutLoop.start_frame`` counts from the first frame of the connection it came from."""
    if settle_bars < 2:
        raise ValueError("settle_bars must be at least 2 (the model needs time after a context reset)")
    retry = retry or RetryPolicy()
    bpm = request.bpm if request.bpm is not None else DEFAULT_BPM
    settle_frames = math.ceil(settle_bars * 4 * 60.0 / bpm * SAMPLE_RATE)
    needed_frames = loopcut.frames_recommended(bpm, request.bars, SAMPLE_RATE, settle_frames=settle_frames)
    report = _Progress(progress)
    report("connecting", 0.0)
    stream = LyriaStream(api_key, weighted_prompts(request), generation_config(request, seed), endpoint=endpoint,
                         retry=retry, strict_prompts=True)
    async with stream:
        recording = await _record(stream, needed_frames, settle_frames, retry, report, cancel)
    report("cutting", 90.0)
    loop = loopcut.cut_loop(recording, SAMPLE_RATE, bpm, request.bars, settle_frames=settle_frames,
                            crossfade_ms=crossfade_ms)
    report("cutting", 100.0)
    return loop


def capture_loop_sync(request: GenerationRequest, seed: int, **kwargs) -> loopcut.CutLoop:
    """``capture_loop`` on a fresh event loop (for a worker process's main thread; not inside a running loop)."""
    return asyncio.run(capture_loop(request, seed, **kwargs))


async def _record(stream: LyriaStream, needed_frames: int, settle_frames: int, retry: RetryPolicy,
                  report: _Progress, cancel: CancelFlag | None) -> np.ndarray:
    """Audio of one connection from its first frame until ``needed_frames`` (48 kHz frames) are there."""
    parts: list[np.ndarray] = []
    frames, rate, connection, reconnects = 0, SAMPLE_RATE, None, 0
    while frames * SAMPLE_RATE < needed_frames * rate:
        chunk = await _read(stream, cancel)
        if chunk.connection != connection:
            if connection is not None:
                reconnects += 1
                report("reconnecting", 5.0)
                if reconnects >= retry.max_attempts:          # used up: this connection is one too many
                    raise LyriaUnavailable(f"the connection to Lyria kept dropping ({reconnects} reconnects "
                                           f"during one capture); {OFFLINE_HINT}", stream.attempts)
                log.info("lyria: the stream restarted; recording again from its first frame")
            parts, frames, rate, connection = [], 0, chunk.sample_rate, chunk.connection
        if chunk.sample_rate != rate:
            raise LyriaError(f"Lyria changed its sample rate mid-stream ({rate} -> {chunk.sample_rate} Hz)")
        parts.append(chunk.audio)
        frames += len(chunk.audio)
        frames_48k = frames * SAMPLE_RATE / rate
        done = min(1.0, frames_48k / needed_frames)
        report("settling" if frames_48k < settle_frames else "recording", 5.0 + 85.0 * done)
    return to_48k(np.concatenate(parts), rate)


async def _read(stream: LyriaStream, cancel: CancelFlag | None) -> StreamChunk:
    if cancel is None:
        return await stream.read()
    while True:
        if cancel.is_set():
            raise LyriaCancelled("the Lyria capture was cancelled")
        try:
            async with asyncio.timeout(0.1):
                return await stream.read()
        except TimeoutError:
            continue


def to_48k(audio: np.ndarray, rate: int) -> np.ndarray:
    """``audio`` at ``rate`` resampled to 48 kHz (polyphase); unchanged when it already is."""
    if rate == SAMPLE_RATE:
        return audio
    divisor = math.gcd(SAMPLE_RATE, rate)
    resampled = signal.resample_poly(audio, SAMPLE_RATE // divisor, rate // divisor, axis=0)
    return np.ascontiguousarray(resampled, dtype=np.float32)
