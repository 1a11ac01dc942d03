"""Song export jobs: render a project to WAV/FLAC/MP3 in a worker process, with progress (control loop).

``Exports.submit`` hands the render to an idle worker process (``background.idle_process_pool``): rendering
a 3-minute song holds the GIL for many seconds, so it never runs in the daemon. The worker writes its
progress (a fraction) to ``<exports>/<job>.progress`` and the file to ``<exports>/<job>.<format>``; the
control loop polls the progress file every ``POLL_S`` and tells ``listeners`` (the WebSocket) what changed.

Decisions:
- Exports live in ``<data_dir>/exports``; only the newest ``KEEP`` finished exports are kept (an export is
  something to download, not a library).
- The project is rendered as it is when the export is asked for (a frozen copy): editing during the render
  does not change the file.
- A full disk or a project whose audio is missing fails the job with a sentence; the daemon plays on.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from groovebox.background import fsync_directory

__all__ = ["Exports", "ExportJob", "FORMATS"]

log = logging.getLogger(__name__)

POLL_S = 0.25
KEEP = 10
FORMATS = ("wav", "flac", "mp3")
ExportFormat = Literal["wav", "flac", "mp3"]


@dataclass
class ExportJob:
    """One export as the control loop sees it."""

    job_id: str
    project_name: str
    format: str
    bits: int
    path: Path
    state: str = "running"            # running | done | failed
    percent: float = 0.0
    error: str = ""
    started_s: float = field(default_factory=time.monotonic)
    future: Future | None = None

    def summary(self) -> dict:
        return {"jobId": self.job_id, "kind": "export", "state": self.state, "percent": round(self.percent, 1),
                "projectName": self.project_name, "format": self.format, "bits": self.bits, "error": self.error,
                "downloadUrl": f"/api/exports/{self.job_id}/download" if self.state == "done" else None}


class Exports:
    """Export jobs of one daemon. ``submit`` and ``poll`` run on the control loop."""

    def __init__(self, data_dir: Path, workers: Executor | None, sample_rate: int = 48000) -> None:
        self.directory = Path(data_dir) / "exports"
        self.library_dir = Path(data_dir) / "library"
        self.workers = workers
        self.sample_rate = sample_rate
        self.jobs: dict[str, ExportJob] = {}
        self.listeners: list[Callable[[ExportJob], None]] = []
        self._ids = (f"x{int(time.time()):x}{n:03d}" for n in itertools.count())

    def submit(self, project, fmt: ExportFormat = "wav", bits: int = 24) -> ExportJob:
        """Start rendering ``project`` (a ``Project``) to ``fmt``; returns the job at once."""
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}")
        if self.workers is None:
            raise RuntimeError("exports need the worker pool")
        self.directory.mkdir(parents=True, exist_ok=True)
        job_id = next(self._ids)
        job = ExportJob(job_id, project.project_name, fmt, bits, self.directory / f"{job_id}.{fmt}")
        job.future = self.workers.submit(render_export, project.to_json(), str(self.library_dir), str(job.path),
                                         bits, self.sample_rate)
        self.jobs[job_id] = job
        self._emit(job)
        return job

    async def run(self, stop: asyncio.Event) -> None:
        """Poll running jobs until ``stop``."""
        while not stop.is_set():
            self.poll()
            try:
                await asyncio.wait_for(stop.wait(), POLL_S)
            except TimeoutError:
                pass

    def poll(self) -> None:
        for job in list(self.jobs.values()):
            if job.state == "running":
                self._update(job)

    def _update(self, job: ExportJob) -> None:
        if job.future.done():
            error = job.future.exception()
            if error is None:
                job.state, job.percent = "done", 100.0
            else:
                job.state, job.error = "failed", _message(error)
                job.path.unlink(missing_ok=True)
            _progress_path(job.path).unlink(missing_ok=True)
            self._forget_old()
            self._emit(job)
            return
        percent = _read_progress(job.path)
        if percent is not None and percent != job.percent:
            job.percent = percent
            self._emit(job)

    def _forget_old(self) -> None:
        finished = [job for job in self.jobs.values() if job.state != "running"]
        for job in finished[:-KEEP]:
            job.path.unlink(missing_ok=True)
            del self.jobs[job.job_id]

    def _emit(self, job: ExportJob) -> None:
        for listener in list(self.listeners):
            try:
                listener(job)
            except Exception:
                log.exception("export listener failed")


def _message(error: BaseException) -> str:
    if isinstance(error, OSError):
        return f"cannot write the export: {error.strerror or error}"
    return f"the export failed: {error}"


def _progress_path(path: Path) -> Path:
    return path.with_suffix(".progress")


def _read_progress(path: Path) -> float | None:
    try:
        return round(100.0 * float(_progress_path(path).read_text() or 0.0), 1)
    except (OSError, ValueError):
        return None


# ---------------------------------------------------------------------- worker process
def render_export(project_json: str, library_dir: str, output: str, bits: int, sample_rate: int) -> str:
    """Worker entry point: render the song and write it; progress goes to ``<output>.progress``."""
    from groovebox.project.model import parse_project
    from groovebox.project.render import render_project as render
    from groovebox.project.render import write_audio

    output_path = Path(output)
    progress_path = _progress_path(output_path)
    last = [0.0]

    def progress(fraction: float) -> None:
        if fraction - last[0] >= 0.01 or fraction >= 1.0:
            last[0] = fraction
            temp = progress_path.with_suffix(".progress.tmp")
            temp.write_text(f"{fraction:.4f}")
            os.replace(temp, progress_path)

    project = parse_project(project_json, source="export")
    audio = render(project, None, [], library_dir=Path(library_dir), sample_rate=sample_rate, progress=progress)
    write_audio(output_path, audio, sample_rate=sample_rate, bits=bits)
    fsync_directory(output_path.parent)
    return output
