"""The FastAPI application: routers, middlewares and the error shape.

Handlers run on the control loop (uvicorn serves on the same asyncio loop as the session), so the ones that
read or change the session, the editor or the jobs are ``async def`` and never block. Every route but the
page shell, pairing and ``/api/health`` needs a paired token (``security.require_token``).

Errors are ``{"detail": "<a sentence for the performer>"}`` with a 4xx status; request validation errors
(pydantic) become 422 with the failing field named in the sentence, and anything unexpected becomes a 500
whose body says only "internal error" (the log has the traceback; secrets are redacted there).
"""

from __future__ import annotations

import logging

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from groovebox import __version__
from groovebox.web.context import WebContext

__all__ = ["create_app", "warm_up", "Health"]

log = logging.getLogger(__name__)


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
    recording: dict | None = None    # recording into pads: input present, pad, state, bars, latency_frames
    save_lock: bool = False          # gig mode: stored projects and the loop library are read-only


def create_app(context: WebContext) -> FastAPI:
    """The FastAPI application for the daemon described by ``context``. OpenAPI at ``/docs``."""
    from groovebox.web import (
        routes_auth,
        routes_effects,
        routes_generate,
        routes_loops,
        routes_page,
        routes_play,
        routes_projects,
        routes_record,
        routes_scenes,
        ws,
    )
    from groovebox.web.security import OriginGuard, RateLimit, require_token

    app = FastAPI(title="PromptLoop groovebox", version=__version__,
                  description="The groovebox's phone API. Pair first: POST /api/pair with the PIN on the "
                              "groovebox's display (or its log), then send the cookie or `Authorization: Bearer`.")
    app.state.context = context
    app.state.hub = ws.Hub(context)
    web = context.settings.web
    app.add_middleware(OriginGuard, allowed_origins=list(web.allowed_origins))
    app.add_middleware(RateLimit, requests_per_s=web.requests_per_s)
    _install_error_handlers(app)

    @app.get("/api/health", response_model=Health, tags=["system"])
    async def health() -> dict:
        """Version, audio backend, sample rate, block size, underruns, DSP load and uptime. No token needed."""
        return context.session.health()

    protected = [Depends(require_token)]
    app.include_router(routes_auth.router())
    for module in (routes_loops, routes_projects, routes_play, routes_generate, routes_effects, routes_record,
                   routes_scenes):
        app.include_router(module.router(), dependencies=protected)
    app.include_router(ws.router())
    app.include_router(routes_page.router())
    _document_error_shape(app)
    return app


async def warm_up(app: FastAPI) -> None:
    """Build the app's lazily built state now, before a phone asks: FastAPI builds each router's route
    state on the first request that walks it (about 60 ms of Python on the control loop, which the audio
    callback would feel as an underrun mid-set). One request for a path no route has walks them all."""
    path = "/__warm-up__"
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": [],
             "client": ("127.0.0.1", 0), "server": ("127.0.0.1", 0)}

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        return None

    await app(scope, receive, send)


def _document_error_shape(app: FastAPI) -> None:
    """Our 422 body is ``{"detail": "<sentence>"}``, not FastAPI's list: say so in the OpenAPI document."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = build()
            schemas = schema.get("components", {}).get("schemas", {})
            if "HTTPValidationError" in schemas:
                schemas["HTTPValidationError"] = {
                    "title": "HTTPValidationError", "type": "object", "required": ["detail"],
                    "properties": {"detail": {"type": "string", "title": "Detail"}}}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": validation_message(error.errors())}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return JSONResponse({"detail": "internal error; the groovebox's log has the details"}, status_code=500)


def validation_message(errors: list[dict]) -> str:
    """pydantic's errors as one sentence: ``body.pads.0.volume: Input should be less than or equal to 1``."""
    parts = []
    for error in errors[:5]:
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "request"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"
