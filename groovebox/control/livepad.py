"""The live "Prompt DJ" pad: one pad plays the Lyria stream itself, steered live, with "capture the last N
bars" into another pad. Control loop only (asyncio, the session's thread).

    live = LivePad(session, start_stream, pad=15)     # start_stream(request, tempo_bpm) -> a stream handle
    live.start(request)                               # worker + ring; the pad launches like any other pad
    live.set_prompt_weights([1.2, 0.4]); live.set_density(0.8); live.handle_cc("brightness", 100)
    live.capture(bars=2, into_pad=3)                  # at the next bar line
    live.describe()                                   # the /api/health "live_pad" section

Decisions:
- The stream worker is reached through ``start_stream`` (``groovebox.generate.live.LiveStreamProcess`` in the
  daemon), injected by the app: control sits below generate in the layering and imports none of it.
- Steering changes (API, controller CCs) only update local state; ``poll`` (every ``POLL_S``) sends the whole
  state to the worker when something changed, so a fader sweep becomes at most one message per poll; the
  worker sends Lyria only what changed, at most every 200 ms. Weights follow PromptDJ MIDI: ``v/127*2``;
  density and brightness ``v/127``. A change that would leave no active prompt is refused (ValueError from
  the API; a CC is dropped with one message).
- The session tempo is the stream's tempo: a ``TempoChanged`` event sends the new bpm to the worker.
- Capture: at the first engine bar line after the request, the N bars the pad just played are engine frames
  [bar line - N bars, bar line); the engine's lock (header, read under its sequence counter) maps them to
  stream frames. The loop starts at the stream frame played on the first of those bar lines (a stream
  downbeat, by the lock rule), is exactly ``round(N*beats_per_bar*60/bpm*48000)`` frames at the stream's bpm,
  and its last ``crossfade_ms`` crossfade into the audio just before its start (as ``loopcut`` does), so it
  wraps seamlessly. It is refused when the pad did not play those bars from one lock (it was buffering,
  relocked, or the tempo changed), or when the audio is no longer in the ring. The result is loaded into the
  target pad with the stream's bpm as its native tempo; ``Capture.audio`` keeps it for saving.
- Shared memory: after a stop, once the worker has exited, every poll tries to unmap the blocks; that only
  succeeds when no numpy view into them is left (the engine drops its own when the fade-out after
  ``DetachStream`` ends), so it can never pull memory from under the audio thread. The blocks are unlinked
  at the first try. A ``StreamDetached`` event that we did not cause (a loop was loaded over the live pad)
  stops the stream.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from groovebox.control.session import POLL_S, Session, every
from groovebox.engine import PadState, Status
from groovebox.engine import commands as c
from groovebox.engine.events import StreamDetached, TempoChanged
from groovebox.engine.stream import Header, lock_snapshot, ring_slice

__all__ = ["LIVE_CONTROLS", "Capture", "LivePad", "LivePadError", "StreamHandle", "loop_from_ring"]

log = logging.getLogger(__name__)

SAMPLE_RATE = 48000
LIVE_CONTROLS = ("weight_1", "weight_2", "weight_3", "weight_4", "density", "brightness")
MAX_WEIGHT = 2.0
MAX_PROMPTS = 8
MAX_CAPTURE_BARS = 16
_STOP_GRACE_S = 6.0
_RELEASE_PATIENCE_S = 30.0
_KEPT_CAPTURES = 8


class LivePadError(ValueError):
    """A live-pad request that cannot be done now; the message says why (for the performer)."""


class StreamHandle(Protocol):
    """What ``start_stream`` returns (``groovebox.generate.live.LiveStreamProcess``)."""

    ring: np.ndarray | None
    header: np.ndarray | None
    prompts: list[tuple[str, float]]
    density: float | None
    brightness: float | None

    def send(self, message: dict) -> bool: ...
    def messages(self) -> list[dict]: ...
    def alive(self) -> bool: ...
    def stop(self) -> None: ...
    def terminate(self, timeout_s: float = 2.0) -> None: ...
    def release_memory(self) -> bool: ...


@dataclass
class Capture:
    """One "capture the last ``bars`` bars into ``into_pad``" request: engine frames ``from_frame`` ..
    ``due_frame`` (bar lines fixed when it was asked for), cut once the engine has played ``due_frame``."""

    bars: int
    into_pad: int
    from_frame: int
    due_frame: int
    state: str = "pending"                 # pending | done | failed
    error: str = ""
    audio: np.ndarray | None = None        # float32 (frames, 2) once done
    stream_frame: int = -1                 # the stream frame the loop starts on
    native_bpm: float = 0.0

    def summary(self) -> dict:
        return {"bars": self.bars, "into_pad": self.into_pad, "state": self.state, "error": self.error or None,
                "frames": 0 if self.audio is None else len(self.audio), "native_bpm": self.native_bpm}


@dataclass
class _Run:
    """One started stream: its handle, its pad and what the worker said."""

    handle: StreamHandle
    pad: int
    stop_requested_s: float | None = None
    failed: bool = False
    connections: int = 0
    underruns_seen: int = 0
    filtered: dict[str, str] = field(default_factory=dict)


def loop_from_ring(ring: np.ndarray, start_frame: int, loop_frames: int, crossfade_frames: int) -> np.ndarray:
    """Stream frames ``start_frame .. +loop_frames`` as a seamless loop: the last ``crossfade_frames`` fade
    linearly into the ``crossfade_frames`` before ``start_frame`` (what the wrap replaces). float32 (frames, 2)."""
    audio = ring_slice(ring, start_frame - crossfade_frames, start_frame + loop_frames)
    loop = audio[crossfade_frames:].copy()
    if crossfade_frames:
        ramp = (np.arange(1, crossfade_frames + 1, dtype=np.float32) / crossfade_frames)[:, None]
        loop[-crossfade_frames:] = loop[-crossfade_frames:] * (1.0 - ramp) + audio[:crossfade_frames] * ramp
    return np.ascontiguousarray(loop, dtype=np.float32)


class LivePad:
    """The live stream pad. Control loop only; see the module docstring."""

    def __init__(self, session: Session, start_stream: Callable[[object, float], StreamHandle], *, pad: int = 15,
                 prebuffer_s: float = 2.0, crossfade_ms: float = 10.0) -> None:
        self.session = session
        self.engine = session.engine
        self.pad = pad
        self.prebuffer_s = prebuffer_s
        self.crossfade_ms = crossfade_ms
        self.listeners: list[Callable[[dict], None]] = []   # performer messages: errors, blocked prompts, captures
        self.captures: deque[Capture] = deque(maxlen=_KEPT_CAPTURES)
        self.ignored_ccs = 0
        self._start_stream = start_stream
        self._run: _Run | None = None
        self._retiring: list[_Run] = []
        self._detaches_expected: dict[int, int] = {}
        self._prompts: list[list] = []
        self._density: float | None = None
        self._brightness: float | None = None
        self._dirty = False
        self._error = ""
        self._no_prompt_reported = False
        session.event_listeners.append(self.handle_event)

    # ------------------------------------------------------------------ lifecycle
    @property
    def running(self) -> bool:
        return self._run is not None

    def start(self, request, pad: int | None = None, *, play: bool = False) -> None:
        """Start streaming ``request`` (a ``GenerationRequest``) on ``pad`` (default: the configured one),
        replacing a running stream. The pad launches like any pad; ``play=True`` presses it too."""
        pad = self.pad if pad is None else int(pad)
        if not 0 <= pad < len(self.session.pad_states):
            raise LivePadError(f"pad {pad} does not exist (0..{len(self.session.pad_states) - 1})")
        self.stop()
        handle = self._start_stream(request, self.session.tempo_bpm)
        self._run = _Run(handle, pad)
        self.pad = pad
        self._prompts = [[text, weight] for text, weight in handle.prompts]
        self._density, self._brightness = handle.density, handle.brightness
        self._dirty, self._error, self._no_prompt_reported = False, "", False
        self.session.post(c.AttachStream(pad, handle.ring, handle.header, round(self.prebuffer_s * SAMPLE_RATE)))
        if play:
            self.session.press(pad)
        log.info("live pad: streaming on pad %d", pad)

    def stop(self) -> None:
        """Stop the stream: the pad empties, the worker exits, pending captures fail."""
        self._stop(detach=True)

    def _stop(self, detach: bool) -> None:
        run = self._run
        if run is None:
            return
        self._run = None
        if detach:
            self.session.post(c.DetachStream(run.pad))
            self._detaches_expected[run.pad] = self._detaches_expected.get(run.pad, 0) + 1
        run.handle.stop()
        run.stop_requested_s = time.monotonic()
        self._retiring.append(run)
        for capture in self.captures:
            if capture.state == "pending":
                self._fail(capture, "the live pad was stopped")

    def close(self) -> None:
        """Daemon shutdown (after the audio stopped): end every worker and free the shared memory now."""
        self.stop()
        for run in self._retiring:
            run.handle.terminate()
            run.handle.release_memory()
        self._retiring.clear()

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set."""
        await every(POLL_S, stop, self.poll)

    def poll(self) -> None:
        """Worker messages, steering, due captures, underrun reports, retired workers. Call every ~20 ms."""
        run = self._run
        if run is not None:
            self._read_messages(run)
            self._flush_steering(run)
            self._report_underruns(run)
        self._finish_captures()
        self._reap()

    def handle_event(self, event) -> None:
        """An engine event (``Session.event_listeners``)."""
        if isinstance(event, StreamDetached):
            self._detached(event.pad)
        elif isinstance(event, TempoChanged) and self._run is not None:
            self._run.handle.send({"kind": "bpm", "bpm": event.tempo_bpm})

    # ------------------------------------------------------------------ steering
    def set_prompt_weights(self, weights: Sequence[float] | Mapping[int, float]) -> None:
        """New weights (0..2) for the stream's prompts, by position (a list) or index (a mapping)."""
        run = self._require_run()
        prompts = [list(prompt) for prompt in self._prompts]
        items = weights.items() if isinstance(weights, Mapping) else enumerate(weights)
        for index, weight in items:
            if not 0 <= index < len(prompts):
                raise LivePadError(f"the live stream has {len(prompts)} prompts; there is no prompt {index + 1}")
            if not isinstance(weight, (int, float)) or not math.isfinite(weight) or not 0 <= weight <= MAX_WEIGHT:
                raise LivePadError(f"a prompt weight must be 0..{MAX_WEIGHT:g}, got {weight!r}")
            prompts[index][1] = float(weight)
        if not any(weight > 0 and text not in run.filtered for text, weight in prompts):
            raise LivePadError("there needs to be one active prompt: give a prompt Lyria did not block a weight "
                               "above 0")
        self._prompts = prompts
        self._dirty = True

    def set_prompts(self, prompts: Sequence[tuple[str, float]]) -> None:
        """Replace the stream's prompts (1..``MAX_PROMPTS`` of ``(text, weight 0..2)``): Lyria blends into them."""
        run = self._require_run()
        if not 1 <= len(prompts) <= MAX_PROMPTS:
            raise LivePadError(f"give 1 to {MAX_PROMPTS} prompts, not {len(prompts)}")
        cleaned = []
        for text, weight in prompts:
            text = " ".join(str(text).split())
            if not 1 <= len(text) <= 200:
                raise LivePadError("a prompt must have 1 to 200 characters")
            if not isinstance(weight, (int, float)) or not math.isfinite(weight) or not 0 <= weight <= MAX_WEIGHT:
                raise LivePadError(f"a prompt weight must be 0..{MAX_WEIGHT:g}, got {weight!r}")
            cleaned.append([text, float(weight)])
        if not any(weight > 0 and text not in run.filtered for text, weight in cleaned):
            raise LivePadError("there needs to be one active prompt that Lyria did not block, with a weight above 0")
        self._prompts = cleaned
        self._dirty = True

    def set_density(self, density: float | None) -> None:
        """0..1 (sparse .. busy); None lets the model decide."""
        self._require_run()
        self._density = _unit_or_none("density", density)
        self._dirty = True

    def set_brightness(self, brightness: float | None) -> None:
        """0..1 (dark .. bright); None lets the model decide."""
        self._require_run()
        self._brightness = _unit_or_none("brightness", brightness)
        self._dirty = True

    def handle_cc(self, control: str, value: int) -> None:
        """A controller fader/knob (``LIVE_CONTROLS``) moved to ``value`` 0..127."""
        if self._run is None or control not in LIVE_CONTROLS:
            self.ignored_ccs += 1
            return
        unit = min(127, max(0, int(value))) / 127.0
        if control == "density":
            self.set_density(unit)
        elif control == "brightness":
            self.set_brightness(unit)
        else:
            index = int(control[-1]) - 1
            if index >= len(self._prompts):
                self.ignored_ccs += 1
                return
            try:
                self.set_prompt_weights({index: unit * MAX_WEIGHT})
                self._no_prompt_reported = False
            except LivePadError as error:
                if not self._no_prompt_reported:
                    self._no_prompt_reported = True
                    self._tell({"kind": "live_error", "message": str(error)})

    # ------------------------------------------------------------------ capture
    def capture(self, bars: int, into_pad: int) -> Capture:
        """Capture the last ``bars`` bars the live pad plays, at the next bar line, into ``into_pad``."""
        run = self._require_run()
        if isinstance(bars, bool) or not isinstance(bars, int) or not 1 <= bars <= MAX_CAPTURE_BARS:
            raise LivePadError(f"bars must be 1..{MAX_CAPTURE_BARS}, got {bars!r}")
        if not 0 <= into_pad < len(self.session.pad_states) or into_pad == run.pad:
            raise LivePadError(f"pad {into_pad} cannot take a capture (it must exist and not be the live pad)")
        if not lock_snapshot(run.handle.header).locked:
            raise LivePadError("the live pad is not playing the stream yet: launch it (or wait for it to buffer)")
        clock = self.engine.clock
        now = int(self.engine.status[Status.FRAME])
        due_frame, due_beat = clock.next_grid(now + 1, clock.beats_per_bar)
        capture = Capture(bars, into_pad, clock.grid_frame(due_beat - bars * clock.beats_per_bar), due_frame)
        self.captures.append(capture)
        return capture

    def _finish_captures(self) -> None:
        now = int(self.engine.status[Status.FRAME])
        for capture in self.captures:
            if capture.state == "pending" and now >= capture.due_frame:
                self._cut(capture)

    def _cut(self, capture: Capture) -> None:
        run = self._run
        if run is None:
            self._fail(capture, "the live pad was stopped")
            return
        ring, header = run.handle.ring, run.handle.header
        first_frame = capture.from_frame
        lock = lock_snapshot(header)
        if lock.engine_frame < 0 or lock.engine_frame > first_frame or \
                (not lock.locked and lock.lost_at_frame < capture.due_frame):
            self._fail(capture, f"the live pad did not play all of the last {capture.bars} bars from one take "
                                f"(it was buffering, relocked or the tempo changed); capture again")
            return
        start = round(lock.stream_frame_at(first_frame))
        loop_frames = round(capture.bars * self.engine.clock.beats_per_bar * 60.0 / lock.bpm * SAMPLE_RATE)
        fade = round(self.crossfade_ms * SAMPLE_RATE / 1000.0)
        if start + loop_frames > header[Header.WRITTEN] or not self._in_ring(ring, header, start - fade):
            self._fail(capture, "that audio is no longer in the live buffer")
            return
        audio = loop_from_ring(ring, start, loop_frames, fade)
        if not self._in_ring(ring, header, start - fade):          # overwritten while we copied
            self._fail(capture, "that audio is no longer in the live buffer")
            return
        self.session.post(c.LoadPad(capture.into_pad, audio, native_bpm=lock.bpm))
        capture.state, capture.audio, capture.stream_frame, capture.native_bpm = "done", audio, start, lock.bpm
        log.info("live pad: captured %d bars (%d frames at %g BPM) into pad %d", capture.bars, loop_frames,
                 lock.bpm, capture.into_pad)
        self._tell({"kind": "live_capture", **capture.summary()})

    @staticmethod
    def _in_ring(ring: np.ndarray, header: np.ndarray, frame: int) -> bool:
        return frame >= 0 and frame >= header[Header.WRITTEN] - len(ring)

    def _fail(self, capture: Capture, message: str) -> None:
        capture.state, capture.error = "failed", message
        self._tell({"kind": "live_capture", **capture.summary()})

    # ------------------------------------------------------------------ reports
    def describe(self) -> dict:
        """JSON-ready state for ``/api/health`` ("live_pad") and the phone page."""
        captures = [capture.summary() for capture in self.captures]
        run = self._run
        if run is None:
            return {"available": True, "state": "off", "pad": self.pad, "error": self._error or None,
                    "captures": captures}
        header = run.handle.header
        lock = lock_snapshot(header)
        written = float(header[Header.WRITTEN])
        return {
            "available": True,
            "state": self._state(run, lock.locked, written),
            "pad": run.pad,
            "prompts": [{"text": text, "weight": weight, "blocked": text in run.filtered}
                        for text, weight in self._prompts],
            "density": self._density,
            "brightness": self._brightness,
            "stream_bpm": float(header[Header.BPM]) or None,
            "buffered_s": round(max(0.0, written - float(header[Header.READ])) / SAMPLE_RATE, 3),
            "underruns": int(header[Header.UNDERRUNS]),
            "connections": run.connections,
            "error": self._error or None,
            "captures": captures,
        }

    def _state(self, run: _Run, locked: bool, written: float) -> str:
        if run.failed:
            return "failed"
        if locked:
            return "playing"
        pad_state = self.session.pad_states[run.pad]
        if pad_state in (PadState.PLAYING, PadState.STOPPING):
            return "buffering"
        if pad_state == PadState.QUEUED:
            return "queued"
        return "ready" if written > 0 else "connecting"

    def _tell(self, message: dict) -> None:
        for listener in list(self.listeners):
            try:
                listener(message)
            except Exception:
                log.exception("live pad listener failed")

    # ------------------------------------------------------------------ internals
    def _require_run(self) -> _Run:
        if self._run is None:
            raise LivePadError("the live pad is not running: start it with a prompt first")
        return self._run

    def _flush_steering(self, run: _Run) -> None:
        if not self._dirty:
            return
        self._dirty = False
        run.handle.send({"kind": "steer", "prompts": [list(prompt) for prompt in self._prompts],
                         "density": self._density, "brightness": self._brightness})

    def _read_messages(self, run: _Run) -> None:
        for message in run.handle.messages():
            kind = message.get("kind")
            if kind == "connected":
                run.connections = message["connection"]
            elif kind == "filtered":
                run.filtered[message["text"]] = message["reason"]
                log.warning("live pad: %s", message["message"])
                self._tell({"kind": "live_error", "message": message["message"]})
            elif kind == "error":
                run.failed = run.failed or message.get("fatal", False)
                self._error = message["message"]
                log.warning("live pad: %s", message["message"])
                self._tell({"kind": "live_error", "message": message["message"]})
        if not run.failed and not run.handle.alive():
            run.failed = True
            self._error = self._error or "the live stream stopped unexpectedly"
            self._tell({"kind": "live_error", "message": self._error})

    def _report_underruns(self, run: _Run) -> None:
        underruns = int(run.handle.header[Header.UNDERRUNS])
        if underruns > run.underruns_seen:
            log.warning("live pad: the stream ran dry (%d underruns); rebuffering", underruns)
            run.underruns_seen = underruns

    def _detached(self, pad: int) -> None:
        expected = self._detaches_expected.get(pad, 0)
        if expected:
            self._detaches_expected[pad] = expected - 1
        elif self._run is not None and self._run.pad == pad:
            log.info("live pad: pad %d was given other audio; the stream stops", pad)
            self._stop(detach=False)

    def _reap(self) -> None:
        """Free retired runs once their worker ended and nothing points into their memory any more."""
        now = time.monotonic()
        for run in list(self._retiring):
            if run.handle.alive():
                if now - run.stop_requested_s > _STOP_GRACE_S:
                    run.handle.terminate(0.0)
                continue
            if run.handle.release_memory() or now - run.stop_requested_s > _RELEASE_PATIENCE_S:
                self._retiring.remove(run)


def _unit_or_none(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not 0.0 <= value <= 1.0:
        raise LivePadError(f"{name} must be 0..1 (or None for automatic), got {value!r}")
    return float(value)
