"""Recording the audio input into an empty pad, on the bar grid (audio thread, allocation-free).

The control thread arms a recording with a zeroed buffer it allocated (``ArmRecord``); from then on only
the audio thread touches the ``Recorder``:

- ``capture`` (called by the audio backend with each input block, before ``Engine.render`` renders the
  same frames) copies the input that belongs to the recording into the buffer;
- the engine asks ``due_frame`` where the next thing happens (the recording starts, or ends) so blocks
  split there, exactly as they do for pad launches.

Timeline, in engine frames (``L`` is the round-trip latency: what the performer hears at engine frame
``f`` comes back through the input at ``f + L``)::

    armed ... count-in (>= 1 bar of clicks) ... start_frame ............ end_frame ... end_frame + L
              pad QUEUED                        pad RECORDING            pad PLAYING   RecordingDone

Buffer frame ``k`` holds the input captured at engine frame ``start_frame + L + k``, so the sound the
performer played on the downbeat they heard lands on frame 0, and the loop is exactly
``end_frame - start_frame`` frames: a whole number of bars at the tempo of the recording.

Decisions:
- Count-in: the recording starts on the first bar line at least one bar after arming; the metronome clicks
  until then even when it is off.
- Ending: a fixed length (``bars``) ends by itself. Otherwise ``StopRecord`` ends on the nearest bar line:
  the one just passed when pressed less than a quarter bar after it (a late press), else the next one;
  never before one whole bar. A recording that fills its buffer ends on the last bar line that fits.
- At ``end_frame`` the pad plays the new loop at once, in phase, like a looper; the last ``L`` frames of
  the buffer are still arriving then, but the playhead only reaches them a loop later.
- The buffer goes back to the control thread in an event (``RecordingDone`` or ``RecordingCancelled``),
  so the large array is never freed on the audio thread.
"""

from __future__ import annotations

import math

import numpy as np

from groovebox.transport.clock import TempoClock

__all__ = ["Recorder", "RecorderState", "NOT_DUE", "LATE_PRESS_BARS"]

NOT_DUE = 2**62
LATE_PRESS_BARS = 0.25          # a stop pressed this little after a bar line ends on that bar line


class RecorderState:
    IDLE = 0
    COUNT_IN = 1
    RECORDING = 2
    FINISHING = 3           # the pad plays; the last latency frames are still being captured


class Recorder:
    """One recording at a time. Every method runs on the audio thread."""

    def __init__(self) -> None:
        self.state = RecorderState.IDLE
        self.pad = -1
        self.buffer: np.ndarray | None = None
        self.loop: np.ndarray | None = None          # the take, a view of ``buffer`` (set when the pad plays it)
        self.latency_frames = 0
        self.start_beat = math.nan
        self.end_beat = math.nan
        self.start_frame = NOT_DUE
        self.end_frame = NOT_DUE

    @property
    def active(self) -> bool:
        return self.state != RecorderState.IDLE

    def arm(self, pad: int, buffer: np.ndarray, bars: int, latency_frames: int, clock: TempoClock,
            at: int) -> None:
        """Start the count-in at ``at``: recording begins on the first bar line at least a bar later."""
        beats_per_bar = clock.beats_per_bar
        self.state = RecorderState.COUNT_IN
        self.pad = pad
        self.buffer = buffer
        self.latency_frames = latency_frames
        self.start_beat = math.ceil((clock.beat_at(at) + beats_per_bar) / beats_per_bar - 1e-9) * beats_per_bar
        self.end_beat = self.start_beat + bars * beats_per_bar if bars > 0 else math.nan
        self.start_frame = clock.grid_frame(self.start_beat)
        self.end_frame = NOT_DUE

    def due_frame(self, clock: TempoClock) -> int:
        """The next frame at which the recording changes state (blocks split there); NOT_DUE if none."""
        if self.state == RecorderState.COUNT_IN:
            self.start_frame = clock.grid_frame(self.start_beat)       # follows tempo changes
            return self.start_frame
        if self.state == RecorderState.RECORDING:
            end_beat = self.end_beat
            if math.isnan(end_beat):            # open-ended: at the latest, the last whole bar that fits
                end_beat = self.start_beat + max(1, self._capacity_bars(clock)) * clock.beats_per_bar
            self.end_frame = min(clock.grid_frame(end_beat), self.start_frame + len(self.buffer))
            return self.end_frame
        return NOT_DUE

    def stop(self, clock: TempoClock, at: int) -> bool:
        """Decide where the recording ends (see the module docstring). False when it has not started
        (still counting in): the caller cancels it."""
        if self.state != RecorderState.RECORDING:
            return self.state == RecorderState.FINISHING
        beats_per_bar = clock.beats_per_bar
        bars_done = (clock.beat_at(at) - self.start_beat) / beats_per_bar
        whole = math.floor(bars_done)
        bars = whole if bars_done - whole < LATE_PRESS_BARS else whole + 1
        bars = max(1, min(bars, self._capacity_bars(clock)))
        self.end_beat = self.start_beat + bars * beats_per_bar
        return True

    def capture(self, inp: np.ndarray, first_frame: int, frames: int) -> None:
        """Copy the part of an input block (engine frames ``first_frame ..``) that belongs to the take (the
        engine calls this only while a recording is armed)."""
        take_from = self.start_frame + self.latency_frames
        take_to = take_from + min(self.end_frame - self.start_frame, len(self.buffer))
        first = max(first_frame, take_from)
        last = min(first_frame + frames, take_to)
        if last > first:
            self.buffer[first - take_from:last - take_from] = inp[first - first_frame:last - first_frame]

    def capture_complete(self, frame: int) -> bool:
        """True once every frame of the take has been captured (``frame``: the next engine frame)."""
        return self.state == RecorderState.FINISHING and frame >= self.end_frame + self.latency_frames

    def take(self) -> tuple[np.ndarray, np.ndarray]:
        """(the loop, the whole buffer) and back to idle; the caller sends both off the audio thread."""
        loop, buffer = self.loop, self.buffer
        self.__init__()
        return loop, buffer

    def cancel(self) -> np.ndarray | None:
        """Forget the take; returns the buffer for the caller to send off the audio thread."""
        buffer = self.buffer
        self.__init__()
        return buffer

    def _capacity_bars(self, clock: TempoClock) -> int:
        return int(len(self.buffer) // (clock.beats_per_bar * clock.frames_per_beat))
