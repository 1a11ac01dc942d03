"""systemd: the unit file (``systemd-analyze verify``), and readiness/watchdog datagrams to a local
NOTIFY_SOCKET from a real daemon, which stop while its control loop is blocked."""

import asyncio
import configparser
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from groovebox.app import Daemon, DaemonOptions
from groovebox.appliance.notify import SystemdNotifier
from groovebox.config import Settings

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "groovebox.service"


def test_the_unit_is_a_notify_service_with_a_watchdog_and_its_own_user():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read(UNIT)
    service = unit["Service"]
    assert service["Type"] == "notify" and int(service["WatchdogSec"]) > 0
    assert service["Restart"] == "on-failure" and service["User"] == "groovebox"
    assert {"audio", "gpio", "i2c"} <= set(service["SupplementaryGroups"].split())
    assert service["StateDirectory"] == "groovebox" and service["LimitRTPRIO"] == "95"


def test_systemd_analyze_verify_accepts_the_unit(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")
    # verify checks that ExecStart exists: point it at this checkout's interpreter instead of /opt/groovebox
    unit = tmp_path / "groovebox.service"
    unit.write_text(UNIT.read_text().replace("/opt/groovebox/.venv/bin/groovebox run",
                                             f"{sys.executable} -m groovebox run"))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert "groovebox.service" not in result.stderr, result.stderr


def listening_socket(tmp_path):
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(str(tmp_path / "notify"))
    return receiver


def drain(receiver):
    receiver.setblocking(False)
    messages = []
    while True:
        try:
            messages.append(receiver.recv(4096).decode())
        except BlockingIOError:
            receiver.setblocking(True)
            return messages


def receive(receiver, timeout_s):
    receiver.settimeout(timeout_s)
    try:
        return receiver.recv(4096).decode()
    except TimeoutError:
        return None


def test_the_notifier_sends_datagrams_and_is_a_no_op_without_a_socket(tmp_path):
    receiver = listening_socket(tmp_path)
    notifier = SystemdNotifier.from_environ({"NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "4000000"})
    assert notifier.enabled and notifier.watchdog_period_s == 4.0
    assert notifier.notify("READY=1", "STATUS=up")
    assert receive(receiver, 5) == "READY=1\nSTATUS=up"
    assert SystemdNotifier.from_environ({"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "1"}).watchdog_period_s is None
    silent = SystemdNotifier.from_environ({})
    assert not silent.enabled and silent.notify("READY=1") is False
    notifier.close()


def test_a_daemon_reports_ready_pings_the_watchdog_and_stops_pinging_when_its_loop_blocks(tmp_path, monkeypatch):
    receiver = listening_socket(tmp_path)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    monkeypatch.setenv("WATCHDOG_USEC", "200000")                  # a ping every 0.1 s
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    settings = Settings.model_validate({"audio": {"backend": "null"}, "midi": {"enabled": False}})
    daemon = Daemon(settings, DaemonOptions(data_dir=tmp_path / "data", serve_web=False))
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(daemon.serve(stop),), daemon=True)
    thread.start()
    try:
        first = receive(receiver, 60)
        assert first is not None and first.split("\n")[0] == "READY=1"
        assert receive(receiver, 10) == "WATCHDOG=1"

        entered, release = threading.Event(), threading.Event()

        def block_the_loop():
            entered.set()
            release.wait(30)

        loop.call_soon_threadsafe(block_the_loop)
        assert entered.wait(10)
        drain(receiver)                                            # pings sent before the block
        assert receive(receiver, 1.0) is None                      # ten periods: not one ping
        release.set()
        assert receive(receiver, 10) == "WATCHDOG=1"               # the loop runs again: pings resume
    finally:
        release_all = locals().get("release")
        if release_all is not None:
            release_all.set()
        loop.call_soon_threadsafe(stop.set)
        thread.join(20)
    assert not thread.is_alive()
    assert "STOPPING=1" in drain(receiver)
    receiver.close()
