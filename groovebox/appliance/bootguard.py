"""Crash safety at start-up: a clean-shutdown flag, crash counting, and the decision to start blank.

Runs on the main thread: ``assess`` in ``Daemon.__init__`` (before the last session is restored),
``started`` when the daemon starts serving, ``stopped_cleanly`` at the end of a clean stop.
State lives in ``<data_dir>/boot.json`` (atomic writes): ``runningSince`` (wall-clock start of the run in
progress; null after a clean stop: this is the clean-shutdown flag) and ``crashes`` (start times of recent
runs that ended without a clean stop).

Decisions:
- A run that was still "running" at the next start crashed (SIGKILL, power cut, exception, watchdog).
  When three crashed runs started within the last 60 s, the next start restores nothing: it starts with
  an empty session and says why (log, ``/api/health`` warnings, the OLED error page). A session that keeps
  crashing the daemon then cannot lock the performer out. Holding Shift at boot does the same on demand.
- The session is never deleted: a blank start moves ``session.json`` aside as ``session.json.blank-<time>``.
- A clean stop clears the crash count; a blank start clears it too (a crash after it counts afresh).
- Daemons that are built but never serve (tests, tools) leave no trace: only ``started`` writes.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from groovebox.control.autosave import SESSION_FILE
from groovebox.project.model import atomic_write_bytes

__all__ = ["BOOT_FILE", "CRASH_WINDOW_S", "MAX_CRASHES", "BootDecision", "BootGuard"]

log = logging.getLogger(__name__)

BOOT_FILE = "boot.json"
CRASH_WINDOW_S = 60.0
MAX_CRASHES = 3


@dataclass(frozen=True)
class BootDecision:
    """What this start does: ``blank`` (and ``reason``), after how many recent crashes."""

    blank: bool = False
    reason: str = ""
    crashes: int = 0
    after_crash: bool = False


class BootGuard:
    """See the module docstring. ``clock`` is wall-clock seconds (runs are separate processes)."""

    def __init__(self, data_dir: Path, *, window_s: float = CRASH_WINDOW_S, max_crashes: int = MAX_CRASHES,
                 clock: Callable[[], float] = time.time) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / BOOT_FILE
        self.window_s = window_s
        self.max_crashes = max_crashes
        self._clock = clock
        self._crashes: list[float] = []
        self.decision = BootDecision()

    def assess(self, shift_held: bool = False) -> BootDecision:
        """Count recent crashes; start blank (setting the session aside) after too many or with Shift."""
        now_s = self._clock()
        state = self._read()
        crashes = list(state["crashes"])
        after_crash = state["runningSince"] is not None
        if after_crash:
            crashes.append(float(state["runningSince"]))
        self._crashes = [t for t in crashes if now_s - self.window_s <= t <= now_s]
        why = ""
        if len(self._crashes) >= self.max_crashes:
            why = f"{len(self._crashes)} crashes within {self.window_s:.0f} s"
        elif shift_held:
            why = "Shift held at start"
        if why:
            self._crashes = []
            why += f": started with an empty session{self._set_session_aside()}"
            log.error("%s", why)
        elif after_crash:
            log.warning("the last run did not stop cleanly (%d crash(es) in %.0f s): restoring its session",
                        len(self._crashes), self.window_s)
        self.decision = BootDecision(blank=bool(why), reason=why, crashes=len(self._crashes),
                                     after_crash=after_crash)
        return self.decision

    def started(self) -> None:
        """This run is serving: until ``stopped_cleanly``, it counts as a crash at the next start."""
        self._write({"runningSince": self._clock(), "crashes": self._crashes, "pid": os.getpid()})

    def stopped_cleanly(self) -> None:
        """Set the clean-shutdown flag and forget the crash count."""
        self._crashes = []
        self._write({"runningSince": None, "crashes": [], "pid": None})

    def _set_session_aside(self) -> str:
        session = self.data_dir / SESSION_FILE
        if not session.exists():
            return ""
        aside = session.with_name(f"{SESSION_FILE}.blank-{time.strftime('%Y%m%d-%H%M%S')}")
        session.rename(aside)
        return f" (the last one is kept as {aside.name})"

    def _read(self) -> dict:
        empty = {"runningSince": None, "crashes": []}
        try:
            state = json.loads(self.path.read_bytes())
            running = state.get("runningSince")
            crashes = [float(t) for t in state.get("crashes", [])]
            return {"runningSince": None if running is None else float(running), "crashes": crashes}
        except FileNotFoundError:
            return empty
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            log.warning("%s is unreadable (%s): counting crashes afresh", self.path, exc)
            return empty

    def _write(self, state: dict) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            atomic_write_bytes(self.path, json.dumps(state).encode())
        except OSError as exc:
            log.error("cannot write %s: %s (crash counting is off)", self.path, exc)
