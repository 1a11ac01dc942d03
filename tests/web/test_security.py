"""The Origin check, the per-client rate limit, the WebSocket token, and secret redaction in logs."""

import asyncio
import logging
import types

import pytest
from fastapi import FastAPI, WebSocket
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse

from groovebox.web.pairing import Pairing
from groovebox.web.security import (
    TOKEN_COOKIE,
    OriginGuard,
    RateLimit,
    SecretFilter,
    deny_websocket,
    install_secret_filter,
    websocket_token,
)

KEY = "AIzaSyD-fake-gemini-key-0123456789abcdef"


class FakeClock:
    def __init__(self) -> None:
        self.now_s = 50.0

    def __call__(self) -> float:
        return self.now_s


def small_app(*, allowed_origins=(), requests_per_s=1000.0, clock=None, pairing=None) -> FastAPI:
    app = FastAPI()
    app.state.context = types.SimpleNamespace(pairing=pairing)

    @app.get("/thing")
    async def read_thing() -> dict:
        return {"ok": True}

    @app.post("/thing")
    async def change_thing() -> dict:
        return {"changed": True}

    @app.delete("/thing")
    async def delete_thing() -> dict:
        return {"deleted": True}

    @app.websocket("/ws")
    async def live(websocket: WebSocket) -> None:
        info = websocket_token(websocket)
        if pairing is not None and info is None:
            await deny_websocket(websocket)
            return
        await websocket.accept()
        await websocket.send_json({"label": info.label if info else None})
        await websocket.close()

    app.add_middleware(OriginGuard, allowed_origins=allowed_origins)
    app.add_middleware(RateLimit, requests_per_s=requests_per_s, clock=clock or FakeClock())
    return app


# --- Origin check ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["post", "delete"])
def test_foreign_origin_is_refused_on_unsafe_methods(method):
    client = TestClient(small_app())
    response = client.request(method, "/thing", headers={"Origin": "http://evil.example"})
    assert response.status_code == 403
    assert response.json()["detail"].startswith("cross-origin request refused (Origin http://evil.example")


def test_same_origin_and_no_origin_pass():
    client = TestClient(small_app())
    assert client.post("/thing", headers={"Origin": "http://testserver"}).json() == {"changed": True}
    assert client.post("/thing", headers={"Origin": "HTTP://TestServer/"}).status_code == 200
    assert client.post("/thing").status_code == 200


def test_https_origin_passes_only_behind_tls():
    assert TestClient(small_app()).post("/thing", headers={"Origin": "https://testserver"}).status_code == 403
    tls = TestClient(small_app(), base_url="https://testserver")
    assert tls.post("/thing", headers={"Origin": "https://testserver"}).status_code == 200


def test_get_is_never_refused():
    client = TestClient(small_app())
    headers = {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
    assert client.get("/thing", headers=headers).json() == {"ok": True}


def test_configured_origins_pass_as_list_or_callable():
    origins = ["http://studio.local:8080"]
    for allowed in (origins, lambda: origins):
        client = TestClient(small_app(allowed_origins=allowed))
        assert client.post("/thing", headers={"Origin": "http://studio.local:8080"}).status_code == 200
        assert client.post("/thing", headers={"Origin": "http://studio.local:9090"}).status_code == 403


def test_cross_site_fetch_without_origin_is_refused():
    client = TestClient(small_app())
    response = client.post("/thing", headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403 and "Sec-Fetch-Site" in response.json()["detail"]
    assert client.post("/thing", headers={"Sec-Fetch-Site": "same-origin"}).status_code == 200


def test_foreign_origin_websocket_handshake_is_refused():
    client = TestClient(small_app())
    with pytest.raises(WebSocketDenialResponse) as denied, client.websocket_connect("/ws", headers={"Origin": "http://evil.example"}):
        pass
    assert denied.value.status_code == 403
    assert "cross-origin" in denied.value.json()["detail"]
    with client.websocket_connect("/ws", headers={"Origin": "http://testserver"}) as ws:
        assert ws.receive_json() == {"label": None}
    with client.websocket_connect("/ws") as ws:
        assert ws.receive_json() == {"label": None}


def run_asgi(middleware, scope: dict) -> list[dict]:
    """Call a middleware with ``scope`` and return what it sent."""
    sent = []

    async def receive() -> dict:
        return {"type": "websocket.connect"}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(middleware(scope, receive, send))
    return sent


async def accept_all(scope, receive, send) -> None:
    await send({"type": "websocket.accept"} if scope["type"] == "websocket" else
               {"type": "http.response.start", "status": 200, "headers": []})


def websocket_scope(headers: dict[str, str], client: str = "10.0.0.9") -> dict:
    return {"type": "websocket", "path": "/ws", "scheme": "ws", "client": (client, 1234), "extensions": {},
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}


def test_websocket_without_denial_support_is_closed_with_1008():
    scope = websocket_scope({"Host": "groovebox.local", "Origin": "http://evil.example"})
    sent = run_asgi(OriginGuard(accept_all), scope)
    assert sent == [{"type": "websocket.close", "code": 1008, "reason": sent[0]["reason"]}]
    assert sent[0]["reason"].startswith("cross-origin request refused")
    own = websocket_scope({"Host": "groovebox.local", "Origin": "http://groovebox.local"})
    assert run_asgi(OriginGuard(accept_all), own) == [{"type": "websocket.accept"}]


# --- WebSocket token ------------------------------------------------------------------------------------------

def test_websocket_token_from_cookie_or_bearer(tmp_path):
    pairing = Pairing(tmp_path / "tokens.json")
    token, _ = pairing.pair(pairing.pin(), "Anna's phone")
    client = TestClient(small_app(pairing=pairing))
    with pytest.raises(WebSocketDenialResponse) as denied, client.websocket_connect("/ws"):
        pass
    assert denied.value.status_code == 401 and denied.value.json()["detail"].startswith("pair this device")
    with pytest.raises(WebSocketDenialResponse), client.websocket_connect("/ws", headers={"Authorization": "Bearer not-a-token"}):
        pass
    with client.websocket_connect("/ws", headers={"Authorization": f"Bearer {token}"}) as ws:
        assert ws.receive_json() == {"label": "Anna's phone"}
    client.cookies.set(TOKEN_COOKIE, token)
    with client.websocket_connect("/ws") as ws:
        assert ws.receive_json() == {"label": "Anna's phone"}


# --- Rate limit -----------------------------------------------------------------------------------------------

def test_rate_limit_answers_429_with_retry_after():
    clock = FakeClock()
    client = TestClient(small_app(requests_per_s=1.0, clock=clock))
    assert [client.get("/thing").status_code for _ in range(2)] == [200, 200]      # 2 s of burst at 1/s
    refused = client.get("/thing")
    assert refused.status_code == 429
    assert refused.json() == {"detail": "too many requests; slow down"}
    assert refused.headers["Retry-After"] == "1"
    clock.now_s += 1.0
    assert client.get("/thing").status_code == 200
    assert client.get("/thing").status_code == 429


def test_rate_limit_counts_websocket_connects():
    client = TestClient(small_app(requests_per_s=1.0))
    for _ in range(2):
        with client.websocket_connect("/ws") as ws:
            ws.receive_json()
    with pytest.raises(WebSocketDenialResponse) as denied, client.websocket_connect("/ws"):
        pass
    assert denied.value.status_code == 429 and denied.value.headers["Retry-After"] == "1"


def test_rate_limit_is_per_client_and_forgets_the_longest_idle():
    limit = RateLimit(accept_all, requests_per_s=1.0, clock=FakeClock())

    def status(client: str) -> int:
        scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "client": (client, 1)}
        return run_asgi(limit, scope)[0]["status"]

    assert [status("10.0.0.1") for _ in range(3)] == [200, 200, 429]
    assert status("10.0.0.2") == 200, "another client has its own bucket"
    for n in range(1024):
        status(f"10.1.{n // 256}.{n % 256}")
    assert status("10.0.0.1") == 200, "the longest idle client was forgotten (its bucket starts full)"


# --- Secret redaction -----------------------------------------------------------------------------------------

@pytest.fixture
def secret_filter_installed():
    yield
    for target in [*logging.getLogger().handlers, *(logging.getLogger(n) for n in ("uvicorn", "uvicorn.error",
                                                                                  "uvicorn.access"))]:
        for found in [f for f in target.filters if isinstance(f, SecretFilter)]:
            target.removeFilter(found)


def test_secret_filter_redacts_logged_keys(caplog, secret_filter_installed):
    caplog.set_level(logging.INFO)
    install_secret_filter([KEY])
    install_secret_filter([KEY])
    log = logging.getLogger("groovebox.test_security")
    log.info("connecting with key %s", KEY)
    log.info(f"key inline {KEY}")
    log.info("settings %s", {"gemini_api_key": KEY})
    log.info("named %(key)s", {"key": KEY})
    try:
        raise RuntimeError(f"bad key {KEY}")
    except RuntimeError:
        log.exception("request failed")
    assert KEY not in caplog.text
    assert caplog.text.count("[redacted]") == 5
    assert sum(isinstance(f, SecretFilter) for f in caplog.handler.filters) == 1


def test_secret_filter_covers_uvicorn_loggers(secret_filter_installed):
    records = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(handler.format(record))
    access = logging.getLogger("uvicorn.access")
    access.addHandler(handler)
    try:
        install_secret_filter([KEY])
        access.warning('%s - "%s %s HTTP/%s" %d', "10.0.0.5", "GET", f"/api/x?key={KEY}", "1.1", 200)
    finally:
        access.removeHandler(handler)
    assert records == ['10.0.0.5 - "GET /api/x?key=[redacted] HTTP/1.1" 200']


def test_secret_filter_keeps_arguments_it_does_not_change():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s %d %r", ("a", 7, b"raw"), None)
    SecretFilter([KEY]).filter(record)
    assert record.args == ("a", 7, b"raw")
    assert record.getMessage() == "a 7 b'raw'"


def test_short_and_empty_secrets_are_ignored():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "short 1234567 and the key", (), None)
    SecretFilter(["", "short", "1234567", "and the key"]).filter(record)
    assert record.getMessage() == "short 1234567 [redacted]"
