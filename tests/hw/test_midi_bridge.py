"""The MIDI child process: clear failure without a MIDI API; port lists and messages both ways."""

import threading

import mido
import pytest

from groovebox.hw.midi_bridge import MidiBridge, MidiBridgeError


def test_no_jack_server_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "no-such-server")
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    with pytest.raises(MidiBridgeError, match="JACK server"):
        MidiBridge("jack")


def test_ports_and_messages_cross_the_process_boundary(jack_server, virtual_controller):
    pads = virtual_controller("generic_16pad")
    received = []
    arrived = threading.Event()
    with MidiBridge("jack", poll_s=0.1) as bridge:
        name = next(n for n in bridge.input_names() if "Pads" in n)
        bridge.open_input(name, lambda message: (received.append(message), arrived.set()))
        output = bridge.open_output(next(n for n in bridge.output_names() if "Pads" in n))
        output.send(mido.Message("note_on", note=40, velocity=9))
        pads.expect(lambda line: line.get("type") == "note_on" and line["note"] == 40, timeout_s=3)
        pads.command("press 36 100")
        assert arrived.wait(3)
    assert received[0].type == "note_on" and received[0].note == 36 and received[0].velocity == 100
