"""The front panel alone, on a real daemon (null audio, offline generator): gpiozero MockFactory pins turn
and push the encoders, luma's dummy OLED shows the pages. Generate a loop, put it on a pad, launch it; build
an ambient scene, play it, mix a layer, fade and stop it, reload it from the saved scenes; and save-lock
(gig mode) shown, obeyed and turned off from the system page."""

import asyncio
import threading
import time
from dataclasses import replace
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from groovebox.ambient.catalogue import ARCHETYPES
from groovebox.ambient.offline_planner import plan_offline
from groovebox.app import Daemon, DaemonOptions
from groovebox.config import Settings
from groovebox.control.savelock import SaveLocked
from groovebox.display import (
    GenerateView,
    HomeView,
    LayerRow,
    ListView,
    PadView,
    SceneView,
    SystemView,
    render,
)
from groovebox.engine import PadState
from groovebox.panel.scenes import (
    LayerScreen,
    NewSceneScreen,
    SavedScenesScreen,
    scene_text,
)
from groovebox.panel.screens import (
    AssignScreen,
    ErrorScreen,
    GenerateScreen,
    PadScreen,
    ResultsScreen,
    SaveLockScreen,
    SceneScreen,
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
            self._settle()                   # handled now, so a busy loop cannot bunch detents together ...
            time.sleep(0.12)                 # ... and turns stay slow: one step per detent (no acceleration)

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


def page(loop, panel):
    """The panel's current page, built on the control loop as the front panel builds it (a page may start
    loading a waveform there)."""
    async def build():
        return panel.view()
    return asyncio.run_coroutine_threadsafe(build(), loop).result(5)


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
    assert isinstance(page(loop, panel), ListView) and page(loop, panel).title == "MENU"
    hands.turn("value", 1)
    hands.push("value")                                   # menu -> Generate
    assert isinstance(panel.top, GenerateScreen)
    hands.turn("value", 4)                                # Genre, Instrument, Mood, Key, -> Bars
    hands.push("value")
    hands.turn("value", -2)                               # 4 -> 2 -> 1 bar
    hands.push("value")
    assert panel.top.bars == 1
    hands.turn("value", 2)                                # Options -> Generate!
    assert page(loop, panel).rows[panel.top.cursor].label == "Generate!"
    hands.push("value")
    job = panel.job
    assert job is not None and job.request.bars == 1 and job.request.prompt == "house"
    progress = page(loop, panel)
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

    view = page(loop, panel)
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
    for position in range(5):                             # Pad, Generate, Library, Scene, System
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
    assert titles == ["PadScreen", "GenerateScreen", "LibraryScreen", "SceneScreen", "SystemScreen"]


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
    home = page(loop, panel)
    assert isinstance(home, HomeView) and home.save_lock                   # "LOCK" on the home page
    assert health_over_http(daemon, loop)["save_lock"] is True
    with pytest.raises(SaveLocked):
        daemon.projects.new("Encore")

    hands.push("value")
    hands.turn("value", 1)
    hands.push("value")                                   # menu -> Generate
    hands.turn("value", 6)
    hands.push("value")                                   # Generate!: refused, it would add library loops
    assert isinstance(panel.top, ErrorScreen) and page(loop, panel).title == "Save-lock on"
    assert page(loop, panel).message == "Generating loops was not done; turn it off on the System page"
    assert panel.job is None and daemon.generator.jobs == {}
    hands.push("value")                                   # OK
    hands.push("volume")                                  # home

    captures = []                                         # a streaming live pad (no Lyria key in tests)
    panel.deps.live = SimpleNamespace(running=True, capture=lambda bars, pad: captures.append((bars, pad)))
    hands.push("record")                                  # a capture would add a library loop: refused
    assert captures == [] and page(loop, panel).message.startswith("Capturing the live pad was not done")
    hands.push("value")
    panel.deps.live = None

    hands.push("value")
    hands.turn("value", 3)
    hands.push("value")                                   # menu -> Scene
    hands.push("value")                                   # New scene
    hands.turn("value", 1)
    hands.push("value")                                   # City at night: refused, it would add library loops
    assert isinstance(panel.top, ErrorScreen) and page(loop, panel).title == "Save-lock on"
    assert page(loop, panel).message == "Creating a scene was not done; turn it off on the System page"
    assert panel.scenes.building is None and not daemon.session.scenes.describe()["loaded"]
    hands.push("value")                                   # OK
    hands.push("volume")                                  # home

    hands.push("value")
    hands.turn("value", 4)
    hands.push("value")                                   # menu -> System
    assert isinstance(panel.top, SystemScreen)
    system = page(loop, panel)
    assert isinstance(system, SystemView) and system.save_lock
    title_bar = (0, 0, 128, 10)                           # the rest (CPU, PIN lifetime) changes every second
    drawn_title = render(system).crop(title_bar).tobytes()
    wait_until(lambda: daemon.front_panel.device.image.crop(title_bar).tobytes() == drawn_title, timeout_s=10)
    assert drawn_title != render(replace(system, save_lock=False)).crop(title_bar).tobytes()   # "LOCK" shows
    hands.push("value")                                   # the save-lock page, on "Keep it ON"
    assert isinstance(panel.top, SaveLockScreen) and page(loop, panel).note == "ON"
    hands.push("value")                                   # a stray push keeps it
    assert isinstance(panel.top, SystemScreen) and daemon.save_lock.on
    hands.push("value")
    hands.turn("value", 1)
    assert page(loop, panel).rows[panel.top.cursor].label == "Turn it OFF"
    hands.push("value")
    assert isinstance(panel.top, SystemScreen) and not daemon.save_lock.on
    assert not page(loop, panel).save_lock
    assert health_over_http(daemon, loop)["save_lock"] is False
    assert daemon.projects.new("Encore").project_name == "Encore"         # the store obeys the same lock


def labels(view):
    return [row.kind if isinstance(row, LayerRow) else row.label for row in view.rows]


def test_build_play_mix_fade_and_stop_a_scene_from_the_panel_alone(served):
    daemon, loop = served
    front, scenes, session = daemon.front_panel, daemon.session.scenes, daemon.session
    panel = front.panel
    hands = Hands(daemon, loop)

    hands.push("value")
    hands.turn("value", 3)
    hands.push("value")                                   # menu -> Scene
    assert isinstance(panel.top, SceneScreen)
    empty = page(loop, panel)
    assert isinstance(empty, SceneView) and empty.title == "" and labels(empty) == ["New scene", "Saved scenes"]
    hands.push("value")                                   # New scene
    assert isinstance(panel.top, NewSceneScreen)
    hands.push("value")
    hands.turn("value", -2)                               # Length 30 -> 20 -> 10 s
    hands.push("value")
    hands.turn("value", 1)                                # the first archetype
    assert page(loop, panel).rows[panel.top.cursor].label == "City at night"
    hands.push("value")                                   # build it
    assert isinstance(panel.top, SceneScreen)
    assert page(loop, panel).building == "City at night"       # the page says it is building

    wait_until(lambda: scenes.playing)
    scene = scenes.describe()
    planned = plan_offline(scene_text(ARCHETYPES["city_night"]))
    assert [layer["kind"] for layer in scene["layers"]] == [layer.kind.value for layer in planned.layers]
    assert scene["title"] == "City at night" and scenes.preset["seconds"] == 10.0
    pads = [layer["pad"] for layer in scene["layers"]]
    assert pads == list(range(48, 48 + len(planned.layers)))
    wait_until(lambda: all(session.pad_states[pad] == PadState.PLAYING for pad in pads), timeout_s=10)

    view = page(loop, panel)
    assert view.title == "City at night" and view.state == "PLAY" and not view.building
    assert labels(view) == ["Stop", *(layer["kind"] for layer in scene["layers"]), "New scene", "Saved scenes",
                            "Fade 15 min", "Fade 30 min", "Fade 60 min"]
    assert [row.level for row in view.rows[1:1 + len(pads)]] == [
        round(daemon.editor.project.pad_at(pad).volume, 2) for pad in pads]
    assert front.display.wait_drawn(view)
    assert front.device.image.convert("L").tobytes() == render(view).convert("L").tobytes()

    hands.turn("value", 1)
    hands.push("value")                                   # the first layer's page
    assert isinstance(panel.top, LayerScreen) and page(loop, panel).title == "LAYER 1 city"
    hands.turn("value", 1)                                # Drift
    hands.push("value")
    hands.turn("value", -5)                               # 25% -> 0: steady
    hands.push("value")
    assert scenes.describe()["layers"][0]["drift"] == 0.0
    volume_before = daemon.editor.project.pad_at(48).volume
    hands.turn("value", -1)                               # Level
    hands.push("value")
    hands.turn("value", -3)
    hands.push("value")
    volume_after = daemon.editor.project.pad_at(48).volume
    assert volume_after == pytest.approx(volume_before - 0.06, abs=0.006)
    wait_until(lambda: session.engine.pads[48].volume == pytest.approx(volume_after), timeout_s=10)   # it sounds
    hands.turn("value", 1)
    hands.push("value")
    hands.turn("value", 2)                                # drift 0 -> 10%
    hands.push("value")
    assert scenes.describe()["layers"][0]["drift"] == pytest.approx(0.1)
    back(hands)
    mixed = page(loop, panel)
    assert mixed.rows[1] == LayerRow("city", round(volume_after, 2), 0.1)

    hands.push("play")                                    # on the scene page: stops the scene
    wait_until(lambda: all(session.pad_states[pad] == PadState.LOADED for pad in pads), timeout_s=10)
    assert not scenes.playing and page(loop, panel).state == "STOP" and labels(page(loop, panel))[0] == "Play"
    hands.turn("value", -1)
    hands.push("value")                                   # Play
    wait_until(lambda: all(session.pad_states[pad] == PadState.PLAYING for pad in pads), timeout_s=10)
    hands.turn("value", len(pads) + 3)                    # past Play, the layers, New scene, Saved scenes
    assert labels(page(loop, panel))[panel.top.cursor] == "Fade 15 min"
    hands.push("value")
    assert scenes.describe()["fade"]["seconds"] == 15 * 60
    fading = page(loop, panel)
    assert 14 * 60 < fading.fade_left_s <= 15 * 60 and "Fade 15 min" not in labels(fading)
    hands.turn("value", -20)
    hands.push("value")                                   # Stop
    wait_until(lambda: all(session.pad_states[pad] == PadState.LOADED for pad in pads), timeout_s=10)
    assert not scenes.playing and scenes.describe()["fade"] is None

    hands.turn("value", len(pads) + 2)
    hands.push("value")                                   # Saved scenes
    assert isinstance(panel.top, SavedScenesScreen)
    wait_until(lambda: panel.top.scenes is not None, timeout_s=10)
    assert labels(page(loop, panel)) == ["City at night"]
    hands.push("value")                                   # load it: back on the scene page, playing
    assert isinstance(panel.top, SceneScreen)
    wait_until(lambda: scenes.playing)
    wait_until(lambda: all(session.pad_states[pad] == PadState.PLAYING for pad in pads), timeout_s=10)

    hands.push("volume")                                  # home: play/stop there stops every pad ...
    hands.push("play")
    wait_until(lambda: not any(session.pad_states[pad] == PadState.PLAYING for pad in pads), timeout_s=10)
    hands.push("value")
    hands.turn("value", 3)
    hands.push("value")                                   # ... and the scene page says so
    silenced = page(loop, panel)
    assert silenced.state == "STOP" and labels(silenced)[0] == "Play"
    hands.push("value")                                   # Play: the scene starts again
    wait_until(lambda: all(session.pad_states[pad] == PadState.PLAYING for pad in pads), timeout_s=10)
    hands.push("play")
    wait_until(lambda: not any(session.pad_states[pad] == PadState.PLAYING for pad in pads), timeout_s=10)
    assert not scenes.playing


def back(hands):
    """Shift + push: back one page."""
    pin = hands.pins(PANEL.shift)
    pin.drive_low()
    hands._settle()
    hands.push("value")
    pin.drive_high()
    hands._settle()
