"""Saved projects: one JSON document per project in ``<data_dir>/projects/<projectId>.json``.

Called on the control loop (list, load, save: small files, a few milliseconds) and by CLI commands; never on
the audio thread.

Decisions:
- The file name is the project's identity: ``load`` returns the document with ``projectId`` set to the file's
  stem, so a file copied under another name is a separate project and saving it never writes elsewhere.
  Ids must match the model's identifier alphabet (``[A-Za-z0-9_-]{1,64}``), so an id from a URL can never
  name a path outside the projects directory.
- Every write is atomic and durable (``atomic_write_bytes``: temp file, fsync, rename, fsync dir).
- ``save`` stamps ``updatedAt`` (and ``createdAt`` the first time); ``list`` sorts newest first by
  ``updatedAt``, falling back to the file's modification time.
- A corrupt file (not JSON, or not a valid project) is reported, never repaired or replaced silently:
  ``list`` shows it as an entry with ``error`` set and still lists the others, ``load`` raises with the
  field path, ``save`` over it is refused (save as a new project, or delete it first), ``delete`` removes it.
- Names are stripped, 1-100 characters, without control characters; two projects may share a name.
- Pads and clips that play a file keep ``audioPath`` as given; ``absolute_audio_paths`` makes relative ones
  absolute against the file they came from, which the live editor does so a document never depends on
  where it is stored.
- Save-lock (gig mode, ``control.savelock``): while the store's lock is on, every write (save, save as,
  rename, new, delete) raises ``SaveLocked`` before touching a file; reading and opening go on. The check
  lives here, once, so no caller can forget it; ``check_writable`` lets a caller refuse before it starts
  work that would end in a write. Without a lock (the CLI) the store is always writable.
"""

from __future__ import annotations

import logging
import os
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from groovebox.background import fsync_directory
from groovebox.control.savelock import SaveLock
from groovebox.project.model import (
    Clip,
    Pad,
    Project,
    ProjectError,
    atomic_write_bytes,
    parse_project,
)

__all__ = ["ProjectStore", "ProjectStoreError", "ProjectSummary", "absolute_audio_paths", "clean_name",
           "project_uses_loop"]

log = logging.getLogger(__name__)

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_NAME_CHARS = 100
_STALE_TEMP_S = 60.0


class ProjectStoreError(ValueError):
    """A project operation that cannot be done; the message says why in words a performer understands."""


@dataclass(frozen=True)
class ProjectSummary:
    """One line of the project list. ``error`` is set (and ``bpm``/``pad_count`` are None) for a corrupt file."""

    project_id: str
    name: str
    modified: datetime
    bpm: float | None
    pad_count: int | None
    error: str | None = None

    def to_json(self) -> dict:
        """camelCase, like the project documents."""
        return {"projectId": self.project_id, "projectName": self.name, "updatedAt": self.modified.isoformat(),
                "bpm": self.bpm, "padCount": self.pad_count, "error": self.error}


def clean_name(name: object) -> str:
    """A project name stripped of surrounding spaces; ``ProjectStoreError`` when it is empty, too long or
    has control characters."""
    if not isinstance(name, str):
        raise ProjectStoreError("a project name must be text")
    name = name.strip()
    if not name:
        raise ProjectStoreError("a project name cannot be empty")
    if len(name) > MAX_NAME_CHARS:
        raise ProjectStoreError(f"a project name can have at most {MAX_NAME_CHARS} characters")
    if _CONTROL.search(name):
        raise ProjectStoreError("a project name cannot contain control characters")
    return name


def absolute_audio_paths(project: Project, project_file: str | os.PathLike[str] | None) -> Project:
    """The project with every relative ``audioPath`` made absolute against ``project_file``'s directory.

    Without a ``project_file`` relative paths cannot be resolved: ``ProjectStoreError`` names the first one.
    """
    if not _has_relative_paths(project):
        return project
    if project_file is None:
        raise ProjectStoreError("a relative audioPath needs the project file's location")
    base = Path(project_file).resolve().parent
    pads = [_absolute(pad, base) for pad in project.pads]
    tracks = [track.replace(clips=[_absolute(clip, base) for clip in track.clips]) for track in project.tracks]
    return project.replace(pads=pads, tracks=tracks)


def _has_relative_paths(project: Project) -> bool:
    items = [*project.pads, *(clip for track in project.tracks for clip in track.clips)]
    return any(item.audio_path is not None and not Path(item.audio_path).is_absolute() for item in items)


def _absolute(item: Pad | Clip, base: Path) -> Pad | Clip:
    if item.audio_path is None or Path(item.audio_path).is_absolute():
        return item
    return item.replace(audio_path=os.path.normpath(base / item.audio_path))


def _now() -> datetime:
    return datetime.now(UTC)


class ProjectStore:
    """The saved projects of ``data_dir`` (the directory is created if missing). Control loop or CLI.

    ``lock``: the daemon's save-lock (None: never locked)."""

    def __init__(self, data_dir: str | os.PathLike[str], lock: SaveLock | None = None) -> None:
        self.lock = lock if lock is not None else SaveLock()
        self.directory = Path(data_dir) / "projects"
        self.directory.mkdir(parents=True, exist_ok=True)
        self._sweep_temporaries()

    def path(self, project_id: str) -> Path:
        """Where project ``project_id`` is stored (it may not exist); ``ProjectStoreError`` for a malformed id."""
        if not isinstance(project_id, str) or not _ID.match(project_id):
            raise ProjectStoreError(f"no project {project_id!r}")
        return self.directory / f"{project_id}.json"

    # ---- reading ----------------------------------------------------------------------------------------

    def list(self) -> list[ProjectSummary]:
        """Every stored project, newest first; corrupt files are listed with ``error`` set."""
        summaries = [self._summary(path) for path in self.directory.glob("*.json") if _ID.match(path.stem)]
        return sorted(summaries, key=lambda summary: summary.modified, reverse=True)

    def load(self, project_id: str) -> Project:
        """The stored project; ``ProjectStoreError`` when there is none or the file is corrupt."""
        path = self.path(project_id)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ProjectStoreError(f"no project {project_id!r}") from None
        except OSError as error:
            raise ProjectStoreError(f"project {project_id!r} cannot be read: {error.strerror or error}") from None
        try:
            project = parse_project(data, source=f"projects/{path.name}")
        except ProjectError as error:
            raise ProjectStoreError(f"project file is corrupt: {error}") from None
        return project if project.project_id == project_id else project.replace(project_id=project_id)

    def exists(self, project_id: str) -> bool:
        """True when a file for ``project_id`` exists (valid or not)."""
        return self.path(project_id).is_file()

    def uses_loop(self, loop_id: str) -> list[str]:
        """Names of the stored projects whose pads or clips play library loop ``loop_id`` (corrupt files are
        skipped with a warning). Pass as ``Library.delete(referenced_by=...)``."""
        names = []
        for summary in self.list():
            if summary.error is not None:
                log.warning("cannot check %s for loop %s: %s", summary.project_id, loop_id, summary.error)
                continue
            try:
                project = self.load(summary.project_id)
            except ProjectStoreError as error:     # changed since it was listed
                log.warning("cannot check %s for loop %s: %s", summary.project_id, loop_id, error)
                continue
            if project_uses_loop(project, loop_id):
                names.append(project.project_name)
        return names

    # ---- writing (each raises SaveLocked while the lock is on) ------------------------------------------

    def check_writable(self, what: str) -> None:
        """``SaveLocked`` naming ``what`` ("saving the project") when the save-lock is on."""
        self.lock.check(what)

    def new(self, name: str, **settings: object) -> Project:
        """Create, save and return an empty project called ``name`` (``settings``: bpm, quantizeGrid, ...)."""
        self.check_writable("creating a project")
        try:
            project = Project(project_name=clean_name(name), **settings)
        except ValueError as error:
            raise ProjectStoreError(f"cannot create the project: {error}") from None
        return self._write(project)

    def save(self, project: Project) -> Project:
        """Write ``project`` under its id and return it as stored (``updatedAt`` stamped).

        Refuses to replace a file that is corrupt: it may hold the only copy of something.
        """
        self.check_writable("saving the project")
        return self._write(project)

    def save_as(self, project: Project, name: str) -> Project:
        """Save a copy of ``project`` as a new project called ``name``; returns the copy (a new id)."""
        self.check_writable("saving a copy of the project")
        copy = project.replace(project_id=uuid.uuid4().hex, project_name=clean_name(name), created_at=None)
        return self._write(copy)

    def rename(self, project_id: str, name: str) -> Project:
        """Rename a stored project; returns it as stored."""
        self.check_writable("renaming the project")
        return self._write(self.load(project_id).replace(project_name=clean_name(name)))

    def delete(self, project_id: str) -> None:
        """Remove a stored project (a corrupt one too); ``ProjectStoreError`` when there is none."""
        self.check_writable("deleting the project")
        path = self.path(project_id)
        try:
            path.unlink()
        except FileNotFoundError:
            raise ProjectStoreError(f"no project {project_id!r}") from None
        fsync_directory(self.directory)

    # ---- helpers ----------------------------------------------------------------------------------------

    def _write(self, project: Project) -> Project:
        path = self.path(project.project_id)
        if path.exists():
            self._check_replaceable(project.project_id)
        now = _now()
        stored = project.replace(project_name=clean_name(project.project_name), updated_at=now,
                                 created_at=project.created_at or now)
        atomic_write_bytes(path, stored.to_json().encode("utf-8"))
        return stored

    def _summary(self, path: Path) -> ProjectSummary:
        try:
            modified_s = path.stat().st_mtime
        except OSError:
            modified_s = 0.0
        file_time = datetime.fromtimestamp(modified_s, UTC)
        try:
            project = self.load(path.stem)
        except ProjectStoreError as error:
            return ProjectSummary(path.stem, path.stem, file_time, None, None, error=str(error))
        modified = project.updated_at or file_time
        if modified.tzinfo is None:
            modified = modified.replace(tzinfo=UTC)
        pad_count = sum(not pad.is_empty for pad in project.pads)
        return ProjectSummary(project.project_id, project.project_name, modified, project.bpm, pad_count)

    def _check_replaceable(self, project_id: str) -> None:
        try:
            self.load(project_id)
        except ProjectStoreError as error:
            raise ProjectStoreError(f"{error}\nnot overwriting it: save as a new project, or delete it first") \
                from None

    def _sweep_temporaries(self) -> None:
        """Remove temporary files an interrupted write left behind (old enough not to be in progress)."""
        for temp in self.directory.glob(".*.json.*.tmp"):
            try:
                if time.time() - temp.stat().st_mtime > _STALE_TEMP_S:
                    temp.unlink()
            except OSError:
                continue


def project_uses_loop(project: Project, loop_id: str) -> bool:
    """True when a pad or a clip of ``project`` plays library loop ``loop_id``."""
    clips = (clip for track in project.tracks for clip in track.clips)
    return any(item.loop_id == loop_id for item in [*project.pads, *clips])


