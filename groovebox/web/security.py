"""Who may call the HTTP API: paired tokens, the Origin check, per-client rate limits, and secret redaction.

Runs on the control loop: ``require_token`` is an async FastAPI dependency, and ``OriginGuard`` and
``RateLimit`` are pure ASGI middlewares (they also see WebSocket handshakes, which Starlette's
``BaseHTTPMiddleware`` does not). ``SecretFilter`` runs on whichever thread logs.

Decisions:
- A token comes as ``Authorization: Bearer`` (scripts) or as the ``groovebox_token`` cookie (the phone page,
  whose WebSocket cannot set headers). Without a valid one a protected route answers 401; so does every
  protected route when the daemon has no pairing at all (fail closed).
- The Origin check guards what a cookie would let another web page do behind the user's back: unsafe methods
  and WebSocket handshakes whose ``Origin`` is neither this page's own (``http://`` + Host, and ``https://``
  behind TLS) nor a configured one are refused with 403, as are ``Sec-Fetch-Site: cross-site`` requests
  without an Origin. No Origin at all (curl, scripts) passes: those need a bearer token anyway. A DNS
  rebinding page passes the Origin check (its Origin matches its Host) but gets no cookie, which the browser
  keeps for the groovebox's own host name, so it meets the 401.
- Rate limits are a token bucket per client address (``requests_per_s``, ``burst_s`` worth of burst), at most
  1024 clients tracked (the longest idle is forgotten). WebSocket messages are not counted, only connects.
- A refused WebSocket handshake gets a real HTTP answer (403, 401 or 429 with its JSON and ``Retry-After``)
  through the ASGI denial-response extension. uvicorn 0.54's default implementation (websockets-sansio)
  sends it correctly but also logs "ASGI callable returned without completing handshake" at ERROR for each
  one (upstream: Kludex/uvicorn pull request 3138); a close before ``accept`` logs nothing but can only say 403.
- Secrets (the Gemini key) are redacted by a logging filter on the handlers, so records from any logger are
  covered; handlers added after ``install_secret_filter`` are not, so call it once logging is configured.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from fastapi import HTTPException, Request, WebSocket
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from groovebox.web.pairing import Pairing, TokenInfo

__all__ = [
    "NOT_PAIRED", "TOKEN_COOKIE", "OriginGuard", "RateLimit", "SecretFilter", "deny_websocket",
    "install_secret_filter", "require_token", "tokens_offered", "websocket_token",
]

TOKEN_COOKIE = "groovebox_token"
NOT_PAIRED = "pair this device first: POST /api/pair with the PIN shown on the groovebox"
TOO_MANY_REQUESTS = "too many requests; slow down"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
REDACTED = "[redacted]"
MIN_SECRET_CHARS = 8
MAX_TRACKED_CLIENTS = 1024
_POLICY_VIOLATION = 1008                   # WebSocket close code when the server cannot send a 403
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def tokens_offered(headers: Mapping[str, str], cookies: Mapping[str, str]) -> list[str]:
    """The tokens a request carries: the bearer token first, then the cookie."""
    offered = []
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        offered.append(value.strip())
    if cookies.get(TOKEN_COOKIE):
        offered.append(cookies[TOKEN_COOKIE])
    return offered


def _verified(app: Any, headers: Mapping[str, str], cookies: Mapping[str, str]) -> TokenInfo | None:
    pairing: Pairing | None = getattr(getattr(app.state, "context", None), "pairing", None)
    if pairing is None:
        return None
    for token in tokens_offered(headers, cookies):
        if (info := pairing.verify(token)) is not None:
            return info
    return None


async def require_token(request: Request) -> TokenInfo:
    """FastAPI dependency: the caller's paired token, or 401."""
    info = _verified(request.app, request.headers, request.cookies)
    if info is None:
        raise HTTPException(401, NOT_PAIRED, headers={"WWW-Authenticate": "Bearer"})
    return info


def websocket_token(websocket: WebSocket) -> TokenInfo | None:
    """The WebSocket client's paired token (cookie or bearer header), or None: then ``deny_websocket``."""
    return _verified(websocket.app, websocket.headers, websocket.cookies)


async def deny_websocket(websocket: WebSocket, status_code: int = 401, detail: str = NOT_PAIRED) -> None:
    """Refuse a WebSocket handshake with an HTTP answer ``{"detail": ...}`` (a 1008 close where the server
    cannot send one), so the page can tell "pair first" (401) from "slow down" (429)."""
    await _refuse(websocket.scope, websocket.receive, websocket.send, status_code, detail)


async def _refuse(scope: Scope, receive: Receive, send: Send, status_code: int, detail: str,
                  headers: dict[str, str] | None = None) -> None:
    """Answer ``{"detail": ...}`` with ``status_code``; a WebSocket handshake gets the same HTTP answer when
    the server supports denial responses (uvicorn and the TestClient do), else a 1008 close."""
    if scope["type"] == "websocket" and "websocket.http.response" not in scope.get("extensions", {}):
        reason = detail.encode()[:120].decode(errors="ignore")
        await send({"type": "websocket.close", "code": _POLICY_VIOLATION, "reason": reason})
        return
    await JSONResponse({"detail": detail}, status_code, headers=headers)(scope, receive, send)


class OriginGuard:
    """Refuse state-changing requests and WebSocket handshakes sent by another site's page (403)."""

    def __init__(self, app: ASGIApp, allowed_origins: Callable[[], list[str]] | list[str] = ()) -> None:
        self.app = app
        self._allowed_origins = allowed_origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        guarded = scope["type"] == "websocket" or (scope["type"] == "http" and scope["method"] in UNSAFE_METHODS)
        refusal = self._refusal(scope) if guarded else None
        if refusal is None:
            await self.app(scope, receive, send)
        else:
            await _refuse(scope, receive, send, 403, refusal)

    def _refusal(self, scope: Scope) -> str | None:
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None:
            if headers.get("sec-fetch-site", "").lower() == "cross-site":
                return "cross-origin request refused (Origin missing, Sec-Fetch-Site: cross-site)"
            return None
        if _normal(origin) in _own_origins(scope, headers) | self._allowed():
            return None
        return (f"cross-origin request refused (Origin {origin[:100]} is not this groovebox's page; "
                "list it in web.allowed_origins to allow it)")

    def _allowed(self) -> set[str]:
        origins = self._allowed_origins() if callable(self._allowed_origins) else self._allowed_origins
        return {_normal(origin) for origin in origins}


def _own_origins(scope: Scope, headers: Headers) -> set[str]:
    host = headers.get("host")
    if not host:
        return set()
    origins = {_normal(f"http://{host}")}
    if scope.get("scheme") in ("https", "wss"):
        origins.add(_normal(f"https://{host}"))
    return origins


def _normal(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


class RateLimit:
    """A token bucket per client address: 429 with ``Retry-After`` once a client exceeds its rate."""

    def __init__(self, app: ASGIApp, requests_per_s: float, burst_s: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self._rate_per_s = requests_per_s
        self._capacity = max(1.0, requests_per_s * burst_s)
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()   # client -> (level, at_s)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            wait_s = self._take(_client_of(scope))
            if wait_s > 0:
                retry_after_s = str(max(1, math.ceil(wait_s)))
                await _refuse(scope, receive, send, 429, TOO_MANY_REQUESTS, {"Retry-After": retry_after_s})
                return
        await self.app(scope, receive, send)

    def _take(self, client: str) -> float:
        """Spend one request of ``client``'s bucket; the seconds to wait when it is empty, else 0."""
        now = self._clock()
        level, at_s = self._buckets.pop(client, (self._capacity, now))
        level = min(self._capacity, level + (now - at_s) * self._rate_per_s)
        wait_s = 0.0 if level >= 1.0 else (1.0 - level) / self._rate_per_s
        if wait_s == 0.0:
            level -= 1.0
        self._buckets[client] = (level, now)          # re-inserted last: the most recently seen
        while len(self._buckets) > MAX_TRACKED_CLIENTS:
            self._buckets.popitem(last=False)
        return wait_s


def _client_of(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


class _Redacted:
    """Stands in for a log argument whose text held a secret."""

    def __init__(self, text: str, shown: str) -> None:
        self._text, self._shown = text, shown

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return self._shown


class SecretFilter(logging.Filter):
    """Replace every secret in a log record (message, arguments, traceback) by ``[redacted]``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Also redact ``secrets``; empty and short ones (< 8 characters) are ignored."""
        kept = {secret for secret in (*self._secrets, *secrets) if secret and len(secret) >= MIN_SECRET_CHARS}
        self._secrets = sorted(kept, key=len, reverse=True)     # a longer secret may contain a shorter one

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            record.msg = self._redact_value(record.msg)
            record.args = self._redact_args(record.args)
            self._redact_traceback(record)
        return True

    def _redact_args(self, args: Any) -> Any:
        if isinstance(args, tuple):
            return tuple(self._redact_value(arg) for arg in args)
        if isinstance(args, Mapping):
            return {key: self._redact_value(value) for key, value in args.items()}
        return args

    def _redact_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if value is None or isinstance(value, (int, float)):
            return value
        try:
            text, shown = str(value), repr(value)
        except Exception:        # a log filter must never raise into the code that logs; logging reports it
            return value
        if self.redact(text) == text and self.redact(shown) == shown:
            return value
        return _Redacted(self.redact(text), self.redact(shown))

    def _redact_traceback(self, record: logging.LogRecord) -> None:
        if record.exc_info and not record.exc_text:
            record.exc_text = _TRACEBACKS.formatException(record.exc_info)   # formatters reuse exc_text
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)


_TRACEBACKS = logging.Formatter()
_FILTER = SecretFilter()


def install_secret_filter(secrets: list[str]) -> None:
    """Redact ``secrets`` in every handler of the root logger and in the uvicorn loggers (idempotent)."""
    _FILTER.add(secrets)
    targets: list[logging.Filterer] = list(logging.getLogger().handlers)
    for name in _UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        targets += [logger, *logger.handlers]
    for target in targets:
        target.addFilter(_FILTER)        # addFilter ignores a filter already there
