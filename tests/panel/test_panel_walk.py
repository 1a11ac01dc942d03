"""The front panel alone, on a real daemon (null audio, offline generator): gpiozero MockFactory pins turn
and push the encoders, luma's dummy OLED shows the pages. Generate a loop, put it on a pad, launch it; and
save-lock (gig mode) shown, obeyed and turned off from the system page."""

import asyncio
import threading
import time
from dataclasses import replace
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from groovebox.app import Daemon, DaemonOptions
from groovebox.config import Settings
from groovebox.control.savelock import SaveLocked
from groovebox.display import (
    GenerateView,
    HomeView,
    ListView,
    PadView,
    SystemView,
    render,
)
from groovebox.engine import PadState
from groovebox.panel.screens import (
    AssignScreen,
    ErrorScreen,
    GenerateScreen,
    PadScreen,
    ResultsScreen,
    SaveLockScreen,
    SystemScreen,
)
from groovebox.web import create_app

PANEL = Settings().panel


def panel_settings(save_lock=False):
    return Settings.model_validate({"hw": "mock", "audio": {"backend": "null"}, "midi": {"enabled": False},
                                    "generate": {"engine": "offline"}, "display": {"driver": "dummy"},
                                    "panel": {"enabled": True, "bounce_s": 0.0},
                                    "project": {"save_lock": save_lock}})


class Hands:
    """Turns and pushes the mock encoders/buttons, then waits until the control loop has handled them."""

    def __init__(self, daemon, loop):
        self.daemon, self.loop = daemon, loop
        self.pins = daemon.front_panel.inputs.pin_factory.pin

    def _settle(self):
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0), self.loop).result(5)

    def _set(self, a_pin, b_pin, a, b):
        a_pin.drive_high() if a else a_pin.drive_low()
        b_pin.drive_high() if b else b_pin.drive_low()

    def turn(self, encoder, detents):
        a_pin, b_pin = self.pins(getattr(PANEL, f"{encoder}_a")), self.pins(getattr(PANEL, f"{encoder}_b"))
        sequence = ((0, 1), (0, 0), (1, 0), (1, 1)) if detents > 0 else ((1, 0), (0, 0), (0, 1), (1, 1))
        for _ in range(abs(detents)):
            for a, b in sequence:
                self._set(a_pin, b_pin, a, b)
            time.sleep(0.12)                 # slow turns: one step per detent (no acceleration)
        self._settle()

    def push(self, control):
        pin = self.pins(getattr(PANEL, f"{control}_push", None) or getattr(PANEL, control))
        pin.drive_low()
        pin.drive_high()
        self._settle()


@pytest.fixture
def served(request, tmp_path):
    """A running daemon with a front panel; ``@pytest.mark.parametrize("served", [{...}], indirect=True)``
    passes ``panel_settings`` arguments."""
    settings = panel_settings(**getattr(request, "param", {}))
    daemon = Daemon(settings, DaemonOptions(data_dir=tmp_path / "data", serve_web=False))
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(daemon.serve(stop),), daemon=True)
    thread.start()
    wait_until(lambda: not thread.is_alive() or daemon.front_panel.display is not None)
    assert thread.is_alive(), "the daemon stopped while starting"
    yield daemon, loop
    loop.call_soon_threadsafe(stop.set)
    thread.join(20)
    assert not thread.is_alive()


def wait_until(condition, timeout_s=90.0):
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_generate_assign_and_launch_from_the_panel_alone(served):
    daemon, loop = served
    front = daemon.front_panel
    panel = front.panel
    hands = Hands(daemon, loop)

    hands.push("value")                                   # home -> menu
    assert isinstance(panel.view(), ListView) and panel.view().title == "MENU"
    hands.turn("value", 1)
    hands.push("value")                                   # menu -> Generate
    assert isinstance(panel.top, GenerateScreen)
    hands.turn("value", 4)                                # Genre, Instrument, Mood, Key, -> Bars
    hands.push("value")
    hands.turn("value", -2)                               # 4 -> 2 -> 1 bar
    hands.push("value")
    assert panel.top.bars == 1
    hands.turn("value", 2)                                # Options -> Generate!
    assert panel.view().rows[panel.top.cursor].label == "Generate!"
    hands.push("value")
    job = panel.job
    assert job is not None and job.request.bars == 1 and job.request.prompt == "house"
    progress = panel.view()
    assert isinstance(progress, GenerateView) and progress.percent is not None

    wait_until(lambda: isinstance(panel.top, ResultsScreen))
    assert job.state == "done" and len(panel.top.results) == 1
    loop_id = panel.top.results[0].loop_id
    hands.push("value")                                   # the result -> choose its pad
    assert isinstance(panel.top, AssignScreen) and panel.top.pad == 0
    hands.turn("value", 1)
    hands.push("value")                                   # Assign -> the pad page, on Launch
    assert isinstance(panel.top, PadScreen) and panel.top.cursor == 1
    assert daemon.editor.project.pads[0].loop_id == loop_id
    wait_until(lambda: daemon.session.pad_states[0] == PadState.LOADED)

    for _ in range(3):
        hands.push("tempo")                               # quantize 1 bar -> 2 bars -> 4 bars -> off
    assert daemon.editor.project.quantize_grid == "off"
    hands.push("value")                                   # Launch
    wait_until(lambda: daemon.session.pad_states[0] == PadState.PLAYING, timeout_s=10)

    view = panel.view()
    assert isinstance(view, PadView) and view.pad == 1 and view.state == "PLAY"
    assert front.display.wait_drawn(view)
    drawn = front.device.image.convert("L").tobytes()
    assert drawn == render(view).convert("L").tobytes()   # the dummy OLED shows the pad page

    hands.push("play")                                    # play/stop: stops what plays
    wait_until(lambda: daemon.session.pad_states[0] == PadState.LOADED, timeout_s=10)
    hands.push("volume")                                  # home from anywhere
    assert len(panel.stack) == 1


def test_every_menu_is_reachable_and_shift_push_goes_back(served):
    daemon, loop = served
    panel = daemon.front_panel.panel
    hands = Hands(daemon, loop)
    titles = []
    for position in range(4):                             # Pad, Generate, Library, System
        hands.push("value")                               # home -> menu (cursor on Pad)
        hands.turn("value", position) if position else None
        hands.push("value")
        titles.append(type(panel.top).__name__)
        pin = hands.pins(PANEL.shift)
        pin.drive_low()                                   # hold Shift ...
        hands._settle()
        hands.push("value")                               # ... push: back to the menu
        pin.drive_high()
        hands._settle()
        assert type(panel.top).__name__ == "MenuScreen"
        hands.push("volume")                              # home
    assert titles == ["PadScreen", "GenerateScreen", "LibraryScreen", "SystemScreen"]


def test_tempo_and_volume_encoders_edit_the_project(served):
    daemon, loop = served
    hands = Hands(daemon, loop)
    hands.turn("tempo", 3)
    assert daemon.editor.project.bpm == 123.0
    hands.turn("volume", -2)
    assert daemon.editor.project.master_volume == pytest.approx(daemon.project.master_volume)
    assert daemon.editor.project.master_volume < 1.0


def health_over_http(daemon, loop):
    """``/api/health`` from the daemon's web app (built on its loop, as the daemon builds it)."""
    async def build():
        return create_app(daemon.web_context())
    app = asyncio.run_coroutine_threadsafe(build(), loop).result(10)
    with TestClient(app) as client:
        assert not any("lock" in path for path in app.openapi()["paths"])     # the phone cannot change it
        return client.get("/api/health").json()


@pytest.mark.parametrize("served", [{"save_lock": True}], indirect=True)
def test_save_lock_from_the_settings_is_shown_obeyed_and_turned_off_on_the_system_page(served):
    daemon, loop = served
    panel = daemon.front_panel.panel
    hands = Hands(daemon, loop)
    home = panel.view()
    assert isinstance(home, HomeView) and home.save_lock                   # "LOCK" on the home page
    assert health_over_http(daemon, loop)["save_lock"] is True
    with pytest.raises(SaveLocked):
        daemon.projects.new("Encore")

    hands.push("value")
    hands.turn("value", 1)
    hands.push("value")                                   # menu -> Generate
    hands.turn("value", 6)
    hands.push("value")                                   # Generate!: refused, it would add library loops
    assert isinstance(panel.top, ErrorScreen) and panel.view().title == "Save-lock on"
    assert panel.view().message == "Generating loops was not done; turn it off on the System page"
    assert panel.job is None and daemon.generator.jobs == {}
    hands.push("value")                                   # OK
    hands.push("volume")                                  # home

    captures = []                                         # a streaming live pad (no Lyria key in tests)
    panel.deps.live = SimpleNamespace(running=True, capture=lambda bars, pad: captures.append((bars, pad)))
    hands.push("record")                                  # a capture would add a library loop: refused
    assert captures == [] and panel.view().message.startswith("Capturing the live pad was not done")
    hands.push("value")
    panel.deps.live = None

    hands.push("value")
    hands.turn("value", 3)
    hands.push("value")                                   # menu -> System
    assert isinstance(panel.top, SystemScreen)
    system = panel.view()
    assert isinstance(system, SystemView) and system.save_lock
    title_bar = (0, 0, 128, 10)                           # the rest (CPU, PIN lifetime) changes every second
    drawn_title = render(system).crop(title_bar).tobytes()
    wait_until(lambda: daemon.front_panel.device.image.crop(title_bar).tobytes() == drawn_title, timeout_s=10)
    assert drawn_title != render(replace(system, save_lock=False)).crop(title_bar).tobytes()   # "LOCK" shows
    hands.push("value")                                   # the save-lock page, on "Keep it ON"
    assert isinstance(panel.top, SaveLockScreen) and panel.view().note == "ON"
    hands.push("value")                                   # a stray push keeps it
    assert isinstance(panel.top, SystemScreen) and daemon.save_lock.on
    hands.push("value")
    hands.turn("value", 1)
    assert panel.view().rows[panel.top.cursor].label == "Turn it OFF"
    hands.push("value")
    assert isinstance(panel.top, SystemScreen) and not daemon.save_lock.on
    assert not panel.view().save_lock
    assert health_over_http(daemon, loop)["save_lock"] is False
    assert daemon.projects.new("Encore").project_name == "Encore"         # the store obeys the same lock
