"""Generation jobs: they run in a pool of worker processes; progress and results come back as events.

``JobManager`` lives on the daemon's control loop (its methods are called there only). Its workers are
spawned processes (fresh interpreters: no inherited threads, locks or JACK client) running ``_serve``; each
takes one job at a time from its inbox, generates each option with ``produce.generate_option``, stores it (in
the loop library of ``library_dir`` when given: the daemon's case; else as a file plus its JSON record in the
output folder) and reports through a multiprocessing queue. One reader thread per manager turns queue
items into ``JobEvent``s on the control loop (``call_soon_threadsafe``).

Decisions:
- The workers are started when ``run`` starts (the daemon's start-up), not per job, and live until it
  ends: starting a process means a fork of the daemon (a long GIL hold the audio callback would feel) and
  a second of imports (numpy, scipy, FluidSynth), which is not what should happen on stage while pads
  play. Right after the start, before those imports, the manager moves them to SCHED_IDLE (plus ``nice``):
  on a 2-core Pi a busy worker at normal priority delays the audio callback's wake-up by milliseconds.
  They start with one BLAS/OpenMP thread (idle BLAS threads spin on every core).
- At most ``workers`` jobs run at once; the rest wait in submission order (state "queued").
- Cancel sets the worker's event (Lyria capture checks it every 0.1 s; the offline generator between
  options); a worker that has not finished the job 3 s later is terminated and replaced. Options finished
  before the cancel stay stored and in the job's results.
- A worker that dies (killed, out of memory) fails its job with "the generator stopped unexpectedly
  (exit code N)" and is replaced.
- Events: ``queued``, ``progress`` (stage, percent over the whole job), ``option`` (one finished option's
  record), then exactly one of ``done``, ``failed`` (error message), ``cancelled``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import multiprocessing
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from groovebox.background import start_in_background
from groovebox.generate.produce import (
    GenerationError,
    GeneratorConfig,
    add_to_library,
    generate_option,
    write_loop,
)
from groovebox.generate.request import GenerationRequest

__all__ = ["JobManager", "JobEvent", "Job", "FINAL_STATES"]

log = logging.getLogger(__name__)

FINAL_STATES = ("done", "failed", "cancelled")
_CANCEL_GRACE_S = 3.0
_CONTEXT = multiprocessing.get_context("spawn")


@dataclass(frozen=True)
class JobEvent:
    job_id: str
    kind: str                 # queued | started | progress | option | done | failed | cancelled
    stage: str = ""
    percent: float = 0.0
    result: dict | None = None
    error: str = ""


@dataclass
class Job:
    """A job's state as the control loop sees it."""

    job_id: str
    request: GenerationRequest
    state: str = "queued"
    stage: str = ""
    percent: float = 0.0
    results: list[dict] = field(default_factory=list)
    error: str = ""
    worker: _Worker | None = None
    cancel_at_s: float | None = None

    @property
    def process(self) -> multiprocessing.process.BaseProcess | None:
        return self.worker.process if self.worker is not None else None

    def summary(self) -> dict:
        """JSON-ready state (for the API and WebSocket)."""
        return {"job_id": self.job_id, "state": self.state, "stage": self.stage, "percent": self.percent,
                "options": self.request.options, "prompt": self.request.prompt, "results": list(self.results),
                "error": self.error}


class _Worker:
    """One long-lived worker process, its inbox and its cancel flag."""

    def __init__(self, manager: JobManager, number: int) -> None:
        self.inbox = _CONTEXT.Queue()
        self.inbox.cancel_join_thread()      # a request queued for a worker that died must not hang our exit
        self.cancel = _CONTEXT.Event()
        self.job: Job | None = None
        self.process = _CONTEXT.Process(
            target=_serve, name=f"generate-worker-{number}", daemon=True,
            args=(self.inbox, manager._queue, self.cancel, str(manager.output_dir), manager.config,
                  str(manager.library_dir) if manager.library_dir else None))
        start_in_background(self.process, manager.nice)

    def take(self, job: Job) -> None:
        self.cancel.clear()
        self.job = job
        job.worker = self
        self.inbox.put((job.job_id, job.request.model_dump_json()))

    def stop(self) -> None:
        self.inbox.put(None)


class JobManager:
    """Runs generation jobs in worker processes and reports their events to ``listeners`` (control loop)."""

    def __init__(self, output_dir: Path, config: GeneratorConfig = GeneratorConfig(), *, workers: int = 1,
                 nice: int = 10, library_dir: Path | None = None) -> None:
        self.output_dir = Path(output_dir)
        self.library_dir = Path(library_dir) if library_dir is not None else None
        self.config = config
        self.workers = workers
        self.nice = nice
        self.jobs: dict[str, Job] = {}
        self.listeners: list[Callable[[JobEvent], None]] = []
        self._waiting: deque[str] = deque()
        self._pool: list[_Worker] = []
        self._spawned = itertools.count(1)
        self._ids = (f"{int(time.time()):x}{n:03d}" for n in itertools.count())
        self._queue = _CONTEXT.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reader: threading.Thread | None = None

    # ------------------------------------------------------------------ control loop API
    def submit(self, request: GenerationRequest) -> Job:
        """Queue ``request`` (resolved to a concrete seed); returns its job."""
        job = Job(next(self._ids), request.resolved())
        self.jobs[job.job_id] = job
        self._waiting.append(job.job_id)
        self._emit(JobEvent(job.job_id, "queued"))
        self._start_waiting()
        return job

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued or running job; False if it is unknown or already over."""
        job = self.jobs.get(job_id)
        if job is None or job.state in FINAL_STATES:
            return False
        if job.state == "queued":
            self._waiting.remove(job_id)
            self._finish(job, "cancelled")
        else:
            job.worker.cancel.set()
            job.cancel_at_s = time.monotonic()
        return True

    def start_workers(self) -> None:
        """Start the worker processes now (the daemon does this before it opens the audio stream, so the
        fork is not heard); ``run`` starts any that are missing."""
        while len(self._pool) < self.workers:
            self._pool.append(_Worker(self, next(self._spawned)))

    async def run(self, stop: asyncio.Event) -> None:
        """Receive the workers' events until ``stop``; then cancel what is still running."""
        self._loop = asyncio.get_running_loop()
        self._reader = threading.Thread(target=self._read, name="generate-jobs", daemon=True)
        self._reader.start()
        self.start_workers()
        self._start_waiting()
        try:
            while not stop.is_set():
                self._reap()
                try:
                    await asyncio.wait_for(stop.wait(), 0.25)
                except TimeoutError:
                    pass
        finally:
            await self._shutdown()

    # ------------------------------------------------------------------ internals
    def _start_waiting(self) -> None:
        """Hand waiting jobs to idle workers (none before ``run`` has started the pool)."""
        for worker in self._pool:
            if not self._waiting:
                return
            if worker.job is None and worker.process.is_alive():
                job = self.jobs[self._waiting.popleft()]
                worker.take(job)
                job.state = "running"
                self._emit(JobEvent(job.job_id, "started"))

    def _read(self) -> None:
        """Reader thread: queue items -> control loop."""
        while True:
            item = self._queue.get()
            if item is None:
                return
            loop = self._loop
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(self._on_item, item)

    def _on_item(self, item: tuple) -> None:
        job_id, kind, payload = item
        job = self.jobs.get(job_id)
        if job is None or job.state in FINAL_STATES:
            return
        if kind == "progress":
            job.stage, job.percent = payload
            self._emit(JobEvent(job_id, "progress", stage=job.stage, percent=job.percent))
        elif kind == "option":
            job.results.append(payload)
            self._emit(JobEvent(job_id, "option", result=payload))
        elif kind in FINAL_STATES:
            self._finish(job, kind, payload or "")

    def _reap(self) -> None:
        """Replace dead workers (failing their job); terminate workers whose cancel is past its grace time."""
        for index, worker in enumerate(self._pool):
            job = worker.job
            if job is not None and job.cancel_at_s is not None \
                    and time.monotonic() - job.cancel_at_s > _CANCEL_GRACE_S:
                worker.process.terminate()
                worker.process.join(1.0)
                self._pool[index] = _Worker(self, next(self._spawned))
                self._finish(job, "cancelled")
            elif not worker.process.is_alive():
                code = worker.process.exitcode
                self._pool[index] = _Worker(self, next(self._spawned))
                if job is not None:
                    self._finish(job, "failed", f"the generator stopped unexpectedly (exit code {code})")

    def _finish(self, job: Job, state: str, error: str = "") -> None:
        job.state, job.error = state, error
        if state == "done":
            job.percent = 100.0
        if job.worker is not None and job.worker.job is job:
            job.worker.job = None
        self._emit(JobEvent(job.job_id, state, error=error))
        self._start_waiting()

    def _emit(self, event: JobEvent) -> None:
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:
                log.exception("job event listener failed")

    async def _shutdown(self) -> None:
        for worker in self._pool:
            worker.cancel.set()
            worker.stop()
        deadline = time.monotonic() + _CANCEL_GRACE_S
        for worker in self._pool:
            await asyncio.to_thread(worker.process.join, max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.terminate()
        self._pool.clear()
        self._queue.put(None)
        if self._reader is not None:
            await asyncio.to_thread(self._reader.join, 2.0)


# ---------------------------------------------------------------------- worker process
def _serve(inbox, events, cancel, output_dir: str, config: GeneratorConfig, library_dir: str | None) -> None:
    """Worker entry point (a spawned process): run the jobs from ``inbox`` one by one until None arrives."""
    logging.basicConfig(level=logging.WARNING, format="generate worker: %(levelname)s %(message)s")
    from groovebox.generate import metrics  # noqa: F401  (import the heavy modules now, not in the first job)
    from groovebox.generate.offline import render_offline  # noqa: F401

    while (item := inbox.get()) is not None:
        job_id, request_json = item
        _work(job_id, request_json, output_dir, config, events, cancel, library_dir)


def _work(job_id: str, request_json: str, output_dir: str, config: GeneratorConfig,
          events: multiprocessing.Queue, cancel, library_dir: str | None = None) -> None:
    """One job in a worker: generate every option, report each, then the final word."""
    request = GenerationRequest.model_validate_json(request_json)
    folder = Path(output_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for option in range(request.options):
            if cancel.is_set():
                events.put((job_id, "cancelled", None))
                return
            progress = _option_progress(job_id, option, request.options, events)
            loop = generate_option(request, option, config, progress=progress, cancel=cancel)
            if library_dir is not None:
                record = add_to_library(loop, Path(library_dir), option)
            else:
                record = write_loop(loop, folder / f"{job_id}-{option + 1}.flac")
            events.put((job_id, "option", record))
        events.put((job_id, "done", None))
    except GenerationError as error:
        events.put((job_id, "cancelled" if cancel.is_set() else "failed", str(error)))
    except OSError as error:
        events.put((job_id, "failed", f"cannot write the loop: {error.strerror or error}"))
    except Exception as error:           # the job fails with a message; the daemon carries on
        logging.getLogger(__name__).exception("generation failed")
        events.put((job_id, "failed", f"the generator failed: {type(error).__name__}: {error}"))


def _option_progress(job_id: str, option: int, options: int, events) -> Callable[[str, float], None]:
    def report(stage: str, percent: float) -> None:
        overall = (option + min(100.0, max(0.0, percent)) / 100.0) / options * 100.0
        events.put((job_id, "progress", (f"option {option + 1}/{options}: {stage}", round(overall, 1))))
    return report
