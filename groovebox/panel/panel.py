"""The front panel's menu model: encoder and button events in, changes to the session/editor out, and the
view of the current page for the OLED. Control loop only (GPIO callbacks arrive via
``loop.call_soon_threadsafe(panel.handle, ...)``).

Controls (see ``handle``):
- value encoder: turn moves the cursor, or changes the setting being edited (accelerated); push selects;
  Shift + push goes back. On the home page a turn or push opens the menu (Pad, Generate, Library, Scene,
  System).
- tempo encoder: turn changes the tempo by 1 BPM a detent (0.1 with Shift), accelerated; push cycles the
  launch quantize.
- volume encoder: turn changes the master volume; push returns to the home page from anywhere.
- play: stops every pad if some play (Shift: at once), else launches the selected pad; a screen may take it
  over (the scene page plays/stops the scene). tap: tap tempo.
  record: captures 4 bars of the live pad into the selected pad when it streams, else opens Generate.
Decisions: every change goes through the editor (undo, autosave, the web page sees it), the transport
through the session, generation through the job manager, exactly as the web API does. Failures become an
error page the performer dismisses with a push. Blocking reads (the library's SQLite) run in a thread.
Save-lock (gig mode): the system page turns it on and off (push, then "Turn it ..."); home and system show
"LOCK" while it is on. Generating and capturing the live pad would add library loops, so while it is on they
are refused with an error page saying so; live edits and launching go on as usual.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from groovebox.control.editor import (
    EditError,
    SetBpm,
    SetMasterVolume,
    SetQuantize,
)
from groovebox.control.savelock import SaveLock, SaveLocked
from groovebox.display.pages import WAVE_HEIGHT, WIDTH
from groovebox.display.views import SystemView, View
from groovebox.engine import PadState
from groovebox.panel.accel import Acceleration
from groovebox.panel.scenes import SceneDesk
from groovebox.panel.screens import (
    ErrorScreen,
    GenerateScreen,
    HomeScreen,
    LoopChoice,
    ResultsScreen,
    Screen,
)

__all__ = ["Panel", "PanelDeps"]

log = logging.getLogger(__name__)

QUANTIZE_GRIDS = ("off", "1/16", "1/8", "1/4", "1/2", "1 bar", "2 bars", "4 bars")
CAPTURE_BARS = 4


@dataclass
class PanelDeps:
    """What the panel reaches in the daemon. ``list_loops``, ``loop_peaks``, ``list_scenes`` and ``read_scene``
    block (SQLite, files): the panel calls them in a thread. ``system`` builds the system page (IP, PIN,
    Wi-Fi, ...)."""

    session: object                 # control.session.Session
    editor: object                  # control.editor.Editor
    generator: object               # generate.jobs.JobManager
    list_loops: Callable[[], list[LoopChoice]]
    loop_peaks: Callable[[str], tuple]
    system: Callable[[], SystemView]
    clock_source: str = "internal"
    live: object | None = None      # control.livepad.LivePad when there is a Gemini key
    save_lock: SaveLock | None = None   # the daemon's save-lock (None: a lock of the panel's own, off)
    scenes: object | None = None    # control.scenes.ScenePlayer (None: the scene page says it is unavailable)
    list_scenes: Callable[[], list[dict]] = field(default=list)   # control.scenes.list_presets(data_dir)
    read_scene: Callable[[str], dict] | None = None                # control.scenes.read_preset(data_dir, id)


class Panel:
    """A stack of screens (home at the bottom) and the shared panel state."""

    def __init__(self, deps: PanelDeps) -> None:
        self.deps = deps
        self.session = deps.session
        self.editor = deps.editor
        self.save_lock = deps.save_lock if deps.save_lock is not None else SaveLock()
        self.stack: list[Screen] = [HomeScreen()]
        self.shift = False
        self.selected_pad = 0
        self.job = None                                  # the latest job started from the panel
        self.scenes = SceneDesk(self, deps.scenes, deps.list_scenes, deps.read_scene)
        self._accel = {name: Acceleration() for name in ("value", "tempo", "volume")}
        self._waves: dict[str, tuple[int, ...]] = {}
        self._tasks: set[asyncio.Task] = set()
        deps.generator.listeners.append(self.on_job_event)

    # ------------------------------------------------------------------ input
    def handle(self, control: str, action: str, steps: int = 0) -> None:
        """One encoder detent or button edge (see the module docstring)."""
        if control == "shift":
            self.shift = action == "press"
        elif action == "turn":
            self._turn(control, steps)
        elif action == "press":
            self._press(control)

    def _turn(self, control: str, detents: int) -> None:
        steps = self._accel[control].scale(detents)
        if control == "value":
            self.top.turn(self, detents, steps)
        elif control == "tempo":
            step_bpm = 0.1 if self.shift else 1.0
            tempo_bpm = min(max(self.editor.project.bpm + steps * step_bpm, 20.0), 400.0)
            self.edit(SetBpm(round(tempo_bpm, 1)))
        elif control == "volume":
            volume = min(max(self.editor.project.master_volume + steps * 0.02, 0.0), 1.0)
            self.edit(SetMasterVolume(round(volume, 2)))

    def _press(self, control: str) -> None:
        if control == "value":
            self.back() if self.shift else self.top.push(self)
        elif control == "tempo":
            grid = self.editor.project.quantize_grid
            self.edit(SetQuantize(QUANTIZE_GRIDS[(QUANTIZE_GRIDS.index(grid) + 1) % len(QUANTIZE_GRIDS)]))
        elif control == "volume":
            self.home()
        elif control == "play":
            self._play()
        elif control == "tap":
            tempo_bpm = self.session.tap()
            if tempo_bpm is not None:
                self.edit(SetBpm(min(max(tempo_bpm, 20.0), 400.0)))
        elif control == "record":
            self._record()

    def _play(self) -> None:
        if self.top.play(self):
            return
        if any(state in (PadState.PLAYING, PadState.QUEUED) for state in self.session.pad_states):
            self.session.stop_all(quantized=not self.shift)
        else:
            self.session.press(self.selected_pad)

    def _record(self) -> None:
        live = self.deps.live
        if live is None or not live.running:
            self.open(GenerateScreen())
            return
        if self.refused_by_lock("capturing the live pad"):
            return
        try:
            live.capture(CAPTURE_BARS, self.selected_pad)
        except ValueError as exc:
            self.show_error("Capture", str(exc))

    # ------------------------------------------------------------------ navigation
    @property
    def top(self) -> Screen:
        return self.stack[-1]

    def open(self, screen: Screen) -> None:
        self.stack.append(screen)

    def replace(self, screen: Screen) -> None:
        self.stack[-1] = screen

    def back(self) -> None:
        if len(self.stack) > 1:
            self.stack.pop()

    def home(self) -> None:
        del self.stack[1:]

    def show_error(self, title: str, message: str) -> None:
        """Show ``message`` until the performer pushes the value encoder."""
        log.warning("panel: %s: %s", title, message)
        self.open(ErrorScreen(title, message))

    def view(self) -> View:
        """The current page (control loop; the display thread draws it)."""
        return self.top.view(self)

    # ------------------------------------------------------------------ actions for screens
    def edit(self, edit) -> bool:
        """Apply ``edit`` through the editor; False (and an error page) when it is refused."""
        try:
            self.editor.apply(edit)
        except (EditError, ValueError) as exc:
            self.show_error("Not done", str(exc))
            return False
        return True

    def select_pad(self, pad: int) -> None:
        self.selected_pad = pad

    def free_pad(self) -> int:
        """The selected pad if it is empty, else the first empty pad (else the selected one)."""
        used = {pad.pad_index for pad in self.editor.project.pads if not pad.is_empty}
        if self.selected_pad not in used:
            return self.selected_pad
        return next((index for index in range(len(self.session.pad_states)) if index not in used),
                    self.selected_pad)

    def generate(self, request) -> None:
        if not self.refused_by_lock("generating loops"):
            self.job = self.deps.generator.submit(request)

    def refused_by_lock(self, what: str) -> bool:
        """True (and an error page) when save-lock is on: ``what`` would write the library."""
        try:
            self.save_lock.check(what)
        except SaveLocked:
            self.show_error("Save-lock on", f"{what.capitalize()} was not done; turn it off on the System page")
            return True
        return False

    def on_job_event(self, event) -> None:
        """A generator listener: follow the panel's own job; open its results or its error."""
        job = self.job
        if job is None or event.job_id != job.job_id:
            return
        if event.kind == "done":
            results = [LoopChoice(r["loopId"], r.get("name") or r["loopId"], r.get("bpm"), r.get("bars"))
                       for r in job.results if r.get("loopId")]
            if isinstance(self.top, GenerateScreen):
                self.open(ResultsScreen(results))
        elif event.kind == "failed":
            self.show_error("Generate failed", event.error)

    def load_library(self, screen) -> None:
        """Fill ``screen.loops`` from the library, in a thread."""
        self.spawn(self._load_library(screen))

    async def _load_library(self, screen) -> None:
        try:
            screen.loops = await asyncio.to_thread(self.deps.list_loops)
        except (OSError, ValueError) as exc:
            screen.loops = []
            self.show_error("Library", str(exc))

    def waveform(self, loop_id: str) -> tuple[int, ...]:
        """Column heights of ``loop_id``'s waveform (empty until read, in a thread, from the library)."""
        if loop_id not in self._waves:
            self._waves[loop_id] = ()
            self.spawn(self._load_waveform(loop_id))
        return self._waves[loop_id]

    async def _load_waveform(self, loop_id: str) -> None:
        try:
            peaks = await asyncio.to_thread(self.deps.loop_peaks, loop_id)
        except (OSError, ValueError) as exc:
            log.info("no waveform for loop %s: %s", loop_id, exc)
            return
        self._waves[loop_id] = waveform_columns(peaks, WIDTH, WAVE_HEIGHT)

    def spawn(self, coroutine) -> None:
        """Run ``coroutine`` on the control loop, keeping a reference until it ends."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def waveform_columns(peaks, columns: int, height: int) -> tuple[int, ...]:
    """``(min, max)`` peak pairs -> ``columns`` bar heights 0..height, scaled to the loudest column."""
    if not peaks:
        return ()
    spans = [max(high - low, 0.0) for low, high in peaks]
    loudest = max(spans) or 1.0
    return tuple(round(spans[column * len(spans) // columns] / loudest * height) for column in range(columns))
