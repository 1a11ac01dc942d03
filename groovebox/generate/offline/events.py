"""Symbolic events of an offline loop: drum hits, notes and the parts that hold them (pure data).

Times are in beats from the loop start (quarter notes, swing already applied) plus a humanising offset in
seconds, so the same plan renders at any tempo without drift. Velocities are 0..1.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BEATS_PER_BAR", "STEPS_PER_BAR", "STEP_BEATS", "Hit", "Note", "Part"]

BEATS_PER_BAR = 4
STEPS_PER_BAR = 16
STEP_BEATS = BEATS_PER_BAR / STEPS_PER_BAR


@dataclass(frozen=True, slots=True)
class Hit:
    """One drum hit of ``voice`` ("kick", "snare", "hat"...)."""

    beat: float
    voice: str
    velocity: float
    offset_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Note:
    """One pitched note (MIDI ``pitch``); ``glide_from`` is the pitch a sliding voice (808, acid) starts from."""

    beat: float
    length_beats: float
    pitch: int
    velocity: float
    offset_s: float = 0.0
    glide_from: int | None = None


@dataclass(frozen=True)
class Part:
    """One stem's events and the voice that plays them: ``"gm:<program>"``, a numpy voice name, or for drums
    ``"kit:electronic"`` (numpy kit) / ``"kit:acoustic"`` (GM kit one-shots)."""

    name: str
    voice: str
    notes: tuple[Note, ...] = ()
    hits: tuple[Hit, ...] = ()
    level_db: float = 0.0
    reverb: float = 0.0
    pan: float = 0.0

    @property
    def is_gm(self) -> bool:
        return self.voice.startswith("gm:")

    @property
    def gm_program(self) -> int:
        return int(self.voice.split(":", 1)[1])
