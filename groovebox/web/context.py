"""What the HTTP routes and the WebSocket reach: the daemon's live objects, gathered in one place.

Built once by the daemon (``groovebox.app``) on the control loop and stored as ``app.state.context``.
Handlers that read or change the session, the editor or the job manager are ``async def`` so they run on
the control loop (uvicorn shares it); blocking work (SQLite writes, FLAC, decoding) goes to a thread or a
worker process, never into the handler itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import Request

from groovebox.config import Settings
from groovebox.control.editor import Editor
from groovebox.control.projects import ProjectStore
from groovebox.control.session import Session
from groovebox.library.store import Library

__all__ = ["WebContext", "context_of"]


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

    def library(self) -> Library:
        """A connection to the loop library (use as a context manager; cheap, SQLite WAL)."""
        return Library(self.data_dir)

    @property
    def upload_dir(self) -> Path:
        return self.data_dir / "uploads"


def context_of(request: Request) -> WebContext:
    """FastAPI dependency: the context stored on the application."""
    return request.app.state.context
