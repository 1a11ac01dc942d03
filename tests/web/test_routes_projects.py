"""/api/projects, /api/undo, /api/redo against a real editor, engine and project store."""

import pytest
from web_rig import WebRig


@pytest.fixture
def rig(tmp_path):
    with WebRig(tmp_path) as rig:
        yield rig


def test_create_list_get_and_delete_a_stored_project(rig):
    created = rig.client.post("/api/projects", json={"projectName": "Summer Anthem", "bpm": 124})
    assert created.status_code == 201
    project_id = created.json()["projectId"]
    listed = rig.client.get("/api/projects").json()
    assert [p["projectName"] for p in listed["projects"]] == ["Summer Anthem"]
    assert listed["current"]["dirty"] is False
    assert rig.client.get(f"/api/projects/{project_id}").json()["bpm"] == 124
    assert rig.client.delete(f"/api/projects/{project_id}").status_code == 204
    assert rig.client.get(f"/api/projects/{project_id}").status_code == 404


def test_patching_the_live_project_is_undoable_and_reaches_the_engine(rig):
    response = rig.client.patch("/api/projects/current", json={"bpm": 96.0, "metronome": True})
    assert response.status_code == 200 and response.json()["bpm"] == 96.0
    rig.settle()
    assert rig.session.tempo_bpm == pytest.approx(96.0)
    undone = rig.client.post("/api/undo").json()
    assert undone["project"]["metronome"] is False and undone["editor"]["canRedo"] is True
    assert rig.client.post("/api/redo").json()["project"]["metronome"] is True


def test_undo_with_nothing_to_undo_is_a_409(rig):
    response = rig.client.post("/api/undo")
    assert response.status_code == 409 and response.json() == {"detail": "nothing to undo"}


def test_put_replaces_the_live_project_and_keeps_its_identity(rig):
    before = rig.client.get("/api/projects/current").json()["project"]
    body = {"projectName": "ignored", "bpm": 100.0, "pads": [{"padIndex": 2, "loopId": rig.loops[0]}]}
    after = rig.client.put("/api/projects/current", json=body).json()
    assert after["projectId"] == before["projectId"] and after["projectName"] == before["projectName"]
    assert after["pads"][0]["loopId"] == rig.loops[0]
    rig.settle()
    assert rig.session.pad_states[2].name == "LOADED"


def test_a_put_with_an_invalid_project_is_a_422_naming_the_field(rig):
    response = rig.client.put("/api/projects/current", json={"bpm": 9000})
    assert response.status_code == 422
    assert "bpm" in response.json()["detail"]
    assert rig.editor.project.bpm == 120.0


def test_saving_opening_and_the_unsaved_changes_guard(rig):
    saved = rig.client.post("/api/projects/current/save", json={"projectName": "Set one"}).json()
    first_id = saved["editor"]["storedProjectId"]
    assert first_id and saved["editor"]["dirty"] is False
    other = rig.client.post("/api/projects", json={"projectName": "Set two"}).json()["projectId"]
    rig.client.patch("/api/projects/current", json={"bpm": 90.0})
    refused = rig.client.post(f"/api/projects/{other}/open")
    assert refused.status_code == 409 and "unsaved" in refused.json()["detail"]
    opened = rig.client.post(f"/api/projects/{other}/open", params={"discard": "true"}).json()
    assert opened["project"]["projectName"] == "Set two"
    assert rig.client.delete(f"/api/projects/{other}").status_code == 409      # it is open
    assert rig.client.get(f"/api/projects/{first_id}").json()["bpm"] == 120.0    # the unsaved 90 was discarded


def test_a_stored_project_that_is_not_open_is_changed_on_disk(rig):
    project_id = rig.client.post("/api/projects", json={"projectName": "Later"}).json()["projectId"]
    patched = rig.client.patch(f"/api/projects/{project_id}", json={"bpm": 140.0, "projectName": "Later 2"})
    assert patched.status_code == 200
    assert rig.projects.load(project_id).bpm == 140.0 and rig.projects.load(project_id).project_name == "Later 2"
    assert rig.editor.project.bpm == 120.0


def test_unknown_and_malformed_project_ids_are_404(rig):
    assert rig.client.get("/api/projects/nope").status_code == 404
    assert rig.client.get("/api/projects/..%2F..%2Fetc").status_code == 404
