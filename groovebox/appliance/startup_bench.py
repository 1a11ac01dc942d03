"""``groovebox bench startup``: how long ``groovebox run`` takes from process start to healthy.

Each run starts a fresh ``python -m groovebox run`` (null audio, an empty data directory, the web API
on a free local port, MIDI without a sequencer or JACK server, like a headless box) with a local
``NOTIFY_SOCKET``, and times two moments from just before the process is spawned: systemd's READY=1
(audio running, every task started) and the first ``/api/health`` answer with ``status: ok``. Then it
stops the daemon with SIGTERM. Main thread of the CLI process.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

__all__ = ["TARGET_S", "bench_startup"]

TARGET_S = 2.0


def bench_startup(runs: int = 5, timeout_s: float = 30.0) -> dict:
    """Start the daemon ``runs`` times; seconds to READY=1 and to healthy (median and max)."""
    ready, healthy = [], []
    for _ in range(runs):
        ready_s, healthy_s = _one_start(timeout_s)
        ready.append(ready_s)
        healthy.append(healthy_s)
    return {"runs": runs, "ready_median_s": round(statistics.median(ready), 3), "ready_max_s": round(max(ready), 3),
            "healthy_median_s": round(statistics.median(healthy), 3), "healthy_max_s": round(max(healthy), 3),
            "healthy_s": [round(s, 3) for s in healthy], "target_s": TARGET_S,
            "ok": max(healthy) <= TARGET_S}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _one_start(timeout_s: float) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="groovebox-startup-") as folder:
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(str(Path(folder) / "notify"))
        port = _free_port()
        env = {**os.environ, "NOTIFY_SOCKET": str(Path(folder) / "notify"), "JACK_NO_START_SERVER": "1",
               "JACK_DEFAULT_SERVER": "groovebox-bench-none", "XDG_DATA_HOME": folder}
        started = time.perf_counter()
        daemon = subprocess.Popen([sys.executable, "-m", "groovebox", "run", "--audio", "null",
                                   "--web", f"127.0.0.1:{port}", "--data-dir", str(Path(folder) / "data")],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            ready_s = _wait_ready(notify, started, timeout_s, daemon)
            healthy_s = _wait_healthy(port, started, timeout_s, daemon)
        finally:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.communicate()
            notify.close()
    return ready_s, healthy_s


def _wait_ready(notify: socket.socket, started: float, timeout_s: float, daemon: subprocess.Popen) -> float:
    notify.settimeout(0.1)
    while time.perf_counter() - started < timeout_s:
        try:
            message = notify.recv(4096).decode()
        except TimeoutError:
            _check_alive(daemon)
            continue
        if "READY=1" in message.split("\n"):
            return time.perf_counter() - started
    raise RuntimeError(f"the daemon sent no READY=1 within {timeout_s:.0f} s")


def _wait_healthy(port: int, started: float, timeout_s: float, daemon: subprocess.Popen) -> float:
    while time.perf_counter() - started < timeout_s:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1) as response:
                if json.load(response).get("status") == "ok":
                    return time.perf_counter() - started
        except OSError:
            _check_alive(daemon)
            time.sleep(0.01)
    raise RuntimeError(f"the daemon was not healthy within {timeout_s:.0f} s")


def _check_alive(daemon: subprocess.Popen) -> None:
    if daemon.poll() is not None:
        raise RuntimeError(f"the daemon exited ({daemon.returncode}): {daemon.stderr.read().decode()[-400:]}")
