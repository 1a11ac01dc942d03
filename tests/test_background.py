"""Helper processes run single-threaded maths at SCHED_IDLE (``groovebox.background``)."""

import os

import pytest

from groovebox.background import idle_process_pool, warm_pool

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@pytest.fixture
def pool():
    pool = idle_process_pool(workers=1, nice=7)
    yield pool
    pool.shutdown()


def test_pool_tasks_run_in_a_child_at_sched_idle_with_one_maths_thread(pool, monkeypatch):
    for name in THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    pids = warm_pool(pool, 1)
    assert len(pids) == 1 and os.getpid() not in pids
    assert pool.submit(os.getpid).result() in pids              # the warmed process does the work
    assert pool.submit(os.sched_getscheduler, 0).result() == os.SCHED_IDLE
    assert pool.submit(os.getpriority, os.PRIO_PROCESS, 0).result() >= 7
    assert [pool.submit(os.getenv, name).result() for name in THREAD_VARIABLES] == ["1", "1", "1"]
    assert [os.getenv(name) for name in THREAD_VARIABLES] == [None, None, None]   # the parent's is restored


def test_pool_needs_a_worker():
    with pytest.raises(ValueError, match="at least 1"):
        idle_process_pool(workers=0)
