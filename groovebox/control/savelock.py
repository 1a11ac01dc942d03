"""Save-lock (gig mode): while it is on, what is saved on disk cannot be changed by an accident during a show.

One ``SaveLock`` per daemon, built from ``settings.project.save_lock`` and then a runtime state: the front
panel's system page turns it on and off (a performer at the box); the phone API only shows it
(``/api/health`` ``save_lock``). Read and changed on the control loop only; CLI commands (``groovebox
import``) have no lock at all.

Decisions:
- Locked: writing the project store (save, save as, rename, create, delete, PUT/PATCH of a stored project)
  and the loop library (upload, corrections, delete, and the generation jobs and live-pad captures that would
  add loops) is refused with one sentence that says what was not done and where to turn the lock off.
- Not locked: opening a project (a performer changes songs), every live edit (pads, mixer, tempo), the live
  session's autosave (crash safety) and exports (files in ``exports/``, not the library).
- The lock is checked when something is asked for: a generation job or capture accepted before the lock
  went on still stores its result (refusing at submit time never throws finished work away).
- Where the check lives: ``ProjectStore`` checks every write itself; the library routes check before they
  start (``groovebox.library.Library`` is shared with the CLI and knows nothing of gigs).
"""

from __future__ import annotations

import logging

__all__ = ["SaveLock", "SaveLocked", "refusal"]

log = logging.getLogger(__name__)


def refusal(what: str) -> str:
    """The sentence a performer reads when ``what`` ("saving the project") was refused."""
    return f"save-lock is on (gig mode): {what} was not done; turn it off on the front panel's system page"


class SaveLocked(RuntimeError):
    """Refused because save-lock is on. ``str(error)`` is the sentence; ``what`` names the refused action."""

    def __init__(self, what: str) -> None:
        super().__init__(refusal(what))
        self.what = what


class SaveLock:
    """Whether stored projects and the loop library are read-only right now (see the module docstring)."""

    def __init__(self, on: bool = False) -> None:
        self._on = bool(on)
        if self._on:
            log.warning("save-lock on (gig mode): stored projects and the loop library are read-only")

    @property
    def on(self) -> bool:
        return self._on

    def set(self, on: bool, by: str = "") -> None:
        """Turn the lock on or off (``by`` says who, for the log)."""
        on = bool(on)
        if on != self._on:
            self._on = on
            log.warning("save-lock %s%s", "on (gig mode)" if on else "off", f" ({by})" if by else "")

    def toggle(self, by: str = "") -> bool:
        """Flip the lock; returns the new state."""
        self.set(not self._on, by)
        return self._on

    def check(self, what: str) -> None:
        """Raise ``SaveLocked`` for ``what`` when the lock is on."""
        if self._on:
            raise SaveLocked(what)
