"""Ambient scenes over HTTP on a real ``groovebox run`` (offline planner, layers rendered in its worker)."""

import math
import time

import pytest
from daemon_proc import RunningDaemon


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    with RunningDaemon(tmp_path_factory.mktemp("scenes")) as running:
        yield running


def test_a_scene_is_built_loaded_played_changed_and_faded_from_the_phone(daemon):
    created = daemon.post("/api/scenes", json={"text": "thunderstorm at sea", "seconds": 5, "seed": 4}, timeout=120)
    assert created.status_code == 200, created.text
    scene = created.json()
    kinds = [layer["kind"] for layer in scene["layers"]]
    assert scene["playing"] and "thunder" in kinds and scene["narrative"]
    assert [p["sceneId"] for p in daemon.get("/api/scenes").json()] == [scene["sceneId"]]
    loops = daemon.get("/api/loops", params={"source": "scene"}).json()
    assert loops["total"] == len(kinds) and {loop["category"] for loop in loops["loops"]} == {"ambient"}
    deadline = time.monotonic() + 5
    while {p["padIndex"]: p["state"] for p in daemon.get("/api/pads").json()}[48] != "playing":
        assert time.monotonic() < deadline
        time.sleep(0.05)

    changed = daemon.client.patch("/api/scene/layers/0", json={"drift": 0.5, "intensity": 0.9}, timeout=60).json()
    assert changed["layers"][0]["drift"] == 0.5 and changed["layers"][0]["intensity"] == 0.9
    assert daemon.client.patch("/api/pads/49", json={"volume": 0.2}).status_code == 200    # a layer is a pad
    saved = daemon.post("/api/scene/save").json()
    assert saved["layers"][1]["gain_db"] == pytest.approx(20 * math.log10(0.2), abs=0.01)  # kept in the preset

    assert daemon.post("/api/scene/fade", json={"seconds": 1}).json()["fade"]["seconds"] == 1
    time.sleep(1.8)
    assert daemon.get("/api/scene").json()["playing"] is False

    reloaded = daemon.post(f"/api/scenes/{scene['sceneId']}/load", json={"bank": 2, "play": False}).json()
    assert reloaded["bank"] == 2 and [layer["pad"] for layer in reloaded["layers"]][0] == 32
    assert daemon.client.delete(f"/api/scenes/{scene['sceneId']}").status_code == 204
    assert daemon.get("/api/scenes").json() == []
    assert daemon.get("/api/loops", params={"source": "scene"}).json()["total"] == len(kinds)   # loops stay
    assert daemon.client.delete(f"/api/scenes/{scene['sceneId']}").status_code == 404


def test_scene_requests_are_checked(daemon):
    assert daemon.post("/api/scenes", json={"text": ""}).status_code == 422
    assert daemon.post("/api/scenes/nosuchscene/load", json={}).status_code == 409
    assert daemon.client.patch("/api/scene/layers/9", json={"drift": 0.1}).status_code == 422
