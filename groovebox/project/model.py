"""The project document: pads, song tracks and global settings, as strict pydantic models.

Runs on the control thread (and in workers that render a project); never on the audio thread, which only
sees the plain data ``project/compile.py`` derives from these models.

The JSON uses the seed's camelCase names (``padIndex``, ``loopStartOffsetSeconds``, ...); Python code uses
the snake_case attribute names (``pad.pad_index``). Either spelling is accepted when building a model.
Validation is strict: unknown keys, wrong JSON types (``"0.8"`` for a number, ``1`` for a boolean), NaN and
out-of-range values fail with the field path, e.g. ``pads.2.volume``.

Models are frozen, so a project can be shared as a snapshot (AppState, undo stack) without copying. Change
one with ``replace`` (``project.replace(bpm=130)``), which validates the result; ``model_copy(update=...)``
does not validate. Treat the lists as read-only too: pass a new list to ``replace``.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal, Self, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from groovebox.background import fsync_directory
from groovebox.engine.commands import LaunchMode, Quantize
from groovebox.fx.spec import BUS_COUNT, EffectsConfig

__all__ = [
    "send_levels",
    "Pad",
    "Clip",
    "Track",
    "Project",
    "ProjectError",
    "QuantizeText",
    "LaunchModeText",
    "quantize_from_text",
    "quantize_to_text",
    "launch_mode_from_text",
    "launch_mode_to_text",
    "parse_project",
    "load_project",
    "save_project",
    "project_json_schema",
    "resolve_audio_path",
    "atomic_write_bytes",
]

QuantizeText = Literal["off", "1/16", "1/8", "1/4", "1/2", "1 bar", "2 bars", "4 bars"]
LaunchModeText = Literal["toggle", "trigger", "gate", "oneShot"]

# Ids may end up in file names (projects/<projectId>.json), so they are kept to a safe alphabet.
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Volume = Annotated[float, Field(ge=0.0, le=1.0)]
Pan = Annotated[float, Field(ge=-1.0, le=1.0)]
Seconds = Annotated[float, Field(ge=0.0)]
TempoBpm = Annotated[float, Field(ge=20.0, le=400.0)]
Name = Annotated[str, Field(max_length=100)]
AudioPath = Annotated[str, Field(min_length=1, max_length=4096)]
Sends = Annotated[list[Volume], Field(max_length=BUS_COUNT)]    # per bus, post-fader; missing = 0

_QUANTIZE_BY_TEXT: dict[str, Quantize] = dict(zip(get_args(QuantizeText), Quantize, strict=True))
_LAUNCH_MODE_BY_TEXT: dict[str, LaunchMode] = dict(zip(get_args(LaunchModeText), LaunchMode, strict=True))


def _new_id() -> str:
    return uuid.uuid4().hex


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        strict=True,
        allow_inf_nan=False,
        frozen=True,
        validate_default=True,
    )

    def replace(self, **changes: object) -> Self:
        """A validated copy with ``changes`` applied (snake_case or camelCase names)."""
        model_fields = type(self).model_fields
        names = {field.alias: name for name, field in model_fields.items()}
        values = {name: getattr(self, name) for name in model_fields}
        values.update({names.get(key, key): value for key, value in changes.items()})
        return self.model_validate(values)


def _check_region(start_s: float, end_s: float | None, start_name: str, end_name: str) -> None:
    if end_s is not None and end_s <= start_s:
        raise ValueError(f"{end_name} ({end_s}) must be greater than {start_name} ({start_s})")


def _unique(values: list[str] | list[int], what: str) -> None:
    seen: set[str | int] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"duplicate {what} {value!r}")
        seen.add(value)


class Pad(_Model):
    """One of the 64 pads (four banks of 16). A pad plays ``loopId`` (from the library) or ``audioPath`` (a file); neither = empty.

    ``audioPath`` is relative to the project file's directory, or absolute (see ``resolve_audio_path``).
    The loop region is ``[loopStartOffsetSeconds, loopEndOffsetSeconds)`` measured from the start of the
    audio: ``loopEndOffsetSeconds`` is the *position in the audio* where the region ends (not a distance
    from the end of the file), and None means the end of the file. ``nativeBpm`` is the tempo the audio
    was played at (None = assume the project tempo). ``quantize`` overrides the project's ``quantizeGrid``
    for this pad (None = follow it). ``chokeGroup`` 1-16: starting a pad stops the others in its group.
    ``sends`` are the levels (0..1) to the project's effect buses 0..3, post-fader; missing ones are 0.
    """

    pad_index: int = Field(ge=0, le=63)
    loop_id: Identifier | None = None
    audio_path: AudioPath | None = None
    pad_name: Name = ""
    volume: Volume = 0.8
    pan: Pan = 0.0
    loop_start_offset_seconds: Seconds = 0.0
    loop_end_offset_seconds: Seconds | None = None
    launch_mode: LaunchModeText = "toggle"
    choke_group: int = Field(default=0, ge=0, le=16)
    native_bpm: TempoBpm | None = None
    quantize: QuantizeText | None = None
    sends: Sends = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> Pad:
        if self.loop_id is not None and self.audio_path is not None:
            raise ValueError("a pad has loopId or audioPath, not both")
        _check_region(self.loop_start_offset_seconds, self.loop_end_offset_seconds,
                      "loopStartOffsetSeconds", "loopEndOffsetSeconds")
        return self

    @property
    def is_empty(self) -> bool:
        """True when the pad has no audio (neither ``loopId`` nor ``audioPath``)."""
        return self.loop_id is None and self.audio_path is None


class Clip(_Model):
    """A loop placed on a song track: exactly one of ``loopId`` / ``audioPath``.

    ``startBar`` is 0-based (bar 0 is the song's first bar; a page shows it as bar 1). ``durationBars``
    is how long the clip lasts on the timeline. The offsets bound the part of the audio that plays,
    measured from the start of the audio, with the same meaning as the pad's loop region. The overrides
    replace the track's volume/pan when given.
    """

    clip_id: Identifier = Field(default_factory=_new_id)
    loop_id: Identifier | None = None
    audio_path: AudioPath | None = None
    start_bar: int = Field(default=0, ge=0)
    duration_bars: float = Field(default=1.0, gt=0.0)
    start_offset_in_loop_seconds: Seconds = 0.0
    end_offset_in_loop_seconds: Seconds | None = None
    volume_override: Volume | None = None
    pan_override: Pan | None = None

    @model_validator(mode="after")
    def _check(self) -> Clip:
        if (self.loop_id is None) == (self.audio_path is None):
            raise ValueError("a clip needs exactly one of loopId or audioPath")
        _check_region(self.start_offset_in_loop_seconds, self.end_offset_in_loop_seconds,
                      "startOffsetInLoopSeconds", "endOffsetInLoopSeconds")
        return self


class Track(_Model):
    """A song track: a mixer channel holding clips; ``sends`` as a pad's (per bus, post-fader, missing = 0)."""

    track_id: Identifier = Field(default_factory=_new_id)
    track_name: Name = ""
    volume: Volume = 0.8
    pan: Pan = 0.0
    is_muted: bool = False
    is_soloed: bool = False
    sends: Sends = Field(default_factory=list)
    clips: list[Clip] = Field(default_factory=list)

    @field_validator("clips")
    @classmethod
    def _unique_clips(cls, clips: list[Clip]) -> list[Clip]:
        _unique([clip.clip_id for clip in clips], "clipId")
        return clips


class Project(_Model):
    """A whole session: tempo, launch grid, master volume, up to 64 pads (four banks) and the song's tracks.

    Pads are listed in any order with unique ``padIndex``; a pad index that is not listed is empty.
    ``tracks`` are the song arrangement. ``effects`` holds the send buses' chains and the master insert
    (``groovebox.fx.spec``; a file without it has none). ``createdAt`` and ``updatedAt`` are ISO 8601
    timestamps kept as given: ``save_project`` does not touch them.
    """

    project_id: Identifier = Field(default_factory=_new_id)
    project_name: str = Field(default="Untitled", min_length=1, max_length=100)
    bpm: TempoBpm = 120.0
    master_volume: Volume = 0.8
    quantize_grid: QuantizeText = "1 bar"
    beats_per_bar: int = Field(default=4, ge=1, le=16)
    metronome: bool = False
    pads: list[Pad] = Field(default_factory=list, max_length=64)
    tracks: list[Track] = Field(default_factory=list)
    effects: EffectsConfig = Field(default_factory=EffectsConfig)
    created_at: datetime | None = Field(default=None, strict=False)
    updated_at: datetime | None = Field(default=None, strict=False)

    @field_validator("pads")
    @classmethod
    def _unique_pads(cls, pads: list[Pad]) -> list[Pad]:
        _unique([pad.pad_index for pad in pads], "padIndex")
        return pads

    @field_validator("tracks")
    @classmethod
    def _unique_tracks(cls, tracks: list[Track]) -> list[Track]:
        _unique([track.track_id for track in tracks], "trackId")
        return tracks

    def pad_at(self, pad_index: int) -> Pad | None:
        """The pad with ``padIndex == pad_index``, or None when that pad is not listed."""
        return next((pad for pad in self.pads if pad.pad_index == pad_index), None)

    def to_json(self) -> str:
        """The project as the camelCase JSON document ``load_project`` reads (2-space indent, newline)."""
        return self.model_dump_json(by_alias=True, indent=2) + "\n"


def send_levels(item: Pad | Track | None) -> tuple[float, ...]:
    """A pad's or track's send levels, one per bus (``BUS_COUNT``), missing ones 0 (None: all 0)."""
    sends = list(item.sends) if item is not None else []
    return tuple(sends + [0.0] * (BUS_COUNT - len(sends)))


class ProjectError(ValueError):
    """A project file that cannot be read or is invalid; the message names the file and the field path."""


def quantize_from_text(text: str) -> Quantize:
    """Map a ``quantizeGrid`` string ("off", "1/16", ..., "4 bars") to the engine's ``Quantize``."""
    try:
        return _QUANTIZE_BY_TEXT[text]
    except KeyError:
        raise ValueError(f"unknown quantize {text!r}; expected one of {list(_QUANTIZE_BY_TEXT)}") from None


def quantize_to_text(quantize: Quantize) -> QuantizeText:
    """The ``quantizeGrid`` string for an engine ``Quantize``."""
    return get_args(QuantizeText)[Quantize(quantize)]


def launch_mode_from_text(text: str) -> LaunchMode:
    """Map a ``launchMode`` string ("toggle", "trigger", "gate", "oneShot") to the engine's ``LaunchMode``."""
    try:
        return _LAUNCH_MODE_BY_TEXT[text]
    except KeyError:
        raise ValueError(f"unknown launch mode {text!r}; expected one of {list(_LAUNCH_MODE_BY_TEXT)}") from None


def launch_mode_to_text(mode: LaunchMode) -> LaunchModeText:
    """The ``launchMode`` string for an engine ``LaunchMode``."""
    return get_args(LaunchModeText)[LaunchMode(mode)]


def _describe(error: ValidationError, source: str) -> str:
    lines = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item["loc"])
        lines.append(f"{source}: {where}: {item['msg']}" if where else f"{source}: {item['msg']}")
    return "\n".join(lines)


def parse_project(data: str | bytes, source: str = "<project>") -> Project:
    """Validate a project JSON document. Raises ``ProjectError`` naming ``source`` and each field path."""
    try:
        return Project.model_validate_json(data)
    except ValidationError as error:
        raise ProjectError(_describe(error, source)) from None


def load_project(path: str | os.PathLike[str]) -> Project:
    """Read and validate a project file; ``ProjectError`` for a missing, unreadable, malformed or invalid file."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ProjectError(f"{os.fspath(path)}: cannot read: {error.strerror or error}") from None
    return parse_project(data, source=os.fspath(path))


def save_project(project: Project, path: str | os.PathLike[str]) -> None:
    """Write the project as camelCase JSON, atomically: a crash leaves the old file or the new one, never half.

    Paths inside the project (``audioPath``) are written as they are, so saving to another directory does
    not rebase relative paths.
    """
    atomic_write_bytes(path, project.to_json().encode("utf-8"))


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically and durably.

    Writes a temporary file in the same directory, fsyncs it, ``os.replace``s it over ``path`` and fsyncs
    the directory so the rename survives a power cut. An existing file keeps its permission bits; a new
    one gets 0o644. The temporary file is removed if anything fails.
    """
    target = Path(path)
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as temp:
            temp.write(data)
            temp.flush()
            os.fsync(temp.fileno())
        os.chmod(temp_name, _mode_for(target))
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    fsync_directory(target.parent)


def _mode_for(target: Path) -> int:
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        return 0o644




def project_json_schema() -> dict:
    """The JSON Schema (draft 2020-12) of a project file, with the camelCase names (``groovebox schema project``)."""
    schema = Project.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def resolve_audio_path(project_path: str | os.PathLike[str], item: Pad | Clip) -> Path:
    """Where a pad's or clip's ``audioPath`` points: absolute as given, else relative to the project file's directory.

    Raises ``ValueError`` when the item has no ``audioPath`` (it is empty or uses ``loopId``).
    """
    if item.audio_path is None:
        raise ValueError(f"{_label(item)} has no audioPath")
    audio_path = Path(item.audio_path)
    if audio_path.is_absolute():
        return audio_path
    return Path(project_path).parent / audio_path


def _label(item: Pad | Clip) -> str:
    return f"pad {item.pad_index}" if isinstance(item, Pad) else f"clip {item.clip_id}"
