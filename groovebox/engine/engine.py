"""The groovebox audio engine: pad voices (1-4 banks of 16), the song, quantized launching, metronome, master.

``render`` runs on the audio thread (the PortAudio/JACK callback, or the offline renderer) and never waits,
locks, logs or touches files; after warm-up it allocates nothing block-sized, only the small event objects
it reports (a pad or song state change, a loop-region wrap) and Python numbers. ``post`` is
called by the control thread only. The two talk through deques (``append``/``popleft`` are atomic under
the GIL): commands in, events out. Continuous values (position, meters) are written in place into
``status`` every block; an engine made with ``meters=False`` (an offline export nobody watches) skips the
peak/RMS meters, which leaves the audio unchanged.

Every state change happens on an exact frame: ``render`` splits its block at each due frame (a quantized
launch, a stop, a timed command) and mixes the pieces in between, so the output does not depend on the
block size.

A stream pad (``AttachStream``, see ``stream.py``) launches like any pad but reads a live ring through its
``StreamReader``, which locks the stream's downbeats onto the bar grid and never plays unwritten audio.

The song (``SetSong``, tracks of clips on bars, with its own transport) is played by ``song.SongPlayer`` on
the same clock: its due frames (clip starts and ends, loop wraps, queued play/stop/jump) split blocks like
pad launches, its voices mix after the pads, and its stopped sounds fade out in the same declick tails.

Effects (``SetEffect``, ``SetPadSends``, ``SetTrackSends``; see ``effects.py``): pads, song tracks and their
declick tails feed the send buses post-fader inside each segment; after the block's last segment the buses
run and return into the mix, then the master insert processes it, then the master chain. Without any effect
processor none of this runs and the output is bit-identical to an engine without effects.

Recording (``ArmRecord``, ``StopRecord``; see ``recorder.py``): the backend hands ``capture`` each input block
before rendering the same frames; the take's start and end split blocks like launches, and at its end the pad
plays it. ``SetMasterTap`` copies every output block into a ring the control loop drains (the live mix).
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from itertools import count

import numpy as np

from groovebox.engine import commands as c
from groovebox.engine.commands import QUANTIZE_BEATS, LaunchMode, Quantize
from groovebox.engine.effects import Effects
from groovebox.engine.events import (
    BufferReleased,
    PadState,
    PadStateChanged,
    RecordingCancelled,
    RecordingDone,
    SongReleased,
    Status,
    StreamDetached,
    TempoChanged,
)
from groovebox.engine.gain import GainRamp
from groovebox.engine.master import LATENCY_FRAMES, MasterChain
from groovebox.engine.metronome import Metronome
from groovebox.engine.pad import NOT_DUE, PadSlot, Tail
from groovebox.engine.recorder import Recorder, RecorderState
from groovebox.engine.song import MAX_TRACKS, SongPlayer
from groovebox.engine.stream import StreamReader, StreamScratch
from groovebox.engine.voice import Playhead, Scratch
from groovebox.transport.clock import TempoClock

__all__ = ["Engine"]

DECLICK_FRAMES = 128
SONG_TAILS = 32          # declick tails for the song's tracks, beside two per pad (the oldest is reused)


class Engine:
    """Mixes pads into a stereo float32 stream. See the module docstring for the threading rules."""

    def __init__(self, sample_rate: int = 48000, max_block_frames: int = 2048, tempo_bpm: float = 120.0,
                 beats_per_bar: int = 4, pads: int = 64, ceiling_db: float = -0.3,
                 master_volume: float = 1.0, meters: bool = True) -> None:
        self.sample_rate = sample_rate
        self.max_block_frames = max_block_frames
        self.clock = TempoClock(sample_rate, tempo_bpm, beats_per_bar)
        self.quantize = Quantize.BAR
        self.pads = [PadSlot(i, max_block_frames) for i in range(pads)]
        self._tails = [Tail(DECLICK_FRAMES) for _ in range(2 * pads + SONG_TAILS)]
        self._scratch = Scratch(max_block_frames)
        self._stream_scratch = StreamScratch(max_block_frames)
        self._mix = np.zeros((max_block_frames, 2), np.float32)
        self._fade = 1.0 - np.arange(1, DECLICK_FRAMES + 1, dtype=np.float32) / DECLICK_FRAMES
        self.master = MasterChain(sample_rate, max_block_frames, ceiling_db=ceiling_db, volume=master_volume)
        self.master.metering = meters            # off: peak/RMS in ``status`` stay 0 (offline exports)
        self.metronome = Metronome(sample_rate)
        self.frame = 0
        self.status = np.zeros(Status.SIZE, np.float64)
        self.status[Status.TEMPO_BPM] = tempo_bpm
        self._inbox: deque[c.Command] = deque()
        self._outbox: deque = deque(maxlen=4096)
        self._timed: list[tuple[int, int, c.Command]] = []
        self._sequence = count()
        self._retired: deque[tuple[int, object]] = deque()      # (release frame, event to send then)
        self.effects = Effects(max_block_frames, pads + MAX_TRACKS, self._outbox.append)
        self.song = SongPlayer(self.clock, max_block_frames, self._fade_voice, self._move_grid, self._outbox.append)
        self.song.effects = self.effects
        self.song.source_base = pads
        self.recorder = Recorder()
        self.tap = None                         # a MasterTap while the live mix is being recorded

    @property
    def latency_frames(self) -> int:
        """Frames between a frame's musical time and the moment it leaves ``render`` (limiter look-ahead)."""
        return LATENCY_FRAMES

    # ----------------------------------------------------------------- control thread
    def post(self, command: c.Command) -> None:
        """Queue a command for the next block (control thread only). Raises ValueError for a bad command:
        everything is checked here so that nothing can fail inside ``render``."""
        self._inbox.append(c.validated(command, len(self.pads), self.clock.beats_per_bar))

    def poll_events(self) -> list:
        """Take the events produced since the last call (control thread only)."""
        events = []
        while self._outbox:
            events.append(self._outbox.popleft())
        return events

    # ----------------------------------------------------------------- audio thread
    def capture(self, inp: np.ndarray, frames: int) -> None:
        """The audio input for the frames the next ``render`` call fills (float32, (frames, 2)); the audio
        backend calls this first, on the audio thread. Only a recording keeps any of it."""
        if self.recorder.active:
            self.recorder.capture(inp, self.frame, frames)

    def render(self, out: np.ndarray, frames: int) -> None:
        """Fill ``out[:frames]`` (float32, (frames, 2)) with the next block. Audio thread.

        Blocks longer than ``max_block_frames`` are rendered in pieces (the result is the same).
        """
        done = 0
        while done < frames:
            count_ = min(frames - done, self.max_block_frames)
            self._render_block(out[done:done + count_], count_)
            done += count_

    def _render_block(self, out: np.ndarray, frames: int) -> None:
        start = self.frame
        end = start + frames
        mix = self._mix[:frames]
        mix.fill(0.0)
        self._drain_inbox(start)
        effects = self.effects
        if effects.enabled:
            effects.begin_block(start, frames)
        at = start
        while True:
            due = self._next_due(at, end)
            if due > at:
                self._mix_segment(mix[at - start:due - start], at, due - at)
                at = due
            if at >= end:
                break
            self._apply_due(at)
        self.frame = end
        if self.recorder.capture_complete(end):
            self._hand_over_take(end)
        if effects.enabled:
            effects.finish_block(mix, start, frames)
        self.master.process(mix, out, frames)
        if self.tap is not None:
            self.tap.write(out, frames)
        for pad in self.pads:
            if pad.stream is not None:
                pad.stream.publish(end)
        self._release_retired()
        self._write_status()

    def _drain_inbox(self, start: int) -> None:
        """Untimed commands apply now; timed ones wait for their frame and then apply after the pad starts
        and stops due on that frame, whichever block they arrived in (so renders are block-independent)."""
        while self._inbox:
            command = self._inbox.popleft()
            at_frame = getattr(command, "at_frame", None)
            if at_frame is None:
                self._apply(command, start)
            else:
                bisect.insort(self._timed, (max(at_frame, start), next(self._sequence), command))

    def _next_due(self, at: int, end: int) -> int:
        due = end
        if self._timed and self._timed[0][0] < due:
            due = self._timed[0][0]
        for pad in self.pads:
            if pad.start_due != NOT_DUE and pad.start_due < due:
                due = pad.start_due
            if pad.stop_due != NOT_DUE and pad.stop_due < due:
                due = pad.stop_due
        if self.song.due < due:
            due = self.song.due
        if self.recorder.active:
            due = min(due, self._recording_due())
        return max(due, at)

    def _apply_due(self, at: int) -> None:
        for pad in self.pads:
            if pad.stop_due != NOT_DUE and pad.stop_due <= at:
                self._stop(pad, at)
            if pad.start_due != NOT_DUE and pad.start_due <= at:
                self._start(pad, at)
        if self.song.due <= at:
            self.song.apply_due(at)
        if self.recorder.active and self._recording_due() <= at:
            self._advance_recording(at)
        while self._timed and self._timed[0][0] <= at:
            self._apply(self._timed.pop(0)[2], at)

    # ----------------------------------------------------------------- mixing
    def _mix_segment(self, mix: np.ndarray, at: int, n: int) -> None:
        voice = self._scratch.voice[:n]
        effects = self.effects if self.effects.enabled else None
        for pad in self.pads:
            if pad.playing:
                if pad.stream is None:
                    pad.playhead.read(voice, at, n, self._scratch)
                else:
                    pad.stream.read(voice, at, n, pad.playhead, self.clock, self._scratch, self._stream_scratch)
                np.multiply(voice, pad.gains.frames(at, n, self._scratch.arange32), out=voice)
                np.add(mix, voice, out=mix)
                if effects is not None:
                    effects.feed(pad.index, voice, at, n)
        self.song.mix_into(mix, voice, at, n, self._scratch)
        for tail in self._tails:
            if tail.active:
                self._mix_tail(tail, mix, at, n)
        self.metronome.mix_into(mix, at, n, self.clock, voice)

    def _mix_tail(self, tail: Tail, mix: np.ndarray, at: int, n: int) -> None:
        first = max(at, tail.fade_start)
        last = min(at + n, tail.fade_start + DECLICK_FRAMES)
        if last > first:
            count_ = last - first
            voice = self._scratch.voice[:count_]
            tail.playhead.read(voice, first, count_, self._scratch)
            offset = first - tail.fade_start
            np.multiply(voice, tail.curve[offset:offset + count_], out=voice)
            target = mix[first - at:last - at]
            np.add(target, voice, out=target)
            if tail.source >= 0 and self.effects.enabled:
                self.effects.feed(tail.source, voice, first, count_)
        if at + n >= tail.fade_start + DECLICK_FRAMES:
            tail.active = False
            tail.playhead.audio = None

    def _fade_out(self, pad: PadSlot, at: int) -> None:
        """Hand the pad's current sound to a tail that fades it out from ``at``."""
        if pad.stream is not None and not pad.stream.can_fade_out(at):
            return                                   # no written audio to fade out: it is silent already
        self._fade_voice(pad.playhead, pad.gains, at, pad.index)

    def _fade_voice(self, playhead: Playhead, gains: GainRamp, at: int, source: int = -1) -> None:
        """Hand the sound read by ``playhead`` (at ``gains``) to a tail that fades it out from ``at``; the tail
        feeds the effect buses with the sends of effect source ``source`` (-1: none)."""
        left, right = gains.at(at)
        if left == 0.0 and right == 0.0:
            return                                   # silent (a muted track): nothing to fade
        tail = self._free_tail()
        tail.playhead.copy_from(playhead)
        np.multiply(self._fade, left, out=tail.curve[:, 0])
        np.multiply(self._fade, right, out=tail.curve[:, 1])
        tail.fade_start = at
        tail.source = source
        tail.active = True

    def _free_tail(self) -> Tail:
        oldest = self._tails[0]
        for tail in self._tails:
            if not tail.active:
                return tail
            if tail.fade_start < oldest.fade_start:
                oldest = tail
        return oldest

    # ----------------------------------------------------------------- pad actions
    def _start(self, pad: PadSlot, at: int) -> None:
        stream_frame = math.nan
        if pad.stream is not None:
            stream_frame = pad.stream.lock_point(at, self.clock)
            if math.isnan(stream_frame):
                self._postpone_start(pad, at)
                return
        pad.clear_start()
        pad.clear_stop()
        if pad.playing:
            self._fade_out(pad, at)
        self._choke(pad, at)
        pad.gains.jump(pad.target_gains())
        if pad.stream is not None:
            pad.stream.lock(pad.playhead, at, stream_frame, self.clock.tempo_bpm)
        else:
            pad.playhead.start(pad.audio, pad.region_start, pad.region_frames, pad.looping, at,
                               pad.rate(self.clock.tempo_bpm))
        pad.playing = True
        self._schedule_natural_end(pad)
        self._set_state(pad, PadState.PLAYING, at)

    def _postpone_start(self, pad: PadSlot, at: int) -> None:
        """A stream pad cannot lock yet (too little buffered, no downbeat): stay queued until the next bar."""
        pad.start_due, pad.start_beat = self.clock.next_grid(at + 1, self.clock.beats_per_bar)
        self._set_state(pad, pad.state, at, pad.start_due)

    def _schedule_natural_end(self, pad: PadSlot) -> None:
        """A one-shot fades out over the last ``DECLICK_FRAMES`` of its region, so a region cut mid-waveform
        does not click (recomputed after tempo or region changes)."""
        if pad.looping:
            if pad.stop_is_end:
                pad.clear_stop()
            return
        pad.stop_due = max(pad.playhead.anchor_frame, pad.playhead.end_frame() - DECLICK_FRAMES)
        pad.stop_beat = math.nan
        pad.stop_is_end = True

    def _stop(self, pad: PadSlot, at: int) -> None:
        pad.clear_stop()
        if pad.playing:
            self._fade_out(pad, at)
        if pad.stream is not None:
            pad.stream.stop(at)
        pad.playing = False
        if pad.start_due != NOT_DUE:
            self._set_state(pad, PadState.QUEUED, at, pad.start_due)
        else:
            self._set_state(pad, PadState.LOADED, at)

    def _choke(self, pad: PadSlot, at: int) -> None:
        if not pad.choke_group:
            return
        for other in self.pads:
            if other is not pad and other.choke_group == pad.choke_group and other.state > PadState.LOADED:
                other.clear_start()
                self._stop(other, at)

    def _schedule_start(self, pad: PadSlot, pressed_at: int) -> None:
        pad.start_due, pad.start_beat = self._grid_after(pad, pressed_at)
        if pad.launch_mode == LaunchMode.TRIGGER:
            pad.clear_stop()
        self._set_state(pad, PadState.QUEUED, pressed_at, pad.start_due)

    def _schedule_stop(self, pad: PadSlot, pressed_at: int, quantized: bool = True) -> None:
        due, beat = self._grid_after(pad, pressed_at) if quantized else (pressed_at, math.nan)
        if pad.stop_is_end and pad.stop_due <= due:
            return                                   # a one-shot that ends by itself first
        pad.stop_due, pad.stop_beat = due, beat
        pad.stop_is_end = False
        self._set_state(pad, PadState.STOPPING, pressed_at, pad.stop_due)

    def _cancel_start(self, pad: PadSlot, at: int) -> None:
        pad.clear_start()
        self._set_state(pad, PadState.PLAYING if pad.playing else PadState.LOADED, at)

    def _grid_after(self, pad: PadSlot, at: int) -> tuple[int, float]:
        quantize = Quantize(pad.quantize) if pad.quantize >= 0 else self.quantize
        step = QUANTIZE_BEATS[quantize]
        if step == 0.0:
            return at, math.nan
        step_beats = step if step > 0 else -step * self.clock.beats_per_bar
        return self.clock.next_grid(at, step_beats)

    def _press(self, command: c.PressPad, at: int) -> None:
        pad = self.pads[command.pad]
        if self.recorder.active and self.recorder.pad == pad.index:
            self._stop_record(c.StopRecord(), at)        # pressing the recording pad again ends the take
            return
        if pad.state == PadState.EMPTY:
            return
        pad.velocity = command.velocity
        if pad.launch_mode in (LaunchMode.TRIGGER, LaunchMode.ONE_SHOT):
            self._schedule_start(pad, at)
        elif pad.state == PadState.QUEUED:
            self._cancel_start(pad, at)
        elif pad.state == PadState.STOPPING:
            pad.clear_stop()
            self._set_state(pad, PadState.PLAYING, at)
        elif pad.state == PadState.PLAYING:
            if pad.launch_mode == LaunchMode.TOGGLE:
                self._schedule_stop(pad, at)
        else:
            self._schedule_start(pad, at)

    def _release(self, command: c.ReleasePad, at: int) -> None:
        pad = self.pads[command.pad]
        if pad.launch_mode != LaunchMode.GATE:
            return
        if pad.state == PadState.QUEUED:
            self._cancel_start(pad, at)
        elif pad.playing:
            self._schedule_stop(pad, at, quantized=False)

    def _stop_pad(self, pad: PadSlot, at: int, quantized: bool) -> None:
        """Cancel a queued start and stop the sound (on the grid when ``quantized``)."""
        if pad.start_due != NOT_DUE:
            self._cancel_start(pad, at)
        if pad.playing and pad.state != PadState.STOPPING:
            self._schedule_stop(pad, at, quantized)

    # ----------------------------------------------------------------- commands
    def _apply(self, command: c.Command, at: int) -> None:
        getattr(self, _HANDLERS[type(command)])(command, at)

    def _load(self, command: c.LoadPad, at: int) -> None:
        pad = self.pads[command.pad]
        if command.only_replacing is not None and pad.audio is not command.only_replacing:
            self._retire(command.audio, at)          # the pad got other audio meanwhile: this swap is stale
            return
        self._cancel_recording_on(pad, at)
        if pad.stream is not None:
            self._empty(pad, at)                     # a loop replaces the stream: start from scratch
        old = pad.audio
        beats_in = None
        if pad.playing:
            beats_in = pad.playhead.position_at(at) * pad.native_bpm / (60.0 * self.sample_rate)
            self._fade_out(pad, at)
        pad.audio = command.audio
        pad.native_bpm = command.native_bpm
        pad.launch_mode = command.launch_mode
        pad.choke_group = command.choke_group
        pad.quantize = command.quantize
        pad.set_region(command.region_start_frame, command.region_end_frame)
        pad.set_mix(command.volume, command.pan, at)
        if beats_in is not None:
            self._continue_in_phase(pad, beats_in, at)
            pad.gains.jump((0.0, 0.0))                   # the new audio fades in while the old fades out
            pad.gains.glide(pad.target_gains(), at, DECLICK_FRAMES)
        elif pad.state == PadState.EMPTY:
            self._set_state(pad, PadState.LOADED, at)
        if old is not None and old is not pad.audio:
            self._retire(old, at)

    def _continue_in_phase(self, pad: PadSlot, beats_in: float, at: int) -> None:
        """A playing pad got new audio: carry on from the same beat inside the loop."""
        pad.playhead.start(pad.audio, pad.region_start, pad.region_frames, pad.looping, at,
                           pad.rate(self.clock.tempo_bpm))
        self._reposition(pad, beats_in * 60.0 * self.sample_rate / pad.native_bpm, at)

    def _reposition(self, pad: PadSlot, position: float, at: int) -> None:
        """Continue a playing pad from ``position`` (frames into its region) at ``at``."""
        pad.playhead.anchor_frame = at
        pad.playhead.anchor_pos = position % pad.region_frames if pad.looping else position
        self._schedule_natural_end(pad)

    def _unload(self, command: c.UnloadPad, at: int) -> None:
        self._cancel_recording_on(self.pads[command.pad], at)
        self._empty(self.pads[command.pad], at)

    def _empty(self, pad: PadSlot, at: int) -> None:
        if pad.audio is None:
            return
        if pad.playing:
            self._fade_out(pad, at)
        pad.playing = False
        pad.clear_start()
        pad.clear_stop()
        self._retire(pad.audio, at)
        if pad.stream is not None:
            self._retire(pad.stream.header, at)
            pad.stream = None
            self._outbox.append(StreamDetached(pad.index, at))
        pad.audio = None
        pad.playhead.audio = None
        self._set_state(pad, PadState.EMPTY, at)

    def _attach_stream(self, command: c.AttachStream, at: int) -> None:
        pad = self.pads[command.pad]
        self._cancel_recording_on(pad, at)
        self._empty(pad, at)
        pad.audio = command.ring
        pad.native_bpm = self.clock.tempo_bpm
        pad.launch_mode = command.launch_mode
        pad.choke_group = 0
        pad.quantize = command.quantize
        pad.set_region(0, 0)
        pad.set_mix(command.volume, command.pan, at)
        pad.stream = StreamReader(command.ring, command.header, command.prebuffer_frames, DECLICK_FRAMES, at)
        self._set_state(pad, PadState.LOADED, at)

    def _detach_stream(self, command: c.DetachStream, at: int) -> None:
        pad = self.pads[command.pad]
        if pad.stream is not None:
            self._empty(pad, at)

    def _set_region(self, command: c.SetPadRegion, at: int) -> None:
        pad = self.pads[command.pad]
        if pad.audio is None or pad.stream is not None:
            return
        position = pad.playhead.position_at(at) if pad.playing else 0.0
        pad.set_region(command.region_start_frame, command.region_end_frame)
        if pad.playing:
            pad.playhead.region_start = pad.region_start
            pad.playhead.region_frames = pad.region_frames
            self._reposition(pad, position, at)

    def _set_tempo(self, command: c.SetTempo, at: int) -> None:
        self.clock.set_tempo(command.tempo_bpm, at)
        for pad in self.pads:
            if pad.playing and pad.stream is not None:
                pad.stream.reanchor(pad.playhead, at, self.clock.tempo_bpm)
            elif pad.playing:
                pad.playhead.reanchor(at, pad.rate(self.clock.tempo_bpm))
                if pad.stop_is_end:
                    self._schedule_natural_end(pad)
            self._regrid(pad)
        self.song.tempo_changed(at)
        self._outbox.append(TempoChanged(self.clock.tempo_bpm, at))

    def _regrid(self, pad: PadSlot) -> None:
        """Move quantized pending starts/stops to where their grid beat now falls."""
        if pad.start_due != NOT_DUE and not math.isnan(pad.start_beat):
            pad.start_due = self.clock.grid_frame(pad.start_beat)
        if pad.stop_due != NOT_DUE and not math.isnan(pad.stop_beat):
            pad.stop_due = self.clock.grid_frame(pad.stop_beat)

    def _locate(self, command: c.Locate, at: int) -> None:
        """Move the grid; playing loops move with it (fading across the jump) so they stay on the bar, and
        the song moves by the part of the jump that is not whole bars."""
        delta_beats = command.beat - self.clock.beat_at(at)
        self._move_grid(command.beat, at)
        self.song.clock_located(at, delta_beats)

    def _move_grid(self, beat: float, at: int) -> None:
        """Make ``at`` be engine beat ``beat``; pads follow (``Locate``, or the song lining its bars up)."""
        delta_beats = beat - self.clock.beat_at(at)
        self.clock.locate(beat, at)
        for pad in self.pads:
            if pad.playing and pad.stream is not None and delta_beats:
                self._fade_out(pad, at)              # the stream cannot jump: it relocks on the new grid
                pad.stream.stop(at)
            elif pad.playing and pad.looping and delta_beats:
                position = pad.playhead.position_at(at) + delta_beats * 60.0 * self.sample_rate / pad.native_bpm
                self._fade_out(pad, at)
                self._reposition(pad, position, at)
            if pad.start_due != NOT_DUE and not math.isnan(pad.start_beat):
                pad.start_due, pad.start_beat = self._grid_after(pad, at)
            if pad.stop_due != NOT_DUE and not math.isnan(pad.stop_beat):
                pad.stop_due, pad.stop_beat = self._grid_after(pad, at)

    def _set_quantize(self, command: c.SetQuantize, at: int) -> None:
        self.quantize = command.quantize

    def _set_master(self, command: c.SetMaster, at: int) -> None:
        self.master.volume_target = command.volume

    def _set_metronome(self, command: c.SetMetronome, at: int) -> None:
        self.metronome.enabled = command.enabled
        self.metronome.volume = command.volume

    def _set_mix(self, command: c.SetPadMix, at: int) -> None:
        self.pads[command.pad].set_mix(command.volume, command.pan, at)

    def _stop_one(self, command: c.StopPad, at: int) -> None:
        self._stop_pad(self.pads[command.pad], at, command.quantized)

    def _stop_all(self, command: c.StopAll, at: int) -> None:
        for pad in self.pads:
            if command.one_shots or pad.looping:
                self._stop_pad(pad, at, command.quantized)

    # ----------------------------------------------------------------- song
    def _set_song(self, command: c.SetSong, at: int) -> None:
        old = self.song.set_arrangement(command.arrangement, at)
        self._retired.append((at + DECLICK_FRAMES, SongReleased(old)))

    # ----------------------------------------------------------------- effects
    def _set_effect(self, command: c.SetEffect, at: int) -> None:
        self.effects.set_processor(command.slot, command.processor, at)

    def _set_pad_sends(self, command: c.SetPadSends, at: int) -> None:
        self.effects.set_sends(command.pad, command.levels, at)

    def _set_track_sends(self, command: c.SetTrackSends, at: int) -> None:
        self.effects.set_sends(len(self.pads) + command.track, command.levels, at)

    def _set_track_mix(self, command: c.SetTrackMix, at: int) -> None:
        self.song.set_track_mix(command.track, command.volume, command.pan, command.muted, command.soloed, at)

    def _song_play(self, command: c.SongPlay, at: int) -> None:
        self.song.play(at, command.quantized)

    def _song_stop(self, command: c.SongStop, at: int) -> None:
        self.song.stop(at, command.quantized)

    def _song_locate(self, command: c.SongLocate, at: int) -> None:
        self.song.locate(command.beat, command.relative, command.quantized, at)

    def _set_song_loop(self, command: c.SetSongLoop, at: int) -> None:
        bar = self.clock.beats_per_bar
        self.song.set_loop(command.enabled, command.start_bar * bar, command.end_bar * bar, at)

    # ----------------------------------------------------------------- recording (see recorder.py)
    def _arm_record(self, command: c.ArmRecord, at: int) -> None:
        pad = self.pads[command.pad]
        if self.recorder.active or pad.state != PadState.EMPTY:
            self._outbox.append(RecordingCancelled(command.pad, command.buffer))
            return
        self.recorder.arm(command.pad, command.buffer, command.bars, command.latency_frames, self.clock, at)
        self.metronome.count_in_until = self.recorder.start_frame
        self._set_state(pad, PadState.QUEUED, at, self.recorder.start_frame)

    def _stop_record(self, command: c.StopRecord, at: int) -> None:
        recorder = self.recorder
        if not recorder.active:
            return
        if command.cancel or not recorder.stop(self.clock, at):
            self._cancel_recording(at)

    def _recording_due(self) -> int:
        due = self.recorder.due_frame(self.clock)
        if self.recorder.state == RecorderState.COUNT_IN:
            self.metronome.count_in_until = due
        return due

    def _advance_recording(self, at: int) -> None:
        recorder = self.recorder
        pad = self.pads[recorder.pad]
        if recorder.state == RecorderState.COUNT_IN:
            recorder.state = RecorderState.RECORDING
            recorder.start_frame = at
            self._set_state(pad, PadState.RECORDING, at)
        elif recorder.state == RecorderState.RECORDING:
            self._play_take(pad, at)

    def _play_take(self, pad: PadSlot, at: int) -> None:
        """The take has its last bar: the pad plays it from its end frame on, in phase (a looper)."""
        recorder = self.recorder
        frames = recorder.end_frame - recorder.start_frame
        beats = self.clock.beat_at(recorder.end_frame) - recorder.start_beat
        pad.audio = recorder.loop = recorder.buffer[:frames]
        pad.native_bpm = beats * 60.0 * self.sample_rate / frames
        pad.launch_mode = LaunchMode.TOGGLE
        pad.choke_group = 0
        pad.quantize = -1
        pad.set_region(0, 0)
        pad.set_mix(1.0, 0.0, at)
        recorder.state = RecorderState.FINISHING
        self._start(pad, at)
        if recorder.end_frame < at:                  # ended on a bar line already passed (a late press)
            self._reposition(pad, (at - recorder.end_frame) * pad.rate(self.clock.tempo_bpm), at)

    def _hand_over_take(self, at: int) -> None:
        recorder = self.recorder
        pad, start_frame, end_frame = recorder.pad, recorder.start_frame, recorder.end_frame
        bars = max(1, round((self.clock.beat_at(end_frame) - recorder.start_beat) / self.clock.beats_per_bar))
        loop, buffer = recorder.take()
        self._outbox.append(RecordingDone(pad, loop, buffer, self.pads[pad].native_bpm, bars, start_frame, end_frame))

    def _cancel_recording_on(self, pad: PadSlot, at: int) -> None:
        """A command replaces what ``pad`` holds: a recording into it stops first (a finished take that is
        still arriving is handed over as it is)."""
        if not self.recorder.active or self.recorder.pad != pad.index:
            return
        if self.recorder.state == RecorderState.FINISHING:
            self._hand_over_take(at)
        else:
            self._cancel_recording(at)

    def _cancel_recording(self, at: int) -> None:
        pad = self.pads[self.recorder.pad]
        if self.recorder.state == RecorderState.FINISHING:
            return
        self.metronome.count_in_until = 0
        self._outbox.append(RecordingCancelled(pad.index, self.recorder.cancel()))
        self._set_state(pad, PadState.EMPTY, at)

    def _set_master_tap(self, command: c.SetMasterTap, at: int) -> None:
        self.tap = command.tap

    # ----------------------------------------------------------------- events and status
    def _set_state(self, pad: PadSlot, state: PadState, at: int, due: int = -1) -> None:
        pad.state = state
        self._outbox.append(PadStateChanged(pad.index, state, at, due))

    def _retire(self, audio: np.ndarray, at: int) -> None:
        self._retired.append((at + DECLICK_FRAMES, BufferReleased(audio)))

    def _release_retired(self) -> None:
        while self._retired and self._retired[0][0] <= self.frame:
            self._outbox.append(self._retired.popleft()[1])

    def _write_status(self) -> None:
        status = self.status
        status[Status.FRAME] = self.frame
        status[Status.BEAT] = self.clock.beat_at(self.frame)
        status[Status.TEMPO_BPM] = self.clock.tempo_bpm
        status[Status.PEAK_L] = self.master.peak[0]
        status[Status.PEAK_R] = self.master.peak[1]
        status[Status.RMS_L] = self.master.rms[0]
        status[Status.RMS_R] = self.master.rms[1]
        status[Status.GAIN_REDUCTION_DB] = self.master.gain_reduction_db
        song_beat = self.song.position_at(self.frame)
        status[Status.SONG_STATE] = self.song.state
        status[Status.SONG_BEAT] = song_beat
        status[Status.SONG_BAR] = song_beat / self.clock.beats_per_bar


_HANDLERS = {
    c.LoadPad: "_load",
    c.UnloadPad: "_unload",
    c.PressPad: "_press",
    c.ReleasePad: "_release",
    c.StopPad: "_stop_one",
    c.StopAll: "_stop_all",
    c.SetPadMix: "_set_mix",
    c.SetPadRegion: "_set_region",
    c.SetTempo: "_set_tempo",
    c.SetQuantize: "_set_quantize",
    c.SetMaster: "_set_master",
    c.SetMetronome: "_set_metronome",
    c.Locate: "_locate",
    c.AttachStream: "_attach_stream",
    c.DetachStream: "_detach_stream",
    c.SetSong: "_set_song",
    c.SetTrackMix: "_set_track_mix",
    c.SongPlay: "_song_play",
    c.SongStop: "_song_stop",
    c.SongLocate: "_song_locate",
    c.SetSongLoop: "_set_song_loop",
    c.SetEffect: "_set_effect",
    c.SetPadSends: "_set_pad_sends",
    c.SetTrackSends: "_set_track_sends",
    c.ArmRecord: "_arm_record",
    c.StopRecord: "_stop_record",
    c.SetMasterTap: "_set_master_tap",
}
