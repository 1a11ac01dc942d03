"""Musical time: tempo, beats and bars from the sample clock (pure Python, used inside ``Engine.render``)."""

from groovebox.transport.clock import TempoClock
from groovebox.transport.tap import TapTempo

__all__ = ["TempoClock", "TapTempo"]
