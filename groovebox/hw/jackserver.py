"""A private JACK server with the dummy driver, and a JACK client that records what others play.

Used by the tests and by ``groovebox bench soak``: real audio through real JACK, without a sound card.

Threads: ``DummyJackServer`` runs jackd as a child process and reads its log on a daemon thread (counting
"XRun" lines); its methods run on the caller's thread. ``JackRecorder`` copies input on the JACK process
thread into a preallocated array; its methods run on the caller's thread.

Environment ordering (checked here with jackd2 1.9.21, PortAudio 19.6, sounddevice 0.5.6, JACK-Client 0.5.7):

- JACK-Client and jack tools read ``JACK_DEFAULT_SERVER`` when a client opens, so setting the env (or
  passing ``servername``) before opening is enough.
- PortAudio's JACK host API connects to the server once, at ``Pa_Initialize``, i.e. at ``import
  sounddevice``. A process that imported sounddevice before the env pointed at our server sees no JACK
  device; ``apply_env()`` therefore calls ``rescan_portaudio()`` (``sd._terminate(); sd._initialize()``),
  after which the server's "system" device appears as the default output.
- If the server dies while PortAudio is still connected to it, the process aborts at exit
  (``pa_jack.c: Terminate: Assertion `err == 0' failed``). ``stop()`` therefore restores the env and
  re-initialises PortAudio *before* terminating jackd.
- Talk to one server per process. With clients on two servers at once, libjack (jackd2 1.9.21) segfaulted
  or dropped the other server's clients ("Server is not running") when one server stopped. Tests that need
  a second server run it from a subprocess.
"""

from __future__ import annotations

import collections
import itertools
import os
import re
import shutil
import subprocess
import threading
import time

import numpy as np

from groovebox.hw.audio import _import_jack, rescan_portaudio

__all__ = [
    "DummyJackServer",
    "JackRecorder",
    "JackServerError",
    "client_output_ports",
    "disconnect_from_system",
    "port_connections",
]

_server_numbers = itertools.count(1)
_ENV_KEYS = ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")


class JackServerError(RuntimeError):
    """jackd is missing, did not start, or a JACK client could not be set up."""


class DummyJackServer:
    """``jackd --no-realtime -S -d dummy`` under a unique name, stopped on exit.

    ``synchronous`` adds ``-S``, which the environment check found gave the fewest xruns; here, with two busy
    loops for 5 s, it made no difference (6 xruns either way). Under ``-S`` PortAudio reports 0 s latency;
    use ``synchronous=False`` to see one period. Use as a context manager::

        with DummyJackServer() as server:
            server.apply_env()           # this process's clients (and PortAudio) now use it
            ...
            server.xruns                 # "XRun" lines jackd has logged so far
    """

    def __init__(
        self, name: str | None = None, sample_rate: int = 48000, block_frames: int = 256, *, synchronous: bool = True,
        realtime: bool = False,
    ) -> None:
        self.name = name or f"groovebox-test-{os.getpid()}-{next(_server_numbers)}"
        self.sample_rate = sample_rate
        self.block_frames = block_frames
        self.synchronous = synchronous
        self.realtime = realtime      # SCHED_FIFO threads (server and clients), as on a performer's machine
        self.env = {"JACK_DEFAULT_SERVER": self.name, "JACK_NO_START_SERVER": "1"}
        self._process: subprocess.Popen | None = None
        self._log_lines: collections.deque[str] = collections.deque(maxlen=200)
        self._xruns = 0
        self._saved_env: dict[str, str | None] | None = None

    @property
    def xruns(self) -> int:
        """How many "XRun" lines jackd has printed since it started."""
        return self._xruns

    @property
    def log_tail(self) -> str:
        """The last lines jackd printed, for error messages."""
        return "\n".join(self._log_lines)

    def command(self) -> list[str]:
        """The jackd command line, wrapped in ``setpriv --pdeathsig TERM`` when available.

        The wrapper makes jackd exit with this process even if it crashes, so a dead test run cannot leak
        servers (jackd allows only a few at a time: "Too many servers already active"). The signal follows
        the *thread* that started jackd, so start the server from a thread that outlives it.
        """
        sync = ["-S"] if self.synchronous else []
        jackd = [
            "jackd", "-n", self.name, "--realtime" if self.realtime else "--no-realtime", *sync, "-d", "dummy",
            "-r", str(self.sample_rate), "-p", str(self.block_frames), "-C", "2", "-P", "2",
        ]
        if shutil.which("setpriv"):
            return ["setpriv", "--pdeathsig", "TERM", *jackd]
        return jackd

    def start(self) -> DummyJackServer:
        """Start jackd and wait until it accepts clients; JackServerError if it cannot."""
        for tool in ("jackd", "jack_wait"):
            if shutil.which(tool) is None:
                raise JackServerError(f"{tool} is not installed (apt-get install jackd2)")
        self._process = subprocess.Popen(
            self.command(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            text=True, errors="replace", env={**os.environ, "JACK_NO_AUDIO_RESERVATION": "1"},
        )
        threading.Thread(target=self._read_log, name=f"jackd-log-{self.name}", daemon=True).start()
        self._wait_until_ready()
        return self

    def _read_log(self) -> None:
        for line in self._process.stdout:
            self._log_lines.append(line.rstrip())
            if "XRun" in line:
                self._xruns += 1

    def _wait_until_ready(self) -> None:
        waited = subprocess.run(
            ["jack_wait", "-s", self.name, "-w", "-t", "5"],
            capture_output=True, text=True, env={**os.environ, **self.env},
        )
        if waited.returncode != 0 or self._process.poll() is not None:
            self.stop()
            raise JackServerError(f"jackd {self.name!r} did not start:\n{self.log_tail}")

    def apply_env(self) -> None:
        """Point this process's JACK clients (JACK-Client and PortAudio) at this server until ``stop()``."""
        if self._saved_env is None:
            self._saved_env = {key: os.environ.get(key) for key in _ENV_KEYS}
        os.environ.update(self.env)
        rescan_portaudio()

    def _restore_env(self) -> None:
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env = None
        rescan_portaudio()

    def stop(self) -> None:
        """Restore the env (if applied), detach PortAudio, then terminate jackd; safe to call twice."""
        if self._saved_env is not None:
            self._restore_env()
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def __enter__(self) -> DummyJackServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _open_client(name: str, server_env: dict[str, str]):
    jack = _import_jack()
    try:
        return jack.Client(name, no_start_server=True, servername=server_env.get("JACK_DEFAULT_SERVER"))
    except jack.JackOpenError as exc:
        raise JackServerError(f"cannot open JACK client {name!r}: {exc}") from exc


class JackRecorder:
    """A JACK client with two input ports that records up to ``max_seconds`` into memory.

    ``connect_from`` names the two source ports, e.g. ``["groovebox:out_1", "groovebox:out_2"]`` or
    ``client_output_ports("PortAudio", env)``; they must exist when ``start()`` runs. Recording begins at
    ``start()``; once the array is full, further input is dropped.
    """

    def __init__(self, server_env: dict[str, str], connect_from: list[str], max_seconds: float,
                 client_name: str = "recorder") -> None:
        self.server_env = server_env
        self.connect_from = list(connect_from)
        self.client_name = client_name
        self.max_seconds = max_seconds
        self._client = None
        self._inports: list = []
        self._buffer: np.ndarray | None = None
        self._written = 0

    @property
    def frames(self) -> np.ndarray:
        """What has been recorded so far: float32 ``(n, 2)`` (a view; copy it to keep it)."""
        return self._buffer[: self._written]

    @property
    def sample_rate(self) -> int:
        """The server's sample rate (after ``start()``)."""
        return self._client.samplerate

    def start(self) -> JackRecorder:
        """Open the client, connect the sources and start recording."""
        self._client = _open_client(self.client_name, self.server_env)
        self._buffer = np.zeros((int(self.max_seconds * self._client.samplerate), 2), dtype=np.float32)
        self._written = 0
        self._inports = [self._client.inports.register(f"in_{n}") for n in (1, 2)]
        self._client.set_process_callback(self._process)
        self._client.activate()
        try:
            for source, port in zip(self.connect_from, self._inports):
                self._client.connect(source, port)
        except _import_jack().JackError as exc:
            playing = [port.name for port in self._client.get_ports(is_output=True, is_audio=True)]
            self.stop()
            raise JackServerError(f"cannot record from {self.connect_from}: {exc}; output ports: {playing}") from exc
        return self

    def _process(self, frames: int) -> None:
        frames = min(frames, len(self._buffer) - self._written)
        rows = self._buffer[self._written : self._written + frames]
        for channel, port in enumerate(self._inports):
            rows[:, channel] = port.get_array()[:frames]
        self._written += frames

    def record(self, seconds: float) -> np.ndarray:
        """Sleep ``seconds`` while recording, then return a copy of everything recorded so far."""
        time.sleep(seconds)
        return self.frames.copy()

    def stop(self) -> None:
        """Disconnect and close the client; ``frames`` stays readable."""
        if self._client is not None:
            self._client.deactivate()
            self._client.close()
            self._client = None

    def __enter__(self) -> JackRecorder:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def client_output_ports(client_name: str, server_env: dict[str, str]) -> list[str]:
    """The audio output ports of ``client_name``, in registration order.

    PortAudio numbers its JACK ports per process (``PortAudio:out_0``/``out_1`` for the first stream,
    ``out_2``/``out_3`` for the next), so look them up rather than hard-coding them.
    """
    client = _open_client(f"{client_name}-lister", server_env)
    try:
        return [port.name for port in client.get_ports(f"^{re.escape(client_name)}:", is_output=True, is_audio=True)]
    finally:
        client.close()


def port_connections(port_name: str, server_env: dict[str, str]) -> list[str]:
    """Names of the ports connected to ``port_name`` (e.g. ``"groovebox:out_1"``)."""
    client = _open_client("connections-lister", server_env)
    try:
        return [port.name for port in client.get_all_connections(port_name)]
    finally:
        client.close()


def disconnect_from_system(client_name: str, server_env: dict[str, str]) -> None:
    """Disconnect every port of ``client_name`` from the ``system:`` ports.

    PortAudio auto-connects its streams to ``system:playback_*``/``system:capture_*``; a test that wires
    clients to each other can cut those links so only its own connections carry audio.
    """
    client = _open_client(f"{client_name}-unwire", server_env)
    try:
        for port in client.get_ports(f"^{re.escape(client_name)}:"):
            for other in client.get_all_connections(port):
                if other.name.startswith("system:"):
                    source, destination = (port, other) if port.is_output else (other, port)
                    client.disconnect(source, destination)
    finally:
        client.close()
