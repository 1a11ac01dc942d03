"""/api/generate, variations, /api/jobs, /api/live (no key) and song export through the routes."""

import time

import pytest
from web_rig import WebRig

from groovebox.background import idle_process_pool
from groovebox.control.exports import Exports


@pytest.fixture
def rig(tmp_path):
    pool = idle_process_pool(1)
    with WebRig(tmp_path, exports=Exports(tmp_path, pool)) as rig:
        yield rig
    pool.shutdown()


def test_a_generation_request_is_a_job_that_can_be_cancelled(rig):
    response = rig.client.post("/api/generate", json={"prompt": "dusty boom bap", "bars": 2, "options": 3})
    assert response.status_code == 202
    job = response.json()
    assert job["state"] == "queued" and job["kind"] == "generate" and job["options"] == 3
    assert rig.client.get(f"/api/jobs/{job['jobId']}").json()["prompt"] == "dusty boom bap"
    assert rig.client.delete(f"/api/jobs/{job['jobId']}").json()["state"] == "cancelled"
    assert rig.client.delete(f"/api/jobs/{job['jobId']}").status_code == 409
    assert rig.client.get("/api/jobs/nope").status_code == 404


def test_a_bad_generation_request_names_the_field(rig):
    response = rig.client.post("/api/generate", json={"prompt": "x", "bars": 99})
    assert response.status_code == 422 and "bars" in response.json()["detail"]


def test_only_generated_loops_can_be_varied(rig):
    uploaded = rig.client.post(f"/api/loops/variation/{rig.loops[0]}", json={"variationType": "simpler"})
    assert uploaded.status_code == 422 and "was not generated" in uploaded.json()["detail"]
    assert rig.client.post("/api/loops/variation/nosuchloop").status_code == 404


def test_a_generated_loop_can_be_varied(rig):
    import numpy as np

    from groovebox.generate.request import GenerationRequest

    request = GenerationRequest(prompt="jazz piano trio", bars=2, bpm=100, seed=7)
    loop_id = rig.context.library.add(np.zeros((96000, 2), np.float32) + 0.01, name="generated",
                                      source="generated", prompt=request.prompt,
                                      generation_config=request.model_dump(mode="json"), seed=7).loop_id
    job = rig.client.post(f"/api/loops/variation/{loop_id}", json={"variationType": "different_rhythm",
                                                                  "variationPrompt": "with brushes"}).json()
    stored = rig.context.generator.jobs[job["jobId"]].request
    assert stored.seed != 7 and stored.keep_seed == 7 and "with brushes" in stored.prompt and stored.bars == 2


def test_the_live_pad_needs_a_key(rig):
    assert rig.client.get("/api/live").json()["available"] is False
    response = rig.client.post("/api/live/steer", json={"prompts": [{"text": "piano", "weight": 1.0}]})
    assert response.status_code == 409 and "Gemini API key" in response.json()["detail"]


def test_exporting_the_song_then_downloading_it(rig):
    assert rig.client.post("/api/projects/current/export", json={"format": "wav"}).status_code == 422
    project = {"bpm": 120.0, "tracks": [{"trackName": "beat", "clips": [{"loopId": rig.loops[0], "startBar": 0,
                                                                           "durationBars": 1}]}]}
    assert rig.client.put("/api/projects/current", json=project).status_code == 200
    job = rig.client.post("/api/projects/current/export", json={"format": "wav", "bits": 16}).json()
    assert job["state"] == "running" and job["kind"] == "export"
    assert rig.client.get(f"/api/exports/{job['jobId']}/download").status_code == 409
    deadline = time.monotonic() + 60
    while (state := rig.client.get(f"/api/jobs/{job['jobId']}").json())["state"] == "running":
        assert time.monotonic() < deadline
        rig.context.exports.poll()
        time.sleep(0.05)
    assert state["state"] == "done", state
    download = rig.client.get(state["downloadUrl"])
    assert download.status_code == 200 and download.headers["content-type"] == "audio/wav"
    assert download.content[:4] == b"RIFF" and len(download.content) > 4 * 48000
    assert rig.client.post("/api/projects/current/export", json={"format": "flac", "bits": 32}).status_code == 422
