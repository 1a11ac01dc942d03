"""Song export jobs: a real render in the idle worker pool, progress, the file, and failures."""

import time

import pytest
import soundfile

from groovebox import bench
from groovebox.background import idle_process_pool
from groovebox.control.exports import Exports
from groovebox.library.importer import import_file
from groovebox.project.model import Clip, Project, Track


@pytest.fixture(scope="module")
def pool():
    executor = idle_process_pool(1)
    yield executor
    executor.shutdown()


def write_loop_file(path):
    soundfile.write(path, bench.test_loop(1, bars=1, tempo_bpm=120.0), 48000)
    return path


def song(loop_id, bars=2):
    return Project(project_name="Export me", bpm=120.0,
                   tracks=[Track(track_name="drums", clips=[Clip(loop_id=loop_id, start_bar=0, duration_bars=bars)])])


def wait(exports, job, timeout_s=60.0):
    seen = []
    deadline = time.monotonic() + timeout_s
    while job.state == "running":
        assert time.monotonic() < deadline, "the export did not finish"
        exports.poll()
        seen.append(job.percent)
        time.sleep(0.02)
    return seen


@pytest.mark.parametrize(("fmt", "bits", "subtype"), [("wav", 24, "PCM_24"), ("flac", 16, "PCM_16")])
def test_an_export_renders_the_song_to_a_file(tmp_path, pool, fmt, bits, subtype):
    loop_id = import_file(tmp_path, write_loop_file(tmp_path / "loop.wav")).loop_id
    exports = Exports(tmp_path, pool)
    events = []
    exports.listeners.append(lambda job: events.append((job.state, job.percent)))
    job = exports.submit(song(loop_id), fmt, bits)
    wait(exports, job)
    assert job.state == "done", job.error
    info = soundfile.info(str(job.path))
    assert info.samplerate == 48000 and info.channels == 2 and info.subtype == subtype
    assert info.frames >= 2 * 2 * 48000                       # two bars at 120 BPM, plus the fade
    assert events[-1] == ("done", 100.0) and events[0][0] == "running"
    assert job.summary()["downloadUrl"] == f"/api/exports/{job.job_id}/download"
    assert not job.path.with_suffix(".progress").exists()


def test_a_song_whose_loop_is_gone_fails_with_a_sentence(tmp_path, pool):
    exports = Exports(tmp_path, pool)
    job = exports.submit(song("missingloop01"))
    wait(exports, job)
    assert job.state == "failed" and job.error.startswith("the export failed")
    assert not job.path.exists()


def test_only_the_newest_exports_are_kept(tmp_path, pool, monkeypatch):
    monkeypatch.setattr("groovebox.control.exports.KEEP", 1)
    loop_id = import_file(tmp_path, write_loop_file(tmp_path / "loop.wav")).loop_id
    exports = Exports(tmp_path, pool)
    first = exports.submit(song(loop_id, bars=1))
    wait(exports, first)
    second = exports.submit(song(loop_id, bars=1))
    wait(exports, second)
    assert list(exports.jobs) == [second.job_id] and not first.path.exists() and second.path.exists()
