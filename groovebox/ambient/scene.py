"""What an ambient scene is: a described place, its narrative and 3-8 sound layers with mix parameters.

Pure data (pydantic), shared by every planner (Gemini, an OpenAI-compatible endpoint, the offline
catalogue), the synthesiser, the CLI and the HTTP API. Used on the control loop and in worker processes.

Decisions:
- A layer names one catalogue element (``ElementKind``); a planner may not invent kinds, because each kind
  has a synthesis recipe. LLM planners get this list as a JSON-schema enum.
- Mix parameters are on musical-user scales: ``gain_db`` (-40..+6), ``pan`` (-1 left .. +1 right),
  ``spread`` 0 (mono point) .. 1 (full width), ``distance`` 0 (at the listener) .. 1 (far away),
  ``reverb_send``/``delay_send``/``intensity``/``drift`` 0..1. ``drift`` is the "animate" depth: slow
  random walks on gain and filter while the layer plays.
- A scene holds 3 to 8 layers (8 is the common cap of ambience apps); kinds may repeat (two bird layers
  panned apart) but the planners avoid it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ElementKind", "SceneLayer", "Scene", "PlannerName", "MIN_LAYERS", "MAX_LAYERS", "GAIN_DB_RANGE"]

MIN_LAYERS = 3
MAX_LAYERS = 8
GAIN_DB_RANGE = (-40.0, 6.0)      # a layer's gain_db, lowest and highest

Unit = Annotated[float, Field(ge=0.0, le=1.0)]
PlannerName = Literal["gemini", "openai", "offline"]


class ElementKind(StrEnum):
    """Every sound element the synthesiser can make (the catalogue describes each)."""

    RAIN = "rain"
    RAIN_ON_ROOF = "rain_on_roof"
    DRIZZLE = "drizzle"
    THUNDER = "thunder"
    WIND = "wind"
    WIND_WHISTLE = "wind_whistle"
    FIRE = "fire"
    CAMPFIRE = "campfire"
    STREAM = "stream"
    WAVES = "waves"
    UNDERWATER = "underwater"
    BIRDS = "birds"
    OWL = "owl"
    SEAGULLS = "seagulls"
    CRICKETS = "crickets"
    CICADAS = "cicadas"
    FROGS = "frogs"
    LEAVES = "leaves"
    CROWD = "crowd"
    CAFE = "cafe"
    TRAFFIC = "traffic"
    CITY = "city"
    SIRENS = "sirens"
    FOOTSTEPS = "footsteps"
    FOOTSTEPS_WET = "footsteps_wet"
    FOOTSTEPS_SNOW = "footsteps_snow"
    HUM = "hum"
    NEON = "neon"
    HVAC = "hvac"
    TRAIN = "train"
    CLOCK = "clock"
    BELLS = "bells"
    SHIP_CREAK = "ship_creak"
    DRONE = "drone"
    PINK_NOISE = "pink_noise"
    BROWN_NOISE = "brown_noise"
    MUSIC_BED = "music_bed"


class SceneLayer(BaseModel):
    """One layer of a scene: a catalogue element and how it sits in the mix."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ElementKind
    description: str = Field("", max_length=200, description='what is heard, e.g. "footsteps on wet pavement"')
    gain_db: float = Field(-12.0, ge=GAIN_DB_RANGE[0], le=GAIN_DB_RANGE[1])
    pan: float = Field(0.0, ge=-1.0, le=1.0)
    spread: Unit = 0.8
    distance: Unit = 0.3
    reverb_send: Unit = 0.2
    delay_send: Unit = 0.0
    intensity: Unit = 0.5
    drift: Unit = 0.2


class Scene(BaseModel):
    """A planned scene: the user's text, a short narrative and its layers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str = Field(min_length=1, max_length=500)
    title: str = Field("", max_length=80)
    narrative: str = Field("", max_length=1000)
    layers: list[SceneLayer] = Field(min_length=MIN_LAYERS, max_length=MAX_LAYERS)
    planner: PlannerName = "offline"
    notes: list[str] = Field(default_factory=list,
                             description="why a planner fell back, which words were not understood, ...")
