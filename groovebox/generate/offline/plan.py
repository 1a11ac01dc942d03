"""The musical plan of an offline loop: request + seed -> genre, tempo, key, chords and the parts' events.

Pure and deterministic (worker process): the same request and seed give the same plan. Each part draws
from its own generator (``numpy.random.default_rng([seed, stream])``), so muting or adding a part never
changes the others, and option k of a request (seed + k) differs in every part.

Decisions:
- Tempo: ``request.bpm``, else the genre's typical tempo. Scale: ``request.scale``, else drawn from the seed.
  Mode and progression: from the genre row and the mood words (major or minor material), then the seed.
- Parts: part words restrict (see ``words.py``); mute_bass / mute_drums / only_bass_and_drums apply on top.
  If those flags remove everything, the loop falls back to chords and melody rather than silence.
- Voices: instrument words choose them; otherwise the seed picks from the genre row's candidates. A
  sustaining voice (pads, strings, choir) turns a rhythmic chord style into held chords, and a short voice
  (stab, pluck) turns held chords into stabs.
- The drum plan is always made (the bass follows its kicks) even when drums are not rendered.
- Last, ``keyguard.guard_key`` nudges melody notes so the loop cannot read as a neighbouring key.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from groovebox.generate.offline.bass import plan_bass
from groovebox.generate.offline.drums import plan_drums
from groovebox.generate.offline.events import Part
from groovebox.generate.offline.genres import GENRE_TABLE, GenreStyle
from groovebox.generate.offline.harmony import ChordSpan, choose_progression, chord_timeline, plan_chords
from groovebox.generate.offline.keyguard import guard_key
from groovebox.generate.offline.melody import plan_melody
from groovebox.generate.offline.theory import Key, Progression
from groovebox.generate.offline.words import (
    PART_ORDER,
    brightness_shift,
    density_shift,
    find_genre,
    find_mood,
    find_parts,
    find_voices,
    strip_genre_words,
)
from groovebox.generate.request import GenerationRequest, Scale

__all__ = ["Plan", "make_plan", "resolve_genre", "choose_parts", "SUSTAINING_VOICES"]

SUSTAINING_VOICES = frozenset({"pad", "gm:48", "gm:49", "gm:50", "gm:52", "gm:88", "gm:89", "gm:91", "gm:95"})
_SHORT_VOICES = frozenset({"stab", "pluck"})
_RHYTHMIC_CHORDS = ("stab", "skank", "comp", "power")
_STREAM = {"scale": 1, "progression": 2, "voices": 3, "drums": 10, "bass": 11, "chords": 12, "melody": 13}
_PANS = {"drums": 0.0, "bass": 0.0, "chords": -0.2, "melody": 0.2}


@dataclass(frozen=True)
class Plan:
    genre: str
    style: GenreStyle
    bpm: int
    bars: int
    scale: Scale
    key: Key
    progression: Progression
    timeline: tuple[ChordSpan, ...]
    mood: str | None
    density: float
    brightness: float
    temperature: float
    kit: str
    parts: tuple[Part, ...]


def resolve_genre(request: GenerationRequest) -> str:
    """The genre row for a request: explicit genre, else keywords in ``described()``, else "house"."""
    return find_genre(request.genre, request.described())


def _rng(seed: int, stream: str) -> np.random.Generator:
    return np.random.default_rng([seed, _STREAM[stream]])


def choose_parts(request: GenerationRequest, style: GenreStyle, words: str) -> tuple[str, ...]:
    """The parts to generate, in stem order (``words``: the request text with genre phrases removed)."""
    parts = find_parts(words) or set(style.parts)
    if request.only_bass_and_drums:
        parts = (parts & {"drums", "bass"}) or {"drums", "bass"}
    if request.mute_bass:
        parts.discard("bass")
    if request.mute_drums:
        parts.discard("drums")
    if not parts:
        parts = {"chords", "melody"}
    return tuple(p for p in PART_ORDER if p in parts)


def _unit(value: float | None, default: float, shift: float) -> float:
    if value is not None:
        return float(value)
    return float(np.clip(default + shift, 0.05, 1.0))


def _pick(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.integers(len(options)))]


def _chord_style(style: GenreStyle, voice: str) -> str:
    if voice in SUSTAINING_VOICES and style.chords in _RHYTHMIC_CHORDS:
        return "sustain"
    if voice in _SHORT_VOICES and style.chords in ("sustain", "pad"):
        return "stab"
    return style.chords


def make_plan(request: GenerationRequest, seed: int) -> Plan:
    """The full plan for one loop of ``request`` with ``seed``."""
    genre = resolve_genre(request)
    style = GENRE_TABLE[genre]
    text = request.described().lower()
    words = strip_genre_words(text)
    mood = find_mood(request.mood, text)
    density = _unit(request.density, style.density, density_shift(text))
    brightness = _unit(request.brightness, style.brightness, brightness_shift(text))
    scale = request.scale
    if scale == Scale.SCALE_UNSPECIFIED:
        scale = _pick(_rng(seed, "scale"), tuple(s for s in Scale if s != Scale.SCALE_UNSPECIFIED))
    progression = choose_progression(style, mood, _rng(seed, "progression"))
    key = Key(Scale(scale), progression.mode)
    bars = request.bars
    timeline = chord_timeline(progression, bars, style.bars_per_chord)
    named = find_voices(words)
    voice_rng = _rng(seed, "voices")
    voices = {"bass": _pick(voice_rng, style.bass_voices), "chords": _pick(voice_rng, style.chord_voices),
              "melody": _pick(voice_rng, style.melody_voices)}
    voices.update({role: voice for role, voice in named.items() if role in voices})
    kit = named.get("kit", style.kit)
    temperature = request.temperature
    drum_hits = plan_drums(style, _rng(seed, "drums"), bars, density, temperature)
    parts = []
    for name in choose_parts(request, style, words):
        level = style.levels_db.get(name, 0.0)
        reverb = style.reverb if name in ("chords", "melody") else (style.reverb if genre == "ambient" else 0.0)
        common = {"level_db": level, "reverb": reverb, "pan": _PANS[name]}
        if name == "drums":
            parts.append(Part("drums", "kit:" + kit, hits=drum_hits, **common))
        elif name == "bass":
            notes = plan_bass(style, voices["bass"], key, timeline, drum_hits, _rng(seed, "bass"), bars, density, temperature)
            parts.append(Part("bass", voices["bass"], notes=notes, **common))
        elif name == "chords":
            chord_style = dataclasses.replace(style, chords=_chord_style(style, voices["chords"]))
            strum_s = 0.012 if voices["chords"] in {f"gm:{p}" for p in range(24, 32)} else 0.0
            notes = plan_chords(chord_style, key, timeline, _rng(seed, "chords"), density, brightness, temperature, strum_s=strum_s)
            parts.append(Part("chords", voices["chords"], notes=notes, **common))
        else:
            notes = plan_melody(style, key, timeline, _rng(seed, "melody"), bars, density, brightness, temperature, mood)
            parts.append(Part("melody", voices["melody"], notes=notes, **common))
    parts = guard_key(parts, key, timeline)
    return Plan(genre, style, request.bpm or style.tempo_bpm[1], bars, Scale(scale), key, progression, timeline,
                mood, density, brightness, temperature, kit, tuple(parts))
