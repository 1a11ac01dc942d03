"""Variations of a generated loop: a new request derived from the original's, always with a new seed.

Pure functions (control loop, CLI). Each variation changes the words Lyria reads and the knobs both
engines honour, and tells the offline generator which parts to keep note-for-note (``keep_parts`` planned
from the original's seed, ``keep_seed``):

    more_complex          density +0.25, temperature +0.2, "more complex, busier" (nothing kept)
    simpler               density -0.3, temperature -0.2, "simpler, sparse, minimal" (nothing kept)
    different_instrument  the next instrument of a fixed list; drums, bass, chords and melody kept
    different_rhythm      "different rhythm, new groove"; chords and melody kept, new drums and bass
    different_melody      "a different tune"; drums, bass and chords kept, a new melody (the words avoid
                          part names: "melody" would make the offline generator play only a melody)
"""

from __future__ import annotations

import random

from groovebox.generate.request import SEED_MAX, GenerationRequest

__all__ = ["VARIATIONS", "INSTRUMENTS", "vary"]

VARIATIONS = ("more_complex", "simpler", "different_instrument", "different_rhythm", "different_melody")
INSTRUMENTS = ("piano", "rhodes", "synth pad", "strings", "guitar", "vibraphone", "marimba", "organ", "saw lead")
_DEFAULT_DENSITY = 0.5


def vary(original: GenerationRequest, variation: str, *, seed: int | None = None) -> GenerationRequest:
    """The request for ``variation`` of a loop made from ``original`` (which must carry its seed)."""
    if variation not in VARIATIONS:
        raise ValueError(f"unknown variation {variation!r}: use one of {', '.join(VARIATIONS)}")
    if original.seed is None:
        raise ValueError("the original request has no seed; vary the request a loop was made from")
    new_seed = seed if seed is not None else _other_seed(original.seed)
    changes = _CHANGES[variation](original)
    changes.update(seed=new_seed, keep_seed=original.seed if changes.get("keep_parts") else None, options=1)
    return GenerationRequest.model_validate({**original.model_dump(), **changes})


def _other_seed(seed: int) -> int:
    rng = random.Random(seed)
    while (candidate := rng.randint(0, SEED_MAX)) == seed:
        pass
    return candidate


def _with_words(request: GenerationRequest, words: str) -> str:
    prompt = request.prompt if words in request.prompt else f"{request.prompt}, {words}"
    return prompt[:500]


def _more_complex(request: GenerationRequest) -> dict:
    density = request.density if request.density is not None else _DEFAULT_DENSITY
    return {"prompt": _with_words(request, "more complex, busier"), "density": min(1.0, density + 0.25),
            "temperature": min(3.0, request.temperature + 0.2), "keep_parts": ()}


def _simpler(request: GenerationRequest) -> dict:
    density = request.density if request.density is not None else _DEFAULT_DENSITY
    return {"prompt": _with_words(request, "simpler, sparse, minimal"), "density": max(0.0, density - 0.3),
            "temperature": max(0.0, request.temperature - 0.2), "keep_parts": ()}


def _different_instrument(request: GenerationRequest) -> dict:
    current = request.instrument.lower()
    index = INSTRUMENTS.index(current) + 1 if current in INSTRUMENTS else (request.seed or 0) % len(INSTRUMENTS)
    instrument = INSTRUMENTS[index % len(INSTRUMENTS)]
    if instrument == current:
        instrument = INSTRUMENTS[(index + 1) % len(INSTRUMENTS)]
    return {"instrument": instrument, "keep_parts": ("drums", "bass", "chords", "melody")}


def _different_rhythm(request: GenerationRequest) -> dict:
    return {"prompt": _with_words(request, "different rhythm, new groove"), "keep_parts": ("chords", "melody")}


def _different_melody(request: GenerationRequest) -> dict:
    return {"prompt": _with_words(request, "a different tune"), "keep_parts": ("drums", "bass", "chords")}


_CHANGES = {
    "more_complex": _more_complex,
    "simpler": _simpler,
    "different_instrument": _different_instrument,
    "different_rhythm": _different_rhythm,
    "different_melody": _different_melody,
}
