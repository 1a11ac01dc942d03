"""The dummy JACK server and the recorder, checked with real jackd, jack tools and JACK-Client."""

import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from groovebox.hw import JackBackend
from groovebox.hw.jackserver import (
    DummyJackServer,
    JackRecorder,
    JackServerError,
    client_output_ports,
    disconnect_from_system,
    port_connections,
)


def constant(left: float, right: float):
    def render(out: np.ndarray, frames: int) -> None:
        out[:, 0] = left
        out[:, 1] = right

    return render


SECOND_SERVER_SCRIPT = """
import os
import sounddevice  # imported before the env points at the server: PortAudio sees no JACK device yet
from groovebox.hw import JackBackend, list_audio_devices
from groovebox.hw.jackserver import DummyJackServer

print("before", [device["name"] for device in list_audio_devices()])
with DummyJackServer(block_frames=128) as server:
    server.apply_env()
    print("inside", os.environ["JACK_DEFAULT_SERVER"] == server.name, [d["name"] for d in list_audio_devices()])
    with JackBackend(block_frames=256, autoconnect=False) as audio:
        audio.start(lambda out, frames: out.fill(0.0))
        print("block_frames", audio.block_frames)
print("after", os.environ["JACK_DEFAULT_SERVER"], server._process.poll() is not None)
"""


@pytest.mark.jack
@pytest.mark.skipif(shutil.which("jackd") is None, reason="jackd is not installed (apt-get install jackd2)")
def test_second_server_applies_and_restores_env_in_a_fresh_process():
    """A fresh process, because libjack misbehaves with clients on two servers (see jackserver's docstring).

    Also proves PortAudio is rescanned on apply_env and detached before jackd stops: otherwise the list
    stays empty, or the process aborts at exit in pa_jack.c.
    """
    env = {**os.environ, "JACK_DEFAULT_SERVER": "groovebox-no-such-server", "JACK_NO_START_SERVER": "1"}
    result = subprocess.run(
        [sys.executable, "-c", SECOND_SERVER_SCRIPT], env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "before []", "inside True ['system']", "block_frames 128", "after groovebox-no-such-server True",
    ]


def test_missing_jackd_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(JackServerError, match="jackd is not installed"):
        DummyJackServer().start()


@pytest.mark.jack
def test_recorder_captures_exact_samples(jack_server, jack_recorder):
    with JackBackend(autoconnect=False, client_name="dc") as audio:
        audio.start(constant(0.25, -0.5))
        frames = jack_recorder(client_output_ports("dc", jack_server.env)).record(0.3)
    assert len(frames) >= 0.2 * 48000
    connected = frames[np.any(frames != 0.0, axis=1)]
    assert len(connected) > 0.1 * 48000
    np.testing.assert_array_equal(np.unique(connected, axis=0), [[0.25, -0.5]])


@pytest.mark.jack
def test_recorder_stops_when_full(jack_server):
    with JackBackend(autoconnect=False, client_name="filler") as audio:
        audio.start(constant(0.1, 0.1))
        with JackRecorder(jack_server.env, ["filler:out_1", "filler:out_2"], max_seconds=0.05) as recorder:
            time.sleep(0.3)
            assert recorder.frames.shape == (int(0.05 * 48000), 2)


@pytest.mark.jack
def test_recorder_names_the_ports_it_could_not_find(jack_server):
    with pytest.raises(JackServerError, match="cannot record from.*nobody:out_1"):
        JackRecorder(jack_server.env, ["nobody:out_1", "nobody:out_2"], max_seconds=1).start()


@pytest.mark.jack
def test_disconnect_from_system_unwires_a_client(jack_server):
    with JackBackend(autoconnect=True, client_name="wired") as audio:
        audio.start(constant(0.0, 0.0))
        assert port_connections("wired:out_1", jack_server.env) == ["system:playback_1"]
        disconnect_from_system("wired", jack_server.env)
        assert port_connections("wired:out_1", jack_server.env) == []


@pytest.mark.jack
def test_xruns_are_counted_by_server_and_backend(jack_server):
    xruns_before = jack_server.xruns
    with JackBackend(autoconnect=False, client_name="slow") as slow:
        slow.start(lambda out, frames: time.sleep(0.03))  # 30 ms per 5.3 ms block
        deadline_s = time.monotonic() + 5
        while not (jack_server.xruns > xruns_before and slow.stats.underruns > 0):
            assert time.monotonic() < deadline_s, (jack_server.xruns - xruns_before, slow.stats.underruns)
            time.sleep(0.05)
