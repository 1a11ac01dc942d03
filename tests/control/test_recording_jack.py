"""Recording into a pad through JACK: the daemon's own metronome is patched from its outputs into its inputs
(a loopback cable), and the take must be exactly N bars with the first click on frame 0."""

import asyncio
import json
import threading
import time

import jack
import numpy as np
import pytest

from groovebox.app import Daemon, DaemonOptions
from groovebox.config import Settings
from groovebox.control.recording import RecordError
from groovebox.engine import PadState
from groovebox.engine.metronome import Metronome
from groovebox.library.decode import load_audio
from groovebox.library.store import Library

BAR_FRAMES = 48000            # 240 BPM
BEAT_FRAMES = BAR_FRAMES // 4
BLOCK = 256
LOOPBACK_FRAMES = BLOCK       # a JACK client's output patched into its own input arrives one period later


@pytest.fixture
def recording_daemon(jack_server, tmp_path):
    project = {"projectName": "record", "bpm": 240, "quantizeGrid": "1 bar", "metronome": True, "masterVolume": 1.0}
    (tmp_path / "project.json").write_text(json.dumps(project))
    settings = Settings.model_validate({
        "audio": {"backend": "jack", "device": jack_server.name, "block_frames": BLOCK, "jack_client_name": "recbox",
                  "jack_autoconnect": False, "input": True, "record_latency_frames": LOOPBACK_FRAMES},
        "midi": {"enabled": False}})
    daemon = Daemon(settings, DaemonOptions(project_file=tmp_path / "project.json", data_dir=tmp_path / "data",
                                            serve_web=False))
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(daemon.serve(stop),), daemon=True)
    thread.start()
    wait_for(lambda: daemon.recorder is not None, 10)
    patch = jack.Client("patchbay", servername=jack_server.name, no_start_server=True)
    for n in (1, 2):
        patch.connect(f"recbox:out_{n}", f"recbox:in_{n}")
    try:
        yield daemon, loop
    finally:
        patch.close()
        loop.call_soon_threadsafe(stop.set)
        thread.join(20)


def wait_for(condition, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def on_loop(loop, action):
    """Run ``action`` on the daemon's control loop and return its result (or raise its error)."""
    return asyncio.run_coroutine_threadsafe(_call(action), loop).result(5)


async def _call(action):
    return action()


def test_a_take_through_jack_is_exactly_n_bars_with_the_first_click_on_frame_0(recording_daemon):
    daemon, loop = recording_daemon
    assert daemon.audio.has_input
    on_loop(loop, lambda: daemon.recorder.arm(3, bars=2))
    wait_for(lambda: any(pad.pad_index == 3 for pad in daemon.project.pads), 15)

    pad = next(pad for pad in daemon.project.pads if pad.pad_index == 3)
    with Library(daemon.data_dir) as library:
        record = library.get(pad.loop_id)
        audio = load_audio(daemon.data_dir / "library" / record.audio_file)
    assert record.source == "recorded" and record.bars == 2
    assert len(audio) == 2 * BAR_FRAMES                      # exactly two bars at 240 BPM

    metronome = Metronome(48000)
    accent, normal = metronome.accent[:, 0] * 0.5, metronome.normal[:, 0] * 0.5    # at the metronome volume
    correlation = np.correlate(audio[:BEAT_FRAMES, 0], accent, mode="valid")
    assert int(np.argmax(correlation)) == 0                  # the downbeat's click starts on frame 0 ...
    assert np.abs(audio[:len(accent), 0] - accent).max() < 1e-3      # ... sample for sample
    for beat in range(1, 8):                                 # and so does every other beat's
        click = accent if beat == 4 else normal
        start = beat * BEAT_FRAMES
        assert np.abs(audio[start:start + len(click), 0] - click).max() < 1e-3, beat
        assert not audio[start - 200:start, 0].any()
    assert daemon.session.pad_states[3] == PadState.PLAYING


def test_recording_into_a_loaded_pad_or_twice_is_refused(recording_daemon):
    daemon, loop = recording_daemon
    on_loop(loop, lambda: daemon.recorder.arm(0, bars=1))
    with pytest.raises(RecordError, match="pad 0 is recording"):
        on_loop(loop, lambda: daemon.recorder.arm(1))
    on_loop(loop, lambda: daemon.recorder.stop(cancel=True))
    wait_for(lambda: daemon.recorder.pad is None, 5)
    assert daemon.session.pad_states[0] == PadState.EMPTY
