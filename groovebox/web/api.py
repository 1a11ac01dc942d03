"""HTTP routes. Handlers run on the control loop (uvicorn serves on the same asyncio loop as the session),
so they may read and change the session directly; they never block.
"""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel

from groovebox import __version__
from groovebox.control.session import Session

__all__ = ["create_app", "Health"]


class ControllerInfo(BaseModel):
    """A connected pad controller."""

    profile: str
    input: str
    output: str | None
    bank: int
    ignored_messages: int


class Health(BaseModel):
    """Liveness and audio health of the daemon."""

    status: str
    version: str
    audio_backend: str
    sample_rate: int
    block_frames: int
    underruns: int
    audio_faults: int
    dsp_load: float
    uptime_s: float
    project: str
    tempo_bpm: float
    beat: float
    heard_at_s: float = 0.0      # time.monotonic() on the daemon's machine ...
    heard_beat: float = 0.0      # ... and the beat leaving the speakers then (for sync checks)
    pads_playing: int
    warnings: list[str]
    controllers: list[ControllerInfo] = []
    clock_source: str = "internal"
    live_pad: dict | None = None     # the live Lyria pad: available, state, pad, stream, underruns, error


def create_app(session: Session) -> FastAPI:
    """The FastAPI application for ``session``. OpenAPI at ``/docs``."""
    app = FastAPI(title="PromptLoop groovebox", version=__version__)

    @app.get("/api/health", response_model=Health, tags=["system"])
    def health() -> dict:
        """Version, audio backend, sample rate, block size, underruns, DSP load and uptime. No token needed."""
        return session.health()

    return app
