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
from groovebox.generate.offline.harmony import (
    ChordSpan,
    choose_progression,
    chord_timeline,
    plan_chords,
)
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

__all__ = ["SUSTAINING_VOICES", "Plan", "choose_parts", "make_plan", "resolve_genre"]

SUSTAINING_VOICES = frozenset({"pad", "gm:48", "gm:49", "gm:50", "gm:52", "gm:88", "gm:89", "gm:91", "gm:95"})
_SHORT_VOICES = frozenset({"stab", "pluck"})
_RHYTHMIC_CHORDS = ("stab", "skank", "comp", "power")
_STREAM = {"scale": 1, "progression": 2, "voices": 3, "drums": 10, "bass": 11, "chords": 12, "melody": 13}
_PANS = {"drums": 0.0, "bass": 0.0, "chords": -0.2, "melody": 0.2}
_GUITARS = frozenset(f"gm:{program}" for program in range(24, 32))
_STRUM_S = 0.012             # between the strings of a strummed guitar chord


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


def _part_seeds(request: GenerationRequest, seed: int) -> tuple[int, dict[str, int]]:
    """(harmony seed, seed per part). A variation (``request.keep_parts``) plans the kept parts, and the
    scale, progression and voices they sit on, from the original's ``keep_seed``; the rest from ``seed``."""
    kept = set(request.keep_parts) if request.keep_seed is not None else set()
    harmony_seed = request.keep_seed if kept else seed
    return harmony_seed, {part: request.keep_seed if part in kept else seed for part in PART_ORDER}


def make_plan(request: GenerationRequest, seed: int) -> Plan:
    """The full plan for one loop of ``request`` with ``seed``."""
    genre = resolve_genre(request)
    style = GENRE_TABLE[genre]
    text = request.described().lower()
    mood = find_mood(request.mood, text)
    harmony_seed, part_seeds = _part_seeds(request, seed)
    scale = request.scale
    if scale == Scale.SCALE_UNSPECIFIED:
        scale = _pick(_rng(harmony_seed, "scale"), tuple(s for s in Scale if s != Scale.SCALE_UNSPECIFIED))
    progression = choose_progression(style, mood, _rng(harmony_seed, "progression"))
    key = Key(Scale(scale), progression.mode)
    voices = _choose_voices(style, text, harmony_seed)
    context = _Context(style, key, chord_timeline(progression, request.bars, style.bars_per_chord), part_seeds,
                       request.bars, _unit(request.density, style.density, density_shift(text)),
                       _unit(request.brightness, style.brightness, brightness_shift(text)), request.temperature, mood)
    drum_hits = plan_drums(style, _rng(part_seeds["drums"], "drums"), context.bars, context.density,
                           context.temperature)
    parts = [_make_part(name, context, voices, drum_hits)
             for name in choose_parts(request, style, strip_genre_words(text))]
    parts = guard_key(parts, key, context.timeline)
    return Plan(genre, style, request.bpm or style.tempo_bpm[1], request.bars, Scale(scale), key, progression,
                context.timeline, mood, context.density, context.brightness, context.temperature, voices["kit"],
                tuple(parts))


@dataclass(frozen=True)
class _Context:
    style: GenreStyle
    key: Key
    timeline: tuple[ChordSpan, ...]
    seeds: dict[str, int]      # per part
    bars: int
    density: float
    brightness: float
    temperature: float
    mood: str | None


def _choose_voices(style: GenreStyle, text: str, seed: int) -> dict[str, str]:
    """Voice per role ("bass", "chords", "melody", "kit"): named in the text, else drawn from the genre row."""
    rng = _rng(seed, "voices")
    voices = {"bass": _pick(rng, style.bass_voices), "chords": _pick(rng, style.chord_voices),
              "melody": _pick(rng, style.melody_voices), "kit": style.kit}
    voices.update(find_voices(text))
    return voices


def _make_part(name: str, context: _Context, voices: dict[str, str], drum_hits) -> Part:
    style = context.style
    reverb = style.reverb if name in ("chords", "melody") or style.name == "ambient" else 0.0
    common = {"level_db": style.levels_db.get(name, 0.0), "reverb": reverb, "pan": _PANS[name]}
    rng = _rng(context.seeds[name], name)
    if name == "drums":
        return Part("drums", "kit:" + voices["kit"], hits=drum_hits, **common)
    if name == "bass":
        notes = plan_bass(style, voices["bass"], context.key, context.timeline, drum_hits, rng, context.bars,
                          context.density, context.temperature)
    elif name == "chords":
        chord_style = dataclasses.replace(style, chords=_chord_style(style, voices["chords"]))
        strum_s = _STRUM_S if voices["chords"] in _GUITARS else 0.0
        notes = plan_chords(chord_style, context.key, context.timeline, rng, context.density, context.brightness,
                            context.temperature, strum_s=strum_s)
    else:
        notes = plan_melody(style, context.key, context.timeline, rng, context.bars, context.density,
                            context.brightness, context.temperature, context.mood)
    return Part(name, voices[name], notes=notes, **common)
