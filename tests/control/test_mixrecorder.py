"""Recording the live mix: the file holds exactly what the master played, errors keep what was written."""

import asyncio

import numpy as np
import pytest
import soundfile

from groovebox.control.mixrecorder import MixRecorder, MixRecordError
from groovebox.control.session import Session, SessionInfo
from groovebox.engine import Engine
from groovebox.engine import commands as c
from groovebox.hw import OfflineBackend

BLOCK = 256


def playing_session() -> Session:
    engine = Engine()
    rng = np.random.default_rng(7)
    engine.post(c.LoadPad(0, (0.3 * rng.uniform(-1, 1, (24000, 2))).astype(np.float32), 120.0))
    engine.post(c.SetQuantize(c.Quantize.OFF))
    engine.post(c.PressPad(0))
    return Session(engine, OfflineBackend(block_frames=BLOCK), SessionInfo("offline", 48000, BLOCK))


def render(session: Session, blocks: int) -> np.ndarray:
    out = np.zeros((blocks * BLOCK, 2), np.float32)
    for first in range(0, len(out), BLOCK):
        session.engine.render(out[first:first + BLOCK], BLOCK)
    return out


def test_the_file_holds_exactly_the_master_output_between_start_and_stop(tmp_path):
    async def scenario():
        session = playing_session()
        render(session, 10)
        recorder = MixRecorder(session, tmp_path / "recordings")
        await recorder.start()
        played = [render(session, 100)]
        await asyncio.sleep(0.3)                               # a drain happens meanwhile
        played.append(render(session, 150))
        stopping = asyncio.ensure_future(recorder.stop())
        await asyncio.sleep(0)
        played.append(render(session, 4))      # still recorded: the tap goes when the stop reaches the engine
        state = await stopping
        render(session, 10)
        return recorder, state, np.concatenate(played)

    recorder, state, played = asyncio.run(scenario())
    assert state["recording"] is False and state["error"] == "" and state["lostFrames"] == 0
    path = recorder.file(state["file"])
    audio, rate = soundfile.read(path, dtype="float32")
    assert rate == 48000 and soundfile.info(str(path)).subtype == "PCM_24"
    assert len(audio) == len(played)
    assert np.abs(audio - played).max() < 2 ** -22                 # 24-bit
    assert [r["file"] for r in recorder.recordings()] == [path.name]
    assert not list((tmp_path / "recordings").glob("*.part"))


def test_a_write_error_stops_the_recording_and_keeps_what_was_written(tmp_path, monkeypatch):
    async def scenario():
        session = playing_session()
        recorder = MixRecorder(session, tmp_path / "recordings")
        await recorder.start()
        render(session, 200)
        await asyncio.sleep(0.35)
        written = recorder.describe()["seconds"]

        def disk_full(self, data):
            raise OSError(28, "No space left on device")
        monkeypatch.setattr(soundfile.SoundFile, "write", disk_full)
        render(session, 200)
        await asyncio.sleep(0.6)
        return recorder, written

    recorder, written = asyncio.run(scenario())
    state = recorder.describe()
    assert not state["recording"] and "No space left on device" in state["error"]
    audio, _ = soundfile.read(recorder.file(state["file"]), dtype="float32")
    assert len(audio) == 200 * BLOCK and written == pytest.approx(200 * BLOCK / 48000, abs=0.01)


def test_starting_twice_or_stopping_when_idle_is_refused(tmp_path):
    async def scenario():
        recorder = MixRecorder(playing_session(), tmp_path)
        with pytest.raises(MixRecordError, match="not being recorded"):
            await recorder.stop()
        await recorder.start()
        with pytest.raises(MixRecordError, match="already being recorded"):
            await recorder.start()
        await recorder.stop()

    asyncio.run(scenario())


def test_an_unfinished_recording_from_a_crash_is_kept(tmp_path):
    part = tmp_path / "mix-20261122-101010.flac.part"
    soundfile.write(part, np.zeros((4800, 2), np.float32), 48000, format="FLAC", subtype="PCM_24")
    recorder = MixRecorder(playing_session(), tmp_path)
    assert [r["file"] for r in recorder.recordings()] == ["mix-20261122-101010.flac"]


def test_only_recording_names_can_be_fetched(tmp_path):
    recorder = MixRecorder(playing_session(), tmp_path)
    (tmp_path / "secret.flac").write_bytes(b"x")
    for name in ("../secret.flac", "secret.flac", "mix-1.flac"):
        with pytest.raises(MixRecordError):
            recorder.file(name)
