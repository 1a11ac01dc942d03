"""The daemon with real controllers: virtual devices on JACK MIDI, audio through PortAudio on JACK, recorded.

A virtual Launchpad Mini MK3 / APC mini mk2 (hw-mocks/virtual_controller.py in a subprocess) is matched by
name, initialised and painted; a pad press lights "queued", the pad's audio starts on the bar frame in the
captured JACK output, the LED turns to "playing"; unplugging and re-plugging the device re-initialises and
repaints it within 2 s while the captured audio runs on without a gap.
"""

import json
import time

import numpy as np
import pytest

from groovebox.controllers.profile import default_profile_dir, load_profile
from groovebox.hw.jackserver import client_output_ports

pytestmark = pytest.mark.jack

def early_in_a_bar(daemon):
    """Wait until the transport is a quarter into a bar, so a press is queued well before the next bar line
    (a press just before the line would start within the same 20 ms poll and skip the queued LED)."""
    from groovebox.engine import Status

    deadline = time.monotonic() + 3
    while not 0.5 <= daemon.engine.status[Status.BEAT] % 4 < 2.0:
        assert time.monotonic() < deadline
        time.sleep(0.005)


def led(line, note, look):
    return line.get("type") == "note_on" and line["note"] == note and \
        (line["channel"], line["velocity"]) == (look.channel, look.velocity)


@pytest.mark.parametrize("device", ["novation_launchpad_mini_mk3", "akai_apc_mini_mk2"])
def test_press_lights_queued_starts_on_the_bar_and_survives_a_replug(daemon, jack_server, jack_recorder,
                                                                      virtual_controller, device):
    profile = load_profile(default_profile_dir() / f"{device}.toml")
    pad_note = profile.pad_note(1)
    first_mode_message = profile.on_connect[0].hex()
    recorder = jack_recorder(client_output_ports("PortAudio", jack_server.env)[-2:], max_seconds=12.0)

    pads = virtual_controller(device)
    pads.expect(lambda l: l.get("hex") == first_mode_message, timeout_s=3)      # matched and initialised
    pads.expect(lambda l: led(l, pad_note, profile.leds.loaded), timeout_s=3)    # loaded pads lit
    early_in_a_bar(daemon)
    pads.command(f"press {pad_note} 127")
    pads.expect(lambda l: led(l, pad_note, profile.leds.queued), timeout_s=3)
    pads.expect(lambda l: led(l, pad_note, profile.leds.playing), timeout_s=3)   # on the next bar
    time.sleep(0.5)

    pads.stop()                                                                  # unplugged ...
    time.sleep(0.5)
    replugged_at = time.monotonic()
    pads = virtual_controller(device)                                            # ... and back
    pads.expect(lambda l: l.get("hex") == first_mode_message, timeout_s=3)
    pads.expect(lambda l: led(l, pad_note, profile.leds.playing), timeout_s=3)   # repainted: still playing
    assert time.monotonic() - replugged_at < 2.0 + 0.5                           # (+ process start-up slack)
    time.sleep(0.5)
    recorded = recorder.frames.copy()

    pad_audio = recorded[:, 0] - recorded[:, 1]          # the metronome is on both sides, the pads only left
    onset = int(np.flatnonzero(np.abs(pad_audio) > 0.25)[0])
    right = recorded[:, 1]
    assert right[onset] == 0 and right[onset + 1] != 0 and abs(right[onset + 1:onset + 200]).max() > 0.4  # a downbeat
    after = pad_audio[onset:]
    assert len(after) > 1.5 * 48000                      # from the bar it started through unplug and replug:
    assert after.min() > 0.45                            # no gap (the limiter dips it by 2 % on accented clicks)
    health = daemon.session.health()
    assert [c["profile"] for c in health["controllers"]] == [profile.name]


def test_a_flood_of_junk_neither_stops_the_controller_nor_the_audio(daemon, jack_server, jack_recorder,
                                                                     virtual_controller):
    profile = load_profile(default_profile_dir() / "novation_launchpad_mini_mk3.toml")
    recorder = jack_recorder(client_output_ports("PortAudio", jack_server.env)[-2:], max_seconds=10.0)
    pads = virtual_controller("novation_launchpad_mini_mk3")
    pads.expect(lambda l: led(l, profile.pad_note(1), profile.leds.loaded), timeout_s=3)
    pads.command(f"press {profile.pad_note(1)} 127")
    pads.expect(lambda l: led(l, profile.pad_note(1), profile.leds.playing), timeout_s=3)
    pads.command("raw F0 00 20 29")                      # a truncated SysEx (JACK joins what follows to it
    pads.command("flood 1000")                           # until an F7), then junk as fast as it can
    pads.expect(lambda l: l.get("event") == "flooded", timeout_s=5)
    pads.command("raw F0 7D 00 F7")                      # a complete SysEx ends any half-joined one
    time.sleep(0.5)
    early_in_a_bar(daemon)
    pads.command(f"press {profile.pad_note(0)} 127")     # still listening afterwards
    pads.expect(lambda l: led(l, profile.pad_note(0), profile.leds.queued), timeout_s=3)
    time.sleep(0.3)
    pad_audio = recorder.frames[:, 0] - recorder.frames[:, 1]
    onset = int(np.flatnonzero(np.abs(pad_audio) > 0.25)[0])
    assert pad_audio[onset:].min() > 0.35                # played on through the flood (a gap would read 0;
                                                         # the limiter dips it a little on accented clicks)
    assert daemon.controllers.drivers[0].ignored > 0


def test_devices_lists_midi_ports_and_the_profile_each_matched(jack_server, virtual_controller):
    import subprocess
    import sys

    virtual_controller("akai_apc_mini_mk2")
    result = subprocess.run([sys.executable, "-m", "groovebox", "devices", "--json"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    ports = json.loads(result.stdout)["midi"]
    matched = {(p["direction"], p["profile"]) for p in ports if "APC mini mk2" in p["name"]}
    assert ("input", "APC mini mk2") in matched and ("output", "APC mini mk2") in matched
    assert any(p["profile"] is None for p in ports if "Notes" in p["name"])    # the Notes port is not ours


def test_two_controllers_at_once(daemon, virtual_controller):
    launchpad = load_profile(default_profile_dir() / "novation_launchpad_mini_mk3.toml")
    apc = load_profile(default_profile_dir() / "akai_apc_mini_mk2.toml")
    pads_lp = virtual_controller("novation_launchpad_mini_mk3")
    pads_apc = virtual_controller("akai_apc_mini_mk2")
    pads_lp.expect(lambda l: led(l, launchpad.pad_note(0), launchpad.leds.loaded), timeout_s=3)
    pads_apc.expect(lambda l: led(l, apc.pad_note(0), apc.leds.loaded), timeout_s=3)
    early_in_a_bar(daemon)
    pads_apc.command(f"press {apc.pad_note(1)} 127")                 # pressed on the APC ...
    pads_apc.expect(lambda l: led(l, apc.pad_note(1), apc.leds.queued), timeout_s=3)
    pads_lp.expect(lambda l: led(l, launchpad.pad_note(1), launchpad.leds.queued), timeout_s=3)   # ... shown on both
    assert sorted(c["profile"] for c in daemon.session.health()["controllers"]) == ["APC mini mk2",
                                                                                   "Launchpad Mini MK3"]
