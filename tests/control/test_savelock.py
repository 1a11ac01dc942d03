"""Save-lock (gig mode): the lock itself, the project store refusing every write while it is on (files left
byte for byte as they were), and the live session's autosave going on regardless."""

import asyncio
import logging
import time

import pytest

from groovebox.control.autosave import SESSION_FILE, Autosaver, SessionDocument
from groovebox.control.editor import Editor, Origin, SetBpm
from groovebox.control.projects import ProjectStore
from groovebox.control.savelock import SaveLock, SaveLocked, refusal
from groovebox.engine import Engine
from groovebox.project.model import Project


def snapshot(directory):
    """Every file under ``directory``: relative path -> (bytes, modification time in ns)."""
    return {str(path.relative_to(directory)): (path.read_bytes(), path.stat().st_mtime_ns)
            for path in sorted(directory.rglob("*")) if path.is_file()}


@pytest.fixture
def locked_store(tmp_path):
    """A store holding two projects, then locked."""
    store = ProjectStore(tmp_path, lock=SaveLock())
    first = store.new("First set", bpm=124.0)
    second = store.new("Second set")
    store.lock.set(True)
    return store, first, second


def test_the_lock_starts_as_configured_toggles_and_logs_who_changed_it(caplog):
    lock = SaveLock()
    assert lock.on is False
    lock.check("saving the project")                     # unlocked: no refusal
    with caplog.at_level(logging.WARNING, logger="groovebox.control.savelock"):
        assert lock.toggle(by="front panel") is True
        lock.set(True, by="front panel")                 # no change: nothing logged
        assert lock.toggle() is False
    assert [r.getMessage() for r in caplog.records] == ["save-lock on (gig mode) (front panel)", "save-lock off"]
    assert SaveLock(True).on is True


def test_a_refusal_is_one_sentence_naming_what_was_not_done():
    with pytest.raises(SaveLocked) as caught:
        SaveLock(True).check("deleting a loop")
    assert caught.value.what == "deleting a loop"
    assert str(caught.value) == refusal("deleting a loop") == (
        "save-lock is on (gig mode): deleting a loop was not done; turn it off on the front panel's system page")


def test_a_store_without_a_lock_is_writable(tmp_path):
    store = ProjectStore(tmp_path)
    assert store.lock.on is False
    store.delete(store.new("CLI project").project_id)
    assert store.list() == []


@pytest.mark.parametrize("write, what", [
    (lambda store, first, second: store.save(first.replace(bpm=90.0)), "saving the project"),
    (lambda store, first, second: store.save(Project(project_name="Brand new")), "saving the project"),
    (lambda store, first, second: store.save_as(first, "First set v2"), "saving a copy of the project"),
    (lambda store, first, second: store.rename(second.project_id, "Renamed"), "renaming the project"),
    (lambda store, first, second: store.new("Third set"), "creating a project"),
    (lambda store, first, second: store.delete(first.project_id), "deleting the project"),
])
def test_every_write_is_refused_and_leaves_the_files_as_they_were(locked_store, tmp_path, write, what):
    store, first, second = locked_store
    before = snapshot(tmp_path / "projects")
    with pytest.raises(SaveLocked, match=what):
        write(store, first, second)
    assert snapshot(tmp_path / "projects") == before
    assert len(before) == 2


def test_reading_goes_on_while_locked_and_writing_works_again_once_unlocked(locked_store):
    store, first, _ = locked_store
    assert store.load(first.project_id).bpm == 124.0
    assert {summary.name for summary in store.list()} == {"First set", "Second set"}
    store.lock.set(False)
    assert store.save(first.replace(bpm=90.0)).bpm == 90.0
    assert store.load(first.project_id).bpm == 90.0


def test_the_live_session_still_autosaves_while_stored_projects_are_locked(locked_store, tmp_path):
    store, first, _ = locked_store
    editor = Editor(store.load(first.project_id), Engine(pads=16).post, pad_count=16,
                    origin=Origin(stored_id=first.project_id), saved=first)
    stored_before = snapshot(tmp_path / "projects")
    path = tmp_path / SESSION_FILE

    async def play_and_edit():
        stop = asyncio.Event()
        task = asyncio.create_task(Autosaver(editor, path, debounce_s=0.02, max_delay_s=0.05).run(stop))
        editor.apply(SetBpm(97.0))
        deadline = time.monotonic() + 10.0
        while not (path.exists() and SessionDocument.model_validate_json(path.read_bytes()).project.bpm == 97.0):
            assert time.monotonic() < deadline, "the session was not autosaved"
            await asyncio.sleep(0.01)
        stop.set()
        await task

    asyncio.run(play_and_edit())
    document = SessionDocument.model_validate_json(path.read_bytes())
    assert document.project.bpm == 97.0 and document.stored_project_id == first.project_id
    assert editor.dirty                                   # the edit is live, not stored ...
    assert snapshot(tmp_path / "projects") == stored_before    # ... and the stored project is untouched
    assert store.load(first.project_id).bpm == 124.0


def test_recording_into_a_pad_is_refused_under_the_lock():
    from groovebox.control.recording import PadRecorder
    from groovebox.control.savelock import SaveLock, SaveLocked
    from groovebox.control.session import Session, SessionInfo
    from groovebox.engine import Engine
    from groovebox.hw import OfflineBackend

    backend = OfflineBackend()
    backend.has_input = True
    session = Session(Engine(pads=16), backend, SessionInfo("offline", 48000, 256))
    recorder = PadRecorder(session, max_s=10.0, save_lock=SaveLock(True))
    with pytest.raises(SaveLocked, match="recording into a pad was not done"):
        recorder.arm(0)
    assert recorder.pad is None and not session.engine._inbox
