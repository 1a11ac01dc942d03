"""The front panel's ambient-scene pages, and ``SceneDesk``: what the panel asks of the scene player.

Control loop only, like every screen. The scene page lists the loaded scene's layers (kind, level bar,
drift marker) between "Play"/"Stop" and the scene actions (New scene, Saved scenes, Fade 15/30/60 min);
a layer opens its page (level, drift, pan).

Decisions:
- A layer's level and pan are its pad's volume and pan, changed through the editor (``SetPadVolume``,
  ``SetPadPan``) exactly as the pad page does, so undo, autosave and the phone follow; drift is live-only
  (``ScenePlayer.set_drift``).
- On the scene page the play button plays/stops the scene (not the other pads); a push on the first row
  does the same. "Playing" means some layer pad sounds: a stop-all from elsewhere (the play button on
  another page, a controller) silences the pads without telling the player, and the page then offers
  "Play", which restarts the player cleanly.
- "New scene" offers the catalogue's archetypes by title and a loop length. The text sent to the planner
  is the archetype's title and its "heard in" contexts: the offline planner picks that same archetype from
  it (a test keeps all of them in step), and an LLM planner reads it as a description.
- Building runs in the scene player's worker; the page shows "building <name>" with the seconds so far
  (one redraw a second), then the new scene loads onto its bank and plays. One build at a time. Creating
  adds library loops, so save-lock refuses it; loading a saved scene is a live edit and is allowed.
- Fade entries are offered only while the scene plays and no fade runs (the player has one fade timer).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from groovebox.ambient.catalogue import ARCHETYPES, Archetype
from groovebox.control.editor import EditError, SetPadPan, SetPadVolume
from groovebox.control.scenes import SceneError
from groovebox.display.views import LayerRow, ListView, Row, SceneView, View
from groovebox.engine import PadState
from groovebox.panel.items import (
    Action,
    Item,
    ItemScreen,
    Setting,
    pan_text,
    step_through,
)

if TYPE_CHECKING:
    from groovebox.panel.panel import Panel

__all__ = [
    "FADE_MINUTES",
    "LENGTHS_S",
    "LayerScreen",
    "NewSceneScreen",
    "SavedScenesScreen",
    "SceneDesk",
    "SceneScreen",
    "scene_text",
]

FADE_MINUTES = (15, 30, 60)
LENGTHS_S = (10, 20, 30, 60)            # loop length of each layer; 30 s is the scene player's default
DEFAULT_LENGTH_S = 30
_NO_SCENE = {"loaded": False, "playing": False}
_FAILURES = (SceneError, EditError, ValueError, OSError)


def scene_text(archetype: Archetype) -> str:
    """What the planner is asked for when the performer picks ``archetype``."""
    return f"{archetype.title}: {', '.join(archetype.contexts)}"


class SceneDesk:
    """The panel's side of the scene player: actions that report failures on the error page, and the
    scene being built. ``list_scenes``/``read_scene`` block (files): they run in a thread."""

    def __init__(self, panel: Panel, player, list_scenes: Callable[[], list[dict]],
                 read_scene: Callable[[str], dict], clock: Callable[[], float] = time.monotonic) -> None:
        self.panel = panel
        self.player = player                # control.scenes.ScenePlayer, None before the audio runs
        self.list_scenes = list_scenes
        self.read_scene = read_scene
        self.clock = clock
        self.building: tuple[str, float] | None = None      # name, started at (clock seconds)

    def describe(self) -> dict:
        return self.player.describe() if self.player is not None else _NO_SCENE

    def building_s(self) -> int:
        return int(self.clock() - self.building[1]) if self.building else 0

    def sounding(self, scene: dict) -> bool:
        """The scene plays and some layer pad sounds (stop-all elsewhere silences the pads but leaves the
        player "playing")."""
        states = self.panel.session.pad_states
        return scene["playing"] and any(states[layer["pad"]] in (PadState.PLAYING, PadState.QUEUED)
                                        for layer in scene["layers"])

    def toggle(self) -> None:
        """Stop the scene when it sounds, else (re)start it."""
        if self._available():
            self._do(self.player.stop if self.sounding(self.player.describe()) else self._restart)

    def _restart(self) -> None:
        self.player.stop()              # its animation tasks too, when only the pads were stopped
        self.player.play()

    def fade(self, minutes: int) -> None:
        if self._available():
            self._do(lambda: self.player.fade_out(minutes * 60.0))

    def set_drift(self, layer_index: int, drift: float) -> None:
        if self._available():
            self._do(lambda: self.player.set_drift(layer_index, round(min(max(drift, 0.0), 1.0), 2)))

    def create(self, name: str, text: str, seconds: float) -> None:
        """Build a scene from ``text`` in the worker, then load and play it (see the module docstring)."""
        if not self._available() or self.panel.refused_by_lock("creating a scene"):
            return
        if self.building is not None:
            self.panel.show_error("Scene", f"{self.building[0]} is still being built")
            return
        self.building = (name, self.clock())
        self.panel.spawn(self._create(text, seconds))

    async def _create(self, text: str, seconds: float) -> None:
        try:
            preset = await self.player.create(text, seconds=seconds)
            self.player.load(preset)
        except _FAILURES as exc:
            self.panel.show_error("Scene failed", str(exc))
        finally:
            self.building = None

    def load_saved(self, scene_id: str) -> None:
        """Load a saved scene (read in a thread) onto its bank and play it."""
        if self._available():
            self.panel.spawn(self._load_saved(scene_id))

    async def _load_saved(self, scene_id: str) -> None:
        try:
            self.player.load(await asyncio.to_thread(self.read_scene, scene_id))
        except _FAILURES as exc:
            self.panel.show_error("Scene failed", str(exc))

    def list_saved(self, screen: SavedScenesScreen) -> None:
        """Fill ``screen.scenes`` with the saved scenes, in a thread."""
        self.panel.spawn(self._list_saved(screen))

    async def _list_saved(self, screen: SavedScenesScreen) -> None:
        try:
            screen.scenes = await asyncio.to_thread(self.list_scenes)
        except (OSError, ValueError) as exc:
            screen.scenes = []
            self.panel.show_error("Saved scenes", str(exc))

    def _available(self) -> bool:
        if self.player is None:
            self.panel.show_error("Scene", "scenes are not available until the audio runs")
        return self.player is not None

    def _do(self, action: Callable[[], object]) -> None:
        try:
            action()
        except _FAILURES as exc:
            self.panel.show_error("Scene", str(exc))


class SceneScreen(ItemScreen):
    """The loaded scene: play/stop, its layers, new and saved scenes, the fade-out timer."""

    def entries(self, panel: Panel) -> list[tuple[Item, Row | LayerRow]]:
        desk = panel.scenes
        scene = desk.describe()
        entries: list[tuple[Item, Row | LayerRow]] = []
        if scene["loaded"]:
            label = "Stop" if desk.sounding(scene) else "Play"
            entries.append((Action(label, desk.toggle), Row(label)))
            entries += [(Action(layer["kind"], _layer_opener(panel, index)), _layer_row(panel, layer))
                        for index, layer in enumerate(scene["layers"])]
        entries += [(Action("New scene", lambda: panel.open(NewSceneScreen())), Row("New scene")),
                    (Action("Saved scenes", lambda: panel.open(SavedScenesScreen(panel))), Row("Saved scenes"))]
        if desk.sounding(scene) and not scene.get("fade"):
            entries += [(Action(f"Fade {minutes} min", _fader(desk, minutes)), Row(f"Fade {minutes} min"))
                        for minutes in FADE_MINUTES]
        return entries

    def items(self, panel: Panel) -> list[Item]:
        return [item for item, _ in self.entries(panel)]

    def play(self, panel: Panel) -> bool:
        if panel.scenes.describe()["loaded"]:
            panel.scenes.toggle()
            return True
        return False

    def view(self, panel: Panel) -> View:
        desk = panel.scenes
        scene = desk.describe()
        rows = tuple(row for _, row in self.entries(panel))
        fade = scene.get("fade")
        state = ("PLAY" if desk.sounding(scene) else "STOP") if scene["loaded"] else ""
        return SceneView(title=scene.get("title") or "", state=state, rows=rows,
                         cursor=min(self.cursor, len(rows) - 1),
                         fade_left_s=round(fade["left_s"]) if fade else None,
                         building=desk.building[0] if desk.building else "", building_s=desk.building_s())


def _layer_row(panel: Panel, layer: dict) -> LayerRow:
    pad = panel.editor.project.pad_at(layer["pad"])
    return LayerRow(kind=layer["kind"], level=round(pad.volume, 2) if pad else 0.0,
                    drift=round(float(layer.get("drift", 0.0)), 2))


def _layer_opener(panel: Panel, index: int) -> Callable[[], None]:
    return lambda: panel.open(LayerScreen(index))


def _fader(desk: SceneDesk, minutes: int) -> Callable[[], None]:
    return lambda: desk.fade(minutes)


class LayerScreen(ItemScreen):
    """One layer of the loaded scene: level (its pad's volume), drift and pan."""

    def __init__(self, layer_index: int) -> None:
        super().__init__()
        self.layer_index = layer_index

    def _layer(self, panel: Panel) -> dict | None:
        layers = panel.scenes.describe().get("layers", [])
        return layers[self.layer_index] if self.layer_index < len(layers) else None

    def items(self, panel: Panel) -> list[Item]:
        layer = self._layer(panel)
        if layer is None:
            return []
        pad_index, drift = layer["pad"], float(layer.get("drift", 0.0))
        pad = panel.editor.project.pad_at(pad_index)
        volume, pan = (pad.volume, pad.pan) if pad else (0.0, 0.0)
        return [
            Setting("Level", lambda: f"{volume * 100:.0f}%",
                    lambda steps: panel.edit(SetPadVolume(pad_index, _clamped(volume + steps * 0.02, 0.0)))),
            Setting("Drift", lambda: f"{drift * 100:.0f}%",
                    lambda steps: panel.scenes.set_drift(self.layer_index, drift + steps * 0.05)),
            Setting("Pan", lambda: pan_text(pan),
                    lambda steps: panel.edit(SetPadPan(pad_index, _clamped(pan + steps * 0.05, -1.0)))),
        ]

    def view(self, panel: Panel) -> View:
        layer = self._layer(panel)
        kind = layer["kind"].replace("_", " ") if layer else "-"
        return ListView(f"LAYER {self.layer_index + 1} {kind}", self.rows(panel), self.cursor, self.editing)


def _clamped(value: float, low: float) -> float:
    """``value`` within ``low``..1, to the hundredth (what the editor stores)."""
    return round(min(max(value, low), 1.0), 2)


class NewSceneScreen(ItemScreen):
    """A loop length, then the catalogue's archetypes by title: a push builds that scene."""

    title = "NEW SCENE"

    def __init__(self) -> None:
        super().__init__()
        self.length_s = DEFAULT_LENGTH_S

    def items(self, panel: Panel) -> list[Item]:
        length = Setting("Length", lambda: f"{self.length_s} s",
                         lambda steps: setattr(self, "length_s", step_through(LENGTHS_S, self.length_s, steps)))
        return [length, *(Action(archetype.title, self._builder(panel, archetype))
                          for archetype in ARCHETYPES.values())]

    def _builder(self, panel: Panel, archetype: Archetype) -> Callable[[], None]:
        def build() -> None:
            panel.back()                                    # the scene page shows the build
            panel.scenes.create(archetype.title, scene_text(archetype), float(self.length_s))
        return build

    def view(self, panel: Panel) -> View:
        return ListView(self.title, self.rows(panel), self.cursor, self.editing, note=str(len(ARCHETYPES)))


class SavedScenesScreen(ItemScreen):
    """Saved scenes (newest first); a push loads one and returns to the scene page."""

    title = "SAVED SCENES"

    def __init__(self, panel: Panel) -> None:
        super().__init__()
        self.scenes: list[dict] | None = None
        panel.scenes.list_saved(self)

    def items(self, panel: Panel) -> list[Item]:
        return [Action(scene["title"] or scene["text"], self._loader(panel, scene["sceneId"]))
                for scene in self.scenes or []]

    def _loader(self, panel: Panel, scene_id: str) -> Callable[[], None]:
        def load() -> None:
            panel.back()
            panel.scenes.load_saved(scene_id)
        return load

    def view(self, panel: Panel) -> View:
        note = "..." if self.scenes is None else str(len(self.scenes))
        return ListView(self.title, self.rows(panel), self.cursor, self.editing, note=note)
