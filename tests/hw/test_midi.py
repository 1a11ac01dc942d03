"""MidiPorts and PortWatcher against virtual controllers (hw-mocks/virtual_controller.py) on a JACK dummy server.

Real jackd, real python-rtmidi, the controller in a subprocess. Assertions are on content and order with
timeouts of at least 1 s, never on latency: callbacks can be late when the machine is busy.
"""

import os
import queue
import subprocess
import sys
import threading
import time

import mido
import pytest
import rtmidi

from hw_mocks import load_virtual_controller_module

from groovebox.hw.midi import CLIENT_NAME, MidiError, MidiPorts, PortWatcher, resolve_api, strip_alsa_address

pytestmark = pytest.mark.jack

vc = load_virtual_controller_module()
INQUIRY = mido.Message("sysex", data=[0x7E, 0x7F, 0x06, 0x01])


@pytest.fixture
def ports(jack_server):
    with MidiPorts("jack") as ports:
        yield ports


@pytest.fixture
def launchpad(jack_server):
    with vc.ControllerProcess("novation_launchpad_mini_mk3") as process:
        yield process


def wait_for(predicate, timeout_s: float = 2.0, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def receive(inbox: queue.Queue, timeout_s: float = 2.0) -> mido.Message:
    try:
        return inbox.get(timeout=timeout_s)
    except queue.Empty:
        raise AssertionError(f"no MIDI message within {timeout_s} s") from None


def test_lists_the_devices_ports_but_not_our_own(ports, launchpad):
    assert launchpad.ready["inputs"] == [name for name in ports.input_names() if "LPMiniMK3" in name]
    assert launchpad.ready["outputs"] == [name for name in ports.output_names() if "LPMiniMK3" in name]
    ports.open_input(launchpad.ready["inputs"][1], lambda msg: None)
    ports.open_output(launchpad.ready["outputs"][1])
    listed = ports.input_names() + ports.output_names()
    assert not [name for name in listed if name.startswith(CLIENT_NAME)], listed


def test_output_reaches_the_device(ports, launchpad):
    out = ports.open_output(launchpad.ready["outputs"][1])
    out.send(mido.Message("note_on", channel=1, note=81, velocity=21))
    out.send(mido.Message("control_change", channel=0, control=89, value=5))
    assert launchpad.expect(lambda line: line.get("type") == "note_on") == {
        "type": "note_on", "channel": 1, "note": 81, "velocity": 21, "port": "Launchpad Mini MK3 LPMiniMK3 MI"}
    assert launchpad.expect(lambda line: "type" in line)["control"] == 89
    assert out.sent == 2 and out.errors == 0


def test_input_receives_presses_in_order(ports, launchpad):
    inbox = queue.Queue()
    ports.open_input(launchpad.ready["inputs"][1], inbox.put)
    for line in ("press 51 100", "release 51", "cc 89 127"):
        launchpad.command(line)
    assert receive(inbox) == mido.Message("note_on", channel=0, note=51, velocity=100)
    assert receive(inbox) == mido.Message("note_on", channel=0, note=51, velocity=0)
    assert receive(inbox) == mido.Message("control_change", channel=0, control=89, value=127)


def test_device_inquiry_round_trip(ports, launchpad):
    inbox = queue.Queue()
    ports.open_input(launchpad.ready["inputs"][1], inbox.put)
    ports.open_output(launchpad.ready["outputs"][1]).send(INQUIRY)
    reply = receive(inbox)
    assert reply.type == "sysex"
    assert reply.data[:9] == (0x7E, 0x00, 0x06, 0x02, 0x00, 0x20, 0x29, 0x13, 0x01)   # Novation, Mini MK3


def test_clock_arrives(ports, launchpad):
    out = ports.open_output(launchpad.ready["outputs"][1])
    for _ in range(3):
        out.send(mido.Message("clock"))
    for _ in range(3):
        launchpad.expect(lambda line: line.get("type") == "clock")


def test_watcher_sees_a_device_come_go_and_come_back(ports, jack_server):
    changes = queue.Queue()
    device_ports = set(vc.DEVICES["akai_apc_mini_mk2"].ports["alsa"])

    def collect(which: int, expected: set[str]) -> None:
        """Gather appeared (0) or disappeared (1) names of this device until they are ``expected``, in 2 s."""
        seen, deadline = set(), time.monotonic() + 2.0
        while seen != expected:
            change = receive(changes, max(0.0, deadline - time.monotonic()))
            seen |= {name for name in change[which] if name.split(":", 1)[1] in device_ports}
            assert not {name for name in change[1 - which] if name.split(":", 1)[1] in device_ports}
        assert seen == expected

    with PortWatcher(ports, lambda appeared, gone: changes.put((appeared, gone)), poll_s=0.1):
        receive(changes)                  # the first poll reports what is there already
        for _ in range(2):
            process = vc.ControllerProcess("akai_apc_mini_mk2")
            full = set(process.ready["inputs"] + process.ready["outputs"])
            assert len(full) == 4
            collect(0, full)
            assert process.stop() == 0
            collect(1, full)


def test_watcher_counts_a_failing_callback_and_keeps_going(ports, jack_server):
    calls = []

    def broken(appeared, gone):
        calls.append(appeared)
        raise RuntimeError("handler bug")

    with PortWatcher(ports, broken, poll_s=0.05) as watcher:
        wait_for(lambda: calls, what="first poll")
        with vc.ControllerProcess("generic_16pad"):
            wait_for(lambda: len(calls) >= 2, what="a second call after the failure")
    assert watcher.errors >= 2


def test_send_to_a_device_that_left_does_not_raise(ports, jack_server):
    process = vc.ControllerProcess("akai_apc_mini")
    out = ports.open_output(process.ready["outputs"][0])
    assert process.stop() == 0
    wait_for(lambda: process.ready["outputs"][0] not in ports.output_names(), what="port to go")
    out.send(mido.Message("note_on", note=1, velocity=1))
    out.send(INQUIRY)
    out.close()
    out.send(mido.Message("note_on", note=1, velocity=1))
    assert out.errors == 1            # the closed port counts; JACK swallows sends to a vanished peer
    out.close()


def test_opening_a_missing_port_raises_midi_error(ports):
    with pytest.raises(MidiError, match="no MIDI input port"):
        ports.open_input("Nobody:nothing", lambda msg: None)
    with pytest.raises(MidiError, match="no MIDI output port"):
        ports.open_output("Nobody:nothing")


def test_a_failing_callback_is_counted_and_the_input_keeps_going(ports, launchpad):
    inbox = queue.Queue()

    def callback(msg):
        if msg.type == "control_change":
            raise ValueError("handler bug")
        inbox.put(msg)

    handle = ports.open_input(launchpad.ready["inputs"][1], callback)
    launchpad.command("cc 19 127")
    launchpad.command("press 11")
    assert receive(inbox).note == 11
    assert handle.errors == 1 and handle.received == 1


def test_malformed_flood_is_dropped_and_later_messages_arrive(ports, launchpad):
    inbox = queue.Queue()
    handle = ports.open_input(launchpad.ready["inputs"][1], inbox.put)
    launchpad.command("flood 1000")
    launchpad.expect(lambda line: line.get("event") == "flooded", timeout_s=5)
    launchpad.command("press 88 1")
    marker = mido.Message("note_on", channel=0, note=88, velocity=1)
    deadline = time.monotonic() + 5
    while receive(inbox, max(0.0, deadline - time.monotonic())) != marker:
        pass
    assert handle.dropped > 0        # truncated SysEx, lone data bytes, undefined status bytes


def test_closing_an_input_during_a_flood_does_not_hang(ports, launchpad):
    # mido's rtmidi backend deadlocks here (closing while a Python callback waits for the GIL); we poll.
    handle = ports.open_input(launchpad.ready["inputs"][1], lambda msg: time.sleep(0.0005))
    launchpad.command("flood 3000")
    wait_for(lambda: handle.received + handle.dropped > 20, what="the flood to start")
    closer = threading.Thread(target=handle.close)
    closer.start()
    closer.join(timeout=5)
    assert not closer.is_alive(), "close() hung"
    assert handle.closed
    launchpad.expect(lambda line: line.get("event") == "flooded", timeout_s=5)


def test_close_closes_every_port(jack_server, launchpad):
    ports = MidiPorts("jack")
    handles = [ports.open_input(launchpad.ready["inputs"][0], lambda msg: None),
               ports.open_output(launchpad.ready["outputs"][0])]
    ports.close()
    assert all(handle.closed for handle in handles)
    probe = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name="probe")
    try:
        wait_for(lambda: not [name for name in probe.get_ports() if name.startswith(CLIENT_NAME)],
                 what="our ports to go")
    finally:
        probe.delete()


def test_without_a_jack_server_it_raises_midi_error(jack_server):
    # In a child: this process must talk to one JACK server only.
    code = ("from groovebox.hw.midi import MidiPorts, MidiError\n"
            "try:\n    MidiPorts('jack')\nexcept MidiError as exc:\n    print('MidiError', exc)\n")
    env = {**os.environ, "JACK_DEFAULT_SERVER": f"groovebox-absent-{os.getpid()}", "JACK_NO_START_SERVER": "1"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=30)
    assert result.stdout.startswith("MidiError"), result.stdout + result.stderr


def test_resolve_api():
    assert resolve_api("jack") == "jack"
    assert resolve_api("alsa") == "alsa"
    assert resolve_api("auto") == ("alsa" if os.path.exists("/dev/snd/seq") else "jack")
    with pytest.raises(ValueError):
        resolve_api("coremidi")


def test_strip_alsa_address():
    assert strip_alsa_address("APC MINI:APC MINI MIDI 1 20:0") == "APC MINI:APC MINI MIDI 1"
    assert strip_alsa_address("Launchpad X-01:Launchpad X LPX MIDI") == "Launchpad X-01:Launchpad X LPX MIDI"
