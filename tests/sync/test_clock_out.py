"""MIDI clock out to a virtual Launchpad (whose profile asks for clock): rate, and Start on the first launch."""

import time

import numpy as np
import pytest

from groovebox.controllers.profile import default_profile_dir, load_profile

pytestmark = pytest.mark.jack


def test_clock_runs_at_24_per_beat_start_song_position_and_stop(daemon, virtual_controller):
    profile = load_profile(default_profile_dir() / "novation_launchpad_mini_mk3.toml")
    pads = virtual_controller("novation_launchpad_mini_mk3")
    pads.expect(lambda line: line.get("type") == "clock", timeout_s=5)
    time.sleep(0.5)
    started = len(pads.history)
    audio_from = (time.monotonic(), daemon.engine.frame)
    time.sleep(10.2)
    audio_to = (time.monotonic(), daemon.engine.frame)
    arrivals = np.array([pads.received_s[index] for index in range(started, len(pads.history))
                         if pads.history[index].get("type") == "clock"])
    assert arrivals[-1] - arrivals[0] > 10.0
    seconds_per_clock = np.polyfit(np.arange(len(arrivals)), arrivals, 1)[0]   # robust to read jitter
    clocks_in_10_s = 10.0 / seconds_per_clock
    # 240 BPM: 96 clocks per 4/4 bar, 96 per second of the audio clock (which an overloaded machine's xruns
    # slow down against the wall clock: the MIDI clock follows the music, not the wall)
    audio_speed = (audio_to[1] - audio_from[1]) / 48000 / (audio_to[0] - audio_from[0])
    assert abs(clocks_in_10_s - 960 * audio_speed) <= 1, (clocks_in_10_s, audio_speed)

    pads.command(f"press {profile.pad_note(1)} 127")
    pads.expect(lambda line: line.get("type") == "start", timeout_s=3)      # (the LED may come just before
    deadline = time.monotonic() + 3                                           #  or after the Start)
    while not any(line.get("type") == "note_on" and line["note"] == profile.pad_note(1)
                  and line["channel"] == profile.leds.playing.channel for line in pads.history):
        assert time.monotonic() < deadline, "the pad never showed playing"
        time.sleep(0.05)
    follower = virtual_controller("akai_apc_mini_mk2")   # plugged in mid-song: position, then Continue
    position = follower.expect(lambda line: line.get("type") == "songpos", timeout_s=6)
    follower.expect(lambda line: line.get("type") == "continue", timeout_s=6)
    assert position["pos"] > 0
    pads.command(f"press {profile.pad_note(1)} 127")      # toggle off: everything stops -> Stop
    pads.expect(lambda line: line.get("type") == "stop", timeout_s=4)
