"""Effect specifications: what a project stores for a bus chain or the master insert (pydantic, any thread).

Pure data, no pedalboard: ``groovebox/project/model.py`` embeds these models in the project document and
``groovebox/fx/processor.py`` turns them into pedalboard plugins. JSON names are camelCase like the rest of
the project (``roomSize``, ``cutoffHz``); validation is strict (unknown keys, wrong types, NaN and
out-of-range values fail with the field path).

Decisions:
- Five effect types, told apart by ``type``: ``reverb``, ``delay``, ``filter``, ``compressor``, ``eq``.
  Parameters and defaults follow pedalboard's (so a sound designed in pedalboard carries over); ranges are
  what the plugins accept and a performer can use (a delay feedback below 1 so it cannot run away).
- Every effect and bus has ``enabled``: a disabled one stays in the project (with its settings) but is
  not built, so toggling it is a chain change the engine crossfades.
- A chain holds at most ``MAX_CHAIN`` effects; there are ``BUS_COUNT`` send buses (the engine's
  ``effects.BUSES``) and one master insert chain.
- Wet/dry: the plugins' own levels. On a send bus the return is added to the dry mix, so a bus reverb
  usually has ``dryLevel`` 0 and a bus delay ``mix`` 1; the defaults are pedalboard's.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from groovebox.engine.effects import BUSES

__all__ = [
    "BUS_COUNT",
    "MAX_CHAIN",
    "Bus",
    "Compressor",
    "Delay",
    "Effect",
    "EffectsConfig",
    "Eq",
    "Filter",
    "FilterMode",
    "Reverb",
]

BUS_COUNT = BUSES
MAX_CHAIN = 8

Unit = Annotated[float, Field(ge=0.0, le=1.0)]
GainDb = Annotated[float, Field(ge=-24.0, le=24.0)]
FrequencyHz = Annotated[float, Field(ge=20.0, le=20000.0)]
FilterMode = Literal["lowpass", "highpass", "bandpass"]


class _Spec(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", strict=True,
                              allow_inf_nan=False, frozen=True, validate_default=True)


class _Effect(_Spec):
    enabled: bool = True


class Reverb(_Effect):
    """Freeverb-style room (pedalboard ``Reverb``)."""

    type: Literal["reverb"] = "reverb"
    room_size: Unit = 0.5
    damping: Unit = 0.5
    wet_level: Unit = 0.33
    dry_level: Unit = 0.4
    width: Unit = 1.0


class Delay(_Effect):
    """A feedback delay (pedalboard ``Delay``); ``mix`` 1 is all echo."""

    type: Literal["delay"] = "delay"
    delay_seconds: float = Field(default=0.5, ge=0.001, le=2.0)
    feedback: float = Field(default=0.0, ge=0.0, le=0.95)
    mix: Unit = 0.5


class Filter(_Effect):
    """A resonant 24 dB/octave ladder filter (pedalboard ``LadderFilter``)."""

    type: Literal["filter"] = "filter"
    mode: FilterMode = "lowpass"
    cutoff_hz: FrequencyHz = 1000.0
    resonance: Unit = 0.0
    drive: float = Field(default=1.0, ge=1.0, le=10.0)


class Compressor(_Effect):
    """A compressor (pedalboard ``Compressor``)."""

    type: Literal["compressor"] = "compressor"
    threshold_db: float = Field(default=0.0, ge=-60.0, le=0.0)
    ratio: float = Field(default=1.0, ge=1.0, le=20.0)
    attack_ms: float = Field(default=1.0, ge=0.1, le=500.0)
    release_ms: float = Field(default=100.0, ge=1.0, le=5000.0)


class Eq(_Effect):
    """Three bands: a low shelf, a peak and a high shelf (pedalboard's shelf and peak filters)."""

    type: Literal["eq"] = "eq"
    low_gain_db: GainDb = 0.0
    low_hz: FrequencyHz = 200.0
    mid_gain_db: GainDb = 0.0
    mid_hz: FrequencyHz = 1000.0
    mid_q: float = Field(default=0.707, ge=0.1, le=10.0)
    high_gain_db: GainDb = 0.0
    high_hz: FrequencyHz = 5000.0


Effect = Annotated[Reverb | Delay | Filter | Compressor | Eq, Field(discriminator="type")]
Chain = Annotated[list[Effect], Field(max_length=MAX_CHAIN)]


class Bus(_Spec):
    """A send bus: a name for the page and its effect chain (empty or not ``enabled``: the bus is silent)."""

    enabled: bool = True
    name: str = Field(default="", max_length=40)
    chain: Chain = Field(default_factory=list)


class EffectsConfig(_Spec):
    """The project's effects: ``BUS_COUNT`` send buses (fewer listed: the rest are empty) and the master insert."""

    buses: list[Bus] = Field(default_factory=list, max_length=BUS_COUNT)
    master: Chain = Field(default_factory=list)

    def bus(self, index: int) -> Bus:
        """Bus ``index`` (0..BUS_COUNT-1); an empty bus when it is not listed."""
        return self.buses[index] if index < len(self.buses) else Bus()

    def chain(self, slot: int) -> list:
        """The chain of engine effect slot ``slot``: a bus, or ``BUS_COUNT`` for the master insert."""
        return self.master if slot == BUS_COUNT else self.bus(slot).chain
