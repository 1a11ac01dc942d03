"""MIDI clock out: keeps the MIDI process's 24-ppqn clock on the engine's timeline; Start and Stop.

Runs on the control loop. The ticks themselves are sent by the MIDI process (``groovebox.hw.midi_bridge``)
on its own thread, scheduled on ``time.monotonic()``, which both processes share; this side only tells it
the tempo and where a beat falls in time (re-anchored when the tempo changes or the estimate drifts).

Transport: the clock runs all the time (followers show the tempo, Launchpads flash in time). When the first
pad is queued from silence, a Start is scheduled for the beat it will start on, so a follower's bar 1 lands
on our launch; when every pad has stopped, a Stop is sent. A follower plugged in while we play gets a Song
Position Pointer (16ths since our Start) and a Continue on that 16th, so it joins in place.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from groovebox.control.session import Session, every
from groovebox.engine import PadState, PadStateChanged

__all__ = ["MidiClockOut"]

_REANCHOR_S = 0.002
_UPDATE_S = 0.25
_ACTIVE = (PadState.QUEUED, PadState.PLAYING, PadState.STOPPING)


class MidiClockOut:
    """``bridge`` is a ``MidiBridge``; ``outputs()`` returns the output ports that should get clock."""

    def __init__(self, session: Session, bridge, outputs: Callable[[], list]) -> None:
        self.session = session
        self.bridge = bridge
        self.outputs = outputs
        self.running = False           # a Start went out (or is pending) and no Stop since
        self.start_beat = 0.0          # the beat our Start was sent on (song position 0)
        self._sent: tuple | None = None
        session.event_listeners.append(self.on_event)

    async def run(self, stop: asyncio.Event) -> None:
        """Keep the clock anchored until ``stop`` is set."""
        await every(_UPDATE_S, stop, self.update)
        self.bridge.set_clock([], 120.0, 0.0, 0.0)

    def update(self) -> None:
        """Send a new anchor when the ports or tempo changed, or the timing estimate moved."""
        ports = self.outputs()
        port_ids = [port.id for port in ports]
        anchor_s, anchor_beat, tempo_bpm = self._anchor()
        joined = self._sent is not None and set(port_ids) - set(self._sent[0])
        if self._sent is not None:
            sent_ports, sent_tempo, sent_s, sent_beat = self._sent
            predicted_s = sent_s + (anchor_beat - sent_beat) * 60.0 / sent_tempo
            if port_ids == sent_ports and tempo_bpm == sent_tempo and abs(predicted_s - anchor_s) < _REANCHOR_S:
                return
        self.bridge.set_clock(ports, tempo_bpm, anchor_s, anchor_beat)
        self._sent = (port_ids, tempo_bpm, anchor_s, anchor_beat)
        if joined and self.running and anchor_beat > self.start_beat:
            self._join_mid_song(anchor_beat)

    def _anchor(self) -> tuple[float, float, float]:
        """(time, beat, tempo): the beat leaving the speakers now."""
        now_s = time.monotonic()
        return now_s, self.session.heard_beat(now_s), self.session.engine.clock.tempo_bpm

    def _join_mid_song(self, beat_now: float) -> None:
        """A clock follower appeared while we play: tell it where we are (SPP), then Continue on the next 16th.

        (Sent to every clock port; followers already running ignore a Continue.)"""
        sixteenth = int((beat_now - self.start_beat) * 4) + 2          # the next-but-one 16th, safely ahead
        self.bridge.transport("continue", self.start_beat + sixteenth / 4, song_position=sixteenth)

    def on_event(self, event) -> None:
        """Engine events (control loop): schedule Start for the first launch from silence, Stop at the end."""
        if not isinstance(event, PadStateChanged):
            return
        states = self.session.pad_states
        if event.state == PadState.QUEUED and not self.running:
            self.running = True
            self.start_beat = self.session.engine.clock.beat_at(event.due_frame)
            self.bridge.transport("start", self.start_beat)
        elif self.running and not any(state in _ACTIVE for state in states):
            self.running = False
            self.bridge.transport("stop")
