"""PadDriver with real profiles, a real session and engine, and a recording output (no ports needed)."""

import mido
import numpy as np
import pytest

from groovebox.control.session import Session, SessionInfo
from groovebox.controllers.driver import PadDriver
from groovebox.controllers.profile import default_profile_dir, load_profile
from groovebox.engine import Engine, PadState, render_offline
from groovebox.engine import commands as c
from groovebox.hw import OfflineBackend


class Recorder:
    def __init__(self):
        self.sent = []

    def send(self, message):
        self.sent.append(message)


def profile(stem):
    return load_profile(default_profile_dir() / f"{stem}.toml")


@pytest.fixture
def session():
    engine = Engine()
    for pad in range(3):
        engine.post(c.LoadPad(pad, np.full((9600, 2), 0.1, np.float32), 120.0,
                              launch_mode=c.LaunchMode.ONE_SHOT if pad == 2 else c.LaunchMode.TOGGLE))
    live = Session(engine, OfflineBackend(), SessionInfo("offline", 48000, 256))
    render_offline(engine, 256, 256)
    live.poll()
    return live


def advance(session, frames=256):
    session.engine.render(np.zeros((frames, 2), np.float32), frames)
    session.poll()


def test_launchpad_connect_sends_mode_sysex_then_paints_loaded_pads(session):
    output = Recorder()
    lp = profile("novation_launchpad_mini_mk3")
    PadDriver(lp, session, output).connect()
    assert output.sent[0].hex() == "F0 00 20 29 02 0D 09 01 F7"
    assert output.sent[1].hex() == "F0 00 20 29 02 0D 0E 01 F7"
    assert output.sent[2].hex() == "F0 7E 7F 06 01 F7"
    leds = {(m.note, m.channel): m.velocity for m in output.sent if m.type == "note_on"}
    assert leds[(lp.pad_note(0), 0)] == lp.leds.loaded.velocity
    assert leds[(lp.pad_note(5), 0)] == 0


def test_pad_press_queues_flashes_then_pulses_on_the_bar(session):
    output = Recorder()
    lp = profile("novation_launchpad_mini_mk3")
    driver = PadDriver(lp, session, output)
    session.listeners.append(driver.refresh)
    driver.connect()
    output.sent.clear()
    driver.handle(mido.Message("note_on", note=lp.pad_note(1), velocity=127))
    advance(session)
    assert output.sent == [mido.Message("note_on", channel=lp.leds.queued.channel, note=lp.pad_note(1),
                                        velocity=lp.leds.queued.velocity)]
    output.sent.clear()
    session.engine.render(np.zeros((96000, 2), np.float32), 96000)     # past bar 2
    session.poll()
    assert output.sent == [mido.Message("note_on", channel=lp.leds.playing.channel, note=lp.pad_note(1),
                                        velocity=lp.leds.playing.velocity)]
    assert session.pad_states[1] == PadState.PLAYING


def test_shift_pad_stops_and_scene_launches_a_row(session):
    lp = profile("novation_launchpad_mini_mk3")
    driver = PadDriver(lp, session, Recorder())
    scene_4 = lp.buttons["scene_4"]                       # bottom row: pads 0-3
    driver.handle(mido.Message("control_change", control=scene_4.number, value=127))
    advance(session)
    assert session.pad_states[:3] == [PadState.QUEUED] * 3
    shift = lp.buttons["shift"]
    driver.handle(mido.Message("control_change", control=shift.number, value=127))
    driver.handle(mido.Message("note_on", note=lp.pad_note(0), velocity=127))
    advance(session)
    assert session.pad_states[0] == PadState.LOADED          # a queued pad that is stopped is cancelled


def test_velocity_scales_one_shots_only_on_velocity_devices(session):
    mpd = profile("akai_mpd218")
    driver = PadDriver(mpd, session, None)
    note = mpd.pad_note(2)
    driver.handle(mido.Message("note_on", channel=mpd.pads.channel or 0, note=note, velocity=64))
    command = session.engine._inbox[-1]
    assert isinstance(command, c.PressPad) and command.velocity == pytest.approx(64 / 127)


def test_unknown_and_foreign_messages_are_counted_not_fatal(session):
    driver = PadDriver(profile("akai_apc_mini_mk2"), session, Recorder())
    for message in (mido.Message("pitchwheel", pitch=100), mido.Message("sysex", data=[1, 2, 3]),
                    mido.Message("note_on", channel=9, note=1), mido.Message("program_change", program=3)):
        driver.handle(message)
    assert driver.ignored == 4


def test_quantize_button_cycles_the_grid(session):
    lp = profile("novation_launchpad_mini_mk3")
    driver = PadDriver(lp, session, Recorder())
    session.quantize = c.Quantize.FOUR_BARS
    driver.handle(mido.Message("control_change", control=lp.buttons["quantize"].number, value=127))
    assert session.quantize == c.Quantize.OFF


@pytest.fixture
def banked_session():
    """Four banks of 16: pad 0 of every bank loaded, the last pad of bank 3 loaded too."""
    engine = Engine(pads=64)
    for pad in (0, 16, 32, 48, 63):
        engine.post(c.LoadPad(pad, np.full((9600, 2), 0.1, np.float32), 120.0))
    live = Session(engine, OfflineBackend(), SessionInfo("offline", 48000, 256))
    render_offline(engine, 256, 256)
    live.poll()
    return live


def test_an_8x8_plays_and_shows_four_banks_at_once(banked_session):
    output = Recorder()
    lp = profile("novation_launchpad_mini_mk3")
    driver = PadDriver(lp, banked_session, output)
    driver.connect()
    leds = {m.note: m.velocity for m in output.sent if m.type == "note_on"}
    assert all(leds[lp.pad_note(0, area)] == lp.leds.loaded.velocity for area in range(4))
    assert leds[lp.pad_note(15, 3)] == lp.leds.loaded.velocity and leds[lp.pad_note(1, 3)] == 0
    assert driver.pages == 1
    driver.handle(mido.Message("note_on", note=lp.pad_note(15, 3), velocity=100))   # bank 4, last pad
    advance(banked_session)
    assert banked_session.pad_states[63] == PadState.QUEUED


def test_bank_buttons_page_a_16_pad_device_through_every_bank(banked_session, tmp_path):
    path = tmp_path / "pads_with_banks.toml"
    path.write_text("""
name = "Sixteen with banks"
match = ["Sixteen"]
[pads]
channel = 0
notes = [36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51]
[buttons]
bank_prev = { kind = "cc", number = 20 }
bank_next = { kind = "cc", number = 21 }
scene_4 = { kind = "cc", number = 22 }
[leds]
empty = { velocity = 0 }
loaded = { velocity = 10 }
queued = { velocity = 20 }
playing = { velocity = 30 }
stopping = { velocity = 40 }
recording = { velocity = 50 }
lamp_off = { velocity = 0 }
lamp_on = { velocity = 1 }
""")
    output = Recorder()
    driver = PadDriver(load_profile(path), banked_session, output)
    driver.connect()
    assert driver.pages == 4
    lamps = {m.control: m.value for m in output.sent if m.type == "control_change"}
    assert lamps[20] == 1 and lamps[21] == 1                       # more than one page: bank lamps lit
    output.sent.clear()
    for _ in range(3):                                             # next, next, next: bank 4
        driver.handle(mido.Message("control_change", control=21, value=127))
    assert driver.first_bank == 3
    notes = {m.note: m.velocity for m in output.sent if m.type == "note_on"}
    assert notes == {51: 10}                                       # only pad 63 differs from banks 1-3's look
    driver.handle(mido.Message("note_on", note=51, velocity=100))
    driver.handle(mido.Message("control_change", control=22, value=127))   # bottom row of bank 4: pads 48-51
    advance(banked_session)
    assert banked_session.pad_states[63] == PadState.QUEUED
    assert banked_session.pad_states[48] == PadState.QUEUED
    assert banked_session.pad_states[0] == PadState.LOADED
    driver.handle(mido.Message("control_change", control=21, value=127))   # wraps to bank 1
    assert driver.first_bank == 0


def test_a_press_past_the_last_bank_is_ignored():
    session = Session(Engine(pads=16), OfflineBackend(), SessionInfo("offline", 48000, 256))
    driver = PadDriver(profile("novation_launchpad_mini_mk3"), session, Recorder())
    lp = driver.profile
    driver.handle(mido.Message("note_on", note=lp.pad_note(0, 1), velocity=100))
    assert driver.ignored == 1


def test_record_arm_then_an_empty_pad_records_into_it_and_its_led_goes_red(session):
    from groovebox.control.recording import PadRecorder

    session.audio.has_input = True                      # the offline backend stands in for one with an input
    session.recorder = PadRecorder(session, max_s=10.0)
    session.event_listeners.append(session.recorder.on_event)
    output = Recorder()
    lp = profile("novation_launchpad_mini_mk3")
    driver = PadDriver(lp, session, output)
    session.listeners.append(driver.refresh)
    driver.connect()
    arm_note = lp.buttons["record_arm"]
    driver.handle(mido.Message("control_change", control=arm_note.number, value=127))
    assert driver.record_armed
    driver.handle(mido.Message("note_on", note=lp.pad_note(5), velocity=127))
    advance(session)
    assert not driver.record_armed and session.recorder.pad == 5
    assert session.pad_states[5] == PadState.QUEUED                  # counting in
    output.sent.clear()
    session.engine.render(np.zeros((192000, 2), np.float32), 192000)   # past the count-in
    session.poll()
    assert session.pad_states[5] == PadState.RECORDING
    assert mido.Message("note_on", channel=lp.leds.recording.channel, note=lp.pad_note(5),
                        velocity=lp.leds.recording.velocity) in output.sent
    driver.handle(mido.Message("note_on", note=lp.pad_note(5), velocity=127))   # ends the take on a bar
    session.engine.render(np.zeros((192000, 2), np.float32), 192000)
    session.poll()
    assert session.pad_states[5] == PadState.PLAYING and session.recorder.pad is None


def test_record_arm_on_a_groovebox_without_input_records_nothing(session):
    from groovebox.control.recording import PadRecorder

    session.recorder = PadRecorder(session, max_s=10.0)
    lp = profile("novation_launchpad_mini_mk3")
    driver = PadDriver(lp, session, Recorder())
    driver.handle(mido.Message("control_change", control=lp.buttons["record_arm"].number, value=127))
    driver.handle(mido.Message("note_on", note=lp.pad_note(5), velocity=127))
    advance(session)
    assert session.pad_states[5] == PadState.EMPTY and session.recorder.pad is None and not driver.record_armed


def test_tap_and_quantize_on_the_controller_are_stored_in_the_project(session, monkeypatch):
    from groovebox.control.editor import Editor
    from groovebox.project.model import Project, quantize_to_text

    session.editor = Editor(Project(bpm=120.0), session.post, pad_count=64)
    lp = profile("novation_launchpad_mini_mk3")
    driver = PadDriver(lp, session, Recorder())
    now = iter([100.0, 100.4, 100.8])
    monkeypatch.setattr("groovebox.control.session.time.monotonic", lambda: next(now))
    for _ in range(3):
        driver.handle(mido.Message("control_change", control=lp.buttons["tap"].number, value=127))
    assert session.editor.project.bpm == pytest.approx(150.0)      # 0.4 s taps
    assert session.editor.describe()["undoLabel"] == "tempo"
    driver.handle(mido.Message("control_change", control=lp.buttons["quantize"].number, value=127))
    assert session.editor.project.quantize_grid == quantize_to_text(session.quantize) != "1 bar"
