"""Controller profiles: every shipped file validates and finds its device; bad files fail with a field path."""

from pathlib import Path

import mido
import pytest

from groovebox.controllers.profile import (
    BUTTON_NAMES, Profile, ProfileError, default_profile_dir, is_press, load_profile, load_profiles, scene_pads,
)

PROFILE_DIR = Path(__file__).resolve().parents[2] / "config" / "controllers"
SHIPPED = sorted(PROFILE_DIR.glob("*.toml"))

# The names the virtual controllers (hw-mocks) expose under JACK, and the names real devices get under ALSA.
PORTS = {
    "novation_launchpad_mini_mk3": {
        "yes": ["Launchpad Mini MK3:LPMiniMK3 MIDI", "Launchpad Mini MK3:Launchpad Mini MK3 LPMiniMK3 MIDI 20:1",
                "LPMiniMK3 MIDI", "Launchpad Mini MK3:Launchpad Mini MK3 MIDI 2 24:1"],
        "no": ["Launchpad Mini MK3:LPMiniMK3 DAW", "Launchpad Mini MK3:Launchpad Mini MK3 LPMiniMK3 DAW 20:0",
               "Launchpad Mini MK3:Launchpad Mini MK3 MIDI 1 24:0"],
    },
    "novation_launchpad_x": {
        "yes": ["Launchpad X:LPX MIDI", "Launchpad X:Launchpad X LPX MIDI 20:1", "LPX MIDI",
                "Launchpad X:Launchpad X MIDI 2 28:1"],
        "no": ["Launchpad X:LPX DAW", "Launchpad X:Launchpad X LPX DAW 20:0", "Launchpad X:Launchpad X MIDI 1 28:0"],
    },
    "akai_apc_mini_mk2": {
        "yes": ["APC mini mk2:APC mini mk2 Control", "APC mini mk2 Control",
                "APC mini mk2:APC mini mk2 APC mini mk2 Contro 20:0", "APC mini mk2:APC mini mk2 MIDI 1 20:0"],
        "no": ["APC mini mk2:APC mini mk2 Notes", "APC mini mk2:APC mini mk2 APC mini mk2 Notes 20:1",
               "APC mini mk2:APC mini mk2 MIDI 2 20:1"],
    },
    "akai_apc_mini": {
        "yes": ["APC MINI:APC MINI", "APC MINI", "APC MINI:APC MINI MIDI 1 20:0"],
        "no": ["APC mini mk2:APC mini mk2 Control", "APC MINI MK2:APC MINI MK2 MIDI 1 20:0"],
    },
    "akai_mpd218": {
        "yes": ["MPD218:MPD218 Port A", "MPD218 Port A", "MPD218:MPD218 MIDI 1 20:0"],
        "no": ["Launchpad X:LPX MIDI"],
    },
    "generic_16pad": {
        "yes": ["MIDI Pads:MIDI Pads", "Pads:Pads 1", "USB MIDI Pads:USB MIDI Pads MIDI 1 20:0"],
        "no": ["Launchpad Mini MK3:LPMiniMK3 MIDI", "Midi Through:Midi Through Port-0 14:0"],
    },
}


@pytest.fixture(scope="module")
def profiles() -> dict[str, Profile]:
    return {path.stem: load_profile(path) for path in SHIPPED}


def write(tmp_path: Path, text: str, name: str = "bad.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


MINIMAL = """
name = "Test"
match = ["Test Pads"]
[pads]
channel = 0
notes = [36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51]
"""


# --- shipped files --------------------------------------------------------------------------------------------

def test_the_six_devices_ship():
    assert sorted(p.stem for p in SHIPPED) == sorted(PORTS)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_profile_validates(path):
    profile = load_profile(path)
    assert Profile.model_validate(profile.model_dump()) == profile
    assert path.read_text().startswith("#"), "each profile opens with a comment block: device, layout, sources"


@pytest.mark.parametrize("stem", sorted(PORTS))
def test_profile_matches_its_ports_only(profiles, stem):
    for name in PORTS[stem]["yes"]:
        assert profiles[stem].matches(name), name
        others = [other for other, profile in profiles.items() if other != stem and profile.matches(name)]
        assert others == [], f"{name} also matches {others}"
    for name in PORTS[stem]["no"]:
        assert not profiles[stem].matches(name), name


def test_load_profiles_sorts_by_file_name_and_default_dir_is_the_repo_folder():
    assert default_profile_dir() == PROFILE_DIR
    assert [p.name for p in load_profiles()] == [load_profile(path).name for path in SHIPPED]


def test_launchpad_connect_and_disconnect_messages(profiles):
    mini = profiles["novation_launchpad_mini_mk3"]
    assert [m.hex() for m in mini.on_connect] == ["F0 00 20 29 02 0D 09 01 F7", "F0 00 20 29 02 0D 0E 01 F7"]
    assert [m.hex() for m in mini.on_disconnect] == ["F0 00 20 29 02 0D 0E 00 F7"]
    assert profiles["novation_launchpad_x"].on_connect[1].hex() == "F0 00 20 29 02 0C 0E 01 F7"
    assert profiles["akai_apc_mini_mk2"].on_connect[0].hex() == "F0 47 7F 4F 62 00 01 00 F7"


def test_no_led_devices(profiles):
    assert profiles["akai_mpd218"].leds is None
    assert profiles["generic_16pad"].leds is None
    assert profiles["akai_mpd218"].velocity and profiles["generic_16pad"].velocity


# --- pads and buttons --------------------------------------------------------------------------------------------

def note_on(note, velocity=100, channel=0):
    return mido.Message("note_on", note=note, velocity=velocity, channel=channel)


def cc(control, value=127, channel=0):
    return mido.Message("control_change", control=control, value=value, channel=channel)


def test_launchpad_pads_banks_and_buttons(profiles):
    lp = profiles["novation_launchpad_mini_mk3"]
    assert lp.pad_for(note_on(51)) == (0, 0)
    assert lp.pad_for(note_on(84)) == (0, 15)
    assert lp.pad_for(note_on(55)) == (1, 0)
    assert lp.pad_for(note_on(11)) == (2, 0)
    assert lp.pad_for(note_on(48)) == (3, 15)
    assert lp.pad_note(15, bank=3) == 48
    assert lp.pad_for(note_on(51, channel=1)) is None            # wrong channel
    assert lp.pad_for(cc(51)) is None                              # right number, wrong kind
    assert lp.button_for(cc(89)) == "scene_1"
    assert lp.button_for(cc(19, 0)) == "stop_all"
    assert lp.button_for(cc(98)) == "shift"
    assert lp.button_for(note_on(89)) is None
    assert lp.pad_for(cc(89)) is None


def test_apc_mk2_pads_and_buttons(profiles):
    apc = profiles["akai_apc_mini_mk2"]
    assert [apc.pad_note(p) for p in (0, 3, 4, 12, 15)] == [32, 35, 40, 56, 59]
    assert apc.pad_for(note_on(32)) == (0, 0)
    assert apc.pad_for(mido.Message("note_off", note=59)) == (0, 15)
    assert apc.pad_for(note_on(0)) == (2, 0)
    assert apc.button_for(note_on(112)) == "scene_1"
    assert apc.button_for(note_on(122)) == "shift"
    assert apc.button_for(note_on(119)) == "stop_all"
    assert apc.pad_for(note_on(112)) is None


def test_generic_pads_any_channel_and_release(profiles):
    generic = profiles["generic_16pad"]
    assert generic.pad_for(note_on(36)) == (0, 0)
    assert generic.pad_for(note_on(51, channel=9)) == (0, 15)
    assert generic.pad_for(note_on(52)) is None
    release = note_on(36, velocity=0)
    assert generic.pad_for(release) == (0, 0) and not is_press(release)
    assert is_press(note_on(36, 1))
    assert not is_press(mido.Message("note_off", note=36, velocity=64))
    assert is_press(cc(19, 127)) and not is_press(cc(19, 0))
    assert generic.button_for(note_on(36)) is None
    assert generic.pad_for(mido.Message("clock")) is None


def test_mpd218_banks(profiles):
    mpd = profiles["akai_mpd218"]
    assert mpd.pad_for(note_on(36, channel=9)) == (0, 0)
    assert mpd.pad_for(note_on(52, channel=9)) == (1, 0)
    assert mpd.pad_for(note_on(83, channel=9)) == (2, 15)
    assert mpd.pad_for(note_on(36, channel=0)) is None


def test_scene_rows():
    assert list(scene_pads("scene_1")) == [12, 13, 14, 15]
    assert list(scene_pads("scene_4")) == [0, 1, 2, 3]
    assert set(BUTTON_NAMES) >= {"scene_1", "stop_all", "shift", "play", "tap"}


# --- bad files ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    (MINIMAL + 'x = 1\n', "bad.toml: pads.x: Extra inputs are not permitted"),
    (MINIMAL.replace('name = "Test"', 'name = "Test"\ncolour = 1'), "bad.toml: colour: Extra inputs"),
    (MINIMAL.replace("36, 37,", "37,"), "bad.toml: pads.notes: 15 notes given"),
    (MINIMAL.replace("36, 37,", "37, 37,"), "bad.toml: pads.notes: notes repeat: [37]"),
    (MINIMAL.replace("36, 37,", "136, 37,"), "bad.toml: pads.notes.0: Input should be less than or equal to 127"),
    (MINIMAL.replace("channel = 0", "channel = 16"), "bad.toml: pads.channel: channel must be 0..15"),
    (MINIMAL.replace('["Test Pads"]', '["Test (Pads"]'), "bad.toml: match.0: 'Test (Pads' is not a regular"),
    ('on_connect = ["F0 00 2G F7"]\n' + MINIMAL, "bad.toml: on_connect.0: 'F0 00 2G F7' is not hex bytes"),
    ('on_disconnect = ["F0 00 20"]\n' + MINIMAL, "bad.toml: on_disconnect.0: 'F0 00 20' is not one complete MIDI"),
    ('on_connect = ["90 3C"]\n' + MINIMAL, "bad.toml: on_connect.0: '90 3C' is not one complete MIDI message"),
    (MINIMAL.replace("channel = 0", "channel = 0\nbank_offsets = [0, 80]"), "bad.toml: pads.bank_offsets: bank 1"),
    (MINIMAL.replace("channel = 0", "channel = 0\nbank_offsets = [0, 8]"), "overlaps an earlier bank"),
    (MINIMAL + "[buttons]\nstop = { kind = 'cc', number = 19 }\n", "bad.toml: buttons.stop.[key]: Input should be"),
    (MINIMAL + "[buttons]\nshift = { kind = 'note', number = 40 }\n",
     "bad.toml: buttons: shift (note 40) is already pad 4 of bank 0"),
    (MINIMAL + "[buttons]\nshift = { kind = 'cc', number = 40 }\ntap = { kind = 'cc', number = 40 }\n",
     "bad.toml: buttons: tap (cc 40) is already button shift"),
    (MINIMAL + "[leds]\nloaded = { velocity = 1 }\n", "bad.toml: leds.queued: Field required"),
    (MINIMAL.replace('name = "Test"', 'name = "Test"\nleds = true'), "bad.toml: leds: leds = true is not a style"),
    ("name = \n", "bad.toml: not valid TOML"),
])
def test_bad_file_names_file_and_field(tmp_path, text, expected):
    with pytest.raises(ProfileError) as caught:
        load_profile(write(tmp_path, text))
    assert expected in str(caught.value)


def test_button_on_a_different_channel_from_the_pads_is_allowed(tmp_path):
    text = MINIMAL + "[buttons]\nshift = { kind = 'note', number = 40, channel = 1 }\n"
    profile = load_profile(write(tmp_path, text))
    assert profile.button_for(note_on(40, channel=1)) == "shift"
    assert profile.pad_for(note_on(40, channel=0)) == (0, 4)


def test_missing_file_and_bad_file_in_folder(tmp_path):
    with pytest.raises(ProfileError, match="cannot read"):
        load_profile(tmp_path / "nope.toml")
    write(tmp_path, MINIMAL, "a_good.toml")
    write(tmp_path, MINIMAL.replace("36, 37,", "37,"), "b_bad.toml")
    with pytest.raises(ProfileError, match="b_bad.toml: pads.notes"):
        load_profiles(tmp_path)
