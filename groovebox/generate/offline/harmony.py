"""Harmony planning: progression choice by genre and mood, the chord timeline, and the chord part (worker process).

Decisions:
- The genre row lists progressions per mood; a mood it does not list falls back to ``MOOD_PROGRESSIONS``.
  The seed picks one of the candidates.
- A chord lasts ``bars_per_chord`` bars; a loop shorter than the progression at that rate packs chords
  one per bar (two per bar in a 1-bar loop), so the harmony still moves.
- Voicings are close-position inversions chosen for the smallest movement (``theory.nearest_voicing``)
  inside a register that ``brightness`` raises by up to 10 semitones. When the progression misses one of
  the two notes that define the scale (``theory.colour_tones``), a chord gets it as a 9th/11th/13th.
- Chord rhythms are one-bar 16-step templates per style ("stab", "skank", "comp", "power"), or whole spans
  ("sustain", "pad"). The template is chosen once per loop; temperature drops or adds single hits per bar.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from groovebox.generate.offline.events import (
    BEATS_PER_BAR,
    STEP_BEATS,
    STEPS_PER_BAR,
    Note,
)
from groovebox.generate.offline.genres import MOOD_PROGRESSIONS, GenreStyle
from groovebox.generate.offline.rhythm import (
    Groove,
    parse_grid,
    step_beat,
    vary_velocity,
)
from groovebox.generate.offline.theory import (
    ChordSymbol,
    Key,
    Progression,
    colour_tones,
    nearest_voicing,
    parse_progression,
)

__all__ = ["CHORD_RHYTHMS", "ChordSpan", "choose_progression", "chord_at", "chord_timeline", "plan_chords"]

CHORD_RHYTHMS: dict[str, tuple[str, ...]] = {
    "stab": ("..x..x....x..x..", "..x...x...x...x.", "x..x..x...x..x..", "...x..x....x..x."),
    "skank": ("..x...x...x...x.",),
    "comp": ("..x.x..x..x.x..x", "x..x.x..x.x..x.x", ".x.x..x..x.x..x."),
    "power": ("x.x.x.x.x.x.x.x.", "x.x.x.xxx.x.x.x."),
}
_NOTE_BEATS = {"stab": 0.4, "skank": 0.22, "comp": 0.14, "power": 0.42}


@dataclass(frozen=True)
class ChordSpan:
    start_beat: float
    length_beats: float
    chord: ChordSymbol


def choose_progression(style: GenreStyle, mood: str | None, rng: np.random.Generator) -> Progression:
    """A progression for ``style`` in ``mood`` (None: the genre's default)."""
    candidates = style.progressions.get(mood or "default") or MOOD_PROGRESSIONS.get(mood or "") or style.progressions["default"]
    return parse_progression(candidates[int(rng.integers(len(candidates)))])


def chord_timeline(progression: Progression, bars: int, bars_per_chord: int) -> tuple[ChordSpan, ...]:
    """Chord spans covering ``bars`` bars, cycling through the progression."""
    count = len(progression.chords)
    if bars * 1.0 < count * bars_per_chord:
        bars_per_chord = 1
    span_beats = float(bars_per_chord * BEATS_PER_BAR)
    if bars == 1 and count > 1:
        span_beats = BEATS_PER_BAR / 2
    total_beats = bars * BEATS_PER_BAR
    spans = []
    start = 0.0
    index = 0
    while start < total_beats - 1e-9:
        length = min(span_beats, total_beats - start)
        spans.append(ChordSpan(start, length, progression.chords[index % count]))
        start += length
        index += 1
    return tuple(spans)


def chord_at(timeline: tuple[ChordSpan, ...], beat: float) -> ChordSymbol:
    """The chord sounding at ``beat`` (wrapping around the loop)."""
    total = timeline[-1].start_beat + timeline[-1].length_beats
    beat %= total
    for span in timeline:
        if span.start_beat <= beat < span.start_beat + span.length_beats:
            return span.chord
    return timeline[-1].chord


def plan_chords(style: GenreStyle, key: Key, timeline: tuple[ChordSpan, ...], rng: np.random.Generator,
                density: float, brightness: float, temperature: float, *, strum_s: float = 0.0) -> tuple[Note, ...]:
    """The chord part: voiced chords in the genre's rhythm."""
    voicings = _voicings(style.chords, key, timeline, brightness)
    groove = Groove(rng, 0.006, temperature)
    if style.chords in CHORD_RHYTHMS:
        onsets = _rhythm_onsets(style, timeline, rng, density, temperature)
    else:
        onsets = _held_onsets(style.chords, timeline, density)
    notes: list[Note] = []
    for beat, length, velocity in onsets:
        span_index = next(i for i, s in enumerate(timeline) if s.start_beat <= beat + 1e-9 < s.start_beat + s.length_beats)
        base_offset = groove.at_beat(beat)
        velocity = vary_velocity(rng, velocity, temperature, 0.08)
        for order, pitch in enumerate(voicings[span_index]):
            notes.append(Note(beat, length, pitch, velocity, base_offset + order * strum_s))
    return tuple(notes)


def _register(chord_style: str, brightness: float) -> tuple[int, int]:
    if chord_style == "power":
        low = 40 + round(6 * brightness)
        return low, low + 19
    low = 50 + round(10 * brightness)
    return low, low + 17


def _voicings(chord_style: str, key: Key, timeline: tuple[ChordSpan, ...], brightness: float) -> list[tuple[int, ...]]:
    low, high = _register(chord_style, brightness)
    colours = colour_tones(key, tuple(dict.fromkeys(span.chord for span in timeline)))
    voicings: list[tuple[int, ...]] = []
    previous = None
    for span in timeline:
        chord = span.chord
        if chord_style == "power":
            root = key.pitch(chord.degree, 2)
            while root < low:
                root += 12
            fifth = key.pitch(chord.degree + 4, 2) + 12 * ((root - key.pitch(chord.degree, 2)) // 12)
            voiced = (root, fifth, root + 12) if fifth - root == 7 else (root, root + 12)
        else:
            extra = (key.pitch(colours[chord], 3),) if chord in colours else ()
            voiced = nearest_voicing(chord.pitches(key) + extra, previous, low, high)
        voicings.append(voiced)
        previous = voiced
    return voicings


def _rhythm_onsets(style: GenreStyle, timeline: tuple[ChordSpan, ...], rng: np.random.Generator,
                   density: float, temperature: float) -> list[tuple[float, float, float]]:
    templates = CHORD_RHYTHMS[style.chords]
    template = parse_grid(templates[int(rng.integers(len(templates)))])
    bars = round((timeline[-1].start_beat + timeline[-1].length_beats) / BEATS_PER_BAR)
    note_beats = _NOTE_BEATS[style.chords] * (0.7 + 0.6 * density)
    onsets: list[tuple[float, float, float]] = []
    for bar in range(bars):
        steps = [(step, vel) for step, vel, _ in template]
        if density < 0.3 and len(steps) > 2:
            steps = steps[::2]
        steps = [(s, v) for s, v in steps if rng.random() >= 0.06 * temperature]
        if rng.random() < 0.15 * temperature:
            steps.append((int(rng.integers(STEPS_PER_BAR)), 0.55))
        if style.chords == "comp" and density > 0.55:
            steps += [(s, 0.3) for s in range(STEPS_PER_BAR) if s not in {a for a, _ in steps} and rng.random() < (density - 0.55)]
        for step, vel in sorted(set(steps)):
            onsets.append((step_beat(bar, step, style.swing), note_beats if vel > 0.4 else STEP_BEATS * 0.5, 0.55 + 0.25 * vel))
    return onsets


def _held_onsets(chord_style: str, timeline: tuple[ChordSpan, ...], density: float) -> list[tuple[float, float, float]]:
    """Held chords, struck at every bar line so each bar line of the loop looks alike (a chord held over two
    bars would make the loop start the only place where something new begins): "pad" notes overlap the
    next bar by half a beat (slow attack, so a re-strike is a swell); "sustain" strikes twice when busy."""
    onsets: list[tuple[float, float, float]] = []
    for span in timeline:
        for start in np.arange(span.start_beat, span.start_beat + span.length_beats - 1e-9, BEATS_PER_BAR):
            length = min(BEATS_PER_BAR, span.start_beat + span.length_beats - start)
            if chord_style == "pad":
                onsets.append((float(start), length + 0.5, 0.6))
            elif density > 0.6 and length >= BEATS_PER_BAR:
                half = length / 2
                onsets += [(float(start), half - 0.6, 0.62), (float(start) + half - 0.5, half + 0.45, 0.5)]
            else:
                onsets.append((float(start), length - 0.05, 0.6))
    return onsets
