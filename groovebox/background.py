"""Small helpers shared by background worker processes and durable writes (any thread; stdlib only).

``start_in_background`` starts a multiprocessing process the way the daemon wants every helper process:
with one BLAS/OpenMP thread (idle BLAS threads spin on every core, the audio's too) and then at SCHED_IDLE
plus ``nice`` (it runs only on CPU time nothing else wants, and is preempted at once by the audio; on a
2-core Pi a busy worker at normal priority delays the audio callback's wake-up by milliseconds).
``fsync_directory`` makes a rename durable.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

__all__ = ["start_in_background", "fsync_directory"]

log = logging.getLogger(__name__)

_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def start_in_background(process, nice: int = 10) -> None:
    """``process.start()`` with single-threaded maths in the child, then lower its priority."""
    saved = {name: os.environ.get(name) for name in _THREAD_VARIABLES}
    os.environ.update(dict.fromkeys(_THREAD_VARIABLES, "1"))
    try:
        process.start()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    try:
        os.setpriority(os.PRIO_PROCESS, process.pid, nice)
        os.sched_setscheduler(process.pid, os.SCHED_IDLE, os.sched_param(0))
    except (OSError, AttributeError) as error:
        log.info("background process %s keeps its priority: %s", process.name, error)


def fsync_directory(directory: Path) -> None:
    """fsync a folder so that a rename inside it survives a power cut."""
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
