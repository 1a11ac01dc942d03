"""``groovebox status``: ask a running daemon for ``/api/health`` (no token needed) and summarise it.
Main thread of the CLI process; one HTTP GET with a short timeout. The save-lock line is shown on or off
(a performer checks it before a show); a daemon too old to report it gets no line."""

from __future__ import annotations

import json
import urllib.request

__all__ = ["daemon_status", "status_text"]


def daemon_status(url: str, timeout_s: float = 3.0) -> dict:
    """The daemon's health document; ``OSError`` (URLError) when nothing answers at ``url``."""
    with urllib.request.urlopen(f"{url.rstrip('/')}/api/health", timeout=timeout_s) as response:
        return json.load(response)


def status_text(health: dict) -> str:
    """A few lines a person reads at a glance."""
    lines = [(f"groovebox {health.get('version', '?')}: {health.get('status', '?')}, "
              f"up {health.get('uptime_s', 0):.0f} s"),
             (f"project   {health.get('project', '?')} at {health.get('tempo_bpm', 0):g} BPM, "
              f"{health.get('pads_playing', 0)} pads playing"),
             (f"audio     {health.get('audio_backend', '?')}, {health.get('sample_rate', 0)} Hz, "
              f"{health.get('block_frames', 0)} frames, DSP {100 * health.get('dsp_load', 0):.1f} %, "
              f"underruns {health.get('underruns', 0)}")]
    if "save_lock" in health:
        lines.append("save-lock ON (gig mode): stored projects and the loop library are read-only"
                     if health["save_lock"] else "save-lock off")
    live = health.get("live_pad")
    if isinstance(live, dict):
        lines.append(f"live pad  {live.get('state', '?')}" + (f" ({live['error']})" if live.get("error") else ""))
    lines += [f"warning   {warning}" for warning in health.get("warnings", [])]
    return "\n".join(lines)
