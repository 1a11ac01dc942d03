"""Small helpers shared by background worker processes and durable writes (any thread; stdlib only).

``start_in_background`` starts a multiprocessing process the way the daemon wants every helper process:
with one BLAS/OpenMP thread (idle BLAS threads spin on every core, the audio's too) and then at SCHED_IDLE
plus ``nice`` (it runs only on CPU time nothing else wants, and is preempted at once by the audio; on a
2-core Pi a busy worker at normal priority delays the audio callback's wake-up by milliseconds).
``idle_process_pool`` is the same for a ``ProcessPoolExecutor`` (imports and exports), and ``warm_pool``
starts its processes before the daemon opens the audio. ``fsync_directory`` makes a rename durable.

Decisions:
- The pool uses the "spawn" start method: the daemon has threads (audio, asyncio, MIDI), and forking a
  threaded process can deadlock the child.
- The thread variables must be in the environment when the child starts, because a spawned child imports
  the parent's main module (numpy and its BLAS with it) before any initializer runs. So the pool's processes
  start with the variables set, exactly like ``start_in_background``, and the initializer sets them again
  for libraries loaded later and then lowers the child's own priority. The parent's environment is
  changed only for the moment of ``Process.start``.
- A process that cannot lower its priority (no SCHED_IDLE on this system, or a sandbox forbids it) keeps
  working at its normal priority; the failure is logged, never raised.
"""

from __future__ import annotations

import logging
import multiprocessing.context
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path

__all__ = ["fsync_directory", "idle_process_pool", "start_in_background", "start_pool", "warm_pool"]

log = logging.getLogger(__name__)

_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@contextmanager
def _single_threaded_maths() -> Iterator[None]:
    """The thread variables set to 1 in this process's environment, restored on exit."""
    saved = {name: os.environ.get(name) for name in _THREAD_VARIABLES}
    os.environ.update(dict.fromkeys(_THREAD_VARIABLES, "1"))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _lower_priority(pid: int, nice: int) -> None:
    """``pid`` (0: this process) at SCHED_IDLE and ``nice``; raises OSError or AttributeError when it cannot."""
    os.setpriority(os.PRIO_PROCESS, pid, nice)
    os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))


def start_in_background(process, nice: int = 10) -> None:
    """``process.start()`` with single-threaded maths in the child, then lower its priority."""
    with _single_threaded_maths():
        process.start()
    try:
        _lower_priority(process.pid, nice)
    except (OSError, AttributeError) as error:
        log.info("background process %s keeps its priority: %s", process.name, error)


class _IdleSpawnProcess(multiprocessing.context.SpawnProcess):
    """A spawned process with the thread variables set from its first instruction, put at SCHED_IDLE plus
    ``nice`` as soon as it exists (so even its start-up imports only use idle CPU time)."""

    nice = 10

    def start(self) -> None:
        with _single_threaded_maths():
            super().start()
        try:
            _lower_priority(self.pid, self.nice)
        except (OSError, AttributeError) as error:
            log.info("pool process %s keeps its priority: %s", self.pid, error)


class _IdleSpawnContext(multiprocessing.context.SpawnContext):
    def __init__(self, nice: int) -> None:
        super().__init__()
        self.nice = nice

    def Process(self, *args, **kwargs) -> _IdleSpawnProcess:  # noqa: N802 (multiprocessing's name)
        process = _IdleSpawnProcess(*args, **kwargs)
        process.nice = self.nice
        return process


def _become_idle(nice: int) -> None:
    """Pool initializer, in the child: one maths thread, then SCHED_IDLE plus ``nice``."""
    os.environ.update(dict.fromkeys(_THREAD_VARIABLES, "1"))
    try:
        _lower_priority(0, nice)
    except (OSError, AttributeError) as error:
        log.info("pool process %d keeps its priority: %s", os.getpid(), error)


def idle_process_pool(workers: int = 1, nice: int = 10) -> ProcessPoolExecutor:
    """A process pool whose ``workers`` processes run single-threaded maths at SCHED_IDLE plus ``nice``.

    Processes start when work is submitted (see ``warm_pool``). Shut it down with ``pool.shutdown()``.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    return ProcessPoolExecutor(max_workers=workers, mp_context=_IdleSpawnContext(nice),
                               initializer=_become_idle, initargs=(nice,))


def start_pool(pool: ProcessPoolExecutor, workers: int) -> None:
    """Start the pool's processes now without waiting for them (they import at SCHED_IDLE, so the daemon
    opens the audio meanwhile): ``submit`` starts a process whenever no idle one is waiting."""
    for _ in range(workers):
        pool.submit(os.getpid)


def warm_pool(pool: ProcessPoolExecutor, workers: int, timeout_s: float = 30.0) -> set[int]:
    """Start the pool's processes now (a no-op task per worker, waited for); returns the pids that answered.

    A spawned process takes a while to start; the daemon calls this before it opens the audio, so the start-up
    (a new interpreter importing its modules) does not compete with the audio later. ``submit`` starts a
    process whenever no idle one is waiting, so ``workers`` submissions in a row start ``workers`` processes.
    """
    futures = [pool.submit(os.getpid) for _ in range(workers)]
    done, late = wait(futures, timeout=timeout_s)
    if late:       # e.g. a main script without a __main__ guard, which every spawned child runs again
        log.warning("%d worker process(es) did not start within %.0f s; they start when first used",
                    len(late), timeout_s)
    return {future.result() for future in done}


def fsync_directory(directory: Path) -> None:
    """fsync a folder so that a rename inside it survives a power cut."""
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
