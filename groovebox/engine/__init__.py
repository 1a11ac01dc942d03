"""The real-time audio engine (numpy + standard library only; ``render`` runs on the audio thread)."""

from groovebox.engine.commands import LaunchMode, Quantize
from groovebox.engine.engine import Engine
from groovebox.engine.events import (
           PadState,
           PadStateChanged,
           SongLocated,
           SongState,
           SongStateChanged,
           Status,
)
from groovebox.engine.offline import render_offline

__all__ = ["Engine", "LaunchMode", "Quantize", "PadState", "PadStateChanged", "SongLocated", "SongState",
           "SongStateChanged", "Status", "render_offline"]
