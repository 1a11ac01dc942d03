"""The HTTP API of a real ``groovebox run`` process: pairing with the logged PIN, every protected route
refusing strangers, a loop generated offline, put on a pad and played, and the Gemini key never shown."""

import time

import httpx
import pytest
from daemon_proc import RunningDaemon
from web_rig import write_loop_file

FAKE_KEY = "AIzaFAKEKEY-never-shown-0123456789abcdef"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    folder = tmp_path_factory.mktemp("daemon")
    key_file = folder / "gemini-api-key"
    key_file.write_text(FAKE_KEY + "\n")
    key_file.chmod(0o600)
    config = (f'[generate]\nengine = "offline"\nkey_file = "{key_file}"\n'
              'lyria_base_url = "https://127.0.0.1:9"\n')
    with RunningDaemon(folder, config) as running:
        yield running


def _protected_routes(daemon):
    schema = daemon.get("/openapi.json").json()
    open_paths = {"/api/health", "/api/pair"}
    for path, methods in schema["paths"].items():
        if path in open_paths:
            continue
        for method in methods:
            yield method.upper(), path.replace("{", "").replace("}", "")


def test_every_protected_route_answers_401_without_a_token(daemon):
    routes = list(_protected_routes(daemon))
    assert len(routes) > 30
    for method, path in routes:
        response = httpx.request(method, daemon.base_url + path, json={})
        assert response.status_code == 401, (method, path, response.status_code)
        wrong = httpx.request(method, daemon.base_url + path, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401, (method, path)


def test_a_generated_loop_goes_on_a_pad_and_plays(daemon):
    job = daemon.post("/api/generate", json={"prompt": "funk drums and bass", "bars": 1, "bpm": 120,
                                             "engine": "offline"})
    assert job.status_code == 202
    done = daemon.wait_for_job(job.json()["jobId"])
    assert done["state"] == "done", done
    loop_id = done["results"][0]["loopId"]
    assert "path" not in done["results"][0]
    assert daemon.get(f"/api/loops/{loop_id}").json()["source"] == "generated"
    assert daemon.client.put("/api/pads/2", json={"loopId": loop_id}).status_code == 200
    daemon.post("/api/pads/2/trigger")
    deadline = time.monotonic() + 6.0                 # it starts on the next bar (2 s at 120 BPM)
    while daemon.get("/api/pads").json()[2]["state"] != "playing":
        assert time.monotonic() < deadline, "pad 2 never played"
        time.sleep(0.05)
    variation = daemon.post(f"/api/loops/variation/{loop_id}", json={"variationType": "different_rhythm"})
    assert variation.status_code == 202
    assert daemon.wait_for_job(variation.json()["jobId"])["state"] == "done"


def test_an_uploaded_loop_lands_in_the_library(daemon, tmp_path):
    wav = write_loop_file(tmp_path / "beat.wav").read_bytes()
    response = daemon.post("/api/loops/upload", files={"file": ("my beat.wav", wav, "audio/wav")},
                           data={"name": "uploaded beat"})
    assert response.status_code == 201, response.text
    assert response.json()["loopName"] == "uploaded beat"


def test_the_gemini_key_never_appears_in_responses_or_logs(daemon):
    bodies = [daemon.get(path).text for path in ("/api/health", "/api/live", "/api/projects", "/api/jobs",
                                                 "/openapi.json", "/api/transport")]
    bodies.append(daemon.post("/api/live/start", json={"request": {"prompt": "ambient"}}).text)
    assert all(FAKE_KEY not in body for body in bodies)
    assert FAKE_KEY not in daemon.log_text()
