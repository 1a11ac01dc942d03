"""What each OLED page shows: frozen, comparable snapshots built on the control loop by the panel.

A view holds only plain values (text, numbers, tuples), so the display thread can compare it with the
previous frame's view (redraw only on change) and draw it without touching live state.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ErrorView", "GenerateView", "HomeView", "LayerRow", "ListView", "PadView", "Row", "SceneView", "SystemView",
           "View"]


@dataclass(frozen=True)
class Row:
    """One line of a menu: a label and, for a setting, its value (empty for an action)."""

    label: str
    value: str = ""


@dataclass(frozen=True)
class ListView:
    """A titled list with a cursor (the menu, the library, a pad picker). ``editing``: the value under the
    cursor is being turned."""

    title: str
    rows: tuple[Row, ...]
    cursor: int = 0
    editing: bool = False
    note: str = ""


@dataclass(frozen=True)
class HomeView:
    project: str
    tempo_bpm: float
    bar: int                      # 1-based
    beat: int                     # 1-based
    playing_pads: int
    quantize: str
    clock: str
    peak_l: float                 # linear 0..1 (and above: clipped by the limiter)
    peak_r: float
    shift: bool = False
    save_lock: bool = False       # gig mode: "LOCK" in the title bar


@dataclass(frozen=True)
class PadView:
    pad: int                      # 1-based for the performer
    name: str
    state: str
    waveform: tuple[int, ...]     # column heights 0..WAVE_HEIGHT (empty: no audio)
    rows: tuple[Row, ...]
    cursor: int = 0
    editing: bool = False


@dataclass(frozen=True)
class GenerateView:
    prompt: str
    rows: tuple[Row, ...] = ()
    cursor: int = 0
    editing: bool = False
    percent: float | None = None  # a job is running: show its progress instead of the rows
    stage: str = ""


@dataclass(frozen=True)
class SystemView:
    ip: str
    pin: str
    pin_expires_s: int
    wifi: str
    lyria: str
    cpu_percent: int
    underruns: int
    save_lock: bool = False       # gig mode: "LOCK" in the title bar


@dataclass(frozen=True)
class LayerRow:
    """One layer of the loaded scene: its kind, its pad's volume (the level bar) and its drift depth."""

    kind: str
    level: float                  # the pad's volume, linear 0..1
    drift: float                  # 0..1; above 0 the level wanders (a "~" marker)


@dataclass(frozen=True)
class SceneView:
    """The ambient-scene page: the loaded scene, its layers and the scene actions, in one list."""

    title: str                    # the loaded scene's title ("" when none is loaded)
    state: str                    # "PLAY" | "STOP" | "" (none loaded)
    rows: tuple[Row | LayerRow, ...]
    cursor: int = 0
    fade_left_s: int | None = None   # the fade-out timer, while it runs
    building: str = ""            # a scene being built (its name) ...
    building_s: int = 0           # ... for this many seconds


@dataclass(frozen=True)
class ErrorView:
    title: str
    message: str


View = ListView | HomeView | PadView | GenerateView | SystemView | SceneView | ErrorView
