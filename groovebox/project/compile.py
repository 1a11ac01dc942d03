"""Turn a ``Project`` into plain engine data: decoded audio and ``engine.commands`` (control thread / CLI).

The engine never sees pydantic models. Decoding happens here, off the audio thread. Pads refer to audio by
``audioPath`` (relative to the project file) or by ``loopId``, looked up as ``<library_dir>/<loopId>.flac``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from groovebox.engine import commands as c
from groovebox.library.decode import AudioFileError, load_audio
from groovebox.project.model import (
    Pad,
    Project,
    ProjectError,
    launch_mode_from_text,
    quantize_from_text,
    resolve_audio_path,
)

__all__ = ["CompiledProject", "compile_project", "session_commands", "pad_audio_file", "pad_load"]


@dataclass(frozen=True)
class CompiledProject:
    """What the engine needs to play a project."""

    tempo_bpm: float
    beats_per_bar: int
    quantize: c.Quantize
    master_volume: float
    metronome: bool
    pads: list[c.LoadPad] = field(default_factory=list)


def compile_project(project: Project, project_path: str | Path | None = None, library_dir: Path | None = None,
                    sample_rate: int = 48000) -> CompiledProject:
    """Decode every pad's audio and build its ``LoadPad``. Raises ``ProjectError`` naming the bad pad."""
    loads = [_compile_pad(project, pad, project_path, library_dir, sample_rate)
             for pad in sorted(project.pads, key=lambda p: p.pad_index) if not pad.is_empty]
    return CompiledProject(
        tempo_bpm=project.bpm,
        beats_per_bar=project.beats_per_bar,
        quantize=quantize_from_text(project.quantize_grid),
        master_volume=project.master_volume,
        metronome=project.metronome,
        pads=loads,
    )


def session_commands(compiled: CompiledProject, metronome_volume: float = 0.5) -> list[c.Command]:
    """The commands that put a fresh engine into the project's state (pads loaded, nothing playing)."""
    return [
        c.SetTempo(compiled.tempo_bpm, at_frame=None),
        c.SetQuantize(compiled.quantize),
        c.SetMaster(compiled.master_volume),
        c.SetMetronome(compiled.metronome, metronome_volume),
        *compiled.pads,
    ]


def _compile_pad(project: Project, pad: Pad, project_path: str | Path | None, library_dir: Path | None,
                 sample_rate: int) -> c.LoadPad:
    path = _audio_file(pad, project_path, library_dir)
    try:
        audio = load_audio(path, sample_rate)
    except AudioFileError as exc:
        raise ProjectError(f"pad {pad.pad_index}: {exc}") from None
    return pad_load(project, pad, audio, sample_rate)


def pad_audio_file(pad: Pad, project_path: str | Path | None, library_dir: Path | None) -> Path:
    """The file a non-empty pad plays (``ProjectError`` when it cannot be located); nothing is decoded."""
    return _audio_file(pad, project_path, library_dir)


def pad_load(project: Project, pad: Pad, audio, sample_rate: int = 48000) -> c.LoadPad:
    """The ``LoadPad`` for ``pad`` playing already-decoded ``audio`` (engine format); ``ProjectError`` when
    the loop region lies outside the audio. Lets a live editor re-derive a pad's command without decoding."""
    start_frame = round(pad.loop_start_offset_seconds * sample_rate)
    end_s = pad.loop_end_offset_seconds
    end_frame = 0 if end_s is None else min(len(audio), round(end_s * sample_rate))
    if start_frame >= len(audio) or (end_frame and end_frame <= start_frame):
        raise ProjectError(f"pad {pad.pad_index}: loop region {pad.loop_start_offset_seconds}..{end_s} s "
                           f"is outside the audio ({len(audio) / sample_rate:.3f} s)")
    return c.LoadPad(
        pad=pad.pad_index,
        audio=audio,
        native_bpm=pad.native_bpm or project.bpm,
        region_start_frame=start_frame,
        region_end_frame=end_frame,
        volume=pad.volume,
        pan=pad.pan,
        launch_mode=launch_mode_from_text(pad.launch_mode),
        choke_group=pad.choke_group,
        quantize=-1 if pad.quantize is None else int(quantize_from_text(pad.quantize)),
    )


def _audio_file(pad: Pad, project_path: str | Path | None, library_dir: Path | None) -> Path:
    if pad.audio_path is not None:
        if project_path is None and not Path(pad.audio_path).is_absolute():
            raise ProjectError(f"pad {pad.pad_index}: a relative audioPath needs the project file's location")
        return resolve_audio_path(project_path or "/", pad)
    if library_dir is None:
        raise ProjectError(f"pad {pad.pad_index}: loopId {pad.loop_id!r} needs a library (give --data-dir)")
    path = library_dir / f"{pad.loop_id}.flac"
    if not path.is_file():
        raise ProjectError(f"pad {pad.pad_index}: loop {pad.loop_id!r} is not in the library ({library_dir})")
    return path

