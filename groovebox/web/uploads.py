"""Receive a loop upload: ``multipart/form-data`` streamed from the request into a private temporary file.

Runs on the control loop (the asyncio loop uvicorn shares with the session). The body is parsed as it
arrives with python-multipart's streaming parser, so an upload of any size costs about 1 MB of memory and the
loop is never held for long: the file's bytes are collected in a buffer and written to disk in a worker
thread each time 1 MB has gathered (a write on a Pi's SD card can stall when the kernel throttles dirty pages).

Decisions:
- The file is stored as ``<dest_dir>/<16 hex digits>.upload`` (created with O_EXCL, mode 0600). The client's
  filename is never a path: only its last component is kept, without control, format (bidi) characters or
  separators, at most 100 characters, for display and the default loop name. ``stage_under_display_name``
  moves the file to ``<dest_dir>/<token>.upload.d/<display name>`` for the importer, so that its messages
  and its default name show the client's name and not the temporary one.
- Nothing is trusted but the bytes: the file's extension and its part's Content-Type are ignored (the
  importer probes by decoding).
- Limits: a Content-Length over the limit is refused before reading (413); while streaming, more file bytes
  than ``max_bytes`` (413), more body than ``max_bytes`` plus 64 KB of form overhead (413: a body stuffed
  with preamble or epilogue), text fields over 64 KB in all (413) or more than 16 parts (400) are refused.
- Every refusal is an ``HTTPException`` with a message for the user, and removes the partial file: not
  multipart (415); no boundary, malformed or unfinished body, client gone (400); no file, two files, an
  empty file, a file under another field name (422); disk full or any other write error (507).
- Removing a file is a metadata operation (milliseconds even for the size limit), so it is done inline.
- ``sweep_uploads`` removes what a crash left behind (the daemon calls it at start-up).
"""

from __future__ import annotations

import asyncio
import errno
import os
import re
import secrets
import shutil
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from fastapi import HTTPException, Request, status
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

__all__ = [
    "ReceivedUpload",
    "clean_filename",
    "discard_upload",
    "receive_upload",
    "stage_under_display_name",
    "sweep_uploads",
]

_KB = 1024
_MB = 1024 * 1024
_FIELDS_MAX_BYTES = 64 * _KB
_FORM_OVERHEAD_BYTES = 64 * _KB
_MAX_PARTS = 16
_FLUSH_BYTES = 1 * _MB
_MAX_DISPLAY_CHARS = 100
_MAX_FILE_NAME_BYTES = 200            # file systems allow 255 bytes per name
_SEPARATORS = re.compile(r"[/\\]")
_SUFFIX = ".upload"
_FILE_FIELD = "file"


@dataclass(frozen=True)
class ReceivedUpload:
    """An upload stored on disk. ``filename`` is for display only; ``fields`` are the form's text fields."""

    path: Path
    filename: str
    fields: dict[str, str]


def clean_filename(raw: str) -> str:
    """The client's file name made safe to show: last path component, no control characters, <= 100 chars."""
    name = _SEPARATORS.split(raw)[-1]
    name = "".join(char for char in name if unicodedata.category(char) not in ("Cc", "Cf"))
    name = " ".join(name.split())
    return "" if name in (".", "..") else name[:_MAX_DISPLAY_CHARS].strip()


def _size_text(n_bytes: float) -> str:
    if n_bytes >= _MB:
        return f"{n_bytes / _MB:.3g} MB"
    return f"{n_bytes / _KB:.3g} KB" if n_bytes >= _KB else f"{int(n_bytes)} bytes"


def _refuse(status_code: int, message: str) -> HTTPException:
    return HTTPException(status_code=status_code, detail=message)


def _too_large(max_bytes: int) -> HTTPException:
    return _refuse(status.HTTP_413_CONTENT_TOO_LARGE, f"the file is too large: the limit is {_size_text(max_bytes)}")


def _storage_error(error: OSError) -> HTTPException:
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return _refuse(status.HTTP_507_INSUFFICIENT_STORAGE,
                       "the groovebox's disk is full: delete some loops or projects and try again")
    return _refuse(status.HTTP_507_INSUFFICIENT_STORAGE,
                   f"the groovebox cannot store the upload: {error.strerror or error}")


def _decode(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _refuse(status.HTTP_400_BAD_REQUEST, f"{what} is not UTF-8 text") from None


class _Form:
    """The parser's callbacks: collects text fields and queues the file's bytes in ``pending``."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.parts = 0
        self.kind: str | None = None            # "file" or "field" for the current part
        self.header_name = bytearray()
        self.header_value = bytearray()
        self.disposition = b""
        self.field_name = ""
        self.field_value = bytearray()
        self.fields: dict[str, str] = {}
        self.field_bytes = 0
        self.files = 0
        self.filename = ""
        self.file_bytes = 0
        self.file_complete = False
        self.pending = bytearray()
        self.finished = False

    def callbacks(self) -> dict:
        return {"on_part_begin": self.on_part_begin, "on_header_field": self.on_header_field,
                "on_header_value": self.on_header_value, "on_header_end": self.on_header_end,
                "on_headers_finished": self.on_headers_finished, "on_part_data": self.on_part_data,
                "on_part_end": self.on_part_end, "on_end": self.on_end}

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > _MAX_PARTS:
            raise _refuse(status.HTTP_400_BAD_REQUEST, f"too many form fields (at most {_MAX_PARTS})")
        self.kind, self.disposition = None, b""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        if bytes(self.header_name).lower() == b"content-disposition":
            self.disposition = bytes(self.header_value)
        self.header_name.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.disposition)
        if b"name" not in options:
            raise _refuse(status.HTTP_400_BAD_REQUEST, "a form part has no field name (Content-Disposition)")
        name = _decode(options[b"name"], "a field name")
        if b"filename" in options:
            self._begin_file(name, options[b"filename"])
        elif name == _FILE_FIELD:
            raise _refuse(status.HTTP_422_UNPROCESSABLE_CONTENT, "the field 'file' must be a file (with a filename)")
        elif name in self.fields:
            raise _refuse(status.HTTP_422_UNPROCESSABLE_CONTENT, f"the field {name!r} is given twice")
        else:
            self.kind, self.field_name = "field", name
            self.field_value.clear()

    def _begin_file(self, name: str, raw_filename: bytes) -> None:
        if name != _FILE_FIELD:
            raise _refuse(status.HTTP_422_UNPROCESSABLE_CONTENT,
                          f"unexpected file field {name!r}: send the audio as the field 'file'")
        self.files += 1
        if self.files > 1:
            raise _refuse(status.HTTP_422_UNPROCESSABLE_CONTENT, "send one file per upload")
        try:
            text = raw_filename.decode("utf-8")
        except UnicodeDecodeError:
            text = raw_filename.decode("latin-1")
        self.kind, self.filename = "file", clean_filename(text)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.kind == "file":
            self.file_bytes += end - start
            if self.file_bytes > self.max_bytes:
                raise _too_large(self.max_bytes)
            self.pending += data[start:end]
        else:
            self.field_bytes += end - start
            if self.field_bytes > _FIELDS_MAX_BYTES:
                raise _refuse(status.HTTP_413_CONTENT_TOO_LARGE,
                              f"the form's text fields are too long (at most {_size_text(_FIELDS_MAX_BYTES)})")
            self.field_value += data[start:end]

    def on_part_end(self) -> None:
        if self.kind == "field":
            self.fields[self.field_name] = _decode(bytes(self.field_value), f"the field {self.field_name!r}")
        elif self.kind == "file":
            self.file_complete = True
        self.kind = None

    def on_end(self) -> None:
        self.finished = True


def _boundary(content_type: str | None) -> bytes:
    kind, options = parse_options_header(content_type or "")
    if kind != b"multipart/form-data":
        shown = kind.decode("latin-1") or "no Content-Type"
        raise _refuse(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                      f"send the loop as multipart/form-data with the audio in the field 'file' (got {shown})")
    boundary = options.get(b"boundary")
    if not boundary:
        raise _refuse(status.HTTP_400_BAD_REQUEST, "multipart/form-data without a boundary")
    return boundary


def _check_declared_length(content_length: str | None, body_limit: int, max_bytes: int) -> None:
    if content_length is None:
        return
    try:
        declared = int(content_length)
    except ValueError:
        raise _refuse(status.HTTP_400_BAD_REQUEST, f"bad Content-Length {content_length[:40]!r}") from None
    if declared > body_limit:
        raise _refuse(status.HTTP_413_CONTENT_TOO_LARGE,
                      f"the upload is too large ({_size_text(declared)}; the limit is {_size_text(max_bytes)})")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


async def _flush(fd: int, form: _Form) -> None:
    """Write the queued file bytes in a worker thread (the fd is never closed under a running write)."""
    if not form.pending:
        return
    data = bytes(form.pending)
    form.pending.clear()
    future = asyncio.get_running_loop().run_in_executor(None, _write_all, fd, data)
    try:
        await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])
        raise
    except OSError as error:
        raise _storage_error(error) from None


async def _stream_into(request: Request, boundary: bytes, fd: int, form: _Form, body_limit: int) -> None:
    parser = MultipartParser(boundary, form.callbacks())
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > body_limit:
                raise _too_large(form.max_bytes)
            parser.write(chunk)
            if len(form.pending) >= _FLUSH_BYTES:
                await _flush(fd, form)
        parser.finalize()
    except ClientDisconnect:
        raise _refuse(status.HTTP_400_BAD_REQUEST, "the upload was interrupted: the connection closed") from None
    except FormParserError as error:
        raise _refuse(status.HTTP_400_BAD_REQUEST, f"malformed multipart/form-data: {error}") from None
    await _flush(fd, form)


def _check_complete(form: _Form) -> None:
    if not form.finished or form.kind is not None:
        raise _refuse(status.HTTP_400_BAD_REQUEST, "the upload ended early: the multipart body is incomplete")
    if form.files == 0:
        raise _refuse(status.HTTP_422_UNPROCESSABLE_CONTENT, "no file: send the audio in the form field 'file'")
    if form.file_bytes == 0:
        raise _refuse(status.HTTP_422_UNPROCESSABLE_CONTENT, f"the file {form.filename!r} is empty"
                      if form.filename else "no file was chosen: the field 'file' is empty")


def _create_private_file(dest_dir: Path) -> tuple[Path, int]:
    try:
        dest_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        while True:
            path = dest_dir / f"{secrets.token_hex(8)}{_SUFFIX}"
            try:
                return path, os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            except FileExistsError:
                continue
    except OSError as error:
        raise _storage_error(error) from None


async def receive_upload(request: Request, dest_dir: Path, max_bytes: int) -> ReceivedUpload:
    """Stream the request's multipart form into ``dest_dir``: exactly one file part named ``file`` of at most
    ``max_bytes``, plus text fields. Raises ``HTTPException`` (see the module docstring); nothing is left
    behind then. The caller removes the file when done (``discard_upload``)."""
    boundary = _boundary(request.headers.get("content-type"))
    body_limit = max_bytes + _FORM_OVERHEAD_BYTES
    _check_declared_length(request.headers.get("content-length"), body_limit, max_bytes)
    path, fd = _create_private_file(dest_dir)
    form = _Form(max_bytes)
    try:
        try:
            await _stream_into(request, boundary, fd, form, body_limit)
        finally:
            os.close(fd)
        _check_complete(form)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return ReceivedUpload(path=path, filename=form.filename or "upload", fields=form.fields)


def _file_system_name(display_name: str) -> str:
    name = display_name.encode("utf-8")[:_MAX_FILE_NAME_BYTES].decode("utf-8", "ignore").strip()
    return name if name not in ("", ".", "..") else "upload"


def _staging_folder(upload: ReceivedUpload) -> Path:
    return upload.path.with_name(upload.path.name + ".d")


def stage_under_display_name(upload: ReceivedUpload) -> Path:
    """Move the upload to ``<token>.upload.d/<display name>`` and return that path (507 if impossible).

    For the importer, which names the file in its messages and derives the default loop name from it.
    ``discard_upload`` removes the file and the folder.
    """
    folder = _staging_folder(upload)
    staged = folder / _file_system_name(upload.filename)
    try:
        folder.mkdir(mode=0o700)
        os.rename(upload.path, staged)
    except OSError as error:
        raise _storage_error(error) from None
    return staged


def discard_upload(upload: ReceivedUpload) -> None:
    """Remove the upload's file, wherever it is (received or staged)."""
    upload.path.unlink(missing_ok=True)
    shutil.rmtree(_staging_folder(upload), ignore_errors=True)


def sweep_uploads(dest_dir: Path, min_age_s: float = 3600.0) -> list[str]:
    """Remove ``*.upload`` files and their staging folders older than ``min_age_s``; returns their names.

    The age guard keeps it from removing an upload in progress.
    """
    if not dest_dir.is_dir():
        return []
    cutoff = time.time() - min_age_s
    removed = []
    for path in dest_dir.iterdir():
        try:
            stale = path.lstat().st_mtime < cutoff
        except FileNotFoundError:
            continue
        if stale and path.name.endswith(_SUFFIX) and not path.is_symlink() and path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path.name)
        elif stale and path.name.endswith(_SUFFIX + ".d") and not path.is_symlink() and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return sorted(removed)
