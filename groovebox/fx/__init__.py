"""Effects built with pedalboard, above the engine: specs (``spec``, pure pydantic data) and processors
(``processor``, which imports pedalboard; import it explicitly so that reading a project does not load it).

The engine (numpy only) holds the processors this package builds, injected through ``SetEffect``.
"""

from groovebox.fx.spec import (
           BUS_COUNT,
           MAX_CHAIN,
           Bus,
           Compressor,
           Delay,
           Effect,
           EffectsConfig,
           Eq,
           Filter,
           Reverb,
)

__all__ = ["BUS_COUNT", "MAX_CHAIN", "Bus", "Compressor", "Delay", "Effect", "EffectsConfig", "Eq", "Filter",
           "Reverb"]
