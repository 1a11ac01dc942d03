"""The display thread: draws the latest view and hands the frame to the OLED device, at most ``max_fps``.

The control loop calls ``show(view)`` (cheap: it stores the view and wakes the thread). The thread draws
only when the view differs from the last one drawn, and waits ``1 / max_fps`` between frames, so a burst
of changes costs one frame per period and an idle panel costs nothing. Drawing and the I2C/SPI transfer
(about 25 ms for a 1 KB frame at 400 kHz) never run on the control loop or the audio thread.
Decisions: a device error is logged once and the thread keeps going (a loose OLED cable must not stop
the music).
"""

from __future__ import annotations

import logging
import threading
import time

from groovebox.display.pages import render
from groovebox.display.views import View

__all__ = ["DisplayThread"]

log = logging.getLogger(__name__)


class DisplayThread:
    """Owns the device; ``show`` from any thread, ``close`` once at shutdown."""

    def __init__(self, device, max_fps: float = 20.0) -> None:
        self.device = device
        self.period_s = 1.0 / max_fps
        self.frames = 0                      # frames sent to the device
        self._latest: View | None = None
        self._drawn: View | None = None
        self._wake = threading.Condition()
        self._closing = False
        self._failed = False
        self._thread = threading.Thread(target=self._run, name="display", daemon=True)
        self._thread.start()

    def show(self, view: View) -> None:
        """Make ``view`` the next frame (dropped if an even newer one comes first)."""
        with self._wake:
            self._latest = view
            self._wake.notify()

    def wait_drawn(self, view: View, timeout_s: float = 5.0) -> bool:
        """Block until ``view`` is on the device (tests, the bench); False on timeout."""
        deadline = time.monotonic() + timeout_s
        while self._drawn != view:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def _run(self) -> None:
        while True:
            with self._wake:
                self._wake.wait_for(lambda: self._closing or self._latest != self._drawn)
                if self._closing:
                    return
                view = self._latest
            self._draw(view)
            time.sleep(self.period_s)

    def _draw(self, view: View) -> None:
        try:
            self.device.display(render(view))
            self.frames += 1
            self._failed = False
        except OSError as exc:
            if not self._failed:
                log.error("the OLED stopped answering (%s); the groovebox plays on", exc)
            self._failed = True
        self._drawn = view

    def close(self) -> None:
        """Stop the thread (the last frame stays on the display)."""
        with self._wake:
            self._closing = True
            self._wake.notify()
        self._thread.join(2.0)
