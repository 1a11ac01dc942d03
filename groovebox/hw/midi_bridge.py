"""MIDI in a child process: the daemon's view of MIDI ports, without rtmidi in the audio process.

Why a process: the python-rtmidi wheel carries its own libjack, and two libjack copies cannot both talk to
the server from one process (once PortAudio's client is open, rtmidi's fails with "JACK server not
running?"; making rtmidi use the system copy instead hung the JACK graph here). A child process also keeps
MIDI floods and the 1 ms input polling away from the audio callback's GIL.

``MidiBridge`` (daemon side) has the same surface as ``groovebox.hw.midi.MidiPorts``: ``input_names()``,
``output_names()``, ``open_input(name, callback)``, ``open_output(name)`` and ``watch(on_change)``; received
messages carry their arrival time (``time.monotonic()`` in the MIDI process) in ``message.time``. It talks
to ``python -m groovebox.hw.midi_bridge`` over pipes, one JSON object per line:

    child -> daemon   {"ports": {"inputs": [...], "outputs": [...]}}      at start and on every change
                      {"in": ID, "hex": "90 33 7F", "t": S}               a message on input ID, received at S (monotonic)
                      {"error": ID, "message": "..."}                     an open failed / a port went away
    daemon -> child   {"open_input": ID, "name": "..."} {"open_output": ID, "name": "..."}
                      {"send": ID, "hex": "..."} {"close": ID}

Threads: the child's stdout is read on a daemon thread of the bridge ("groovebox-midi-bridge"); input
callbacks and ``on_change`` run there and must hop to the control loop. ``send`` may be called from any
thread (writes are serialised) and never raises.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import math
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import mido

__all__ = ["MidiBridge", "BridgeInput", "BridgeOutput", "MidiBridgeError"]

log = logging.getLogger(__name__)

_READY_TIMEOUT_S = 10.0


class MidiBridgeError(OSError):
    """The MIDI child process could not start or has no MIDI API."""


class BridgeInput:
    """An input port opened through the bridge; ``callback(message)`` runs on the bridge's reader thread."""

    def __init__(self, bridge: MidiBridge, port_id: int, name: str, callback: Callable[[mido.Message], None]):
        self.bridge, self.id, self.name, self.callback = bridge, port_id, name, callback
        self.received = 0
        self.errors = 0
        self.closed = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.bridge._forget(self.id)


class BridgeOutput:
    """An output port opened through the bridge. ``send`` never raises."""

    def __init__(self, bridge: MidiBridge, port_id: int, name: str):
        self.bridge, self.id, self.name = bridge, port_id, name
        self.sent = 0
        self.errors = 0
        self.closed = False

    def send(self, message: mido.Message) -> None:
        if self.closed or not self.bridge._write({"send": self.id, "hex": message.hex()}):
            self.errors += 1
            return
        self.sent += 1

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.bridge._forget(self.id)


class MidiBridge:
    """Starts the MIDI child process for ``api`` ("auto", "jack" or "alsa") and mirrors its ports."""

    def __init__(self, api: str = "auto", poll_s: float = 0.5) -> None:
        self._ids = itertools.count(1)
        self._ports: dict[int, BridgeInput | BridgeOutput] = {}
        self._write_lock = threading.Lock()
        self._names: dict[str, list[str]] = {"inputs": [], "outputs": []}
        self._on_change: Callable[[set[str], set[str]], None] | None = None
        self._ready = threading.Event()
        self._failure: str | None = None
        self._child = subprocess.Popen(
            [sys.executable, "-m", "groovebox.hw.midi_bridge", "--api", api, "--poll-s", str(poll_s)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        threading.Thread(target=self._read, name="groovebox-midi-bridge", daemon=True).start()
        threading.Thread(target=self._log_stderr, name="groovebox-midi-bridge-log", daemon=True).start()
        if not self._ready.wait(_READY_TIMEOUT_S) or self._failure:
            self.close()
            raise MidiBridgeError(self._failure or "the MIDI process did not start")

    # ------------------------------------------------------------------ the MidiPorts surface
    def input_names(self) -> list[str]:
        return list(self._names["inputs"])

    def output_names(self) -> list[str]:
        return list(self._names["outputs"])

    def open_input(self, name: str, callback: Callable[[mido.Message], None]) -> BridgeInput:
        port = BridgeInput(self, next(self._ids), name, callback)
        self._ports[port.id] = port
        self._write({"open_input": port.id, "name": name})
        return port

    def open_output(self, name: str) -> BridgeOutput:
        port = BridgeOutput(self, next(self._ids), name)
        self._ports[port.id] = port
        self._write({"open_output": port.id, "name": name})
        return port

    def set_clock(self, outputs: list[BridgeOutput], tempo_bpm: float, anchor_s: float, anchor_beat: float) -> None:
        """Send MIDI clock (24 per beat) to ``outputs`` from the MIDI process: beat ``anchor_beat`` sounds at
        ``anchor_s`` (time.monotonic()) and the tempo is ``tempo_bpm``. An empty list stops the clock."""
        self._write({"clock": {"ports": [port.id for port in outputs], "tempo_bpm": tempo_bpm,
                               "anchor_s": anchor_s, "anchor_beat": anchor_beat}})

    def transport(self, action: str, at_beat: float | None = None, song_position: int = 0) -> None:
        """``start`` (sent just before the clock of ``at_beat``), ``continue`` (Song Position Pointer
        ``song_position`` in 16ths now, Continue before the clock of ``at_beat``), ``cancel`` or ``stop``."""
        self._write({"transport": action, "at_beat": at_beat, "song_position": song_position})

    def watch(self, on_change: Callable[[set[str], set[str]], None] | None) -> None:
        """Call ``on_change(appeared, disappeared)`` (reader thread) whenever the port lists change."""
        self._on_change = on_change

    def close(self) -> None:
        """Stop the child (it closes its ports)."""
        if self._child.poll() is None:
            try:
                self._child.stdin.close()
                self._child.wait(timeout=3)
            except (OSError, subprocess.TimeoutExpired):
                self._child.kill()
                self._child.wait()

    def __enter__(self) -> MidiBridge:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ plumbing
    def _write(self, command: dict) -> bool:
        line = json.dumps(command) + "\n"
        with self._write_lock:
            try:
                self._child.stdin.write(line)
                self._child.stdin.flush()
            except (OSError, ValueError):
                return False
        return True

    def _forget(self, port_id: int) -> None:
        self._ports.pop(port_id, None)
        self._write({"close": port_id})

    def _read(self) -> None:
        for line in self._child.stdout:
            try:
                self._dispatch(json.loads(line))
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("MIDI process: bad line %r (%s)", line[:200], exc)
        self._failure = self._failure or "the MIDI process exited"
        self._ready.set()

    def _dispatch(self, event: dict) -> None:
        if "in" in event:
            self._received(event["in"], event["hex"], event.get("t", 0.0))
        elif "ports" in event:
            self._ports_changed(event["ports"])
        elif "error" in event:
            port = self._ports.get(event["error"])
            if port is not None:
                port.errors += 1
            log.warning("MIDI: %s", event["message"])
        elif "fatal" in event:
            self._failure = event["fatal"]
            self._ready.set()

    def _received(self, port_id: int, hex_text: str, received_s: float) -> None:
        port = self._ports.get(port_id)
        if not isinstance(port, BridgeInput) or port.closed:
            return
        try:
            message = mido.Message.from_hex(hex_text, time=received_s)
        except ValueError:
            port.errors += 1
            return
        port.received += 1
        port.callback(message)

    def _ports_changed(self, names: dict[str, list[str]]) -> None:
        before = set(self._names["inputs"]) | set(self._names["outputs"])
        self._names = {"inputs": list(names["inputs"]), "outputs": list(names["outputs"])}
        after = set(self._names["inputs"]) | set(self._names["outputs"])
        self._ready.set()
        if self._on_change is not None and before != after:
            self._on_change(after - before, before - after)

    def _log_stderr(self) -> None:
        for line in self._child.stderr:
            log.debug("MIDI process: %s", line.rstrip())


# ====================================================================== the child process
def _child_main(api: str, poll_s: float) -> int:
    """Runs in the MIDI process: port lists out, messages both ways, until stdin closes."""
    from groovebox.hw.midi import MidiError, MidiPorts, PortWatcher

    out_lock = threading.Lock()

    def emit(event: dict) -> None:
        with out_lock:
            sys.stdout.write(json.dumps(event) + "\n")
            sys.stdout.flush()

    try:
        ports = MidiPorts(api)
    except MidiError as exc:
        emit({"fatal": str(exc)})
        return 1
    opened: dict[int, object] = {}

    def publish(appeared: set[str] = frozenset(), disappeared: set[str] = frozenset()) -> None:
        emit({"ports": {"inputs": ports.input_names(), "outputs": ports.output_names()}})

    publish()
    clock = _ClockSender(opened)
    with ports, PortWatcher(ports, publish, poll_s).start():
        for line in sys.stdin:
            try:
                command = json.loads(line)
                if "clock" in command or "transport" in command:
                    clock.apply(command)
                else:
                    _child_command(command, ports, opened, emit)
            except (ValueError, KeyError, TypeError) as exc:
                emit({"error": None, "message": f"bad command {line[:100]!r}: {exc}"})
    clock.close()
    return 0


class _ClockSender:
    """MIDI clock from the MIDI process: a thread sends F8 on every 24th of a beat of the daemon's timeline.

    Tick k is beat k/24 and is sent at ``anchor_s + (k/24 - anchor_beat) * 60 / tempo`` (time.monotonic()),
    so re-anchoring never accumulates drift. A pending Start goes out just before the tick of its beat.
    """

    _CLOCK, _START, _STOP = mido.Message("clock"), mido.Message("start"), mido.Message("stop")
    _CONTINUE = mido.Message("continue")

    def __init__(self, opened: dict[int, object]) -> None:
        self.opened = opened
        self.ports: list[int] = []
        self.tempo_bpm = 120.0
        self.anchor_s = 0.0
        self.anchor_beat = 0.0
        self.start_tick: int | None = None
        self.start_message = self._START
        self._changed = threading.Condition()
        self._running = True
        self._thread = threading.Thread(target=self._run, name="groovebox-midi-clock", daemon=True)
        self._thread.start()

    def apply(self, command: dict) -> None:
        with self._changed:
            if "clock" in command:
                clock = command["clock"]
                self.ports = [int(port) for port in clock["ports"]]
                self.tempo_bpm = float(clock["tempo_bpm"])
                self.anchor_s = float(clock["anchor_s"])
                self.anchor_beat = float(clock["anchor_beat"])
            elif command["transport"] == "start":
                self.start_tick = round(float(command["at_beat"]) * 24)
                self.start_message = self._START
            elif command["transport"] == "continue":      # a follower joined mid-song: position, then Continue
                self.start_tick = round(float(command["at_beat"]) * 24)
                self.start_message = self._CONTINUE
                self._send(mido.Message("songpos", pos=min(16383, int(command["song_position"]))))
            elif command["transport"] == "cancel":
                self.start_tick = None
            elif command["transport"] == "stop":
                self.start_tick = None
                self._send(self._STOP)
            self._changed.notify()

    def close(self) -> None:
        with self._changed:
            self._running = False
            self._changed.notify()
        self._thread.join(1)

    def _tick_time(self, tick: int) -> float:
        return self.anchor_s + (tick / 24 - self.anchor_beat) * 60.0 / self.tempo_bpm

    def _run(self) -> None:
        with self._changed:
            tick = None
            while self._running:
                if not self.ports:
                    tick = None
                    self._changed.wait()
                    continue
                now = time.monotonic()
                if tick is None or self._tick_time(tick) < now - 0.05:     # (re)start or fell far behind
                    beat_now = self.anchor_beat + (now - self.anchor_s) * self.tempo_bpm / 60.0
                    tick = math.floor(beat_now * 24) + 1
                delay = self._tick_time(tick) - now
                if delay > 0 and self._changed.wait(delay):
                    continue                                  # settings changed: recompute
                if self.start_tick is not None and tick >= self.start_tick:
                    self.start_tick = None
                    self._send(self.start_message)
                self._send(self._CLOCK)
                tick += 1

    def _send(self, message: mido.Message) -> None:
        for port_id in self.ports:
            port = self.opened.get(port_id)
            if port is not None:
                port.send(message)


def _child_command(command: dict, ports, opened: dict[int, object], emit: Callable[[dict], None]) -> None:
    from groovebox.hw.midi import MidiError

    if "send" in command:
        port = opened.get(command["send"])
        if port is not None:
            port.send(mido.Message.from_hex(command["hex"]))
    elif "open_input" in command:
        port_id = command["open_input"]
        try:
            opened[port_id] = ports.open_input(command["name"],
                                               lambda message: emit({"in": port_id, "hex": message.hex(),
                                                                     "t": time.monotonic()}))
        except MidiError as exc:
            emit({"error": port_id, "message": str(exc)})
    elif "open_output" in command:
        port_id = command["open_output"]
        try:
            opened[port_id] = ports.open_output(command["name"])
        except MidiError as exc:
            emit({"error": port_id, "message": str(exc)})
    elif "close" in command:
        port = opened.pop(command["close"], None)
        if port is not None:
            port.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="groovebox MIDI process (started by the daemon)")
    parser.add_argument("--api", default="auto", choices=["auto", "jack", "alsa"])
    parser.add_argument("--poll-s", type=float, default=0.5)
    args = parser.parse_args(argv)
    return _child_main(args.api, args.poll_s)


if __name__ == "__main__":
    raise SystemExit(main())
