"""The words the generate page offers, one list per encoder field, and how they become a request.

The genres are the offline generator's genre table names (a test keeps them in step), so every choice
changes what the offline generator plays; Lyria reads the same words as weighted prompts.
"""

from __future__ import annotations

from groovebox.generate.request import GenerationRequest, Scale

__all__ = ["BARS", "GENRES", "INSTRUMENTS", "KEYS", "MOODS", "OPTIONS", "build_request", "key_label"]

GENRES = ("house", "techno", "hip-hop", "trap", "drum-and-bass", "reggaeton", "afrobeats", "lo-fi", "rock",
          "funk", "ambient")
INSTRUMENTS = ("", "piano", "rhodes", "synth", "bass", "guitar", "strings", "drums")
MOODS = ("", "dark", "dreamy", "uplifting", "chill", "melancholic", "energetic")
KEYS = tuple(Scale)                                    # SCALE_UNSPECIFIED first: "any key"
BARS = (1, 2, 4, 8)
OPTIONS = (1, 2, 3, 4, 5)

_NOTE_NAMES = {"FLAT": "b", "SHARP": "#"}


def key_label(scale: Scale) -> str:
    """``C_MAJOR_A_MINOR`` -> ``C/Am``; unspecified -> ``any``."""
    if scale == Scale.SCALE_UNSPECIFIED:
        return "any"
    words = scale.value.split("_")
    major_at = words.index("MAJOR")
    major = words[0] + "".join(_NOTE_NAMES[w] for w in words[1:major_at])
    minor_words = words[major_at + 1:-1]
    minor = minor_words[0] + "".join(_NOTE_NAMES[w] for w in minor_words[1:])
    return f"{major}/{minor}m"


def build_request(genre: str, instrument: str, mood: str, scale: Scale, bars: int, options: int
                  ) -> GenerationRequest:
    """The request the panel submits; its prompt is the chosen words in order."""
    prompt = " ".join(word for word in (mood, genre, instrument) if word)
    return GenerationRequest(prompt=prompt, genre=genre, instrument=instrument, mood=mood, scale=scale,
                             bars=bars, options=options)
