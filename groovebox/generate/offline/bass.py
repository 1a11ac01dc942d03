"""Bass part planning by genre style (worker process).

Styles: one-bar templates ("offbeat" house roots, "rolling" techno 16ths, "dembow", "afro", "root8" rock
8ths, "funk" 16th syncopation with octaves and dead notes) or lines derived from the kick and the chords
("808" sustained with glides, "follow_kick" boom-bap, "reese" and "drone" held per chord). Template
characters: ``r`` root, ``5`` fifth, ``8`` octave up, ``7`` seventh, ``g`` dead/ghost root, ``.`` rest.

Decisions:
- Every pitch is a chord tone (or a diatonic approach note), so the bass always stays in the scale.
- Register: roots sit in A1..G#2 (55-104 Hz) for every voice. Lower fundamentals are felt more than heard
  and smear into the neighbouring pitch classes of a key analysis (55 Hz is where its chroma starts).
- Sliding voices (808, acid) glide when the pitch changes, with a probability that temperature scales.
"""

from __future__ import annotations

import numpy as np

from groovebox.generate.offline.events import (
    BEATS_PER_BAR,
    STEP_BEATS,
    STEPS_PER_BAR,
    Hit,
    Note,
)
from groovebox.generate.offline.genres import GenreStyle
from groovebox.generate.offline.harmony import ChordSpan, chord_at
from groovebox.generate.offline.rhythm import Groove, step_beat, vary_velocity
from groovebox.generate.offline.theory import ChordSymbol, Key

__all__ = ["BASS_TEMPLATES", "plan_bass"]

BASS_TEMPLATES: dict[str, str] = {
    "offbeat": "..r...r...r...r.",
    "rolling": ".rrr.rrr.rrr.rrr",
    "dembow": "r..r...rr..r..5.",
    "afro": "r..r..5...r.8..r",
    "root8": "r.r.r.r.r.r.r.r.",
    "funk": "r..gr.8.g.r.r8.g",
}
_LEGATO = {"offbeat": 0.7, "rolling": 0.55, "dembow": 0.9, "afro": 0.75, "root8": 0.85, "funk": 0.6}
_LOW_PITCH = 33
_SLIDING = ("808", "acid")


def plan_bass(style: GenreStyle, voice: str, key: Key, timeline: tuple[ChordSpan, ...], drum_hits: tuple[Hit, ...],
              rng: np.random.Generator, bars: int, density: float, temperature: float) -> tuple[Note, ...]:
    """The bass part of a ``bars``-bar loop, sorted by beat."""
    low = _LOW_PITCH
    groove = Groove(rng, 0.003, temperature)
    if style.bass in BASS_TEMPLATES:
        onsets = _template_onsets(style, key, timeline, rng, bars, density, temperature, low)
    elif style.bass in ("808", "follow_kick"):
        onsets = _kick_onsets(style, key, timeline, drum_hits, rng, bars, density, temperature, low)
    elif style.bass in ("reese", "drone"):
        onsets = _held_onsets(style.bass, key, timeline, low)
    else:
        raise ValueError(f"unknown bass style {style.bass!r}")
    return _finish(onsets, voice, rng, groove, temperature)


def _root(key: Key, chord: ChordSymbol, low: int, degree_offset: int = 0) -> int:
    pitch = key.pitch(chord.degree + degree_offset, 0)
    while pitch < low:
        pitch += 12
    while pitch >= low + 12:
        pitch -= 12
    return pitch


def _tone(key: Key, chord: ChordSymbol, symbol: str, low: int) -> int:
    root = _root(key, chord, low)
    if symbol == "8":
        return root + 12
    if symbol in "57":
        offset = 4 if symbol == "5" else 6
        pitch = key.pitch(chord.degree + offset, 0)
        while pitch <= root:
            pitch += 12
        return pitch
    return root


def _template_onsets(style, key, timeline, rng, bars, density, temperature, low) -> list[tuple[float, float, int, float]]:
    template = BASS_TEMPLATES[style.bass]
    steps = [(step, ch) for step, ch in enumerate(template) if ch != "."]
    legato = _LEGATO[style.bass]
    onsets: list[tuple[float, float, int, float]] = []
    for bar in range(bars):
        bar_steps = dict(steps)
        if density < 0.35:
            bar_steps = {s: ch for s, ch in bar_steps.items() if s % 4 in (0, 2) and ch != "g"} or dict(steps[:1])
        if density > 0.6 and rng.random() < density - 0.4:
            bar_steps[15] = "a"
        ordered = sorted(bar_steps.items())
        for index, (step, ch) in enumerate(ordered):
            nxt = ordered[index + 1][0] if index + 1 < len(ordered) else STEPS_PER_BAR + ordered[0][0]
            beat = step_beat(bar, step, style.swing)
            ch = _substitute(ch, rng, temperature)
            pitch = _approach(key, timeline, bar, low) if ch == "a" else _tone(key, chord_at(timeline, beat), ch, low)
            length = STEP_BEATS * 0.5 if ch == "g" else (nxt - step) * STEP_BEATS * legato
            velocity = 0.35 if ch == "g" else (0.9 if step % 4 == 0 else 0.75)
            onsets.append((beat, length, pitch, velocity))
    return onsets


def _substitute(symbol: str, rng: np.random.Generator, temperature: float) -> str:
    """Occasionally swap a root for its octave or fifth (variation grows with temperature)."""
    if symbol == "r" and rng.random() < 0.08 * temperature:
        return str(rng.choice(["8", "5"]))
    return symbol


def _approach(key: Key, timeline: tuple[ChordSpan, ...], bar: int, low: int) -> int:
    """A scale step below the next bar's root: a diatonic walk into the chord change."""
    next_chord = chord_at(timeline, (bar + 1) * BEATS_PER_BAR)
    return _root(key, next_chord, low + 1, -1)


def _kick_onsets(style, key, timeline, drum_hits, rng, bars, density, temperature, low) -> list[tuple[float, float, int, float]]:
    kick_beats = sorted({h.beat for h in drum_hits if h.voice == "kick"}) or [b * BEATS_PER_BAR for b in range(bars)]
    beats = set(kick_beats)
    for bar in range(bars):
        if rng.random() < 0.3 + 0.5 * density:
            beats.add(step_beat(bar, int(rng.choice([7, 13, 14])), style.swing))   # pickup between kicks
    ordered = sorted(beats)
    total = bars * BEATS_PER_BAR
    legato = 0.98 if style.bass == "808" else 0.8
    onsets: list[tuple[float, float, int, float]] = []
    for index, beat in enumerate(ordered):
        nxt = ordered[index + 1] if index + 1 < len(ordered) else ordered[0] + total
        chord = chord_at(timeline, beat)
        symbol = "r"
        if style.bass == "808" and index and rng.random() < 0.2 * temperature:
            symbol = "8"
        elif style.bass == "follow_kick" and beat % BEATS_PER_BAR >= 2 and rng.random() < 0.3 * temperature:
            symbol = "5"
        length = min((nxt - beat) * legato, 2 * BEATS_PER_BAR if style.bass == "808" else 1.5)
        onsets.append((beat, length, _tone(key, chord, symbol, low), 0.9 if beat % 1 == 0 else 0.75))
    return onsets


def _held_onsets(bass_style: str, key: Key, timeline: tuple[ChordSpan, ...], low: int) -> list[tuple[float, float, int, float]]:
    """One root per bar (re-struck at every bar line, so each bar line of the loop looks alike)."""
    onsets = []
    for span in timeline:
        for start in np.arange(span.start_beat, span.start_beat + span.length_beats - 1e-9, BEATS_PER_BAR):
            length = min(BEATS_PER_BAR, span.start_beat + span.length_beats - start)
            onsets.append((float(start), length + (0.25 if bass_style == "drone" else -0.1),
                           _root(key, span.chord, low), 0.6 if bass_style == "drone" else 0.8))
    return onsets


def _finish(onsets, voice: str, rng: np.random.Generator, groove: Groove, temperature: float) -> tuple[Note, ...]:
    """Notes from ``(beat, length, pitch, velocity)`` onsets: groove timing, velocity spread, slides."""
    notes: list[Note] = []
    previous: int | None = None
    for beat, length, pitch, velocity in sorted(onsets):
        slides = voice in _SLIDING and previous is not None and previous != pitch
        glide = previous if slides and rng.random() < (0.6 if voice == "808" else 0.25) * min(1.5, temperature) else None
        notes.append(Note(beat, max(length, STEP_BEATS * 0.4), pitch, vary_velocity(rng, velocity, temperature, 0.08),
                          groove.at_beat(beat), glide))
        previous = pitch
    return tuple(notes)
