"""Turn a ``Project`` into plain engine data: decoded audio and ``engine.commands`` (control thread / CLI).

The engine never sees pydantic models. Decoding happens here, off the audio thread. Pads and clips refer to
audio by ``audioPath`` (relative to the project file) or by ``loopId``, looked up as
``<library_dir>/<loopId>.flac``.

The song (tracks and clips) becomes one ``SetSong``: every distinct audio file is decoded once and shared by
the clips that play it. A clip's native tempo comes from its library record (``<library_dir>/../groovebox.db``,
when there is one) so it follows the project tempo by varispeed; a clip of a file, or of a loop whose tempo
is unknown, gets 0: it plays at its own speed at any tempo (still starting on its bar).

Effects (``project.effects``, pad and track ``sends``) become ``SetEffect`` commands holding processors built
by ``groovebox.fx.processor`` (pedalboard), and ``SetPadSends``/``SetTrackSends``. ``effect_commands`` diffs
two projects, so a fresh engine (``compile_project``), an export and the live editor use one path; a slot
whose enabled effects did not change keeps its processor (and its reverb tail). Track sends follow the
track's position, as the engine's tracks do.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from groovebox.engine import commands as c
from groovebox.engine.song import build_arrangement
from groovebox.fx.processor import build_processor
from groovebox.fx.spec import BUS_COUNT
from groovebox.library.decode import AudioFileError, load_audio
from groovebox.library.store import Library, LibraryError
from groovebox.project.model import (
    Clip,
    Pad,
    Project,
    ProjectError,
    Track,
    launch_mode_from_text,
    quantize_from_text,
    resolve_audio_path,
    send_levels,
)

__all__ = [
    "CompiledProject",
    "compile_project",
    "compile_song",
    "session_commands",
    "effect_commands",
    "slot_chain",
    "pad_audio_file",
    "pad_load",
    "clip_audio_file",
    "song_command",
    "song_end_beat",
    "library_loop_bpm",
]

LoopBpm = Callable[[str], "float | None"]


@dataclass(frozen=True)
class CompiledProject:
    """What the engine needs to play a project."""

    tempo_bpm: float
    beats_per_bar: int
    quantize: c.Quantize
    master_volume: float
    metronome: bool
    pads: list[c.LoadPad] = field(default_factory=list)
    song: c.SetSong | None = None          # None: the project has no tracks
    effects: list[c.Command] = field(default_factory=list)    # SetEffect / SetPadSends / SetTrackSends


def compile_project(project: Project, project_path: str | Path | None = None, library_dir: Path | None = None,
                    sample_rate: int = 48000, loop_bpm: LoopBpm | None = None) -> CompiledProject:
    """Decode every pad's and clip's audio and build the ``LoadPad``s and the ``SetSong``. Raises
    ``ProjectError`` naming the bad pad or clip. ``loop_bpm(loop_id)`` gives a library loop's native tempo
    (default: ``library_loop_bpm(library_dir)``)."""
    loads = [_compile_pad(project, pad, project_path, library_dir, sample_rate)
             for pad in sorted(project.pads, key=lambda p: p.pad_index) if not pad.is_empty]
    return CompiledProject(
        tempo_bpm=project.bpm,
        beats_per_bar=project.beats_per_bar,
        quantize=quantize_from_text(project.quantize_grid),
        master_volume=project.master_volume,
        metronome=project.metronome,
        pads=loads,
        song=compile_song(project, project_path, library_dir, sample_rate, loop_bpm),
        effects=effect_commands(project, None, sample_rate),
    )


def compile_song(project: Project, project_path: str | Path | None = None, library_dir: Path | None = None,
                 sample_rate: int = 48000, loop_bpm: LoopBpm | None = None) -> c.SetSong | None:
    """The project's ``SetSong`` (None without tracks), decoding each distinct audio file once."""
    if not project.tracks:
        return None
    decoded: dict[Path, np.ndarray] = {}

    def audio_of(clip: Clip) -> np.ndarray:
        path = clip_audio_file(clip, project_path, library_dir)
        if path not in decoded:
            try:
                decoded[path] = load_audio(path, sample_rate)
            except AudioFileError as exc:
                raise ProjectError(f"clip {clip.clip_id}: {exc}") from None
        return decoded[path]
    return song_command(project, audio_of, loop_bpm or library_loop_bpm(library_dir), sample_rate)


def song_command(project: Project, audio_of: Callable[[Clip], np.ndarray], loop_bpm: LoopBpm,
                 sample_rate: int = 48000) -> c.SetSong:
    """The ``SetSong`` for the project's tracks, given each clip's decoded audio (``audio_of``) and the
    native tempo of library loops (``loop_bpm``). Lets a live editor rebuild the song without decoding."""
    if len(project.tracks) > c.MAX_TRACKS:
        raise ProjectError(f"a song has at most {c.MAX_TRACKS} tracks, this one has {len(project.tracks)}")
    tracks = tuple(_song_track(track) for track in project.tracks)
    clips = tuple(_song_clip(index, clip, audio_of(clip), loop_bpm, sample_rate)
                  for index, track in enumerate(project.tracks) for clip in track.clips)
    return c.SetSong(tracks, clips)


def song_end_beat(song: c.SetSong | None, beats_per_bar: int) -> float:
    """Where the song's last clip ends (beats from bar 0; 0 without clips), after overlaps are cut."""
    if song is None:
        return 0.0
    return build_arrangement(song.tracks, song.clips, beats_per_bar).end_beat


def library_loop_bpm(library_dir: Path | None) -> LoopBpm:
    """Native tempos of library loops from ``<library_dir>/../groovebox.db`` (None when unknown or no database)."""
    if library_dir is None or not (Path(library_dir).parent / "groovebox.db").is_file():
        return lambda loop_id: None
    try:
        library = Library(Path(library_dir).parent)
    except (LibraryError, sqlite3.Error):
        return lambda loop_id: None

    def loop_bpm(loop_id: str) -> float | None:
        try:
            return library.get(loop_id).bpm
        except (LibraryError, sqlite3.Error):
            return None
    return loop_bpm


def clip_audio_file(clip: Clip, project_path: str | Path | None, library_dir: Path | None) -> Path:
    """The file a clip plays (``ProjectError`` when it cannot be located); nothing is decoded."""
    return _locate(clip, f"clip {clip.clip_id}", project_path, library_dir)


def _song_track(track: Track) -> c.SongTrack:
    return c.SongTrack(volume=track.volume, pan=track.pan, muted=track.is_muted, soloed=track.is_soloed)


def _song_clip(track_index: int, clip: Clip, audio: np.ndarray, loop_bpm: LoopBpm, sample_rate: int) -> c.SongClip:
    start_frame, end_frame = _region_frames(f"clip {clip.clip_id}", clip.start_offset_in_loop_seconds,
                                            clip.end_offset_in_loop_seconds, audio, sample_rate)
    native_bpm = (loop_bpm(clip.loop_id) if clip.loop_id is not None else None) or 0.0
    return c.SongClip(
        track=track_index,
        audio=audio,
        start_bar=float(clip.start_bar),
        length_bars=float(clip.duration_bars),
        native_bpm=native_bpm if math.isfinite(native_bpm) else 0.0,
        region_start_frame=start_frame,
        region_end_frame=end_frame,
        volume=clip.volume_override,
        pan=clip.pan_override,
    )


def _region_frames(label: str, start_s: float, end_s: float | None, audio, sample_rate: int) -> tuple[int, int]:
    """A loop region in frames (end 0 = the end of the audio); ``ProjectError`` when outside the audio."""
    start_frame = round(start_s * sample_rate)
    end_frame = 0 if end_s is None else min(len(audio), round(end_s * sample_rate))
    if start_frame >= len(audio) or (end_frame and end_frame <= start_frame):
        raise ProjectError(f"{label}: loop region {start_s}..{end_s} s "
                           f"is outside the audio ({len(audio) / sample_rate:.3f} s)")
    return start_frame, end_frame


def session_commands(compiled: CompiledProject, metronome_volume: float = 0.5) -> list[c.Command]:
    """The commands that put a fresh engine into the project's state (pads loaded, nothing playing)."""
    return [
        c.SetTempo(compiled.tempo_bpm, at_frame=None),
        c.SetQuantize(compiled.quantize),
        c.SetMaster(compiled.master_volume),
        c.SetMetronome(compiled.metronome, metronome_volume),
        *compiled.pads,
        *([compiled.song] if compiled.song is not None else []),
        *compiled.effects,
    ]


def slot_chain(project: Project, slot: int) -> tuple:
    """The enabled effects of engine effect slot ``slot`` (a bus 0..BUS_COUNT-1, or BUS_COUNT: the master
    insert); empty for a disabled bus. Equal tuples sound the same."""
    effects = project.effects
    if slot < BUS_COUNT and not effects.bus(slot).enabled:
        return ()
    return tuple(effect for effect in effects.chain(slot) if effect.enabled)


def effect_commands(new: Project, old: Project | None = None, sample_rate: int = 48000) -> list[c.Command]:
    """The commands that take an engine playing ``old``'s effects (None: a fresh engine, no effects) to
    ``new``'s: a ``SetEffect`` with a freshly built processor per slot whose enabled chain changed, and a
    ``SetPadSends``/``SetTrackSends`` per pad/track whose levels changed. ``ProjectError`` if pedalboard
    refuses a setting."""
    commands: list[c.Command] = []
    for slot in range(BUS_COUNT + 1):
        chain = slot_chain(new, slot)
        if old is not None and slot_chain(old, slot) == chain:
            continue
        if old is None and not chain:
            continue
        try:
            commands.append(c.SetEffect(slot, build_processor(chain, sample_rate)))
        except (ValueError, RuntimeError) as error:
            where = "master insert" if slot == BUS_COUNT else f"bus {slot + 1}"
            raise ProjectError(f"{where}: {error}") from None
    pads = sorted({pad.pad_index for pad in new.pads} | {pad.pad_index for pad in (old.pads if old else [])})
    for index in pads:
        levels = send_levels(new.pad_at(index))
        if levels != send_levels(old.pad_at(index) if old else None):
            commands.append(c.SetPadSends(index, levels))
    old_tracks = old.tracks if old is not None else []
    for index in range(min(c.MAX_TRACKS, max(len(new.tracks), len(old_tracks)))):
        levels = send_levels(new.tracks[index] if index < len(new.tracks) else None)
        if levels != send_levels(old_tracks[index] if index < len(old_tracks) else None):
            commands.append(c.SetTrackSends(index, levels))
    return commands


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
    start_frame, end_frame = _region_frames(f"pad {pad.pad_index}", pad.loop_start_offset_seconds,
                                            pad.loop_end_offset_seconds, audio, sample_rate)
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
    return _locate(pad, f"pad {pad.pad_index}", project_path, library_dir)


def _locate(item: Pad | Clip, label: str, project_path: str | Path | None, library_dir: Path | None) -> Path:
    if item.audio_path is not None:
        if project_path is None and not Path(item.audio_path).is_absolute():
            raise ProjectError(f"{label}: a relative audioPath needs the project file's location")
        return resolve_audio_path(project_path or "/", item)
    if library_dir is None:
        raise ProjectError(f"{label}: loopId {item.loop_id!r} needs a library (give --data-dir)")
    path = Path(library_dir) / f"{item.loop_id}.flac"
    if not path.is_file():
        raise ProjectError(f"{label}: loop {item.loop_id!r} is not in the library ({library_dir})")
    return path

