"""Streaming multipart uploads to disk (``groovebox.web.uploads``), driven through a raw ASGI request."""

import asyncio
import os
import stat
import time

import pytest
from fastapi import HTTPException
from starlette.requests import Request

from groovebox.web import uploads
from groovebox.web.uploads import (
    clean_filename,
    discard_upload,
    receive_upload,
    stage_under_display_name,
    sweep_uploads,
)

BOUNDARY = "----groovebox-test-boundary"
MB = 1024 * 1024


def part(name: str, data: bytes, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + ("" if filename is None else f'; filename="{filename}"')
    return (f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + data + b"\r\n"


def form(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def request(body: bytes, *, chunk_bytes: int = 64 * 1024, content_type: str | None = None,
            content_length: int | None = None, disconnect_after: int | None = None) -> Request:
    """A POST whose body arrives in ``chunk_bytes`` pieces (then a disconnect after ``disconnect_after``)."""
    content_type = content_type or f"multipart/form-data; boundary={BOUNDARY}"
    headers = [(b"content-type", content_type.encode())]
    if content_length is not None:
        headers.append((b"content-length", str(content_length).encode()))
    chunks = [body[i:i + chunk_bytes] for i in range(0, len(body), chunk_bytes)] or [b""]
    if disconnect_after is not None:
        chunks = chunks[:disconnect_after]
    messages = [{"type": "http.request", "body": chunk, "more_body": True} for chunk in chunks]
    if disconnect_after is None:
        messages[-1]["more_body"] = False
    else:
        messages.append({"type": "http.disconnect"})

    async def receive():
        return messages.pop(0)
    scope = {"type": "http", "method": "POST", "path": "/api/loops/upload", "headers": headers,
             "query_string": b""}
    return Request(scope, receive)


def receive(req: Request, dest, max_bytes: int = 4 * MB):
    return asyncio.run(receive_upload(req, dest, max_bytes))


def refused(req: Request, dest, max_bytes: int = 4 * MB) -> HTTPException:
    with pytest.raises(HTTPException) as caught:
        receive(req, dest, max_bytes)
    assert isinstance(caught.value.detail, str) and caught.value.detail
    return caught.value


def leftovers(dest) -> list[str]:
    return sorted(os.listdir(dest)) if dest.exists() else []


def test_a_large_file_streams_to_a_private_temporary_file_with_its_fields(tmp_path):
    audio = os.urandom(2 * MB + 12345)          # several flushes, and a tail
    body = form(part("name", "Crunchy bréak".encode()), part("file", audio, "Break 01.wav"),
                part("tags", b"drums, live"))
    upload = receive(request(body, chunk_bytes=16 * 1024), tmp_path / "uploads")
    assert upload.path.read_bytes() == audio
    assert upload.path.parent == tmp_path / "uploads" and upload.path.name.endswith(".upload")
    assert len(upload.path.stem) == 16 and "Break" not in upload.path.name
    assert stat.S_IMODE(upload.path.stat().st_mode) == 0o600
    assert upload.filename == "Break 01.wav"
    assert upload.fields == {"name": "Crunchy bréak", "tags": "drums, live"}


@pytest.mark.parametrize("raw, clean", [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\me\\loop.wav", "loop.wav"),
    ("a\x00b\x1b[31m\u202e.wav", "ab[31m.wav"),
    ("  spaced \t out .wav ", "spaced out .wav"),
    ("dir/..", ""),
    ("x" * 300, "x" * 100),
])
def test_client_filenames_are_reduced_to_a_display_name(raw, clean):
    assert clean_filename(raw) == clean


def test_a_path_as_filename_is_only_a_display_name(tmp_path):
    upload = receive(request(form(part("file", b"RIFF....", "../../etc/passwd"))), tmp_path / "up")
    assert upload.filename == "passwd" and upload.path.parent == tmp_path / "up"
    staged = stage_under_display_name(upload)
    assert staged.name == "passwd" and staged.parent.parent == tmp_path / "up"
    assert staged.read_bytes() == b"RIFF...."
    discard_upload(upload)
    assert leftovers(tmp_path / "up") == []


@pytest.mark.parametrize("content_type, status", [
    ("application/octet-stream", 415), ("application/x-www-form-urlencoded", 415), ("multipart/form-data", 400),
])
def test_other_content_types_are_refused(tmp_path, content_type, status):
    error = refused(request(form(part("file", b"x", "a.wav")), content_type=content_type), tmp_path)
    assert error.status_code == status
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("body, status, words", [
    (form(part("name", b"no file")), 422, "no file"),
    (form(part("file", b"a", "a.wav"), part("file", b"b", "b.wav")), 422, "one file"),
    (form(part("file", b"", "a.wav")), 422, "empty"),
    (form(part("audio", b"abc", "a.wav")), 422, "'file'"),
    (form(part("file", b"abc")), 422, "with a filename"),
    (form(part("name", b"x" * 70_000), part("file", b"abc", "a.wav")), 413, "text fields"),
    (form(part("name", b"\xff\xfe"), part("file", b"abc", "a.wav")), 400, "UTF-8"),
    (form(*[part(f"f{i}", b"x") for i in range(20)], part("file", b"abc", "a.wav")), 400, "too many"),
    (b"this is not a multipart body at all", 400, "malformed"),
    (part("file", b"abc", "a.wav"), 400, "ended early"),            # no closing boundary
])
def test_bad_forms_are_refused_and_leave_nothing(tmp_path, body, status, words):
    error = refused(request(body, chunk_bytes=1000), tmp_path)
    assert error.status_code == status and words in error.detail
    assert leftovers(tmp_path) == []


def test_a_declared_length_over_the_limit_is_refused_before_reading(tmp_path):
    req = request(form(part("file", b"abc", "a.wav")), content_length=5 * MB)
    req._receive = None                          # reading the body would fail
    error = refused(req, tmp_path / "up", max_bytes=1 * MB)
    assert error.status_code == 413 and "1 MB" in error.detail
    assert leftovers(tmp_path / "up") == []


def test_a_file_over_the_limit_is_refused_while_streaming(tmp_path):
    body = form(part("file", os.urandom(MB + 1), "big.wav"))
    error = refused(request(body), tmp_path, max_bytes=MB)
    assert error.status_code == 413
    assert leftovers(tmp_path) == []


def test_a_body_padded_beyond_the_limit_is_refused(tmp_path):
    body = form(part("file", b"abc", "a.wav")) + b"x" * (MB + 100_000)       # a huge epilogue
    error = refused(request(body), tmp_path, max_bytes=MB)
    assert error.status_code == 413
    assert leftovers(tmp_path) == []


def test_a_client_that_goes_away_leaves_nothing(tmp_path):
    body = form(part("file", os.urandom(3 * MB), "a.wav"))
    error = refused(request(body, disconnect_after=30), tmp_path)
    assert error.status_code == 400 and "interrupted" in error.detail
    assert leftovers(tmp_path) == []


def test_a_full_disk_is_a_507_and_leaves_nothing(tmp_path, monkeypatch):
    def disk_full(fd, data):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(uploads, "_write_all", disk_full)
    error = refused(request(form(part("file", b"abc", "a.wav"))), tmp_path)
    assert error.status_code == 507 and "disk is full" in error.detail
    assert leftovers(tmp_path) == []


def test_sweep_removes_only_stale_uploads(tmp_path):
    old = time.time() - 7200
    for name in ("a.upload", "b.upload", "keep.txt"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "c.upload.d").mkdir()
    (tmp_path / "c.upload.d" / "loop.wav").write_bytes(b"x")
    for name in ("a.upload", "keep.txt", "c.upload.d"):
        os.utime(tmp_path / name, (old, old))
    assert sweep_uploads(tmp_path) == ["a.upload", "c.upload.d"]
    assert leftovers(tmp_path) == ["b.upload", "keep.txt"]
    assert sweep_uploads(tmp_path / "missing") == []
