"""Shared fixtures: a private JACK server with the dummy driver, and recorders attached to it.

``jack_server`` (session) starts ``jackd -d dummy`` under a unique name and points this process at it
(``JACK_DEFAULT_SERVER``, ``JACK_NO_START_SERVER=1``, PortAudio re-scanned), so sounddevice's default output
is the server's "system" device and JACK-Client clients open on it. It skips only when jackd is not
installed. Keep to this one server in-process: libjack misbehaves with clients on two servers, so a test that
needs another server runs it in a subprocess. ``jack_recorder`` records what another client plays::

    def test_plays(jack_server, jack_recorder):
        with open_audio("portaudio") as audio:
            audio.start(render)
            frames = jack_recorder(client_output_ports("PortAudio", jack_server.env)).record(0.5)
"""

import asyncio
import json
import shutil
import threading
import time

import numpy as np
import pytest
import soundfile

from hw_mocks import load_virtual_controller_module

from groovebox.hw.jackserver import DummyJackServer, JackRecorder


@pytest.fixture(scope="session")
def jack_server():
    """A running dummy JACK server (48 kHz, 256 frames) that this process's clients use."""
    if shutil.which("jackd") is None:
        pytest.skip("jackd is not installed (apt-get install jackd2)")
    with DummyJackServer() as server:
        server.apply_env()
        yield server


@pytest.fixture
def jack_recorder(jack_server):
    """Factory: ``jack_recorder(connect_from, max_seconds=3.0)`` returns a started JackRecorder."""
    recorders = []

    def start(connect_from: list[str], max_seconds: float = 3.0) -> JackRecorder:
        recorder = JackRecorder(jack_server.env, connect_from, max_seconds, client_name=f"recorder{len(recorders)}")
        recorders.append(recorder)
        return recorder.start()

    yield start
    for recorder in recorders:
        recorder.stop()



@pytest.fixture
def virtual_controller(jack_server):
    """Factory: ``virtual_controller("novation_launchpad_mini_mk3")`` starts a virtual device process."""
    module = load_virtual_controller_module()
    started = []

    def start(device: str, *args: str):
        process = module.ControllerProcess(device, *args)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def start_daemon(tmp_path, midi_settings: dict | None = None):
    """The daemon serving in a thread: PortAudio on the JACK server, MIDI on JACK, a 240 BPM project with a
    metronome and two pads whose audio is on the left channel only (so left - right isolates the pads).
    Returns (daemon, stop): call ``stop()`` to shut it down."""
    from groovebox.app import Daemon, DaemonOptions
    from groovebox.config import Settings

    bar_frames = 48000
    left_only = np.zeros((bar_frames, 2), np.float32)
    left_only[:, 0] = 0.5
    soundfile.write(tmp_path / "left.wav", left_only, 48000, subtype="FLOAT")
    project = {"bpm": 240, "quantizeGrid": "1 bar", "metronome": True, "masterVolume": 1.0,
               "pads": [{"padIndex": 0, "audioPath": "left.wav", "volume": 0.2},
                        {"padIndex": 1, "audioPath": "left.wav", "volume": 1.0}]}
    (tmp_path / "project.json").write_text(json.dumps(project))
    midi = {"api": "jack", "poll_s": 0.2, **(midi_settings or {})}
    settings = Settings.model_validate({"audio": {"backend": "portaudio"}, "midi": midi})
    running = Daemon(settings, DaemonOptions(project_file=tmp_path / "project.json", data_dir=tmp_path / "data",
                                             serve_web=False))
    loop = asyncio.new_event_loop()
    stop_event = asyncio.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(running.serve(stop_event),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while running.controllers is None and time.monotonic() < deadline:
        time.sleep(0.01)

    def stop():
        loop.call_soon_threadsafe(stop_event.set)
        thread.join(20)
        assert not thread.is_alive(), "the daemon did not shut down within 20 s"
    return running, stop


@pytest.fixture
def daemon(jack_server, tmp_path):
    running, stop = start_daemon(tmp_path)
    yield running
    stop()


@pytest.fixture
def daemon_factory(jack_server):
    """Factory: ``daemon_factory(tmp_path, midi_settings)`` -> (daemon, stop), for tests that set MIDI options."""
    return start_daemon


@pytest.fixture
def measuring_alone():
    """tracemalloc counts every allocation in the process: while a test measures the audio path, nothing else
    may allocate. Other Python threads (a fake server's, a worker left from an earlier test) are held off by
    a long switch interval, and the garbage collector, which would run finalizers of earlier tests' objects
    (warnings, closed transports) in the middle of a measured block, is collected first and paused."""
    import gc
    import sys

    interval = sys.getswitchinterval()
    gc.collect()
    gc.disable()
    sys.setswitchinterval(60.0)
    yield
    sys.setswitchinterval(interval)
    gc.enable()


def pytest_unconfigure(config):
    """After the run, the interpreter must exit: if something (a queue feeder thread, a leaked non-daemon
    thread) holds it for a minute, print every thread's stack and exit with an error instead of hanging CI."""
    import faulthandler
    import sys

    faulthandler.dump_traceback_later(60, exit=True, file=sys.__stderr__)
