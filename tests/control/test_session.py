"""The live session on the control loop: commands to the engine, events back, health."""

import asyncio

from groovebox.control.session import Session, SessionInfo
from groovebox.engine import Engine, PadState, render_offline
from groovebox.engine import commands as c
from groovebox.hw import OfflineBackend

import numpy as np


def make_session():
    engine = Engine()
    engine.post(c.SetQuantize(c.Quantize.OFF))
    engine.post(c.LoadPad(3, np.full((4800, 2), 0.1, np.float32), 120.0))
    return Session(engine, OfflineBackend(), SessionInfo("offline", 48000, 256))


def test_press_reaches_the_engine_and_states_come_back():
    session = make_session()
    session.press(3)
    render_offline(session.engine, 512, 256)
    session.poll()
    assert session.pad_states[3] == PadState.PLAYING
    assert session.health()["pads_playing"] == 1
    session.stop_all(quantized=False)
    render_offline(session.engine, 512, 256)
    session.poll()
    assert session.pad_states[3] == PadState.LOADED


def test_tap_tempo_sets_the_engine_tempo(monkeypatch):
    session = make_session()
    times = iter([100.0, 100.4, 100.8])
    monkeypatch.setattr("groovebox.control.session.time.monotonic", lambda: next(times))
    session.tap()
    session.tap()
    assert session.tap() == 150.0
    render_offline(session.engine, 256, 256)
    session.poll()
    assert session.tempo_bpm == 150.0


def test_run_stops_when_asked():
    session = make_session()

    async def scenario():
        stop = asyncio.Event()
        task = asyncio.create_task(session.run(stop))
        await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, 1)

    asyncio.run(scenario())
