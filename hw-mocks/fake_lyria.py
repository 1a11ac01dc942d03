#!/usr/bin/env python3
"""A fake Lyria RealTime server: the BidiGenerateMusic WebSocket endpoint, streaming synthesized music.

    .venv/bin/python hw-mocks/fake_lyria.py                       # wss on a free port, prints a ready line
    .venv/bin/python hw-mocks/fake_lyria.py --port 8781 --realtime --filter-word forbidden
    SSL_CERT_FILE=<cert from the ready line> <client with base_url=https://127.0.0.1:PORT, api_version=v1alpha>

Stands in for Google's endpoint so the real ``google-genai`` client can be tested unmodified: the SDK forces
``wss://``, so the fake serves TLS with a self-signed certificate for 127.0.0.1 made at start-up (with the
``cryptography`` package when installed, else the ``openssl`` CLI); point the client's process at it with
``SSL_CERT_FILE``. ``--plain`` serves ``ws://`` for debugging with other clients.

Wire protocol (reference/lyria-realtime.md §1-§4): any path ending in ``.GenerativeService.BidiGenerateMusic``
(any version); the key from the ``x-goog-api-key`` header or ``?key=``; the first message must be
``{"setup": {"model": ...}}`` and is answered by ``{"setupComplete": {}}``; then ``clientContent``
(``weightedPrompts``), ``musicGenerationConfig`` (a full replacement each time) and ``playbackControl``
(PLAY, PAUSE, STOP, RESET_CONTEXT), in camelCase or snake_case. Replies are JSON in binary frames; audio is
base64 ``audio/l16;rate=48000;channels=2`` in chunks of ``--chunk-s`` seconds (each message under 1 MiB).
Malformed input (not JSON, unknown or nested keys, wrong types, anything before ``setup``) closes with 1007.

Music: kick on every beat (accented downbeat), snare on 2 and 4, 8th hats (16ths when density > 0.6), a bass
line and a pad chord, both changing at every bar line, over a -48 dBFS hiss bed, in the requested scale (its relative minor) at the
requested bpm (default 120). ``muteBass``, ``muteDrums`` and ``onlyBassAndDrums`` are honoured. PLAY starts a
*segment* whose first downbeat is at a random (seeded) frame; RESET_CONTEXT, or PLAY after STOP, starts a new
one with the current config. Pacing is a burst (as fast as the client reads) or ``--realtime``.

Behaviours for testing, from the command line (for every key) or per key with ``+`` directives appended to
the key (``mykey+drop=3x1+rate=44100``) or per prompt with ``[fake name=value]`` in the prompt text:

    drop=K[xN]     after K audio chunks, drop the TCP connection without a close frame (first N connections)
    stall=K[xN]    after K audio chunks, stop sending but keep the connection open (first N connections)
    reject=CODE    answer the handshake with this HTTP status (key only; also ``--bad-key``)
    rate=HZ, channels=C, chunk=SECONDS, realtime     audio format and pacing for this key
    any prompt containing a ``--filter-word`` gets ``filteredPrompt`` and is left out; with no prompt left,
    nothing is streamed

Connections are counted per key (``key_connection``), so one server can serve many tests, each with its own key.

Output: JSON lines on stdout (and ``--log FILE``): ``ready`` (port, url, cert), then per connection
``handshake``, ``received`` (every client message, parsed and raw), ``sent`` (every non-audio message),
``segment`` (the truth: ``downbeat_frame``, the frame of its first downbeat in the connection's stream, and
``bar_frames``), ``chunk`` (``start_frame``, ``frames``), ``drop``/``stall``/``malformed`` and ``closed``.
Keys are never printed, only ``key_id`` (the first 16 hex digits of their SHA-256). SIGTERM or Ctrl-C stops it.

``FakeLyriaProcess`` (below) runs this script as a subprocess for tests.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import dataclasses
import hashlib
import ipaddress
import json
import math
import os
import random
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from http import HTTPStatus
from pathlib import Path
from typing import Self
from urllib.parse import parse_qs, urlsplit

import numpy as np
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

PATH_SUFFIX = ".GenerativeService.BidiGenerateMusic"
PATH_RE = re.compile(r"/ws/google\.ai\.generativelanguage\.([A-Za-z0-9_]+)\.GenerativeService\.BidiGenerateMusic$")
MAX_MESSAGE_BYTES = 1 << 20
OUTPUT_GAIN = 0.5
HISS_RMS = 10 ** (-48 / 20) / OUTPUT_GAIN
SCALES = ["C_MAJOR_A_MINOR", "D_FLAT_MAJOR_B_FLAT_MINOR", "D_MAJOR_B_MINOR", "E_FLAT_MAJOR_C_MINOR",
          "E_MAJOR_D_FLAT_MINOR", "F_MAJOR_D_MINOR", "G_FLAT_MAJOR_E_FLAT_MINOR", "G_MAJOR_E_MINOR",
          "A_FLAT_MAJOR_F_MINOR", "A_MAJOR_G_FLAT_MINOR", "B_FLAT_MAJOR_G_MINOR", "B_MAJOR_A_FLAT_MINOR"]
MODES = ["MUSIC_GENERATION_MODE_UNSPECIFIED", "QUALITY", "DIVERSITY", "VOCALIZATION"]
CONTROLS = ["PLAYBACK_CONTROL_UNSPECIFIED", "PLAY", "PAUSE", "STOP", "RESET_CONTEXT"]
# wire key -> (camelCase name, accepted types); snake_case spellings map to the same field
CONFIG_FIELDS = {
    "temperature": (float, int), "topK": (int,), "seed": (int,), "guidance": (float, int), "bpm": (int,),
    "density": (float, int), "brightness": (float, int), "scale": (str,), "muteBass": (bool,),
    "muteDrums": (bool,), "onlyBassAndDrums": (bool,), "musicGenerationMode": (str,),
}
# minor-key progressions as (semitones above the minor tonic, is_minor_chord); neighbours always differ
PROGRESSIONS = [
    [(0, True), (8, False), (3, False), (10, False)],     # i VI III VII
    [(0, True), (5, True), (10, False), (3, False)],      # i iv VII III
    [(0, True), (10, False), (8, False), (7, True)],      # i VII VI v
]


class Malformed(Exception):
    """Client input the real server would answer with close code 1007."""


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


# ---------------------------------------------------------------------------------------------------- music

@dataclasses.dataclass(frozen=True)
class MusicParams:
    bpm: float
    sample_rate: int
    minor_tonic_pc: int
    progression: list
    hats_per_beat: int
    mute_bass: bool
    mute_drums: bool
    only_bass_and_drums: bool

    @property
    def bar_frames(self) -> float:
        return 4 * 60.0 / self.bpm * self.sample_rate


@dataclasses.dataclass
class Event:
    start_frame: float          # fractional frame in the connection's stream
    length_frames: int
    voice: str
    pitch: float                # MIDI note (tonal voices)
    gain: float
    pan: tuple[float, float]
    noise_seed: int


def music_params(config: dict, sample_rate: int, seed: int) -> MusicParams:
    rng = random.Random(f"music:{seed}")
    scale = config.get("scale") or rng.choice(SCALES)
    if scale not in SCALES:                                    # SCALE_UNSPECIFIED: the "model" picks one
        scale = rng.choice(SCALES)
    density = float(config.get("density", 0.5))
    return MusicParams(
        bpm=float(config.get("bpm") or 120), sample_rate=sample_rate,
        minor_tonic_pc=(SCALES.index(scale) + 9) % 12, progression=rng.choice(PROGRESSIONS),
        hats_per_beat=4 if density > 0.6 else 2, mute_bass=bool(config.get("muteBass")),
        mute_drums=bool(config.get("muteDrums")), only_bass_and_drums=bool(config.get("onlyBassAndDrums")))


def bar_events(params: MusicParams, bar: int, bar_start_frame: float, seed: int) -> list[Event]:
    """The notes of bar ``bar`` starting at ``bar_start_frame``: deterministic in (seed, bar)."""
    rng = np.random.default_rng([seed & 0xFFFFFFFF, bar & 0xFFFFFFFF])
    sr, beat = params.sample_rate, params.bar_frames / 4
    events: list[Event] = []
    if not params.mute_drums:
        for b in range(4):
            at = bar_start_frame + b * beat
            events.append(Event(at, int(0.35 * sr), "kick", 0, 1.0 if b == 0 else 0.7, (1, 1), 0))
            if b in (1, 3):
                events.append(Event(at, int(0.2 * sr), "snare", 0, 0.5, (0.9, 1.0), int(rng.integers(1 << 30))))
            for h in range(params.hats_per_beat):
                gain = 0.12 * float(rng.uniform(0.6, 1.0))
                events.append(Event(at + h * beat / params.hats_per_beat, int(0.06 * sr), "hat", 0, gain,
                                    (0.6, 0.4), int(rng.integers(1 << 30))))
    offset, is_minor = params.progression[bar % len(params.progression)]
    root_pc = (params.minor_tonic_pc + offset) % 12
    if not params.mute_bass:
        for at_beats, beats in ((0.0, 1.0), (1.5, 0.5), (2.5, 0.5), (3.5, 0.5)):
            events.append(Event(bar_start_frame + at_beats * beat, int(beats * beat * 0.9), "bass", 36 + root_pc,
                                0.3, (1, 1), 0))
    if not params.only_bass_and_drums:
        for interval in (0, 3 if is_minor else 4, 7):
            events.append(Event(bar_start_frame, int(params.bar_frames), "pad", 60 + root_pc + interval, 0.09,
                                (0.8, 1.0), 0))
    return events


def voice_wave(event: Event, t: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mono waveform of ``event`` at times ``t`` (seconds since its start, float64)."""
    if event.voice == "kick":
        phase = 2 * np.pi * (50 * t + 100 * 0.03 * (1 - np.exp(-t / 0.03)))
        return np.sin(phase) * np.exp(-t / 0.15)
    if event.voice in ("snare", "hat"):
        noise = np.random.default_rng(event.noise_seed).standard_normal(event.length_frames + 2)
        if event.voice == "hat":
            return np.diff(noise, 2)[: t.size] * 0.25 * np.exp(-t / 0.02)
        body = np.sin(2 * np.pi * 180 * t) * np.exp(-t / 0.04)
        return 0.25 * np.diff(noise, 1)[: t.size] * np.exp(-t / 0.07) + body
    freq = 440.0 * 2 ** ((event.pitch - 69) / 12)
    harmonics = range(1, 7) if event.voice == "bass" else range(1, 4)
    wave = sum(np.sin(2 * np.pi * freq * k * t) / k ** (1.0 if event.voice == "bass" else 1.6) for k in harmonics) / 2
    attack_s = 0.005 if event.voice == "bass" else 0.02
    return wave * np.minimum(t / attack_s, 1.0) * np.exp(-t / (0.4 if event.voice == "bass" else 3.0))


def render_event(event: Event, out: np.ndarray, window_start: int, sample_rate: int) -> None:
    """Add ``event`` into ``out`` (frames ``window_start`` .. ``window_start + len(out)`` of the stream)."""
    first = math.ceil(event.start_frame)
    lo, hi = max(first, window_start), min(first + event.length_frames, window_start + len(out))
    if lo >= hi:
        return
    n = np.arange(event.length_frames)
    t = (n + (first - event.start_frame)) / sample_rate
    wave = voice_wave(event, t, sample_rate)
    fade = np.minimum(1.0, (event.length_frames - n) / (0.003 * sample_rate))   # no click at the cut-off
    wave = (wave * fade * event.gain)[lo - first: hi - first]
    out[lo - window_start: hi - window_start] += wave[:, None] * np.asarray(event.pan)


@dataclasses.dataclass
class Segment:
    """A stretch of continuous music: from ``origin_frame`` until the next segment starts."""

    origin_frame: int
    downbeat_frame: float
    params: MusicParams
    seed: int
    end_frame: float = math.inf

    def events(self, lo: int, hi: int) -> list[Event]:
        bar = self.params.bar_frames
        first_bar = max(-1, math.floor((lo - bar - self.downbeat_frame) / bar))
        last_bar = math.floor((hi - self.downbeat_frame) / bar)
        found = []
        for k in range(first_bar, last_bar + 1):
            for event in bar_events(self.params, k, self.downbeat_frame + k * bar, self.seed):
                owned = self.origin_frame == 0 or event.start_frame >= self.origin_frame
                if owned and event.start_frame < self.end_frame:
                    found.append(event)
        return found


def render_window(segments: list[Segment], start_frame: int, frames: int, sample_rate: int) -> np.ndarray:
    """Stream frames ``start_frame`` .. ``+frames`` as float64 (frames, 2), over a quiet hiss bed.

    The bed (white noise, -48 dBFS after the output gain) stands for the room, reverb and cymbal wash that
    real recordings never lack: without it the gaps just before downbeats are near-silent pad tails whose
    level changes with each chord, and click measurements there compare nothing with nothing."""
    seed = segments[-1].seed if segments else 0
    out = np.random.default_rng([seed & 0xFFFFFFFF, start_frame]).normal(0.0, HISS_RMS, (frames, 2))
    for segment in segments:
        for event in segment.events(start_frame, start_frame + frames):
            render_event(event, out, start_frame, sample_rate)
    return out


def to_pcm(audio: np.ndarray, channels: int) -> bytes:
    if channels == 1:
        audio = audio.mean(axis=1, keepdims=True)
    return (np.clip(audio * OUTPUT_GAIN, -1.0, 1.0) * 32767).astype("<i2").tobytes()


# ------------------------------------------------------------------------------------------------ behaviour

@dataclasses.dataclass
class Behaviour:
    drop_after_chunks: int | None = None
    drop_connections: int = 0          # 0 = every connection
    stall_after_chunks: int | None = None
    stall_connections: int = 0
    reject_status: int | None = None
    sample_rate: int = 48000
    channels: int = 2
    chunk_s: float = 2.0
    realtime: bool = False

    def apply(self, name: str, value: str | None) -> None:
        """One directive (``drop=3x1``, ``realtime``, ...); ValueError when unknown or malformed."""
        if name in ("drop", "stall"):
            count, _, connections = (value or "").partition("x")
            setattr(self, f"{name}_after_chunks", int(count))
            setattr(self, f"{name}_connections", int(connections or 0))
        elif name == "reject":
            self.reject_status = int(value or 403)
        elif name == "rate":
            self.sample_rate = int(value)
        elif name == "channels":
            self.channels = int(value)
        elif name == "chunk":
            self.chunk_s = float(value)
        elif name == "realtime":
            self.realtime = True
        else:
            raise ValueError(f"unknown directive {name!r}")

    def applies(self, limit: int, key_connection: int) -> bool:
        return limit == 0 or key_connection <= limit


KEY_DIRECTIVE_RE = re.compile(r"^([a-z]+)(?:=([\w.]+))?$")
PROMPT_DIRECTIVE_RE = re.compile(r"\[fake ([a-z]+)(?:=([\w.]+))?\]")


def key_directives(key: str) -> list[tuple[str, str | None]]:
    found = []
    for part in key.split("+")[1:]:
        match = KEY_DIRECTIVE_RE.match(part)
        if match:
            found.append((match[1], match[2]))
    return found


def key_id(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]


# --------------------------------------------------------------------------------------------------- server

class Log:
    """JSON lines to stdout and optionally a file, flushed at once (tests read them live)."""

    def __init__(self, path: Path | None) -> None:
        self._path = path

    def __call__(self, event: str, **fields) -> None:
        line = json.dumps({"event": event, "t": round(time.time(), 4), **fields})
        print(line, flush=True)
        if self._path:
            with self._path.open("a") as file:
                file.write(line + "\n")


class FakeLyria:
    def __init__(self, args: argparse.Namespace, log: Log) -> None:
        self.args = args
        self.log = log
        self.connection_count = 0
        self.per_key: collections.Counter[str] = collections.Counter()
        self.pending: dict[int, dict] = {}            # id(connection) -> handshake facts

    def defaults(self) -> Behaviour:
        a = self.args
        return Behaviour(drop_after_chunks=a.drop_after_chunks, drop_connections=a.drop_connections,
                         stall_after_chunks=a.stall_after_chunks, stall_connections=a.stall_connections,
                         sample_rate=a.sample_rate, channels=a.channels, chunk_s=a.chunk_s, realtime=a.realtime)

    def process_request(self, connection: ServerConnection, request):
        """Route, authenticate and count the handshake; answer errors over HTTP like the real endpoint."""
        self.connection_count += 1
        number = self.connection_count
        split = urlsplit(request.path)
        header_key = request.headers.get("x-goog-api-key")
        query_key = (parse_qs(split.query).get("key") or [None])[0]
        key = header_key or query_key or ""
        self.per_key[key] += 1
        match = PATH_RE.search(split.path)
        behaviour = self.defaults()
        for name, value in key_directives(key):
            try:
                behaviour.apply(name, value)
            except ValueError:
                pass
        status = HTTPStatus.SWITCHING_PROTOCOLS
        if not split.path.endswith(PATH_SUFFIX) or not match:
            status = HTTPStatus.NOT_FOUND
        elif not key or key in self.args.bad_key or behaviour.reject_status == 403:
            status = HTTPStatus.FORBIDDEN
        elif behaviour.reject_status:
            status = HTTPStatus(behaviour.reject_status)
        self.log("handshake", connection=number, key_connection=self.per_key[key], key_id=key_id(key),
                 key_source="header" if header_key else ("query" if query_key else None), path=split.path,
                 version=match[1] if match else None, status=int(status),
                 user_agent=request.headers.get("user-agent"), content_type=request.headers.get("content-type"))
        if status != HTTPStatus.SWITCHING_PROTOCOLS:
            text = "API key not valid. Please pass a valid API key.\n" if status == 403 else f"{status.phrase}\n"
            return connection.respond(status, text)
        self.pending[id(connection)] = {"number": number, "key": key, "key_connection": self.per_key[key],
                                        "behaviour": behaviour}
        return None

    async def handler(self, connection: ServerConnection) -> None:
        facts = self.pending.pop(id(connection))
        session = Session(self, connection, **facts)
        await session.run()


class Session:
    """One client connection: its state machine and its audio streamer."""

    def __init__(self, server: FakeLyria, ws: ServerConnection, number: int, key: str, key_connection: int,
                 behaviour: Behaviour) -> None:
        self.server, self.ws, self.number = server, ws, number
        self.key_connection = key_connection
        self.behaviour = behaviour
        self.seed = int(hashlib.sha256(f"{server.args.seed}:{key}:{key_connection}".encode()).hexdigest()[:8], 16)
        self.rng = random.Random(self.seed)
        self.log = lambda event, **fields: server.log(event, connection=number, **fields)
        self.prompts: list[dict] = []
        self.active_prompts: list[dict] = []
        self.config: dict = {}
        self.segments: list[Segment] = []
        self.frames_sent = 0
        self.chunks_sent = 0
        self.playing = False
        self.stopped = True             # the next PLAY starts a new segment
        self.wake = asyncio.Event()
        self.setup_done = False

    async def run(self) -> None:
        streamer = asyncio.create_task(self.stream())
        try:
            async for raw in self.ws:
                try:
                    await self.handle(raw)
                except Malformed as error:
                    self.log("malformed", reason=str(error),
                             raw=raw if isinstance(raw, str) else raw.decode(errors="replace"))
                    await self.ws.close(1007, f"Request contains an invalid argument: {error}"[:120])
                    break
        except ConnectionClosed:
            pass
        finally:
            streamer.cancel()
            self.log("closed", code=self.ws.close_code, reason=self.ws.close_reason,
                     chunks_sent=self.chunks_sent, frames_sent=self.frames_sent)

    async def send(self, message: dict) -> None:
        await self.ws.send(json.dumps(message).encode())            # JSON in binary frames, like the real server

    async def handle(self, raw: str | bytes) -> None:
        text = raw.decode() if isinstance(raw, bytes) else raw
        try:
            message = json.loads(text)
        except ValueError as error:
            raise Malformed(f"not JSON ({error})") from None
        if not isinstance(message, dict) or len(message) != 1:
            raise Malformed("expected an object with exactly one field")
        (field, body), = message.items()
        self.log("received", message=message, raw=text)
        field = camel(field)
        if field != "setup" and not self.setup_done:
            raise Malformed(f"{field} before setup")
        handlers = {"setup": self.on_setup, "clientContent": self.on_client_content,
                    "musicGenerationConfig": self.on_config, "playbackControl": self.on_control}
        if field not in handlers:
            raise Malformed(f"unknown field {field!r}")
        await handlers[field](body)

    async def on_setup(self, body) -> None:
        if self.setup_done:
            raise Malformed("setup sent twice")
        if not isinstance(body, dict) or not isinstance(body.get("model"), str) or set(body) != {"model"}:
            raise Malformed("setup needs exactly a model name")
        if not body["model"].startswith("models/"):
            raise Malformed("model must be 'models/...'")
        self.setup_done = True
        await self.send({"setupComplete": {}})
        self.log("sent", message={"setupComplete": {}})

    async def on_client_content(self, body) -> None:
        if not isinstance(body, dict) or set(map(camel, body)) != {"weightedPrompts"}:
            raise Malformed("clientContent needs exactly weightedPrompts")
        prompts = next(iter(body.values()))
        if not isinstance(prompts, list) or not all(self.valid_prompt(p) for p in prompts):
            raise Malformed("weightedPrompts must be a list of {text, weight}")
        self.prompts = prompts
        self.active_prompts = []
        for prompt in prompts:
            for name, value in PROMPT_DIRECTIVE_RE.findall(prompt["text"]):
                try:
                    self.behaviour.apply(name, value or None)
                except ValueError as error:
                    raise Malformed(str(error)) from None
            word = next((w for w in self.server.args.filter_word if w.lower() in prompt["text"].lower()), None)
            if word is None:
                self.active_prompts.append(prompt)
                continue
            reply = {"filteredPrompt": {"text": prompt["text"], "filteredReason": self.server.args.filter_reason}}
            await self.send(reply)
            self.log("sent", message=reply)
        self.wake.set()

    @staticmethod
    def valid_prompt(prompt) -> bool:
        return (isinstance(prompt, dict) and set(prompt) <= {"text", "weight"} and isinstance(prompt.get("text"), str)
                and isinstance(prompt.get("weight", 1.0), (int, float)) and not isinstance(prompt.get("weight"), bool))

    async def on_config(self, body) -> None:
        if not isinstance(body, dict):
            raise Malformed("musicGenerationConfig must be an object")
        config = {}
        for name, value in body.items():
            wire = camel(name)
            if wire not in CONFIG_FIELDS:
                raise Malformed(f"unknown config field {name!r}")
            types_ = CONFIG_FIELDS[wire]
            if not isinstance(value, types_) or (isinstance(value, bool) and bool not in types_):
                raise Malformed(f"config field {name!r} has the wrong type")
            config[wire] = value
        if config.get("scale", "SCALE_UNSPECIFIED") not in SCALES + ["SCALE_UNSPECIFIED"]:
            raise Malformed(f"unknown scale {config['scale']!r}")
        if config.get("musicGenerationMode", "QUALITY") not in MODES:
            raise Malformed(f"unknown musicGenerationMode {config['musicGenerationMode']!r}")
        self.config = config                                   # a full replacement, as the real API documents

    async def on_control(self, body) -> None:
        if body not in CONTROLS:
            raise Malformed(f"unknown playbackControl {body!r}")
        if body == "PLAY":
            if self.stopped:
                self.start_segment()
            self.playing, self.stopped = True, False
        elif body == "PAUSE":
            self.playing = False
        elif body == "STOP":
            self.playing, self.stopped = False, True
        elif body == "RESET_CONTEXT" and not self.stopped:
            self.start_segment()
        self.wake.set()

    def start_segment(self) -> None:
        params = music_params(self.config, self.behaviour.sample_rate, self.seed + len(self.segments))
        origin = self.frames_sent
        downbeat = origin + self.rng.random() * params.bar_frames
        if self.segments:
            self.segments[-1].end_frame = origin
        self.segments = [s for s in self.segments if s.end_frame > origin - 3 * params.sample_rate]
        self.segments.append(Segment(origin, downbeat, params, self.seed + len(self.segments)))
        self.log("segment", origin_frame=origin, downbeat_frame=downbeat, bar_frames=params.bar_frames,
                 bpm=params.bpm, sample_rate=params.sample_rate, minor_tonic_pc=params.minor_tonic_pc,
                 config=self.config)

    async def stream(self) -> None:
        behaviour = self.behaviour
        while True:
            if not (self.playing and self.active_prompts):
                self.wake.clear()
                await self.wake.wait()
                continue
            if self.limit_reached("stall"):
                self.log("stall", after_chunks=self.chunks_sent)
                return
            started = time.monotonic()
            await self.send_chunk()
            if self.limit_reached("drop"):
                await self.drop()
                return
            if behaviour.realtime:
                await asyncio.sleep(max(0.0, behaviour.chunk_s - (time.monotonic() - started)))
            else:
                await asyncio.sleep(0)

    def limit_reached(self, what: str) -> bool:
        after = getattr(self.behaviour, f"{what}_after_chunks")
        limit = getattr(self.behaviour, f"{what}_connections")
        return after is not None and self.chunks_sent >= after and self.behaviour.applies(limit, self.key_connection)

    async def send_chunk(self) -> None:
        sample_rate, channels = self.behaviour.sample_rate, self.behaviour.channels
        frames = round(self.behaviour.chunk_s * sample_rate)
        audio = render_window(self.segments, self.frames_sent, frames, sample_rate)
        pcm = to_pcm(audio, channels)
        message = {"serverContent": {"audioChunks": [{
            "data": base64.b64encode(pcm).decode(), "mimeType": f"audio/l16;rate={sample_rate};channels={channels}",
            "sourceMetadata": {"clientContent": {"weightedPrompts": self.active_prompts},
                               "musicGenerationConfig": {**self.config, "seed": self.config.get("seed", self.seed)}}}]}}
        payload = json.dumps(message).encode()
        if len(payload) >= MAX_MESSAGE_BYTES:
            raise RuntimeError(f"chunk message of {len(payload)} bytes would exceed the client's 1 MiB limit")
        await self.ws.send(payload)
        self.log("chunk", index=self.chunks_sent, start_frame=self.frames_sent, frames=frames, bytes=len(payload))
        self.chunks_sent += 1
        self.frames_sent += frames

    async def drop(self) -> None:
        """Flush what was sent, then drop the TCP connection without a close frame."""
        transport = self.ws.transport
        deadline = time.monotonic() + 5.0
        while transport.get_write_buffer_size() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        self.log("drop", after_chunks=self.chunks_sent)
        transport.abort()


# -------------------------------------------------------------------------------------------- certificates

def make_certificate(directory: Path, host: str, tool: str = "auto") -> tuple[Path, Path]:
    """A self-signed certificate for ``host`` (IP or DNS name) in ``directory``: (cert.pem, key.pem)."""
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    if tool == "cryptography" or (tool == "auto" and _has_cryptography()):
        _certificate_with_cryptography(cert_path, key_path, host)
    else:
        _certificate_with_openssl(cert_path, key_path, host)
    return cert_path, key_path


def _has_cryptography() -> bool:
    try:
        import cryptography  # noqa: F401
    except ImportError:
        return False
    return True


def _subject_alt_name(host: str) -> str:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return f"DNS:{host}"
    return f"IP:{host}"


def _certificate_with_openssl(cert_path: Path, key_path: Path, host: str) -> None:
    if shutil.which("openssl") is None:
        raise SystemExit("fake_lyria: need the cryptography package or the openssl CLI to make a TLS certificate")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key_path), "-out", str(cert_path), "-days", "2", "-subj", f"/CN={host}",
                    "-addext", f"subjectAltName={_subject_alt_name(host)},DNS:localhost"],
                   check=True, capture_output=True)


def _certificate_with_cryptography(cert_path: Path, key_path: Path, host: str) -> None:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    kind, _, value = _subject_alt_name(host).partition(":")
    alt = x509.IPAddress(ipaddress.ip_address(value)) if kind == "IP" else x509.DNSName(value)
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([alt, x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


# ------------------------------------------------------------------------------------------------------ main

async def serve_forever(args: argparse.Namespace, log: Log, cert_dir: Path | None) -> None:
    server_ssl, cert_path = None, None
    if not args.plain:
        cert_path, key_path = make_certificate(cert_dir, args.host, args.cert_tool)
        server_ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ssl.load_cert_chain(cert_path, key_path)
    fake = FakeLyria(args, log)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with serve(fake.handler, args.host, args.port, ssl=server_ssl, process_request=fake.process_request,
                     max_size=MAX_MESSAGE_BYTES, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        scheme = "ws" if args.plain else "wss"
        log("ready", ready=True, port=port, host=args.host, scheme=scheme,
            url=f"{'http' if args.plain else 'https'}://{args.host}:{port}",
            cert=str(cert_path) if cert_path else None)
        await stop.wait()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="Per-key and per-prompt directives: see the module docstring.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--plain", action="store_true", help="serve ws:// instead of wss:// (debugging)")
    parser.add_argument("--cert-dir", type=Path, help="where to write cert.pem/key.pem (default: a temp dir)")
    parser.add_argument("--cert-tool", choices=["auto", "cryptography", "openssl"], default="auto")
    parser.add_argument("--realtime", action="store_true", help="one chunk every --chunk-s (default: burst)")
    parser.add_argument("--chunk-s", type=float, default=2.0, help="seconds of audio per message (default 2)")
    parser.add_argument("--sample-rate", type=int, default=48000)
    parser.add_argument("--channels", type=int, choices=[1, 2], default=2)
    parser.add_argument("--seed", type=int, default=0, help="seeds beat phases and music (with key and count)")
    parser.add_argument("--filter-word", action="append", default=[], help="prompts containing it get filtered")
    parser.add_argument("--filter-reason", default="fake: this prompt is blocked by the safety filter")
    parser.add_argument("--bad-key", action="append", default=[], help="answer HTTP 403 for this key")
    parser.add_argument("--drop-after-chunks", type=int, help="drop the socket after K chunks")
    parser.add_argument("--drop-connections", type=int, default=0, help="...on a key's first N connections (0=all)")
    parser.add_argument("--stall-after-chunks", type=int, help="stop sending after K chunks")
    parser.add_argument("--stall-connections", type=int, default=0, help="...on a key's first N connections (0=all)")
    parser.add_argument("--log", type=Path, help="also append the JSON lines to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    log = Log(args.log)
    cert_dir = None if args.plain else (args.cert_dir or Path(tempfile.mkdtemp(prefix="fake-lyria-")))
    if cert_dir:
        cert_dir.mkdir(parents=True, exist_ok=True)
    try:
        asyncio.run(serve_forever(args, log, cert_dir))
    finally:
        if cert_dir and not args.cert_dir:
            shutil.rmtree(cert_dir, ignore_errors=True)


# ------------------------------------------------------------------------------------------- test helper

class FakeLyriaProcess:
    """This script as a subprocess, for tests: start it, read its JSON lines, look for events, stop it.

        with FakeLyriaProcess("--filter-word", "forbidden") as fake:
            fake.ready["url"], fake.ready["cert"]       # base_url for the SDK, the cert for SSL_CERT_FILE
            fake.wait_for(lambda e: e["event"] == "closed" and e["connection"] == 1)
            fake.connections("my-test-key")             # the connection numbers of a key, in order

    Lines are read on a daemon thread; ``history`` keeps all of them. ``wait_for`` searches the whole history
    (it does not consume), so it also finds events that came before the call.
    """

    def __init__(self, *args: str, env: dict[str, str] | None = None, timeout_s: float = 20.0) -> None:
        self.history: list[dict] = []
        self.stderr: collections.deque[str] = collections.deque(maxlen=50)
        self._changed = threading.Condition()
        self.process = subprocess.Popen([sys.executable, os.path.abspath(__file__), *args], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1, env=env)
        self._readers = [threading.Thread(target=self._pump_stdout, daemon=True),
                         threading.Thread(target=lambda: self.stderr.extend(self.process.stderr), daemon=True)]
        for reader in self._readers:
            reader.start()
        try:
            self.ready = self.wait_for(lambda e: e.get("event") == "ready", timeout_s=timeout_s)
        except AssertionError:
            self.stop()
            raise

    def _pump_stdout(self) -> None:
        for text in self.process.stdout:
            try:
                line = json.loads(text)
            except ValueError:
                line = {"event": "unparsed", "text": text.rstrip()}
            with self._changed:
                self.history.append(line)
                self._changed.notify_all()
        with self._changed:
            self.history.append({"event": "exited"})
            self._changed.notify_all()

    def events(self, kind: str | None = None, connection: int | None = None) -> list[dict]:
        with self._changed:
            return [e for e in self.history if (kind is None or e.get("event") == kind)
                    and (connection is None or e.get("connection") == connection)]

    def wait_for(self, predicate, timeout_s: float = 10.0) -> dict:
        """The first event (past or future) for which ``predicate`` is true; AssertionError after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                for event in self.history:
                    if predicate(event):
                        return event
                left = deadline - time.monotonic()
                if left <= 0 or self.history[-1:] == [{"event": "exited"}]:
                    raise AssertionError(f"fake_lyria: no matching event within {timeout_s} s; last events "
                                         f"{self.history[-5:]}, stderr {list(self.stderr)[-5:]}")
                self._changed.wait(left)

    def connections(self, key: str) -> list[int]:
        """Connection numbers (accepted or rejected handshakes) that used ``key``, in order."""
        return [e["connection"] for e in self.events("handshake") if e["key_id"] == key_id(key)]

    def wait_closed(self, connection: int, timeout_s: float = 10.0) -> dict:
        return self.wait_for(lambda e: e.get("event") == "closed" and e.get("connection") == connection, timeout_s)

    def stop(self, timeout_s: float = 5.0) -> int:
        """SIGTERM and wait; kill if it hangs. Returns the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for reader in self._readers:
            reader.join(timeout_s)                    # EOF comes right after the exit
        self.process.stdout.close()
        self.process.stderr.close()
        return self.process.returncode

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


if __name__ == "__main__":
    main()
