"""LED frames: the message per pad state per device, and diffs that send only what changed."""

from pathlib import Path

import mido
import pytest

from groovebox.controllers.leds import LedFrame, build_frame
from groovebox.controllers.profile import load_profile
from groovebox.engine.events import PadState

PROFILE_DIR = Path(__file__).resolve().parents[2] / "config" / "controllers"
EMPTY = ["empty"] * 16


@pytest.fixture(scope="module")
def launchpad():
    return load_profile(PROFILE_DIR / "novation_launchpad_mini_mk3.toml")


@pytest.fixture(scope="module")
def apc_mk2():
    return load_profile(PROFILE_DIR / "akai_apc_mini_mk2.toml")


@pytest.fixture(scope="module")
def apc_mk1():
    return load_profile(PROFILE_DIR / "akai_apc_mini.toml")


def note_on(note, velocity, channel=0):
    return mido.Message("note_on", note=note, velocity=velocity, channel=channel)


def with_state(pad, state, base=EMPTY):
    states = list(base)
    states[pad] = state
    return states


@pytest.mark.parametrize("state, channel, velocity", [
    ("empty", 0, 0), ("loaded", 0, 1), ("queued", 1, 21), ("playing", 2, 21), ("stopping", 1, 5),
    ("recording", 0, 5), (PadState.QUEUED, 1, 21), ("PLAYING", 2, 21),
])
def test_launchpad_pad_looks(launchpad, state, channel, velocity):
    frame = build_frame(launchpad, with_state(0, state))
    assert frame[("note", 51)] == note_on(51, velocity, channel)


@pytest.mark.parametrize("state, channel, velocity", [
    ("empty", 0, 0), ("loaded", 1, 3), ("queued", 14, 21), ("playing", 10, 21), ("stopping", 14, 5),
    ("recording", 6, 5),
])
def test_apc_mk2_pad_looks(apc_mk2, state, channel, velocity):
    assert build_frame(apc_mk2, with_state(15, state))[("note", 59)] == note_on(59, velocity, channel)


@pytest.mark.parametrize("state, velocity", [
    ("empty", 0), ("loaded", 5), ("queued", 2), ("playing", 1), ("stopping", 4), ("recording", 3),
])
def test_apc_mk1_pad_looks(apc_mk1, state, velocity):
    assert build_frame(apc_mk1, with_state(0, state))[("note", 32)] == note_on(32, velocity)


def test_loaded_colour_by_category(launchpad, apc_mk2):
    states = ["loaded"] * 16
    categories = ["drums", "bass", "unknown", None] + [None] * 12
    frame = build_frame(launchpad, states, categories=categories)
    assert [frame[("note", n)].velocity for n in (51, 52, 53, 54)] == [10, 46, 1, 1]
    assert build_frame(apc_mk2, states, categories=categories)[("note", 32)] == note_on(32, 9, channel=1)
    queued = build_frame(launchpad, with_state(0, "queued"), categories=categories)
    assert queued[("note", 51)] == note_on(51, 21, channel=1)          # category only tints "loaded"


def test_button_lamps(launchpad, apc_mk2):
    frame = build_frame(launchpad, EMPTY, lamps={"shift": True, "record_arm": "on", "quantize": "blink"})
    assert frame[("cc", 98)] == mido.Message("control_change", control=98, value=3)
    assert frame[("cc", 96)] == mido.Message("control_change", control=96, value=5)
    assert frame[("cc", 92)] == mido.Message("control_change", channel=1, control=92, value=3)
    assert frame[("cc", 19)] == mido.Message("control_change", control=19, value=0)   # not given: off
    apc = build_frame(apc_mk2, EMPTY, lamps={"scene_1": "on", "record_arm": "blink", "shift": True})
    assert apc[("note", 112)] == note_on(112, 1)
    assert apc[("note", 101)] == note_on(101, 2)
    assert ("note", 122) not in apc                                   # shift has no LED


def test_each_quadrant_shows_one_bank(launchpad):
    states = ["empty"] * 32 + ["playing"] * 16 + ["loaded"] * 16      # banks 0-1 empty, 2 playing, 3 loaded
    frame = build_frame(launchpad, states)
    assert len(frame) == 64 + 12
    assert frame[("note", 11)] == note_on(11, 21, channel=2)          # bank 2 = bottom-left quadrant
    assert frame[("note", 15)] == note_on(15, 1)                      # bank 3 = bottom-right quadrant
    assert frame[("note", 51)] == note_on(51, 0)                      # bank 0 dark
    assert list(frame)[:16] == [("note", launchpad.pad_note(p, 0)) for p in range(16)]


def test_areas_past_the_last_bank_are_dark(launchpad):
    frame = build_frame(launchpad, ["playing"] * 16)                  # a 16-pad session
    assert frame[("note", 51)] == note_on(51, 21, channel=2)
    assert all(frame[("note", launchpad.pad_note(p, area))] == note_on(launchpad.pad_note(p, area), 0)
               for area in (1, 2, 3) for p in range(16))
    shifted = build_frame(launchpad, ["queued"] * 32, first_bank=1)   # bank 1 in the first quadrant
    assert shifted[("note", 51)] == note_on(51, 21, channel=1)
    assert shifted[("note", 55)] == note_on(55, 0)


def test_repaint_sends_everything_and_diff_only_changes(launchpad):
    first = build_frame(launchpad, with_state(0, "loaded"))
    assert first.diff(None) == first.all()
    assert len(first.diff(None)) == 76
    assert first.diff(first) == []
    queued = build_frame(launchpad, with_state(0, "queued"))
    assert queued.diff(first) == [note_on(51, 21, channel=1)]
    playing = build_frame(launchpad, with_state(0, "playing"), lamps={"play": True})
    assert playing.diff(queued) == [note_on(51, 21, channel=2), mido.Message("control_change", control=95, value=21)]
    loaded = build_frame(launchpad, with_state(0, "loaded"))          # flash/pulse -> static: same LED, new channel
    assert loaded.diff(playing) == [note_on(51, 1), mido.Message("control_change", control=95, value=0)]


def test_paging_repaints_only_what_changed(launchpad):
    states = ["playing"] * 16 + ["empty"] * 48
    page0 = build_frame(launchpad, states, first_bank=0)
    page1 = build_frame(launchpad, states, first_bank=4)              # nothing past bank 3: all dark
    sent = page1.diff(page0)
    assert len(sent) == 16 and note_on(51, 0) in sent


def test_dropped_address_is_switched_off():
    before = LedFrame({("note", 5): note_on(5, 21, channel=2), ("cc", 9): mido.Message("control_change", control=9,
                                                                                         value=3, channel=1)})
    assert LedFrame().diff(before) == [note_on(5, 0), mido.Message("control_change", control=9, value=0)]


@pytest.mark.parametrize("stem", ["akai_mpd218", "generic_16pad"])
def test_devices_without_leds_send_nothing(stem):
    profile = load_profile(PROFILE_DIR / f"{stem}.toml")
    frame = build_frame(profile, ["playing"] * 16, lamps={"shift": True})
    assert len(frame) == 0
    assert frame.diff(None) == [] and frame.diff(frame) == []


def test_bad_input_raises(launchpad):
    with pytest.raises(ValueError, match="15 pad states given, expected a multiple of 16"):
        build_frame(launchpad, EMPTY[:15])
    with pytest.raises(ValueError, match="unknown pad state 'waiting'"):
        build_frame(launchpad, with_state(0, "waiting"))
    with pytest.raises(ValueError, match="unknown button 'record'"):
        build_frame(launchpad, EMPTY, lamps={"record": True})
    with pytest.raises(ValueError, match="'dim' is not one of"):
        build_frame(launchpad, EMPTY, lamps={"shift": "dim"})
    with pytest.raises(IndexError):
        build_frame(launchpad, EMPTY, first_bank=-1)
