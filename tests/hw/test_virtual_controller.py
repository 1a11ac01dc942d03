"""hw-mocks/virtual_controller.py: names, inquiry replies, LED state, commands and exit, through pipes and JACK.

The host side is groovebox.hw.midi (tested in test_midi.py). The Surface/describe tests need no JACK.
"""

import queue
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import mido
import pytest

from hw_mocks import load_virtual_controller_module

from groovebox.hw.midi import MidiPorts

SCRIPT = Path(__file__).resolve().parents[2] / "hw-mocks" / "virtual_controller.py"


vc = load_virtual_controller_module()
INQUIRY = mido.Message("sysex", data=[0x7E, 0x7F, 0x06, 0x01])


@pytest.fixture(scope="module")
def ports(jack_server):
    with MidiPorts("jack") as ports:
        yield ports


class Host:
    """Our side of one device port: an input queue and an output."""

    def __init__(self, ports: MidiPorts, process, index: int) -> None:
        self.inbox = queue.Queue()
        self.input = ports.open_input(process.ready["inputs"][index], self.inbox.put)
        self.output = ports.open_output(process.ready["outputs"][index])

    def receive(self, timeout_s: float = 2.0) -> mido.Message:
        try:
            return self.inbox.get(timeout=timeout_s)
        except queue.Empty:
            raise AssertionError(f"nothing received within {timeout_s} s") from None

    def close(self) -> None:
        self.input.close()
        self.output.close()


@pytest.fixture
def connect(ports):
    hosts = []

    def open_host(process, index: int | None = None) -> Host:
        host = Host(ports, process, vc.DEVICES[process.device].main_port if index is None else index)
        hosts.append(host)
        return host

    yield open_host
    for host in hosts:
        host.close()


def sysex(text: str) -> mido.Message:
    return mido.Message.from_bytes(vc.parse_hex(text.split()))


def is_message(line: dict) -> bool:
    return "type" in line


@pytest.mark.jack
@pytest.mark.parametrize("device", sorted(vc.DEVICES))
def test_ports_are_named_like_the_real_device(ports, device):
    spec = vc.DEVICES[device]
    with vc.ControllerProcess(device) as process:
        ready = process.ready
        assert ready["device"] == device and ready["client"] == spec.client
        assert ready["ports"] == list(spec.ports["alsa"])
        for names in (ready["inputs"], ready["outputs"]):
            assert [name.split(":", 1)[1] for name in names] == ready["ports"]
            assert all(re.fullmatch(rf"{re.escape(spec.client)}(-\d+)?", name.split(":", 1)[0]) for name in names)
        assert [name for name in ports.input_names() if name in ready["inputs"]] == ready["inputs"]
        assert [name for name in ports.output_names() if name in ready["outputs"]] == ready["outputs"]


@pytest.mark.jack
@pytest.mark.parametrize("naming, expected", [
    ("legacy", ["Launchpad Mini MK3 MIDI 1", "Launchpad Mini MK3 MIDI 2"]),
    ("short", ["LPMiniMK3 DAW", "LPMiniMK3 MIDI"]),
])
def test_other_naming_styles(jack_server, naming, expected):
    with vc.ControllerProcess("novation_launchpad_mini_mk3", "--naming", naming) as process:
        assert process.ready["ports"] == expected


@pytest.mark.jack
@pytest.mark.parametrize("device", [name for name, spec in sorted(vc.DEVICES.items()) if spec.inquiry_reply])
def test_answers_the_device_inquiry(connect, device):
    with vc.ControllerProcess(device) as process:
        host = connect(process)
        host.output.send(INQUIRY)
        assert host.receive() == sysex(vc.DEVICES[device].inquiry_reply)
        spec = vc.DEVICES[device]
        assert process.expect(is_message) == {"type": "sysex", "hex": "F0 7E 7F 06 01 F7",
                                             "port": spec.ports["alsa"][spec.main_port]}


@pytest.mark.jack
def test_a_device_without_inquiry_support_stays_silent(connect):
    with vc.ControllerProcess("generic_16pad") as process:
        host = connect(process)
        host.output.send(INQUIRY)
        process.expect(lambda line: line.get("type") == "sysex")     # the reply would be queued before this line
        process.command("press 36 90")
        assert host.receive() == mido.Message("note_on", channel=9, note=36, velocity=90)


@pytest.mark.jack
def test_remembers_mode_sysex_and_answers_readback(connect):
    with vc.ControllerProcess("novation_launchpad_mini_mk3") as process:
        host = connect(process)
        host.output.send(sysex("F0 00 20 29 02 0D 0E 01 F7"))        # Programmer mode on
        host.output.send(sysex("F0 00 20 29 02 0D 0E F7"))           # readback
        assert host.receive() == sysex("F0 00 20 29 02 0D 0E 01 F7")
        process.command("state")
        state = process.expect(lambda line: line.get("event") == "state")
        assert state["sysex"] == {"0E": "F0 00 20 29 02 0D 0E 01 F7"}


@pytest.mark.jack
def test_keeps_the_led_state(connect):
    with vc.ControllerProcess("novation_launchpad_mini_mk3") as process:
        host = connect(process)
        for msg in (mido.Message("note_on", channel=1, note=81, velocity=21),
                    mido.Message("note_on", channel=0, note=82, velocity=5),
                    mido.Message("note_off", channel=0, note=82),
                    mido.Message("control_change", channel=2, control=89, value=9),
                    sysex("F0 00 20 29 02 0D 03 00 0B 05 03 0C 7F 00 00 F7")):   # pad 11 red, pad 12 RGB
            host.output.send(msg)
        for _ in range(5):
            process.expect(is_message)
        process.command("state")
        state = process.expect(lambda line: line.get("event") == "state")
        assert state["leds"] == [
            {"kind": "cc", "number": 89, "channel": 2, "value": 9},
            {"kind": "note", "number": 11, "channel": 0, "value": 5},
            {"kind": "note", "number": 12, "rgb": [127, 0, 0]},
            {"kind": "note", "number": 81, "channel": 1, "value": 21},
        ]
        assert state["received"] == 5


@pytest.mark.jack
@pytest.mark.parametrize("device, channel, release", [
    ("novation_launchpad_x", 0, "note_on"),
    ("akai_apc_mini_mk2", 0, "note_off"),
    ("akai_mpd218", 9, "note_off"),
])
def test_commands_reach_the_host_in_order(connect, device, channel, release):
    with vc.ControllerProcess(device) as process:
        host = connect(process)
        for line in ("press 40 77", "release 40", "cc 7 64", "raw F0 7D 01 F7"):
            process.command(line)
        assert host.receive() == mido.Message("note_on", channel=channel, note=40, velocity=77)
        assert host.receive() == mido.Message(release, channel=channel, note=40, velocity=0)
        assert host.receive() == mido.Message("control_change", channel=channel, control=7, value=64)
        assert host.receive() == sysex("F0 7D 01 F7")
        first = process.expect(lambda line: line.get("event") == "sent")
        assert first == {"event": "sent", "hex": f"{0x90 | channel:02X} 28 4D"}


@pytest.mark.jack
def test_bad_commands_are_reported_not_fatal(jack_server):
    with vc.ControllerProcess("akai_apc_mini") as process:
        for line in ("press", "press 200", "jump 3", "raw 9"):
            process.command(line)
            assert process.expect(lambda line: "event" in line)["event"] == "error"
        process.command("press 1")
        assert process.expect(lambda line: "event" in line) == {"event": "sent", "hex": "90 01 7F"}


@pytest.mark.jack
def test_survives_a_flood_from_the_host(connect):
    with vc.ControllerProcess("akai_apc_mini_mk2") as process:
        host = connect(process)
        for number in range(2000):
            host.output.send(mido.Message("note_on", channel=number % 16, note=number % 64, velocity=number % 128))
        host.output.send(INQUIRY)
        process.expect(lambda line: line.get("type") == "sysex", timeout_s=5)
        assert host.receive(timeout_s=5).type == "sysex"


@pytest.mark.jack
@pytest.mark.parametrize("how", ["quit", "eof", "sigterm"])
def test_exits_cleanly_and_its_ports_go(ports, how):
    process = vc.ControllerProcess("akai_mpd218")
    if how == "quit":
        process.command("quit")
    elif how == "eof":
        process.process.stdin.close()
    else:
        process.process.send_signal(signal.SIGTERM)
    try:
        assert process.process.wait(timeout=5) == 0
    except subprocess.TimeoutExpired:
        process.process.kill()
        raise
    process.expect(lambda line: line.get("event") == "bye")
    deadline = time.monotonic() + 2
    while process.ready["inputs"][0] in ports.input_names():
        assert time.monotonic() < deadline, "ports still listed"
        time.sleep(0.02)


@pytest.mark.jack
def test_text_mode_draws_the_grid(jack_server):
    result = subprocess.run([sys.executable, str(SCRIPT), "akai_apc_mini_mk2"], input="state\nquit\n",
                            capture_output=True, text=True, timeout=20)
    assert result.returncode == 0, result.stderr
    assert "APC mini mk2" in result.stdout
    assert len([line for line in result.stdout.splitlines() if line.count(" . ") >= 8]) >= 9


def test_surface_draws_leds_with_their_behaviour():
    surface = vc.Surface(vc.DEVICES["novation_launchpad_mini_mk3"])
    assert surface.apply([0x91, 81, 21]) and surface.apply([0x92, 18, 5]) and surface.apply([0xB0, 91, 3])
    assert not surface.apply([0x91, 81, 21])               # no change
    lines = surface.draw().splitlines()
    assert lines[1].split()[:2] == ["cc", "3"]              # top row CC 91
    assert lines[2].split()[:2] == ["81", "21*"]            # row 8 (notes 81..88), flashing
    assert lines[9].split()[8] == "5~"                      # row 1 (notes 11..18), pulsing
    assert surface.apply([0x80, 81, 0]) and "21*" not in surface.draw()


def test_surface_4x4_and_apc_rgb():
    pads = vc.Surface(vc.DEVICES["akai_mpd218"])
    pads.apply([0x99, 51, 100])
    assert pads.draw().splitlines()[1].split() == ["48", ".", ".", ".", "100"]   # note 51 = top right pad
    apc = vc.Surface(vc.DEVICES["akai_apc_mini_mk2"])
    assert apc.apply([0xF0, 0x47, 0x7F, 0x4F, 0x24, 0x00, 0x08, 0x00, 0x01, 0x01, 0x7F, 0, 0, 0, 0, 0xF7])
    assert apc.state()["leds"] == [{"kind": "note", "number": n, "rgb": [255, 0, 0]} for n in (0, 1)]


@pytest.mark.parametrize("data, expected", [
    ([0x90, 36, 100], {"type": "note_on", "channel": 0, "note": 36, "velocity": 100}),
    ([0xB9, 7, 1], {"type": "control_change", "channel": 9, "control": 7, "value": 1}),
    ([0xE0, 0, 64], {"type": "pitchwheel", "channel": 0, "pitch": 0}),
    ([0xF8], {"type": "clock"}),
    ([0xF0, 1, 0xF7], {"type": "sysex", "hex": "F0 01 F7"}),
    ([0xF0, 1, 2], {"type": "invalid", "hex": "F0 01 02"}),
    ([0x90, 36], {"type": "invalid", "hex": "90 24"}),
    ([0xF4], {"type": "invalid", "hex": "F4"}),
])
def test_describe(data, expected):
    assert vc.describe(data) == expected
