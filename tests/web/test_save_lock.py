"""Save-lock (gig mode) through the HTTP API on a real stack (WebRig): every write to the project store or
the loop library answers 423 with the sentence and leaves the files as they were; opening projects, live
edits and exports go on."""

import sqlite3
import time

import pytest
from web_rig import WebRig, write_loop_file

from groovebox.background import idle_process_pool
from groovebox.control.exports import Exports
from groovebox.control.savelock import refusal

LOCKED = 423


def disk_state(data_dir):
    """What save-lock protects: the stored projects' bytes, the library's audio files and its database rows."""
    projects = {path.name: path.read_bytes() for path in sorted((data_dir / "projects").glob("*"))}
    audio = {path.name: path.read_bytes() for path in sorted((data_dir / "library").glob("*"))}
    with sqlite3.connect(data_dir / "groovebox.db") as db:
        rows = list(db.iterdump())
    return projects, audio, rows


def assert_refused(response, what):
    assert response.status_code == LOCKED, response.text
    assert response.json() == {"detail": refusal(what)}


@pytest.fixture
def rig(tmp_path):
    """Two stored projects ("Opener" is the live one, with a loop on pad 0; "Closer"), then the lock on."""
    pool = idle_process_pool(1)
    with WebRig(tmp_path, exports=Exports(tmp_path, pool)) as rig:
        client = rig.client
        closer = client.post("/api/projects", json={"projectName": "Closer", "bpm": 90}).json()["projectId"]
        client.put("/api/pads/0", json={"loopId": rig.loops[0]})
        opener = client.post("/api/projects/current/save", json={"projectName": "Opener"}).json()
        rig.ids = {"opener": opener["editor"]["storedProjectId"], "closer": closer}
        rig.context.save_lock.set(True)
        yield rig
    pool.shutdown()


def test_stored_projects_cannot_be_saved_created_changed_or_deleted(rig, tmp_path):
    client, ids = rig.client, rig.ids
    client.patch("/api/projects/current", json={"bpm": 131.0})          # an unsaved live edit
    live_before = client.get("/api/projects/current").json()
    before = disk_state(tmp_path)
    assert_refused(client.post("/api/projects/current/save"), "saving the project")
    assert_refused(client.post("/api/projects/current/save", json={"projectName": "Renamed"}), "saving the project")
    assert_refused(client.post("/api/projects/current/save", json={"projectName": "Copy", "asNew": True}),
                   "saving a copy of the project")
    assert_refused(client.post("/api/projects", json={"projectName": "Encore"}), "creating a project")
    assert_refused(client.post("/api/projects", json={"projectName": "Encore", "open": True}), "creating a project")
    for project_id in (ids["closer"], ids["opener"]):                  # the open one by its id: it would save
        assert_refused(client.put(f"/api/projects/{project_id}", json={"bpm": 100.0}), "changing a stored project")
        assert_refused(client.patch(f"/api/projects/{project_id}", json={"projectName": "X"}),
                       "changing a stored project")
    assert_refused(client.delete(f"/api/projects/{ids['closer']}"), "deleting the project")
    assert disk_state(tmp_path) == before
    assert client.get("/api/projects/current").json() == live_before  # nothing was half done to the live project
    assert len(client.get("/api/projects").json()["projects"]) == 2

    rig.context.save_lock.set(False)                                   # the same requests work unlocked
    assert client.post("/api/projects/current/save").status_code == 200
    assert client.delete(f"/api/projects/{ids['closer']}").status_code == 204


def test_opening_projects_and_live_edits_go_on(rig, tmp_path):
    client, ids = rig.client, rig.ids
    before = disk_state(tmp_path)
    assert client.patch("/api/projects/current", json={"bpm": 128.0, "projectName": "Live name"}).status_code == 200
    assert client.patch("/api/pads/0", json={"volume": 0.5}).status_code == 200
    assert client.patch("/api/mixer", json={"masterVolume": 0.7}).status_code == 200
    refused = client.post(f"/api/projects/{ids['closer']}/open")
    assert refused.status_code == 409 and "save-lock (gig mode) keeps from being saved" in refused.json()["detail"]
    opened = client.post(f"/api/projects/{ids['closer']}/open?discard=true")
    assert opened.status_code == 200 and opened.json()["project"]["bpm"] == 90
    assert opened.json()["editor"]["storedProjectId"] == ids["closer"]
    rig.settle()
    assert rig.session.tempo_bpm == pytest.approx(90.0)               # the pads play the opened song
    assert client.post(f"/api/projects/{ids['opener']}/open").json()["project"]["pads"][0]["loopId"] == rig.loops[0]
    assert disk_state(tmp_path) == before


def test_the_loop_library_cannot_be_changed(rig, tmp_path):
    client, loop_id = rig.client, rig.loops[1]
    before = disk_state(tmp_path)
    wav = write_loop_file(tmp_path / "new.wav", seed=9).read_bytes()
    assert_refused(client.post("/api/loops/upload", files={"file": ("new.wav", wav, "audio/wav")}),
                   "uploading a loop")
    assert not (tmp_path / "uploads").exists() or not any((tmp_path / "uploads").iterdir())   # nothing received
    assert_refused(client.patch(f"/api/loops/{loop_id}", json={"loopName": "Renamed"}), "changing a loop")
    assert_refused(client.delete(f"/api/loops/{loop_id}?force=true"), "deleting a loop")
    assert_refused(client.delete(f"/api/loops/{rig.loops[0]}"), "deleting a loop")    # in use: still 423, not 409
    assert disk_state(tmp_path) == before
    assert client.get("/api/loops").json()["total"] == 2
    assert client.get(f"/api/loops/{loop_id}/audio").content[:4] == b"fLaC"
    assert rig.anonymous.delete(f"/api/loops/{loop_id}").status_code == 401           # the token comes first

    rig.context.save_lock.set(False)
    assert client.patch(f"/api/loops/{loop_id}", json={"loopName": "Renamed"}).json()["loopName"] == "Renamed"


def test_jobs_that_would_add_library_loops_are_refused_when_asked_for(rig, tmp_path):
    client = rig.client
    before = disk_state(tmp_path)
    assert_refused(client.post("/api/generate", json={"prompt": "dusty boom bap", "bars": 2}), "generating loops")
    assert_refused(client.post(f"/api/loops/variation/{rig.loops[0]}", json={}), "generating a variation")
    assert_refused(client.post("/api/live/capture", json={"bars": 2, "intoPad": 3}),
                   "capturing the live pad into a library loop")
    assert rig.context.generator.jobs == {}
    assert client.get("/api/jobs").json() == []
    assert disk_state(tmp_path) == before
    rig.context.save_lock.set(False)
    assert client.post("/api/generate", json={"prompt": "dusty boom bap", "bars": 2}).status_code == 202


def test_exports_write_to_exports_not_the_library_and_go_on(rig, tmp_path):
    client = rig.client
    song = {"bpm": 120.0, "tracks": [{"trackName": "beat", "clips": [{"loopId": rig.loops[0], "startBar": 0,
                                                                        "durationBars": 1}]}]}
    assert client.put("/api/projects/current", json=song).status_code == 200     # a live edit
    before = disk_state(tmp_path)
    job = client.post("/api/projects/current/export", json={"format": "wav", "bits": 16})
    assert job.status_code == 202
    deadline = time.monotonic() + 60
    while (state := client.get(f"/api/jobs/{job.json()['jobId']}").json())["state"] == "running":
        assert time.monotonic() < deadline
        rig.context.exports.poll()
        time.sleep(0.05)
    assert state["state"] == "done", state
    assert client.get(state["downloadUrl"]).content[:4] == b"RIFF"
    assert disk_state(tmp_path) == before


def test_generation_over_the_websocket_is_refused_under_the_lock(tmp_path):
    with WebRig(tmp_path, loops=0) as rig:
        rig.context.save_lock.set(True)
        with rig.client.websocket_connect("/ws") as socket:
            socket.receive_json()                                     # the snapshot
            socket.send_json({"type": "GENERATE_AI_LOOP_REQUEST", "payload": {
                "requestId": "r1", "prompt": {"text": "drums"}, "config": {"engine": "offline"}}})
            message = socket.receive_json()
            while message["type"] != "ERROR":
                message = socket.receive_json()
        assert message["payload"]["requestId"] == "r1" and "save-lock is on" in message["payload"]["message"]
        assert rig.client.get("/api/jobs").json() == []
