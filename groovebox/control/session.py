"""The live session: pad states, transport and health, owned by the control loop (asyncio, one thread).

Every input (MIDI, GPIO, HTTP) ends up as a method call here on the control loop; other threads use
``loop.call_soon_threadsafe``. The session is the only caller of ``Engine.post``; it drains the engine's
events every ``POLL_S`` and keeps the latest pad states, position and meters for the web page and OLED.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from groovebox import __version__
from groovebox.engine import Engine, PadState, PadStateChanged, Status
from groovebox.engine import commands as c
from groovebox.engine.events import BufferReleased, EffectFailed, EffectReleased, TempoChanged
from groovebox.transport import TapTempo

__all__ = ["Session", "SessionInfo", "every"]

log = logging.getLogger(__name__)

POLL_S = 0.02


async def every(period_s: float, stop: asyncio.Event, action: Callable[[], None]) -> None:
    """Run ``action`` on the control loop every ``period_s`` until ``stop`` is set."""
    while not stop.is_set():
        action()
        try:
            await asyncio.wait_for(stop.wait(), period_s)
        except TimeoutError:
            pass


@dataclass
class SessionInfo:
    """What the session was started with (for ``/api/health``)."""

    audio_backend: str
    sample_rate: int
    block_frames: int
    project_name: str = "Untitled"
    project_file: str | None = None
    warnings: list[str] = field(default_factory=list)


class Session:
    """Owns ``AppState``-like live state and talks to the engine. Control loop only."""

    def __init__(self, engine: Engine, audio, info: SessionInfo, quantize: c.Quantize = c.Quantize.BAR) -> None:
        self.engine = engine
        self.audio = audio
        self.info = info
        self.pad_states = [PadState.EMPTY] * len(engine.pads)
        self.tempo_bpm = engine.clock.tempo_bpm
        self.quantize = quantize
        self.listeners: list[Callable[[], None]] = []     # called on the control loop when pad states change
        self.reporters: dict[str, Callable[[], object]] = {}   # extra /api/health entries (e.g. controllers)
        self.event_listeners: list[Callable[[object], None]] = []   # each engine event, after it is applied
        self.live = None          # the live Lyria pad (control.livepad.LivePad) when there is one; CCs steer it
        self.recorder = None      # recording into pads (control.recording.PadRecorder) once the audio runs
        self.mix_recorder = None  # recording the live mix (control.mixrecorder.MixRecorder) once the audio runs
        self.song_recorder = None  # recording pad launches into the song (control.songrecorder.SongRecorder)
        self.scenes = None        # ambient scenes on a pad bank (control.scenes.ScenePlayer)
        self.editor = None        # the project's editor: controllers store tempo and grid changes through it
        self.song_loop = {"enabled": False, "startBar": 0, "endBar": 4}   # the song loop region (not saved)
        self._tap = TapTempo()
        self._started_s = time.monotonic()
        self._reported_underruns = 0

    # ------------------------------------------------------------------ commands
    def post(self, command: c.Command) -> None:
        self.engine.post(command)

    def press(self, pad: int, velocity: float = 1.0) -> None:
        self.post(c.PressPad(pad, velocity=velocity))

    def release(self, pad: int) -> None:
        self.post(c.ReleasePad(pad))

    def stop(self, pad: int, quantized: bool = True) -> None:
        self.post(c.StopPad(pad, quantized=quantized))

    def stop_all(self, quantized: bool = True) -> None:
        self.post(c.StopAll(quantized=quantized))

    def set_quantize(self, quantize: c.Quantize) -> None:
        self.quantize = c.Quantize(quantize)
        self.post(c.SetQuantize(self.quantize))

    def cycle_quantize(self) -> c.Quantize:
        """Next launch grid (off → 1/16 → ... → 4 bars → off), as a quantize button does."""
        self.set_quantize(c.Quantize((self.quantize + 1) % len(c.Quantize)))
        return self.quantize

    def set_tempo(self, tempo_bpm: float) -> None:
        """Change the tempo; ``tempo_bpm`` shows it at once (the engine confirms with a TempoChanged event)."""
        self.post(c.SetTempo(tempo_bpm))
        self.tempo_bpm = tempo_bpm

    def tap(self) -> float | None:
        """Tap tempo; sets the tempo once two taps are in and returns it."""
        tempo_bpm = self._tap.tap(time.monotonic())
        if tempo_bpm is None:
            return None
        tempo_bpm = round(tempo_bpm, 2)
        self.set_tempo(tempo_bpm)
        return tempo_bpm

    # ------------------------------------------------------------------ loop
    async def run(self, stop: asyncio.Event) -> None:
        """Drain engine events until ``stop`` is set."""
        await every(POLL_S, stop, self.poll)
        self.poll()

    def poll(self) -> None:
        """Apply the engine's events to the live state, tell listeners, report new underruns."""
        pads_changed = False
        for event in self.engine.poll_events():
            if isinstance(event, PadStateChanged):
                self.pad_states[event.pad] = event.state
                pads_changed = True
            elif isinstance(event, TempoChanged):
                self.tempo_bpm = event.tempo_bpm
            elif isinstance(event, (BufferReleased, EffectReleased)):
                continue    # dropping the event frees the buffer (or effect) here, off the audio thread
            elif isinstance(event, EffectFailed):
                log.warning("effect slot %d failed and was bypassed: %s", event.slot, event.reason)
                self.info.warnings.append(f"effect slot {event.slot} bypassed: {event.reason}")
            for listener in self.event_listeners:
                listener(event)
        if pads_changed:
            self.notify()
        underruns = self.audio.stats.underruns
        if underruns > self._reported_underruns:
            log.warning("audio underruns: %d (+%d)", underruns, underruns - self._reported_underruns)
            self._reported_underruns = underruns

    def heard_beat(self, at_s: float) -> float:
        """The engine beat leaving the speakers at ``at_s`` (time.monotonic()), from the audio clock."""
        audio, engine = self.audio, self.engine
        latency_s = (audio.latency_s or audio.block_frames / audio.sample_rate) \
            + engine.latency_frames / engine.sample_rate
        frame = audio.stats.callback_frame + (at_s - audio.stats.callback_s - latency_s) * engine.sample_rate
        return engine.clock.beat_at(frame)

    def notify(self) -> None:
        """Tell every listener (LED drivers, displays) that the live state changed."""
        for listener in list(self.listeners):
            listener()

    # ------------------------------------------------------------------ reports
    def health(self) -> dict:
        """The ``/api/health`` document."""
        stats = self.audio.stats
        status = self.engine.status
        return {
            "status": "ok",
            "version": __version__,
            "audio_backend": self.info.audio_backend,
            "sample_rate": self.info.sample_rate,
            "block_frames": self.audio.block_frames,
            "underruns": stats.underruns,
            "audio_faults": stats.faults,
            "dsp_load": round(stats.recent_dsp_load(), 4),
            "uptime_s": round(time.monotonic() - self._started_s, 3),
            "project": self.info.project_name,
            "tempo_bpm": round(float(status[Status.TEMPO_BPM]), 3),
            "beat": round(float(status[Status.BEAT]), 3),
            "heard_at_s": (now_s := time.monotonic()),
            "heard_beat": self.heard_beat(now_s),
            "pads_playing": sum(state in (PadState.PLAYING, PadState.STOPPING) for state in self.pad_states),
            "warnings": list(self.info.warnings),
            "clock_source": "internal",
            **{name: report() for name, report in self.reporters.items()},
        }
