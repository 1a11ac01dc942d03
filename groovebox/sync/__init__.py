"""Sync with other gear: MIDI clock out and in (control loop side; the MIDI process sends and stamps ticks)."""

from groovebox.sync.clock_in import MidiClockIn
from groovebox.sync.clock_out import MidiClockOut

__all__ = ["MidiClockIn", "MidiClockOut"]
