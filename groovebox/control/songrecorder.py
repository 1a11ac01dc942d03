"""Recording a pad performance into the song arrangement (control loop).

While it runs, every stretch of time a pad plays becomes a clip: when recording stops, the take is added to
the project in one undoable edit, one new track per pad that played (named after it, with its volume, pan
and sends), each clip playing the pad's loop (its loop region) from where it was launched for as long as it
played. A live set becomes an editable song.

Decisions:
- The take's bar 0 is the bar in progress when recording started; it is placed after the end of the song
  that is already there, so nothing is overwritten.
- Clip starts snap to the nearest bar (a clip starts on a bar in the song); lengths are what was played,
  in bars (a fraction when a pad stopped mid-bar). Pads already playing at the start get a clip from bar 0.
- Only library loops and files can be placed: the live Lyria pad (a stream) is left out, with a note.
- The pad's settings are read when it starts playing, so a loop swapped mid-take starts a new clip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from groovebox.control.editor import AddRecordedTracks, EditError
from groovebox.engine import PadState, PadStateChanged
from groovebox.project.model import Clip, Pad, Project, Track

__all__ = ["SongRecorder", "SongRecordError", "song_end_bar"]

PLAYING_STATES = (PadState.PLAYING, PadState.STOPPING)


class SongRecordError(Exception):
    """The performance recording cannot start or stop; the message says why."""


@dataclass
class _Segment:
    pad: Pad
    start_beat: float
    end_beat: float | None = None


class SongRecorder:
    """Follows pad states (``on_event`` is a session event listener) and writes the take via the editor."""

    def __init__(self, session, editor) -> None:
        self.session = session
        self.editor = editor
        self.origin_beat: float | None = None
        self._open: dict[int, _Segment] = {}
        self._done: list[_Segment] = []
        self.notes: list[str] = []

    @property
    def recording(self) -> bool:
        return self.origin_beat is not None

    def start(self) -> dict:
        if self.recording:
            raise SongRecordError("the performance is already being recorded")
        clock = self.session.engine.clock
        now = self._beat_now()
        self.origin_beat = math.floor(now / clock.beats_per_bar + 1e-9) * clock.beats_per_bar
        self._open, self._done, self.notes = {}, [], []
        for pad_index, state in enumerate(self.session.pad_states):
            if state in PLAYING_STATES:
                self._begin(pad_index, self.origin_beat)
        return self.describe()

    def stop(self) -> dict:
        """Close the take and add it to the song (one undo step); returns what was added."""
        if not self.recording:
            raise SongRecordError("the performance is not being recorded")
        now = self._beat_now()
        still_playing = list(self._open)
        for pad_index in still_playing:
            self._end(pad_index, now)
        tracks = self._tracks()
        summary = {**self.describe(), "recording": False, "tracksAdded": len(tracks),
                   "clipsAdded": sum(len(track.clips) for track in tracks)}
        try:
            if tracks:
                self.editor.apply(AddRecordedTracks(tuple(tracks)))
        except EditError as error:
            for pad_index in still_playing:         # keep recording: nothing is lost
                self._begin(pad_index, now)
            raise SongRecordError(f"the take could not be added to the song ({error}); it is still being "
                                  "recorded: make room and stop again") from None
        self.origin_beat = None
        return summary

    def describe(self) -> dict:
        bars = 0.0
        if self.recording:
            bars = (self._beat_now() - self.origin_beat) / self.session.engine.clock.beats_per_bar
        return {"recording": self.recording, "bars": round(max(bars, 0.0), 2),
                "clips": len(self._done) + len(self._open), "notes": list(self.notes)}

    # ------------------------------------------------------------------ engine events
    def on_event(self, event: object) -> None:
        if not self.recording or not isinstance(event, PadStateChanged):
            return
        beat = self.session.engine.clock.beat_at(event.at_frame)
        if event.state == PadState.PLAYING and event.pad not in self._open:
            self._begin(event.pad, max(beat, self.origin_beat))
        elif event.state not in PLAYING_STATES and event.pad in self._open:
            self._end(event.pad, beat)

    # ------------------------------------------------------------------ internals
    def _beat_now(self) -> float:
        return self.session.engine.clock.beat_at(self.session.engine.frame)

    def _begin(self, pad_index: int, beat: float) -> None:
        pad = self.editor.project.pad_at(pad_index)
        if pad is None or (pad.loop_id is None and pad.audio_path is None):
            note = f"pad {pad_index} (a live stream or not in the project) was left out"
            if note not in self.notes:
                self.notes.append(note)
            return
        self._open[pad_index] = _Segment(pad, beat)

    def _end(self, pad_index: int, beat: float) -> None:
        segment = self._open.pop(pad_index)
        segment.end_beat = beat
        if beat > segment.start_beat:
            self._done.append(segment)

    def _tracks(self) -> list[Track]:
        project: Project = self.editor.project
        beats_per_bar = self.session.engine.clock.beats_per_bar
        first_bar = song_end_bar(project)
        by_pad: dict[int, list[Clip]] = {}
        pads: dict[int, Pad] = {}
        for segment in sorted(self._done, key=lambda s: s.start_beat):
            start_bar = round((segment.start_beat - self.origin_beat) / beats_per_bar)
            duration_bars = (segment.end_beat - segment.start_beat) / beats_per_bar
            pad = segment.pad
            pads.setdefault(pad.pad_index, pad)
            by_pad.setdefault(pad.pad_index, []).append(Clip(
                loop_id=pad.loop_id, audio_path=pad.audio_path, start_bar=first_bar + start_bar,
                duration_bars=round(duration_bars, 4), start_offset_in_loop_seconds=pad.loop_start_offset_seconds,
                end_offset_in_loop_seconds=pad.loop_end_offset_seconds))
        return [Track(track_name=pads[index].pad_name or f"pad {index + 1}", volume=pads[index].volume,
                      pan=pads[index].pan, sends=list(pads[index].sends), clips=clips)
                for index, clips in sorted(by_pad.items())]


def song_end_bar(project: Project) -> int:
    """The first bar after every clip of the song (0 for an empty song)."""
    ends = [clip.start_bar + clip.duration_bars for track in project.tracks for clip in track.clips]
    return math.ceil(max(ends, default=0.0) - 1e-9)
