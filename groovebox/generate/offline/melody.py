"""Melody planning: a one-bar motif from a scale-degree random walk, phrased AA'AB (worker process).

Decisions:
- Notes move on a ladder of allowed degrees: the mode's pentatonic subset for most genres, the full mode
  for jazzy/dreamy moods and ambient (both subsets of the request's pitch set, so the melody stays in key).
- Steps are mostly +-1 or +-2 ladder rungs; temperature adds occasional leaps. Notes on the downbeat and
  on beat 3 snap to the nearest tone of the chord sounding there (the third wins ties, unless it is the
  scale's 7th, whose harmonics point at the neighbouring key); the phrase's last note lands on a chord
  tone shared with the tonic triad when there is one, so phrases resolve. ``keyguard`` may later move
  some weak-beat notes onto the notes that define the scale.
- ``density`` sets notes per bar (1..8; ambient 1..4) and leaves rests; ``brightness`` moves the register
  centre from E4 up to E5.
- Phrase form over 4 bars: A A' A B (A' changes the ending, B keeps A's first half and answers it).
"""

from __future__ import annotations

import numpy as np

from groovebox.generate.offline.events import STEP_BEATS, STEPS_PER_BAR, Note
from groovebox.generate.offline.genres import GenreStyle
from groovebox.generate.offline.harmony import ChordSpan, chord_at
from groovebox.generate.offline.rhythm import Groove, step_beat, vary_velocity
from groovebox.generate.offline.theory import (
    MINOR_MODES,
    ChordSymbol,
    Key,
    distinguishing_degrees,
)

__all__ = ["PHRASE_FORMS", "melodic_degrees", "plan_melody"]

PHRASE_FORMS = {1: "A", 2: "AB", 3: "AA'B", 4: "AA'AB"}
_PENTATONIC_MINOR = (0, 2, 3, 4, 6)
_PENTATONIC_MAJOR = (0, 1, 2, 4, 5)
_FULL = (0, 1, 2, 3, 4, 5, 6)
_STRONG_STEPS = (0, 8)

Motif = list[tuple[int, float, int]]   # (16th step, length in steps, ladder index)


def melodic_degrees(key: Key, full_scale: bool) -> tuple[int, ...]:
    """Scale degrees (mod 7, relative to the mode's tonic) a melody may use."""
    if full_scale:
        return _FULL
    return _PENTATONIC_MINOR if key.mode in MINOR_MODES else _PENTATONIC_MAJOR


def plan_melody(style: GenreStyle, key: Key, timeline: tuple[ChordSpan, ...], rng: np.random.Generator, bars: int,
                density: float, brightness: float, temperature: float, mood: str | None) -> tuple[Note, ...]:
    """The melody part of a ``bars``-bar loop."""
    full = style.name == "ambient" or mood in ("jazzy", "dreamy")
    allowed = melodic_degrees(key, full)
    centre = key.degree_near(64 + round(12 * brightness))
    ladder = [d for d in range(centre - 9, centre + 10) if d % 7 in allowed]
    per_bar = 1 + round(density * (3 if style.name == "ambient" else 7))
    motif_a = _motif(rng, ladder, per_bar, temperature)
    phrase_motifs = {"A": motif_a, "A'": _vary_ending(motif_a, rng, ladder, temperature),
                     "B": _answer(motif_a, rng, ladder, per_bar, temperature),
                     "C": _answer(motif_a, rng, ladder, per_bar, temperature)}
    groove = Groove(rng, 0.005, temperature)
    notes: list[Note] = []
    for bar in range(bars):
        name = _form_name(bar, bars)
        last_of_phrase = bar == bars - 1 or bar % 4 == 3
        notes += _realise(phrase_motifs[name], bar, key, timeline, ladder, style, rng, groove, temperature, last_of_phrase)
    return tuple(notes)


def _form_name(bar: int, bars: int) -> str:
    phrase_start = bar - bar % 4
    phrase_length = min(4, bars - phrase_start)
    form = PHRASE_FORMS[phrase_length].replace("A'", "a")
    name = form[bar - phrase_start]
    if name == "B" and phrase_start % 8 == 4:
        name = "C"
    return {"a": "A'"}.get(name, name)


def _rhythm(rng: np.random.Generator, count: int, first_step: int = 0) -> list[tuple[int, float]]:
    """``count`` onsets (16th steps from ``first_step``) favouring beats and 8ths, with lengths that leave rests."""
    candidates = np.arange(first_step, STEPS_PER_BAR)
    weights = np.where(candidates % 4 == 0, 4.0, np.where(candidates % 2 == 0, 2.0, 0.7))
    count = max(1, min(count, len(candidates)))
    chosen = sorted(int(s) for s in rng.choice(candidates, size=count, replace=False, p=weights / weights.sum()))
    rhythm = []
    for index, step in enumerate(chosen):
        gap = (chosen[index + 1] if index + 1 < len(chosen) else STEPS_PER_BAR) - step
        rhythm.append((step, max(1.0, gap * float(rng.uniform(0.55, 0.95)))))
    return rhythm


def _walk(rng: np.random.Generator, start: int, count: int, ladder_size: int, temperature: float) -> list[int]:
    """Ladder indices of a random walk: mostly steps of one or two rungs, leaps more likely when hot."""
    moves = np.array([-2, -1, 0, 1, 2, -4, 4])
    leap = min(0.3, 0.06 * temperature)
    probs = np.array([0.15, 0.3, 0.1, 0.3, 0.15, 0.0, 0.0]) * (1 - leap) + np.array([0, 0, 0, 0, 0, leap / 2, leap / 2])
    indices = [start]
    for _ in range(count - 1):
        nxt = indices[-1] + int(rng.choice(moves, p=probs))
        if not 0 <= nxt < ladder_size:
            nxt = indices[-1] - (nxt - indices[-1])        # bounce off the register edge
        indices.append(int(np.clip(nxt, 0, ladder_size - 1)))
    return indices


def _motif(rng: np.random.Generator, ladder: list[int], per_bar: int, temperature: float) -> Motif:
    rhythm = _rhythm(rng, per_bar)
    start = len(ladder) // 2 + int(rng.integers(-2, 3))
    indices = _walk(rng, start, len(rhythm), len(ladder), temperature)
    return [(step, length, index) for (step, length), index in zip(rhythm, indices)]


def _vary_ending(motif: Motif, rng: np.random.Generator, ladder: list[int], temperature: float) -> Motif:
    """A': the same rhythm with the last one or two notes walked anew."""
    keep = max(1, len(motif) - int(rng.integers(1, 3)))
    tail = _walk(rng, motif[keep - 1][2], len(motif) - keep + 1, len(ladder), temperature)[1:]
    return motif[:keep] + [(step, length, index) for (step, length, _), index in zip(motif[keep:], tail)]


def _answer(motif: Motif, rng: np.random.Generator, ladder: list[int], per_bar: int, temperature: float) -> Motif:
    """B: the first half of A, then a new second half."""
    head = [note for note in motif if note[0] < STEPS_PER_BAR // 2]
    rhythm = _rhythm(rng, max(1, per_bar - len(head)), STEPS_PER_BAR // 2)
    start = head[-1][2] if head else len(ladder) // 2
    indices = _walk(rng, start, len(rhythm) + 1, len(ladder), temperature)[1:]
    if head:
        gap = rhythm[0][0] - head[-1][0]
        head[-1] = (head[-1][0], min(head[-1][1], gap), head[-1][2])
    return head + [(step, length, index) for (step, length), index in zip(rhythm, indices)]


def _chord_tone_near(degree: int, chord: ChordSymbol, leading_tone: int, prefer_tonic: bool = False) -> int:
    """The nearest chord tone, the third winning ties (it carries the chord's quality) unless it is the
    scale's 7th (``leading_tone``, a mode degree)."""
    tones = {d % 7 for d in chord.degrees()}
    if prefer_tonic and tones & {0, 2, 4}:
        tones &= {0, 2, 4}                 # a tone shared with the tonic triad resolves the phrase
    third = (chord.degree + 2) % 7
    if third == leading_tone:
        third = -1                         # the scale's 7th as a third leaks onto the neighbouring key's note
    return min((d for d in range(degree - 3, degree + 4) if d % 7 in tones),
               key=lambda d: (abs(d - degree) - (1 if d % 7 == third else 0), d))


def _realise(motif: Motif, bar: int, key: Key, timeline: tuple[ChordSpan, ...], ladder: list[int], style: GenreStyle,
             rng: np.random.Generator, groove: Groove, temperature: float, resolve: bool) -> list[Note]:
    notes = []
    leading_tone = distinguishing_degrees(key)[1]
    for position, (step, length_steps, index) in enumerate(motif):
        beat = step_beat(bar, step, style.swing)
        degree = ladder[index]
        if step in _STRONG_STEPS or position == 0:
            degree = _chord_tone_near(degree, chord_at(timeline, beat), leading_tone)
        if resolve and position == len(motif) - 1:
            degree = _chord_tone_near(degree, chord_at(timeline, beat), leading_tone, prefer_tonic=True)
        velocity = 0.8 if step % 4 == 0 else 0.65
        notes.append(Note(beat, length_steps * STEP_BEATS, key.pitch(degree), vary_velocity(rng, velocity, temperature),
                          groove.at_beat(beat)))
    return notes
