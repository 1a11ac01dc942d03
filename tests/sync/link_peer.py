"""A Link peer for test_link.py: joins at 100 BPM, then measures the daemon's tempo and bar phase via /api/health.

Run inside the same network namespace as the daemon. Prints one JSON line with the results.
"""

import asyncio
import json
import sys
import time
import urllib.request

import aalink


def health(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as response:
        return json.load(response)


def wait_for_daemon(port: int, timeout_s: float = 30.0) -> None:
    """The daemon's web server answers (it starts after the audio, the workers and the controllers)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            health(port)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


async def main(port: int) -> None:
    wait_for_daemon(port)
    link = aalink.Link(100.0)
    link.quantum = 4
    link.enabled = True
    joined = time.monotonic()
    while link.num_peers < 1 and time.monotonic() - joined < 10:
        await asyncio.sleep(0.02)
    peers_s = time.monotonic()
    tempo_agreed_s = None
    while time.monotonic() - peers_s < 3:
        if abs(health(port)["tempo_bpm"] - link.tempo) < 0.01:
            tempo_agreed_s = time.monotonic() - peers_s
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)                                  # let the phase settle
    errors_ms = []
    for _ in range(20):
        report = health(port)
        now_s = time.monotonic()
        link_beat = link.beat - (now_s - report["heard_at_s"]) * link.tempo / 60.0
        error = (link_beat - report["heard_beat"] + 2) % 4 - 2
        errors_ms.append(error * 60000.0 / link.tempo)
        await asyncio.sleep(0.1)
    link.tempo = 133.0                                        # a peer changes the tempo: the daemon follows
    changed_s = time.monotonic()
    followed_s = None
    while time.monotonic() - changed_s < 3:
        if abs(health(port)["tempo_bpm"] - 133.0) < 0.01:
            followed_s = time.monotonic() - changed_s
            break
        await asyncio.sleep(0.02)
    print(json.dumps({"peers": link.num_peers, "tempo_agreed_s": tempo_agreed_s, "link_tempo": link.tempo,
                      "errors_ms": errors_ms, "followed_133_s": followed_s}), flush=True)


asyncio.run(main(int(sys.argv[1])))
