"""``groovebox run`` as a real process for web tests: null audio (or JACK), its own data directory and port,
paired with the PIN it logs.

    with RunningDaemon(tmp_path) as daemon:
        daemon.get("/api/loops")                  # paired (bearer token)
        daemon.log_text()                         # everything it logged so far
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

PIN_LINE = re.compile(r"pairing PIN for the phone page: (\d{6})")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RunningDaemon:
    """See the module docstring. ``config``: TOML text for ``--config``; ``env``: extra environment."""

    def __init__(self, folder: Path, config: str = "", env: dict | None = None, audio: str = "null",
                 port: int | None = None) -> None:
        """``port``: listen there (a restart on the same address), else on a free port."""
        self.folder = Path(folder)
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        config_file = self.folder / "groovebox.toml"
        config_file.write_text("[midi]\nenabled = false\n" + config)
        environment = {**os.environ, "JACK_NO_START_SERVER": "1", **(env or {})}
        if audio == "null":
            environment["JACK_DEFAULT_SERVER"] = "no-such-server"
        self._lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "groovebox", "run", "--config", str(config_file), "--data-dir",
             str(self.folder / "data"), "--audio", audio, "--web", f"127.0.0.1:{self.port}"],
            env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.health = self._wait_for_health(30.0)
        self.pin = self._wait_for_pin(10.0)
        paired = httpx.post(f"{self.base_url}/api/pair", json={"pin": self.pin, "label": "test"})
        paired.raise_for_status()
        self.token = paired.json()["token"]
        self.client = httpx.Client(base_url=self.base_url, headers={"Authorization": f"Bearer {self.token}"},
                                   timeout=30.0)

    def _read(self) -> None:
        for line in self.process.stdout:
            self._lines.append(line)

    def log_text(self) -> str:
        return "".join(self._lines)

    def _wait_for_health(self, timeout_s: float) -> dict:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return httpx.get(f"{self.base_url}/api/health", timeout=1.0).json()
            except (httpx.HTTPError, json.JSONDecodeError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the daemon did not come up:\n{self.log_text()}") from None
                time.sleep(0.05)

    def _wait_for_pin(self, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            pins = PIN_LINE.findall(self.log_text())
            if pins:
                return pins[-1]
            time.sleep(0.05)
        raise RuntimeError(f"no pairing PIN in the log:\n{self.log_text()}")

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def post(self, path: str, **kwargs) -> httpx.Response:
        return self.client.post(path, **kwargs)

    def wait_for_job(self, job_id: str, timeout_s: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            job = self.get(f"/api/jobs/{job_id}").json()
            if job["state"] in ("done", "failed", "cancelled"):
                return job
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} did not finish in {timeout_s} s")

    def stop(self) -> int:
        self.client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._reader.join(5)
        return self.process.returncode

    def __enter__(self) -> RunningDaemon:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
