"""/api/effects and the send routes against a real engine (null backend) with real pedalboard processors."""

import pytest
from web_rig import WebRig

from groovebox.engine.effects import MASTER


@pytest.fixture
def rig(tmp_path):
    with WebRig(tmp_path, loops=1) as rig:
        yield rig


ROOM = {"buses": [{"name": "Room", "chain": [{"type": "reverb", "roomSize": 0.8, "dryLevel": 0}]}],
        "master": [{"type": "compressor", "thresholdDb": -12, "ratio": 3}]}


def test_get_effects_of_a_new_project(rig):
    snapshot = rig.client.get("/api/effects").json()
    assert snapshot["busCount"] == 4
    assert snapshot["effects"] == {"buses": [], "master": []}
    assert snapshot["pads"] == [] and snapshot["tracks"] == []


def test_put_effects_reaches_the_engine_and_is_undoable(rig):
    response = rig.client.put("/api/effects", json=ROOM)
    assert response.status_code == 200, response.text
    effects = response.json()["effects"]
    assert effects["buses"][0]["chain"][0]["roomSize"] == 0.8 and effects["master"][0]["ratio"] == 3.0
    rig.settle()
    slots = rig.engine.effects.slots
    assert slots[0].processor is not None and slots[MASTER].processor is not None
    assert rig.client.post("/api/undo").status_code == 200
    rig.settle(80)
    assert rig.client.get("/api/effects").json()["effects"] == {"buses": [], "master": []}
    assert slots[0].processor is None and slots[MASTER].processor is None


def test_pad_sends_take_every_level_or_one(rig):
    rig.client.put("/api/pads/2", json={"loopId": rig.loops[0]})
    every = rig.client.patch("/api/pads/2/sends", json={"sends": [0.5, 0.25]})
    assert every.status_code == 200, every.text
    assert every.json()["pads"] == [{"padIndex": 2, "sends": [0.5, 0.25, 0.0, 0.0]}]
    one = rig.client.patch("/api/pads/2/sends", json={"bus": 3, "level": 1.0}).json()
    assert one["pads"][0]["sends"] == [0.5, 0.25, 0.0, 1.0]
    assert rig.editor.project.pad_at(2).sends == [0.5, 0.25, 0.0, 1.0]


def test_track_sends(rig):
    rig.client.put("/api/projects/current", json={"tracks": [{"trackId": "drums", "trackName": "Drums"}]})
    response = rig.client.patch("/api/tracks/drums/sends", json={"bus": 1, "level": 0.3})
    assert response.status_code == 200, response.text
    assert response.json()["tracks"] == [{"trackId": "drums", "trackName": "Drums", "sends": [0.0, 0.3, 0.0, 0.0]}]
    assert rig.client.patch("/api/tracks/nope/sends", json={"bus": 1, "level": 0.3}).status_code == 404


@pytest.mark.parametrize("path, body, where", [
    ("/api/pads/0/sends", {"sends": [2.0]}, "sends.0"),
    ("/api/pads/0/sends", {"bus": 4, "level": 0.5}, "bus"),
    ("/api/pads/0/sends", {"bus": 1}, "either"),
    ("/api/pads/0/sends", {"sends": [0.1], "bus": 1, "level": 0.2}, "either"),
    ("/api/pads/0/sends", {}, "either"),
])
def test_bad_sends_are_422_with_a_sentence(rig, path, body, where):
    response = rig.client.patch(path, json=body)
    assert response.status_code == 422
    assert where in response.json()["detail"]


def test_bad_effects_are_422_and_change_nothing(rig):
    response = rig.client.put("/api/effects", json={"master": [{"type": "reverb", "roomSize": 2}]})
    assert response.status_code == 422 and "roomSize" in response.json()["detail"]
    response = rig.client.put("/api/effects", json={"master": [{"type": "chorus"}]})
    assert response.status_code == 422
    assert rig.editor.project.effects.master == []


def test_a_pad_beyond_the_grid_is_404(rig):
    assert rig.client.patch("/api/pads/40/sends", json={"bus": 0, "level": 0.5}).status_code == 404


def test_effect_routes_need_the_token(rig):
    assert rig.anonymous.get("/api/effects").status_code == 401
    assert rig.anonymous.put("/api/effects", json=ROOM).status_code == 401
    assert rig.anonymous.patch("/api/pads/0/sends", json={"bus": 0, "level": 0.5}).status_code == 401
