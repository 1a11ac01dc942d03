"""The live "Prompt DJ" pad: capture from a hand-filled ring, then end to end — the worker process streaming
from the fake Lyria server through the real google-genai client into a real Engine (rendered offline, paced
on the worker), steered through a controller profile, captured, surviving a dropped socket."""

import asyncio
import functools
import threading
import time
from dataclasses import dataclass

import mido
import numpy as np
import pytest
from lyria_fixtures import (  # noqa: F401
    FAST_RETRY,
    REVOKED_KEY,
    downbeat_error_frames,
    endpoint_for,
    fake_lyria_fixture,
    load_fake_lyria_module,
    received_messages,
    secret_key,
)

from groovebox.control.livepad import LivePad, LivePadError, loop_from_ring
from groovebox.control.session import Session, SessionInfo
from groovebox.controllers.driver import PadDriver
from groovebox.controllers.profile import default_profile_dir, load_profile
from groovebox.engine import Engine, PadState
from groovebox.engine import commands as c
from groovebox.engine.offline import OfflineRenderer
from groovebox.engine.stream import (
    Header,
    lock_snapshot,
    new_header,
    ring_slice,
    ring_write,
)
from groovebox.generate.live import LiveOptions, LiveStreamProcess
from groovebox.generate.metrics import seam_click_db
from groovebox.generate.request import GenerationRequest
from groovebox.hw import OfflineBackend

SR = 48000
BAR = 2 * SR                       # at 120 BPM
BLOCK = 2400
LIVE_PAD = 15
FADE = 128
FIVE_MS = 0.005 * SR
SPEEDUP = 4.0
REQUEST = GenerationRequest(prompt="minimal techno", genre="forbidden noise", instrument="analog bass", seed=11)


def make_session() -> Session:
    engine = Engine(sample_rate=SR, max_block_frames=BLOCK, tempo_bpm=120.0, pads=16)
    engine.post(c.SetQuantize(c.Quantize.BAR))
    return Session(engine, OfflineBackend(), SessionInfo("offline", SR, BLOCK))


# ------------------------------------------------------------------------------- a ring filled by the test

class RingHandle:
    """The worker's part played in-process: a ring of known music with known downbeats, filled as the engine
    reads (what LiveStreamProcess does from Lyria)."""

    def __init__(self, music: np.ndarray, downbeat: float) -> None:
        self.music = music
        self.ring = np.zeros((40 * SR, 2), np.float32)
        self.header = new_header()
        self.header[Header.EPOCH] = 1
        self.header[Header.BPM] = 120
        self.header[Header.DOWNBEAT] = downbeat
        self.header[Header.DOWNBEAT_EPOCH] = 1
        self.prompts, self.density, self.brightness = REQUEST.weighted_prompts(), None, None
        self.sent = []

    def produce(self) -> None:
        written = int(self.header[Header.WRITTEN])
        until = min(len(self.music), int(self.header[Header.READ]) + 4 * SR)
        if until > written:
            ring_write(self.ring, written, self.music[written:until])
            self.header[Header.WRITTEN] = until

    def send(self, message):
        self.sent.append(message)
        return True

    def messages(self):
        return []

    def alive(self):
        return True

    def stop(self):
        pass

    def terminate(self, timeout_s=2.0):
        pass

    def release_memory(self):
        return True


@dataclass(frozen=True)
class Music:
    audio: np.ndarray
    downbeat_frames: np.ndarray


@pytest.fixture(scope="module")
def music():
    """15 s of the fake server's music at 120 BPM (drums, bass, chords over a hiss bed) with its first
    downbeat at frame 30000.4 (its kick starts on the next integer frame)."""
    fake = load_fake_lyria_module()
    segment = fake.Segment(0, 30000.4, fake.music_params({"bpm": 120}, SR, 7), 7)
    audio = (fake.render_window([segment], 0, 15 * SR, SR) * fake.OUTPUT_GAIN).astype(np.float32)
    return Music(audio, 30000.4 + BAR * np.arange(8))


def play_ring(session, live, handle, renderer, frames):
    out = []
    for _ in range(frames // BLOCK):
        handle.produce()
        out.append(renderer.render(BLOCK))
        session.poll()
        live.poll()
    return np.concatenate(out)


def test_capture_takes_exactly_the_bars_just_played_from_their_downbeat(music):
    session = make_session()
    handle = RingHandle(music.audio, float(music.downbeat_frames[0]))
    live = LivePad(session, lambda request, tempo_bpm: handle, pad=LIVE_PAD)
    live.start(REQUEST, play=True)
    renderer = OfflineRenderer(session.engine, BLOCK)
    with pytest.raises(LivePadError, match="not playing"):
        live.capture(2, 3)
    out = play_ring(session, live, handle, renderer, 8 * SR)
    lock = lock_snapshot(handle.header)
    assert lock.locked and lock.engine_frame == 0
    assert lock.stream_frame == round(music.downbeat_frames[0])
    capture = live.capture(2, into_pad=3)
    assert capture.due_frame == 5 * BAR
    out = np.concatenate([out, play_ring(session, live, handle, renderer, 2 * SR + 2 * BLOCK)])
    assert capture.state == "done", capture.error
    loop_frames = round(2 * 4 * 60 / 120 * SR)
    assert capture.audio.shape == (loop_frames, 2) and capture.native_bpm == 120
    assert capture.stream_frame == lock.stream_frame + 3 * BAR                  # the downbeat played on bar 4
    assert abs(capture.stream_frame - music.downbeat_frames[3]) < 1
    np.testing.assert_array_equal(capture.audio[:-480], out[3 * BAR:5 * BAR - 480])  # what the pad played
    assert np.array_equal(capture.audio[-1], music.audio[capture.stream_frame - 1])   # wraps into its own past
    assert seam_click_db(capture.audio, SR, 2) <= 3.0
    assert session.pad_states[3] == PadState.LOADED and session.engine.pads[3].audio is capture.audio
    assert live.describe()["captures"][-1] == {"bars": 2, "into_pad": 3, "state": "done", "error": None,
                                               "frames": loop_frames, "native_bpm": 120.0}


def test_the_seam_check_catches_a_capture_of_the_wrong_length(music):
    """The seam check above is not vacuous: the same capture 20 ms short fails it."""
    ring = np.zeros((40 * SR, 2), np.float32)
    ring_write(ring, 0, music.audio)
    start = round(music.downbeat_frames[3])
    assert seam_click_db(loop_from_ring(ring, start, 2 * BAR, 480), SR, 2) <= 3.0
    assert seam_click_db(loop_from_ring(ring, start, 2 * BAR - 960, 480), SR, 2) > 3.0


def test_a_capture_across_a_relock_fails(music):
    session = make_session()
    handle = RingHandle(music.audio, float(music.downbeat_frames[0]))
    live = LivePad(session, lambda request, tempo_bpm: handle, pad=LIVE_PAD)
    live.start(REQUEST, play=True)
    renderer = OfflineRenderer(session.engine, BLOCK)
    play_ring(session, live, handle, renderer, 9 * SR)
    capture = live.capture(2, into_pad=2)
    session.post(c.Locate(0.0))                                   # the grid jumps: the stream relocks
    play_ring(session, live, handle, renderer, 4 * SR)
    assert capture.state == "failed" and "capture again" in capture.error
    assert session.pad_states[2] == PadState.EMPTY


def test_steering_is_validated_and_coalesced(music):
    session = make_session()
    handle = RingHandle(music.audio, float(music.downbeat_frames[0]))
    live = LivePad(session, lambda request, tempo_bpm: handle, pad=LIVE_PAD)
    with pytest.raises(LivePadError, match="not running"):
        live.set_density(0.5)
    live.start(REQUEST)
    live.set_prompt_weights({1: 0.0})
    live.set_density(0.25)
    live.handle_cc("brightness", 127)
    live.handle_cc("weight_3", 0)
    with pytest.raises(LivePadError, match="one active prompt"):
        live.set_prompt_weights([0.0, 0.0, 0.0])
    with pytest.raises(LivePadError, match="0..2"):
        live.set_prompt_weights([2.5])
    live.poll()
    assert handle.sent == [{"kind": "steer", "prompts": [["minimal techno", 1.0], ["forbidden noise", 0.0],
                                                         ["analog bass", 0.0]], "density": 0.25, "brightness": 1.0}]
    session.set_tempo(100.0)
    OfflineRenderer(session.engine, BLOCK).render(BLOCK)
    session.poll()
    assert handle.sent[-1] == {"kind": "bpm", "bpm": 100.0}


# ------------------------------------------------------------------------- the worker against the fake

class Rig:
    """Session + LivePad + the real worker, rendered offline and paced so the worker keeps up."""

    def __init__(self, fake, key: str) -> None:
        self.session = make_session()
        self.handles: list[LiveStreamProcess] = []
        options = LiveOptions(detect_bars=2)

        def start_stream(request, tempo_bpm):
            handle = LiveStreamProcess(request, tempo_bpm, api_key=key, endpoint=endpoint_for(fake),
                                       retry=FAST_RETRY, options=options)
            self.handles.append(handle)
            return handle

        self.live = LivePad(self.session, start_stream, pad=LIVE_PAD)
        self.session.live = self.live
        self.messages = []
        self.live.listeners.append(self.messages.append)
        self.renderer = OfflineRenderer(self.session.engine, BLOCK)
        self.out: list[np.ndarray] = []
        self.locks = []                            # (engine frame after the block, LockInfo) when it changes
        self.last_block_s = time.monotonic()

    @property
    def header(self):
        return self.handles[-1].header

    @property
    def frames(self) -> int:
        return BLOCK * len(self.out)

    def play(self, max_seconds: float, until=lambda: False) -> None:
        for _ in range(round(max_seconds * SR / BLOCK)):
            if until():
                return
            self._wait_for_producer()
            self.out.append(self.renderer.render(BLOCK))
            self.session.poll()
            self.live.poll()
            lock = lock_snapshot(self.header)
            if not self.locks or self.locks[-1][1] != lock:
                self.locks.append((self.frames, lock))
        assert until(), f"the live pad did not get there in time: {self.live.describe()}, header " \
                        f"{self.header.tolist()}, locks {self.locks}"

    def step(self, blocks: int) -> None:
        for _ in range(blocks):
            self.out.append(self.renderer.render(BLOCK))
            self.session.poll()
            self.live.poll()

    def _wait_for_producer(self) -> None:
        """Render at most SPEEDUP times faster than real time (the worker's downbeat detection runs in wall
        time), and only while the worker is a block and a quarter second ahead (waiting out reconnects)."""
        header, deadline = self.header, time.monotonic() + 15.0
        while time.monotonic() < deadline and self.handles[-1].alive() and (
                header[Header.WRITTEN] - header[Header.READ] < BLOCK + SR // 4
                or time.monotonic() - self.last_block_s < BLOCK / SR / SPEEDUP):
            time.sleep(0.002)
        self.last_block_s = time.monotonic()

    def audio(self) -> np.ndarray:
        return np.concatenate(self.out)


def test_the_live_pad_plays_on_the_bar_is_steered_by_faders_and_captures(fake_lyria):
    key = secret_key("live")
    rig = Rig(fake_lyria, key)
    live, session = rig.live, rig.session
    live.start(REQUEST)
    session.press(LIVE_PAD)

    # 1. it starts on a bar line, on a true downbeat of the stream, and plays the stream as it is
    rig.play(20, until=lambda: lock_snapshot(rig.header).locked)
    first = lock_snapshot(rig.header)
    connection = fake_lyria.connections(key)[0]
    assert first.engine_frame % BAR == 0 and first.rate == 1.0
    assert abs(downbeat_error_frames(fake_lyria, connection, first.stream_frame)) <= FIVE_MS
    rig.play(3, until=lambda: rig.frames >= first.engine_frame + SR)
    played = rig.audio()[first.engine_frame + FADE:first.engine_frame + SR]
    np.testing.assert_array_equal(played, ring_slice(rig.handles[0].ring, int(first.stream_frame) + FADE,
                                                     int(first.stream_frame) + SR))
    assert np.abs(played).max() > 0.1
    assert live.describe()["state"] == "playing"

    # 2. faders 1 and 5 of an APC mini mk2 steer it; the worker throttles what reaches Lyria
    contents_before = len([m for m in received_messages(fake_lyria, connection) if "clientContent" in m])
    driver = PadDriver(load_profile(default_profile_dir() / "akai_apc_mini_mk2.toml"), session, None)
    for value in (20, 40, 60, 80, 100):                    # a quick sweep: one steer message per poll
        driver.handle(mido.Message("control_change", control=48, value=value))
        live.poll()
    driver.handle(mido.Message("control_change", control=52, value=102))
    live.poll()
    final = {"clientContent": {"weightedPrompts": [{"text": "minimal techno", "weight": 100 / 127 * 2},
                                                   {"text": "analog bass", "weight": 0.6}]}}
    fake_lyria.wait_for(lambda e: e.get("event") == "received" and e.get("connection") == connection
                        and e["message"] == final)
    sends = [e for e in fake_lyria.events("received", connection) if "clientContent" in e["message"]][contents_before:]
    assert 1 < len(sends) < 5, sends                           # leading + trailing, not one per fader step
    assert sends[-1]["message"] == final
    config = fake_lyria.wait_for(lambda e: e.get("event") == "received" and e.get("connection") == connection
                                 and "musicGenerationConfig" in e["message"]
                                 and e["message"]["musicGenerationConfig"].get("density") is not None)
    assert config["message"]["musicGenerationConfig"]["density"] == pytest.approx(102 / 127)
    assert config["message"]["musicGenerationConfig"]["bpm"] == 120
    assert [m for m in rig.messages if "blocked the prompt" in m["message"]]          # "forbidden noise"
    assert live.describe()["prompts"][1] == {"text": "forbidden noise", "weight": 0.8, "blocked": True}
    with pytest.raises(LivePadError, match="one active prompt"):
        live.set_prompt_weights([0.0, 1.0, 0.0])

    # 3. capture the last 2 bars into pad 3 at the next bar line: exactly what the pad played
    rig.play(8, until=lambda: rig.frames >= first.engine_frame + 2 * BAR)
    capture = live.capture(2, into_pad=3)
    rig.play(4, until=lambda: capture.state != "pending")
    assert capture.state == "done", capture.error
    assert capture.audio.shape == (round(2 * 4 * 60 / 120 * SR), 2)
    assert abs(downbeat_error_frames(fake_lyria, connection, capture.stream_frame)) <= FIVE_MS
    assert capture.from_frame == capture.due_frame - 2 * BAR
    np.testing.assert_array_equal(capture.audio[:-480], rig.audio()[capture.from_frame:capture.due_frame - 480])
    assert np.array_equal(capture.audio[-1], ring_slice(rig.handles[0].ring, capture.stream_frame - 1,
                                                         capture.stream_frame)[0])
    rig.step(1)
    assert session.pad_states[3] == PadState.LOADED and session.engine.pads[3].audio is capture.audio

    # 4. a new project tempo reaches Lyria as a config and a context reset; stopping frees everything
    session.set_tempo(100.0)
    rig.step(2)
    fake_lyria.wait_for(lambda e: e.get("event") == "received" and e.get("connection") == connection
                        and e["message"] == {"playbackControl": "RESET_CONTEXT"})
    bpms = [m["musicGenerationConfig"]["bpm"] for m in received_messages(fake_lyria, connection)
            if "musicGenerationConfig" in m]
    assert bpms[-1] == 100
    live.stop()
    handle = rig.handles[0]
    deadline = time.monotonic() + 10
    while handle.ring is not None and time.monotonic() < deadline:
        rig.step(1)
        time.sleep(0.01)
    assert handle.ring is None and handle.process.exitcode == 0
    assert session.pad_states[LIVE_PAD] == PadState.EMPTY and live.describe()["state"] == "off"


def test_a_dropped_socket_is_silence_then_the_pad_relocks_on_the_new_streams_grid(fake_lyria):
    key = secret_key("drop", "drop=7x1")                  # the first connection drops after 14 s of music
    rig = Rig(fake_lyria, key)
    rig.live.start(REQUEST, play=True)
    rig.play(20, until=lambda: lock_snapshot(rig.header).locked)
    first = lock_snapshot(rig.header)
    rig.play(60, until=lambda: rig.header[Header.EPOCH] == 2 and lock_snapshot(rig.header).locked
             and lock_snapshot(rig.header).stream_frame >= rig.header[Header.EPOCH_START])
    connection, second = fake_lyria.connections(key)
    assert fake_lyria.events("drop", connection)
    epoch_start = rig.header[Header.EPOCH_START]
    assert epoch_start == 7 * 2 * SR                                        # where the first stream ended
    relock = lock_snapshot(rig.header)
    cut = first.engine_frame + round(epoch_start - first.stream_frame)      # the first take ran out here
    assert [lock for _, lock in rig.locks if not lock.locked][-1].lost_at_frame == cut
    audio = rig.audio()
    assert np.abs(audio[cut - SR // 2:cut - FADE]).max() > 0.1 and np.all(audio[cut:relock.engine_frame] == 0.0)
    assert relock.engine_frame % BAR == 0 and relock.engine_frame > cut
    assert abs(downbeat_error_frames(fake_lyria, second, relock.stream_frame - epoch_start)) <= FIVE_MS
    rig.play(2, until=lambda: rig.frames >= relock.engine_frame + SR // 2)
    assert np.abs(rig.audio()[relock.engine_frame + FADE:relock.engine_frame + SR // 2]).max() > 0.1
    assert rig.live.describe()["connections"] == 2 and rig.header[Header.UNDERRUNS] == 0
    rig.live.close()


def test_a_refused_key_is_a_message_the_performer_understands(fake_lyria):
    session = make_session()
    live = LivePad(session, functools.partial(LiveStreamProcess, api_key=REVOKED_KEY, endpoint=endpoint_for(fake_lyria),
                                              retry=FAST_RETRY), pad=LIVE_PAD)
    messages = []
    live.listeners.append(messages.append)
    live.start(REQUEST, play=True)
    deadline = time.monotonic() + 30
    while not messages and time.monotonic() < deadline:
        live.poll()
        time.sleep(0.02)
    assert messages and "API key was refused" in messages[0]["message"]
    assert REVOKED_KEY not in messages[0]["message"]
    assert live.describe()["state"] == "failed" and "refused" in live.describe()["error"]
    live.close()


def test_the_daemon_offers_the_live_pad_when_a_key_is_set(fake_lyria, tmp_path, monkeypatch):
    """groovebox.app wiring: key from the environment, endpoint from [generate], the pad from live_pad, the
    health section; the stream plays through the real-time null backend."""
    from groovebox.app import Daemon, DaemonOptions
    from groovebox.config import Settings

    monkeypatch.setenv("GEMINI_API_KEY", secret_key("daemon"))
    settings = Settings.model_validate({
        "audio": {"backend": "null"}, "midi": {"enabled": False}, "engine": {"pads": 16},
        "project": {"tempo_bpm": 200.0},                  # short bars: the downbeat is found sooner
        "generate": {"lyria_base_url": fake_lyria.ready["url"], "live_pad": 14, "live_prebuffer_s": 1.5}})
    daemon = Daemon(settings, DaemonOptions(data_dir=tmp_path, serve_web=False))
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(daemon.serve(stop),), daemon=True)
    thread.start()

    def on_loop(action):
        async def call():
            return action()
        return asyncio.run_coroutine_threadsafe(call(), loop).result(5)

    try:
        deadline = time.monotonic() + 10
        while daemon.session is None or "live_pad" not in daemon.session.reporters:
            assert time.monotonic() < deadline, "the daemon did not start"
            time.sleep(0.02)
        assert on_loop(lambda: daemon.session.health()["live_pad"]["state"]) == "off"
        on_loop(lambda: daemon.live.start(REQUEST, play=True))
        deadline = time.monotonic() + 30
        while (live := on_loop(lambda: daemon.session.health()["live_pad"]))["state"] != "playing":
            assert time.monotonic() < deadline, live
            time.sleep(0.1)
        assert live["pad"] == 14 and live["stream_bpm"] == 200 and live["available"]
        assert on_loop(lambda: daemon.session.pad_states[14]) == PadState.PLAYING
        on_loop(lambda: daemon.live.capture(1, 3))        # becomes a library loop on pad 3, via the editor
        deadline = time.monotonic() + 20
        while not (pads := on_loop(lambda: [p for p in daemon.editor.project.pads if p.pad_index == 3])):
            assert time.monotonic() < deadline, on_loop(lambda: daemon.live.describe()["captures"])
            time.sleep(0.1)
        from groovebox.library.store import Library
        with Library(tmp_path) as library:
            stored = library.get(pads[0].loop_id)
        assert stored.bars == 1 and stored.bpm == 200 and stored.frames == round(4 * 60 / 200 * 48000)
        assert on_loop(lambda: daemon.editor.can_undo)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(20)
    assert not thread.is_alive()
    assert daemon.live.describe()["state"] == "off"
