#!/usr/bin/env python3
"""A MIDI clock master on a virtual port: Start, then 24 clocks per beat at one tempo, then another.

    .venv/bin/python hw-mocks/midi_clock_source.py --bpm 100 --seconds 6 --then-bpm 133 --then-seconds 6

Stands in for a drum machine or DAW sending clock (set ``midi.clock_source = "Clock Source"``). Clocks are
scheduled on absolute deadlines (no drift). Prints "ready" once the port exists, "done" at the end; exits
early when stdin closes. ``--api jack`` (default) or ``alsa``.
"""

import argparse
import sys
import threading
import time

import rtmidi

CLOCK, START, STOP = [0xF8], [0xFA], [0xFC]


def play(port, bpm: float, seconds: float, started_s: float, stop: threading.Event) -> float:
    """Send clocks from ``started_s`` for ``seconds``; returns when the next clock would have been due."""
    interval_s = 60.0 / (24.0 * bpm)
    ticks = int(seconds / interval_s)
    for tick in range(ticks):
        due_s = started_s + tick * interval_s
        delay = due_s - time.monotonic()
        if delay > 0 and stop.wait(delay):
            break
        port.send_message(CLOCK)
    return started_s + ticks * interval_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bpm", type=float, default=120.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--then-bpm", type=float)
    parser.add_argument("--then-seconds", type=float, default=10.0)
    parser.add_argument("--api", choices=["jack", "alsa"], default="jack")
    args = parser.parse_args()
    api = rtmidi.API_UNIX_JACK if args.api == "jack" else rtmidi.API_LINUX_ALSA
    port = rtmidi.MidiOut(rtapi=api, name="Clock Source")
    port.open_virtual_port("Clock Source")
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    print("ready", flush=True)
    time.sleep(1.0)                       # let the listener find and connect the port
    port.send_message(START)
    next_s = play(port, args.bpm, args.seconds, time.monotonic(), stop)
    if args.then_bpm and not stop.is_set():
        play(port, args.then_bpm, args.then_seconds, next_s, stop)
    port.send_message(STOP)
    print("done", flush=True)
    port.close_port()
    port.delete()                         # close the JACK client properly, not by dying


if __name__ == "__main__":
    main()
