"""Offline rendering of a project and a performance through the live engine (CLI ``render``, export).

Runs on the calling thread (a CLI process or a worker process), never in the daemon's audio process.
The same ``Engine.render`` code as the live stream produces the audio, so an export sounds like the
performance, and the result is sample-identical for every block size.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import soundfile

from groovebox.engine import Engine, PadState, PadStateChanged
from groovebox.engine import commands as c
from groovebox.engine.engine import DECLICK_FRAMES
from groovebox.engine.offline import OfflineRenderer
from groovebox.engine.pad import NOT_DUE
from groovebox.project.compile import CompiledProject, compile_project, session_commands
from groovebox.project.model import Project
from groovebox.project.performance import PadAction

__all__ = ["render_project", "write_audio"]

_LONGEST_GRID_BARS = 4


def render_project(project: Project, project_path: str | Path | None, actions: list[PadAction], *,
                   block_frames: int = 256, seconds: float | None = None, library_dir: Path | None = None,
                   sample_rate: int = 48000) -> np.ndarray:
    """Render ``actions`` (pad presses/releases) on ``project``; float32 (frames, 2).

    Without ``seconds`` the render covers the performance; a launch still queued at the end happens, then
    every looping pad stops on the next grid point (as Stop All would), one-shots ring out, and the render
    ends when the last sound has faded.
    """
    compiled = compile_project(project, project_path, library_dir, sample_rate)
    engine = _engine_for(compiled, block_frames, sample_rate)
    renderer = OfflineRenderer(engine, block_frames)
    commands = [_command(action) for action in actions]
    if seconds is not None:
        return renderer.render(math.ceil(seconds * sample_rate), commands)
    end_frame = max((action.at_frame for action in actions), default=0)
    performance = renderer.render(end_frame + 1, commands)
    engine.poll_events()
    queued = [pad.start_due for pad in engine.pads if pad.start_due != NOT_DUE]
    stop_at = max([end_frame, *queued]) + 1
    ring_out = stop_at - (end_frame + 1) + _ring_out_bound(compiled, sample_rate)
    tail = renderer.render(ring_out, [c.StopAll(at_frame=stop_at, quantized=True, one_shots=False)])
    silent_from = _last_stop_frame(engine.poll_events(), end_frame) + DECLICK_FRAMES
    return np.concatenate([performance, tail])[:silent_from]


def write_audio(path: str | Path, audio: np.ndarray, sample_rate: int = 48000) -> None:
    """Write WAV or FLAC (24-bit) atomically: a temp file in the same folder, then a rename."""
    target = Path(path)
    kind = target.suffix.lower()
    if kind not in (".wav", ".flac"):
        raise ValueError(f"{target.name}: output must end in .wav or .flac")
    temp = target.with_name(f".{target.name}.partial")
    try:
        soundfile.write(temp, audio, sample_rate, subtype="PCM_24", format=kind[1:].upper())
        temp.replace(target)
    finally:
        temp.unlink(missing_ok=True)


def _engine_for(compiled: CompiledProject, block_frames: int, sample_rate: int) -> Engine:
    engine = Engine(sample_rate=sample_rate, max_block_frames=max(2048, block_frames),
                    tempo_bpm=compiled.tempo_bpm, beats_per_bar=compiled.beats_per_bar,
                    master_volume=compiled.master_volume)
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
