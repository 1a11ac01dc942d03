"""``/api/loops`` over a real library, project store and editor (FastAPI TestClient)."""

import io
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf
from fastapi import FastAPI
from fastapi.testclient import TestClient

from groovebox.background import idle_process_pool
from groovebox.config import Settings, WebSettings
from groovebox.control.editor import (
    AddClip,
    AddTrack,
    AssignPad,
    Editor,
    library_loop_info,
)
from groovebox.control.projects import ProjectStore
from groovebox.library import Library, import_file
from groovebox.project.model import Pad, Project
from groovebox.web import uploads
from groovebox.web.context import WebContext
from groovebox.web.routes_loops import router

SR = 48000
MB = 1024 * 1024


def wav_bytes(seconds: float = 1.0, freq_hz: float = 220.0) -> bytes:
    """A tone swelling from quiet to loud (so its waveform peaks differ along the loop)."""
    t = np.arange(int(seconds * SR)) / SR
    tone = (np.linspace(0.05, 0.9, t.size) * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)
    buffer = io.BytesIO()
    sf.write(buffer, np.stack([tone, tone * 0.5], axis=1), SR, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def seeded_data_dir(tmp_path_factory):
    """A data directory holding three imported loops (copied for each test: importing is the slow part)."""
    data_dir = tmp_path_factory.mktemp("seed") / "data"
    with Library(data_dir) as library:
        for index, (name, category, tags) in enumerate([("Kick groove", "drums", ("dusty", "live")),
                                                         ("Warm pad", "synth", ("dusty",)),
                                                         ("Bass line", "bass", ())]):
            source = data_dir.parent / f"source{index}.wav"
            source.write_bytes(wav_bytes(1.0, 110.0 * (index + 1)))
            import_file(library, source, name=name, category=category, tags=tags)
    return data_dir


@pytest.fixture
def ctx(tmp_path, seeded_data_dir):
    data_dir = tmp_path / "data"
    shutil.copytree(seeded_data_dir, data_dir)
    editor = Editor(Project(), [].append, library_dir=data_dir / "library", pad_count=16,
                    loop_info=library_loop_info(data_dir))
    return WebContext(settings=Settings(web=WebSettings(upload_max_mb=1)), data_dir=data_dir,
                      session=SimpleNamespace(), editor=editor, projects=ProjectStore(data_dir))


@pytest.fixture
def client(ctx):
    app = FastAPI()
    app.state.context = ctx
    app.include_router(router())
    return TestClient(app)


def loop_ids(client) -> dict[str, str]:
    return {loop["loopName"]: loop["loopId"] for loop in client.get("/api/loops").json()["loops"]}


def upload(client, filename: str, data: bytes, **fields):
    return client.post("/api/loops/upload", files={"file": (filename, data, "audio/mpeg")}, data=fields)


def assert_no_upload_left(ctx):
    assert not ctx.upload_dir.exists() or os.listdir(ctx.upload_dir) == []


def library_state(ctx):
    return ctx.library.count(), sorted(os.listdir(ctx.library.audio_dir))


def test_list_searches_filters_and_pages(client):
    page = client.get("/api/loops").json()
    assert page["total"] == 3
    assert [loop["loopName"] for loop in page["loops"]] == ["Bass line", "Warm pad", "Kick groove"]   # newest first
    first = page["loops"][0]
    assert {"loopId", "loopName", "durationSeconds", "waveformPeaks", "createdAt"} <= first.keys()
    assert [loop["loopName"] for loop in client.get("/api/loops?search=WARM").json()["loops"]] == ["Warm pad"]
    assert client.get("/api/loops?search=dusty").json()["total"] == 2
    assert [loop["loopName"] for loop in client.get("/api/loops?category=bass").json()["loops"]] == ["Bass line"]
    assert client.get("/api/loops?source=generated").json() == {"loops": [], "total": 0}
    paged = client.get("/api/loops?limit=2&offset=1").json()
    assert [loop["loopName"] for loop in paged["loops"]] == ["Warm pad", "Kick groove"] and paged["total"] == 3


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "offset=-1", "category=noise", "source=stolen"])
def test_bad_list_queries_are_422(client, query):
    response = client.get(f"/api/loops?{query}")
    assert response.status_code == 422


def test_unknown_category_names_the_choices(client):
    assert "expected one of drums" in client.get("/api/loops?category=noise").json()["detail"]


def test_tags_are_counted(client):
    assert client.get("/api/loops/tags").json() == {"dusty": 2, "live": 1}


def test_get_one_loop_and_unknown_ids(client):
    ids = loop_ids(client)
    loop = client.get(f"/api/loops/{ids['Warm pad']}").json()
    assert loop["loopName"] == "Warm pad" and loop["category"] == "synth" and loop["tags"] == ["dusty"]
    for missing in ("zzzzzzzzzz", "bad%20id!", "x" * 65):
        response = client.get(f"/api/loops/{missing}")
        assert response.status_code == 404 and "no loop" in response.json()["detail"]


def test_patch_corrects_metadata(client):
    loop_id = loop_ids(client)["Bass line"]
    updated = client.patch(f"/api/loops/{loop_id}", json={"loopName": "Sub bass", "tags": ["Low", "low"], "bpm": 120})
    assert updated.status_code == 200
    assert updated.json()["loopName"] == "Sub bass" and updated.json()["tags"] == ["low"]
    assert updated.json()["bpm"] == 120 and updated.json()["bars"] == 1          # 1 s at 120 BPM: half a bar
    assert client.get(f"/api/loops/{loop_id}").json()["loopName"] == "Sub bass"
    assert client.patch(f"/api/loops/{loop_id}", json={"key": "H_MINOR"}).json()["detail"].startswith("key")
    assert client.patch(f"/api/loops/{loop_id}", json={"bpm": 1000}).status_code == 422
    assert client.patch(f"/api/loops/{loop_id}", json={"colour": "red"}).status_code == 422
    assert client.patch("/api/loops/zzzzzzzzzz", json={"name": "x"}).status_code == 404


def test_an_upload_is_probed_by_decoding_not_by_its_extension(client, ctx):
    response = upload(client, "Night_drive.mp3", wav_bytes(2.0), tags="Night, drive ,", category="keys")
    assert response.status_code == 201, response.text
    loop = response.json()
    assert loop["loopName"] == "Night drive" and loop["category"] == "keys" and loop["tags"] == ["night", "drive"]
    assert loop["source"] == "uploaded" and loop["durationSeconds"] > 1.9     # decoded
    assert client.get(f"/api/loops/{loop['loopId']}").json()["loopName"] == "Night drive"
    assert_no_upload_left(ctx)


def test_a_path_as_filename_is_stored_safely(client, ctx, tmp_path):
    response = upload(client, "../../etc/passwd", wav_bytes())
    assert response.status_code == 201 and response.json()["loopName"] == "passwd"
    assert [p.name for p in tmp_path.iterdir()] == ["data"]
    assert_no_upload_left(ctx)


def test_non_audio_is_refused_naming_the_file_and_stores_nothing(client, ctx):
    before = library_state(ctx)
    response = upload(client, "notes.wav", b"RIFF, but really a shopping list\n" * 100)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("notes.wav: not an audio file")
    assert library_state(ctx) == before
    assert_no_upload_left(ctx)


@pytest.mark.parametrize("fields", [{"category": "noise"}, {"name": "x" * 101}, {"colour": "red"}])
def test_bad_upload_fields_are_422_before_importing(client, ctx, fields):
    before = library_state(ctx)
    response = upload(client, "a.wav", wav_bytes(), **fields)
    assert response.status_code == 422 and isinstance(response.json()["detail"], str)
    assert library_state(ctx) == before
    assert_no_upload_left(ctx)


def test_an_upload_over_the_limit_is_413_and_leaves_nothing(client, ctx):
    before = library_state(ctx)
    response = upload(client, "huge.wav", b"\0" * (MB + 1))
    assert response.status_code == 413 and "1 MB" in response.json()["detail"]
    declared = client.post("/api/loops/upload", content=b"--x--\r\n",
                           headers={"content-type": "multipart/form-data; boundary=x",
                                    "content-length": str(50 * MB)})
    assert declared.status_code == 413
    assert library_state(ctx) == before
    assert_no_upload_left(ctx)


def test_a_full_disk_is_507_and_loses_nothing(client, ctx, monkeypatch):
    def disk_full(fd, data):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(uploads, "_write_all", disk_full)
    before = library_state(ctx)
    response = upload(client, "loop.wav", wav_bytes())
    assert response.status_code == 507 and "disk is full" in response.json()["detail"]
    assert library_state(ctx) == before
    assert_no_upload_left(ctx)


def test_uploads_run_in_the_worker_pool(client, ctx):
    with ThreadPoolExecutor(1) as workers:
        ctx.workers = workers
        assert upload(client, "pool.flac", wav_bytes()).status_code == 201
        assert upload(client, "junk.flac", b"junk" * 10).status_code == 422
    assert_no_upload_left(ctx)


def test_uploads_run_in_an_idle_process(client, ctx):
    pool = idle_process_pool(workers=1)
    ctx.workers = pool
    try:
        loop = upload(client, "Process_loop.wav", wav_bytes()).json()
        refused = upload(client, "junk.wav", b"junk" * 10)
    finally:
        pool.shutdown()
    assert loop["loopName"] == "Process loop"
    assert refused.status_code == 422 and refused.json()["detail"].startswith("junk.wav:")
    assert_no_upload_left(ctx)


def test_openapi_describes_the_multipart_upload(client):
    operation = client.get("/openapi.json").json()["paths"]["/api/loops/upload"]["post"]
    schema = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert schema["required"] == ["file"] and schema["properties"]["file"]["format"] == "binary"


def test_delete_removes_the_loop_and_its_audio(client, ctx):
    loop_id = loop_ids(client)["Warm pad"]
    audio = ctx.data_dir / "library" / f"{loop_id}.flac"
    assert audio.is_file()
    assert client.delete(f"/api/loops/{loop_id}").status_code == 204
    assert client.get(f"/api/loops/{loop_id}").status_code == 404 and not audio.exists()
    assert client.delete(f"/api/loops/{loop_id}").status_code == 404


def test_delete_refuses_a_loop_a_stored_project_uses_unless_forced(client, ctx):
    loop_id = loop_ids(client)["Kick groove"]
    ctx.projects.save(Project(project_name="Saturday set", pads=[Pad(pad_index=2, loop_id=loop_id)]))
    refused = client.delete(f"/api/loops/{loop_id}")
    assert refused.status_code == 409 and "Saturday set" in refused.json()["detail"]
    assert client.get(f"/api/loops/{loop_id}").status_code == 200
    assert client.delete(f"/api/loops/{loop_id}?force=true").status_code == 204
    assert client.get(f"/api/loops/{loop_id}").status_code == 404


def test_force_delete_takes_the_loop_out_of_the_live_project_and_its_history(client, ctx):
    ids = loop_ids(client)
    kick, pad = ids["Kick groove"], ids["Warm pad"]
    ctx.editor.apply(AssignPad(0, loop_id=kick))
    ctx.editor.apply(AssignPad(1, loop_id=pad))
    ctx.editor.apply(AddTrack("Drums", track_id="t1"))
    ctx.editor.apply(AddClip("t1", loop_id=kick, clip_id="c1"))
    ctx.editor.apply(AddClip("t1", loop_id=pad, clip_id="c2", start_bar=1))
    refused = client.delete(f"/api/loops/{kick}")
    assert refused.status_code == 409 and "Untitled (open)" in refused.json()["detail"]
    assert ctx.editor.project.pad_at(0).loop_id == kick

    assert client.delete(f"/api/loops/{kick}?force=true").status_code == 204
    project = ctx.editor.project
    assert project.pad_at(0) is None and project.pad_at(1).loop_id == pad
    assert [clip.clip_id for clip in project.tracks[0].clips] == ["c2"]
    assert ctx.editor.describe()["undoLabel"] == "add clip"     # the loop's audio is gone: no step brings it back
    while ctx.editor.undo() is not None:
        project = ctx.editor.project
        assert all(pad.loop_id != kick for pad in project.pads)
        assert all(clip.loop_id != kick for track in project.tracks for clip in track.clips)
    assert ctx.editor.project.pads == []


def test_audio_downloads_as_flac_with_range_requests(client, ctx):
    loop_id = loop_ids(client)["Kick groove"]
    stored = (ctx.data_dir / "library" / f"{loop_id}.flac").read_bytes()
    whole = client.get(f"/api/loops/{loop_id}/audio")
    assert whole.status_code == 200 and whole.content == stored
    assert whole.headers["content-type"] == "audio/flac"
    assert whole.headers["content-disposition"] == "attachment; filename*=utf-8''Kick%20groove.flac"
    part = client.get(f"/api/loops/{loop_id}/audio", headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206 and part.content == stored[100:1100]
    assert part.headers["content-range"] == f"bytes 100-1099/{len(stored)}"
    tail = client.get(f"/api/loops/{loop_id}/audio", headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == stored[-10:]


def test_audio_of_a_loop_whose_file_vanished_is_404(client, ctx):
    loop_id = loop_ids(client)["Bass line"]
    (ctx.data_dir / "library" / f"{loop_id}.flac").unlink()
    response = client.get(f"/api/loops/{loop_id}/audio")
    assert response.status_code == 404 and "missing" in response.json()["detail"]


def test_peaks_are_resampled_on_request(client):
    loop_id = loop_ids(client)["Kick groove"]
    stored = client.get(f"/api/loops/{loop_id}").json()["waveformPeaks"]
    peaks = client.get(f"/api/loops/{loop_id}/peaks").json()["peaks"]
    assert peaks == stored and len(peaks) == 256
    lows, highs = zip(*stored)
    assert client.get(f"/api/loops/{loop_id}/peaks?points=1").json()["peaks"] == [[min(lows), max(highs)]]
    fewer = client.get(f"/api/loops/{loop_id}/peaks?points=100").json()["peaks"]
    assert len(fewer) == 100 and fewer[0] == [min(lows[:2]), max(highs[:2])] != stored[0]
    more = client.get(f"/api/loops/{loop_id}/peaks?points=1024").json()["peaks"]
    assert len(more) == 1024 and more[:4] == [stored[0]] * 4
    assert client.get(f"/api/loops/{loop_id}/peaks?points=0").status_code == 422
    assert client.get(f"/api/loops/{loop_id}/peaks?points=4097").status_code == 422
