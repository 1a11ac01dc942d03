"""The project store: JSON documents in <data_dir>/projects, atomic writes, clear errors, corrupt files kept."""

import json
import os

import numpy as np
import pytest

from groovebox.control.projects import (
    ProjectStore,
    ProjectStoreError,
    absolute_audio_paths,
)
from groovebox.library.store import Library, LoopInUse
from groovebox.project.model import Clip, Pad, Project, Track, load_project


@pytest.fixture
def store(tmp_path):
    return ProjectStore(tmp_path)


def test_new_save_and_load_round_trip_as_camel_case_json(store, tmp_path):
    project = store.new("  Summer Anthem ", bpm=124.0)
    assert project.project_name == "Summer Anthem" and project.created_at is not None
    edited = project.replace(pads=[Pad(pad_index=2, loop_id="abc", volume=0.5)], master_volume=0.7)
    stored = store.save(edited)
    assert stored.updated_at >= project.updated_at and stored.created_at == project.created_at
    path = tmp_path / "projects" / f"{project.project_id}.json"
    document = json.loads(path.read_text())
    assert document["projectName"] == "Summer Anthem" and document["pads"][0]["padIndex"] == 2
    assert store.load(project.project_id) == stored == load_project(path)


def test_list_is_newest_first_with_summaries(store):
    first = store.new("First")
    store.new("Second", bpm=90.0)
    store.save(first.replace(pads=[Pad(pad_index=0, loop_id="a"), Pad(pad_index=1), Pad(pad_index=2, loop_id="b")]))
    listed = store.list()
    assert [summary.name for summary in listed] == ["First", "Second"]
    assert (listed[0].pad_count, listed[1].bpm) == (2, 90.0)
    assert listed[0].to_json()["projectId"] == first.project_id and listed[0].error is None


def test_save_as_makes_a_new_project_and_leaves_the_original(store):
    original = store.new("Demo")
    copy = store.save_as(original.replace(bpm=100.0), "Demo v2")
    assert copy.project_id != original.project_id and copy.project_name == "Demo v2"
    assert store.load(original.project_id).bpm == 120.0 and store.load(copy.project_id).bpm == 100.0
    assert len(store.list()) == 2


def test_rename_and_delete(store):
    project = store.new("Old")
    assert store.rename(project.project_id, "New").project_name == "New"
    assert store.load(project.project_id).project_name == "New"
    store.delete(project.project_id)
    assert store.list() == [] and not store.exists(project.project_id)
    with pytest.raises(ProjectStoreError, match="no project"):
        store.delete(project.project_id)


@pytest.mark.parametrize("project_id", ["missing", "../../etc/passwd", "a/b", "", "x" * 65])
def test_unknown_or_malformed_ids_are_refused(store, project_id):
    with pytest.raises(ProjectStoreError, match="no project"):
        store.load(project_id)
    with pytest.raises(ProjectStoreError):
        store.rename(project_id, "Name")


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "two\nlines", 42])
def test_bad_names_are_refused(store, name):
    with pytest.raises(ProjectStoreError, match="name"):
        store.new(name)
    project = store.new("Fine")
    with pytest.raises(ProjectStoreError, match="name"):
        store.rename(project.project_id, name)
    with pytest.raises(ProjectStoreError, match="name"):
        store.save_as(project, name)


def test_corrupt_files_are_reported_kept_and_do_not_hide_the_others(store, tmp_path):
    good = store.new("Good")
    folder = tmp_path / "projects"
    (folder / "broken.json").write_text('{"projectName": "Half')
    invalid = json.loads(good.to_json()) | {"bpm": "fast"}
    (folder / "invalid.json").write_text(json.dumps(invalid))
    listed = {summary.project_id: summary for summary in store.list()}
    assert set(listed) == {good.project_id, "broken", "invalid"}
    assert listed[good.project_id].error is None
    assert "corrupt" in listed["broken"].error and "bpm" in listed["invalid"].error
    with pytest.raises(ProjectStoreError, match="projects/invalid.json: bpm"):
        store.load("invalid")
    before = (folder / "broken.json").read_bytes()
    with pytest.raises(ProjectStoreError, match="not overwriting"):
        store.save(good.replace(project_id="broken"))
    assert (folder / "broken.json").read_bytes() == before
    store.delete("broken")
    assert not (folder / "broken.json").exists()


def test_a_copied_file_is_its_own_project(store, tmp_path):
    original = store.new("Original")
    folder = tmp_path / "projects"
    (folder / "copy.json").write_bytes((folder / f"{original.project_id}.json").read_bytes())
    copy = store.load("copy")
    assert copy.project_id == "copy"
    store.save(copy.replace(bpm=77.0))
    assert store.load(original.project_id).bpm == 120.0


def test_no_temporary_files_are_left_and_stale_ones_are_swept(store, tmp_path):
    store.new("One")
    folder = tmp_path / "projects"
    assert [path.name for path in folder.iterdir() if path.name.startswith(".")] == []
    stale = folder / ".x.json.abc.tmp"
    stale.write_text("{")
    os.utime(stale, (0, 0))
    ProjectStore(tmp_path)
    assert not stale.exists()


def test_uses_loop_finds_pads_and_clips_and_skips_corrupt_files(store, tmp_path):
    store.save(Project(project_name="Pads", pads=[Pad(pad_index=0, loop_id="loop1")]))
    store.save(Project(project_name="Song", tracks=[Track(clips=[Clip(loop_id="loop1")])]))
    store.save(Project(project_name="Other", pads=[Pad(pad_index=0, loop_id="loop2")]))
    (tmp_path / "projects" / "junk.json").write_text("not json")
    assert sorted(store.uses_loop("loop1")) == ["Pads", "Song"]
    assert store.uses_loop("loop3") == []


def test_the_library_refuses_to_delete_a_loop_a_project_uses(store, tmp_path):
    library = Library(tmp_path)
    record = library.add(np.zeros((4800, 2), np.float32), name="Kick", source="uploaded", category="drums")
    store.save(Project(project_name="Live set", pads=[Pad(pad_index=0, loop_id=record.loop_id)]))
    with pytest.raises(LoopInUse, match="Live set"):
        library.delete(record.loop_id, referenced_by=store.uses_loop)
    assert library.delete(record.loop_id, force=True, referenced_by=store.uses_loop) == ["Live set"]


def test_absolute_audio_paths(tmp_path):
    project = Project(pads=[Pad(pad_index=0, audio_path="loops/a.wav"), Pad(pad_index=1, audio_path="/abs/b.wav")],
                      tracks=[Track(clips=[Clip(audio_path="../c.wav")])])
    absolute = absolute_audio_paths(project, tmp_path / "set" / "song.json")
    assert absolute.pad_at(0).audio_path == str(tmp_path / "set" / "loops" / "a.wav")
    assert absolute.pad_at(1).audio_path == "/abs/b.wav"
    assert absolute.tracks[0].clips[0].audio_path == str(tmp_path / "c.wav")
    with pytest.raises(ProjectStoreError, match="relative audioPath"):
        absolute_audio_paths(project, None)
