"""``groovebox bench web``: the phone API under load while the pads play (numbers for the README).

Processes and threads: ``bench_web`` runs on the caller's thread. As ``bench soak`` does, it starts a private
JACK dummy server (realtime when ``can_realtime()``) and runs the daemon in this process: the asyncio control
loop (session, editor, uvicorn) on this thread, the render thread and the PortAudio callback on their own
(``--ahead-blocks 0``: the engine renders in the callback, as before). Two child processes play
the phones (``python -m groovebox.bench_web load|watch``, each with its own asyncio loop):

- ``load`` sends exactly ``rate_per_s`` requests per second, open loop: request ``i`` is due at
  ``i / rate_per_s`` s and is sent then whether or not earlier ones were answered, so a slow server cannot
  slow the generator down. Its latency counts from the due time, so queueing in the generator, the
  connection pool and the server all count. Every 10th request is a write (alternately ``PATCH /api/mixer``
  and ``PATCH /api/pads/{n}`` with a pad volume: edits through the editor, the engine and the autosave); the
  others are the reads a phone page makes (health, pads, transport, mixer, the live project, a page of loops).
- ``watch`` holds the WebSocket a phone holds: it counts ``TRANSPORT`` messages per 1 s window and, once per
  ``PROBE_PERIOD_S``, sends ``PAD_TRIGGER`` for the probe pad and times until the first ``PADS`` message that
  shows that pad in a new state; once the pad has stopped it presses it again and times that too. The round
  trip (phone -> control loop -> engine at its next block -> event poll -> phone) is an upper bound of
  "engine event -> phone".

Decisions:
- The project is ``bench soak``'s 16 looping pads (one bank), all pressed. Quantize is off:
  a press takes effect at the next audio block. The probe stops pad 15 (``PROBE_PAD``) and starts it again as
  soon as it reads "loaded" (a press while "stopping" would cancel the stop), so 16 pads play all but a few
  tens of milliseconds per second, and each probe times two changes.
- ``web.requests_per_s`` is raised to ``RATE_LIMIT_PER_S`` because all the load comes from one address and
  the per-client limit (50/s by default) would answer most of it 429.
- The library holds ``library_loops`` 1-bar loops so ``/api/loops?limit=20`` returns real records.
- ``sys.setswitchinterval(0.001)`` as ``groovebox run`` sets it; restored afterwards.
- Both children say "ready" (connected, the API answering), then start together on "go"; underruns, JACK
  xruns and the DSP load count from "go" until both have reported (about ``seconds``, plus the last
  answers). The DSP load percentile covers at most the last 8192 callbacks (the stats ring; 44 s at 256).
- The children run on the same machine at nice +10 (``PHONE_NICE``): the systemd unit runs the daemon at
  Nice=-10, so everything else on the box sits ten steps below it, and real phones spend their CPU
  elsewhere. The daemon still parses, routes and answers every request.
- The load process speaks HTTP/1.1 over asyncio streams itself (keep-alive, at most ``MAX_CONNECTIONS``
  connections; the routes answer with a Content-Length). httpx's AsyncClient was tried first: it took about
  2 ms of CPU per request and fell up to 0.6 s behind a 200/s schedule against a trivial uvicorn app on the
  2-core VM, so the bench measured the generator (this client: about 0.5 ms, on schedule).
  ``send_lag_ms_p99`` shows how late the generator itself sends. The WebSocket phone uses the websockets
  package (a dependency).
- The token goes to the children in the environment (``TOKEN_ENV``), not on their command line.
- A missed target is reported (``missed_targets``), never raised: this is a measurement.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from groovebox.bench import _SETTLE_S, _recent_percentile, _write_soak_project, can_realtime, test_loop

__all__ = ["PhoneRequest", "bench_web", "latency_summary", "missed_targets", "request_plan", "summary_text",
           "transport_rates"]

HOST = "127.0.0.1"
RATE_LIMIT_PER_S = 10000.0          # the highest web.requests_per_s the settings accept
SOAK_PADS = 16
PROBE_PAD = SOAK_PADS - 1           # stopped and started again by the WebSocket probe
PROBE_PERIOD_S = 1.0
PAD_TIMEOUT_S = 1.0                 # a change not seen by then counts as missed (20x the target)
SETTLED_STATES = ("loaded", "playing")
WRITE_EVERY = 10                    # every 10th request is a write
READ_PATHS = ("/api/health", "/api/pads", "/api/transport", "/api/mixer", "/api/projects/current",
              "/api/loops?limit=20")
TOKEN_ENV = "GROOVEBOX_BENCH_TOKEN"
REQUEST_TIMEOUT_S = 10.0            # from send to answer, waiting for a connection included
MAX_CONNECTIONS = 100
IDLE_REUSE_S = 2.0
CONNECT_TIMEOUT_S = 30.0
PHONE_NICE = 10                     # the unit runs the daemon at Nice=-10: the phones get the same gap
TRANSPORT_TARGET_HZ = 20.0
PAD_TARGET_MS = 50.0


# ---------------------------------------------------------------------------------------------- pure parts

@dataclass(frozen=True)
class PhoneRequest:
    method: str
    path: str
    body: dict | None = None


def request_plan(seconds: float, rate_per_s: float, seed: int = 0) -> list[tuple[float, PhoneRequest]]:
    """``(due offset in s, request)`` for every request, ``1 / rate_per_s`` apart; every ``WRITE_EVERY``-th
    is a pad volume write (mixer and pad route in turn), the rest are random reads."""
    rng = random.Random(seed)
    plan = []
    for index in range(round(seconds * rate_per_s)):
        if index % WRITE_EVERY == WRITE_EVERY - 1:
            request = _write_request(rng, use_mixer=(index // WRITE_EVERY) % 2 == 0)
        else:
            request = PhoneRequest("GET", rng.choice(READ_PATHS))
        plan.append((index / rate_per_s, request))
    return plan


def _write_request(rng: random.Random, use_mixer: bool) -> PhoneRequest:
    pad, volume = rng.randrange(SOAK_PADS), round(rng.uniform(0.4, 0.7), 3)
    if use_mixer:
        return PhoneRequest("PATCH", "/api/mixer", {"pads": [{"padIndex": pad, "volume": volume}]})
    return PhoneRequest("PATCH", f"/api/pads/{pad}", {"volume": volume})


def latency_summary(latencies_s: list[float], prefix: str, quantiles: tuple = (50, 95, 99)) -> dict:
    """``{prefix}_p50`` ... and ``{prefix}_max`` in ms (None when there are no samples)."""
    values_ms = np.asarray(latencies_s, dtype=float) * 1000.0
    summary = {f"{prefix}_p{q}": _round_ms(np.percentile(values_ms, q)) if values_ms.size else None
               for q in quantiles}
    summary[f"{prefix}_max"] = _round_ms(values_ms.max()) if values_ms.size else None
    return summary


def _round_ms(value: float) -> float:
    return round(float(value), 2)


def transport_rates(arrivals_s: list[float], start_s: float, seconds: float) -> dict:
    """TRANSPORT messages per whole 1 s window after ``start_s``: the slowest window, the mean over the run
    and the longest gap between two messages (ms)."""
    times = np.asarray([t for t in arrivals_s if start_s <= t < start_s + seconds], dtype=float)
    windows = max(1, int(seconds))
    counts = np.histogram(times, bins=windows, range=(start_s, start_s + windows))[0]
    edges = np.concatenate(([start_s], times, [start_s + seconds]))
    return {"transport_hz_min": int(counts.min()), "transport_hz_mean": round(times.size / seconds, 2),
            "transport_gap_ms_max": _round_ms(np.diff(edges).max() * 1000.0)}


def missed_targets(result: dict) -> list[str]:
    """The issue's targets this run missed, as sentences (empty when all were met)."""
    missed = []
    if result["underruns"] or result["jack_xruns"]:
        missed.append(f"{result['underruns']} underruns and {result['jack_xruns']} JACK xruns under load (target 0)")
    if result["non_2xx"] or result["errors"]:
        missed.append(f"{result['non_2xx']} non-2xx answers and {sum(result['errors'].values())} failed requests")
    if result["transport_hz_min"] < TRANSPORT_TARGET_HZ:
        missed.append(f"TRANSPORT at {result['transport_hz_min']} Hz in the slowest second "
                      f"(target >= {TRANSPORT_TARGET_HZ:g} Hz)")
    if result["pad_changes"] == 0 or result["pad_changes_missed"] or result["pad_ms_max"] > PAD_TARGET_MS:
        missed.append(f"pad state changes: max {result['pad_ms_max']} ms, {result['pad_changes_missed']} never "
                      f"arrived, {result['pad_changes']} measured (target every one within {PAD_TARGET_MS:g} ms)")
    return missed


def summary_text(result: dict) -> str:
    """The result as a readable table, then every missed target (or that all were met)."""
    lines = [f"{key:>22}: {value}" for key, value in result.items() if key != "missed_targets"]
    lines.append(f"web.requests_per_s was raised to {RATE_LIMIT_PER_S:g} so the load is not rate limited")
    lines += [f"TARGET MISSED: {missed}" for missed in result["missed_targets"]] or ["all targets met"]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- the bench

def bench_web(seconds: float = 60.0, rate_per_s: float = 200.0, block_frames: int = 256,
              library_loops: int = 20, ahead_blocks: int = 3) -> dict:
    """Run the daemon with 16 playing pads through PortAudio on a private JACK dummy server while one child
    process sends ``rate_per_s`` API requests per second and another watches the WebSocket, for ``seconds``."""
    from groovebox.app import Daemon, DaemonOptions
    from groovebox.config import Settings
    from groovebox.hw.jackserver import DummyJackServer

    _check_options(seconds, rate_per_s, block_frames, library_loops)
    realtime = can_realtime()
    switch_interval_s = sys.getswitchinterval()
    with tempfile.TemporaryDirectory(prefix="groovebox-bench-web-") as tmp, \
            DummyJackServer(block_frames=block_frames, realtime=realtime) as server:
        server.apply_env()
        folder = Path(tmp)
        project_file = _write_soak_project(folder)
        _fill_library(folder / "data", library_loops)
        settings = Settings.model_validate({
            "audio": {"backend": "portaudio", "block_frames": block_frames, "ahead_blocks": ahead_blocks},
            "web": {"host": HOST, "port": _free_port(), "requests_per_s": RATE_LIMIT_PER_S}})
        daemon = Daemon(settings, DaemonOptions(project_file=project_file, data_dir=folder / "data", serve_web=True))
        sys.setswitchinterval(0.001)
        try:
            measured = asyncio.run(_measure(daemon, server, seconds, rate_per_s))
        finally:
            sys.setswitchinterval(switch_interval_s)
    result = {"seconds": seconds, "rate_per_s": rate_per_s, "block_frames": block_frames,
              "ahead_blocks": ahead_blocks, "realtime": realtime,
              "library_loops": library_loops, **measured}
    result["missed_targets"] = missed_targets(result)
    return result


def _check_options(seconds: float, rate_per_s: float, block_frames: int, library_loops: int) -> None:
    if not 1.0 <= seconds <= 3600.0:
        raise ValueError("--seconds must be 1..3600")
    if not 1.0 <= rate_per_s <= 2000.0:
        raise ValueError("--rate must be 1..2000 requests per second")
    if not 32 <= block_frames <= 2048:
        raise ValueError("--block must be 32..2048 frames")
    if not 0 <= library_loops <= 500:
        raise ValueError("--library-loops must be 0..500")


def _fill_library(data_dir: Path, loops: int) -> None:
    from groovebox.library.store import Library

    data_dir.mkdir(parents=True, exist_ok=True)
    with Library(data_dir) as library:
        for index in range(loops):
            library.add(test_loop(100 + index), name=f"bench loop {index + 1}", source="generated",
                        category="drums", tags=("bench",), bpm=120.0, bars=1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


async def _measure(daemon, server, seconds: float, rate_per_s: float) -> dict:
    """Serve, press the 16 pads, settle, pair, then run both phones and count what the audio suffered."""
    stop = asyncio.Event()
    serving = asyncio.create_task(daemon.serve(stop))
    phones: list[_Phone] = []
    try:
        while daemon.session is None and not serving.done():
            await asyncio.sleep(0.01)
        await _check_serving(serving)
        for pad in range(SOAK_PADS):
            daemon.session.press(pad)
        await _unless_stopped(serving, asyncio.sleep(_SETTLE_S))
        token, _ = daemon.pairing.pair(daemon.pairing.pin(), "bench web")
        base_url = f"http://{HOST}:{daemon.settings.web.port}"
        phones = [await _Phone.start("load", token, "--url", base_url, "--seconds", str(seconds),
                                     "--rate", str(rate_per_s)),
                  await _Phone.start("watch", token, "--url", base_url, "--seconds", str(seconds))]
        await _unless_stopped(serving, asyncio.gather(*(phone.ready() for phone in phones)))
        stats = daemon.audio.stats
        underruns, xruns, callbacks = stats.underruns, server.xruns, stats.callbacks
        await asyncio.gather(*(phone.go() for phone in phones))
        load, watch = await _unless_stopped(serving, asyncio.gather(*(phone.report(seconds) for phone in phones)))
        audio = {"underruns": stats.underruns - underruns, "jack_xruns": server.xruns - xruns,
                 "dsp_load_p999": round(_recent_percentile(stats, stats.callbacks - callbacks, 99.9), 4)}
    finally:
        for phone in phones:
            await phone.stop()
        stop.set()
        await serving
    return {**audio, **load, **watch}


async def _check_serving(serving: asyncio.Task) -> None:
    """Raise the daemon's error (or say that it stopped) if ``serve`` has already ended."""
    if serving.done():
        await serving
        raise RuntimeError("the daemon stopped on its own during the bench")


async def _unless_stopped(serving: asyncio.Task, work):
    """``await work``, unless the daemon stops first: then raise as ``_check_serving`` does."""
    task = asyncio.ensure_future(work)
    await asyncio.wait({serving, task}, return_when=asyncio.FIRST_COMPLETED)
    if not task.done():
        task.cancel()
        await _check_serving(serving)
    return task.result()


def _lower_priority() -> None:
    os.nice(PHONE_NICE)


class _Phone:
    """A child process playing a phone: ``ready()``, ``go()``, then ``report()`` (its JSON result)."""

    def __init__(self, role: str, process: asyncio.subprocess.Process) -> None:
        self.role = role
        self.process = process

    @classmethod
    async def start(cls, role: str, token: str, *args: str) -> _Phone:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "groovebox.bench_web", role, *args, env={**os.environ, TOKEN_ENV: token},
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            preexec_fn=_lower_priority)
        return cls(role, process)

    async def ready(self) -> None:
        timeout_s = CONNECT_TIMEOUT_S + 30.0
        try:
            line = await asyncio.wait_for(self.process.stdout.readline(), timeout_s)
        except TimeoutError:
            raise RuntimeError(f"the {self.role} process was not ready after {timeout_s:.0f} s") from None
        if line.strip() != b"ready":
            raise RuntimeError(f"the {self.role} process did not start: {await self._stderr()}")

    async def go(self) -> None:
        self.process.stdin.write(b"go\n")
        await self.process.stdin.drain()

    async def report(self, seconds: float) -> dict:
        timeout_s = seconds + REQUEST_TIMEOUT_S + 60.0
        try:
            out, err = await asyncio.wait_for(self.process.communicate(), timeout_s)
        except TimeoutError:
            raise RuntimeError(f"the {self.role} process had not finished {timeout_s:.0f} s after the start "
                               "(is the machine overloaded?)") from None
        if self.process.returncode != 0 or not out.strip():
            raise RuntimeError(f"the {self.role} process failed: {err.decode(errors='replace')[-2000:]}")
        return json.loads(out.decode().strip().splitlines()[-1])

    async def _stderr(self) -> str:
        await self.stop()
        return (await self.process.stderr.read()).decode(errors="replace")[-2000:]

    async def stop(self) -> None:
        """Kill the process if it still runs, and reap it."""
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()


# ---------------------------------------------------------------------------------------------- child: load

@dataclass(frozen=True)
class _Outcome:
    latency_s: float        # answered (or failed) minus due
    lag_s: float            # sent minus due: how late the generator itself was
    status: int | None
    error: str | None
    write: bool
    done_s: float


class _Http:
    """Keep-alive HTTP/1.1 to one server over asyncio streams: the most recently used idle connection is
    reused, else a new one is opened, at most ``MAX_CONNECTIONS`` at once (later requests wait for one, and
    that wait counts). Connections idle for ``IDLE_REUSE_S`` or closed by the server are dropped, not reused
    (uvicorn closes keep-alive connections after 5 s idle)."""

    def __init__(self, base_url: str, token: str) -> None:
        host_port = base_url.removeprefix("http://").rstrip("/")
        self.host, _, port = host_port.partition(":")
        self.port = int(port or 80)
        self._head = f"Host: {host_port}\r\nAuthorization: Bearer {token}\r\nAccept: application/json\r\n"
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []   # ..., idle since
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)

    async def request(self, request: PhoneRequest) -> int:
        """Send ``request``; its status code once the whole answer has been read."""
        body = json.dumps(request.body).encode() if request.body is not None else b""
        head = f"{request.method} {request.path} HTTP/1.1\r\n{self._head}"
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        async with self._slots:
            reader, writer = await self._connection()
            try:
                writer.write(head.encode() + b"\r\n" + body)
                await writer.drain()
                status, keep_alive = await _read_answer(reader)
            except BaseException:
                writer.close()
                raise
            if keep_alive:
                self._idle.append((reader, writer, time.monotonic()))
            else:
                writer.close()
            return status

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        while self._idle:
            reader, writer, idle_since_s = self._idle.pop()
            if not reader.at_eof() and time.monotonic() - idle_since_s < IDLE_REUSE_S:
                return reader, writer
            writer.close()
        return await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        for _, writer, _ in self._idle:
            writer.close()


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """(status, whether the connection stays open) of one HTTP/1.1 answer, its body read and dropped."""
    lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {name.strip().lower(): value.strip().lower()
               for name, _, value in (line.partition(":") for line in lines[1:] if line)}
    if "chunked" in headers.get("transfer-encoding", ""):
        raise ValueError("chunked answers are not expected from these routes")
    await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers.get("connection") != "close"


async def _run_load(base_url: str, token: str, seconds: float, rate_per_s: float) -> dict:
    plan = request_plan(seconds, rate_per_s)
    client = _Http(base_url, token)
    try:
        await _until_answered(client)
        await _ready_then_go()
        start_s = time.monotonic()
        tasks = []
        for offset_s, request in plan:
            due_s = start_s + offset_s
            await asyncio.sleep(max(0.0, due_s - time.monotonic()))
            tasks.append(asyncio.create_task(_timed(client, request, due_s)))
        outcomes = await asyncio.gather(*tasks)
    finally:
        client.close()
    return _load_report(outcomes, start_s)


async def _until_answered(client: _Http) -> None:
    deadline_s = time.monotonic() + CONNECT_TIMEOUT_S
    while True:
        try:
            answer = f"status {await client.request(PhoneRequest('GET', '/api/health'))}"
            if answer == "status 200":
                return
        except (OSError, asyncio.IncompleteReadError) as exc:
            answer = repr(exc)
        if time.monotonic() > deadline_s:
            raise RuntimeError(f"/api/health did not answer 200 within {CONNECT_TIMEOUT_S:g} s (last: {answer})")
        await asyncio.sleep(0.05)


async def _timed(client: _Http, request: PhoneRequest, due_s: float) -> _Outcome:
    lag_s = time.monotonic() - due_s
    status, error = None, None
    try:
        status = await asyncio.wait_for(client.request(request), REQUEST_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        error = type(exc).__name__
    done_s = time.monotonic()
    return _Outcome(done_s - due_s, lag_s, status, error, request.method != "GET", done_s)


def _load_report(outcomes: list[_Outcome], start_s: float) -> dict:
    answered = [o for o in outcomes if o.status is not None]
    status_counts: dict[str, int] = {}
    errors: dict[str, int] = {}
    for outcome in outcomes:
        if outcome.error is not None:
            errors[outcome.error] = errors.get(outcome.error, 0) + 1
        else:
            status_counts[str(outcome.status)] = status_counts.get(str(outcome.status), 0) + 1
    span_s = max((o.done_s for o in answered), default=start_s) - start_s
    return {
        "requests": len(outcomes), "answered_2xx": sum(200 <= o.status < 300 for o in answered),
        "non_2xx": sum(not 200 <= o.status < 300 for o in answered), "errors": errors,
        "status_counts": status_counts,
        "achieved_rate_per_s": round(len(answered) / span_s, 2) if span_s > 0 else 0.0,
        **latency_summary([o.latency_s for o in outcomes], "latency_ms"),
        **latency_summary([o.latency_s for o in outcomes if o.write], "write_ms", quantiles=(99,)),
        "send_lag_ms_p99": _round_ms(np.percentile([o.lag_s * 1000.0 for o in outcomes], 99)) if outcomes else None,
    }


# ---------------------------------------------------------------------------------------------- child: watch

class _Watcher:
    """What the phone's WebSocket saw: TRANSPORT arrival times, and the probe pad's state changes timed
    from the trigger that caused them. Runs on the child's asyncio loop."""

    def __init__(self, pad: int) -> None:
        self.pad = pad
        self.state = ""
        self.transport_s: list[float] = []
        self.pad_latencies_s: list[float] = []
        self.missed = 0
        self.errors = 0
        self._pending: tuple[float, str] | None = None     # (sent at, state before)
        self._moved = asyncio.Event()

    def take(self, text: str, at_s: float) -> None:
        message = json.loads(text)
        kind, payload = message.get("type"), message.get("payload") or {}
        if kind == "TRANSPORT":
            self.transport_s.append(at_s)
        elif kind in ("PADS", "SNAPSHOT"):
            for pad in payload.get("pads", []):
                if pad.get("padIndex") == self.pad:
                    self._pad_state(pad["state"], at_s)
        elif kind == "ERROR":
            self.errors += 1

    def _pad_state(self, state: str, at_s: float) -> None:
        if self._pending is not None and state != self._pending[1]:
            self.pad_latencies_s.append(at_s - self._pending[0])
            self._pending = None
        self.state = state
        self._moved.set()

    def triggered(self, at_s: float) -> None:
        """A PAD_TRIGGER goes out now; the previous one's change, if still not seen, is missed."""
        self.finish()
        self._pending = (at_s, self.state)

    def finish(self) -> None:
        if self._pending is not None:
            self.missed += 1
            self._pending = None

    @property
    def seen(self) -> bool:
        return self._pending is None

    async def until(self, condition, timeout_s: float) -> bool:
        """Wait until ``condition()`` holds (checked at each of the pad's state messages), at most ``timeout_s``."""
        deadline_s = time.monotonic() + timeout_s
        while not condition():
            self._moved.clear()
            try:
                await asyncio.wait_for(self._moved.wait(), max(0.0, deadline_s - time.monotonic()))
            except TimeoutError:
                return False
        return True


async def _run_watch(base_url: str, token: str, seconds: float) -> dict:
    from websockets.asyncio.client import connect

    url = base_url.replace("http://", "ws://", 1) + "/ws"
    watcher = _Watcher(PROBE_PAD)
    async with await _connected(connect, url, token) as websocket:
        reader = asyncio.create_task(_read(websocket, watcher))
        await _ready_then_go()
        start_s = time.monotonic()
        await _probe(websocket, watcher, start_s, seconds)
        reader.cancel()
    watcher.finish()
    return {**transport_rates(watcher.transport_s, start_s, seconds), "pad_changes": len(watcher.pad_latencies_s),
            "pad_changes_missed": watcher.missed, **latency_summary(watcher.pad_latencies_s, "pad_ms", (50, 99)),
            "ws_errors": watcher.errors}


async def _connected(connect, url: str, token: str):
    deadline_s = time.monotonic() + CONNECT_TIMEOUT_S
    while True:
        try:
            return await connect(url, additional_headers={"Authorization": f"Bearer {token}"}, max_size=None)
        except OSError:
            if time.monotonic() > deadline_s:
                raise
            await asyncio.sleep(0.05)


async def _read(websocket, watcher: _Watcher) -> None:
    async for text in websocket:
        watcher.take(text, time.monotonic())


async def _probe(websocket, watcher: _Watcher, start_s: float, seconds: float) -> None:
    """Every ``PROBE_PERIOD_S`` (from half a period in, the last one before ``seconds``): stop the probe pad,
    then start it again, timing both changes; then wait for the pad to play until the end of the run."""
    due_s = start_s + PROBE_PERIOD_S / 2
    while due_s < start_s + seconds:
        await asyncio.sleep(max(0.0, due_s - time.monotonic()))
        for _ in ("stop", "start"):
            await watcher.until(lambda: watcher.state in SETTLED_STATES, PAD_TIMEOUT_S)
            watcher.triggered(time.monotonic())
            await websocket.send(json.dumps({"type": "PAD_TRIGGER", "payload": {"padIndex": watcher.pad}}))
            await watcher.until(lambda: watcher.seen, PAD_TIMEOUT_S)
        due_s += PROBE_PERIOD_S
    await asyncio.sleep(max(0.0, start_s + seconds - time.monotonic()))


# ---------------------------------------------------------------------------------------------- child main

async def _ready_then_go() -> None:
    """Tell the parent this phone is connected, then wait for its "go" (EOF: the parent is gone)."""
    print("ready", flush=True)
    line = await asyncio.to_thread(sys.stdin.readline)
    if line.strip() != "go":
        raise SystemExit("the bench stopped before it started")


def _child_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m groovebox.bench_web",
                                     description="a phone for groovebox bench web (started by it)")
    parser.add_argument("role", choices=["load", "watch"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--rate", type=float, default=200.0)
    args = parser.parse_args(argv)
    token = os.environ[TOKEN_ENV]
    if args.role == "load":
        report = asyncio.run(_run_load(args.url, token, args.seconds, args.rate))
    else:
        report = asyncio.run(_run_watch(args.url, token, args.seconds))
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(_child_main(sys.argv[1:]))
