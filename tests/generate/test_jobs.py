"""JobManager: generation jobs in real spawned worker processes (offline generator), events and files."""

import asyncio
import json
import os
import signal

import soundfile

from groovebox.generate.jobs import JobManager
from groovebox.generate.produce import GeneratorConfig
from groovebox.generate.request import GenerationRequest

OFFLINE = GeneratorConfig(engine="offline")


async def _collect(manager: JobManager, until, timeout_s: float = 90.0, act=None, start=None) -> list:
    """Call ``start()``, run ``manager`` until ``until(events)`` holds; ``act(event)`` sees every event."""
    events = []

    def listen(event):
        events.append(event)
        if act is not None:
            act(event)

    manager.listeners.append(listen)
    if start is not None:
        start()
    stop = asyncio.Event()
    task = asyncio.create_task(manager.run(stop))
    try:
        async with asyncio.timeout(timeout_s):
            while not until(events):
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task
    return events


def _final(events, job_id):
    return [e for e in events if e.job_id == job_id and e.kind in ("done", "failed", "cancelled")]


def test_a_job_with_two_options_writes_both_loops_and_reports_progress(tmp_path):
    manager = JobManager(tmp_path, OFFLINE)
    request = GenerationRequest(prompt="funky house", bpm=124, bars=2, options=2, seed=7)

    jobs = []

    async def main():
        return await _collect(manager, lambda ev: _final(ev, jobs[0].job_id),
                              start=lambda: jobs.append(manager.submit(request)))

    events = asyncio.run(main())
    job = jobs[0]
    kinds = [e.kind for e in events]
    assert kinds[:2] == ["queued", "started"] and kinds[-1] == "done", [(e.kind, e.error) for e in events]
    percents = [e.percent for e in events if e.kind == "progress"]
    assert percents == sorted(percents) and percents[-1] > 50
    results = [e.result for e in events if e.kind == "option"]
    assert [r["seed"] for r in results] == [7, 8] and job.state == "done" and job.results == results
    for option, record in enumerate(results, start=1):
        audio, rate = soundfile.read(record["path"], dtype="float32")
        assert record["path"].endswith(f"{job.job_id}-{option}.flac") and rate == 48000
        assert audio.shape == (round(2 * 4 * 60 / 124 * 48000), 2) == (record["frames"], 2)
        assert json.loads((tmp_path / f"{job.job_id}-{option}.json").read_text())["seed"] == record["seed"]
        assert record["engine"] == "offline" and record["metrics"]["peak_dbfs"] <= -1.0


def test_jobs_queue_behind_the_worker_limit_and_a_queued_job_can_be_cancelled(tmp_path):
    manager = JobManager(tmp_path, OFFLINE, workers=1)

    async def main():
        first = manager.submit(GenerationRequest(prompt="techno", bars=1, seed=1))
        second = manager.submit(GenerationRequest(prompt="techno", bars=1, seed=2))
        assert (first.state, second.state) == ("queued", "queued")     # the pool starts with run()
        assert manager.cancel(second.job_id) and not manager.cancel(second.job_id)
        events = await _collect(manager, lambda ev: _final(ev, first.job_id))
        return first, second, events

    first, second, events = asyncio.run(main())
    assert first.state == "done" and second.state == "cancelled"
    assert not list(tmp_path.glob(f"{second.job_id}-*"))


def test_a_worker_that_dies_fails_its_job_with_a_message(tmp_path):
    manager = JobManager(tmp_path, OFFLINE)

    def kill_when_started(event):
        if event.kind == "started":
            os.kill(manager.jobs[event.job_id].process.pid, signal.SIGKILL)

    jobs = []

    async def main():
        return await _collect(manager, lambda ev: _final(ev, jobs[0].job_id), act=kill_when_started,
                              start=lambda: jobs.append(manager.submit(
                                  GenerationRequest(prompt="house", bars=8, options=5, seed=3))))

    asyncio.run(main())
    job = jobs[0]
    assert job.state == "failed" and "stopped unexpectedly (exit code -9)" in job.error


def test_lyria_without_a_key_is_a_clear_failure(tmp_path, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    manager = JobManager(tmp_path, GeneratorConfig(engine="lyria", key_file=str(tmp_path / "no-key")))

    async def main():
        job = manager.submit(GenerationRequest(prompt="house", seed=3))
        return job, await _collect(manager, lambda ev: _final(ev, job.job_id))

    job, _ = asyncio.run(main())
    assert job.state == "failed" and "no Gemini API key" in job.error


def test_auto_without_a_key_uses_the_offline_generator(tmp_path, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    manager = JobManager(tmp_path, GeneratorConfig(engine="auto", key_file=str(tmp_path / "no-key")))

    async def main():
        job = manager.submit(GenerationRequest(prompt="lo-fi hip hop", bars=1, seed=5))
        return job, await _collect(manager, lambda ev: _final(ev, job.job_id))

    job, _ = asyncio.run(main())
    assert job.state == "done" and job.results[0]["engine"] == "offline" and job.results[0]["warning"] == ""


def test_cancel_of_unknown_job_is_false(tmp_path):
    assert JobManager(tmp_path).cancel("nope") is False


def test_with_a_library_the_options_become_library_loops(tmp_path):
    from groovebox.library.store import Library

    manager = JobManager(tmp_path / "generated", OFFLINE, library_dir=tmp_path)
    jobs = []

    async def main():
        return await _collect(manager, lambda ev: _final(ev, jobs[0].job_id), start=lambda: jobs.append(
            manager.submit(GenerationRequest(prompt="rolling techno drums", bars=1, options=2, seed=21))))

    asyncio.run(main())
    job = jobs[0]
    assert job.state == "done", job.error
    with Library(tmp_path) as library:
        stored = [library.get(result["loopId"]) for result in job.results]
        assert [loop.seed for loop in stored] == [21, 22]
        assert all(loop.source == "generated" and loop.prompt == "rolling techno drums" for loop in stored)
        assert stored[0].name == "rolling techno drums #1" and stored[0].bars == 1
        assert stored[0].generation_config["prompt"] == "rolling techno drums"
        assert library.path(stored[0].loop_id).is_file()
    assert not (tmp_path / "generated").exists() or not list((tmp_path / "generated").iterdir())


def test_one_worker_process_serves_job_after_job_and_a_dead_one_is_replaced(tmp_path):
    manager = JobManager(tmp_path, OFFLINE, workers=1)
    jobs, pids = [], []

    def on_event(event):
        if event.kind == "started":
            pids.append(manager.jobs[event.job_id].process.pid)
        if event.kind == "done" and len(jobs) < 3:
            jobs.append(manager.submit(GenerationRequest(prompt="house", bars=1, seed=len(jobs))))

    async def main():
        return await _collect(manager, lambda ev: len(jobs) == 3 and _final(ev, jobs[2].job_id), act=on_event,
                              start=lambda: jobs.append(manager.submit(GenerationRequest(prompt="house", bars=1))))

    asyncio.run(main())
    assert [job.state for job in jobs] == ["done"] * 3
    assert len(set(pids)) == 1                                   # no process per job
    assert os.getpriority(os.PRIO_PROCESS, os.getpid()) < 10 and manager._pool == []
