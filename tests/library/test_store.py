import json
import os
import pickle
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import soundfile as sf

from groovebox.library.store import (
    SCHEMA_VERSION,
    Library,
    LibraryError,
    LoopInUse,
    LoopNotFound,
    LoopRecord,
)
from groovebox.project.compile import compile_project
from groovebox.project.model import Pad, Project

FRAMES = 96000  # 2 s: one bar at 120 BPM


def _tone(frames: int = FRAMES, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(frames) / 48000
    left = amplitude * np.sin(2 * np.pi * 220 * t)
    return np.stack([left, -left], axis=1).astype(np.float32)


@pytest.fixture
def library(tmp_path):
    with Library(tmp_path / "data") as lib:
        yield lib


@pytest.fixture(scope="module")
def searchable(tmp_path_factory):
    with Library(tmp_path_factory.mktemp("search")) as lib:
        _add(lib, name="Kick A")
        _add(lib, name="Bass B", prompt="Deep DUB bass")
        _add(lib, name="Pad C", tags=["Dreamy"])
        _add(lib, name="Été Pad")
        yield lib


def _add(library, name="Kick loop", **fields):
    return library.add(_tone(), name=name, source=fields.pop("source", "uploaded"), **fields)


def test_add_stores_flac_and_record(library):
    record = _add(library, tags=["Dusty", " dusty", "Lo  Fi"], bpm=120.0, bars=1, key="D_MAJOR_B_MINOR",
                  prompt="dusty kick", generation_config={"bpm": 120, "scale": "D_MAJOR_B_MINOR"}, seed=7)
    path = library.path(record.loop_id)
    assert path == library.data_dir / "library" / f"{record.loop_id}.flac"
    info = sf.info(path)
    assert (info.samplerate, info.channels, info.format, info.subtype, info.frames) == (48000, 2, "FLAC", "PCM_24",
                                                                                        FRAMES)
    audio, _ = sf.read(path, dtype="float32")
    np.testing.assert_allclose(audio, _tone(), atol=2e-7)
    assert record.tags == ("dusty", "lo fi")
    assert record.duration_s == pytest.approx(2.0) and record.frames == FRAMES
    assert record.category == "drums"                      # "kick" in the name
    # BS.1770: -0.691 + 10*log10(2 channels * 0.125 mean square) = -6.7 LUFS, K-weighting takes ~0.3 dB at 220 Hz
    assert record.loudness_lufs == pytest.approx(-7.0, abs=0.2)
    assert len(record.peaks) == 256 and record.peaks[0][0] == pytest.approx(-0.5, abs=0.02)
    assert library.get(record.loop_id) == record


def test_ids_are_short_and_url_safe(library):
    ids = {_add(library).loop_id for _ in range(5)}
    assert len(ids) == 5
    assert all(len(i) == 10 and i.isalnum() and i.islower() for i in ids)


def test_record_json_uses_camel_case_aliases(library):
    record = _add(library, bpm=120.0, bars=1)
    data = json.loads(record.model_dump_json(by_alias=True))
    for name in ("loopId", "loopName", "bpm", "bars", "durationSeconds", "category", "tags", "source", "prompt",
                 "generationConfig", "seed", "waveformPeaks", "loudnessLufs", "createdAt", "audioFile", "key"):
        assert name in data
    assert LoopRecord.model_validate(data) == record


def test_list_newest_first_with_filters_and_paging(library):
    first = _add(library, name="Kick A", category="drums", source="uploaded")
    second = _add(library, name="Bass B", category="bass", source="generated", prompt="Deep DUB bass")
    third = _add(library, name="Pad C", category="synth", source="recorded", tags=["Dreamy"])
    assert [r.loop_id for r in library.list()] == [third.loop_id, second.loop_id, first.loop_id]
    assert [r.loop_id for r in library.list(limit=1, offset=1)] == [second.loop_id]
    assert [r.loop_id for r in library.list(category="bass")] == [second.loop_id]
    assert [r.loop_id for r in library.list(source="recorded")] == [third.loop_id]
    assert library.count() == 3 and library.count(category="drums") == 1


@pytest.mark.parametrize("query, names", [
    ("kick", ["Kick A"]),                 # name, any case
    ("DUB", ["Bass B"]),                  # prompt
    ("dreamy", ["Pad C"]),                # tag
    ("deep bass", ["Bass B"]),            # every word must match
    ("deep kick", []),
    ("ÉTÉ", ["Été Pad"]),                 # Unicode case folding
    ("", ["Été Pad", "Pad C", "Bass B", "Kick A"]),
])
def test_search_is_case_insensitive_over_name_tags_and_prompt(searchable, query, names):
    assert [r.name for r in searchable.list(search=query)] == names


def test_unknown_filter_values_are_refused(library):
    with pytest.raises(LibraryError, match="unknown category 'polka'"):
        library.list(category="polka")
    with pytest.raises(LibraryError, match="unknown source"):
        library.list(source="stolen")


def test_update_applies_user_overrides(library):
    record = _add(library, bpm=120.0, bars=1)
    updated = library.update(record.loop_id, name="Better name", category="fx", tags=["A", "b"], key="C_MAJOR_A_MINOR")
    assert (updated.name, updated.category, updated.tags, updated.key) == ("Better name", "fx", ("a", "b"),
                                                                           "C_MAJOR_A_MINOR")
    assert library.get(record.loop_id) == updated
    assert updated.bpm == 120.0 and updated.loudness_lufs == record.loudness_lufs


def test_update_tempo_keeps_bpm_and_bars_consistent_with_the_duration(library):
    record = _add(library, bpm=120.0, bars=1)                  # 2 s
    assert library.update(record.loop_id, bpm=240.0).bars == 2
    assert library.update(record.loop_id, bars=1).bpm == 120.0
    both = library.update(record.loop_id, bpm=90.0, bars=3)
    assert (both.bpm, both.bars) == (90.0, 3)


@pytest.mark.parametrize("changes, message", [
    ({"category": "polka"}, "category"),
    ({"name": ""}, "name"),
    ({"bpm": 1000.0}, "bpm"),
    ({"key": "H_MAJOR"}, "key"),
    ({"tags": "not-a-list"}, "tags"),
])
def test_update_refuses_invalid_values_and_keeps_the_record(library, changes, message):
    record = _add(library, bpm=120.0, bars=1)
    with pytest.raises(LibraryError, match=message):
        library.update(record.loop_id, **changes)
    assert library.get(record.loop_id) == record


def test_missing_loop(library):
    for call in (library.get, library.path, lambda i: library.update(i, name="x"), library.delete):
        with pytest.raises(LoopNotFound, match="no loop 'nothere00'"):
            call("nothere00")


def test_delete_removes_row_and_file(library):
    record = _add(library)
    path = library.path(record.loop_id)
    assert library.delete(record.loop_id) == []
    assert not path.exists() and library.count() == 0


def test_delete_refuses_a_loop_in_use_unless_forced(library):
    record = _add(library, name="Hook")
    used_by = lambda loop_id: ["Live set", "Demo"] if loop_id == record.loop_id else []
    with pytest.raises(LoopInUse) as refused:
        library.delete(record.loop_id, referenced_by=used_by)
    assert refused.value.projects == ["Live set", "Demo"]
    assert "Hook" in str(refused.value) and "Live set, Demo" in str(refused.value)
    assert library.get(record.loop_id) == record and library.path(record.loop_id).exists()
    assert library.delete(record.loop_id, force=True, referenced_by=used_by) == ["Live set", "Demo"]
    assert library.count() == 0


@pytest.mark.parametrize("audio, message", [
    (np.zeros((0, 2), np.float32), "frames > 0"),
    (np.zeros((100,), np.float32), "shaped"),
    (np.zeros((100, 2), np.int16), "floating-point"),
    (np.full((100, 2), np.nan, np.float32), "NaN"),
])
def test_add_refuses_bad_audio_and_leaves_nothing(library, audio, message):
    with pytest.raises(LibraryError, match=message):
        library.add(audio, name="bad", source="uploaded")
    assert library.count() == 0 and list(library.audio_dir.iterdir()) == []


def test_add_refuses_bad_metadata_and_leaves_nothing(library):
    with pytest.raises(LibraryError, match="source"):
        library.add(_tone(), name="x", source="stolen")
    with pytest.raises(LibraryError, match="generationConfig must be JSON"):
        library.add(_tone(), name="x", source="generated", generation_config={"when": object()})
    assert library.count() == 0 and list(library.audio_dir.iterdir()) == []


def test_failed_commit_removes_the_audio_file(library, monkeypatch):
    monkeypatch.setattr("groovebox.library.store._row", lambda record: (record.loop_id,))   # wrong column count
    with pytest.raises(sqlite3.ProgrammingError):
        _add(library)
    assert list(library.audio_dir.iterdir()) == []
    monkeypatch.undo()
    assert library.count() == 0


def test_audio_over_full_scale_is_scaled_not_clipped(library):
    loud = _tone(amplitude=2.0)
    record = library.add(loud, name="loud", source="uploaded")
    audio, _ = sf.read(library.path(record.loop_id), dtype="float32")
    assert np.abs(audio).max() == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(audio, loud / 2.0, atol=1e-6)   # shape kept: no flat tops


def test_schema_version_and_pragmas(tmp_path):
    Library(tmp_path).close()
    connection = sqlite3.connect(tmp_path / "groovebox.db")
    assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    connection.close()


def test_a_database_from_a_newer_groovebox_is_refused(tmp_path):
    Library(tmp_path).close()
    connection = sqlite3.connect(tmp_path / "groovebox.db")
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.close()
    with pytest.raises(LibraryError, match="newer groovebox"):
        Library(tmp_path)


def test_reopening_keeps_the_loops(tmp_path):
    with Library(tmp_path) as first:
        record = _add(first)
    with Library(tmp_path) as again:
        assert again.get(record.loop_id) == record


def test_threads_add_concurrently_each_on_its_own_connection(library):
    with ThreadPoolExecutor(4) as pool:
        records = list(pool.map(lambda n: _add(library, name=f"thread {n}"), range(8)))
    assert library.count() == 8
    assert {r.loop_id for r in library.list()} == {r.loop_id for r in records}


def test_library_pickles_as_its_data_directory(library):
    record = _add(library)
    clone = pickle.loads(pickle.dumps(library))
    assert clone.data_dir == library.data_dir and clone.get(record.loop_id) == record
    assert pickle.loads(pickle.dumps(record)) == record
    clone.close()


def test_tag_counts(library):
    _add(library, tags=["dusty", "vinyl"])
    _add(library, tags=["Dusty"])
    assert library.tag_counts() == {"dusty": 2, "vinyl": 1}


def test_sweep_removes_old_orphans_only(library):
    record = _add(library)
    orphan = library.audio_dir / "orphan0001.flac"
    temp = library.audio_dir / ".abc.xyz.tmp"
    fresh = library.audio_dir / "fresh00001.flac"
    for path in (orphan, temp, fresh):
        path.write_bytes(b"x")
    old = time.time() - 7200
    for path in (orphan, temp, library.path(record.loop_id)):
        os.utime(path, (old, old))
    assert library.sweep() == [".abc.xyz.tmp", "orphan0001.flac"]
    assert library.path(record.loop_id).exists() and fresh.exists()


def test_project_compile_plays_library_loops_by_id(library):
    record = _add(library)
    project = Project(bpm=120.0, pads=[Pad(pad_index=3, loop_id=record.loop_id, native_bpm=record.bpm)])
    compiled = compile_project(project, library_dir=library.data_dir / "library")
    assert compiled.pads[0].pad == 3
    np.testing.assert_allclose(compiled.pads[0].audio, _tone(), atol=2e-7)
