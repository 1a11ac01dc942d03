"""The phone page: ``/`` (the page shell) and ``/static/...`` (its scripts, styles and icon), no token needed.

Handlers are ``async def`` on the control loop; reading a file (a ``stat`` and, when it changed, a read and a
gzip) runs in a worker thread. The files live in ``groovebox/web/static`` and are plain HTML, CSS and ES
modules: no build step, nothing fetched from the internet.

Decisions:
- No token for these routes: the page itself holds no data, and it must load to show the pairing screen.
  Everything it then asks for goes through the API and its token check. They are left out of the OpenAPI
  document (they are not API).
- Caching: ``Cache-Control: no-cache`` with a weak ``ETag`` (a hash of the file) on every file, so a phone
  revalidates each load and gets ``304 Not Modified`` (a few hundred bytes on the LAN) unless the daemon was
  updated. Without a build step the file names carry no content hash, so a long ``max-age`` would leave a
  phone running old scripts against a new daemon.
- Text files are gzipped once (level 9) and kept in memory with their hash until their mtime changes; the
  whole page is a few tens of kilobytes, so memory is not a concern.
- Only regular files with a known extension directly under the static folder tree are served; a path with a
  hidden or ``..`` part, or one that resolves outside the folder, is a 404.
- The shell carries a strict Content-Security-Policy (same-origin scripts, styles, media and connections, no
  framing), so a loop or project name can never run as script even if a bug put it into the DOM as HTML.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request, Response

__all__ = ["PageFiles", "STATIC_DIR", "router"]

STATIC_DIR = Path(__file__).resolve().with_name("static")
SHELL = "index.html"
CACHE_CONTROL = "no-cache"
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
                           "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
                           "form-action 'self'; frame-ancestors 'none'")
_SHELL_HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Referrer-Policy": "no-referrer"}
_MEDIA_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png",
                ".webmanifest": "application/manifest+json"}
_COMPRESSIBLE = {".html", ".js", ".css", ".svg", ".webmanifest"}


@dataclass(frozen=True)
class PageFile:
    """One static file as served: its bytes, gzipped bytes (text only), ETag and media type."""

    body: bytes
    gzipped: bytes | None
    etag: str
    media_type: str
    mtime_ns: int


class PageFiles:
    """The static folder, read on demand and cached by mtime. ``get`` blocks (file IO): call it in a thread."""

    def __init__(self, directory: Path = STATIC_DIR) -> None:
        self.directory = Path(directory).resolve()
        self._cache: dict[Path, PageFile] = {}
        self._lock = threading.Lock()

    def get(self, relative: str) -> PageFile | None:
        """The file at ``relative`` (``/``-separated, under the folder), or None when it is not servable."""
        path = self._resolve(relative)
        if path is None:
            return None
        try:
            mtime_ns = path.stat().st_mtime_ns
        except OSError:
            return None
        with self._lock:
            cached = self._cache.get(path)
        if cached is not None and cached.mtime_ns == mtime_ns:
            return cached
        loaded = _load(path, mtime_ns)
        with self._lock:
            self._cache[path] = loaded
        return loaded

    def _resolve(self, relative: str) -> Path | None:
        parts = relative.split("/")
        if not relative or any(not part or part.startswith(".") or "\\" in part for part in parts):
            return None
        path = self.directory.joinpath(*parts).resolve()
        if not path.is_relative_to(self.directory) or path.suffix not in _MEDIA_TYPES or not path.is_file():
            return None
        return path

    def total_bytes(self, gzipped: bool = True) -> int:
        """What loading every file once costs on the wire (gzipped where the page would get gzip)."""
        total = 0
        for path in sorted(self.directory.rglob("*")):
            item = self.get(path.relative_to(self.directory).as_posix()) if path.is_file() else None
            if item is not None:
                total += len(item.gzipped if gzipped and item.gzipped is not None else item.body)
        return total


def _load(path: Path, mtime_ns: int) -> PageFile:
    body = path.read_bytes()
    gzipped = gzip.compress(body, compresslevel=9, mtime=0) if path.suffix in _COMPRESSIBLE else None
    etag = f'W/"{hashlib.sha256(body).hexdigest()[:20]}"'
    return PageFile(body=body, gzipped=gzipped, etag=etag, media_type=_MEDIA_TYPES[path.suffix], mtime_ns=mtime_ns)


def _not_modified(request: Request, etag: str) -> bool:
    offered = request.headers.get("if-none-match", "")
    tags = {tag.strip() for tag in offered.split(",")}
    return "*" in tags or etag in tags or etag.removeprefix("W/") in tags


def _accepts_gzip(request: Request) -> bool:
    for coding in request.headers.get("accept-encoding", "").lower().split(","):
        name, _, params = coding.strip().partition(";")
        if name.strip() == "gzip" and params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000"):
            return True
    return False


def file_response(request: Request, item: PageFile, extra_headers: dict[str, str] | None = None) -> Response:
    """``item`` as a response: 304 when the client has it, gzipped when the client takes gzip (the server
    leaves out the body of a HEAD answer)."""
    headers = {"Cache-Control": CACHE_CONTROL, "ETag": item.etag, "X-Content-Type-Options": "nosniff",
               **(extra_headers or {})}
    if item.gzipped is not None:
        headers["Vary"] = "Accept-Encoding"
    if _not_modified(request, item.etag):
        return Response(status_code=304, headers=headers)
    body = item.body
    if item.gzipped is not None and _accepts_gzip(request):
        body = item.gzipped
        headers["Content-Encoding"] = "gzip"
    return Response(body, headers=headers, media_type=item.media_type)


def router(files: PageFiles | None = None) -> APIRouter:
    """``/`` and ``/static/{path}`` (include without the token dependency)."""
    files = files or PageFiles()
    api = APIRouter(include_in_schema=False)

    async def _serve(request: Request, relative: str, extra_headers: dict[str, str] | None = None) -> Response:
        item = await asyncio.to_thread(files.get, relative)
        if item is None:
            raise HTTPException(404, f"no page file {relative[:100]!r}")
        return file_response(request, item, extra_headers)

    @api.api_route("/", methods=["GET", "HEAD"])
    async def page_shell(request: Request) -> Response:
        """The phone page (it shows the pairing screen when this device has no token)."""
        return await _serve(request, SHELL, _SHELL_HEADERS)

    @api.api_route("/static/{relative:path}", methods=["GET", "HEAD"])
    async def page_file(request: Request, relative: str) -> Response:
        """A script, style sheet or icon of the page."""
        return await _serve(request, relative)

    return api
