"""systemd readiness and watchdog (``Type=notify``, ``WatchdogSec=``) without libsystemd.

``SystemdNotifier`` sends ``sd_notify`` datagrams to ``$NOTIFY_SOCKET`` (a path, or ``@name`` for the
abstract namespace). ``run`` is a task on the control loop: READY=1 once the daemon is up, then WATCHDOG=1
every half ``$WATCHDOG_USEC``, then STOPPING=1. Because the pings come from the control loop itself, a
blocked loop stops them and systemd restarts the service. They also stop when ``healthy()`` says no
(the audio callback stopped advancing), for the same reason.
Decisions: without ``NOTIFY_SOCKET`` everything is a no-op (laptops, tests); a send that fails is logged
once and never raises; ``WATCHDOG_PID`` naming another process disables the pings, as sd_notify does.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Mapping

__all__ = ["Progress", "SystemdNotifier"]

log = logging.getLogger(__name__)

_READY_POLL_S = 0.02
_MIN_PING_S = 0.05


class SystemdNotifier:
    """One datagram socket to systemd (or nowhere)."""

    def __init__(self, address: str | None, watchdog_period_s: float | None = None) -> None:
        self.address = "\0" + address[1:] if address and address.startswith("@") else address
        self.watchdog_period_s = watchdog_period_s
        self.sent: list[str] = []          # the latest messages, for logs and tests (kept short)
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) if address else None
        self._failed = False

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> SystemdNotifier:
        """The notifier systemd set up for this process (``NOTIFY_SOCKET``, ``WATCHDOG_USEC/PID``)."""
        period_s = None
        usec = environ.get("WATCHDOG_USEC", "")
        pid = environ.get("WATCHDOG_PID", "")
        if usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid())):
            period_s = int(usec) / 1e6
        return cls(environ.get("NOTIFY_SOCKET") or None, period_s)

    @property
    def enabled(self) -> bool:
        return self._socket is not None

    def notify(self, *fields: str) -> bool:
        """Send ``KEY=value`` lines as one datagram; False when there is no socket or it failed."""
        if self._socket is None:
            return False
        message = "\n".join(fields)
        try:
            self._socket.sendto(message.encode(), self.address)
        except OSError as exc:
            if not self._failed:
                log.error("cannot notify systemd at %s: %s", self.address, exc)
            self._failed = True
            return False
        self.sent = [*self.sent[-9:], message]
        return True

    async def run(self, stop: asyncio.Event, ready: Callable[[], bool], status: Callable[[], str],
                  healthy: Callable[[], bool] = lambda: True) -> None:
        """READY=1 when ``ready()``, WATCHDOG=1 while ``healthy()``, STOPPING=1 at ``stop``."""
        if not self.enabled:
            await stop.wait()            # the daemon treats a task that ends on its own as a failure
            return
        try:
            while not ready():
                if await _stopped(stop, _READY_POLL_S):
                    return          # (STOPPING=1 in finally)
            self.notify("READY=1", f"STATUS={status()}", f"MAINPID={os.getpid()}")
            period_s = None if self.watchdog_period_s is None else max(self.watchdog_period_s / 2, _MIN_PING_S)
            while not await _stopped(stop, period_s):
                if healthy():
                    self.notify("WATCHDOG=1")
                else:
                    log.error("the audio stopped: no watchdog ping (systemd restarts the service)")
        finally:
            self.notify("STOPPING=1")

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


async def _stopped(stop: asyncio.Event, timeout_s: float | None) -> bool:
    try:
        await asyncio.wait_for(stop.wait(), timeout_s)
    except TimeoutError:
        return False
    return True


class Progress:
    """``advanced()``: whether ``counter()`` grew since the previous call (the audio callback count)."""

    def __init__(self, counter: Callable[[], int]) -> None:
        self._counter = counter
        self._last = counter()

    def advanced(self) -> bool:
        value = self._counter()
        grew = value > self._last
        self._last = value
        return grew
