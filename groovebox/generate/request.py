"""What a generation job is asked for: one request model shared by Lyria and the offline generator.

Pure data (pydantic); used on the control loop (validating API/CLI input) and in worker processes. The
parameters are Lyria's ``LiveMusicGenerationConfig`` plus prompt text, genre, instrument, mood and the loop
length, so the phone page, the CLI and both engines speak one language.

Decisions:
- ``bpm`` None means "the genre's typical tempo" (offline) or 120 when no genre is known.
- ``seed`` None means "pick one" (``resolved()`` draws it, so the seed that made a loop is always recorded).
- Option ``k`` of a request uses ``seed + k`` (wrapping in int32), so re-running a request reproduces all
  of its options.
- Variations (``variations.py``) keep some parts of the original: ``keep_parts`` lists the parts
  ("drums", "bass", "chords", "melody") that the offline generator plans from ``keep_seed`` (the
  original's seed) instead of the new seed. Lyria has no parts; it only sees the changed prompt and seed.
- Weighted prompts (Lyria): the prompt text weighs 1.0, genre 0.8, instrument 0.6, mood 0.5. Empty parts
  are left out; Lyria rejects zero weights and an empty list.
"""

from __future__ import annotations

import random
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "Scale",
    "GenerationMode",
    "EngineChoice",
    "GenerationRequest",
    "scale_tonic_pitch_class",
    "SEED_MAX",
    "DEFAULT_BPM",
]

SEED_MAX = 2**31 - 1
DEFAULT_BPM = 120

EngineChoice = Literal["auto", "lyria", "offline"]
PartName = Literal["drums", "bass", "chords", "melody"]
Unit = Annotated[float, Field(ge=0.0, le=1.0)]
Label = Annotated[str, Field(max_length=60)]


class Scale(StrEnum):
    """Lyria's ``Scale`` enum: each value names a major key and its relative minor (same pitch set)."""

    SCALE_UNSPECIFIED = "SCALE_UNSPECIFIED"
    C_MAJOR_A_MINOR = "C_MAJOR_A_MINOR"
    D_FLAT_MAJOR_B_FLAT_MINOR = "D_FLAT_MAJOR_B_FLAT_MINOR"
    D_MAJOR_B_MINOR = "D_MAJOR_B_MINOR"
    E_FLAT_MAJOR_C_MINOR = "E_FLAT_MAJOR_C_MINOR"
    E_MAJOR_D_FLAT_MINOR = "E_MAJOR_D_FLAT_MINOR"
    F_MAJOR_D_MINOR = "F_MAJOR_D_MINOR"
    G_FLAT_MAJOR_E_FLAT_MINOR = "G_FLAT_MAJOR_E_FLAT_MINOR"
    G_MAJOR_E_MINOR = "G_MAJOR_E_MINOR"
    A_FLAT_MAJOR_F_MINOR = "A_FLAT_MAJOR_F_MINOR"
    A_MAJOR_G_FLAT_MINOR = "A_MAJOR_G_FLAT_MINOR"
    B_FLAT_MAJOR_G_MINOR = "B_FLAT_MAJOR_G_MINOR"
    B_MAJOR_A_FLAT_MINOR = "B_MAJOR_A_FLAT_MINOR"


_MAJOR_TONIC_PC = {scale: pc for pc, scale in enumerate(list(Scale)[1:])}


def scale_tonic_pitch_class(scale: Scale) -> int | None:
    """Pitch class (0 = C) of the major tonic of ``scale``; its relative minor is ``(pc + 9) % 12``.
    None for SCALE_UNSPECIFIED."""
    return _MAJOR_TONIC_PC.get(Scale(scale))


class GenerationMode(StrEnum):
    QUALITY = "QUALITY"
    DIVERSITY = "DIVERSITY"
    VOCALIZATION = "VOCALIZATION"


class GenerationRequest(BaseModel):
    """One generation request (1-5 options). Frozen; change with ``model_copy(update=...)`` + validate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt: Annotated[str, Field(min_length=1, max_length=500)]
    genre: Label = ""
    instrument: Label = ""
    mood: Label = ""
    bpm: Annotated[int, Field(ge=60, le=200)] | None = None
    scale: Scale = Scale.SCALE_UNSPECIFIED
    bars: Annotated[int, Field(ge=1, le=16)] = 4
    guidance: Annotated[float, Field(ge=0.0, le=6.0)] = 4.0
    density: Unit | None = None
    brightness: Unit | None = None
    temperature: Annotated[float, Field(ge=0.0, le=3.0)] = 1.1
    top_k: Annotated[int, Field(ge=1, le=1000)] = 40
    seed: Annotated[int, Field(ge=0, le=SEED_MAX)] | None = None
    mute_bass: bool = False
    mute_drums: bool = False
    only_bass_and_drums: bool = False
    mode: GenerationMode = GenerationMode.QUALITY
    options: Annotated[int, Field(ge=1, le=5)] = 1
    engine: EngineChoice = "auto"
    keep_parts: tuple[PartName, ...] = ()
    keep_seed: Annotated[int, Field(ge=0, le=SEED_MAX)] | None = None

    @field_validator("prompt", "genre", "instrument", "mood")
    @classmethod
    def _strip(cls, text: str) -> str:
        text = " ".join(text.split())
        if any(ord(ch) < 32 for ch in text):
            raise ValueError("control characters are not allowed")
        return text

    def resolved(self, rng: random.Random | None = None) -> GenerationRequest:
        """This request with a concrete seed (drawn when None)."""
        if self.seed is not None:
            return self
        return self.model_copy(update={"seed": (rng or random.SystemRandom()).randint(0, SEED_MAX)})

    def option_seed(self, option: int) -> int:
        """The seed of option ``option`` (0-based) of a resolved request."""
        if self.seed is None:
            raise ValueError("resolve the request first (seed is None)")
        return (self.seed + option) % (SEED_MAX + 1)

    def weighted_prompts(self) -> list[tuple[str, float]]:
        """``(text, weight)`` pairs for Lyria's ``set_weighted_prompts`` (never empty, no zero weights)."""
        parts = [(self.prompt, 1.0), (self.genre, 0.8), (self.instrument, 0.6), (self.mood, 0.5)]
        return [(text, weight) for text, weight in parts if text]

    def described(self) -> str:
        """All the words of the request (prompt, genre, instrument, mood) for keyword matching."""
        return " ".join(part for part in (self.prompt, self.genre, self.instrument, self.mood) if part)
