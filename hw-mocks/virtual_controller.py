#!/usr/bin/env python3
"""A stand-in for a USB pad controller: virtual MIDI ports named like the real device, driven from stdin.

    .venv/bin/python hw-mocks/virtual_controller.py novation_launchpad_mini_mk3            # grid on screen
    .venv/bin/python hw-mocks/virtual_controller.py akai_mpd218 --keys                     # play it from the keyboard
    .venv/bin/python hw-mocks/virtual_controller.py akai_apc_mini_mk2 --json --naming legacy   # for tests

DEVICE is a profile stem from config/controllers/ (see DEVICES below). The script opens python-rtmidi
virtual ports (JACK by default; set JACK_DEFAULT_SERVER to pick the server) whose client and port names
copy what the real device shows, answers the device inquiry ``F0 7E 7F 06 01 F7``, remembers mode SysEx,
keeps the LED state the host sends (note/CC per channel, Launchpad and APC mk2 LED SysEx) and draws it.

Stdin commands, one per line (``--json`` answers each with an "event" line):

    press NOTE [VEL]    note_on on the device's pad channel (default velocity 127), on its main port
    release NOTE        Launchpads send note_on velocity 0, the others note_off
    cc NUMBER VALUE     control change on the pad channel
    raw HEX...          bytes as they are, e.g. ``raw 90 24 7F`` or ``raw F0 7E 7F 06 01 F7``
    flood N             N random and malformed messages (truncated SysEx, unknown status bytes, lone data
                        bytes, clock, notes and controllers on channels 2-16...), 64 per millisecond, then
                        ``F0 7D 00 F7`` so a receiver's SysEx parser is back in step
    state               print the LED state and the remembered mode SysEx
    quit                close the ports and exit (so do EOF, SIGTERM and Ctrl-C)

With ``--json`` stdout carries one JSON object per line:

    {"ready": true, "device": ..., "client": ..., "ports": [port names], "inputs": [...], "outputs": [...]}
        once, when every port is registered (so other JACK clients can see it). "inputs"/"outputs" are the
        full names a host lists (``MidiPorts.input_names()``/``output_names()``), in the device's port order.
    {"type": "note_on", "channel": 1, "note": 81, "velocity": 21, "port": "..."}   per message received
        (mido's field names, no "time"); SysEx as {"type": "sysex", "hex": "F0 ... F7", "port": ...};
        bytes that are no valid message as {"type": "invalid", "hex": ..., "port": ...}
    {"event": "sent", "hex": "90 33 7F"}, {"event": "flooded", "count": N},
    {"event": "state", "leds": [{"kind": "note", "number": 81, "channel": 1, "value": 21} or
        {"kind": ..., "number": ..., "rgb": [r, g, b]}, ...], "sysex": {"0E": "F0 00 20 29 02 0D 0E 01 F7"},
        "received": n}, {"event": "error", "command": ..., "message": ...}, and {"event": "bye"} at exit.
        "sysex" holds the last mode SysEx per command byte (unknown SysEx: keyed by its own hex).

Tests use ``ControllerProcess`` (below): it starts the script with ``--json``, waits for "ready" and
offers ``command(line)``, ``expect(predicate, timeout_s)`` and ``stop()``.

Threads: the main thread reads stdin (or the keyboard with ``--keys``); one reader thread polls the input
ports every millisecond (no rtmidi callbacks: closing an input whose Python callback waits for the GIL on
the JACK thread deadlocks), answers inquiries before printing what it received, and redraws the grid at
most every 50 ms. Runs outside the groovebox package on purpose: it must not depend on the profiles it
helps to test, so the device data (names, identity replies, geometry) lives in DEVICES here.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import queue
import random
import re
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

import rtmidi

INQUIRY = re.compile(r"^F0 7E .. 06 01 F7$")
END_SYSEX = [0xF0, 0x7D, 0x00, 0xF7]        # non-commercial SysEx that ends any SysEx left open by a flood
APC_FADER_REPLY = [0xF0, 0x47, 0x7F, 0x4F, 0x61, 0x00, 0x09, *[0] * 9, 0xF7]


@dataclass(frozen=True)
class Device:
    """What a device looks like from the host: names, the identity reply, and the surface for drawing."""

    title: str
    client: str                              # ALSA/JACK client name = the USB card's short name
    ports: dict[str, tuple[str, ...]]        # naming style -> port names in USB interface order
    main_port: int                           # the port pads send on and the host drives
    grid: str                                # launchpad | apc_mk2 | apc_mk1 | pads4x4
    pad_notes: tuple[int, ...]               # the 4x4 the profiles use (bottom-left first), for --keys
    pad_channel: int                         # 0-based
    release_note_on: bool                    # True: releases are note_on velocity 0 (Launchpads)
    inquiry_reply: str | None                # None: the device ignores inquiries
    sysex_header: str | None = None          # prefix of the device's own SysEx (mode commands)


# Port names. "alsa" = what a current Linux kernel gives (snd-usb-audio names a port "<card> <USB jack
# name>" and cuts it to 31 characters), as rtmidi/mido list it without the " 20:1" address. Seen in public
# code and docs: "Launchpad Mini MK3:Launchpad Mini MK3 LPMiniMK3 MI 20:1" (also "... LPMiniMK3 DA", and
# PipeWire's alias "Launchpad Mini MK3:Launchpad Mini MK3 LPMiniMK3 MI"), "Launchpad X:Launchpad X LPX MIDI",
# "APC mini mk2:APC mini mk2 APC mini mk2 Contr 20:0" and "... APC mini mk2 Notes 20:1",
# "APC MINI:APC MINI MIDI 1 20:0", "MPD218:MPD218 Port A 16:0". "legacy" = older kernels without jack
# names: "<card> MIDI <n>" ("Launchpad X:Launchpad X MIDI 2 24:1", amidi "MPD218 MIDI 1"). "short" = the
# names macOS/Windows show and many scripts hard-code ("LPMiniMK3 MIDI", "APC mini mk2 Control",
# "MPD218 Port A"). The generic pad is made up; its name contains "Pads" as generic_16pad.toml expects.
# Identity replies: Novation F0 7E 00 06 02 00 20 29 <family 2 bytes> 00 00 <4 version digits> F7 with family
# 13 01 (Mini MK3) / 03 01 (X) (Ableton sysex_ids.py); Akai F0 7E 00 06 02 47 <product> 00 19 <version 4>
# <device id> <serial 4> F7 with product 4F (APC mini mk2), 28 (APC mini), 34 (MPD218), after Ableton's
# APC scripts, which read bytes 5, 6 and 9-12 only; the tail is a guess.
DEVICES: dict[str, Device] = {
    "novation_launchpad_mini_mk3": Device(
        title="Launchpad Mini MK3", client="Launchpad Mini MK3",
        ports={"alsa": ("Launchpad Mini MK3 LPMiniMK3 DA", "Launchpad Mini MK3 LPMiniMK3 MI"),
               "legacy": ("Launchpad Mini MK3 MIDI 1", "Launchpad Mini MK3 MIDI 2"),
               "short": ("LPMiniMK3 DAW", "LPMiniMK3 MIDI")},
        main_port=1, grid="launchpad",
        pad_notes=(51, 52, 53, 54, 61, 62, 63, 64, 71, 72, 73, 74, 81, 82, 83, 84),
        pad_channel=0, release_note_on=True,
        inquiry_reply="F0 7E 00 06 02 00 20 29 13 01 00 00 00 04 05 07 F7",
        sysex_header="F0 00 20 29 02 0D"),
    "novation_launchpad_x": Device(
        title="Launchpad X", client="Launchpad X",
        ports={"alsa": ("Launchpad X LPX DAW", "Launchpad X LPX MIDI"),
               "legacy": ("Launchpad X MIDI 1", "Launchpad X MIDI 2"),
               "short": ("LPX DAW", "LPX MIDI")},
        main_port=1, grid="launchpad",
        pad_notes=(51, 52, 53, 54, 61, 62, 63, 64, 71, 72, 73, 74, 81, 82, 83, 84),
        pad_channel=0, release_note_on=True,
        inquiry_reply="F0 7E 00 06 02 00 20 29 03 01 00 00 00 04 05 07 F7",
        sysex_header="F0 00 20 29 02 0C"),
    "akai_apc_mini_mk2": Device(
        title="APC mini mk2", client="APC mini mk2",
        ports={"alsa": ("APC mini mk2 APC mini mk2 Contr", "APC mini mk2 APC mini mk2 Notes"),
               "legacy": ("APC mini mk2 MIDI 1", "APC mini mk2 MIDI 2"),
               "short": ("APC mini mk2 Control", "APC mini mk2 Notes")},
        main_port=0, grid="apc_mk2",
        pad_notes=(32, 33, 34, 35, 40, 41, 42, 43, 48, 49, 50, 51, 56, 57, 58, 59),
        pad_channel=0, release_note_on=False,
        inquiry_reply="F0 7E 00 06 02 47 4F 00 19 01 00 00 00 7F 00 00 00 00 F7",
        sysex_header="F0 47 7F 4F"),
    "akai_apc_mini": Device(
        title="APC mini", client="APC MINI",
        ports={"alsa": ("APC MINI MIDI 1",), "legacy": ("APC MINI MIDI 1",), "short": ("APC MINI",)},
        main_port=0, grid="apc_mk1",
        pad_notes=(32, 33, 34, 35, 40, 41, 42, 43, 48, 49, 50, 51, 56, 57, 58, 59),
        pad_channel=0, release_note_on=False,
        inquiry_reply="F0 7E 00 06 02 47 28 00 19 01 00 00 00 7F 00 00 00 00 F7"),
    "akai_mpd218": Device(
        title="MPD218", client="MPD218",
        ports={"alsa": ("MPD218 Port A",), "legacy": ("MPD218 MIDI 1",), "short": ("MPD218 Port A",)},
        main_port=0, grid="pads4x4", pad_notes=tuple(range(36, 52)),
        pad_channel=9, release_note_on=False,
        inquiry_reply="F0 7E 00 06 02 47 34 00 19 01 00 00 00 7F 00 00 00 00 F7"),
    "generic_16pad": Device(
        title="Generic 16 pads", client="MIDI Pads",
        ports={"alsa": ("MIDI Pads MIDI 1",), "legacy": ("MIDI Pads MIDI 1",), "short": ("MIDI Pads",)},
        main_port=0, grid="pads4x4", pad_notes=tuple(range(36, 52)),
        pad_channel=9, release_note_on=False, inquiry_reply=None),
}
NAMINGS = ("alsa", "legacy", "short")
KEY_ROWS = ("zxcv", "asdf", "qwer", "1234")      # bottom row first: pads 0-3 ... 12-15


def to_hex(data) -> str:
    return " ".join(f"{b:02X}" for b in data)


def parse_hex(words: list[str]) -> list[int]:
    text = "".join(words).replace("0x", "").replace(",", "")
    if len(text) % 2:
        raise ValueError(f"odd number of hex digits in {' '.join(words)!r}")
    return list(bytes.fromhex(text))


def describe(data: list[int]) -> dict:
    """A received message as a JSON-able dict with mido's field names."""
    status = data[0] if data else 0
    kinds = {0x80: ("note_off", "note", "velocity"), 0x90: ("note_on", "note", "velocity"),
             0xA0: ("polytouch", "note", "value"), 0xB0: ("control_change", "control", "value"),
             0xC0: ("program_change", "program", None), 0xD0: ("aftertouch", "value", None)}
    system = {0xF8: "clock", 0xFA: "start", 0xFB: "continue", 0xFC: "stop", 0xFE: "active_sensing",
              0xFF: "reset", 0xF6: "tune_request"}
    if status == 0xF0 and data[-1] == 0xF7 and all(b < 0x80 for b in data[1:-1]):
        return {"type": "sysex", "hex": to_hex(data)}
    if len(data) == 1 and status in system:
        return {"type": system[status]}
    if status == 0xF2 and len(data) == 3 and data[1] < 0x80 and data[2] < 0x80:
        return {"type": "songpos", "pos": data[1] + 128 * data[2]}
    if 0x80 <= status < 0xF0 and all(b < 0x80 for b in data[1:]):
        kind = status & 0xF0
        if kind == 0xE0 and len(data) == 3:
            return {"type": "pitchwheel", "channel": status & 0x0F, "pitch": data[1] + 128 * data[2] - 8192}
        name, first, second = kinds[kind] if kind in kinds else (None, None, None)
        if name and len(data) == (3 if second else 2):
            message = {"type": name, "channel": status & 0x0F, first: data[1]}
            if second:
                message[second] = data[2]
            return message
    return {"type": "invalid", "hex": to_hex(data)}


class Surface:
    """LED state and remembered SysEx of one device, and its drawing as text."""

    def __init__(self, device: Device) -> None:
        self.device = device
        self.leds: dict[tuple[str, int], tuple] = {}     # ("note"|"cc", number) -> (channel, value) or ("rgb", r, g, b)
        self.sysex: dict[str, str] = {}                   # command key (hex) -> last SysEx with that key
        self.received = 0

    def apply(self, data: list[int]) -> bool:
        """Update the state from a message the host sent; True if the LEDs changed."""
        status = data[0] & 0xF0 if data else 0
        if status in (0x80, 0x90) and len(data) == 3:
            return self._set(("note", data[1]), data[0] & 0x0F, data[2] if status == 0x90 else 0)
        if status == 0xB0 and len(data) == 3:
            return self._set(("cc", data[1]), data[0] & 0x0F, data[2])
        if data and data[0] == 0xF0 and data[-1] == 0xF7 and not INQUIRY.match(to_hex(data)):
            return self._apply_sysex(data)
        return False

    def _set(self, key: tuple[str, int], channel: int, value: int) -> bool:
        new = (channel, value) if value else None
        if self.leds.get(key) == new:
            return False
        if new is None:
            self.leds.pop(key, None)
        else:
            self.leds[key] = new
        return True

    def _apply_sysex(self, data: list[int]) -> bool:
        header = self.device.sysex_header
        text = to_hex(data)
        if not header or not text.startswith(header + " "):
            self.sysex[text] = text
            return False
        body = data[len(header.split()):-1]
        if len(body) < 2:            # a bare command is a readback request (Novation), not a setting
            return False
        if header.startswith("F0 00 20 29") and body[0] == 0x03:
            return self._launchpad_leds(body[1:])
        if header == "F0 47 7F 4F" and body[0] == 0x24 and len(body) >= 11:
            start, end = body[3], body[4]
            rgb = tuple((body[5 + 2 * i] << 7) | body[6 + 2 * i] for i in range(3))
            for note in range(start, end + 1):
                self.leds[("note", note)] = ("rgb", *rgb)
            return True
        self.sysex[to_hex(body[:1])] = text
        return False

    def _launchpad_leds(self, specs: list[int]) -> bool:
        sizes = {0: 1, 1: 2, 2: 1, 3: 3}
        i, changed = 0, False
        while i + 1 < len(specs) and specs[i] in sizes:
            kind, index, values = specs[i], specs[i + 1], specs[i + 2: i + 2 + sizes[specs[i]]]
            i += 2 + sizes[kind]
            key = ("note", index) if 1 <= index % 10 <= 8 and index < 90 else ("cc", index)
            if kind == 3:
                self.leds[key] = ("rgb", *values)
                changed = True
            elif values:
                changed = self._set(key, kind, values[0]) or changed
        return changed

    def readback(self, data: list[int]) -> list[int] | None:
        """Novation readback: the header and a command with no data gets the last value set for it."""
        header = self.device.sysex_header
        if not header or not header.startswith("F0 00 20 29") or len(data) != len(header.split()) + 2:
            return None
        stored = self.sysex.get(f"{data[-2]:02X}")
        return parse_hex(stored.split()) if stored else None

    def state(self) -> dict:
        leds = [{"kind": kind, "number": number, **({"rgb": list(v[1:])} if v[0] == "rgb"
                                                     else {"channel": v[0], "value": v[1]})}
                for (kind, number), v in sorted(self.leds.items())]
        return {"leds": leds, "sysex": dict(self.sysex), "received": self.received}

    def draw(self) -> str:
        """The surface as text, top row first; a cell shows the value (palette index) and a behaviour mark."""
        grid = self.device.grid
        size = 4 if grid == "pads4x4" else 8
        lines = [f"{self.device.title}   sysex: {' | '.join(self.sysex.values()) or '-'}"]
        if grid == "launchpad":
            lines.append("  cc " + "".join(self._cell(("cc", 91 + col)) for col in range(8)))
        for row in reversed(range(size)):
            cells = "".join(self._cell(self._pad_key(row, col)) for col in range(size))
            side = self._side(row)
            lines.append(f"{self._pad_key(row, 0)[1]:4d} " + cells + (" |" + side if side else ""))
        if grid in ("apc_mk2", "apc_mk1"):
            first = 100 if grid == "apc_mk2" else 64
            lines.append(f"{first:4d} " + "".join(self._cell(("note", first + col)) for col in range(8)))
        return "\n".join(lines)

    def _pad_key(self, row: int, col: int) -> tuple[str, int]:
        grid = self.device.grid
        if grid == "launchpad":
            return ("note", 10 * (row + 1) + col + 1)
        if grid == "pads4x4":
            return ("note", 36 + 4 * row + col)
        return ("note", 8 * row + col)

    def _side(self, row: int) -> str:
        grid = self.device.grid
        if grid == "launchpad":
            return self._cell(("cc", 10 * (row + 1) + 9))
        if grid == "apc_mk2":
            return self._cell(("note", 112 + 7 - row))
        if grid == "apc_mk1":
            return self._cell(("note", 82 + 7 - row))
        return ""

    def _cell(self, key: tuple[str, int]) -> str:
        value = self.leds.get(key)
        if value is None:
            return "  . "
        if value[0] == "rgb":
            return " rgb"
        channel, level = value
        grid = self.device.grid
        if grid == "apc_mk1":
            return {1: "  G ", 2: " G* ", 3: "  R ", 4: " R* ", 5: "  Y ", 6: " Y* "}.get(level, f"{level:3d}?")
        if grid == "launchpad":
            mark = {0: " ", 1: "*", 2: "~"}.get(channel, "?")
        elif grid == "apc_mk2":
            mark = " " if channel <= 6 else "~" if channel <= 10 else "*"
        else:
            mark = " "
        return f"{level:3d}{mark}"


class VirtualController:
    """The device's virtual ports, a reader thread, and the commands."""

    def __init__(self, device: Device, api: int, naming: str, as_json: bool, channel: int | None) -> None:
        self.device = device
        self.surface = Surface(device)
        self.as_json = as_json
        self.channel = device.pad_channel if channel is None else channel
        self.port_names = device.ports[naming]
        self._api = api
        self._print_lock = threading.Lock()
        self._surface_lock = threading.Lock()     # the reader thread writes the surface, commands read it
        self._send_locks = [threading.Lock() for _ in self.port_names]
        self._outs: list[rtmidi.MidiOut] = []      # device -> host (the host's inputs)
        self._ins: list[rtmidi.MidiIn] = []        # host -> device
        self._stop = threading.Event()
        self._reader: threading.Thread | None = None
        self._dirty = False
        self.full_inputs: list[str] = []
        self.full_outputs: list[str] = []

    def open(self, timeout_s: float = 5.0) -> None:
        """Open the ports, wait until they are registered, start the reader."""
        for _ in self.port_names:       # all clients first: JACK names them client, client-01, ... in this order
            self._outs.append(rtmidi.MidiOut(self._api, name=self.device.client))
            self._ins.append(rtmidi.MidiIn(self._api, name=self.device.client, queue_size_limit=8192))
        before_in, before_out = set(self._ins[0].get_ports()), set(self._outs[0].get_ports())
        for out, inp, name in zip(self._outs, self._ins, self.port_names):
            out.open_virtual_port(name)
            inp.open_virtual_port(name)
            inp.ignore_types(sysex=False, timing=False, active_sense=True)
        deadline = time.monotonic() + timeout_s
        while True:
            self.full_inputs = self._find(self._ins[0].get_ports(), before_in)
            self.full_outputs = self._find(self._outs[0].get_ports(), before_out)
            if None not in self.full_inputs + self.full_outputs:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"ports not visible after {timeout_s} s: {self.port_names}")
            time.sleep(0.01)
        self._reader = threading.Thread(target=self._read, name="virtual-controller-in", daemon=True)
        self._reader.start()

    def _find(self, listed: list[str], before: set[str]) -> list[str | None]:
        found = []
        for port in self.port_names:
            pattern = re.compile(rf"{re.escape(self.device.client)}(-\d+)?:{re.escape(port)}( \d+:\d+)?")
            found.append(next((n for n in listed if n not in before and pattern.fullmatch(n)), None))
        return found

    def close(self) -> None:
        self._stop.set()
        if self._reader is not None:
            self._reader.join(timeout=2)
        for rt in (*self._ins, *self._outs):
            rt.close_port()
            rt.delete()
        self._ins, self._outs = [], []

    # ---- output -------------------------------------------------------------------------------------
    def emit(self, obj: dict) -> None:
        if self.as_json:
            self._write(json.dumps(obj))
        elif "ready" in obj or obj.get("event") not in (None, "sent", "state"):
            self._write(" ".join(f"{k}={v}" for k, v in obj.items()))

    def _write(self, text: str) -> None:
        with self._print_lock:
            try:
                sys.stdout.write(text + "\n")
                sys.stdout.flush()
            except (BrokenPipeError, ValueError):
                self._stop.set()

    def redraw(self) -> None:
        clear = "\033[H\033[2J" if sys.stdout.isatty() else ""
        with self._surface_lock:
            text = self.surface.draw()
        self._write(clear + text)

    # ---- input (reader thread) --------------------------------------------------------------------------
    def _read(self) -> None:
        last_draw = 0.0
        while not self._stop.is_set():
            busy = False
            for index, inp in enumerate(self._ins):
                for _ in range(256):
                    event = inp.get_message()
                    if event is None:
                        break
                    busy = True
                    self._handle(index, event[0])
            now = time.monotonic()
            if self._dirty and not self.as_json and now - last_draw > 0.05:
                self._dirty, last_draw = False, now
                self.redraw()
            if not busy:
                self._stop.wait(0.001)

    def _handle(self, port_index: int, data: list[int]) -> None:
        # Replies go out before the line is printed: a test that has seen the line knows the reply is queued
        # ahead of anything it asks for next.
        self.surface.received += 1
        text = to_hex(data)
        if INQUIRY.match(text):
            if data[2] in (0x7F, 0x00) and self.device.inquiry_reply:
                self.send(parse_hex(self.device.inquiry_reply.split()), port_index)
        else:
            with self._surface_lock:
                reply = self.surface.readback(data)
                changed = self.surface.apply(data)
            if reply is not None:
                self.send(reply, port_index)
            if text.startswith("F0 47 7F 4F 60 ") and self.device.grid == "apc_mk2":
                self.send(APC_FADER_REPLY, port_index)      # the intro message gets the 9 fader positions
            self._dirty = self._dirty or changed
        self.emit({**describe(data), "port": self.port_names[port_index]})

    # ---- commands (main thread) ----------------------------------------------------------------------
    def send(self, data: list[int], port_index: int | None = None) -> None:
        index = self.device.main_port if port_index is None else port_index
        with self._send_locks[index]:
            self._outs[index].send_message(data)

    def command(self, line: str) -> bool:
        """Run one stdin command; False means quit."""
        words = line.split()
        if not words:
            return True
        name, args = words[0].lower(), words[1:]
        try:
            if name == "quit":
                return False
            if name == "state":
                with self._surface_lock:
                    state = self.surface.state()
                self.emit({"event": "state", **state})
                if not self.as_json:
                    self.redraw()
            elif name == "flood":
                self.flood(int(args[0]))
            else:
                data = self._message(name, args)
                self.send(data)
                self.emit({"event": "sent", "hex": to_hex(data)})
        except (ValueError, IndexError, KeyError, rtmidi.RtMidiError) as exc:
            self.emit({"event": "error", "command": line.strip(), "message": str(exc) or type(exc).__name__})
        return True

    def _message(self, name: str, args: list[str]) -> list[int]:
        ints = [int(a, 0) for a in args] if name != "raw" else []
        for value in ints:
            if not 0 <= value <= 127:
                raise ValueError(f"{value} is not a 7-bit value")
        if name == "press":
            return [0x90 | self.channel, ints[0], ints[1] if len(ints) > 1 else 127]
        if name == "release":
            status = 0x90 if self.device.release_note_on else 0x80
            return [status | self.channel, ints[0], 0]
        if name == "cc":
            return [0xB0 | self.channel, ints[0], ints[1]]
        if name == "raw":
            return parse_hex(args)
        raise ValueError(f"unknown command {name!r} (press, release, cc, raw, flood, state, quit)")

    def flood(self, count: int) -> None:
        """``count`` random messages, many malformed, 64 per millisecond (JACK's buffers stay within bounds).

        Complete notes and controllers go out on channels 2-16: junk, not the device's own pad presses and
        buttons on channel 1 (which would really stop or start pads)."""
        rng = random.Random()
        makers = [
            lambda: [0x90 | rng.randrange(1, 16), rng.randrange(128), rng.randrange(128)],
            lambda: [0x80 | rng.randrange(1, 16), rng.randrange(128), 0],
            lambda: [0xB0 | rng.randrange(1, 16), rng.randrange(128), rng.randrange(128)],
            lambda: [0xE0 | rng.randrange(16), rng.randrange(128), rng.randrange(128)],
            lambda: [0xC0 | rng.randrange(16), rng.randrange(128)],
            lambda: [rng.choice([0xF8, 0xFA, 0xFC, 0xFE, 0xF4, 0xF5, 0xF9, 0xFD, 0xF7])],
            lambda: [rng.randrange(128)],                                         # lone data byte
            lambda: [0x90 | rng.randrange(16), rng.randrange(128)],               # truncated note_on
            lambda: [0xF0] + [rng.randrange(128) for _ in range(rng.randrange(1, 20))],   # SysEx without F7
            lambda: [0xF0] + [rng.randrange(128) for _ in range(rng.randrange(0, 40))] + [0xF7],
        ]
        for sent in range(count):
            self.send(rng.choice(makers)())
            if sent % 64 == 63:
                time.sleep(0.001)
        self.send(END_SYSEX)
        self.emit({"event": "flooded", "count": count})

    def play_keys(self) -> None:
        """--keys: 1-4/q-r/a-f/z-v press the 4x4 (top row 1234); Esc or Ctrl-D quits."""
        import termios
        import tty
        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd)
        keys = {key: self.device.pad_notes[4 * row + col] for row, text in enumerate(KEY_ROWS)
                for col, key in enumerate(text)}
        self.redraw()
        try:
            tty.setcbreak(fd)
            while not self._stop.is_set():
                if not select.select([fd], [], [], 0.2)[0]:
                    continue
                char = os.read(fd, 1).decode(errors="replace").lower()
                if char in ("\x1b", "\x04", ""):
                    break
                if char in keys:
                    self.command(f"press {keys[char]}")
                    threading.Timer(0.15, self.command, (f"release {keys[char]}",)).start()
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)


class ControllerProcess:
    """This script run as a ``--json`` subprocess, for tests: start, send commands, wait for lines.

        vc = ControllerProcess("novation_launchpad_mini_mk3")     # returns once the ports exist
        vc.ready["inputs"]                                         # names as MidiPorts.input_names() lists them
        vc.command("press 51")
        vc.expect(lambda line: line.get("type") == "sysex", timeout_s=2)
        vc.stop()                                                  # "quit"; kill only if it hangs

    Lines are read on a daemon thread as they come, so the child never blocks on a full pipe. ``expect``
    consumes lines up to and including the first one that matches, so successive calls check order. The
    child inherits the environment (JACK_DEFAULT_SERVER) unless ``env`` is given.
    """

    def __init__(self, device: str, *args: str, env: dict[str, str] | None = None, timeout_s: float = 10.0) -> None:
        self.device = device
        self.history: list[dict] = []           # every line read so far, matched or not
        self.received_s: list[float] = []       # time.monotonic() when each line of ``history`` was read
        self.stderr: collections.deque[str] = collections.deque(maxlen=50)
        self._lines: queue.Queue = queue.Queue()
        self.process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), device, "--json", *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1, env=env,
        )
        threading.Thread(target=self._pump_stdout, daemon=True).start()
        threading.Thread(target=lambda: self.stderr.extend(self.process.stderr), daemon=True).start()
        try:
            self.ready = self.expect(lambda line: line.get("ready") is True, timeout_s=timeout_s)
        except AssertionError:
            self.stop()
            raise

    def _pump_stdout(self) -> None:
        for text in self.process.stdout:
            try:
                line = json.loads(text)
            except ValueError:
                line = {"event": "unparsed", "text": text.rstrip()}
            self.received_s.append(time.monotonic())     # when this process read it (clock-rate checks)
            self.history.append(line)
            self._lines.put(line)
        self._lines.put(None)       # EOF

    def command(self, line: str) -> None:
        self.process.stdin.write(line.rstrip("\n") + "\n")
        self.process.stdin.flush()

    def expect(self, predicate, timeout_s: float = 2.0) -> dict:
        """The next line for which ``predicate(line)`` is true; AssertionError after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                raise AssertionError(
                    f"{self.device}: no matching line within {timeout_s} s (or it exited: {self.process.poll()});"
                    f" last lines {self.history[-10:]}, stderr {list(self.stderr)[-5:]}")
            if predicate(line):
                return line

    def stop(self, timeout_s: float = 5.0) -> int:
        """Send ``quit`` and wait; kill the child if it does not exit. Returns its exit code."""
        if self.process.poll() is None:
            try:
                self.command("quit")
            except (BrokenPipeError, OSError):
                pass
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def __enter__(self) -> ControllerProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("device", choices=sorted(DEVICES))
    parser.add_argument("--api", choices=("jack", "alsa", "auto"), default="jack",
                        help="MIDI API (auto: ALSA when /dev/snd/seq exists)")
    parser.add_argument("--naming", choices=NAMINGS, default="alsa",
                        help="port names as a current Linux kernel (alsa), an older one (legacy) or macOS (short)")
    parser.add_argument("--json", action="store_true", help="machine-readable stdout (one JSON object per line)")
    parser.add_argument("--keys", action="store_true", help="play the 4x4 from the computer keyboard")
    parser.add_argument("--channel", type=int, help="0-based channel for press/release/cc (default: the device's)")
    args = parser.parse_args()
    api_name = args.api
    if api_name == "auto":
        api_name = "alsa" if os.path.exists("/dev/snd/seq") else "jack"
    api = {"jack": rtmidi.API_UNIX_JACK, "alsa": rtmidi.API_LINUX_ALSA}[api_name]

    controller = VirtualController(DEVICES[args.device], api, args.naming, args.json, args.channel)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        controller.open()
        controller.emit({"ready": True, "device": args.device, "client": controller.device.client,
                         "ports": list(controller.port_names), "inputs": controller.full_inputs,
                         "outputs": controller.full_outputs})
        if args.keys and sys.stdin.isatty():
            controller.play_keys()
        else:
            if not args.json:
                controller.redraw()
            for line in sys.stdin:
                if not controller.command(line):
                    break
    except (RuntimeError, rtmidi.RtMidiError) as exc:
        controller.emit({"event": "error", "message": str(exc)})
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        controller.close()
        controller.emit({"event": "bye"})
    return 0

if __name__ == "__main__":
    sys.exit(main())
