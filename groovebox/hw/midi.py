"""MIDI ports: list them, open them, and notice devices coming and going (the only module that opens MIDI ports).

``MidiPorts(api)`` lists the ports of other programs and devices, opens an input (messages go to a callback)
or an output (``send(msg)`` that never raises), and ``PortWatcher`` polls the names so a controller can be
plugged in and out while the daemon runs. Messages are ``mido.Message`` objects.

Threads:

- ``MidiPorts`` methods and ``open_*``/``close`` run on the caller's thread (the control thread).
- Input callbacks run on one reader thread per ``MidiPorts`` ("groovebox-midi-in"), never on the rtmidi/JACK
  thread (see below). A callback should hand the message to the control loop and return.
- ``MidiOutput.send`` may be called from any thread (a lock serialises senders, e.g. the clock and the
  control thread).
- ``PortWatcher``'s ``on_change`` runs on the watcher thread ("groovebox-midi-watch").

Why python-rtmidi directly rather than mido's rtmidi backend (checked here, python-rtmidi 1.5.8, mido 1.3.3,
jackd2 1.9.21):

- mido can only name the client of a *virtual* port (``client_name`` implies ``virtual=True``), so ports it
  opens belong to clients called "RtMidiIn Client"/"RtMidiOut Client". We name ours ``CLIENT_NAME``
  ("groovebox") so they can be told apart from devices and left out of the listings.
- ``mido.get_input_names()`` creates and deletes a new rtmidi client on every call; python-rtmidi#61 saw
  ALSA fail after enough of those. We keep one enumeration client pair for the life of ``MidiPorts``.
- Closing an input whose Python callback is running (or waiting for the GIL) on the JACK process thread
  deadlocks: ``delete()`` holds the GIL while ``jack_client_close`` waits for the process thread, which
  waits for the GIL. Seen here with mido's own ``Input.close()`` under a stream of messages. We never
  install an rtmidi callback: rtmidi queues incoming messages in C++ and our reader thread polls the queue
  every ``reader_poll_s`` (1 ms). The JACK process thread then never needs the GIL, so it cannot stall
  the JACK graph (and the audio in it) when Python is busy; the cost is up to ~1 ms extra latency.
- SysEx and clock are un-ignored as in mido (``ignore_types(sysex=False, timing=False, active_sense=True)``).

Port names (what ``input_names()``/``output_names()`` return, and what ``open_*`` accept):

- JACK: ``"client:port"``. RtMidi gives every ``MidiIn``/``MidiOut`` object its own JACK client, made when
  the object is constructed, with one port. A program with several ports therefore has several clients, and
  JACK renames each client after the first with the same name ``name-01``, ``name-02``... in creation
  order. A device emulated with python-rtmidi's ``open_virtual_port("X")`` on a client "Dev" shows up as
  ``"Dev:X"`` (its MidiOut, in our *input* list) and ``"Dev-01:X"`` (its MidiIn, in our *output* list).
  Our own clients are "groovebox", "groovebox-01", ... (two for enumeration, one per opened port); the
  local port we register is named after the remote port. Match devices by regex on the port part, never
  on the client suffix. A port name can appear in both lists only if it has the same client.
- ALSA: ``"client:port client_id:port_id"``, e.g. ``"APC MINI:APC MINI MIDI 1 20:0"``; the numbers change
  on replug. ``open_*`` also accepts a name whose ``" 20:0"`` differs or is missing.
- Real devices are named by the kernel (``"<card> <USB jack name>"`` cut to 31 characters on current
  kernels, ``"<card> MIDI <n>"`` on older ones); see ``hw-mocks/virtual_controller.py`` for examples.

Malformed input: bytes that are no valid message are counted in ``MidiInput.dropped``. Under JACK, RtMidi
joins a SysEx that lacks its F7 with every following event until one ends in F7 (seen here: ``F0 01 02``,
``90 24 64``, ``F0 7D F7`` arrive as one 9-byte "message"), so a truncated SysEx costs the messages after
it, not only itself.

Errors: a device that vanishes is not an error at the rtmidi level under JACK (the connection just goes);
``send`` counts anything rtmidi raises in ``errors`` and returns. Under JACK, if no server is running,
``MidiPorts()`` raises ``MidiError``. The watcher is how the daemon learns that a device left.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable

import mido
import rtmidi

__all__ = [
    "API_KINDS",
    "CLIENT_NAME",
    "MidiError",
    "MidiInput",
    "MidiOutput",
    "MidiPorts",
    "PortWatcher",
    "resolve_api",
    "strip_alsa_address",
]

log = logging.getLogger(__name__)

CLIENT_NAME = "groovebox"
API_KINDS = ("auto", "jack", "alsa")
_RTMIDI_APIS = {"jack": rtmidi.API_UNIX_JACK, "alsa": rtmidi.API_LINUX_ALSA}
_ALSA_ADDRESS = re.compile(r" \d+:\d+$")
_OWN_PORT = re.compile(rf"^{re.escape(CLIENT_NAME)}(-\d+)?:")
_INPUT_QUEUE = 4096          # messages rtmidi buffers per input between two reader polls
_DRAIN_BATCH = 256           # messages taken from one input before looking at the next


class MidiError(OSError):
    """A MIDI API or port could not be opened; the message says which and why."""


def resolve_api(api: str = "auto") -> str:
    """``"jack"`` or ``"alsa"``; ``"auto"`` is ALSA when the sequencer device exists, else JACK."""
    if api not in API_KINDS:
        raise ValueError(f"unknown MIDI api {api!r}; choose one of {API_KINDS}")
    if api == "auto":
        return "alsa" if os.path.exists("/dev/snd/seq") else "jack"
    return api


def strip_alsa_address(name: str) -> str:
    """``"APC MINI:APC MINI MIDI 1 20:0"`` -> ``"APC MINI:APC MINI MIDI 1"``; JACK names are returned as is."""
    return _ALSA_ADDRESS.sub("", name)


def _local_port_name(remote: str) -> str:
    port = strip_alsa_address(remote).split(":", 1)[-1].strip() or "port"
    return port.replace(":", "_")[:60]


class MidiInput:
    """An open input port; messages go to ``callback(msg)`` on the reader thread.

    ``received`` counts delivered messages, ``dropped`` counts byte strings that were not a valid MIDI
    message (e.g. a truncated SysEx), ``errors`` counts exceptions raised by the callback.
    """

    def __init__(self, name: str, rt: rtmidi.MidiIn, callback: Callable[[mido.Message], None],
                 on_close: Callable[[MidiInput], None]) -> None:
        self.name = name
        self.callback = callback
        self.received = 0
        self.dropped = 0
        self.errors = 0
        self._rt: rtmidi.MidiIn | None = rt
        self._lock = threading.Lock()
        self._on_close = on_close

    @property
    def closed(self) -> bool:
        return self._rt is None

    def close(self) -> None:
        """Close the port and its JACK/ALSA client; safe to call twice and from the callback."""
        with self._lock:
            rt, self._rt = self._rt, None
        if rt is not None:
            self._on_close(self)
            rt.close_port()
            rt.delete()

    def _drain(self) -> bool:
        """Deliver what rtmidi has queued; True if it read anything."""
        with self._lock:
            if self._rt is None:
                return False
            batch = []
            for _ in range(_DRAIN_BATCH):
                event = self._rt.get_message()
                if event is None:
                    break
                batch.append(event[0])
        for data in batch:
            self._deliver(data)
        return bool(batch)

    def _deliver(self, data: list[int]) -> None:
        try:
            msg = mido.Message.from_bytes(data)
        except ValueError:
            self.dropped += 1
            return
        try:
            self.callback(msg)
        except Exception:    # a faulty handler must not stop the reader thread for every other port
            self.errors += 1
            if self.errors == 1:
                log.exception("MIDI input callback for %r failed (counting further failures)", self.name)
            return
        self.received += 1


class MidiOutput:
    """An open output port. ``send`` never raises for a vanished device or a closed port: it counts ``errors``."""

    def __init__(self, name: str, rt: rtmidi.MidiOut, on_close: Callable[[MidiOutput], None]) -> None:
        self.name = name
        self.sent = 0
        self.errors = 0
        self._rt: rtmidi.MidiOut | None = rt
        self._lock = threading.Lock()
        self._on_close = on_close

    @property
    def closed(self) -> bool:
        return self._rt is None

    def send(self, msg: mido.Message) -> None:
        """Send one message; thread-safe; returns without raising if the port is gone or closed."""
        data = msg.bytes()
        with self._lock:
            if self._rt is None:
                self.errors += 1
                return
            try:
                self._rt.send_message(data)
            except (rtmidi.RtMidiError, RuntimeError, ValueError):
                self.errors += 1
                return
            self.sent += 1

    def close(self) -> None:
        """Close the port and its client; safe to call twice."""
        with self._lock:
            rt, self._rt = self._rt, None
        if rt is not None:
            self._on_close(self)
            rt.close_port()
            rt.delete()


class MidiPorts:
    """The MIDI ports of one API: list other programs' and devices' ports, open them.

    ``api``: "jack", "alsa" or "auto" (ALSA when /dev/snd/seq exists, else JACK). Under JACK the server
    named by ``JACK_DEFAULT_SERVER`` is used; set ``JACK_NO_START_SERVER=1`` so none is started. Holds one
    long-lived enumeration client pair; ``close()`` (or ``with``) closes it and every port it opened.
    """

    def __init__(self, api: str = "auto", *, reader_poll_s: float = 0.001) -> None:
        self.api = resolve_api(api)
        self.reader_poll_s = reader_poll_s
        self._lock = threading.Lock()          # enumeration clients and the handle lists
        self._inputs: tuple[MidiInput, ...] = ()
        self._outputs: list[MidiOutput] = []
        self._reader: threading.Thread | None = None
        self._stop = threading.Event()
        self._enum_in = self._client(rtmidi.MidiIn)
        try:
            self._enum_out = self._client(rtmidi.MidiOut)
        except MidiError:
            self._enum_in.delete()
            raise

    def _client(self, kind, **kwargs):
        try:
            return kind(_RTMIDI_APIS[self.api], name=CLIENT_NAME, **kwargs)
        except rtmidi.RtMidiError as exc:
            hint = " (is the JACK server running? JACK_DEFAULT_SERVER?)" if self.api == "jack" else ""
            raise MidiError(f"cannot open a {self.api} MIDI client: {exc}{hint}") from exc

    def input_names(self) -> list[str]:
        """Ports we can receive from (devices' outputs), in the API's order, without our own."""
        with self._lock:
            names = self._enum_in.get_ports()
        return [name for name in names if not _OWN_PORT.match(name)]

    def output_names(self) -> list[str]:
        """Ports we can send to (devices' inputs), in the API's order, without our own."""
        with self._lock:
            names = self._enum_out.get_ports()
        return [name for name in names if not _OWN_PORT.match(name)]

    def open_input(self, name: str, callback: Callable[[mido.Message], None]) -> MidiInput:
        """Connect to the port ``name`` (from ``input_names()``); MidiError if it is not there."""
        rt = self._client(rtmidi.MidiIn, queue_size_limit=_INPUT_QUEUE)
        try:
            rt.ignore_types(sysex=False, timing=False, active_sense=True)
            opened = self._open(rt, name, "input")
        except BaseException:
            rt.delete()
            raise
        handle = MidiInput(opened, rt, callback, self._forget)
        with self._lock:
            self._inputs += (handle,)
            self._start_reader()
        return handle

    def open_output(self, name: str) -> MidiOutput:
        """Connect to the port ``name`` (from ``output_names()``); MidiError if it is not there."""
        rt = self._client(rtmidi.MidiOut)
        try:
            opened = self._open(rt, name, "output")
        except BaseException:
            rt.delete()
            raise
        handle = MidiOutput(opened, rt, self._forget)
        with self._lock:
            self._outputs.append(handle)
        return handle

    @staticmethod
    def _open(rt, wanted: str, direction: str) -> str:
        names = rt.get_ports()
        candidates = [i for i, n in enumerate(names) if not _OWN_PORT.match(n)]
        index = next((i for i in candidates if names[i] == wanted), None)
        if index is None:      # ALSA: the client:port numbers change on replug
            bare = strip_alsa_address(wanted)
            index = next((i for i in candidates if strip_alsa_address(names[i]) == bare), None)
        if index is None:
            raise MidiError(f"no MIDI {direction} port {wanted!r}; present: {[names[i] for i in candidates]}")
        try:
            rt.open_port(index, _local_port_name(names[index]))
        except rtmidi.RtMidiError as exc:
            raise MidiError(f"cannot open MIDI {direction} port {names[index]!r}: {exc}") from exc
        # rtmidi opens by index and looks the name up again inside open_port: if a port came or went in
        # between, it may have connected to another one. Refuse rather than talk to the wrong device.
        if rt.get_port_name(index) != names[index]:
            rt.close_port()
            raise MidiError(f"MIDI ports changed while opening {names[index]!r}; try again")
        return names[index]

    def _forget(self, handle: MidiInput | MidiOutput) -> None:
        with self._lock:
            if isinstance(handle, MidiInput):
                self._inputs = tuple(h for h in self._inputs if h is not handle)
            elif handle in self._outputs:
                self._outputs.remove(handle)

    def _start_reader(self) -> None:
        if self._reader is None:
            self._reader = threading.Thread(target=self._read, name="groovebox-midi-in", daemon=True)
            self._reader.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            busy = False
            for handle in self._inputs:            # a tuple, swapped whole on open/close
                busy = handle._drain() or busy
            if not busy:
                self._stop.wait(self.reader_poll_s)

    def close(self) -> None:
        """Close every port opened here, stop the reader and release the enumeration clients."""
        with self._lock:
            handles = [*self._inputs, *self._outputs]
        for handle in handles:
            handle.close()
        self._stop.set()
        if self._reader is not None and self._reader is not threading.current_thread():
            self._reader.join(timeout=2)
        with self._lock:
            for rt in (self._enum_in, self._enum_out):
                if rt is not None:
                    rt.delete()
            self._enum_in = self._enum_out = None

    def __enter__(self) -> MidiPorts:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class PortWatcher:
    """Polls port names every ``poll_s`` on a daemon thread and reports what appeared and disappeared.

    ``on_change(appeared, disappeared)`` gets sets of names (inputs and outputs together) and runs on the
    watcher thread; it is called after the first poll even if nothing is present (everything present
    "appears"), then only when something changed. It uses ``ports``' single enumeration client pair,
    since clients created per poll eventually fail (python-rtmidi#61). ``errors`` counts failed polls
    and callback exceptions; the watcher keeps going.
    """

    def __init__(self, ports: MidiPorts, on_change: Callable[[set[str], set[str]], None],
                 poll_s: float = 0.5) -> None:
        self.ports = ports
        self.on_change = on_change
        self.poll_s = poll_s
        self.errors = 0
        self.present: set[str] = set()
        self._first = True
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll(self) -> tuple[set[str], set[str]]:
        """Look once (on the caller's thread), call ``on_change`` if needed, return (appeared, disappeared)."""
        now = set(self.ports.input_names()) | set(self.ports.output_names())
        appeared, disappeared = now - self.present, self.present - now
        self.present = now
        if appeared or disappeared or self._first:
            self._first = False
            self.on_change(appeared, disappeared)
        return appeared, disappeared

    def start(self) -> PortWatcher:
        """Start polling on a daemon thread (the first poll happens at once)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="groovebox-midi-watch", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
            except Exception:    # keep watching: a bad poll or handler must not end hot-plug support
                self.errors += 1
                if self.errors == 1:
                    log.exception("MIDI port watcher failed (counting further failures)")
            self._stop.wait(self.poll_s)

    def stop(self) -> None:
        """Stop polling and wait for the thread (unless called from ``on_change`` itself)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=max(2.0, 2 * self.poll_s))

    def __enter__(self) -> PortWatcher:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
