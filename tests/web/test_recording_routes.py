"""Recording over HTTP on a real ``groovebox run`` (null audio: it plays, silently, and has no input):
the live mix to a FLAC file, a performance into the song, and a clear refusal to record a pad without input."""

import io
import time

import pytest
import soundfile
from daemon_proc import RunningDaemon
from web_rig import write_loop_file


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    with RunningDaemon(tmp_path_factory.mktemp("recording")) as running:
        yield running


def test_the_live_mix_is_recorded_to_a_flac_file_that_can_be_downloaded(daemon):
    started = daemon.post("/api/mix-recording/start")
    assert started.status_code == 200 and started.json()["recording"] is True
    assert daemon.post("/api/mix-recording/start").status_code == 409
    time.sleep(1.2)
    stopped = daemon.post("/api/mix-recording/stop").json()
    assert stopped["recording"] is False and stopped["error"] == "" and stopped["seconds"] >= 1.0
    (listed,) = [r for r in daemon.get("/api/recordings").json() if r["file"] == stopped["file"]]
    assert listed["seconds"] == pytest.approx(stopped["seconds"], abs=0.01)
    download = daemon.get(f"/api/recordings/{stopped['file']}")
    assert download.status_code == 200 and download.headers["content-type"] == "audio/flac"
    audio, rate = soundfile.read(io.BytesIO(download.content))
    assert rate == 48000 and audio.shape[1] == 2 and len(audio) / 48000 == pytest.approx(stopped["seconds"], abs=0.006)
    assert daemon.get("/api/recordings/..%2Fgroovebox.db").status_code == 404
    assert daemon.client.delete(f"/api/recordings/{stopped['file']}").status_code == 204
    assert all(r["file"] != stopped["file"] for r in daemon.get("/api/recordings").json())
    assert daemon.client.delete(f"/api/recordings/{stopped['file']}").status_code == 404


def test_a_performance_becomes_a_song_track(daemon, tmp_path):
    path = write_loop_file(tmp_path / "beat.wav", bpm=120.0, bars=1)
    with path.open("rb") as upload:
        loop = daemon.post("/api/loops/upload", files={"file": ("beat.wav", upload, "audio/wav")}).json()
    assert daemon.client.put("/api/pads/2", json={"loopId": loop["loopId"], "padName": "beat"}).status_code == 200
    daemon.client.patch("/api/transport", json={"quantize": "off"})
    assert daemon.post("/api/song/record/start").json()["recording"] is True
    daemon.post("/api/pads/2/trigger")
    time.sleep(1.0)
    daemon.post("/api/pads/2/stop", json={"quantized": False})
    time.sleep(0.2)
    summary = daemon.post("/api/song/record/stop").json()
    assert summary["tracksAdded"] == 1 and summary["clipsAdded"] == 1
    track = daemon.get("/api/projects/current").json()["project"]["tracks"][-1]
    assert track["trackName"] == "beat" and track["clips"][0]["loopId"] == loop["loopId"]
    assert track["clips"][0]["durationBars"] == pytest.approx(0.5, abs=0.15)      # about a second at 120 BPM
    assert daemon.post("/api/undo").status_code == 200
    assert all(t["trackName"] != "beat" for t in daemon.get("/api/projects/current").json()["project"]["tracks"])


def test_recording_into_a_pad_without_an_audio_input_says_why(daemon):
    assert daemon.get("/api/record").json()["input"] is False
    refused = daemon.post("/api/pads/9/record", json={"bars": 2})
    assert refused.status_code == 409 and "no audio input" in refused.json()["detail"]
    assert daemon.get("/api/health").json()["recording"]["state"] == "idle"


def test_clear_all_pads_is_one_undo_step(daemon, tmp_path):
    path = write_loop_file(tmp_path / "clear.wav", bpm=120.0, bars=1)
    with path.open("rb") as upload:
        loop = daemon.post("/api/loops/upload", files={"file": ("clear.wav", upload, "audio/wav")}).json()
    for pad in (4, 5):
        daemon.client.put(f"/api/pads/{pad}", json={"loopId": loop["loopId"]})
    assert daemon.client.delete("/api/pads").status_code == 200
    assert wait_for_states(daemon, {4: "empty", 5: "empty"})
    daemon.post("/api/undo")
    assert wait_for_states(daemon, {4: "loaded", 5: "loaded"})


def wait_for_states(daemon, wanted: dict, timeout_s: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        states = {pad["padIndex"]: pad["state"] for pad in daemon.get("/api/pads").json()}
        if all(states[pad] == state for pad, state in wanted.items()):
            return True
        time.sleep(0.05)
    return False
