"""/api/pads, /api/transport and /api/mixer against a real engine on the null backend."""

import pytest
from web_rig import WebRig

from groovebox.engine import Status


@pytest.fixture
def rig(tmp_path):
    with WebRig(tmp_path) as rig:
        yield rig


def _assign(rig, pad=0, loop=0):
    response = rig.client.put(f"/api/pads/{pad}", json={"loopId": rig.loops[loop], "padName": "drums"})
    assert response.status_code == 200, response.text
    rig.settle()
    return response.json()


def test_assign_trigger_and_stop_a_pad(rig):
    assigned = _assign(rig)
    assert assigned["loopId"] == rig.loops[0] and assigned["padName"] == "drums"
    assert rig.client.get("/api/pads").json()[0]["state"] == "loaded"
    rig.client.post("/api/pads/0/trigger", json={"velocity": 0.9})
    rig.settle()
    assert rig.client.get("/api/pads").json()[0]["state"] in ("queued", "playing")
    rig.client.post("/api/pads/0/stop", json={"quantized": False})
    rig.settle()
    assert rig.client.get("/api/pads").json()[0]["state"] == "loaded"


def test_pad_settings_are_undoable_edits(rig):
    _assign(rig)
    changed = rig.client.patch("/api/pads/0", json={"volume": 0.5, "pan": -0.25, "launchMode": "gate"}).json()
    assert (changed["volume"], changed["pan"], changed["launchMode"]) == (0.5, -0.25, "gate")
    rig.client.post("/api/undo")
    assert rig.editor.project.pad_at(0).launch_mode == "toggle"


def test_pad_region_and_clearing(rig):
    _assign(rig)
    region = rig.client.patch("/api/pads/0", json={"loopStartOffsetSeconds": 0.5}).json()
    assert region["loopStartOffsetSeconds"] == 0.5
    cleared = rig.client.delete("/api/pads/0").json()
    assert "loopId" not in cleared and rig.editor.project.pad_at(0) is None
    rig.settle()
    assert rig.client.get("/api/pads").json()[0]["state"] == "empty"


def test_bad_pad_requests_are_clear_4xx(rig):
    assert rig.client.put("/api/pads/99", json={"loopId": rig.loops[0]}).status_code == 422
    assert rig.client.put("/api/pads/15", json={"loopId": "nosuchloop"}).status_code == 422
    empty = rig.client.patch("/api/pads/3", json={"volume": 0.5})
    assert empty.status_code == 422 and "empty" in empty.json()["detail"]
    assert rig.client.patch("/api/pads/0", json={"volume": 7}).status_code == 422


def test_transport_tempo_grid_metronome_and_tap(rig):
    changed = rig.client.patch("/api/transport", json={"bpm": 100.0, "quantize": "1/4", "metronome": True})
    assert changed.status_code == 200
    rig.settle()
    transport = rig.client.get("/api/transport").json()
    assert transport["tempoBpm"] == pytest.approx(100.0) and transport["quantize"] == "1/4"
    assert transport["metronome"] is True and transport["beatsPerBar"] == 4
    first = rig.client.post("/api/transport/tap").json()
    assert first["tapped"] is None


def test_song_transport_and_loop_region(rig):
    rig.client.patch("/api/transport", json={"loop": {"enabled": True, "startBar": 2, "endBar": 6}})
    assert rig.session.song_loop == {"enabled": True, "startBar": 2, "endBar": 6}
    assert rig.client.patch("/api/transport", json={"loop": {"enabled": True, "startBar": 6,
                                                             "endBar": 2}}).status_code == 422
    located = rig.client.post("/api/transport", json={"action": "locate", "bar": 4, "quantized": False})
    assert located.status_code == 200
    rig.settle()
    assert float(rig.engine.status[Status.SONG_BAR]) == pytest.approx(4.0)
    assert rig.client.post("/api/transport", json={"action": "dance"}).status_code == 422


def test_mixer_master_and_pad_levels(rig):
    _assign(rig)
    mixer = rig.client.patch("/api/mixer", json={"masterVolume": 0.6, "pads": [{"padIndex": 0, "volume": 0.3}]})
    assert mixer.status_code == 200
    body = mixer.json()
    assert body["masterVolume"] == 0.6 and body["pads"][0]["volume"] == 0.3
    assert set(body["meters"]) == {"peak", "rms", "gainReductionDb"}
    assert rig.client.patch("/api/mixer", json={"tracks": [{"trackId": "nope", "volume": 0.5}]}).status_code == 422
