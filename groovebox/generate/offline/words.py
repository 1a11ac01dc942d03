"""Reading a request's words offline: genre, mood, which parts to play, which instruments (worker process).

Decisions:
- Matching is on whole words/phrases in lower case (``re`` with letter/digit boundaries), no model.
- Genre: the explicit ``genre`` field wins when it names a genre or alias; otherwise the phrases of every
  genre row are searched in ``described()``. A longer phrase beats one it contains ("lo-fi hip hop" beats
  "hip hop"); among the rest the right-most match wins, because English puts the head noun last
  ("ambient techno" is techno). Nothing found: ``DEFAULT_GENRE``.
- Parts: words that name a part ("drums", "beat", "bass", "chords", "melody"...) restrict the loop to the
  named parts; genre phrases are removed first, so "drum and bass" is a genre, not two parts. "beat"
  always means drums ("trap beat" is trap drums). Instrument words ("piano", "strings", "808"...) only
  choose the voice of a part (read from the whole text, so "acid house" still asks for an acid bass), and
  add the chord/melody parts when parts are restricted ("beat with piano" = drums + piano chords and melody).
"""

from __future__ import annotations

import re
from functools import lru_cache

from groovebox.generate.offline.genres import DEFAULT_GENRE, GENRE_ALIASES, GENRE_TABLE

__all__ = [
    "MOOD_WORDS",
    "PART_ORDER",
    "PART_WORDS",
    "VOICE_WORDS",
    "brightness_shift",
    "density_shift",
    "find_genre",
    "find_mood",
    "find_parts",
    "find_voices",
    "strip_genre_words",
]

PART_ORDER = ("drums", "bass", "chords", "melody")

PART_WORDS: dict[str, tuple[str, ...]] = {
    "drums": ("drums", "drum", "beat", "beats", "percussion", "drum loop", "drum kit", "breakbeat", "breaks"),
    "bass": ("bass", "bassline", "bass line", "basslines", "sub bass"),
    "chords": ("chords", "chord", "pad", "pads", "keys", "comping", "stabs", "progression"),
    "melody": ("melody", "melodies", "lead", "riff", "hook", "topline", "arpeggio", "arp"),
}

# phrase -> (role, voice). Role "keys" plays chords and melody; "kit" chooses the drum kit.
VOICE_WORDS: dict[str, tuple[str, str]] = {
    "piano": ("keys", "gm:0"), "grand piano": ("keys", "gm:0"), "rhodes": ("keys", "gm:4"),
    "electric piano": ("keys", "gm:4"), "rhodes piano": ("keys", "gm:4"), "wurlitzer": ("keys", "gm:4"),
    "organ": ("keys", "gm:16"), "hammond": ("keys", "gm:16"), "clavinet": ("keys", "gm:7"), "clav": ("keys", "gm:7"),
    "harpsichord": ("keys", "gm:6"), "strings": ("keys", "gm:48"), "string": ("keys", "gm:48"),
    "orchestra": ("keys", "gm:48"), "violin": ("melody", "gm:40"), "cello": ("melody", "gm:42"),
    "guitar": ("keys", "gm:27"), "electric guitar": ("keys", "gm:27"), "clean guitar": ("keys", "gm:27"),
    "acoustic guitar": ("keys", "gm:25"), "nylon guitar": ("keys", "gm:24"), "spanish guitar": ("keys", "gm:24"),
    "distorted guitar": ("keys", "gm:30"), "distortion guitar": ("keys", "gm:30"), "overdriven guitar": ("keys", "gm:29"),
    "vibraphone": ("melody", "gm:11"), "vibes": ("melody", "gm:11"), "marimba": ("melody", "gm:12"),
    "xylophone": ("melody", "gm:13"), "kalimba": ("melody", "gm:108"), "music box": ("melody", "gm:10"),
    "glockenspiel": ("melody", "gm:9"), "celesta": ("melody", "gm:8"), "bells": ("melody", "bell"), "bell": ("melody", "bell"),
    "flute": ("melody", "gm:73"), "pan flute": ("melody", "gm:75"), "sax": ("melody", "gm:65"),
    "saxophone": ("melody", "gm:65"), "trumpet": ("melody", "gm:56"), "brass": ("melody", "gm:61"),
    "horns": ("melody", "gm:61"), "horn section": ("melody", "gm:61"), "harp": ("melody", "gm:46"),
    "steel drums": ("melody", "gm:114"), "sitar": ("melody", "gm:104"), "accordion": ("keys", "gm:21"),
    "choir": ("chords", "gm:52"), "voices": ("chords", "gm:52"), "synth pad": ("chords", "pad"),
    "synth pads": ("chords", "pad"), "warm pad": ("chords", "gm:89"), "pad": ("chords", "pad"), "pads": ("chords", "pad"),
    "stabs": ("chords", "stab"), "chord stabs": ("chords", "stab"), "synth stabs": ("chords", "stab"),
    "synth lead": ("melody", "lead"), "lead synth": ("melody", "lead"), "saw lead": ("melody", "lead"),
    "pluck": ("melody", "pluck"), "plucks": ("melody", "pluck"), "synth pluck": ("melody", "pluck"),
    "808": ("bass", "808"), "808 bass": ("bass", "808"), "sub": ("bass", "sub"), "sub bass": ("bass", "sub"),
    "303": ("bass", "acid"), "acid": ("bass", "acid"), "acid bass": ("bass", "acid"), "tb-303": ("bass", "acid"),
    "reese": ("bass", "reese"), "reese bass": ("bass", "reese"), "synth bass": ("bass", "synth_bass"),
    "bass guitar": ("bass", "gm:33"), "electric bass": ("bass", "gm:33"), "finger bass": ("bass", "gm:33"),
    "slap bass": ("bass", "gm:36"), "upright bass": ("bass", "gm:32"), "double bass": ("bass", "gm:32"),
    "acoustic bass": ("bass", "gm:32"),
    "tr-909": ("kit", "electronic"), "909": ("kit", "electronic"), "tr-808": ("kit", "electronic"),
    "drum machine": ("kit", "electronic"), "live drums": ("kit", "acoustic"), "acoustic drums": ("kit", "acoustic"),
    "drummer": ("kit", "acoustic"), "drum kit": ("kit", "acoustic"),
}

MOOD_WORDS: dict[str, tuple[str, ...]] = {
    "dark": ("dark", "ominous", "sinister", "moody", "melancholic", "melancholy", "sad", "minor", "night",
             "nocturnal", "eerie", "haunting", "gloomy", "brooding", "menacing", "aggressive", "gritty", "cold"),
    "bright": ("happy", "uplifting", "bright", "sunny", "euphoric", "joyful", "upbeat", "cheerful", "major",
               "summer", "hopeful", "positive", "feel good", "feel-good", "triumphant", "playful", "danceable"),
    "jazzy": ("jazzy", "jazz", "smooth", "soulful", "mellow", "lounge", "neo soul", "neo-soul", "laid back", "laid-back"),
    "funky": ("funky", "groovy", "tight groove"),
    "dreamy": ("dreamy", "ethereal", "floating", "spacey", "spacious", "calm", "peaceful", "serene", "lush",
               "atmospheric", "meditative", "relaxing", "chill"),
    "tense": ("tense", "suspense", "suspenseful", "thriller", "anxious", "ominous drone"),
}

_DENSITY_WORDS = {"sparse": -0.25, "minimal": -0.2, "simple": -0.15, "laid back": -0.1, "chill": -0.1,
                  "busy": 0.2, "dense": 0.2, "energetic": 0.15, "driving": 0.1, "intense": 0.15, "fat beats": 0.1}
_BRIGHTNESS_WORDS = {"dark": -0.15, "warm": -0.1, "muffled": -0.25, "dusty": -0.15, "deep": -0.1,
                     "bright": 0.2, "crisp": 0.15, "shimmering": 0.2, "sparkling": 0.2, "airy": 0.1}


@lru_cache(maxsize=512)
def _pattern(phrase: str) -> re.Pattern[str]:
    return re.compile(r"(?<![a-z0-9])" + re.escape(phrase) + r"(?![a-z0-9])")


def _spans(text: str, phrase: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _pattern(phrase).finditer(text)]


def _genre_matches(text: str) -> list[tuple[int, int, str]]:
    """Every (start, end, genre) phrase match, minus matches inside a longer match."""
    matches = [(start, end, name) for name, style in GENRE_TABLE.items()
               for phrase in style.keywords + (name,) for start, end in _spans(text, phrase)]
    matches += [(start, end, genre) for alias, genre in GENRE_ALIASES.items() for start, end in _spans(text, alias)]
    return [m for m in matches
            if not any(o[0] <= m[0] and m[1] <= o[1] and (o[1] - o[0]) > (m[1] - m[0]) for o in matches)]


def find_genre(genre_field: str, text: str) -> str:
    """The genre row for an explicit ``genre_field`` (name, alias or phrase), else the words of ``text``."""
    field_text = genre_field.strip().lower()
    if field_text in GENRE_TABLE:
        return field_text
    if field_text in GENRE_ALIASES:
        return GENRE_ALIASES[field_text]
    for candidate in (field_text, text.lower()):
        matches = _genre_matches(candidate)
        if matches:
            return max(matches, key=lambda m: (m[0], m[1] - m[0]))[2]
    return DEFAULT_GENRE


def strip_genre_words(text: str) -> str:
    """``text`` (lower case) with every genre phrase blanked out, so "drum and bass" is not read as parts."""
    text = text.lower()
    for start, end, _ in sorted(_genre_matches(text), reverse=True):
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def find_mood(mood_field: str, text: str) -> str | None:
    """The mood named first in ``mood_field``, else first in ``text``; None if none."""
    for candidate in (mood_field.lower(), text.lower()):
        found = [(spans[0][0], mood) for mood, words in MOOD_WORDS.items() for word in words
                 if (spans := _spans(candidate, word))]
        if found:
            return min(found)[1]
    return None


def find_voices(text: str) -> dict[str, str]:
    """Role -> voice named in ``text`` ("chords", "melody", "bass", "kit"). A "keys" instrument (piano,
    guitar, strings...) fills whichever of chords and melody no more specific word named; else first wins."""
    found: list[tuple[int, int, str, str]] = []
    for phrase, (role, voice) in VOICE_WORDS.items():
        found += [(start, end, role, voice) for start, end in _spans(text, phrase)]
    found = [f for f in found if not any(o[0] <= f[0] and f[1] <= o[1] and (o[1] - o[0]) > (f[1] - f[0]) for o in found)]
    voices: dict[str, str] = {}
    for _, _, role, voice in sorted(found, key=lambda f: (f[2] == "keys", f[0])):   # named roles before "keys"
        for target in (("chords", "melody") if role == "keys" else (role,)):
            voices.setdefault(target, voice)
    return voices


def find_parts(text: str) -> set[str]:
    """Parts named by part words in ``text`` (genre phrases already stripped); empty = not restricted."""
    named = {part for part, words in PART_WORDS.items() if any(_spans(text, w) for w in words)}
    if not named:
        return set()
    roles = {role for phrase, (role, _) in VOICE_WORDS.items() if _spans(text, phrase)}
    if not named & {"chords", "melody"}:
        if "keys" in roles:
            named |= {"chords", "melody"}
        named |= roles & {"chords", "melody"}
    return named


def density_shift(text: str) -> float:
    return sum(shift for word, shift in _DENSITY_WORDS.items() if _spans(text, word))


def brightness_shift(text: str) -> float:
    return sum(shift for word, shift in _BRIGHTNESS_WORDS.items() if _spans(text, word))

