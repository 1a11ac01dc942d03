"""MIDI clock in: follow another device's tempo and Start/Stop (control loop).

When ``midi.clock_source`` names an input port (a regex searched in port names), the daemon follows it: the
tempo is a least-squares fit over the last ``_WINDOW`` clock arrival times (stamped in the MIDI process,
so the pipe and the control loop add no jitter), applied when it moves by more than ``_MIN_CHANGE_BPM``;
Start puts the transport at bar 1 and Stop stops every pad at once. If the clock pauses the transport keeps
its last tempo (flywheel). One clock source at a time; ``/api/health`` shows which.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque

import numpy as np

from groovebox.control.session import Session
from groovebox.engine import commands as c

__all__ = ["MidiClockIn"]

_WINDOW = 48             # clocks (two beats)
_EVERY = 6               # re-estimate every 6 clocks (a 16th note)
_MIN_CHANGE_BPM = 0.05


def tempo_from_clock_times(times_s: list[float]) -> float:
    """Tempo (BPM) from arrival times of consecutive MIDI clocks (24 per beat), by least squares."""
    ticks = np.arange(len(times_s), dtype=np.float64)
    seconds_per_tick = np.polyfit(ticks, np.asarray(times_s, dtype=np.float64), 1)[0]
    return 60.0 / (24.0 * seconds_per_tick)


class MidiClockIn:
    """Follows the clock on the first input port matching ``pattern``; reopens it after a replug."""

    def __init__(self, session: Session, bridge, pattern: str, loop: asyncio.AbstractEventLoop) -> None:
        self.session = session
        self.bridge = bridge
        self.pattern = re.compile(pattern)
        self.loop = loop
        self.port = None
        self._times: deque[float] = deque(maxlen=_WINDOW)
        self._since_estimate = 0
        session.reporters["clock_source"] = self.describe

    def describe(self) -> str:
        return f"midi:{self.port.name}" if self.port is not None else f"midi:{self.pattern.pattern} (not connected)"

    def rescan(self) -> None:
        """(Re)open the source port when it appears; forget it when it goes."""
        names = self.bridge.input_names()
        if self.port is not None and self.port.name not in names:
            self.port.close()
            self.port = None
        if self.port is None:
            name = next((name for name in names if self.pattern.search(name)), None)
            if name is not None:
                self.port = self.bridge.open_input(name, self._received)
                self._times.clear()

    def _received(self, message) -> None:
        """MIDI bridge thread."""
        if message.type in ("clock", "start", "stop", "continue") and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.handle, message)

    def handle(self, message) -> None:
        """One clock/start/stop/continue message (control loop)."""
        if message.type == "clock":
            self._clock(message.time)
        elif message.type == "start":
            self._times.clear()
            self.session.post(c.Locate(0.0))
        elif message.type == "stop":
            self.session.stop_all(quantized=False)

    def _clock(self, arrived_s: float) -> None:
        self._times.append(arrived_s)
        self._since_estimate += 1
        if len(self._times) < _EVERY * 2 or self._since_estimate < _EVERY:
            return
        self._since_estimate = 0
        tempo_bpm = round(tempo_from_clock_times(list(self._times)), 2)
        if abs(tempo_bpm - self.session.tempo_bpm) >= _MIN_CHANGE_BPM and 10.0 <= tempo_bpm <= 1000.0:
            self.session.set_tempo(tempo_bpm)
