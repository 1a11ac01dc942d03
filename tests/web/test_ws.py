"""/ws: snapshot, pad and transport updates, project updates and client messages, over a real engine."""

import pytest
from starlette.websockets import WebSocketDisconnect
from web_rig import WebRig


@pytest.fixture
def rig(tmp_path):
    with WebRig(tmp_path) as rig:
        rig.client.put("/api/pads/0", json={"loopId": rig.loops[0]})
        rig.settle()
        yield rig


def _until(socket, kind, limit=400):
    for _ in range(limit):
        message = socket.receive_json()
        if message["type"] == kind:
            return message["payload"]
    raise AssertionError(f"no {kind} message")


def test_a_phone_gets_a_snapshot_then_live_pad_and_transport_updates(rig):
    with rig.client.websocket_connect("/ws") as socket:
        snapshot = socket.receive_json()
        assert snapshot["type"] == "SNAPSHOT"
        payload = snapshot["payload"]
        assert payload["pads"][0]["state"] == "loaded" and len(payload["pads"]) == 16
        assert {"transport", "mixer", "project", "editor", "jobs", "live"} <= set(payload)
        socket.send_json({"type": "PAD_TRIGGER", "payload": {"padIndex": 0}})
        rig.settle()
        pads = _until(socket, "PADS")
        assert pads["pads"][0]["padIndex"] == 0 and pads["pads"][0]["state"] in ("queued", "playing")
        beats = [_until(socket, "TRANSPORT")["beat"] for _ in range(3)]
        assert beats == sorted(beats) and beats[-1] > beats[0]


def test_every_phone_sees_project_updates(rig):
    with rig.client.websocket_connect("/ws") as first, rig.client.websocket_connect("/ws") as second:
        first.receive_json()
        second.receive_json()
        first.send_json({"type": "PAD_STATE_UPDATE", "payload": {"padIndex": 0, "volume": 0.4, "pan": 0.2}})
        for socket in (first, second):
            update = _until(socket, "PROJECT_UPDATED")
            assert update["project"]["pads"][0]["volume"] in (0.4, 0.8)
        assert rig.editor.project.pad_at(0).volume == 0.4 and rig.editor.project.pad_at(0).pan == 0.2


def test_song_playback_control_messages(rig):
    with rig.client.websocket_connect("/ws") as socket:
        socket.receive_json()
        socket.send_json({"type": "SONG_PLAYBACK_CONTROL", "payload": {"action": "metronome_on"}})
        assert _until(socket, "PROJECT_UPDATED")["project"]["metronome"] is True
        socket.send_json({"type": "SONG_PLAYBACK_CONTROL", "payload": {"action": "loop_on"}})
        socket.send_json({"type": "SONG_PLAYBACK_CONTROL", "payload": {"action": "fly"}})
        error = _until(socket, "ERROR")
        assert error["code"] == "BAD_MESSAGE" and "fly" in error["message"]
        assert rig.session.song_loop["enabled"] is True


def test_bad_messages_get_an_error_and_the_connection_stays(rig):
    with rig.client.websocket_connect("/ws") as socket:
        socket.receive_json()
        socket.send_text("{not json")
        assert _until(socket, "ERROR")["code"] == "BAD_MESSAGE"
        socket.send_json({"type": "PAD_STATE_UPDATE", "payload": {"padIndex": 0, "volume": 5}})
        assert "volume" in _until(socket, "ERROR")["message"]
        socket.send_json({"type": "PAD_TRIGGER", "payload": {"padIndex": 200}})
        assert _until(socket, "ERROR")["code"] == "REFUSED"
        socket.send_json({"type": "STEER_ONGOING_GENERATION", "payload": {"prompts": [{"text": "piano"}]}})
        assert "Gemini" in _until(socket, "ERROR")["message"]
        socket.send_json({"type": "PAD_TRIGGER", "payload": {"padIndex": 0}})
        rig.settle()
        assert _until(socket, "PADS")["pads"][0]["padIndex"] == 0


def test_a_socket_without_a_token_is_closed(rig):
    with pytest.raises(WebSocketDisconnect) as closed, rig.anonymous.websocket_connect("/ws") as socket:
        socket.receive_json()
    assert closed.value.code == 1008
