"""Rhythm helpers: 16-step grid strings, Euclidean rhythms, swing and humanising (pure functions).

Swing follows ``reference/generation.md`` §1.2: the off-beat 16th of each 8th moves late by ``(2s-1)`` of a
step, so s = 0.5 is straight and s = 0.58 moves it by 0.16 of a 16th. Humanising offsets are Gaussian
in seconds, scaled by the request temperature (Lyria's default 1.1 gives the nominal spread) and clipped
to two standard deviations so a hit never lands on the neighbouring step.

Timing is humanised with a ``Groove``: one offset for each 16th position within the beat, drawn once per
loop and part, so every beat has the same micro-timing (as a player's feel, or swing, does). Fresh random
offsets per hit would move bars and beats by a millisecond or two against each other, which reads as a
tempo error of 0.1-1 BPM (tempo is measured from the bar lag, or the beat lag in one- and two-bar loops)
and as a different-looking bar line at the loop seam.
"""

from __future__ import annotations

import numpy as np

from groovebox.generate.offline.events import BEATS_PER_BAR, STEP_BEATS, STEPS_PER_BAR

__all__ = [
    "GRID_VELOCITY",
    "NOMINAL_TEMPERATURE",
    "Groove",
    "euclid",
    "humanise_s",
    "parse_grid",
    "step_beat",
    "vary_velocity",
]

GRID_VELOCITY = {"X": 1.0, "x": 0.8, "g": 0.35, "?": 0.75}
_STEPS_PER_BEAT = STEPS_PER_BAR // BEATS_PER_BAR
NOMINAL_TEMPERATURE = 1.1


def parse_grid(grid: str) -> list[tuple[int, float, bool]]:
    """``(step, velocity, optional)`` for every non-rest character of a 16-step grid string."""
    if len(grid) != STEPS_PER_BAR or any(ch not in GRID_VELOCITY and ch != "." for ch in grid):
        raise ValueError(f"a grid is {STEPS_PER_BAR} characters of 'Xxg?.', got {grid!r}")
    return [(step, GRID_VELOCITY[ch], ch == "?") for step, ch in enumerate(grid) if ch != "."]


def euclid(pulses: int, steps: int, rotation: int = 0) -> tuple[bool, ...]:
    """Bjorklund/Euclidean rhythm E(pulses, steps): pulses spread as evenly as possible, rotated left."""
    if not 0 <= pulses <= steps:
        raise ValueError(f"E({pulses},{steps}) is not a rhythm")
    pattern = [(i * pulses) % steps < pulses for i in range(steps)]
    rotation %= steps
    return tuple(pattern[rotation:] + pattern[:rotation])


def step_beat(bar: int, step: float, swing: float) -> float:
    """Beat position of 16th ``step`` (may be fractional) of ``bar`` with swing on the off-beat 16ths."""
    beat = bar * BEATS_PER_BAR + step * STEP_BEATS
    if float(step).is_integer() and int(step) % 2 == 1:
        beat += (2.0 * swing - 1.0) * STEP_BEATS
    return beat


def humanise_s(rng: np.random.Generator, sigma_s: float, temperature: float) -> float:
    """A timing offset in seconds: N(0, sigma) scaled by temperature, clipped to +-2 sigma."""
    spread = sigma_s * temperature / NOMINAL_TEMPERATURE
    if spread <= 0.0:
        return 0.0
    return float(np.clip(rng.normal(0.0, spread), -2.0 * spread, 2.0 * spread))


def vary_velocity(rng: np.random.Generator, velocity: float, temperature: float, spread: float = 0.1) -> float:
    """``velocity`` with a +-``spread`` (relative, at nominal temperature) random change, kept in 0.05..1."""
    scale = spread * temperature / NOMINAL_TEMPERATURE
    return float(np.clip(velocity * (1.0 + rng.uniform(-scale, scale)), 0.05, 1.0))


class Groove:
    """Micro-timing (seconds) for the four 16th positions of a beat, the same in every beat and bar;
    fractional steps use their 16th.

    The beat itself stays exact: every part lands together on each beat, which keeps bar lines (and so
    the loop seam) crisp and alike.
    """

    def __init__(self, rng: np.random.Generator, sigma_s: float, temperature: float) -> None:
        self._offsets_s = [0.0] + [humanise_s(rng, sigma_s, temperature) for _ in range(_STEPS_PER_BEAT - 1)]

    def offset_s(self, step: float) -> float:
        return self._offsets_s[int(step) % _STEPS_PER_BEAT]

    def at_beat(self, beat: float) -> float:
        """The offset of the 16th that ``beat`` (swing included) falls in."""
        return self.offset_s(round((beat % BEATS_PER_BAR) / STEP_BEATS - 0.49))
