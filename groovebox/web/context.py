"""What the HTTP routes and the WebSocket reach: the daemon's live objects, gathered in one place.

Built once by the daemon (``groovebox.app``) on the control loop and stored as ``app.state.context``.
Handlers that read or change the session, the editor or the job manager are ``async def`` so they run on
the control loop (uvicorn shares it); blocking work (SQLite writes, FLAC, decoding) goes to a thread or a
worker process, never into the handler itself.

Save-lock (gig mode): ``save_lock`` is the project store's lock, so the store and the library routes always
obey the same one. The store checks its own writes; the routes that write the loop library (uploads,
corrections, deletes, generation and captures that add loops) declare ``Depends(refuse_when_locked(what))``,
which answers 423 Locked with the sentence before any work starts.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from fastapi import HTTPException, Request

from groovebox.config import Settings
from groovebox.control.editor import Editor
from groovebox.control.projects import ProjectStore
from groovebox.control.savelock import SaveLock, SaveLocked
from groovebox.control.session import Session
from groovebox.library.store import Library

__all__ = ["LOCKED", "WebContext", "check_unlocked", "context_of", "refusals_as_http", "refuse_when_locked"]

LOCKED = 423


@dataclass
class WebContext:
    """The daemon as the web layer sees it. ``generator``/``live``/``pairing``/``workers`` may be None in
    tests that do not need them."""

    settings: Settings
    data_dir: Path
    session: Session
    editor: Editor
    projects: ProjectStore
    generator: object | None = None        # groovebox.generate.jobs.JobManager
    live: object | None = None             # groovebox.control.livepad.LivePad (only with a Gemini key)
    pairing: object | None = None          # groovebox.web.pairing.Pairing
    workers: object | None = None          # concurrent.futures.Executor for imports and exports (idle processes)
    exports: object | None = None          # groovebox.control.exports.Exports

    @cached_property
    def library(self) -> Library:
        """The loop library, shared: each thread that uses it keeps its own SQLite connection (WAL), so the
        worker threads that list loops do not open, migrate and close the database on every request."""
        return Library(self.data_dir)

    @property
    def upload_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def save_lock(self) -> SaveLock:
        """The daemon's save-lock (the project store's)."""
        return self.projects.lock


def context_of(request: Request) -> WebContext:
    """FastAPI dependency: the context stored on the application."""
    return request.app.state.context


@contextlib.contextmanager
def refusals_as_http(*refusals: type[Exception], status: int = 409) -> Iterator[None]:
    """Inside it, a domain refusal (one of ``refusals``) becomes ``status`` (409 Conflict) with its sentence,
    and a save-lock refusal 423 Locked::

        with refusals_as_http(SceneError):
            return player.load(preset, bank, play)
    """
    try:
        yield
    except SaveLocked as error:
        raise HTTPException(LOCKED, str(error)) from None
    except refusals as error:
        raise HTTPException(status, str(error)) from None


def check_unlocked(context: WebContext, what: str) -> None:
    """``HTTPException`` 423 naming ``what`` while save-lock is on (for handlers that are not routes)."""
    with refusals_as_http():
        context.save_lock.check(what)


def refuse_when_locked(what: str):
    """A FastAPI dependency: 423 naming ``what`` ("uploading a loop") while save-lock is on. ``async``, so it
    runs on the control loop like the handlers (a plain function would be sent to a thread)."""
    async def check(request: Request) -> None:
        check_unlocked(context_of(request), what)
    return check
