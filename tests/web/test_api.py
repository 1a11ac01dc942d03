"""The HTTP API served by the daemon (FastAPI TestClient over a real engine and null audio)."""

from fastapi.testclient import TestClient

from groovebox.control.session import Session, SessionInfo
from groovebox.engine import Engine
from groovebox.hw import NullBackend
from groovebox.web import create_app


def test_health_reports_audio_and_version():
    engine = Engine()
    audio = NullBackend(block_frames=256)
    audio.start(engine.render)
    try:
        client = TestClient(create_app(Session(engine, audio, SessionInfo("null", 48000, 256))))
        health = client.get("/api/health").json()
    finally:
        audio.stop()
    assert health["status"] == "ok"
    assert health["audio_backend"] == "null" and health["sample_rate"] == 48000 and health["block_frames"] == 256
    assert health["underruns"] >= 0 and 0 <= health["dsp_load"] < 1 and health["uptime_s"] >= 0


def test_openapi_documents_health():
    engine = Engine()
    client = TestClient(create_app(Session(engine, NullBackend(), SessionInfo("null", 48000, 256))))
    assert "/api/health" in client.get("/openapi.json").json()["paths"]
    assert client.get("/docs").status_code == 200
