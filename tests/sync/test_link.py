"""Ableton Link: the daemon and a peer, in a network namespace with only loopback, agree on tempo within 1 s
and on bar phase within 5 ms (the phase is measured by the peer from /api/health, against its own Link clock)."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

PEER = Path(__file__).with_name("link_peer.py")
NAMESPACE = f"gblink{os.getpid()}"


@pytest.fixture
def namespace():
    if shutil.which("ip") is None or os.geteuid() != 0:
        pytest.skip("needs root and iproute2 for a loopback-only network namespace")
    commands = [["ip", "netns", "add", NAMESPACE], ["ip", "-n", NAMESPACE, "link", "set", "lo", "up"],
                ["ip", "-n", NAMESPACE, "link", "set", "lo", "multicast", "on"],
                ["ip", "-n", NAMESPACE, "route", "add", "224.0.0.0/4", "dev", "lo"]]
    for command in commands:
        subprocess.run(command, check=True, capture_output=True)
    yield ["ip", "netns", "exec", NAMESPACE]
    subprocess.run(["ip", "netns", "del", NAMESPACE], capture_output=True)


def test_daemon_and_a_peer_share_tempo_and_bar_phase(namespace, tmp_path):
    config = tmp_path / "link.toml"
    config.write_text('[midi]\nenabled = false\nclock_source = "link"\n')
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    daemon = subprocess.Popen([*namespace, sys.executable, "-m", "groovebox", "run", "--audio", "null",
                               "--config", str(config), "--data-dir", str(tmp_path), "--web", f"127.0.0.1:{port}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "JACK_NO_START_SERVER": "1"})
    try:
        time.sleep(1.5)
        peer = subprocess.run([*namespace, sys.executable, str(PEER), str(port)], capture_output=True, text=True,
                              timeout=60)
        assert peer.returncode == 0, peer.stderr
        result = json.loads(peer.stdout.strip().splitlines()[-1])
    finally:
        daemon.terminate()
        _, stderr = daemon.communicate(timeout=10)
    assert result["peers"] >= 1
    assert result["tempo_agreed_s"] is not None and result["tempo_agreed_s"] <= 1.0, (result, stderr[-2000:])
    errors = sorted(abs(error) for error in result["errors_ms"])
    assert errors[len(errors) // 2] < 5.0, result                # median bar-phase error
    assert result["followed_133_s"] is not None and result["followed_133_s"] <= 1.0, result
