"""The panel's screens: each turns encoder detents and pushes into changes, and describes itself as a view.

Runs on the control loop (``Panel`` calls these). A screen reaches the daemon only through the ``Panel``
it is given (session, editor, generator, the helpers in ``PanelDeps``). The scene pages are in
``groovebox.panel.scenes``; the list mechanics in ``groovebox.panel.items``.
Decisions: every screen but home and system is a list of items (``ItemScreen``). Screens
never block: library listings and waveforms are read in a thread by ``Panel`` and shown when they arrive.
A push on the system page opens the save-lock page with the cursor on "Keep it ...", so a stray push (or
two) never changes the lock: turning it takes push, turn, push.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from groovebox.control.editor import (
    AssignPad,
    ClearPad,
    SetPadLaunchMode,
    SetPadPan,
    SetPadVolume,
)
from groovebox.display.views import (
    ErrorView,
    GenerateView,
    HomeView,
    ListView,
    PadView,
    View,
)
from groovebox.engine import PadState, Status
from groovebox.panel import prompt
from groovebox.panel.items import (
    Action,
    Item,
    ItemScreen,
    Screen,
    Setting,
    pan_text,
    step_through,
)
from groovebox.panel.scenes import SceneScreen

if TYPE_CHECKING:
    from groovebox.panel.panel import Panel

__all__ = [
    "Action",
    "AssignScreen",
    "ErrorScreen",
    "GenerateScreen",
    "HomeScreen",
    "LibraryScreen",
    "LoopChoice",
    "MenuScreen",
    "PadScreen",
    "ResultsScreen",
    "SaveLockScreen",
    "SceneScreen",
    "Screen",
    "Setting",
    "SystemScreen",
]

LAUNCH_MODES = ("toggle", "trigger", "gate", "oneShot")
_STATE_NAMES = {PadState.EMPTY: "", PadState.LOADED: "READY", PadState.QUEUED: "QUEUED",
                PadState.PLAYING: "PLAY", PadState.STOPPING: "STOP..."}


@dataclass(frozen=True)
class LoopChoice:
    """A library loop the panel can put on a pad."""

    loop_id: str
    name: str
    bpm: float | None = None
    bars: int | None = None


class HomeScreen(Screen):
    """Tempo, position, transport, quantize, clock and the master meter; a push opens the menu."""

    def push(self, panel: Panel) -> None:
        panel.open(MenuScreen())

    def turn(self, panel: Panel, detents: int, steps: int) -> None:
        panel.open(MenuScreen())

    def view(self, panel: Panel) -> View:
        session = panel.session
        status = session.engine.status
        beats_per_bar = session.engine.clock.beats_per_bar
        beat = max(float(status[Status.BEAT]), 0.0)
        playing = sum(state in (PadState.PLAYING, PadState.STOPPING) for state in session.pad_states)
        return HomeView(project=panel.editor.project.project_name, tempo_bpm=round(session.tempo_bpm, 2),
                        bar=int(beat // beats_per_bar) + 1, beat=int(beat % beats_per_bar) + 1,
                        playing_pads=playing, quantize=panel.editor.project.quantize_grid,
                        clock=panel.deps.clock_source, peak_l=round(float(status[Status.PEAK_L]), 2),
                        peak_r=round(float(status[Status.PEAK_R]), 2), shift=panel.shift,
                        save_lock=panel.save_lock.on)


class MenuScreen(ItemScreen):
    title = "MENU"

    def items(self, panel: Panel) -> list[Item]:
        return [Action("Pad", lambda: panel.open(PadScreen())),
                Action("Generate", lambda: panel.open(GenerateScreen())),
                Action("Library", lambda: panel.open(LibraryScreen(panel))),
                Action("Scene", lambda: panel.open(SceneScreen())),
                Action("System", lambda: panel.open(SystemScreen())),
                Action("Home", panel.home)]


class PadScreen(ItemScreen):
    """The selected pad: choose it, launch/stop, volume, pan, launch mode, clear."""

    def items(self, panel: Panel) -> list[Item]:
        index = panel.selected_pad
        pad = _pad(panel, index)
        volume = pad.volume if pad else 0.8
        pan = pad.pan if pad else 0.0
        mode = pad.launch_mode if pad else "toggle"
        pad_count = len(panel.session.pad_states)
        return [
            Setting("Pad", lambda: str(index + 1),
                    lambda steps: panel.select_pad(min(max(index + steps, 0), pad_count - 1))),
            Action("Launch", lambda: panel.session.press(index)),
            Action("Stop", lambda: panel.session.stop(index)),
            Setting("Volume", lambda: f"{volume * 100:.0f}%",
                    lambda steps: panel.edit(SetPadVolume(index, round(min(max(volume + steps * 0.02, 0.0), 1.0), 2)))),
            Setting("Pan", lambda: pan_text(pan),
                    lambda steps: panel.edit(SetPadPan(index, round(min(max(pan + steps * 0.05, -1.0), 1.0), 2)))),
            Setting("Mode", lambda: mode,
                    lambda steps: panel.edit(SetPadLaunchMode(index, step_through(LAUNCH_MODES, mode, steps)))),
            Action("Clear pad", lambda: panel.edit(ClearPad(index))),
        ]

    def view(self, panel: Panel) -> View:
        index = panel.selected_pad
        pad = _pad(panel, index)
        name = (pad.pad_name or pad.loop_id or "") if pad else ""
        state = _STATE_NAMES[PadState(panel.session.pad_states[index])]
        waveform = panel.waveform(pad.loop_id) if pad is not None and pad.loop_id else ()
        return PadView(pad=index + 1, name=name, state=state, waveform=waveform, rows=self.rows(panel),
                       cursor=self.cursor, editing=self.editing)


def _pad(panel: Panel, index: int):
    return next((pad for pad in panel.editor.project.pads if pad.pad_index == index), None)


class GenerateScreen(ItemScreen):
    """Build a prompt from word lists with the encoder, generate, follow the progress, then pick a result."""

    def __init__(self) -> None:
        super().__init__()
        self.genre, self.instrument, self.mood = prompt.GENRES[0], "", ""
        self.scale = prompt.KEYS[0]
        self.bars, self.options = 4, 1

    def _setter(self, field: str, values: tuple) -> Callable[[int], None]:
        def change(steps: int) -> None:
            setattr(self, field, step_through(values, getattr(self, field), steps))
        return change

    def items(self, panel: Panel) -> list[Item]:
        return [Setting("Genre", lambda: self.genre, self._setter("genre", prompt.GENRES)),
                Setting("Instrument", lambda: self.instrument or "-", self._setter("instrument", prompt.INSTRUMENTS)),
                Setting("Mood", lambda: self.mood or "-", self._setter("mood", prompt.MOODS)),
                Setting("Key", lambda: prompt.key_label(self.scale), self._setter("scale", prompt.KEYS)),
                Setting("Bars", lambda: str(self.bars), self._setter("bars", prompt.BARS)),
                Setting("Options", lambda: str(self.options), self._setter("options", prompt.OPTIONS)),
                Action("Generate!", lambda: panel.generate(self.request()))]

    def request(self):
        return prompt.build_request(self.genre, self.instrument, self.mood, self.scale, self.bars, self.options)

    def view(self, panel: Panel) -> View:
        job = panel.job
        if job is not None and job.state in ("queued", "running"):
            return GenerateView(prompt=job.request.prompt, percent=round(job.percent), stage=job.stage or job.state)
        return GenerateView(prompt=self.request().prompt, rows=self.rows(panel), cursor=self.cursor,
                            editing=self.editing)


class ResultsScreen(ItemScreen):
    """The options a job made; a push picks one for a pad."""

    title = "RESULTS"

    def __init__(self, results: list[LoopChoice]) -> None:
        super().__init__()
        self.results = results

    def items(self, panel: Panel) -> list[Item]:
        return [Action(f"{n + 1} {choice.name}", _opener(panel, choice)) for n, choice in enumerate(self.results)]


def _opener(panel: Panel, choice: LoopChoice) -> Callable[[], None]:
    return lambda: panel.open(AssignScreen(choice, panel))


class LibraryScreen(ItemScreen):
    """Browse the loop library (newest first); a push picks a loop for a pad."""

    title = "LIBRARY"

    def __init__(self, panel: Panel) -> None:
        super().__init__()
        self.loops: list[LoopChoice] | None = None
        panel.load_library(self)

    def items(self, panel: Panel) -> list[Item]:
        return [Action(choice.name, _opener(panel, choice)) for choice in self.loops or []]

    def view(self, panel: Panel) -> View:
        note = "..." if self.loops is None else str(len(self.loops))
        return ListView(self.title, self.rows(panel), self.cursor, self.editing, note=note)


class AssignScreen(ItemScreen):
    """Choose the pad for a loop and put it there; then the pad page opens on Launch."""

    def __init__(self, choice: LoopChoice, panel: Panel) -> None:
        super().__init__()
        self.choice = choice
        self.title = choice.name
        self.pad = panel.free_pad()

    def items(self, panel: Panel) -> list[Item]:
        pad_count = len(panel.session.pad_states)
        return [Setting("To pad", lambda: str(self.pad + 1),
                        lambda steps: setattr(self, "pad", min(max(self.pad + steps, 0), pad_count - 1))),
                Action("Assign", lambda: self.assign(panel))]

    def assign(self, panel: Panel) -> None:
        choice = self.choice
        if panel.edit(AssignPad(pad_index=self.pad, loop_id=choice.loop_id, native_bpm=choice.bpm,
                                pad_name=choice.name[:40])):
            panel.select_pad(self.pad)
            screen = PadScreen()
            screen.cursor = 1                   # on "Launch"
            panel.replace(screen)


class SystemScreen(Screen):
    """IP address and pairing PIN (for the phone), Wi-Fi, Lyria, CPU, underruns and the save-lock; a push
    opens the save-lock page."""

    def push(self, panel: Panel) -> None:
        panel.open(SaveLockScreen())

    def view(self, panel: Panel) -> View:
        return replace(panel.deps.system(), save_lock=panel.save_lock.on)


class SaveLockScreen(ItemScreen):
    """Keep or turn save-lock (gig mode); either choice returns to the system page."""

    title = "SAVE-LOCK"

    def items(self, panel: Panel) -> list[Item]:
        state, other = ("ON", "OFF") if panel.save_lock.on else ("OFF", "ON")
        return [Action(f"Keep it {state}", panel.back), Action(f"Turn it {other}", lambda: self.turn_lock(panel))]

    def turn_lock(self, panel: Panel) -> None:
        panel.save_lock.toggle(by="front panel")
        panel.back()

    def view(self, panel: Panel) -> View:
        return ListView(self.title, self.rows(panel), self.cursor, self.editing,
                        note="ON" if panel.save_lock.on else "OFF")


class ErrorScreen(Screen):
    """A message the performer acknowledges with a push."""

    def __init__(self, title: str, message: str) -> None:
        self.title, self.message = title, message

    def push(self, panel: Panel) -> None:
        panel.back()

    def view(self, panel: Panel) -> View:
        return ErrorView(self.title, self.message)
