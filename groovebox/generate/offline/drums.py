"""Drum part planning: genre grids varied per bar, fills, Euclidean percussion, swing, humanising (worker process).

Decisions:
- The grid of a genre row is the template of every bar. Density thins it (8th hats instead of 16ths, no
  optional hits) or thickens it (16th ghost hats, snare ghost notes); temperature sets how often a bar
  mutates and how loose the timing is; temperature 0 plays the template exactly.
- Fills go in the last bar of every 4-bar phrase and in the loop's last bar (only when the loop has two
  bars or more, so a 1-bar loop never repeats a fill each bar). No row uses a crash: one on the first bar
  would make the loop seam the only bar line with a cymbal, which the quality gate reads as a click.
- Extra percussion is Euclidean (E(k, n) over 16ths), rotated once per loop by the seed so options differ,
  among the rotations that keep a hit on the downbeat.
- Timing spreads (seconds, at nominal temperature): kick 2 ms, snare/clap 6 ms, hats and percussion 8 ms.
"""

from __future__ import annotations

import numpy as np

from groovebox.generate.offline.events import STEPS_PER_BAR, Hit
from groovebox.generate.offline.genres import Euclid, GenreStyle
from groovebox.generate.offline.rhythm import (
    Groove,
    euclid,
    parse_grid,
    step_beat,
    vary_velocity,
)

__all__ = ["PHRASE_BARS", "plan_drums"]

PHRASE_BARS = 4
_TIMING_SIGMA_S = {"kick": 0.002, "snare": 0.006, "clap": 0.006, "rim": 0.006}
_DEFAULT_SIGMA_S = 0.008
_HAT_VOICES = ("hat",)
_FILL_VOICES = ("snare", "clap", "hat", "ohat", "tom_hi", "tom_mid", "tom_lo")
_LAST_FILL_STEPS = (11, 14)   # 16ths of an end-of-bar fill: the last two stay free so no fill tail rings across the seam

Step = tuple[float, str, float]   # (16th step within the bar, voice, velocity)


def plan_drums(style: GenreStyle, rng: np.random.Generator, bars: int, density: float, temperature: float) -> tuple[Hit, ...]:
    """Every drum hit of a ``bars``-bar loop, sorted by beat."""
    rotations = {e: _downbeat_rotation(e, rng) for e in style.extra_percussion}
    voices = sorted(set(style.drums) | {e.voice for e in style.extra_percussion} | set(_FILL_VOICES))
    grooves = {voice: Groove(rng, _TIMING_SIGMA_S.get(voice, _DEFAULT_SIGMA_S), temperature) for voice in voices}
    optional = {(voice, step): bool(rng.random() < 0.5) for voice, grid in sorted(style.drums.items())
                for step, _, maybe in parse_grid(grid) if maybe}
    hits: list[Hit] = []
    for bar in range(bars):
        steps = _bar_template(style, rng, optional, density, temperature)
        steps = _mutate(steps, rng, temperature)
        if bars >= 2 and (bar % PHRASE_BARS == PHRASE_BARS - 1 or bar == bars - 1):
            steps = _apply_fill(style.fill, steps, rng, temperature)
        elif style.fill == "hat_roll" and rng.random() < 0.35 * min(1.0, temperature):
            steps = _apply_fill("hat_roll", steps, rng, temperature, beat_index=int(rng.choice([1, 3])))
        steps += _euclid_steps(style, rotations, density)
        hits += [_place(style, rng, grooves[voice], bar, step, voice, velocity, temperature) for step, voice, velocity in steps]
    return tuple(sorted(hits, key=lambda h: (h.beat, h.voice)))


def _bar_template(style: GenreStyle, rng: np.random.Generator, optional: dict[tuple[str, int], bool],
                  density: float, temperature: float) -> list[Step]:
    """One bar of the grid. A ``?`` hit keeps its per-loop coin toss, re-tossed per bar with p = temperature / 2."""
    steps: list[Step] = []
    for voice, grid in style.drums.items():
        for step, velocity, maybe in parse_grid(grid):
            if maybe:
                keep = rng.random() < 0.5 if rng.random() < min(1.0, 0.5 * temperature) else optional[(voice, step)]
                if not keep:
                    continue
            if voice in _HAT_VOICES and density < 0.35 and step % 2:
                continue                       # sparse: 8th hats only
            if voice == "kick" and density < 0.2 and step % 4:
                continue                       # very sparse: kicks on beats only
            steps.append((float(step), voice, velocity))
    steps += _density_extras(style, rng, steps, density)
    open_steps = {s for s, v, _ in steps if v == "ohat"}
    return [(s, v, vel) for s, v, vel in steps if not (v == "hat" and s in open_steps)]   # open hat chokes closed


def _density_extras(style: GenreStyle, rng: np.random.Generator, steps: list[Step], density: float) -> list[Step]:
    """Busier bars: 16th ghost hats between 8th hats, snare ghost notes."""
    extras: list[Step] = []
    taken = {(s, v) for s, v, _ in steps}
    if density > 0.65 and any(v == "hat" for _, v, _ in steps):
        chance = (density - 0.65) / 0.35
        extras += [(float(s), "hat", 0.3) for s in range(1, STEPS_PER_BAR, 2)
                   if (s, "hat") not in taken and rng.random() < chance]
    snare = "snare" if "snare" in style.drums else None
    if snare and density > 0.5:
        chance = 0.5 * (density - 0.5)
        extras += [(float(s), snare, 0.3) for s in (3, 7, 9, 11, 15)
                   if (s, snare) not in taken and rng.random() < chance]
    return extras


def _mutate(steps: list[Step], rng: np.random.Generator, temperature: float) -> list[Step]:
    """Per-bar variation: hats (not on the downbeat) drop or turn into ghost notes with p = 0.08 * temperature."""
    chance = 0.08 * temperature
    varied: list[Step] = []
    for step, voice, velocity in steps:
        if voice in _HAT_VOICES and step != 0.0 and rng.random() < chance:
            if rng.random() < 0.5:
                continue
            velocity *= 0.5
        varied.append((step, voice, velocity))
    return varied


def _apply_fill(fill: str, steps: list[Step], rng: np.random.Generator, temperature: float,
                beat_index: int = 3) -> list[Step]:
    """The fill variation around beat ``beat_index`` (default the last beat of the bar).

    A fill at the end of the bar runs from the 12th to the 14th 16th and leaves the last two 16ths to
    let it ring out: the loop seam then looks like any other bar line (the quality gate compares them),
    and the downbeat after it lands clean.
    """
    if fill == "none" or rng.random() > min(1.0, 0.4 + 0.5 * temperature):
        return steps
    first, end = (_LAST_FILL_STEPS if beat_index == 3 else (4 * beat_index, 4 * beat_index + 4))
    taken = {(a, b) for a, b, _ in steps}
    if fill == "kick_drop":
        return [s for s in steps if not (s[1] == "kick" and s[0] >= 8)]
    if fill == "hat_roll":
        kept = [s for s in steps if not (s[1] == "hat" and first <= s[0] < end)]
        count = int(rng.choice([6, 8, 12]))               # per beat: 16th triplets, 32nds or a 32nd-triplet ratchet
        roll = np.arange(first, end, 4 / count)
        return kept + [(float(p), "hat", 0.45 + 0.4 * (p - first) / (end - first)) for p in roll]
    if fill == "snare_roll":
        voice = "snare" if any(v == "snare" for _, v, _ in steps) else "clap"
        return steps + [(float(s), voice, 0.45 + 0.15 * (s - first)) for s in range(first, end) if (float(s), voice) not in taken]
    if fill == "tom_fill":
        kept = [s for s in steps if not (s[1] in ("snare", "hat", "ohat") and s[0] >= first)]
        return kept + [(float(first + i), voice, 0.75) for i, voice in enumerate(("tom_hi", "tom_mid", "tom_lo"))]
    if fill == "open_hat":
        kept = [s for s in steps if not (s[1] in ("hat", "ohat", "clap") and s[0] > first)]
        return kept + [(float(first + 1), "ohat", 0.85)]
    raise ValueError(f"unknown fill {fill!r}")


def _downbeat_rotation(extra: Euclid, rng: np.random.Generator) -> int:
    """A seeded rotation of E(k, n) that still plays the downbeat (so every bar line carries the pattern)."""
    options = [r for r in range(extra.steps) if euclid(extra.pulses, extra.steps, r)[0]]
    return options[int(rng.integers(len(options)))]


def _euclid_steps(style: GenreStyle, rotations: dict, density: float) -> list[Step]:
    steps: list[Step] = []
    for extra in style.extra_percussion:
        if density < extra.min_density:
            continue
        pattern = euclid(extra.pulses, extra.steps, rotations[extra])
        for start in range(0, STEPS_PER_BAR, extra.steps):
            steps += [(float(start + i), extra.voice, extra.velocity * (1.0 if i == 0 else 0.8))
                      for i, on in enumerate(pattern) if on and start + i < STEPS_PER_BAR]
    return steps


def _place(style: GenreStyle, rng: np.random.Generator, groove: Groove, bar: int, step: float, voice: str,
           velocity: float, temperature: float) -> Hit:
    offset_s = groove.offset_s(step)
    if voice in ("snare", "clap"):
        offset_s += style.laid_back_s
    if step != 0.0:                        # the downbeat keeps its written velocity: every bar line alike
        velocity = vary_velocity(rng, velocity, temperature)
    return Hit(step_beat(bar, step, style.swing), voice, velocity, offset_s)
