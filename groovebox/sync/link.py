"""Ableton Link: share tempo and bar phase with other Link apps on the network (control loop).

Uses ``aalink`` (its C++ thread runs Link; we only read and write its state here). Every ``_UPDATE_S`` the
engine's beat as heard *now* is compared with Link's beat now: a tempo change on either side is passed to the
other, and a phase difference above ``_MAX_ERROR_S`` is corrected with a ``Locate`` a few blocks ahead (loops
move with the grid), so launches quantize to the Link bar. Link's clock is not ``time.monotonic()``; the
offset between the two is sampled at each update. Quantum: one bar (``beats_per_bar``).
"""

from __future__ import annotations

import asyncio
import time

from groovebox.control.session import Session, every
from groovebox.engine import commands as c

__all__ = ["LinkSync"]

_UPDATE_S = 0.05
_MAX_ERROR_S = 0.002
_AHEAD_BLOCKS = 3


class LinkSync:
    """Joins the Link session and keeps the engine's tempo and bar phase on it."""

    def __init__(self, session: Session) -> None:
        import aalink  # imported here: optional at run time, and only when Link is the clock source

        self.session = session
        self.link = aalink.Link(session.tempo_bpm)
        self.link.quantum = session.engine.clock.beats_per_bar
        self.link.enabled = True
        self._synced_tempo = session.tempo_bpm
        self.corrections = 0
        session.reporters["clock_source"] = lambda: f"link ({self.link.num_peers} peers)"

    async def run(self, stop: asyncio.Event) -> None:
        await every(_UPDATE_S, stop, self.update)
        self.link.enabled = False

    def update(self) -> None:
        self._sync_tempo()
        self._sync_phase()

    def _sync_tempo(self) -> None:
        ours, theirs = self.session.tempo_bpm, self.link.tempo
        if abs(ours - self._synced_tempo) > 1e-6:          # changed here (tap, API): tell Link
            self.link.tempo = ours
            self._synced_tempo = ours
        elif abs(theirs - ours) > 0.005:                    # changed by a peer: follow
            self._synced_tempo = round(theirs, 3)
            self.session.set_tempo(self._synced_tempo)

    def _sync_phase(self) -> None:
        now_s = time.monotonic()
        link_beat = self.link.beat
        quantum = self.link.quantum
        engine_beat = self.session.heard_beat(now_s)
        error_beats = (link_beat - engine_beat + quantum / 2) % quantum - quantum / 2
        if abs(error_beats) * 60.0 / self.session.tempo_bpm <= _MAX_ERROR_S:
            return
        engine, stats = self.session.engine, self.session.audio.stats
        at_frame = stats.frames_total + _AHEAD_BLOCKS * self.session.audio.block_frames
        self.session.post(c.Locate(engine.clock.beat_at(at_frame) + error_beats, at_frame=at_frame))
        self.corrections += 1
