"""Faders for the live Lyria pad: the optional ``[live]`` table of controller profiles, validated like the
rest, and routed by PadDriver to the session's LivePad (real profiles, session, engine and LivePad; the stream
worker's part is played by an in-process handle that records what it is sent)."""

import mido
import numpy as np
import pytest

from groovebox.control.livepad import LivePad
from groovebox.control.session import Session, SessionInfo
from groovebox.controllers.driver import PadDriver
from groovebox.controllers.profile import (
    Profile,
    ProfileError,
    default_profile_dir,
    load_profile,
)
from groovebox.engine import Engine
from groovebox.engine.stream import new_header
from groovebox.hw import OfflineBackend

PROMPTS = [("dub techno", 1.0), ("techno", 0.8), ("rhodes", 0.6), ("dreamy", 0.5)]


class RecordingHandle:
    """Stands in for the stream worker: a ring and header the engine can attach, and a record of messages."""

    def __init__(self) -> None:
        self.ring = np.zeros((48000 * 8, 2), np.float32)
        self.header = new_header()
        self.prompts, self.density, self.brightness = PROMPTS, None, None
        self.sent = []

    def send(self, message):
        self.sent.append(message)
        return True

    def messages(self):
        return []

    def alive(self):
        return True

    def stop(self):
        pass

    def terminate(self, timeout_s=2.0):
        pass

    def release_memory(self):
        return True


def cc(control, value, channel=0):
    return mido.Message("control_change", control=control, value=value, channel=channel)


@pytest.fixture
def rig():
    session = Session(Engine(pads=16), OfflineBackend(), SessionInfo("offline", 48000, 256))
    handle = RecordingHandle()
    live = LivePad(session, lambda request, tempo_bpm: handle, pad=15)
    session.live = live
    return session, live, handle


@pytest.mark.parametrize("stem", ["akai_apc_mini", "akai_apc_mini_mk2"])
def test_apc_faders_steer_the_live_pad(rig, stem):
    session, live, handle = rig
    driver = PadDriver(load_profile(default_profile_dir() / f"{stem}.toml"), session, None)
    live.start(object())
    for message in (cc(48, 127), cc(49, 0), cc(51, 64), cc(52, 127), cc(53, 0)):
        driver.handle(message)
    live.poll()
    assert handle.sent == [{"kind": "steer", "prompts": [["dub techno", 2.0], ["techno", 0.0], ["rhodes", 0.6],
                                                         ["dreamy", 64 / 127 * 2]],
                            "density": 1.0, "brightness": 0.0}]
    assert driver.ignored == 0


def test_a_fader_sweep_is_one_message_per_poll(rig):
    session, live, handle = rig
    driver = PadDriver(load_profile(default_profile_dir() / "akai_apc_mini_mk2.toml"), session, None)
    live.start(object())
    for value in range(0, 128, 8):
        driver.handle(cc(52, value))
    live.poll()
    live.poll()
    assert len(handle.sent) == 1 and handle.sent[0]["density"] == 120 / 127


def test_faders_that_would_silence_every_prompt_are_dropped_with_one_message(rig):
    session, live, handle = rig
    messages = []
    live.listeners.append(messages.append)
    driver = PadDriver(load_profile(default_profile_dir() / "akai_apc_mini_mk2.toml"), session, None)
    live.start(object())
    for control in (48, 49, 50, 51):
        driver.handle(cc(control, 0))
        driver.handle(cc(control, 0))
    live.poll()
    assert handle.sent[-1]["prompts"] == [["dub techno", 0.0], ["techno", 0.0], ["rhodes", 0.0], ["dreamy", 0.5]]
    assert len(messages) == 1 and "one active prompt" in messages[0]["message"]


def test_without_a_live_pad_the_faders_are_ignored(rig):
    session, live, _ = rig
    driver = PadDriver(load_profile(default_profile_dir() / "akai_apc_mini_mk2.toml"), session, None)
    session.live = None
    driver.handle(cc(48, 100))
    assert driver.ignored == 1
    session.live = live                               # a live pad that is not streaming counts them itself
    driver.handle(cc(48, 100))
    assert live.ignored_ccs == 1 and driver.ignored == 1


def profile_data(**live):
    return {"name": "Test", "match": ["Test"], "pads": {"channel": 0, "notes": list(range(36, 52))},
            "buttons": {"stop_all": {"kind": "cc", "number": 20}}, "live": live}


def test_the_live_table_is_validated():
    profile = Profile.model_validate(profile_data(density={"number": 21}, weight_1={"number": 22, "channel": "any"}))
    assert profile.live_for(cc(21, 5)) == "density" and profile.live_for(cc(21, 5, channel=3)) is None
    assert profile.live_for(cc(22, 5, channel=9)) == "weight_1"
    assert profile.live_for(mido.Message("note_on", note=21)) is None
    with pytest.raises(ValueError, match="density .cc 20. is already button stop_all"):
        Profile.model_validate(profile_data(density={"number": 20}))
    with pytest.raises(ValueError, match="brightness .cc 22. is already live weight_1"):
        Profile.model_validate(profile_data(weight_1={"number": 22}, brightness={"number": 22}))
    with pytest.raises(ValueError, match="live.tempo"):
        Profile.model_validate(profile_data(tempo={"number": 23}))


def test_a_bad_live_table_names_the_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('name = "Bad"\nmatch = ["Bad"]\n[pads]\nchannel = 0\nnotes = ' + str(list(range(16)))
                    + '\n[live]\nweight_1 = { number = 200 }\n')
    with pytest.raises(ProfileError, match=r"bad.toml: live.weight_1.number"):
        load_profile(path)
