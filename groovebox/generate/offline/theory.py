"""Keys, modes, diatonic chords and progressions for the offline generator (pure functions, worker process).

Decisions:
- Lyria's ``Scale`` names a *pitch set* (a major scale and its relative minor). Every note the generator
  writes for bass, chords and melody comes from that set, so a loop always matches its requested scale.
  Modes are rotations of the set: "dorian on the 2nd degree" keeps the seven pitch classes and only moves
  the tonal centre, which is how a funk Mixolydian vamp or a Dorian house vamp stays inside ``Scale``.
- Chords are stacked diatonic thirds on a scale degree (``ChordSymbol``), written as roman numerals in the
  genre tables (``"aeolian: i7 iv7"``). The numeral's case documents the expected quality; the quality that
  sounds is whatever the pitch set gives (a unit test checks the tables agree).
- Degrees are 0-based and may be negative or above 6; they wrap into other octaves.
- Seventh and ninth chords are shell voicings without the fifth: the third and seventh carry the
  harmony, and fewer, clearer tones also read better in a key analysis (the fifth's harmonics add the
  notes of the neighbouring keys).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from groovebox.generate.request import Scale, scale_tonic_pitch_class

__all__ = [
    "MAJOR_STEPS",
    "MINOR_MODES",
    "MODES",
    "ChordSymbol",
    "Key",
    "Progression",
    "chord_quality",
    "colour_tones",
    "distinguishing_degrees",
    "nearest_voicing",
    "parse_progression",
]

MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)
MODES = {"ionian": 0, "dorian": 1, "phrygian": 2, "lydian": 3, "mixolydian": 4, "aeolian": 5}
MINOR_MODES = frozenset({"dorian", "phrygian", "aeolian"})

# Chord shapes as degree offsets above the root (stacked diatonic thirds unless named otherwise).
_SHAPES = {
    "": (0, 2, 4),
    "7": (0, 2, 6),           # shell voicing: root, third, seventh (the fifth adds nothing but mud)
    "9": (0, 2, 6, 8),
    "add9": (0, 2, 4, 8),
    "sus2": (0, 1, 4),
    "sus4": (0, 3, 4),
    "5": (0, 4),
}
_ROMAN = {"i": 0, "ii": 1, "iii": 2, "iv": 3, "v": 4, "vi": 5, "vii": 6}
_NUMERAL = re.compile(r"^(?P<roman>[ivIV]+)(?P<shape>7|9|add9|sus2|sus4|5)?$")


@dataclass(frozen=True)
class Key:
    """A pitch set (``scale``) with a tonal centre (``mode``)."""

    scale: Scale
    mode: str

    @property
    def tonic_pc(self) -> int:
        """Pitch class of the mode's tonic (0 = C)."""
        major_pc = scale_tonic_pitch_class(self.scale)
        if major_pc is None:
            raise ValueError("a Key needs a concrete scale, not SCALE_UNSPECIFIED")
        return (major_pc + MAJOR_STEPS[MODES[self.mode]]) % 12

    @property
    def is_minor(self) -> bool:
        return self.mode in MINOR_MODES

    def pitch_classes(self) -> frozenset[int]:
        """The seven pitch classes of the scale."""
        return frozenset((self.tonic_pc + step) % 12 for step in self.steps())

    def steps(self) -> tuple[int, ...]:
        """Semitones of degrees 0..6 above the tonic."""
        rotation = MODES[self.mode]
        rotated = MAJOR_STEPS[rotation:] + tuple(s + 12 for s in MAJOR_STEPS[:rotation])
        return tuple(s - MAJOR_STEPS[rotation] for s in rotated)

    def pitch(self, degree: int, octave: int = 4) -> int:
        """MIDI note of scale ``degree`` (0-based, may wrap) with the tonic in ``octave`` (MIDI octave 4 = C4..B4)."""
        octave_shift, index = divmod(degree, 7)
        return 12 * (octave + 1 + octave_shift) + self.tonic_pc + self.steps()[index]

    def degree_near(self, midi: int) -> int:
        """The scale degree (with octave folded in) whose pitch is closest to ``midi``, preferring lower."""
        base = 7 * ((midi - 12 - self.tonic_pc) // 12 - 4)
        candidates = range(base - 7, base + 15)
        return min(candidates, key=lambda d: (abs(self.pitch(d) - midi), self.pitch(d)))


@dataclass(frozen=True)
class ChordSymbol:
    """A diatonic chord: root scale degree plus a shape name (``""``, ``"7"``, ``"9"``, ``"sus2"``...)."""

    degree: int
    shape: str = ""
    numeral: str = ""

    def degrees(self) -> tuple[int, ...]:
        """Scale degrees of the chord tones, root first."""
        return tuple(self.degree + offset for offset in _SHAPES[self.shape])

    def pitches(self, key: Key, octave: int = 3) -> tuple[int, ...]:
        """MIDI notes of the chord in root position starting in ``octave``."""
        return tuple(key.pitch(d, octave) for d in self.degrees())


@dataclass(frozen=True)
class Progression:
    mode: str
    chords: tuple[ChordSymbol, ...]
    text: str


def parse_progression(text: str) -> Progression:
    """Parse ``"aeolian: i7 iv7"`` (mode, then roman numerals separated by spaces or dashes)."""
    mode, _, numerals = text.partition(":")
    mode = mode.strip().lower()
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r} in progression {text!r}")
    chords = []
    for numeral in numerals.replace("-", " ").split():
        match = _NUMERAL.match(numeral)
        if match is None or match["roman"].lower() not in _ROMAN:
            raise ValueError(f"bad numeral {numeral!r} in progression {text!r}")
        chords.append(ChordSymbol(_ROMAN[match["roman"].lower()], match["shape"] or "", numeral))
    if not chords:
        raise ValueError(f"empty progression {text!r}")
    return Progression(mode, tuple(chords), text)


def chord_quality(key: Key, chord: ChordSymbol) -> str:
    """"major", "minor", "diminished" or "augmented": the triad quality the pitch set gives the chord."""
    root, third, fifth = (key.pitch(chord.degree + offset) for offset in (0, 2, 4))
    return {(4, 7): "major", (3, 7): "minor", (3, 6): "diminished", (4, 8): "augmented"}[(third - root, fifth - root)]


def nearest_voicing(pitches: tuple[int, ...], previous: tuple[int, ...] | None, low: int, high: int) -> tuple[int, ...]:
    """Chord tones (pitch classes of ``pitches``) placed inside ``[low, high]`` as close as possible to ``previous``.

    Tries every inversion of the close-position chord that fits the range and keeps the one whose pitches
    move least from ``previous`` (or whose centre is nearest the middle of the range for the first chord).
    """
    ordered = sorted(pitches)
    candidates = []
    for inversion in range(len(ordered)):
        shape = ordered[inversion:] + [p + 12 for p in ordered[:inversion]]
        for shift in range(-48, 49, 12):
            voiced = tuple(p + shift for p in shape)
            if low <= voiced[0] and voiced[-1] <= high:
                candidates.append(voiced)
    if not candidates:
        return tuple(ordered)
    if previous is None:
        middle = (low + high) / 2
        return min(candidates, key=lambda v: (abs(sum(v) / len(v) - middle), v))
    return min(candidates, key=lambda v: (_movement(v, previous), v))


def _movement(voiced: tuple[int, ...], previous: tuple[int, ...]) -> float:
    return sum(min(abs(p - q) for q in previous) for p in voiced) + abs(sum(voiced) / len(voiced) - sum(previous) / len(previous))


def distinguishing_degrees(key: Key) -> tuple[int, int]:
    """Mode degrees of the scale's 4th and 7th (major numbering): the two notes that tell a diatonic set
    from its neighbours a fifth up and down (each neighbour shares the other six)."""
    rotation = MODES[key.mode]
    return (3 - rotation) % 7, (6 - rotation) % 7


# extensions that sound as colour, not clash: (degrees above the root, semitones above the root, triad quality)
_COLOUR = ((1, 2, None), (3, 5, "minor"), (5, 9, None))


def colour_tones(key: Key, chords: tuple[ChordSymbol, ...]) -> dict[ChordSymbol, int]:
    """Extra degrees for chords so the progression sounds both ``distinguishing_degrees``.

    For each of the two that no chord contains, the first chord on which it is a major 9th, a minor
    chord's 11th or a 13th (and that has no colour yet) gets it; if no chord takes it consonantly, none does.
    """
    present = {d % 7 for chord in chords for d in chord.degrees()}
    extras: dict[ChordSymbol, int] = {}
    for wanted in distinguishing_degrees(key):
        if wanted not in present:
            found = _colour_for(key, tuple(c for c in chords if c not in extras), wanted)
            if found:
                extras[found[0]] = found[1]
    return extras


def _colour_for(key: Key, chords: tuple[ChordSymbol, ...], wanted: int) -> tuple[ChordSymbol, int] | None:
    for chord in chords:
        if chord.shape == "5":
            continue
        above = (wanted - chord.degree) % 7
        for degrees, semitones, quality in _COLOUR:
            interval = (key.pitch(chord.degree + degrees) - key.pitch(chord.degree)) % 12
            if above == degrees and interval == semitones and quality in (None, chord_quality(key, chord)):
                return chord, chord.degree + degrees
    return None
