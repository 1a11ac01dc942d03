"""Autosave of the live session to ``<data_dir>/session.json``, and its restore at start-up.

``Autosaver.run`` is a task on the control loop; the file write itself (temp file, fsync, rename, fsync of the
directory) runs in a thread (``asyncio.to_thread``) so a slow SD card does not stall the control loop. The
document is serialised on the control loop, so it is always one consistent state of the editor.
``restore_session`` runs once at start-up, before the loop.

Decisions:
- Debounced: a write happens ``debounce_s`` (0.5 s) after the last change, but at most ``max_delay_s``
  (1.5 s) after the first unsaved change, so a continuous burst (a fader sweep, a performer editing fast) is
  still written about every 1.5 s. A crash or power cut loses at most ``max_delay_s`` plus one write (a few
  ms, more on a slow card): under 2 s of edits. The session is written once when the loop starts too, so
  the next start restores what ran last (an explicit ``--project`` file included), and a last time on a
  clean shutdown.
- The file is never half-written (atomic rename), and writes are ordered: a sequence number under a lock
  keeps an older snapshot from replacing a newer one.
- The document holds the project (camelCase, as saved projects) and where it came from (``storedProjectId``,
  ``projectFile``). Whether it has unsaved changes is not stored: at restore it is recomputed by comparing
  with the stored project.
- A session file that is not valid is kept aside as ``session.json.corrupt-<time>`` (never deleted), with a
  warning, and the daemon starts with an empty project. Temporary files an interrupted write left behind
  are removed at restore (only the daemon writes the session).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from groovebox.control.editor import Change, Editor, Origin, content_of
from groovebox.control.projects import (
    ProjectStore,
    ProjectStoreError,
    absolute_audio_paths,
)
from groovebox.project.model import (
    Project,
    ProjectError,
    atomic_write_bytes,
    load_project,
)

__all__ = [
    "SESSION_FILE",
    "Autosaver",
    "RestoredSession",
    "SessionDocument",
    "read_session",
    "restore_session",
    "session_bytes",
]

log = logging.getLogger(__name__)

SESSION_FILE = "session.json"
DEBOUNCE_S = 0.5
MAX_DELAY_S = 1.5


class SessionDocument(BaseModel):
    """``session.json``: the live project and where it came from."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    format: Literal["groovebox-session"] = "groovebox-session"
    version: Literal[1] = 1
    saved_at: datetime
    stored_project_id: str | None = None
    project_file: str | None = None
    project: Project


@dataclass(frozen=True)
class RestoredSession:
    """What ``restore_session`` found: the project, its origin, and its stored version (None: unsaved)."""

    project: Project
    origin: Origin
    saved: Project | None


def session_bytes(editor: Editor) -> bytes:
    """The session document for the editor's current state."""
    origin = editor.origin
    document = SessionDocument(saved_at=datetime.now(UTC), stored_project_id=origin.stored_id,
                               project_file=None if origin.project_file is None else str(origin.project_file),
                               project=editor.project)
    return (document.model_dump_json(by_alias=True, indent=1) + "\n").encode("utf-8")


def read_session(path: Path) -> SessionDocument | None:
    """The session in ``path``; None when there is none or it is corrupt (then kept aside, with a warning)."""
    for temp in path.parent.glob(f".{path.name}.*.tmp"):
        temp.unlink(missing_ok=True)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        log.warning("cannot read the saved session %s (%s): starting with an empty project", path, error)
        return None
    try:
        return SessionDocument.model_validate_json(data)
    except ValidationError as error:
        aside = _set_aside(path)
        log.warning("the saved session %s is corrupt (%s); kept as %s, starting with an empty project",
                    path, error.errors(include_url=False)[0]["msg"], aside.name)
        return None


def restore_session(data_dir: Path, store: ProjectStore | None = None) -> RestoredSession | None:
    """Read ``<data_dir>/session.json`` (see ``read_session``); with ``store``, find its saved version."""
    document = read_session(Path(data_dir) / SESSION_FILE)
    if document is None:
        return None
    origin = Origin(stored_id=document.stored_project_id,
                    project_file=None if document.project_file is None else Path(document.project_file))
    saved = _saved_version(origin, store)
    log.info("restored the session: project %r (%s)", document.project.project_name,
             "unsaved changes" if saved is None or content_of(saved) != content_of(document.project) else "saved")
    return RestoredSession(document.project, origin, saved)


def _saved_version(origin: Origin, store: ProjectStore | None) -> Project | None:
    try:
        if origin.stored_id is not None and store is not None:
            return store.load(origin.stored_id)
        if origin.stored_id is None and origin.project_file is not None:
            return absolute_audio_paths(load_project(origin.project_file), origin.project_file)
    except (ProjectStoreError, ProjectError):
        return None
    return None


def _set_aside(path: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    number = 1
    while aside.exists():
        number += 1
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{number}")
    path.rename(aside)
    return aside


class Autosaver:
    """Writes the editor's session to ``path`` after changes (see the module docstring). Control loop."""

    def __init__(self, editor: Editor, path: Path, *, debounce_s: float = DEBOUNCE_S,
                 max_delay_s: float = MAX_DELAY_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.editor = editor
        self.path = Path(path)
        self.debounce_s = debounce_s
        self.max_delay_s = max_delay_s
        self.writes = 0
        self._clock = clock
        self._first_s: float | None = None
        self._last_s: float | None = None
        self._wake = asyncio.Event()
        self._lock = threading.Lock()
        self._sequence = 0
        self._written = 0
        editor.listeners.append(self.changed)

    @property
    def pending(self) -> bool:
        """True when there are changes not yet written."""
        return self._first_s is not None

    def changed(self, change: Change | None = None) -> None:
        """An editor listener: note a change and wake the task."""
        now_s = self._clock()
        if self._first_s is None:
            self._first_s = now_s
        self._last_s = now_s
        self._wake.set()

    def due_at(self) -> float | None:
        """When the next write is due (``clock`` time), None when everything is written."""
        if self._first_s is None:
            return None
        return min(self._last_s + self.debounce_s, self._first_s + self.max_delay_s)

    async def run(self, stop: asyncio.Event) -> None:
        """Write the session now, then after changes, until ``stop``; a final write on the way out."""
        relay = asyncio.create_task(_relay(stop, self._wake))
        try:
            await self._write_in_thread()
            while not stop.is_set():
                self._wake.clear()
                due_s = self.due_at()
                if due_s is not None and self._clock() >= due_s:
                    await self._write_in_thread()
                    continue
                timeout_s = None if due_s is None else due_s - self._clock()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout_s)
                except TimeoutError:
                    pass
        finally:
            relay.cancel()
            self.flush()

    def flush(self) -> None:
        """Write pending changes now, on this thread."""
        if self.pending:
            try:
                self._write(*self._take())
            except OSError as error:
                log.error("cannot write the session to %s: %s", self.path, error)

    def _take(self) -> tuple[bytes, int]:
        data = session_bytes(self.editor)
        self._first_s = self._last_s = None
        self._sequence += 1
        return data, self._sequence

    async def _write_in_thread(self) -> None:
        data, sequence = self._take()
        try:
            await asyncio.to_thread(self._write, data, sequence)
        except OSError as error:
            log.error("cannot write the session to %s: %s (will retry)", self.path, error)
            self.changed()

    def _write(self, data: bytes, sequence: int) -> None:
        with self._lock:
            if sequence <= self._written:
                return
            atomic_write_bytes(self.path, data)
            self._written = sequence
            self.writes += 1


async def _relay(stop: asyncio.Event, wake: asyncio.Event) -> None:
    await stop.wait()
    wake.set()
