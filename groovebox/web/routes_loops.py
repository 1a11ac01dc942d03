"""``/api/loops``: list, search, read, correct, upload, delete, download and draw the library's loops.

Handlers are ``async def`` on the control loop (uvicorn shares it with the session) and never block it:
- Every library call runs in a worker thread (``asyncio.to_thread``) with its own short-lived connection:
  opening the library takes SQLite's write lock for a moment, a busy database waits up to 5 s, and
  ``synchronous=FULL`` commits fsync, which on an SD card can take tens of milliseconds.
- Uploads are streamed to disk by ``uploads.receive_upload``, then imported (decode, analyse, encode FLAC:
  seconds of CPU holding the GIL) in ``ctx.workers``, the daemon's idle process pool, or in a thread when
  there is none (tests, CLI). The temporary file is always removed.
- Reading the live project and applying edits to it happen on the loop, as the editor requires.

Decisions:
- JSON uses ``LoopRecord``'s camelCase aliases (``loopId``, ``loopName``, ``waveformPeaks``...).
- A loop id that is not in the id alphabet is simply not found (404), never a 500.
- Deleting a loop that projects use is refused (409, naming them) unless ``force``. With ``force`` the
  loop's pads and clips are taken out of the live project in one undoable edit, then the loop is deleted.
  Undo brings those pads and clips back only while the editor still holds their decoded audio (it keeps
  the most recently dropped sources in memory); after that the audio file is gone and the undo is refused
  with a message. Stored projects are left as they are: opening one later shows the missing loop as a
  warning and an empty pad, so nothing else in them is lost.
- Library errors become 422 (404 for an unknown loop); a database that cannot be reached, or an import
  worker that died, becomes 503.
- Save-lock (gig mode): uploading, correcting and deleting a loop are refused with 423 Locked and the
  sentence, checked by the route before anything is received or read (``Library`` itself is shared with the
  CLI, where no lock applies). Listing, reading, downloading and drawing loops go on.
"""

from __future__ import annotations

import asyncio
import functools
import re
import sqlite3
import unicodedata
from collections.abc import Callable
from concurrent.futures import BrokenExecutor
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.responses import FileResponse
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from groovebox.control.editor import EditError, RemoveLoop
from groovebox.control.projects import project_uses_loop
from groovebox.library.store import (
    CATEGORIES,
    Category,
    Library,
    LibraryError,
    LoopInUse,
    LoopNotFound,
    LoopRecord,
    peak_pairs,
    resample_peaks,
)
from groovebox.project.model import Project
from groovebox.web.context import WebContext, context_of, refuse_when_locked
from groovebox.web.uploads import (
    ReceivedUpload,
    discard_upload,
    receive_upload,
    stage_under_display_name,
)

__all__ = ["LoopChanges", "LoopPage", "LoopPeaks", "UploadFields", "router"]

_MB = 1024 * 1024
_LOOP_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MAX_PEAK_POINTS = 4096
LIST_PEAK_POINTS = 64           # waveform pairs per loop in a list page: a thumbnail, and 4x less to build and send
_T = TypeVar("_T")

Context = Annotated[WebContext, Depends(context_of)]


class LoopPage(BaseModel):
    """One page of loops and how many match in all."""

    loops: list[LoopRecord]
    total: int


class LoopPeaks(BaseModel):
    """A waveform: (min, max) pairs in -1..1, evenly spread over the loop."""

    peaks: list[tuple[float, float]]


class LoopChanges(BaseModel):
    """The user's corrections; fields left out keep their value (``bpm``/``bars`` null clears them)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(None, min_length=1, max_length=100, validation_alias=AliasChoices("name", "loopName"))
    category: Category = None
    tags: list[str] = None
    bpm: float | None = None
    bars: int | None = None
    key: str = None


class UploadFields(BaseModel):
    """The upload form's text fields. Empty ``name``/``category`` mean "from the file"."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(None, min_length=1, max_length=100)
    category: Category | None = None
    tags: tuple[str, ...] = ()

    @field_validator("name", "category", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("tags", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return tuple(tag.strip() for tag in value.split(",") if tag.strip()) if isinstance(value, str) else value


_UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary", "description": "the audio (any format the groovebox "
                 "decodes: WAV, FLAC, MP3, Ogg, AIFF...); probed by decoding, whatever its name"},
        "name": {"type": "string", "maxLength": 100, "description": "loop name (default: the file's name)"},
        "category": {"type": "string", "enum": list(CATEGORIES), "description": "default: guessed"},
        "tags": {"type": "string", "description": "comma separated"}}}}}}}


# ---- plumbing ------------------------------------------------------------------------------------------

def _error(status_code: int, message: str) -> HTTPException:
    return HTTPException(status_code=status_code, detail=message)


def _checked_id(loop_id: str) -> str:
    if not _LOOP_ID.match(loop_id):
        raise _error(status.HTTP_404_NOT_FOUND, f"no loop {loop_id[:80]!r} in the library")
    return loop_id


LoopId = Annotated[str, Depends(_checked_id)]


async def _library_call(ctx: WebContext, work: Callable[[Library], _T]) -> _T:
    """``work(library)`` in a worker thread; library errors become HTTP errors."""
    try:
        return await asyncio.to_thread(work, ctx.library)
    except LoopNotFound as error:
        raise _error(status.HTTP_404_NOT_FOUND, str(error)) from None
    except LibraryError as error:
        raise _error(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
    except sqlite3.Error as error:
        raise _error(status.HTTP_503_SERVICE_UNAVAILABLE, f"the loop library is busy ({error}); try again") from None


def _download_name(loop_name: str) -> str:
    cleaned = "".join(" " if char in "/\\" or unicodedata.category(char) in ("Cc", "Cf") else char
                      for char in loop_name)
    return (" ".join(cleaned.split()) or "loop") + ".flac"


def _audio_file(library: Library, loop_id: str) -> tuple[LoopRecord, str]:
    record = library.get(loop_id)
    path = library.audio_dir / record.audio_file
    if not path.is_file():
        raise LoopNotFound(f"the audio of loop {loop_id!r} ({record.name}) is missing from the library")
    return record, str(path)


# ---- deleting ------------------------------------------------------------------------------------------

def _users(stored: list[str], live: Project, loop_id: str) -> list[str]:
    users = list(stored)
    if project_uses_loop(live, loop_id):
        users.append(f"{live.project_name} (open)")
    return users


def _take_out_of_live_project(ctx: WebContext, record: LoopRecord) -> None:
    if not project_uses_loop(ctx.editor.project, record.loop_id):
        return
    try:
        ctx.editor.apply(RemoveLoop(record.loop_id, record.name))
    except EditError as error:
        raise _error(status.HTTP_409_CONFLICT,
                     f"cannot take loop {record.name!r} out of the open project, so it was kept: {error}") from None


# ---- uploading -----------------------------------------------------------------------------------------

def _upload_fields(received: ReceivedUpload) -> UploadFields:
    try:
        return UploadFields.model_validate(received.fields)
    except ValidationError as error:
        message = "; ".join(f"{'.'.join(map(str, item['loc'])) or 'form'}: {item['msg']}"
                            for item in error.errors(include_url=False))
        raise _error(status.HTTP_422_UNPROCESSABLE_CONTENT, message) from None


async def _import(ctx: WebContext, received: ReceivedUpload, fields: UploadFields, max_bytes: int) -> LoopRecord:
    from groovebox.library.importer import import_file  # scipy and pyloudnorm: not at start-up

    staged = stage_under_display_name(received)
    call = functools.partial(import_file, ctx.data_dir, staged, name=fields.name, category=fields.category,
                             tags=fields.tags, max_bytes=max_bytes)
    try:
        if ctx.workers is None:
            return await asyncio.to_thread(call)
        return await asyncio.wrap_future(ctx.workers.submit(call))
    except LibraryError as error:
        raise _error(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
    except BrokenExecutor:
        raise _error(status.HTTP_503_SERVICE_UNAVAILABLE,
                     "the import worker stopped (out of memory?); restart the groovebox and try again") from None
    except sqlite3.Error as error:
        raise _error(status.HTTP_503_SERVICE_UNAVAILABLE, f"the loop library is busy ({error}); try again") from None


# ---- routes --------------------------------------------------------------------------------------------

def router() -> APIRouter:
    """The ``/api/loops`` routes (the app adds the token check)."""
    api = APIRouter(tags=["loops"])

    @api.get("/api/loops", response_model=LoopPage)
    async def list_loops(ctx: Context, search: Annotated[str | None, Query(max_length=200)] = None,
                         category: str | None = None, source: str | None = None,
                         limit: Annotated[int, Query(ge=1, le=500)] = 50,
                         offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0) -> LoopPage:
        """Loops, newest first. ``search``: every word must occur (any case) in the name, tags or prompt.
        Each loop's ``waveformPeaks`` has ``LIST_PEAK_POINTS`` pairs (a thumbnail; ``/peaks`` has them all)."""
        category, source = category or None, source or None
        loops, total = await _library_call(ctx, lambda library: (
            library.list(search, category, source, limit, offset, peak_points=LIST_PEAK_POINTS),
            library.count(search, category, source)))
        return LoopPage(loops=loops, total=total)

    @api.get("/api/loops/tags", response_model=dict[str, int])
    async def loop_tags(ctx: Context) -> dict[str, int]:
        """Every tag in use and how many loops carry it, most used first."""
        return await _library_call(ctx, Library.tag_counts)

    @api.post("/api/loops/upload", response_model=LoopRecord, status_code=status.HTTP_201_CREATED,
              openapi_extra=_UPLOAD_BODY, dependencies=[Depends(refuse_when_locked("uploading a loop"))])
    async def upload_loop(request: Request, ctx: Context) -> LoopRecord:
        """Add an audio file to the library (multipart: ``file``, optional ``name``, ``category``, ``tags``).

        Refused: not audio or damaged (422), over ``web.upload_max_mb`` (413), disk full (507), save-lock (423).
        """
        max_bytes = ctx.settings.web.upload_max_mb * _MB
        received = await receive_upload(request, ctx.upload_dir, max_bytes)
        try:
            return await _import(ctx, received, _upload_fields(received), max_bytes)
        finally:
            await asyncio.to_thread(discard_upload, received)

    @api.get("/api/loops/{loop_id}", response_model=LoopRecord)
    async def get_loop(loop_id: LoopId, ctx: Context) -> LoopRecord:
        """One loop's record."""
        return await _library_call(ctx, lambda library: library.get(loop_id))

    @api.patch("/api/loops/{loop_id}", response_model=LoopRecord,
               dependencies=[Depends(refuse_when_locked("changing a loop"))])
    async def update_loop(loop_id: LoopId, changes: LoopChanges, ctx: Context) -> LoopRecord:
        """Correct name, category, tags, bpm, bars or key. Only ``bpm``: ``bars`` follows; only ``bars``: ``bpm``."""
        given = {field: getattr(changes, field) for field in changes.model_fields_set}
        return await _library_call(ctx, lambda library: library.update(loop_id, **given))

    @api.delete("/api/loops/{loop_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
                dependencies=[Depends(refuse_when_locked("deleting a loop"))])
    async def delete_loop(loop_id: LoopId, ctx: Context, force: bool = False) -> Response:
        """Delete a loop. In use by projects: 409 naming them, unless ``force`` (see the module docstring)."""
        record = await _library_call(ctx, lambda library: library.get(loop_id))
        stored = await asyncio.to_thread(ctx.projects.uses_loop, loop_id)
        users = _users(stored, ctx.editor.project, loop_id)
        if users and not force:
            raise _error(status.HTTP_409_CONFLICT, str(LoopInUse(loop_id, record.name, users)))
        _take_out_of_live_project(ctx, record)
        await _library_call(ctx, lambda library: library.delete(loop_id, force=True))
        ctx.editor.forget_loop(loop_id)              # no undo may bring back audio that is gone
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @api.get("/api/loops/{loop_id}/audio", response_class=FileResponse,
             responses={200: {"content": {"audio/flac": {}}, "description": "the loop as 48 kHz 24-bit FLAC"},
                        206: {"content": {"audio/flac": {}}, "description": "the requested byte range"}})
    async def loop_audio(loop_id: LoopId, ctx: Context) -> FileResponse:
        """The loop's FLAC, as a download named after the loop (HTTP Range requests give 206)."""
        record, path = await _library_call(ctx, lambda library: _audio_file(library, loop_id))
        return FileResponse(path, media_type="audio/flac", filename=_download_name(record.name))

    @api.get("/api/loops/{loop_id}/peaks", response_model=LoopPeaks)
    async def loop_peaks(loop_id: LoopId, ctx: Context,
                         points: Annotated[int | None, Query(ge=1, le=_MAX_PEAK_POINTS)] = None) -> LoopPeaks:
        """The waveform as ``{"peaks": [[min, max], ...]}`` (-1..1), resampled to ``points`` pairs when given."""
        record = await _library_call(ctx, lambda library: library.get(loop_id))
        peaks = record.peaks if points is None else peak_pairs(resample_peaks(record.peaks, points))
        return LoopPeaks(peaks=peaks)

    return api
