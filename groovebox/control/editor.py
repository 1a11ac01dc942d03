"""The live project editor: every change to the project is an ``Edit``, undoable, and mirrored to the engine.

Control loop only (asyncio, the session's thread): ``Editor`` is the single owner of the live ``Project``
and calls ``post`` (``Engine.post``) from that thread.

    editor = Editor(project, engine.post, library_dir=data_dir / "library")
    editor.apply(SetPadVolume(3, 0.6))       # a new frozen Project; the engine gets one SetPadMix
    editor.undo(); editor.redo()             # applied to the engine the same way
    editor.listeners.append(on_change)       # on_change(Change) after every change

Decisions:
- An edit is a small frozen dataclass whose ``apply(project, context)`` returns a new validated ``Project``
  (models are frozen, so undo history holds snapshots that share everything unchanged). ``Editor.apply``
  validates it, works out the engine commands, and only then swaps the project and posts them: an edit
  that fails (bad value, loop not in the library, region outside the audio) changes nothing and raises
  ``EditError`` with a message a performer understands.
- Engine commands come from the difference between the old and the new project, not from the edit, so an
  edit, an undo, a redo and a whole-project replacement all go through one path. Per pad the command is
  derived with ``project/compile.py`` (``pad_load``) and compared with what the engine holds: new audio
  (loop or file changed) -> ``LoadPad`` with freshly decoded audio; launch mode, choke group, quantize or
  native tempo changed -> ``LoadPad`` with the audio already decoded (no decode; a playing pad keeps its
  phase); only the region -> ``SetPadRegion``; only volume/pan -> ``SetPadMix``; emptied -> ``UnloadPad``.
  Names post nothing.
- The song: when only track volume/pan/mute/solo changed, one ``SetTrackMix`` per changed track (a glide);
  any other change of tracks or clips re-sends the whole song as one ``SetSong`` built by ``compile.py``
  (``song_command``) from the cached audio, which the engine applies without disturbing tracks whose sound
  did not change. A clip's native tempo comes from ``loop_info`` (the library), else 0 (plays at its own
  speed), so tempo edits do not touch the song. Clips whose audio cannot be loaded are left out (``load``,
  tolerant) or refuse the edit.
- Decoded audio is cached per source (library loop id or absolute file path): what the pads hold plus the
  ``spare_audio`` most recently dropped sources, so undoing "clear pad" or moving a loop back reloads
  without decoding. Decoding runs here, on the control loop, off the audio thread; a big decode (a long
  file, a slow Pi) stalls the control loop for its duration and should later move to a worker process
  (DESIGN.md §1), handing back the array.
- Tempo: a pad whose ``nativeBpm`` is unset plays "at the project tempo", which is what ``compile.py`` means
  by None. ``SetBpm`` pins such pads to the old tempo so they keep following the tempo by varispeed, and
  ``AssignPad`` fills ``nativeBpm`` from the library record (or the current tempo), so a saved project, an
  undo and a restart all sound like the live session.
- Undo history is bounded (``history_limit`` steps). Repeated edits of one control (a fader, an encoder:
  the same ``merge_key``) within ``coalesce_s`` merge into one step, so a sweep undoes in one go. Undo and
  redo restore the musical content only: the project's identity (id, name, timestamps) stays, so undo after
  "save as" does not change which project is open. Renames are ``Editor.rename`` (not undoable).
- Relative ``audioPath`` values are made absolute when a project enters the editor (against the file it
  came from), so the live project, the autosaved session and saved projects never depend on their location.
- ``load`` (open / new project) replaces everything, clears the history, and is tolerant: a pad whose audio
  cannot be loaded stays in the project, empty in the engine, and is listed in ``warnings``.
- Effects: ``SetEffects`` replaces the bus chains and master insert, ``SetSend``/``SetSends`` a pad's or
  track's send levels. ``compile.effect_commands`` diffs old and new: a slot whose enabled chain changed
  gets a freshly built processor (``SetEffect``; the engine crossfades), changed levels a
  ``SetPadSends``/``SetTrackSends`` (the engine glides). Repeated changes of one chain or one source's sends
  merge into one undo step like a fader sweep.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal, NamedTuple

import numpy as np
from pydantic import ValidationError

from groovebox.control.projects import (
    ProjectStoreError,
    absolute_audio_paths,
    clean_name,
)
from groovebox.engine import commands as c
from groovebox.fx.spec import EffectsConfig
from groovebox.library.decode import AudioFileError, load_audio
from groovebox.project.compile import (
    clip_audio_file,
    effect_commands,
    pad_audio_file,
    pad_load,
    song_command,
)
from groovebox.project.model import (
    Clip,
    LaunchModeText,
    Pad,
    Project,
    ProjectError,
    QuantizeText,
    Track,
    quantize_from_text,
    send_levels,
)

__all__ = [
    "AddRecordedTracks",
    "AddClip",
    "AddTrack",
    "AssignPad",
    "Change",
    "ClearAllPads",
    "ClearPad",
    "Edit",
    "EditContext",
    "EditError",
    "Editor",
    "LoadBank",
    "LoopInfo",
    "MoveClip",
    "Origin",
    "RemoveClip",
    "RemoveLoop",
    "RemoveTrack",
    "RenameTrack",
    "ReplaceProject",
    "ResizeClip",
    "SetBpm",
    "SetClipMix",
    "SetEffects",
    "SetSend",
    "SetSends",
    "SetMasterVolume",
    "SetMetronome",
    "SetPadChokeGroup",
    "SetPadLaunchMode",
    "SetPadName",
    "SetPadNativeBpm",
    "SetPadPan",
    "SetPadQuantize",
    "SetPadRegion",
    "SetPadVolume",
    "SetQuantize",
    "SetTrackMute",
    "SetTrackPan",
    "SetTrackSolo",
    "SetTrackVolume",
    "TrimClip",
    "content_of",
    "library_loop_info",
]

log = logging.getLogger(__name__)

HISTORY_LIMIT = 200
COALESCE_S = 1.0
SPARE_AUDIO = 8
_IDENTITY = ("project_id", "project_name", "created_at", "updated_at")


class EditError(ValueError):
    """An edit (or undo/redo) that cannot be done; nothing was changed."""


class LoopInfo(NamedTuple):
    """What the editor needs to know about a library loop."""

    name: str
    bpm: float | None


def library_loop_info(data_dir: Path) -> Callable[[str], LoopInfo | None]:
    """A ``loop_info`` that looks loops up in the library of ``data_dir`` (opened, and its analysis stack
    imported, on first use: the daemon starts without scipy)."""
    library = None

    def loop_info(loop_id: str) -> LoopInfo | None:
        from groovebox.library.store import Library, LibraryError

        nonlocal library
        try:
            library = library or Library(data_dir)
            record = library.get(loop_id)
        except (LibraryError, sqlite3.Error) as error:
            log.warning("no library record for loop %s: %s", loop_id, error)
            return None
        return LoopInfo(record.name, record.bpm)
    return loop_info


@dataclass(frozen=True)
class Origin:
    """Where the live project came from: a stored project (``stored_id``) and/or a project file."""

    stored_id: str | None = None
    project_file: Path | None = None


@dataclass(frozen=True)
class Change:
    """What listeners get after every change. ``kind``: edit, undo, redo, load, saved or identity."""

    kind: Literal["edit", "undo", "redo", "load", "saved", "identity"]
    label: str
    project: Project


# ---------------------------------------------------------------------------------------------- context

class EditContext:
    """What an edit may ask of the editor: pad range, file paths, library loops."""

    def __init__(self, pad_count: int, library_dir: Path | None, project_file: Path | None,
                 loop_info: Callable[[str], LoopInfo | None] | None) -> None:
        self.pad_count = pad_count
        self.library_dir = library_dir
        self.project_file = project_file
        self._loop_info = loop_info

    def check_pad(self, pad_index: int) -> int:
        if not isinstance(pad_index, int) or isinstance(pad_index, bool) or not 0 <= pad_index < self.pad_count:
            raise EditError(f"pad {pad_index!r} does not exist (pads are 0-{self.pad_count - 1})")
        return pad_index

    def audio_path(self, audio_path: str) -> str:
        """``audio_path`` made absolute (relative to the project file); EditError when that is impossible."""
        path = Path(audio_path)
        if path.is_absolute():
            return str(path)
        if self.project_file is None:
            raise EditError(f"audioPath {audio_path!r} must be absolute (this project has no file)")
        return str((Path(self.project_file).resolve().parent / path).resolve())

    def loop_info(self, loop_id: str) -> LoopInfo | None:
        return self._loop_info(loop_id) if self._loop_info is not None else None

    def check_source(self, loop_id: str | None, audio_path: str | None) -> str | None:
        """Check that a clip's audio exists; returns the absolute ``audio_path`` (or None for a loop)."""
        if audio_path is not None:
            absolute = self.audio_path(audio_path)
            if not Path(absolute).is_file():
                raise EditError(f"audio file {absolute} does not exist")
            return absolute
        if loop_id is not None and self.library_dir is not None \
                and not (self.library_dir / f"{loop_id}.flac").is_file():
            raise EditError(f"loop {loop_id!r} is not in the library")
        return None


# ---------------------------------------------------------------------------------------------- edits

class Edit(ABC):
    """An undoable change: ``apply`` returns the new project (or raises ValueError/EditError). Abstract: every
    concrete edit below implements ``apply``."""

    name: ClassVar[str] = "edit"

    @abstractmethod
    def apply(self, project: Project, context: EditContext) -> Project:
        """The project after this edit."""

    @property
    def label(self) -> str:
        """Shown as "Undo <label>"."""
        return self.name

    @property
    def merge_key(self) -> tuple | None:
        """Edits with the same key in quick succession become one undo step (None: never merge)."""
        return None


def _put_pad(project: Project, pad: Pad) -> Project:
    pads = [p for p in project.pads if p.pad_index != pad.pad_index] + [pad]
    return project.replace(pads=sorted(pads, key=lambda p: p.pad_index))


def _with_pad(project: Project, context: EditContext, pad_index: int, **changes: object) -> Project:
    context.check_pad(pad_index)
    pad = project.pad_at(pad_index) or Pad(pad_index=pad_index)
    return _put_pad(project, pad.replace(**changes))


@dataclass(frozen=True)
class SetBpm(Edit):
    bpm: float
    name: ClassVar[str] = "tempo"

    def apply(self, project, context):
        pinned = [pad.replace(native_bpm=project.bpm) if pad.native_bpm is None and not pad.is_empty else pad
                  for pad in project.pads]
        return project.replace(bpm=self.bpm, pads=pinned)

    @property
    def merge_key(self):
        return ("bpm",)


@dataclass(frozen=True)
class SetMasterVolume(Edit):
    volume: float
    name: ClassVar[str] = "master volume"

    def apply(self, project, context):
        return project.replace(master_volume=self.volume)

    @property
    def merge_key(self):
        return ("master",)


@dataclass(frozen=True)
class SetQuantize(Edit):
    quantize_grid: QuantizeText
    name: ClassVar[str] = "quantize"

    def apply(self, project, context):
        return project.replace(quantize_grid=self.quantize_grid)


@dataclass(frozen=True)
class SetMetronome(Edit):
    enabled: bool
    name: ClassVar[str] = "metronome"

    def apply(self, project, context):
        return project.replace(metronome=self.enabled)


@dataclass(frozen=True)
class ReplaceProject(Edit):
    """Replace the whole musical content (the REST "PUT project"); the open project's identity stays."""

    project: Project
    name: ClassVar[str] = "replace project"

    def apply(self, project, context):
        for pad in self.project.pads:
            context.check_pad(pad.pad_index)
        replacement = absolute_audio_paths(self.project, context.project_file)
        return replacement.model_copy(update={key: getattr(project, key) for key in _IDENTITY})


@dataclass(frozen=True)
class AssignPad(Edit):
    """Put a library loop (``loop_id``) or a file (``audio_path``) on a pad; the region resets to the whole
    audio and the pad's mix and launch settings stay. ``native_bpm`` defaults to the loop's tempo from the
    library, else the current project tempo."""

    pad_index: int
    loop_id: str | None = None
    audio_path: str | None = None
    native_bpm: float | None = None
    pad_name: str = ""
    name: ClassVar[str] = "assign pad"

    def apply(self, project, context):
        if (self.loop_id is None) == (self.audio_path is None):
            raise EditError("assign a pad either a loopId or an audioPath")
        audio_path = None if self.audio_path is None else context.audio_path(self.audio_path)
        info = context.loop_info(self.loop_id) if self.loop_id is not None else None
        native_bpm = self.native_bpm or (info.bpm if info is not None else None) or project.bpm
        return _with_pad(project, context, self.pad_index, loop_id=self.loop_id, audio_path=audio_path,
                         native_bpm=native_bpm, pad_name=self.pad_name, loop_start_offset_seconds=0.0,
                         loop_end_offset_seconds=None)

    @property
    def label(self):
        return f"load pad {self.pad_index}"


@dataclass(frozen=True)
class ClearPad(Edit):
    """Empty a pad and forget its settings."""

    pad_index: int
    name: ClassVar[str] = "clear pad"

    def apply(self, project, context):
        context.check_pad(self.pad_index)
        return project.replace(pads=[pad for pad in project.pads if pad.pad_index != self.pad_index])

    @property
    def label(self):
        return f"clear pad {self.pad_index}"


@dataclass(frozen=True)
class ClearAllPads(Edit):
    name: ClassVar[str] = "clear all pads"

    def apply(self, project, context):
        return project.replace(pads=[])


@dataclass(frozen=True)
class LoadBank(Edit):
    """Replace the 16 pads of bank ``bank`` with ``pads`` (and, when given, the effects): a scene loading
    into a bank, one undo step. The loops must be in the library."""

    bank: int
    pads: tuple[Pad, ...]
    effects: EffectsConfig | None = None
    label_text: str = "load bank"
    name: ClassVar[str] = "load bank"

    def apply(self, project, context):
        first = self.bank * 16
        for pad in self.pads:
            if not first <= context.check_pad(pad.pad_index) < first + 16:
                raise EditError(f"pad {pad.pad_index} is not in bank {self.bank + 1}")
            context.check_source(pad.loop_id, pad.audio_path)
        kept = [pad for pad in project.pads if not first <= pad.pad_index < first + 16]
        changes: dict = {"pads": sorted([*kept, *self.pads], key=lambda pad: pad.pad_index)}
        if self.effects is not None:
            changes["effects"] = self.effects
        return project.replace(**changes)

    @property
    def label(self):
        return self.label_text


@dataclass(frozen=True)
class _PadEdit(Edit):
    """A change of one pad setting; subclasses name the field and carry ``value``."""

    pad_index: int
    field_name: ClassVar[str] = ""

    def apply(self, project, context):
        return _with_pad(project, context, self.pad_index, **{self.field_name: self.value})

    @property
    def label(self):
        return f"pad {self.pad_index} {self.name}"

    @property
    def merge_key(self):
        return ("pad", self.field_name, self.pad_index)


@dataclass(frozen=True)
class SetPadVolume(_PadEdit):
    value: float
    name: ClassVar[str] = "volume"
    field_name: ClassVar[str] = "volume"


@dataclass(frozen=True)
class SetPadPan(_PadEdit):
    value: float
    name: ClassVar[str] = "pan"
    field_name: ClassVar[str] = "pan"


@dataclass(frozen=True)
class SetPadLaunchMode(_PadEdit):
    value: LaunchModeText
    name: ClassVar[str] = "launch mode"
    field_name: ClassVar[str] = "launch_mode"


@dataclass(frozen=True)
class SetPadName(_PadEdit):
    value: str
    name: ClassVar[str] = "name"
    field_name: ClassVar[str] = "pad_name"


@dataclass(frozen=True)
class SetPadChokeGroup(_PadEdit):
    value: int
    name: ClassVar[str] = "choke group"
    field_name: ClassVar[str] = "choke_group"


@dataclass(frozen=True)
class SetPadQuantize(_PadEdit):
    value: QuantizeText | None
    name: ClassVar[str] = "quantize"
    field_name: ClassVar[str] = "quantize"


@dataclass(frozen=True)
class SetPadNativeBpm(_PadEdit):
    value: float | None
    name: ClassVar[str] = "native tempo"
    field_name: ClassVar[str] = "native_bpm"


@dataclass(frozen=True)
class SetPadRegion(Edit):
    """The loop region in seconds from the start of the audio (``end_s`` None = the end of the audio)."""

    pad_index: int
    start_s: float
    end_s: float | None = None
    name: ClassVar[str] = "loop region"

    def apply(self, project, context):
        return _with_pad(project, context, self.pad_index, loop_start_offset_seconds=self.start_s,
                         loop_end_offset_seconds=self.end_s)

    @property
    def label(self):
        return f"pad {self.pad_index} loop region"

    @property
    def merge_key(self):
        return ("pad", "region", self.pad_index)


def _track_index(project: Project, track_id: str) -> int:
    for index, track in enumerate(project.tracks):
        if track.track_id == track_id:
            return index
    raise EditError(f"no track {track_id!r}")


def _with_track(project: Project, track_id: str, **changes: object) -> Project:
    index = _track_index(project, track_id)
    tracks = list(project.tracks)
    tracks[index] = tracks[index].replace(**changes)
    return project.replace(tracks=tracks)


@dataclass(frozen=True)
class AddTrack(Edit):
    track_name: str = ""
    track_id: str | None = None         # None: a new random id
    position: int | None = None         # None: at the end
    name: ClassVar[str] = "add track"

    def apply(self, project, context):
        track = Track(track_name=self.track_name) if self.track_id is None \
            else Track(track_id=self.track_id, track_name=self.track_name)
        tracks = list(project.tracks)
        tracks.insert(len(tracks) if self.position is None else self.position, track)
        return project.replace(tracks=tracks)


@dataclass(frozen=True)
class AddRecordedTracks(Edit):
    """Whole tracks with their clips (a recorded performance), added after the others in one undo step."""

    tracks: tuple[Track, ...]
    name: ClassVar[str] = "record performance"

    def apply(self, project, context):
        for track in self.tracks:
            for clip in track.clips:
                context.check_source(clip.loop_id, clip.audio_path)
        return project.replace(tracks=[*project.tracks, *self.tracks])


@dataclass(frozen=True)
class RemoveTrack(Edit):
    track_id: str
    name: ClassVar[str] = "remove track"

    def apply(self, project, context):
        index = _track_index(project, self.track_id)
        return project.replace(tracks=project.tracks[:index] + project.tracks[index + 1:])


@dataclass(frozen=True)
class _TrackEdit(Edit):
    track_id: str
    field_name: ClassVar[str] = ""

    def apply(self, project, context):
        return _with_track(project, self.track_id, **{self.field_name: self.value})

    @property
    def label(self):
        return f"track {self.name}"

    @property
    def merge_key(self):
        return ("track", self.field_name, self.track_id)


@dataclass(frozen=True)
class RenameTrack(_TrackEdit):
    value: str
    name: ClassVar[str] = "name"
    field_name: ClassVar[str] = "track_name"


@dataclass(frozen=True)
class SetTrackMute(_TrackEdit):
    value: bool
    name: ClassVar[str] = "mute"
    field_name: ClassVar[str] = "is_muted"

    @property
    def merge_key(self):
        return None


@dataclass(frozen=True)
class SetTrackSolo(_TrackEdit):
    value: bool
    name: ClassVar[str] = "solo"
    field_name: ClassVar[str] = "is_soloed"

    @property
    def merge_key(self):
        return None


@dataclass(frozen=True)
class SetTrackVolume(_TrackEdit):
    value: float
    name: ClassVar[str] = "volume"
    field_name: ClassVar[str] = "volume"


@dataclass(frozen=True)
class SetTrackPan(_TrackEdit):
    value: float
    name: ClassVar[str] = "pan"
    field_name: ClassVar[str] = "pan"


def _clip_index(track: Track, clip_id: str) -> int:
    for index, clip in enumerate(track.clips):
        if clip.clip_id == clip_id:
            return index
    raise EditError(f"no clip {clip_id!r} on track {track.track_name or track.track_id!r}")


def _with_clip(project: Project, track_id: str, clip_id: str, **changes: object) -> Project:
    track = project.tracks[_track_index(project, track_id)]
    clips = list(track.clips)
    index = _clip_index(track, clip_id)
    clips[index] = clips[index].replace(**changes)
    return _with_track(project, track_id, clips=clips)


@dataclass(frozen=True)
class AddClip(Edit):
    """Place a loop (``loop_id``) or a file (``audio_path``) on a track."""

    track_id: str
    loop_id: str | None = None
    audio_path: str | None = None
    start_bar: int = 0
    duration_bars: float = 1.0
    start_offset_s: float = 0.0
    end_offset_s: float | None = None
    clip_id: str | None = None          # None: a new random id
    name: ClassVar[str] = "add clip"

    def apply(self, project, context):
        audio_path = context.check_source(self.loop_id, self.audio_path)
        values = {"loop_id": self.loop_id, "audio_path": audio_path, "start_bar": self.start_bar,
                  "duration_bars": self.duration_bars, "start_offset_in_loop_seconds": self.start_offset_s,
                  "end_offset_in_loop_seconds": self.end_offset_s}
        clip = Clip(**values) if self.clip_id is None else Clip(clip_id=self.clip_id, **values)
        track = project.tracks[_track_index(project, self.track_id)]
        return _with_track(project, self.track_id, clips=[*track.clips, clip])


@dataclass(frozen=True)
class MoveClip(Edit):
    """Move a clip to ``start_bar``, optionally onto another track."""

    track_id: str
    clip_id: str
    start_bar: int
    to_track_id: str | None = None
    name: ClassVar[str] = "move clip"

    def apply(self, project, context):
        if self.to_track_id is None or self.to_track_id == self.track_id:
            return _with_clip(project, self.track_id, self.clip_id, start_bar=self.start_bar)
        source = project.tracks[_track_index(project, self.track_id)]
        target = project.tracks[_track_index(project, self.to_track_id)]
        clip = source.clips[_clip_index(source, self.clip_id)].replace(start_bar=self.start_bar)
        remaining = [other for other in source.clips if other.clip_id != self.clip_id]
        project = _with_track(project, self.track_id, clips=remaining)
        return _with_track(project, self.to_track_id, clips=[*target.clips, clip])

    @property
    def merge_key(self):
        return ("clip", "move", self.clip_id)


@dataclass(frozen=True)
class ResizeClip(Edit):
    track_id: str
    clip_id: str
    duration_bars: float
    name: ClassVar[str] = "resize clip"

    def apply(self, project, context):
        return _with_clip(project, self.track_id, self.clip_id, duration_bars=self.duration_bars)

    @property
    def merge_key(self):
        return ("clip", "resize", self.clip_id)


@dataclass(frozen=True)
class TrimClip(Edit):
    """The part of the audio a clip plays, in seconds from the start of the audio (None = to the end)."""

    track_id: str
    clip_id: str
    start_offset_s: float
    end_offset_s: float | None = None
    name: ClassVar[str] = "trim clip"

    def apply(self, project, context):
        return _with_clip(project, self.track_id, self.clip_id, start_offset_in_loop_seconds=self.start_offset_s,
                          end_offset_in_loop_seconds=self.end_offset_s)

    @property
    def merge_key(self):
        return ("clip", "trim", self.clip_id)


@dataclass(frozen=True)
class SetClipMix(Edit):
    """A clip's own volume/pan (None: follow the track)."""

    track_id: str
    clip_id: str
    volume: float | None = None
    pan: float | None = None
    name: ClassVar[str] = "clip mix"

    def apply(self, project, context):
        return _with_clip(project, self.track_id, self.clip_id, volume_override=self.volume,
                          pan_override=self.pan)

    @property
    def merge_key(self):
        return ("clip", "mix", self.clip_id)


@dataclass(frozen=True)
class RemoveClip(Edit):
    track_id: str
    clip_id: str
    name: ClassVar[str] = "remove clip"

    def apply(self, project, context):
        track = project.tracks[_track_index(project, self.track_id)]
        index = _clip_index(track, self.clip_id)
        return _with_track(project, self.track_id, clips=track.clips[:index] + track.clips[index + 1:])


@dataclass(frozen=True)
class SetEffects(Edit):
    """Replace the project's effects (bus chains and master insert): an ``EffectsConfig`` or its JSON dict."""

    effects: EffectsConfig | dict
    name: ClassVar[str] = "effects"

    def apply(self, project, context):
        return project.replace(effects=self.effects)

    @property
    def merge_key(self):
        return ("effects",)


def _with_sends(project: Project, context: EditContext, pad_index: int | None, track_id: str | None,
                levels: list[float]) -> Project:
    if (pad_index is None) == (track_id is None):
        raise EditError("name either a pad or a track for the sends")
    if pad_index is not None:
        return _with_pad(project, context, pad_index, sends=levels)
    return _with_track(project, track_id, sends=levels)


def _sends_of(project: Project, context: EditContext, pad_index: int | None, track_id: str | None) -> list:
    if pad_index is not None:
        return list(send_levels(project.pad_at(context.check_pad(pad_index))))
    if track_id is not None:
        return list(send_levels(project.tracks[_track_index(project, track_id)]))
    raise EditError("name either a pad or a track for the sends")


@dataclass(frozen=True)
class SetSends(Edit):
    """All send levels (0..1 per bus; fewer given: the rest are 0) of a pad (``pad_index``) or a track."""

    levels: tuple[float, ...]
    pad_index: int | None = None
    track_id: str | None = None
    name: ClassVar[str] = "sends"

    def apply(self, project, context):
        return _with_sends(project, context, self.pad_index, self.track_id, list(self.levels))

    @property
    def merge_key(self):
        return ("sends", self.pad_index, self.track_id)


@dataclass(frozen=True)
class SetSend(Edit):
    """One send level (bus 0..3, level 0..1) of a pad (``pad_index``) or a track (``track_id``)."""

    bus: int
    level: float
    pad_index: int | None = None
    track_id: str | None = None
    name: ClassVar[str] = "send"

    def apply(self, project, context):
        levels = _sends_of(project, context, self.pad_index, self.track_id)
        if isinstance(self.bus, bool) or not isinstance(self.bus, int) or not 0 <= self.bus < len(levels):
            raise EditError(f"bus {self.bus!r} does not exist (buses are 0-{len(levels) - 1})")
        levels[self.bus] = self.level
        return _with_sends(project, context, self.pad_index, self.track_id, levels)

    @property
    def label(self):
        return f"send to bus {self.bus + 1}" if isinstance(self.bus, int) else self.name

    @property
    def merge_key(self):
        return ("send", self.bus, self.pad_index, self.track_id)


@dataclass(frozen=True)
class RemoveLoop(Edit):
    """Take a library loop out of the project: clear its pads and remove its clips (one undo step)."""

    loop_id: str
    loop_name: str
    name: ClassVar[str] = "remove loop"

    def apply(self, project, context):
        original = project
        for pad in original.pads:
            if pad.loop_id == self.loop_id:
                project = ClearPad(pad.pad_index).apply(project, context)
        for track in original.tracks:
            for clip in track.clips:
                if clip.loop_id == self.loop_id:
                    project = RemoveClip(track.track_id, clip.clip_id).apply(project, context)
        return project

    @property
    def label(self):
        return f"remove loop {self.loop_name}"


# ---------------------------------------------------------------------------------------------- editor

@dataclass
class _Step:
    label: str
    before: Project
    after: Project
    merge_key: tuple | None
    at_s: float


@dataclass
class _Plan:
    commands: list = field(default_factory=list)
    loaded: dict[int, c.LoadPad] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    song: c.SetSong | None = None          # a new song for the engine (None: it keeps the one it has)


_CLEAN = object()


class Editor:
    """Owns the live project (control loop only). See the module docstring."""

    def __init__(self, project: Project, post: Callable[[c.Command], None], *, library_dir: Path | None = None,
                 loop_info: Callable[[str], LoopInfo | None] | None = None, origin: Origin = Origin(),
                 saved: Project | None | object = _CLEAN, pad_count: int = 64, sample_rate: int = 48000,
                 metronome_volume: float = 0.5, history_limit: int = HISTORY_LIMIT,
                 coalesce_s: float = COALESCE_S, clock: Callable[[], float] = time.monotonic,
                 loaded: Sequence[c.LoadPad] | None = None, spare_audio: int = SPARE_AUDIO) -> None:
        """``loaded``: the pads the engine already holds for ``project`` (from ``compile_project``); when None,
        the editor posts the whole session itself (pads that fail to load are listed in ``warnings``).
        ``saved``: the stored version of the project, for ``dirty`` (default: ``project`` is clean)."""
        self._post = post
        self.library_dir = library_dir
        self.pad_count = min(pad_count, 64)
        self.sample_rate = sample_rate
        self.metronome_volume = metronome_volume
        self.history_limit = history_limit
        self.coalesce_s = coalesce_s
        self.spare_audio = spare_audio
        self._clock = clock
        self._loop_info = loop_info
        self.listeners: list[Callable[[Change], None]] = []
        self.warnings: list[str] = []
        self.origin = origin
        self._project = self._absolute(project, origin, tolerant=True)
        self._saved = self._project if saved is _CLEAN else saved
        self._undo: list[_Step] = []
        self._redo: list[_Step] = []
        self._can_merge = False
        self._audio: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._loaded: dict[int, c.LoadPad] = {}
        self._song: c.SetSong | None = None     # the last song sent (None: the one compile_project gave the engine)
        if loaded is None:
            self._start_session()
        else:
            self._adopt(loaded)

    # ---- state --------------------------------------------------------------------------------------

    @property
    def project(self) -> Project:
        """The live project (frozen; replace it only through the editor)."""
        return self._project

    @property
    def dirty(self) -> bool:
        """True when the musical content differs from the stored version (or there is none)."""
        return self._saved is None or content_of(self._project) != content_of(self._saved)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def describe(self) -> dict:
        """Undo/redo and save state for the web page."""
        return {"projectId": self._project.project_id, "projectName": self._project.project_name,
                "storedProjectId": self.origin.stored_id, "dirty": self.dirty,
                "canUndo": self.can_undo, "undoLabel": self._undo[-1].label if self._undo else None,
                "canRedo": self.can_redo, "redoLabel": self._redo[-1].label if self._redo else None,
                "warnings": list(self.warnings)}

    # ---- editing ------------------------------------------------------------------------------------

    def apply(self, edit: Edit) -> Project:
        """Apply ``edit``: validate, bring the engine in line, record it for undo, tell listeners."""
        before = self._project
        try:
            after = edit.apply(before, self._context())
        except EditError:
            raise
        except (ValueError, TypeError) as error:
            raise EditError(f"{edit.label}: {_message(error)}") from None
        if after == before:
            return before
        plan = self._plan(before, after)
        self._record(edit, before, after)
        self._commit(after, plan)
        self._notify(Change("edit", edit.label, after))
        return after

    def forget_loop(self, loop_id: str) -> None:
        """A loop left the library: take it out of every step of the history too (its audio is gone, so no
        undo or redo may bring it back); steps that changed nothing else are dropped."""
        context = self._context()
        for history in (self._undo, self._redo):
            kept = []
            for step in history:
                before = RemoveLoop(loop_id, "").apply(step.before, context)
                after = RemoveLoop(loop_id, "").apply(step.after, context)
                if before != after:
                    kept.append(_Step(step.label, before, after, step.merge_key, step.at_s))
            history[:] = kept
        self._can_merge = False

    def undo(self) -> Project | None:
        """Undo the last step (None when there is nothing to undo)."""
        return self._step(self._undo, self._redo, "undo")

    def redo(self) -> Project | None:
        """Redo the last undone step (None when there is nothing to redo)."""
        return self._step(self._redo, self._undo, "redo")

    def load(self, project: Project, origin: Origin = Origin(), saved: Project | None | object = _CLEAN) -> Project:
        """Make ``project`` the live project (open, new): the engine follows, the history is cleared.

        Pads whose audio cannot be loaded stay in the project, empty in the engine, listed in ``warnings``.
        """
        try:
            project = self._absolute(project, origin, tolerant=False)
        except ValueError as error:
            raise EditError(f"cannot open the project: {_message(error)}") from None
        for pad in project.pads:
            self._context().check_pad(pad.pad_index)
        plan = self._plan(self._project, project, tolerant=True)
        if project.beats_per_bar != self._project.beats_per_bar:
            plan.warnings.append(f"{project.beats_per_bar} beats per bar takes effect after a restart")
        self.origin = origin
        self._saved = project if saved is _CLEAN else saved
        self._undo.clear()
        self._redo.clear()
        self._can_merge = False
        self.warnings = plan.warnings
        for warning in plan.warnings:
            log.warning("project %r: %s", project.project_name, warning)
        self._commit(project, plan)
        self._notify(Change("load", f"open {project.project_name}", project))
        return project

    def mark_saved(self, stored: Project) -> None:
        """The live project was stored as ``stored`` (``ProjectStore.save``/``save_as``): adopt its identity
        (id, name, timestamps) and remember it as the saved version."""
        if content_of(stored) != content_of(self._project):
            raise ValueError("mark_saved: the stored project is not the live one")
        self._project = self._project.model_copy(update={key: getattr(stored, key) for key in _IDENTITY})
        self._saved = self._project
        self.origin = Origin(stored_id=stored.project_id, project_file=self.origin.project_file)
        self._notify(Change("saved", "save", self._project))

    def rename(self, name: str) -> Project:
        """Rename the live project (not an undo step; ``ProjectStore.rename`` renames the stored copy)."""
        try:
            name = clean_name(name)
        except ProjectStoreError as error:
            raise EditError(str(error)) from None
        self._project = self._project.replace(project_name=name)
        self._notify(Change("identity", "rename", self._project))
        return self._project

    # ---- internals: history -------------------------------------------------------------------------

    def _record(self, edit: Edit, before: Project, after: Project) -> None:
        now_s = self._clock()
        key = edit.merge_key
        last = self._undo[-1] if self._undo else None
        if (self._can_merge and key is not None and last is not None and last.merge_key == key
                and now_s - last.at_s <= self.coalesce_s):
            last.after, last.at_s = after, now_s
        else:
            self._undo.append(_Step(edit.label, before, after, key, now_s))
            del self._undo[:-self.history_limit]
        self._redo.clear()
        self._can_merge = True

    def _step(self, source: list[_Step], target: list[_Step], kind: Literal["undo", "redo"]) -> Project | None:
        if not source:
            return None
        step = source[-1]
        state = step.before if kind == "undo" else step.after
        project = state.model_copy(update={key: getattr(self._project, key) for key in _IDENTITY})
        try:
            plan = self._plan(self._project, project)
        except EditError as error:       # its audio is gone (a loop deleted from the library): drop the step,
            source.pop()                 # so it cannot block the steps before it
            raise EditError(f"cannot {kind} {step.label}: {error}; that step was dropped from the history") from None
        target.append(source.pop())
        self._can_merge = False
        self._commit(project, plan)
        self._notify(Change(kind, step.label, project))
        return project

    # ---- internals: engine --------------------------------------------------------------------------

    def _context(self) -> EditContext:
        return EditContext(self.pad_count, self.library_dir, self.origin.project_file, self._loop_info)

    def _absolute(self, project: Project, origin: Origin, tolerant: bool) -> Project:
        try:
            return absolute_audio_paths(project, origin.project_file)
        except ProjectStoreError as error:
            if not tolerant:
                raise
            self.warnings.append(str(error))
            return project

    def _start_session(self) -> None:
        project = self._project
        plan = self._plan(project.replace(pads=[], tracks=[], effects=EffectsConfig()), project, tolerant=True)
        self.warnings.extend(plan.warnings)
        for warning in plan.warnings:
            log.warning("project %r: %s", project.project_name, warning)
        commands = [c.SetTempo(project.bpm, at_frame=None), c.SetQuantize(quantize_from_text(project.quantize_grid)),
                    c.SetMaster(project.master_volume), c.SetMetronome(project.metronome, self.metronome_volume)]
        self._commit(project, _Plan(commands + plan.commands, plan.loaded, song=plan.song))

    def _adopt(self, loaded: Iterable[c.LoadPad]) -> None:
        for load in loaded:
            pad = self._project.pad_at(load.pad)
            if pad is not None and not pad.is_empty:
                self._audio[_source(pad)] = load.audio
                self._loaded[load.pad] = load

    def _plan(self, old: Project, new: Project, tolerant: bool = False) -> _Plan:
        """The engine commands that take the engine from ``old`` to ``new`` (nothing is posted yet)."""
        plan = _Plan(_setting_commands(old, new, self.metronome_volume), dict(self._loaded))
        indexes = sorted({pad.pad_index for pad in old.pads} | {pad.pad_index for pad in new.pads})
        for index in indexes:
            before, after = old.pad_at(index), new.pad_at(index)
            if after is None or after.is_empty:
                if plan.loaded.pop(index, None) is not None:
                    plan.commands.append(c.UnloadPad(index))
                continue
            if before == after and (after.native_bpm is not None or old.bpm == new.bpm):
                continue
            try:
                load = self._pad_load(new, after)
            except ProjectError as error:
                if not tolerant:
                    raise EditError(str(error)) from None
                plan.warnings.append(str(error))
                if plan.loaded.pop(index, None) is not None:
                    plan.commands.append(c.UnloadPad(index))
                continue
            plan.commands.extend(_pad_commands(plan.loaded.get(index), load))
            plan.loaded[index] = load
        self._plan_song(old, new, plan, tolerant)
        self._plan_effects(old, new, plan)
        return plan

    def _plan_effects(self, old: Project, new: Project, plan: _Plan) -> None:
        try:
            plan.commands.extend(effect_commands(new, old, self.sample_rate))
        except ProjectError as error:
            raise EditError(str(error)) from None

    def _plan_song(self, old: Project, new: Project, plan: _Plan, tolerant: bool) -> None:
        if _song_content(old) == _song_content(new):
            return
        if _clips_content(old) == _clips_content(new):
            plan.commands.extend(c.SetTrackMix(index, after.volume, after.pan, after.is_muted, after.is_soloed)
                                 for index, (before, after) in enumerate(zip(old.tracks, new.tracks))
                                 if _track_mix(before) != _track_mix(after))
            return
        playable = self._playable_song(new, plan, tolerant)
        loop_bpm: dict[str, float | None] = {}

        def native_bpm(loop_id: str) -> float | None:
            if loop_id not in loop_bpm:
                info = self._context().loop_info(loop_id)
                loop_bpm[loop_id] = info.bpm if info is not None else None
            return loop_bpm[loop_id]
        try:
            plan.song = song_command(playable, self._clip_audio, native_bpm, self.sample_rate)
        except ProjectError as error:
            raise EditError(str(error)) from None
        plan.commands.append(plan.song)

    def _playable_song(self, project: Project, plan: _Plan, tolerant: bool) -> Project:
        """``project`` with only the clips whose audio loads (EditError for the first that does not, unless
        ``tolerant``: then it is left out and listed in the plan's warnings)."""
        tracks = []
        for track in project.tracks:
            clips = []
            for clip in track.clips:
                try:
                    self._clip_audio(clip)
                except ProjectError as error:
                    if not tolerant:
                        raise EditError(str(error)) from None
                    plan.warnings.append(str(error))
                    continue
                clips.append(clip)
            tracks.append(track.replace(clips=clips) if len(clips) != len(track.clips) else track)
        return project.replace(tracks=tracks)

    def _clip_audio(self, clip: Clip) -> np.ndarray:
        key = _source(clip)
        audio = self._audio.get(key)
        if audio is None:
            try:
                audio = load_audio(clip_audio_file(clip, None, self.library_dir), self.sample_rate)
            except AudioFileError as error:
                raise ProjectError(f"clip {clip.clip_id}: {error}") from None
            self._audio[key] = audio
        self._audio.move_to_end(key)
        return audio

    def _pad_load(self, project: Project, pad: Pad) -> c.LoadPad:
        key = _source(pad)
        audio = self._audio.get(key)
        if audio is None:
            path = pad_audio_file(pad, None, self.library_dir)
            try:
                audio = load_audio(path, self.sample_rate)
            except AudioFileError as error:
                raise ProjectError(f"pad {pad.pad_index}: {error}") from None
            self._audio[key] = audio
        self._audio.move_to_end(key)
        return pad_load(project, pad, audio, self.sample_rate)

    def _commit(self, project: Project, plan: _Plan) -> None:
        for command in plan.commands:
            self._post(command)
        self._project = project
        self._loaded = plan.loaded
        if plan.song is not None:
            self._song = plan.song
        self._prune_audio()

    def _prune_audio(self) -> None:
        in_use = {id(load.audio) for load in self._loaded.values()}
        in_use.update(id(clip.audio) for clip in (self._song.clips if self._song is not None else ()))
        spare = [key for key, audio in self._audio.items() if id(audio) not in in_use]
        for key in spare[:max(0, len(spare) - self.spare_audio)]:
            del self._audio[key]

    def _notify(self, change: Change) -> None:
        for listener in list(self.listeners):
            try:
                listener(change)
            except Exception:
                log.exception("editor listener %r failed", listener)


def _source(item: Pad | Clip) -> tuple[str, str]:
    return ("loop", item.loop_id) if item.loop_id is not None else ("file", item.audio_path)


def _track_mix(track: Track) -> tuple:
    return (track.volume, track.pan, track.is_muted, track.is_soloed)


def _clips_content(project: Project) -> tuple:
    """What the song's clips sound like, per track (ids and names do not matter)."""
    return tuple(tuple(clip.model_copy(update={"clip_id": "-"}) for clip in track.clips) for track in project.tracks)


def _song_content(project: Project) -> tuple:
    return (_clips_content(project), tuple(_track_mix(track) for track in project.tracks))


def _setting_commands(old: Project, new: Project, metronome_volume: float) -> list:
    commands: list = []
    if new.bpm != old.bpm:
        commands.append(c.SetTempo(new.bpm, at_frame=None))
    if new.quantize_grid != old.quantize_grid:
        commands.append(c.SetQuantize(quantize_from_text(new.quantize_grid)))
    if new.master_volume != old.master_volume:
        commands.append(c.SetMaster(new.master_volume))
    if new.metronome != old.metronome:
        commands.append(c.SetMetronome(new.metronome, metronome_volume))
    return commands


def _pad_commands(current: c.LoadPad | None, load: c.LoadPad) -> list:
    """The cheapest commands that turn the engine's ``current`` pad into ``load``."""
    if current is None or current.audio is not load.audio or _launch(current) != _launch(load):
        return [load]
    commands: list = []
    if (current.region_start_frame, current.region_end_frame) != (load.region_start_frame, load.region_end_frame):
        commands.append(c.SetPadRegion(load.pad, load.region_start_frame, load.region_end_frame))
    if (current.volume, current.pan) != (load.volume, load.pan):
        commands.append(c.SetPadMix(load.pad, load.volume, load.pan))
    return commands


def _launch(load: c.LoadPad) -> tuple:
    return (load.launch_mode, load.choke_group, load.quantize, load.native_bpm)


def content_of(project: Project) -> Project:
    """The project without its identity (id, name, timestamps): equal contents sound and arrange the same."""
    return project.model_copy(update={"project_id": "-", "project_name": "-", "created_at": None,
                                      "updated_at": None})


def _message(error: Exception) -> str:
    if isinstance(error, ValidationError):
        parts = []
        for item in error.errors(include_url=False):
            where = ".".join(str(part) for part in item["loc"])
            parts.append(f"{where}: {item['msg']}" if where else item["msg"])
        return "; ".join(parts)
    return str(error)
