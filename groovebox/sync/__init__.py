"""Sync with other gear: MIDI clock out (control loop side; the ticks are sent by the MIDI process)."""

from groovebox.sync.clock_out import MidiClockOut

__all__ = ["MidiClockOut"]
