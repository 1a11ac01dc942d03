"""Facts for the OLED's system page: IP address, Wi-Fi state and CPU use. Control loop; each call reads a
socket name or a small /proc or /sys file (microseconds), never the network.

Decisions: the IP address is the source address the kernel picks for a route to a TEST-NET address
(a UDP ``connect`` sends nothing); Wi-Fi is ``wlan0``'s operstate (no ``iw`` subprocess on the control
loop); CPU use is the busy share of ``/proc/stat`` since the previous reading.
"""

from __future__ import annotations

import socket
from pathlib import Path

__all__ = ["CpuMeter", "local_ip", "wifi_state"]

_ROUTE_PROBE = ("192.0.2.1", 9)          # TEST-NET-1: never answered, only routed


def local_ip() -> str:
    """This machine's address on the network the phone is on, or "no network"."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(_ROUTE_PROBE)
            return probe.getsockname()[0]
        except OSError:
            return "no network"


def wifi_state(interface: str = "wlan0", sys_net: Path = Path("/sys/class/net")) -> str:
    """``"wlan0 up"``, ``"wlan0 down"`` or ``"none"``."""
    try:
        state = (sys_net / interface / "operstate").read_text().strip()
    except OSError:
        return "none"
    return f"{interface} {state}"


class CpuMeter:
    """``percent()``: whole-machine CPU use since the previous call (0 on the first)."""

    def __init__(self, stat: Path = Path("/proc/stat")) -> None:
        self._stat = stat
        self._last = self._read()

    def _read(self) -> tuple[int, int]:
        try:
            fields = [int(x) for x in self._stat.read_text().split("\n", 1)[0].split()[1:]]
        except (OSError, ValueError):
            return 0, 0
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields), idle

    def percent(self) -> int:
        total, idle = self._read()
        spent, waited = total - self._last[0], idle - self._last[1]
        self._last = (total, idle)
        return round(100 * (spent - waited) / spent) if spent > 0 else 0
