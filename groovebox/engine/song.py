"""Song playback: tracks of clips placed on bars, with a transport (play, stop, locate, loop region).

``build_arrangement`` runs on the control thread (inside ``commands.validated`` for a ``SetSong``): it turns
the clips into plain, immutable tuples (per-track sorted starts, one sorted list of clip start/end events).
``SongPlayer`` runs on the audio thread inside ``Engine.render``: it never allocates block-sized buffers,
locks, logs or waits; lookups are ``bisect`` on those tuples.

Decisions:
- Time. While the song plays, its position (beats from song bar 0) is ``clock.beat_at(frame) - origin_beat``,
  and ``origin_beat`` is always a whole number of bars: the song's bar lines are the engine's bar lines, so
  pads and song stay in step, the metronome clicks on the song's bars, and a tempo change moves both.
- Play. ``SongPlay(quantized=True)`` (the default) starts like a quantized launch: on the next engine frame
  whose place in the bar is the song position's (the next bar line for a song stopped on a bar line).
  ``quantized=False`` starts at once; if the song position's place in the bar differs from the engine's
  there, the engine's grid is moved by that part of a bar so the bars still line up (playing pads follow it,
  fading across the jump, as with ``Locate``). An offline export starts at frame 0 = bar 0 either way.
- Locate. While stopped or queued a locate just moves the position. While playing it jumps on the next engine
  frame with the target's place in the bar (``quantized``, the default, as a DAW jumps on its launch grid;
  relative jumps such as rewind/fast-forward by a bar happen on the next bar line) or at once (the grid
  moves as for an unquantized play). Targets before bar 0 are clamped to 0. ``SongStop`` keeps the position
  (pause); a stop button is ``SongStop`` + ``SongLocate(0)``. A quantized stop waits for the next bar line;
  ``SongPlay`` meanwhile cancels it.
- An engine ``Locate`` (Link, MIDI clock) moves the song by the part of the jump that is not whole bars, so
  its bars stay on the grid without jumping whole bars.
- Loop region [start bar, end bar): when the playhead reaches the end bar having been before it, it wraps to
  the start bar on that exact frame (the origin moves by the region's whole bars). A song located past the
  end bar plays on.
- Clips. One voice per track. A clip is a looping read of its region (``Playhead``, varispeed ``tempo /
  native_bpm``; native 0 = unknown, plays at rate 1 at any tempo) from its start bar for its length: the
  region repeats to fill a longer clip and is cut by a shorter one. On a track a later-starting clip cuts the
  one before it (equal starts: the later listed wins).
- A clip that starts on its grid frame reads from position 0 at that frame: the same samples a pad launched
  on that bar plays. A voice that enters in the middle of a clip (play, locate, wrap, a new arrangement while
  playing) reads where the beat implies and fades in over ``GLIDE_FRAMES``; every sound that stops (clip end,
  jump, stop) is handed to the engine's declick tails. A jump leaves a voice untouched when it would go on
  with the same audio at the same read position (within a frame), so a loop region whose length is a whole
  number of the clips' loops wraps seamlessly, and re-sending an edited arrangement does not disturb tracks
  that did not change.
- Track volume/pan (constant power, as pads), mute and solo glide over ``GLIDE_FRAMES``; a clip's own
  volume/pan (not NaN) replaces the track's. A voice whose gain is zero is not read.
- The song plays on (silently) past its last clip until stopped.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from groovebox.engine.events import SongLocated, SongState, SongStateChanged
from groovebox.engine.gain import GainRamp, pan_gains
from groovebox.engine.voice import Playhead, Scratch
from groovebox.transport.clock import TempoClock

__all__ = ["MAX_TRACKS", "NEVER", "Arrangement", "build_arrangement", "SongPlayer"]

MAX_TRACKS = 64                      # voices are preallocated; only the arrangement's tracks are visited
NEVER = 1 << 62                      # "no due frame"
_SNAP_FRAMES = 1e-6                  # a read position this close to an integer is that integer (plain copies)
_PHASE_EPS_BEATS = 1e-9
_SILENT = (0.0, 0.0)


# ---------------------------------------------------------------------------------------- control thread

@dataclass(frozen=True, slots=True, repr=False)
class Arrangement:
    """A song as plain tuples (built by ``build_arrangement``; never mutated). Beats are quarter notes from
    song bar 0. Clip ``i`` plays ``clip_audio[i][clip_region_start[i]:+clip_region_frames[i]]`` looping on
    track ``clip_track[i]`` over beats ``[clip_start_beat[i], clip_end_beat[i])``."""

    beats_per_bar: int
    track_count: int
    track_mix: tuple[tuple[float, float, bool, bool], ...]     # (volume, pan, muted, soloed) as sent
    clip_track: tuple[int, ...]
    clip_audio: tuple[np.ndarray, ...]
    clip_region_start: tuple[int, ...]
    clip_region_frames: tuple[int, ...]
    clip_native_bpm: tuple[float, ...]
    clip_volume: tuple[float, ...]                             # NaN: the track's
    clip_pan: tuple[float, ...]
    clip_start_beat: tuple[float, ...]
    clip_end_beat: tuple[float, ...]
    track_starts: tuple[tuple[float, ...], ...]                # per track: its clips' start beats, sorted
    track_clips: tuple[tuple[int, ...], ...]                   # per track: the clips in that order
    event_beat: tuple[float, ...]                              # every clip start and end, sorted
    event_clip: tuple[int, ...]
    event_is_start: tuple[bool, ...]
    end_beat: float                                            # where the last clip ends (0 without clips)

    def __repr__(self) -> str:
        return (f"Arrangement({self.track_count} tracks, {len(self.clip_track)} clips, "
                f"ends at beat {self.end_beat:g})")


def build_arrangement(tracks: Sequence, clips: Sequence, beats_per_bar: int) -> Arrangement:
    """Resolve ``clips`` (``commands.SongClip``, already validated) on ``tracks`` (``commands.SongTrack``) into
    an ``Arrangement``: regions clamped to the audio, overlaps on a track cut, events sorted."""
    kept = []                                                  # (track, start beat, end beat, clip)
    for track in range(len(tracks)):
        own = sorted((clip.start_bar, index) for index, clip in enumerate(clips) if clip.track == track)
        for position, (start_bar, index) in enumerate(own):
            end_bar = start_bar + clips[index].length_bars
            if position + 1 < len(own):
                end_bar = min(end_bar, own[position + 1][0])
            if end_bar > start_bar:
                kept.append((track, start_bar * beats_per_bar, end_bar * beats_per_bar, clips[index]))
    regions = [_region(clip) for _, _, _, clip in kept]
    events = sorted([(start, 1, track, i) for i, (track, start, _, _) in enumerate(kept)]
                    + [(end, 0, track, i) for i, (track, _, end, _) in enumerate(kept)])
    per_track = [[i for i, item in enumerate(kept) if item[0] == track] for track in range(len(tracks))]
    return Arrangement(
        beats_per_bar=beats_per_bar,
        track_count=len(tracks),
        track_mix=tuple((float(t.volume), float(t.pan), bool(t.muted), bool(t.soloed)) for t in tracks),
        clip_track=tuple(item[0] for item in kept),
        clip_audio=tuple(item[3].audio for item in kept),
        clip_region_start=tuple(start for start, _ in regions),
        clip_region_frames=tuple(frames for _, frames in regions),
        clip_native_bpm=tuple(float(item[3].native_bpm) for item in kept),
        clip_volume=tuple(math.nan if item[3].volume is None else float(item[3].volume) for item in kept),
        clip_pan=tuple(math.nan if item[3].pan is None else float(item[3].pan) for item in kept),
        clip_start_beat=tuple(float(item[1]) for item in kept),
        clip_end_beat=tuple(float(item[2]) for item in kept),
        track_starts=tuple(tuple(float(kept[i][1]) for i in own) for own in per_track),
        track_clips=tuple(tuple(own) for own in per_track),
        event_beat=tuple(float(event[0]) for event in events),
        event_clip=tuple(event[3] for event in events),
        event_is_start=tuple(bool(event[1]) for event in events),
        end_beat=float(max((item[2] for item in kept), default=0.0)),
    )


def _region(clip) -> tuple[int, int]:
    """(start frame, frames) of a clip's loop region, clamped to its audio as a pad's is (end 0 = the end)."""
    total = len(clip.audio)
    end = total if clip.region_end_frame <= 0 else min(clip.region_end_frame, total)
    start = min(max(0, clip.region_start_frame), max(0, end - 1))
    return start, max(1, end - start)


# ---------------------------------------------------------------------------------------- audio thread

class TrackVoice:
    """One track's mix and the clip it is playing (``clip`` -1: silent). Audio thread only."""

    __slots__ = ("index", "playhead", "gains", "clip", "volume", "pan", "muted", "soloed")

    def __init__(self, index: int, max_block_frames: int) -> None:
        self.index = index
        self.playhead = Playhead()
        self.gains = GainRamp(max_block_frames)
        self.clip = -1
        self.volume = 0.8
        self.pan = 0.0
        self.muted = False
        self.soloed = False


class SongPlayer:
    """The song transport and track voices of one engine. Audio thread only (see the module docstring).

    ``fade(playhead, gains, at, source)`` hands a sound to a declick tail (``source``: the track's effect
    source, ``source_base + track``, whose sends the tail keeps feeding); ``effects`` (set by the engine, or
    None) gets every track's post-fader sound for the send buses; ``move_grid(beat, at)`` makes engine frame
    ``at`` be engine beat ``beat`` (pads follow); ``emit(event)`` appends to the engine's outbox.
    """

    def __init__(self, clock: TempoClock, max_block_frames: int,
                 fade: Callable[[Playhead, GainRamp, int, int], None], move_grid: Callable[[float, int], None],
                 emit: Callable[[object], None]) -> None:
        self.clock = clock
        self.sample_rate = clock.sample_rate
        self._fade = fade
        self._move_grid = move_grid
        self._emit = emit
        self.effects = None                  # engine.effects.Effects: the send buses
        self.source_base = 0                 # effect source of track 0
        self.arrangement = build_arrangement((), (), clock.beats_per_bar)
        self._all_voices = [TrackVoice(index, max_block_frames) for index in range(MAX_TRACKS)]
        self.voices: list[TrackVoice] = []  # the arrangement's tracks (a slice of ``_all_voices``)
        self.state = SongState.STOPPED
        self.origin_beat = 0.0               # engine beat of song beat 0 while playing (whole bars)
        self.held_beat = 0.0                 # the position while stopped or queued
        self.cursor = 0                      # next event of the arrangement
        self.sounding = False                # some voice has a clip
        self.loop_enabled = False
        self.loop_start_beat = 0.0
        self.loop_end_beat = 0.0
        self._loop_armed = False             # the playhead was before the loop end when it last moved
        self._any_solo = False
        self.due = NEVER                     # the earliest frame at which ``apply_due`` has work
        self._start_due, self._start_grid = NEVER, 0.0
        self._stop_due, self._stop_grid = NEVER, 0.0
        self._jump_due, self._jump_grid = NEVER, 0.0
        self._jump_beat, self._jump_relative = 0.0, False

    # ------------------------------------------------------------------ reading the position
    @property
    def bar_beats(self) -> int:
        return self.clock.beats_per_bar

    def position_at(self, frame: int) -> float:
        """The song position (beats) at ``frame``: moving while playing, held otherwise."""
        if self.state == SongState.PLAYING:
            return self.clock.beat_at(frame) - self.origin_beat
        return self.held_beat

    # ------------------------------------------------------------------ commands
    def set_arrangement(self, arrangement: Arrangement, at: int) -> Arrangement:
        """Use ``arrangement`` from ``at`` (with its track mixes); returns the replaced one (to retire)."""
        old = self.arrangement
        self.arrangement = arrangement
        for voice in self.voices[arrangement.track_count:]:
            self._silence(voice, at)                            # tracks that no longer exist
        self.voices = self._all_voices[:arrangement.track_count]
        for track, voice in enumerate(self.voices):
            voice.volume, voice.pan, voice.muted, voice.soloed = arrangement.track_mix[track]
        self._any_solo = any(voice.soloed for voice in self.voices)
        if self.state == SongState.PLAYING:
            self._seek(at, self.position_at(at))
            self._regain(at)
        else:
            self.cursor = 0
        self._update_due()
        return old

    def set_track_mix(self, track: int, volume: float, pan: float, muted: bool, soloed: bool, at: int) -> None:
        if track >= len(self.voices):
            return                                              # not a track of this song
        voice = self.voices[track]
        voice.volume, voice.pan, voice.muted, voice.soloed = volume, pan, muted, soloed
        self._any_solo = any(voice.soloed for voice in self.voices)
        self._regain(at)

    def play(self, at: int, quantized: bool) -> None:
        """Start (see the module docstring); while playing it cancels a pending quantized stop."""
        if self.state == SongState.PLAYING:
            self._stop_due = NEVER
            self._update_due()
            return
        if self.state == SongState.QUEUED and quantized:
            return
        if quantized:
            self._start_due, self._start_grid = self._phase_grid(at, self.held_beat)
            self.state = SongState.QUEUED
            self._emit(SongStateChanged(SongState.QUEUED, at, self._start_due, self.held_beat))
        else:
            self._begin(at, self.clock.beat_at(at))
        self._update_due()

    def stop(self, at: int, quantized: bool) -> None:
        if self.state == SongState.QUEUED:
            self._start_due = NEVER
            self._set_state(SongState.STOPPED, at)
        elif self.state == SongState.PLAYING and quantized:
            self._stop_due, self._stop_grid = self._phase_grid(at, 0.0)
        elif self.state == SongState.PLAYING:
            self._halt(at)
        self._update_due()

    def locate(self, beat: float, relative: bool, quantized: bool, at: int) -> None:
        """Move the song position to ``beat`` (or by ``beat`` when ``relative``); see the module docstring."""
        if not relative:
            beat = max(0.0, beat)
        if self.state != SongState.PLAYING:
            self.held_beat = max(0.0, self.held_beat + beat if relative else beat)
            self._emit(SongLocated(self.held_beat, at))
            if self.state == SongState.QUEUED:
                self._start_due, self._start_grid = self._phase_grid(at, self.held_beat)
                self._emit(SongStateChanged(SongState.QUEUED, at, self._start_due, self.held_beat))
        elif quantized:
            self._jump_beat, self._jump_relative = beat, relative
            self._jump_due, self._jump_grid = self._phase_grid(at, 0.0 if relative else beat)
        else:
            self._jump(at, self.clock.beat_at(at), beat, relative)
        self._update_due()

    def set_loop(self, enabled: bool, start_beat: float, end_beat: float, at: int) -> None:
        self.loop_enabled = enabled
        self.loop_start_beat = start_beat
        self.loop_end_beat = end_beat
        self._loop_armed = self.position_at(at) < end_beat
        self._update_due()

    # ------------------------------------------------------------------ engine notifications
    def tempo_changed(self, at: int) -> None:
        """The clock changed tempo at ``at``: voices follow by varispeed, pending changes move to their grid."""
        tempo_bpm = self.clock.tempo_bpm
        for voice in self.voices:
            if voice.clip >= 0:
                voice.playhead.reanchor(at, self._rate(voice.clip, tempo_bpm))
        grid = self.clock.grid_frame
        if self._start_due != NEVER:
            self._start_due = grid(self._start_grid)
        if self._stop_due != NEVER:
            self._stop_due = grid(self._stop_grid)
        if self._jump_due != NEVER:
            self._jump_due = grid(self._jump_grid)
        self._update_due()

    def clock_located(self, at: int, delta_beats: float) -> None:
        """The engine grid jumped by ``delta_beats`` at ``at`` (``Locate``): keep the song's bars on the grid."""
        if self.state == SongState.PLAYING:
            whole = round(delta_beats / self.bar_beats) * self.bar_beats
            self.origin_beat += whole
            if abs(delta_beats - whole) > _PHASE_EPS_BEATS:
                position = self.position_at(at)
                self._seek(at, position)
                self._emit(SongLocated(position, at))
        self._requeue(at)
        self._update_due()

    # ------------------------------------------------------------------ due work
    def apply_due(self, at: int) -> None:
        """Do what is due at ``at`` (the engine calls this when ``at >= self.due``)."""
        if self._start_due <= at:
            self._begin(at, self._start_grid)
        if self._stop_due <= at:
            self._halt(at)
        if self._jump_due <= at:
            self._jump(at, self._jump_grid, self._jump_beat, self._jump_relative)
        if self.state == SongState.PLAYING:
            self._run_events(at)
            if self._wrap_frame() <= at:
                self._wrap(at)
        self._update_due()

    def _run_events(self, at: int) -> None:
        arrangement = self.arrangement
        beats = arrangement.event_beat
        while self.cursor < len(beats):
            beat = beats[self.cursor]
            if self._wraps() and beat >= self.loop_end_beat:
                break                                           # the wrap comes first
            if self.clock.grid_frame(self.origin_beat + beat) > at:
                break
            clip = arrangement.event_clip[self.cursor]
            voice = self.voices[arrangement.clip_track[clip]]
            if arrangement.event_is_start[self.cursor]:
                self._start_voice(voice, clip, 0.0, at)
            elif voice.clip == clip:
                self._silence(voice, at)
            self.cursor += 1
        self._update_sounding()

    def _wrap(self, at: int) -> None:
        self.origin_beat += self.loop_end_beat - self.loop_start_beat
        self._seek(at, self.loop_start_beat)
        self._emit(SongLocated(self.loop_start_beat, at))

    def _wraps(self) -> bool:
        return self.loop_enabled and self._loop_armed

    def _wrap_frame(self) -> int:
        if self.state != SongState.PLAYING or not self._wraps():
            return NEVER
        return self.clock.grid_frame(self.origin_beat + self.loop_end_beat)

    def _update_due(self) -> None:
        due = min(self._start_due, self._stop_due, self._jump_due)
        if self.state == SongState.PLAYING:
            due = min(due, self._wrap_frame())
            beats = self.arrangement.event_beat
            if self.cursor < len(beats) and not (self._wraps() and beats[self.cursor] >= self.loop_end_beat):
                due = min(due, self.clock.grid_frame(self.origin_beat + beats[self.cursor]))
        self.due = due

    # ------------------------------------------------------------------ transport internals
    def _begin(self, at: int, engine_beat: float) -> None:
        """Start playing at ``at``, where the engine is at ``engine_beat``, from the held position."""
        self._start_due = NEVER
        self.state = SongState.PLAYING
        self._align(at, engine_beat, self.held_beat)
        self._seek(at, self.held_beat)
        self._emit(SongStateChanged(SongState.PLAYING, at, -1, self.held_beat))

    def _halt(self, at: int) -> None:
        self.held_beat = self.position_at(at)
        for voice in self.voices:
            self._silence(voice, at)
        self.sounding = False
        self._stop_due = self._jump_due = NEVER
        self._set_state(SongState.STOPPED, at)

    def _jump(self, at: int, engine_beat: float, beat: float, relative: bool) -> None:
        self._jump_due = NEVER
        target = max(0.0, beat + (engine_beat - self.origin_beat if relative else 0.0))
        self._align(at, engine_beat, target)
        self._seek(at, target)
        self._emit(SongLocated(target, at))

    def _align(self, at: int, engine_beat: float, target: float) -> None:
        """Make song beat ``target`` sound at ``at`` with the song's bars on the engine's bars."""
        bar = self.bar_beats
        self.origin_beat = round((engine_beat - target) / bar) * bar
        if abs(engine_beat - target - self.origin_beat) > _PHASE_EPS_BEATS:
            self._move_grid(target + self.origin_beat, at)
            self._requeue(at)

    def _requeue(self, at: int) -> None:
        """Pending start/stop/jump frames after the grid moved: the next matching grid point from ``at``."""
        if self._start_due != NEVER:
            self._start_due, self._start_grid = self._phase_grid(at, self.held_beat)
        if self._stop_due != NEVER:
            self._stop_due, self._stop_grid = self._phase_grid(at, 0.0)
        if self._jump_due != NEVER:
            self._jump_due, self._jump_grid = self._phase_grid(at, 0.0 if self._jump_relative else self._jump_beat)

    def _phase_grid(self, at: int, song_beat: float) -> tuple[int, float]:
        """The first (frame, engine beat) at or after ``at`` whose place in the bar is ``song_beat``'s."""
        bar = self.bar_beats
        phase = song_beat % bar
        k = math.floor((self.clock.beat_at(at) - phase) / bar) - 1
        while True:
            beat = phase + k * bar
            frame = self.clock.grid_frame(beat)
            if frame >= at:
                return frame, beat
            k += 1

    def _set_state(self, state: SongState, at: int) -> None:
        self.state = state
        self._emit(SongStateChanged(state, at, -1, self.held_beat))

    # ------------------------------------------------------------------ voices
    def _seek(self, at: int, song_beat: float) -> None:
        """Put every track where ``song_beat`` is, at frame ``at`` (keeping voices that already are there)."""
        arrangement = self.arrangement
        for track, voice in enumerate(self.voices):
            clip = self._clip_at(track, song_beat)
            if clip < 0:
                self._silence(voice, at)
                continue
            position = self._position_in(clip, song_beat)
            if voice.clip >= 0 and self._continues(voice, clip, position, at):
                voice.clip = clip
            else:
                self._start_voice(voice, clip, position, at)
        self.cursor = bisect.bisect_right(arrangement.event_beat, song_beat)
        self._loop_armed = song_beat < self.loop_end_beat
        self._update_sounding()

    def _clip_at(self, track: int, song_beat: float) -> int:
        arrangement = self.arrangement
        k = bisect.bisect_right(arrangement.track_starts[track], song_beat) - 1
        if k < 0:
            return -1
        clip = arrangement.track_clips[track][k]
        return clip if arrangement.clip_end_beat[clip] > song_beat else -1

    def _position_in(self, clip: int, song_beat: float) -> float:
        """Frames into the clip's (unwrapped) loop at ``song_beat``, snapped to an integer when within 1e-6."""
        native_bpm = self.arrangement.clip_native_bpm[clip]
        frames_per_beat = 60.0 * self.sample_rate / native_bpm if native_bpm > 0 else self.clock.frames_per_beat
        position = (song_beat - self.arrangement.clip_start_beat[clip]) * frames_per_beat
        nearest = round(position)
        return float(nearest) if abs(position - nearest) < _SNAP_FRAMES else position

    def _rate(self, clip: int, tempo_bpm: float) -> float:
        native_bpm = self.arrangement.clip_native_bpm[clip]
        return tempo_bpm / native_bpm if native_bpm > 0 else 1.0

    def _continues(self, voice: TrackVoice, clip: int, position: float, at: int) -> bool:
        """Whether ``voice`` already plays ``clip``'s audio and region at ``position`` (within a frame)."""
        arrangement, playhead = self.arrangement, voice.playhead
        if playhead.audio is not arrangement.clip_audio[clip] \
                or playhead.region_start != arrangement.clip_region_start[clip] \
                or playhead.region_frames != arrangement.clip_region_frames[clip] \
                or playhead.rate != self._rate(clip, self.clock.tempo_bpm):
            return False
        length = playhead.region_frames
        difference = abs(playhead.position_at(at) - math.fmod(position, length))
        return min(difference, length - difference) <= max(1.0, playhead.rate)

    def _start_voice(self, voice: TrackVoice, clip: int, position: float, at: int) -> None:
        """``voice`` plays ``clip`` from ``position`` at ``at``: on the spot from 0, else fading in."""
        self._silence(voice, at)
        arrangement = self.arrangement
        length = arrangement.clip_region_frames[clip]
        voice.playhead.start(arrangement.clip_audio[clip], arrangement.clip_region_start[clip], length, True, at,
                             self._rate(clip, self.clock.tempo_bpm))
        voice.playhead.anchor_pos = math.fmod(position, length)
        voice.clip = clip
        if position == 0.0:
            voice.gains.jump(self._target(voice))
        else:
            voice.gains.jump(_SILENT)
            voice.gains.glide(self._target(voice), at)

    def _silence(self, voice: TrackVoice, at: int) -> None:
        if voice.clip >= 0:
            self._fade(voice.playhead, voice.gains, at, self.source_base + voice.index)
            voice.clip = -1
            voice.playhead.audio = None

    def _regain(self, at: int) -> None:
        """Glide every sounding voice to its current target gains."""
        for voice in self.voices:
            if voice.clip >= 0:
                voice.gains.glide(self._target(voice), at)

    def _target(self, voice: TrackVoice) -> tuple[float, float]:
        arrangement = self.arrangement
        volume = arrangement.clip_volume[voice.clip]
        pan = arrangement.clip_pan[voice.clip]
        volume = voice.volume if math.isnan(volume) else volume
        pan = voice.pan if math.isnan(pan) else pan
        audible = not voice.muted and (voice.soloed or not self._any_solo)
        return pan_gains(volume if audible else 0.0, pan)

    def _update_sounding(self) -> None:
        self.sounding = any(voice.clip >= 0 for voice in self.voices)

    # ------------------------------------------------------------------ mixing
    def mix_into(self, mix: np.ndarray, buffer: np.ndarray, at: int, n: int, scratch: Scratch) -> None:
        """Add the tracks' sound for frames ``at .. at+n-1`` to ``mix[:n]`` (``buffer``: an (n, 2) work area)."""
        if not self.sounding:
            return
        effects = self.effects if self.effects is not None and self.effects.enabled else None
        for voice in self.voices:
            if voice.clip < 0:
                continue
            gains = voice.gains
            if gains.target == _SILENT and at >= gains.glide_until:
                continue
            voice.playhead.read(buffer, at, n, scratch)
            np.multiply(buffer, gains.frames(at, n, scratch.arange32), out=buffer)
            np.add(mix, buffer, out=mix)
            if effects is not None:
                effects.feed(self.source_base + voice.index, buffer, at, n)
