"""Pairing over HTTP: the PIN for a token, the cookie and bearer forms, 401s, lockout, tokens and logout."""

import types

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from groovebox.web import routes_auth
from groovebox.web.pairing import Pairing
from groovebox.web.security import TOKEN_COOKIE, OriginGuard, RateLimit, require_token


class FakeClock:
    def __init__(self) -> None:
        self.now_s = 500.0

    def __call__(self) -> float:
        return self.now_s


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def pairing(tmp_path, clock):
    return Pairing(tmp_path / "tokens.json", clock=clock)


def make_app(pairing) -> FastAPI:
    app = FastAPI()
    app.state.context = types.SimpleNamespace(pairing=pairing)
    app.include_router(routes_auth.router())

    @app.get("/api/secret", dependencies=[Depends(require_token)])
    async def secret() -> dict:
        return {"secret": "pads"}

    app.add_middleware(OriginGuard, allowed_origins=[])
    app.add_middleware(RateLimit, requests_per_s=1000.0)
    return app


@pytest.fixture
def app(pairing):
    return make_app(pairing)


@pytest.fixture
def client(app):
    return TestClient(app)


def pair(client, pairing, label="Anna's phone"):
    response = client.post("/api/pair", json={"pin": pairing.pin(), "label": label})
    assert response.status_code == 200, response.text
    return response


def wrong_pin(pairing) -> str:
    return f"{(int(pairing.pin()) + 1) % 1_000_000:06d}"


PROTECTED = [("get", "/api/secret"), ("get", "/api/tokens"), ("delete", "/api/tokens/0123abcd"),
             ("post", "/api/logout")]


def test_pairing_sets_an_httponly_strict_cookie(client, pairing):
    response = pair(client, pairing)
    body = response.json()
    assert set(body) == {"token", "tokenId", "label"} and body["label"] == "Anna's phone"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{TOKEN_COOKIE}={body['token']};")
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/", "max-age=315360000"} <= attributes
    assert "secure" not in attributes


def test_token_works_as_cookie_and_as_bearer(client, app, pairing):
    token = pair(client, pairing).json()["token"]
    assert client.get("/api/secret").json() == {"secret": "pads"}           # the cookie the client kept
    bearer = TestClient(app)
    assert bearer.get("/api/secret", headers={"Authorization": f"Bearer {token}"}).status_code == 200


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_protected_routes_answer_401_without_a_token(client, method, path):
    response = client.request(method, path)
    assert response.status_code == 401
    assert response.json() == {"detail": "pair this device first: POST /api/pair with the PIN shown on the groovebox"}
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_protected_routes_answer_401_with_a_bad_token(client, pairing, method, path):
    pair(TestClient(client.app), pairing)                    # a token exists, but not this one
    assert client.request(method, path, headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    client.cookies.set(TOKEN_COOKIE, "not-a-token")
    assert client.request(method, path).status_code == 401


def test_protected_routes_answer_401_when_there_is_no_pairing():
    client = TestClient(make_app(None))
    assert client.get("/api/secret").status_code == 401
    assert client.post("/api/pair", json={"pin": "123456"}).status_code == 503


def test_wrong_pins_lock_pairing_for_a_minute(client, pairing, clock):
    for attempts_left in range(9, 0, -1):
        response = client.post("/api/pair", json={"pin": wrong_pin(pairing)})
        assert response.status_code == 403
        assert f"{attempts_left} more wrong PINs" in response.json()["detail"]
    locked = client.post("/api/pair", json={"pin": wrong_pin(pairing)})
    assert locked.status_code == 429 and locked.headers["Retry-After"] == "60"
    right = client.post("/api/pair", json={"pin": pairing.pin()})
    assert right.status_code == 429, "the right PIN is refused too while locked"
    clock.now_s += 30.0
    assert client.post("/api/pair", json={"pin": pairing.pin()}).headers["Retry-After"] == "30"
    clock.now_s += 30.0
    pair(client, pairing)


def test_a_pin_pairs_one_device_only(client, pairing):
    pin = pairing.pin()
    assert client.post("/api/pair", json={"pin": pin}).status_code == 200
    if pairing.pin() != pin:          # one chance in a million that the new PIN is the same
        assert client.post("/api/pair", json={"pin": pin}).status_code == 403


@pytest.mark.parametrize("pin", ["12345", "1234567", "12345a", "١٢٣٤٥٦", 123456])
def test_malformed_pins_are_422(client, pin):
    assert client.post("/api/pair", json={"pin": pin}).status_code == 422


def test_label_defaults_and_is_cleaned(client, pairing):
    assert client.post("/api/pair", json={"pin": pairing.pin()}).json()["label"] == "phone"
    assert pair(client, pairing, label="\x1b[2Jphone\n2").json()["label"] == "[2Jphone2"


def test_tokens_file_holds_no_plaintext_token(client, pairing, tmp_path):
    token = pair(client, pairing).json()["token"]
    assert token not in (tmp_path / "tokens.json").read_text()


def test_tokens_are_listed_and_revocable(app, pairing):
    anna, ben = TestClient(app), TestClient(app)
    anna_id = pair(anna, pairing, "Anna").json()["tokenId"]
    ben_id = pair(ben, pairing, "Ben").json()["tokenId"]
    listed = anna.get("/api/tokens").json()
    assert {(t["tokenId"], t["label"], t["current"]) for t in listed} == {(anna_id, "Anna", True),
                                                                            (ben_id, "Ben", False)}
    assert set(listed[0]) == {"tokenId", "label", "createdAt", "lastUsedAt", "current"}
    assert anna.delete(f"/api/tokens/{ben_id}").status_code == 204
    assert ben.get("/api/secret").status_code == 401
    missing = anna.delete(f"/api/tokens/{ben_id}")
    assert missing.status_code == 404 and ben_id in missing.json()["detail"]
    assert [t["tokenId"] for t in anna.get("/api/tokens").json()] == [anna_id]


def test_revoking_ones_own_token_clears_the_cookie(client, pairing):
    token_id = pair(client, pairing).json()["tokenId"]
    response = client.delete(f"/api/tokens/{token_id}")
    assert response.status_code == 204 and f"{TOKEN_COOKIE}=" in response.headers["set-cookie"]
    assert TOKEN_COOKIE not in client.cookies


def test_logout_revokes_and_clears_the_cookie(client, app, pairing):
    token = pair(client, pairing).json()["token"]
    response = client.post("/api/logout")
    assert response.status_code == 204
    assert "max-age=0" in response.headers["set-cookie"].lower()
    assert TOKEN_COOKIE not in client.cookies
    assert TestClient(app).get("/api/secret", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert pairing.tokens() == []


def test_pairing_from_another_site_is_refused(client, pairing):
    response = client.post("/api/pair", json={"pin": pairing.pin()}, headers={"Origin": "http://evil.example"})
    assert response.status_code == 403
    assert pairing.tokens() == []


def test_unwritable_tokens_file_is_503(tmp_path):
    (tmp_path / "file").write_text("")
    pairing = Pairing(tmp_path / "file" / "tokens.json")
    response = TestClient(make_app(pairing)).post("/api/pair", json={"pin": pairing.pin()})
    assert response.status_code == 503 and "could not save" in response.json()["detail"]


def test_openapi_shows_the_models_and_examples(client):
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert schemas["PairRequest"]["examples"][0]["label"] == "Anna's phone"
    assert "tokenId" in schemas["PairResponse"]["properties"]
    assert "current" in schemas["PairedToken"]["properties"]
    assert set(document["paths"]["/api/pair"]["post"]["responses"]) >= {"200", "403", "429"}
