"""Generation jobs that use Lyria: worker processes streaming from the fake Lyria server through the real
google-genai client (the fake's certificate reaches the workers through SSL_CERT_FILE)."""

import asyncio

import soundfile
from lyria_fixtures import fake_lyria_fixture, secret_key  # noqa: F401  (fixture)
from test_jobs import _collect, _final

from groovebox.generate.jobs import JobManager
from groovebox.generate.produce import GeneratorConfig
from groovebox.generate.request import GenerationRequest


def _run_job(manager: JobManager, request: GenerationRequest, act=None):
    jobs = []

    async def main():
        return await _collect(manager, lambda ev: _final(ev, jobs[0].job_id), act=act,
                              start=lambda: jobs.append(manager.submit(request)))

    asyncio.run(main())
    return jobs[0]


def _lyria_config(fake, engine: str = "lyria") -> GeneratorConfig:
    return GeneratorConfig(engine=engine, lyria_base_url=fake.ready["url"], key_file="")


def test_a_lyria_job_writes_an_exact_seamless_loop_with_its_record(fake_lyria, tmp_path, monkeypatch):
    monkeypatch.setenv("GEMINI_API_KEY", secret_key("job"))
    manager = JobManager(tmp_path, _lyria_config(fake_lyria, engine="auto"))
    job = _run_job(manager, GenerationRequest(prompt="minimal techno", bpm=92, bars=4, seed=11))
    assert job.state == "done", job.error
    record = job.results[0]
    audio, _ = soundfile.read(record["path"], dtype="float32")
    assert record["engine"] == "lyria" and record["seed"] == 11
    assert audio.shape == (round(4 * 4 * 60 / 92 * 48000), 2) == (record["frames"], 2)
    assert record["metrics"]["seam_db"] <= 3.0 and record["metrics"]["peak_dbfs"] <= -1.0
    assert abs(record["metrics"]["loudness_lufs"] + 16.0) <= 1.0


def test_a_filtered_prompt_fails_the_job_saying_why(fake_lyria, tmp_path, monkeypatch):
    monkeypatch.setenv("GEMINI_API_KEY", secret_key("filtered"))
    manager = JobManager(tmp_path, _lyria_config(fake_lyria))
    job = _run_job(manager, GenerationRequest(prompt="forbidden sounds", bpm=100, bars=1, seed=1))
    assert job.state == "failed" and 'blocked the prompt "forbidden sounds"' in job.error


def test_auto_falls_back_to_offline_when_the_key_is_refused(fake_lyria, tmp_path, monkeypatch):
    key = secret_key("refused", "reject=403")
    monkeypatch.setenv("GEMINI_API_KEY", key)
    manager = JobManager(tmp_path, _lyria_config(fake_lyria, engine="auto"))
    job = _run_job(manager, GenerationRequest(prompt="deep house", bpm=122, bars=1, seed=2))
    assert job.state == "done" and job.results[0]["engine"] == "offline"
    assert "refused" in job.results[0]["warning"] and key not in job.results[0]["warning"]
    strict = JobManager(tmp_path, _lyria_config(fake_lyria, engine="lyria"))
    job = _run_job(strict, GenerationRequest(prompt="deep house", bpm=122, bars=1, seed=2))
    assert job.state == "failed" and "refused" in job.error and key not in job.error


def test_cancelling_a_stalled_capture_ends_the_job(fake_lyria, tmp_path, monkeypatch):
    monkeypatch.setenv("GEMINI_API_KEY", secret_key("stalled", "stall=1x0"))
    manager = JobManager(tmp_path, _lyria_config(fake_lyria))

    def cancel_once_recording(event):
        if event.kind == "progress" and ("settling" in event.stage or "recording" in event.stage):
            manager.cancel(event.job_id)

    job = _run_job(manager, GenerationRequest(prompt="ambient drift", bpm=80, bars=4, seed=3),
                   act=cancel_once_recording)
    assert job.state == "cancelled" and job.results == []
