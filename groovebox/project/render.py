"""Offline rendering of a project (its song and a performance) through the live engine (CLI ``render``, export).

Runs on the calling thread (a CLI process or a worker process), never in the daemon's audio process.
The same ``Engine.render`` code as the live stream produces the audio, so an export sounds like the
performance, and the result is sample-identical for every block size.

Decisions:
- A project with clips on its tracks plays its song from bar 0 at frame 0 (``SongPlay`` on the first bar
  line); pad actions of a performance play along on the same clock. Without ``seconds`` the render lasts
  until the song's last clip has ended and faded (``DECLICK_FRAMES``) and the performance's sounds have
  stopped, whichever is later.
- The engine renders in blocks of 8192 frames unless told otherwise and without its peak/RMS meters (nobody
  watches them here): neither changes a sample. Each stretch is rendered straight into the result buffer.
- ``progress(fraction)`` is called after every rendered stretch of about a second (``fraction`` of the
  expected length, reaching 1.0 at the end), so a job runner can report an export's progress.
- ``write_audio`` picks the format from the suffix: WAV (16/24-bit PCM or 32-bit float), FLAC (16/24-bit) or
  MP3 (libsndfile's LAME encoder, highest quality). 16-bit output is quantised here with deterministic TPDF
  dither (±1 LSB), so it reads back within 1.5 LSB (4.6e-5) of the float render; 24-bit within 2**-23.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile

from groovebox.engine import Engine, PadState, PadStateChanged
from groovebox.engine import commands as c
from groovebox.engine.engine import DECLICK_FRAMES
from groovebox.engine.offline import OfflineRenderer
from groovebox.engine.pad import NOT_DUE
from groovebox.project.compile import (
    CompiledProject,
    compile_project,
    session_commands,
    song_end_beat,
)
from groovebox.project.model import Project
from groovebox.project.performance import PadAction
from groovebox.transport.clock import TempoClock

__all__ = ["render_project", "write_audio", "song_frames", "AUDIO_FORMATS", "BIT_DEPTHS"]

_LONGEST_GRID_BARS = 4
_CHUNK_FRAMES = 1 << 16
AUDIO_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".mp3": "MP3"}
BIT_DEPTHS = {".wav": {16: "PCM_16", 24: "PCM_24", 32: "FLOAT"}, ".flac": {16: "PCM_16", 24: "PCM_24"}}
_DITHER_SEED = 0x5EED

Progress = Callable[[float], None]


def render_project(project: Project, project_path: str | Path | None, actions: list[PadAction], *,
                   block_frames: int = 8192, seconds: float | None = None, library_dir: Path | None = None,
                   sample_rate: int = 48000, progress: Progress | None = None) -> np.ndarray:
    """Render the project's song and ``actions`` (pad presses/releases) on it; float32 (frames, 2).

    Without ``seconds`` the render covers the song (to the end of its last clip, plus the fade) and the
    performance: a launch still queued at the end happens, then every looping pad stops on the next grid
    point (as Stop All would), one-shots ring out, and the render ends when the last sound has faded.
    """
    compiled = compile_project(project, project_path, library_dir, sample_rate)
    engine = _engine_for(compiled, block_frames, sample_rate)
    renderer = _Renderer(OfflineRenderer(engine, block_frames), progress)
    commands = ([c.SongPlay(at_frame=0)] if compiled.song is not None else []) + [_command(a) for a in actions]
    song_end = song_frames(compiled, sample_rate)
    if seconds is not None:
        renderer.expect(math.ceil(seconds * sample_rate))
        return renderer.finish(renderer.render(math.ceil(seconds * sample_rate), commands))
    if not actions:
        renderer.expect(song_end)
        return renderer.finish(renderer.render(song_end, commands))
    end_frame = max(action.at_frame for action in actions)
    renderer.expect(max(end_frame + 1 + _ring_out_bound(compiled, sample_rate), song_end))
    performance = renderer.render(end_frame + 1, commands)
    engine.poll_events()
    queued = [pad.start_due for pad in engine.pads if pad.start_due != NOT_DUE]
    stop_at = max([end_frame, *queued]) + 1
    ring_out = stop_at - (end_frame + 1) + _ring_out_bound(compiled, sample_rate)
    tail = renderer.render(ring_out, [c.StopAll(at_frame=stop_at, quantized=True, one_shots=False)])
    total = max(_last_stop_frame(engine.poll_events(), end_frame) + DECLICK_FRAMES, song_end)
    parts = [performance, tail]
    rendered = len(performance) + len(tail)
    if total > rendered:
        parts.append(renderer.render(total - rendered))
    return renderer.finish(np.concatenate(parts)[:total])


def song_frames(compiled: CompiledProject, sample_rate: int = 48000) -> int:
    """Frames from bar 0 until the song's last clip has ended and faded out (0 without clips), at the
    project tempo."""
    end_beat = song_end_beat(compiled.song, compiled.beats_per_bar)
    if end_beat <= 0.0:
        return 0
    clock = TempoClock(sample_rate, compiled.tempo_bpm, compiled.beats_per_bar)
    return clock.grid_frame(end_beat) + DECLICK_FRAMES


def write_audio(path: str | Path, audio: np.ndarray, sample_rate: int = 48000, bits: int = 24) -> None:
    """Write ``audio`` as WAV, FLAC or MP3 (by the suffix) atomically: a temp file in the same folder, then a
    rename. ``bits``: 16 or 24 (WAV and FLAC), or 32 (WAV, float); MP3 ignores it."""
    target = Path(path)
    kind = target.suffix.lower()
    if kind not in AUDIO_FORMATS:
        raise ValueError(f"{target.name}: output must end in .wav, .flac or .mp3")
    subtype = _subtype(kind, bits)
    data = _dithered_16_bit(audio) if subtype == "PCM_16" else audio
    temp = target.with_name(f".{target.name}.partial")
    try:
        extra = {"compression_level": 0.0} if kind == ".mp3" else {}
        soundfile.write(temp, data, sample_rate, subtype=subtype, format=AUDIO_FORMATS[kind], **extra)
        temp.replace(target)
    finally:
        temp.unlink(missing_ok=True)


def _subtype(kind: str, bits: int) -> str:
    if kind == ".mp3":
        return "MPEG_LAYER_III"
    depths = BIT_DEPTHS[kind]
    if bits not in depths:
        raise ValueError(f"{kind[1:].upper()} output is {' or '.join(map(str, depths))} bits, not {bits}")
    return depths[bits]


def _dithered_16_bit(audio: np.ndarray) -> np.ndarray:
    """``audio`` as int16 with TPDF dither (deterministic), scaled so that reading it back divides by 32768."""
    rng = np.random.default_rng(_DITHER_SEED)
    out = np.empty(audio.shape, np.int16)
    for start in range(0, len(audio), _CHUNK_FRAMES):
        scaled = np.asarray(audio[start:start + _CHUNK_FRAMES], np.float64) * 32768.0
        scaled += rng.random(scaled.shape)
        scaled -= rng.random(scaled.shape)
        np.rint(scaled, out=scaled)
        np.clip(scaled, -32768, 32767, out=scaled)
        out[start:start + _CHUNK_FRAMES] = scaled
    return out


class _Renderer:
    """An ``OfflineRenderer`` that renders in stretches of ``_CHUNK_FRAMES`` and reports progress."""

    def __init__(self, renderer: OfflineRenderer, progress: Progress | None) -> None:
        self._renderer = renderer
        self._progress = progress
        self._expected = 1
        self._done = 0
        block = renderer.block_frames
        self._chunk = block * max(1, _CHUNK_FRAMES // block)

    def expect(self, frames: int) -> None:
        self._expected = max(1, frames)

    def render(self, frames: int, commands: list | tuple = ()) -> np.ndarray:
        """The next ``frames`` frames, rendered into one buffer (no per-stretch copies)."""
        out = np.empty((frames, 2), np.float32)
        for start in range(0, max(1, frames), self._chunk):   # once even for 0 frames: it posts ``commands``
            count = min(self._chunk, frames - start)
            self._renderer.render_into(out[start:start + count], commands)
            commands = ()                                   # the rest wait in the engine for their frames
            self._done += count
            if self._progress is not None:
                self._progress(min(0.999, self._done / self._expected))
        return out

    def finish(self, audio: np.ndarray) -> np.ndarray:
        if self._progress is not None:
            self._progress(1.0)
        return audio


def _engine_for(compiled: CompiledProject, block_frames: int, sample_rate: int) -> Engine:
    engine = Engine(sample_rate=sample_rate, max_block_frames=max(2048, block_frames),
                    tempo_bpm=compiled.tempo_bpm, beats_per_bar=compiled.beats_per_bar,
                    master_volume=compiled.master_volume, meters=False)
    for command in session_commands(compiled):
        engine.post(command)
    return engine


def _command(action: PadAction) -> c.Command:
    if action.pressed:
        return c.PressPad(action.pad, at_frame=action.at_frame, velocity=action.velocity)
    return c.ReleasePad(action.pad, at_frame=action.at_frame)


def _ring_out_bound(compiled: CompiledProject, sample_rate: int) -> int:
    """Frames after the last action within which every sound has surely stopped."""
    bar_frames = compiled.beats_per_bar * 60.0 * sample_rate / compiled.tempo_bpm
    longest_one_shot = max((_region_frames(load) * load.native_bpm / compiled.tempo_bpm
                            for load in compiled.pads), default=0.0)
    return math.ceil(_LONGEST_GRID_BARS * bar_frames + longest_one_shot) + 2 * DECLICK_FRAMES


def _region_frames(load: c.LoadPad) -> int:
    return (load.region_end_frame or len(load.audio)) - load.region_start_frame


def _last_stop_frame(events: list, end_frame: int) -> int:
    stops = [event.at_frame for event in events
             if isinstance(event, PadStateChanged) and event.state in (PadState.LOADED, PadState.EMPTY)]
    return max([end_frame, *stops])
