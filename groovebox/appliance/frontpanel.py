"""The front panel of a running daemon: GPIO inputs -> ``Panel`` -> views -> the OLED display thread.

``open_front_panel(settings)`` opens the hardware at ``Daemon.__init__`` (so Shift can be read before the
session is restored); ``FrontPanel.run(daemon, stop)`` is a task on the control loop that builds the
panel, forwards GPIO events to it (``call_soon_threadsafe``) and hands the current view to the display
thread at most ``max_fps`` times a second (the thread redraws only when the view changed). The panel gets
the daemon's save-lock: the system page is where a performer turns gig mode on and off; and the
session's scene player with the saved scenes (the scene page).
Decisions: hardware that cannot be opened is logged and left out (no OLED, or no encoders), the daemon
plays on; ``hw = "mock"`` uses gpiozero's MockFactory pins, for laptops and tests. The panel and the
drawing code (PIL) are imported only when there is a front panel: a headless daemon starts without them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from groovebox.hw.gpio import GpioError, PanelInputs
from groovebox.hw.oled import OledError, open_oled

if TYPE_CHECKING:
    from groovebox.display import DisplayThread
    from groovebox.panel import Panel

__all__ = ["FrontPanel", "open_front_panel"]

log = logging.getLogger(__name__)


def open_front_panel(settings) -> FrontPanel | None:
    """The configured OLED and encoders/buttons, or None when both are off or unavailable."""
    inputs = device = None
    if settings.panel.enabled:
        try:
            inputs = PanelInputs(settings.panel, mock=settings.hw == "mock")
        except GpioError as exc:
            log.warning("no front-panel controls: %s", exc)
    try:
        device = open_oled(settings.display)
    except OledError as exc:
        log.warning("no OLED: %s", exc)
    if inputs is None and device is None:
        return None
    return FrontPanel(inputs, device, settings.display.max_fps)


class FrontPanel:
    """The opened hardware; ``run`` drives it for one daemon."""

    def __init__(self, inputs: PanelInputs | None, device, max_fps: float) -> None:
        self.inputs = inputs
        self.device = device
        self.max_fps = max_fps
        self.panel: Panel | None = None
        self.display: DisplayThread | None = None

    def shift_held(self) -> bool:
        return self.inputs is not None and self.inputs.shift_held()

    async def run(self, daemon, stop: asyncio.Event) -> None:
        """Until ``stop``: GPIO events to the panel, its view to the OLED."""
        from groovebox.display import DisplayThread
        from groovebox.panel import Panel

        loop = asyncio.get_running_loop()
        self.panel = Panel(_deps(daemon))
        if daemon.boot.decision.reason:
            self.panel.show_error("Started blank", daemon.boot.decision.reason)
        if self.inputs is not None:
            self.inputs.start(lambda control, action, steps: loop.call_soon_threadsafe(
                self.panel.handle, control, action, steps))
        if self.device is not None:
            self.display = DisplayThread(self.device, self.max_fps)
        period_s = 1.0 / self.max_fps
        try:
            while not stop.is_set():
                if self.display is not None:
                    self.display.show(self.panel.view())
                try:
                    await asyncio.wait_for(stop.wait(), period_s)
                except TimeoutError:
                    pass
        finally:
            self.close()

    def close(self) -> None:
        """Release the pins and stop the display thread; safe to call twice."""
        if self.inputs is not None:
            self.inputs.close()
        if self.display is not None:
            self.display.close()


def _deps(daemon):
    import functools

    from groovebox.appliance.sysinfo import CpuMeter, local_ip, wifi_state
    from groovebox.control.scenes import list_presets, read_preset
    from groovebox.display import SystemView
    from groovebox.library.store import Library
    from groovebox.panel import LoopChoice, PanelDeps

    data_dir = daemon.data_dir
    cpu = CpuMeter()

    def list_loops() -> list:
        with Library(data_dir) as library:
            return [LoopChoice(r.loop_id, r.name, r.bpm, r.bars) for r in library.list(limit=500, peak_points=1)]

    def loop_peaks(loop_id: str) -> tuple:
        with Library(data_dir) as library:
            return library.get(loop_id).peaks

    def system():
        pairing = daemon.pairing
        expires_s = int(pairing.pin_expires_in_s())          # renews the PIN when due
        return SystemView(ip=local_ip(), pin=pairing.pin(), pin_expires_s=expires_s,
                          wifi=wifi_state(), lyria="key set" if daemon.live is not None else "offline generator",
                          cpu_percent=cpu.percent(), underruns=daemon.session.audio.stats.underruns)

    source = daemon.settings.midi.clock_source
    clock = {"": "internal", "link": "Link"}.get(source, "MIDI in")
    return PanelDeps(session=daemon.session, editor=daemon.editor, generator=daemon.generator,
                     list_loops=list_loops, loop_peaks=loop_peaks, system=system, clock_source=clock,
                     live=daemon.live, save_lock=daemon.save_lock, scenes=daemon.session.scenes,
                     list_scenes=functools.partial(list_presets, data_dir),
                     read_scene=functools.partial(read_preset, data_dir))
