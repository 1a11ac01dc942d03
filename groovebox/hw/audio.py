"""Audio output backends: they call a renderer once per block and count what went wrong.

A renderer is ``render(out, frames) -> None``. ``out`` is float32, C-contiguous, shape ``(frames, 2)``
(48 kHz stereo), and the renderer must fill all of it. ``groovebox.engine.Engine.render`` is the real one.
Real-time backends call it in parts of at most ``GIL_SAFE_FRAMES`` (see there); the offline backend with
whole blocks. ``open_audio(..., ahead_blocks=N)`` gives PortAudio with a C callback and a render-ahead ring
(``audio_ring``).

A backend opened with ``input=True`` also records: each callback first hands the input block (float32,
``(frames, 2)``; a mono input is copied to both channels) to ``capture(inp, frames)``
(``Engine.capture``), then renders. ``has_input`` says whether it got an input; ``round_trip_frames`` is
the input plus output latency when the backend knows it (PortAudio does; JACK-Client exposes no port
latencies, so the JACK backend says None and ``audio.record_latency_frames`` must give it).

Threads:

- ``PortAudioBackend``: the renderer runs on PortAudio's callback thread (the JACK process thread when
  PortAudio plays through JACK).
- ``JackBackend``: the renderer runs on the JACK process thread; xruns are counted on JACK's
  notification thread.
- ``RingPortAudioBackend`` (``audio_ring``): the renderer runs on a render thread; the callback is C.
- ``NullBackend``: the renderer runs on a daemon thread of its own, clocked by ``time.monotonic()``.
- ``OfflineBackend``: the renderer runs on the caller's thread, as fast as it can.
- ``open_audio``, ``list_audio_devices``, ``rescan_portaudio`` and every ``start``/``stop``: the control
  thread.

Every callback obeys sounddevice's rule ("if an exception is raised in the callback, it will not be called
again"): it catches ``Exception`` from the renderer, outputs silence and counts a fault. Callbacks never log
or allocate beyond a few floats; the control thread reads ``stats`` and does the reporting.

sounddevice is imported lazily, and only after ``JACK_NO_START_SERVER=1`` is set, so that PortAudio's JACK
host API never auto-starts a jackd. PortAudio scans its devices (and connects to the JACK server named by
``JACK_DEFAULT_SERVER``) once, when sounddevice is imported; ``rescan_portaudio()`` makes it look again.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable

import numpy as np

__all__ = [
    "BACKEND_KINDS",
    "AudioBackend",
    "AudioError",
    "AudioStats",
    "JackBackend",
    "NullBackend",
    "OfflineBackend",
    "PortAudioBackend",
    "Renderer",
    "list_audio_devices",
    "open_audio",
    "rescan_portaudio",
]

log = logging.getLogger(__name__)

Renderer = Callable[[np.ndarray, int], None]
Capture = Callable[[np.ndarray, int], None]
BACKEND_KINDS = ("auto", "portaudio", "jack", "null", "offline")


_STOP_TIMEOUT_S = 3.0
# NumPy lets go of the GIL inside a call on more than 500 elements. Mid-render, another thread then takes it, and
# getting it back costs up to the switch interval (1 ms) each time: measured here, 16 voices at 256 frames
# rendered in 12 ms instead of 0.3 ms beside one busy Python thread. Stereo blocks of 128 frames (256 elements)
# keep it (0.26 ms), so backends hand the engine at most this many frames at a time.
GIL_SAFE_FRAMES = 128


class AudioError(RuntimeError):
    """An audio backend could not be opened or started; the message says why."""


class AudioStats:
    """Counters written by the audio thread and read by the control thread.

    ``callbacks``, ``underruns`` (PortAudio output underflows, JACK xruns, late null blocks) and ``faults``
    (exceptions raised by the renderer) only ever grow. The DSP load of each callback (render time divided
    by block duration, 1.0 = the whole budget) goes into a preallocated ring of ``history`` entries.
    """

    def __init__(self, history: int = 8192) -> None:
        self.callbacks = 0
        self.underruns = 0
        self.faults = 0
        self.frames_total = 0          # frames rendered so far
        self.callback_s = 0.0          # time.monotonic() when the device reaches the latest rendered block ...
        self.callback_frame = 0        # ... and how many frames had been rendered before it
        self._loads = np.zeros(history, dtype=np.float64)

    def record_callback(self, render_s: float, block_s: float) -> None:
        """Count one callback and store its DSP load; audio thread, allocation-free."""
        self._loads[self.callbacks % len(self._loads)] = render_s / block_s
        self.callbacks += 1

    def dsp_load_percentile(self, q: float) -> float:
        """The ``q``-th percentile (0-100) of the stored DSP loads; 0.0 before the first callback."""
        loads = self._stored_loads()
        return float(np.percentile(loads, q)) if len(loads) else 0.0

    def recent_dsp_load(self, blocks: int = 64) -> float:
        """Mean DSP load of the last ``blocks`` callbacks (64 blocks of 256 frames is about 0.34 s)."""
        loads = self.recent_loads(blocks)
        return float(loads.mean()) if len(loads) else 0.0

    def recent_loads(self, blocks: int) -> np.ndarray:
        """The DSP loads of the last ``blocks`` callbacks (at most ``history``), oldest first; a copy."""
        count = min(blocks, self.callbacks, len(self._loads))
        last = self.callbacks % len(self._loads)
        return self._loads[np.arange(last - count, last) % len(self._loads)]

    def _stored_loads(self) -> np.ndarray:
        return self._loads[: min(self.callbacks, len(self._loads))].copy()


class AudioBackend(ABC):
    """An audio output that calls a renderer once per block.

    Use it as a context manager so ``stop()`` always runs::

        with open_audio("auto") as audio:
            audio.start(engine.render)
            ...
    """

    name = "abstract"
    part_frames: int | None = GIL_SAFE_FRAMES     # the most frames per renderer call (None: the whole block)

    def __init__(self, sample_rate: int = 48000, block_frames: int = 256) -> None:
        self.sample_rate = sample_rate
        self.block_frames = block_frames
        self.stats = AudioStats()
        self.running = False
        self.has_input = False
        self.capture: Capture | None = None

    @property
    def latency_s(self) -> float | None:
        """Output latency in seconds, when the backend knows it."""
        return None

    @property
    def round_trip_frames(self) -> int | None:
        """Input plus output latency of the device in frames, when the backend knows it."""
        return None

    @property
    def ahead_frames(self) -> int:
        """Frames rendered ahead of the device (a render-ahead ring); the input reaches ``capture`` this much
        later than it would in a callback, so a recording adds it to the round trip."""
        return 0

    def start(self, render: Renderer, capture: Capture | None = None) -> None:
        """Start calling ``render`` once per block (and ``capture`` with the input first, when this backend
        has one); raises ``AudioError`` when the output cannot open."""
        if self.running:
            raise AudioError(f"{self.name} audio is already running")
        self.capture = capture
        self._start(render)
        self.running = True

    def stop(self) -> None:
        """Stop calling the renderer; safe to call twice."""
        if self.running:
            self._stop()
            self.running = False

    def __enter__(self) -> AudioBackend:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _process_safely(self, render: Renderer, out: np.ndarray, frames: int, inp: np.ndarray | None = None,
                        starts_in_s: float = 0.0) -> None:
        """Capture ``inp`` (when given) and render one block on the audio thread, in parts of at most
        ``part_frames``; never raises (silence and a fault count instead).

        ``starts_in_s``: how long until the device reaches this block (frames queued ahead of it)."""
        started_s = time.perf_counter()
        self.stats.callback_s = time.monotonic() + starts_in_s  # the same clock in every process (MIDI sync)
        self.stats.callback_frame = self.stats.frames_total
        step = self.part_frames or frames
        for first in range(0, frames, step):
            last = min(first + step, frames)
            if inp is not None:
                self._capture_safely(inp[first:last], last - first)
            self._render_part(render, out[first:last], last - first)
        self.stats.frames_total += frames
        self.stats.record_callback(time.perf_counter() - started_s, frames / self.sample_rate)

    def _capture_safely(self, inp: np.ndarray, frames: int) -> None:
        try:
            self.capture(inp, frames)
        except Exception:
            self.stats.faults += 1

    def _render_part(self, render: Renderer, out: np.ndarray, frames: int) -> None:
        try:
            render(out, frames)
        except Exception:
            out.fill(0.0)
            self.stats.faults += 1

    @abstractmethod
    def _start(self, render: Renderer) -> None: ...

    @abstractmethod
    def _stop(self) -> None: ...


# --- PortAudio (sounddevice) ---------------------------------------------------------------------------


def _import_sounddevice():
    """Import sounddevice without ever letting PortAudio start a JACK server; AudioError if unavailable."""
    os.environ.setdefault("JACK_NO_START_SERVER", "1")
    try:
        import sounddevice
    except OSError as exc:  # sounddevice raises OSError when libportaudio2 is missing
        raise AudioError(f"PortAudio is not available ({exc}); install libportaudio2") from exc
    return sounddevice


def rescan_portaudio() -> None:
    """Re-initialise PortAudio so it sees the current devices and ``JACK_DEFAULT_SERVER``.

    Control thread only, and only while no PortAudio stream is open (PortAudio closes them). Call it before
    stopping a JACK server that PortAudio is connected to: PortAudio aborts the process (an assertion in
    ``pa_jack.c``) if it terminates after its server has gone. Does nothing if sounddevice was never
    imported, since the first import scans anyway.
    """
    if "sounddevice" not in sys.modules:
        return
    sd = _import_sounddevice()
    while sd._initialized:
        sd._terminate()
    sd._initialize()


def _device_arg(device: str | int | None) -> str | int | None:
    """A device given as digits on the command line means an index."""
    if isinstance(device, str) and device.isdigit():
        return int(device)
    return device


class PortAudioBackend(AudioBackend):
    """Plays through a sounddevice ``OutputStream`` (any PortAudio device, including JACK and PipeWire).

    ``device`` is a PortAudio device index or (part of) a name; None means the default output.
    """

    name = "portaudio"

    def __init__(self, sample_rate: int = 48000, block_frames: int = 256, device: str | int | None = None,
                 input: bool = False) -> None:
        super().__init__(sample_rate, block_frames)
        self.device = _device_arg(device)
        self.want_input = input
        self._stream = None
        self._render: Renderer | None = None
        self._input = np.zeros((max(block_frames, 4096), 2), np.float32)

    @property
    def latency_s(self) -> float | None:
        """The stream's output latency as PortAudio reports it (None until started)."""
        if self._stream is None:
            return None
        latency = self._stream.latency
        return float(latency[1] if self.has_input else latency)

    @property
    def round_trip_frames(self) -> int | None:
        if self._stream is None or not self.has_input:
            return None
        return round(sum(self._stream.latency) * self.sample_rate)

    def _start(self, render: Renderer) -> None:
        sd = _import_sounddevice()
        self._render = render
        input_channels = _input_channels(sd, self.device) if self.want_input and self.capture else 0
        try:
            self._stream = self._open_stream(sd, input_channels)
            self._stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            self._close_stream()
            raise AudioError(f"cannot open PortAudio output {self.device!r} at {self.sample_rate} Hz: {exc}") from exc

    def _open_stream(self, sd, input_channels: int):
        options = {"samplerate": self.sample_rate, "blocksize": self.block_frames, "device": self.device,
                   "dtype": "float32", "latency": "low"}
        if input_channels:
            try:
                stream = sd.Stream(channels=(input_channels, 2), callback=self._duplex_callback, **options)
                self.has_input = True
                return stream
            except (sd.PortAudioError, ValueError) as exc:
                log.warning("no audio input on %r (%s): playing without recording", self.device, exc)
        self.has_input = False
        return sd.OutputStream(channels=2, callback=self._callback, **options)

    def _callback(self, outdata: np.ndarray, frames: int, time_info: object, status) -> None:
        if status.output_underflow:
            self.stats.underruns += 1
        self._process_safely(self._render, outdata, frames)

    def _duplex_callback(self, indata: np.ndarray, outdata: np.ndarray, frames: int, time_info: object,
                         status) -> None:
        if status.output_underflow:
            self.stats.underruns += 1
        block = None
        if frames <= len(self._input):
            block = self._input[:frames]
            block[:] = indata[:, :2] if indata.shape[1] >= 2 else indata[:, :1]
        self._process_safely(self._render, outdata, frames, block)

    def _stop(self) -> None:
        self._close_stream()

    def _close_stream(self) -> None:
        """Stop and close the stream; give up after ``_STOP_TIMEOUT_S`` so shutdown never hangs.

        PortAudio's JACK host waits for one more process callback to acknowledge a stop; if the JACK graph has
        stalled (seen here when another client died abruptly), that callback never comes.
        """
        if self._stream is None:
            return
        stream, self._stream = self._stream, None
        closer = threading.Thread(target=lambda: (stream.stop(), stream.close()), name="groovebox-audio-close",
                                  daemon=True)
        closer.start()
        closer.join(_STOP_TIMEOUT_S)
        if closer.is_alive():
            log.warning("the audio stream did not stop within %.0f s; leaving it", _STOP_TIMEOUT_S)


def _input_channels(sd, device: str | int | None) -> int:
    """How many input channels (0-2) to record from ``device`` (None = the default input)."""
    try:
        info = sd.query_devices(_device_arg(device), kind="input")
    except (sd.PortAudioError, ValueError):
        return 0
    return min(2, int(info["max_input_channels"]))


def _output_device_problem(sd, device: str | int | None) -> str | None:
    """Why PortAudio has no usable output ``device`` (None = the default), or None if it has one."""
    try:
        sd.query_devices(_device_arg(device), kind="output")
    except (sd.PortAudioError, ValueError) as exc:
        return f"no PortAudio output device ({exc})"
    return None


def list_audio_devices() -> list[dict]:
    """PortAudio devices that can play, for ``groovebox devices``; empty when PortAudio is absent.

    Each entry: ``name``, ``index``, ``host_api``, ``max_output_channels``, ``default_samplerate``,
    ``is_default``.
    """
    try:
        sd = _import_sounddevice()
    except AudioError:
        return []
    host_apis = sd.query_hostapis()
    default_index = sd.default.device[1]
    return [
        {
            "name": info["name"],
            "index": info["index"],
            "host_api": host_apis[info["hostapi"]]["name"],
            "max_output_channels": info["max_output_channels"],
            "default_samplerate": info["default_samplerate"],
            "is_default": info["index"] == default_index,
        }
        for info in sd.query_devices()
        if info["max_output_channels"] > 0
    ]


# --- JACK (JACK-Client) --------------------------------------------------------------------------------


def _import_jack():
    """Import JACK-Client without ever letting libjack start a server; AudioError if libjack is missing."""
    os.environ.setdefault("JACK_NO_START_SERVER", "1")
    try:
        import jack
    except OSError as exc:  # JACK-Client raises OSError when libjack is missing
        raise AudioError(f"libjack is not available ({exc}); install libjack-jackd2-0") from exc
    return jack


class JackBackend(AudioBackend):
    """A JACK client with ports ``out_1``/``out_2``, optionally connected to the physical playback ports.

    ``server_name`` picks the JACK server (None: ``JACK_DEFAULT_SERVER`` or "default"). The server's sample
    rate must equal ``sample_rate``; its block size wins over ``block_frames`` (read ``block_frames`` after
    ``start``). JACK-Client exposes no port latency, so ``latency_s`` stays None.
    """

    name = "jack"

    def __init__(
        self, sample_rate: int = 48000, block_frames: int = 256, *, client_name: str = "groovebox",
        server_name: str | None = None, autoconnect: bool = True, input: bool = False,
    ) -> None:
        super().__init__(sample_rate, block_frames)
        self.client_name = client_name
        self.server_name = server_name
        self.autoconnect = autoconnect
        self.want_input = input
        self._client = None
        self._ports: list = []
        self._inports: list = []
        self._buffer = np.zeros((block_frames, 2), dtype=np.float32)
        self._input = np.zeros((block_frames, 2), dtype=np.float32)
        self._render: Renderer | None = None

    def _start(self, render: Renderer) -> None:
        jack = _import_jack()
        self._render = render
        self._client = self._open_client(jack)
        try:
            self._set_up_client()
        except AudioError:
            self._stop()
            raise
        except jack.JackError as exc:
            self._stop()
            raise AudioError(f"cannot set up JACK client {self.client_name!r}: {exc}") from exc

    def _set_up_client(self) -> None:
        self._check_sample_rate()
        self._prepare(self._client.blocksize)
        self._ports = [self._client.outports.register(f"out_{n}") for n in (1, 2)]
        if self.want_input and self.capture is not None:
            self._inports = [self._client.inports.register(f"in_{n}") for n in (1, 2)]
            self.has_input = True
        self._client.set_process_callback(self._process)
        self._client.set_blocksize_callback(self._prepare)
        self._client.set_xrun_callback(self._xrun)
        self._client.activate()
        if self.autoconnect:
            self._connect_playback()
            self._connect_capture()

    def _open_client(self, jack):
        try:
            return jack.Client(self.client_name, no_start_server=True, servername=self.server_name)
        except jack.JackOpenError as exc:
            server = self.server_name or os.environ.get("JACK_DEFAULT_SERVER", "default")
            raise AudioError(f"no JACK server running (server {server!r}): {exc}") from exc

    def _check_sample_rate(self) -> None:
        if self._client.samplerate != self.sample_rate:
            raise AudioError(
                f"JACK server runs at {self._client.samplerate} Hz but groovebox needs {self.sample_rate} Hz; "
                f"restart jackd with -r {self.sample_rate}"
            )

    def _prepare(self, block_frames: int) -> None:
        """Adopt the server's block size; JACK calls this with processing suspended, so it may allocate."""
        self.block_frames = block_frames
        self._buffer = np.zeros((block_frames, 2), dtype=np.float32)
        self._input = np.zeros((block_frames, 2), dtype=np.float32)

    def _connect_playback(self) -> None:
        playback = self._client.get_ports(is_physical=True, is_input=True, is_audio=True)
        if not playback:
            log.warning("JACK server has no physical playback ports; connect %s:out_1/2 yourself", self.client_name)
            return
        for port, destination in zip(self._ports, playback * 2):
            port.connect(destination)

    def _connect_capture(self) -> None:
        if not self._inports:
            return
        capture = self._client.get_ports(is_physical=True, is_output=True, is_audio=True)
        for port, source in zip(self._inports, capture * 2):
            port.connect(source)

    def _process(self, frames: int) -> None:
        if self._inports:
            inp = self._input[:frames]
            inp[:, 0] = self._inports[0].get_array()
            inp[:, 1] = self._inports[1].get_array()
        else:
            inp = None
        out = self._buffer[:frames]
        self._process_safely(self._render, out, frames, inp)
        left, right = self._ports
        np.copyto(left.get_array(), out[:, 0])
        np.copyto(right.get_array(), out[:, 1])

    def _xrun(self, delayed_usecs: float) -> None:
        self.stats.underruns += 1

    def _stop(self) -> None:
        if self._client is not None:
            self._client.deactivate()
            self._client.close()
            self._client = None
            self._ports = []
            self._inports = []


# --- Null (silent, real-time clocked) and offline ------------------------------------------------------


class NullBackend(AudioBackend):
    """Plays nothing but calls the renderer in real time, from a daemon thread.

    Deadlines are absolute (start time + n blocks), so timing errors never accumulate. When the thread
    falls more than one block behind, it counts an underrun and restarts its clock from now.
    """

    name = "null"

    def __init__(self, sample_rate: int = 48000, block_frames: int = 256) -> None:
        super().__init__(sample_rate, block_frames)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def _start(self, render: Renderer) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, args=(render,), name="groovebox-null-audio", daemon=True)
        self._thread.start()

    def _run(self, render: Renderer) -> None:
        out = np.zeros((self.block_frames, 2), dtype=np.float32)
        block_s = self.block_frames / self.sample_rate
        start_s, blocks = time.monotonic(), 0
        while not self._stopping.is_set():
            self._process_safely(render, out, self.block_frames)
            blocks += 1
            late_s = time.monotonic() - (start_s + blocks * block_s)
            if late_s > block_s:
                self.stats.underruns += 1
                start_s, blocks = time.monotonic(), 0
            elif late_s < 0:
                self._stopping.wait(-late_s)

    def _stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=1.0)
        self._thread = None


class OfflineBackend(AudioBackend):
    """Renders into memory as fast as possible, for export and tests; it has no clock, so no ``start``."""

    name = "offline"
    part_frames = None          # no other thread waits on an export: whole blocks, fewer calls

    def render_to_array(self, render: Renderer, total_frames: int) -> np.ndarray:
        """Render ``total_frames`` in blocks of ``block_frames`` (the last one partial).

        Returns float32 ``(total_frames, 2)``; each block is a C-contiguous row slice of that array.
        """
        out = np.zeros((total_frames, 2), dtype=np.float32)
        for first in range(0, total_frames, self.block_frames):
            frames = min(self.block_frames, total_frames - first)
            self._process_safely(render, out[first : first + frames], frames)
        return out

    def _start(self, render: Renderer) -> None:
        raise AudioError("the offline backend has no clock: use render_to_array(), or 'null' for silent real time")

    def _stop(self) -> None:
        """Nothing runs in the background."""


# --- choosing a backend --------------------------------------------------------------------------------


def open_audio(
    kind: str, *, sample_rate: int = 48000, block_frames: int = 256, device: str | None = None,
    client_name: str = "groovebox", autoconnect: bool = True, input: bool = False, ahead_blocks: int = 0,
) -> AudioBackend:
    """Build (but do not start) the backend ``kind``: auto, portaudio, jack, null or offline.

    ``auto`` picks PortAudio when it is installed and has an output device, otherwise it logs a warning
    saying why and returns a ``NullBackend``. For ``jack``, ``device`` names the JACK server. Explicit kinds
    raise ``AudioError`` with the reason when they cannot work. With ``ahead_blocks`` >= 1, PortAudio plays
    through a C callback from a ring the engine fills that many blocks ahead (``audio_ring``).
    """
    if kind == "auto":
        return _open_auto(sample_rate, block_frames, device, input, ahead_blocks)
    if kind == "portaudio":
        problem = _output_device_problem(_import_sounddevice(), device)
        if problem:
            raise AudioError(problem)
        return _portaudio(sample_rate, block_frames, device, input, ahead_blocks)
    if kind == "jack":
        return JackBackend(
            sample_rate, block_frames, client_name=client_name, server_name=device, autoconnect=autoconnect,
            input=input,
        )
    if kind == "null":
        return NullBackend(sample_rate, block_frames)
    if kind == "offline":
        return OfflineBackend(sample_rate, block_frames)
    raise AudioError(f"unknown audio backend {kind!r}; choose one of {', '.join(BACKEND_KINDS)}")


def _open_auto(sample_rate: int, block_frames: int, device: str | None, input: bool,
               ahead_blocks: int) -> AudioBackend:
    try:
        problem = _output_device_problem(_import_sounddevice(), device)
    except AudioError as exc:
        problem = str(exc)
    if problem:
        log.warning("%s; using the silent null audio backend", problem)
        return NullBackend(sample_rate, block_frames)
    return _portaudio(sample_rate, block_frames, device, input, ahead_blocks)


def _portaudio(sample_rate: int, block_frames: int, device: str | None, input: bool,
               ahead_blocks: int) -> PortAudioBackend:
    """The ring backend when ``ahead_blocks`` asks for it and rtmixer loads, else the Python callback."""
    if ahead_blocks:
        from groovebox.hw.audio_ring import RingPortAudioBackend, rtmixer_problem

        problem = rtmixer_problem()
        if problem is None:
            return RingPortAudioBackend(sample_rate, block_frames, device, input, ahead_blocks)
        log.warning("%s; the audio callback runs in Python instead", problem)
    return PortAudioBackend(sample_rate, block_frames, device, input)
