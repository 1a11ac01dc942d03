"""Audio backends against real components: PortAudio and JACK-Client through a dummy JACK server."""

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from groovebox.hw import (
    AudioError,
    AudioStats,
    JackBackend,
    NullBackend,
    OfflineBackend,
    PortAudioBackend,
    list_audio_devices,
    open_audio,
)
from groovebox.hw.audio import GIL_SAFE_FRAMES
from groovebox.hw.jackserver import client_output_ports, port_connections

SAMPLE_RATE = 48000
SINE_HZ = 440.0
AMPLITUDE = 0.5
FAULT_CALLS = 20


class Sine:
    """Renderer: a phase-continuous 440 Hz sine on both channels; ``fail_next(n)`` makes the next n calls raise."""

    def __init__(self) -> None:
        self.calls = 0
        self.frame = 0
        self.failures_left = 0

    def fail_next(self, calls: int) -> None:
        self.failures_left = calls

    def __call__(self, out: np.ndarray, frames: int) -> None:
        self.calls += 1
        if self.failures_left > 0:
            self.failures_left -= 1
            raise RuntimeError("renderer failure on purpose")
        t_s = (self.frame + np.arange(frames)) / SAMPLE_RATE
        out[:] = (AMPLITUDE * np.sin(2 * np.pi * SINE_HZ * t_s))[:, None]
        self.frame += frames


def wait_for(condition, timeout_s: float = 5.0) -> None:
    deadline_s = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline_s, "timed out"
        time.sleep(0.01)


def assert_is_sine(frames: np.ndarray, seconds: float = 0.5) -> None:
    """The last ``seconds`` of both channels are the 440 Hz sine at amplitude 0.5."""
    tail = frames[-int(seconds * SAMPLE_RATE):]
    assert len(tail) == int(seconds * SAMPLE_RATE), f"only {len(frames)} frames recorded"
    for channel in tail.T:
        assert np.sqrt(np.mean(channel.astype(np.float64) ** 2)) == pytest.approx(AMPLITUDE / np.sqrt(2), rel=0.05)
        spectrum = np.abs(np.fft.rfft(channel * np.hanning(len(channel))))
        assert np.argmax(spectrum) * SAMPLE_RATE / len(channel) == pytest.approx(SINE_HZ, abs=4.0)


def silent_frames_after_sound(frames: np.ndarray) -> int:
    """Frames that are exactly zero, counted from the first sound (before it, the ports were unconnected)."""
    first_sound = np.flatnonzero(np.any(frames != 0.0, axis=1))[0]
    return int(np.count_nonzero(np.all(frames[first_sound:] == 0.0, axis=1)))


def play_with_faults(backend, start_recorder) -> np.ndarray:
    """Play the sine, make FAULT_CALLS renders raise mid-recording, and return the recording."""
    sine = Sine()
    backend.start(sine)
    recorder = start_recorder()
    recorder.record(0.2)
    sine.fail_next(FAULT_CALLS)
    wait_for(lambda: sine.failures_left == 0)
    return recorder.record(0.7)


# --- PortAudio through JACK ----------------------------------------------------------------------------


def portaudio_ports(jack_server) -> list[str]:
    return client_output_ports("PortAudio", jack_server.env)


@pytest.mark.jack
def test_portaudio_plays_sine_through_jack(jack_server, jack_recorder):
    with open_audio("portaudio", block_frames=256) as audio:
        assert isinstance(audio, PortAudioBackend)
        audio.start(Sine())
        frames = jack_recorder(portaudio_ports(jack_server)).record(0.8)
        assert audio.latency_s >= 0  # 0.0 under jackd -S (synchronous mode adds no period of latency)
    assert_is_sine(frames)
    assert audio.stats.callbacks > 0
    assert audio.stats.faults == 0


@pytest.mark.jack
def test_portaudio_stream_survives_renderer_faults(jack_server, jack_recorder):
    with open_audio("portaudio") as audio:
        frames = play_with_faults(audio, lambda: jack_recorder(portaudio_ports(jack_server)))
    assert audio.stats.faults == FAULT_CALLS
    assert silent_frames_after_sound(frames) >= FAULT_CALLS * GIL_SAFE_FRAMES    # each failed call is one sub-block
    assert_is_sine(frames)


@pytest.mark.jack
def test_auto_picks_portaudio_when_jack_has_a_device(jack_server):
    assert isinstance(open_audio("auto"), PortAudioBackend)
    devices = list_audio_devices()
    assert {"name": "system", "host_api": "JACK Audio Connection Kit", "max_output_channels": 2} in [
        {key: device[key] for key in ("name", "host_api", "max_output_channels")} for device in devices
    ]


# --- explicit JACK client ------------------------------------------------------------------------------

JACK_PORTS = ["groovebox:out_1", "groovebox:out_2"]


@pytest.mark.jack
def test_jack_backend_plays_sine_and_autoconnects(jack_server, jack_recorder):
    with open_audio("jack", block_frames=128) as audio:
        audio.start(Sine())
        assert audio.block_frames == jack_server.block_frames  # the server's block size wins
        frames = jack_recorder(JACK_PORTS).record(0.8)
        assert "system:playback_2" in port_connections("groovebox:out_2", jack_server.env)
    assert_is_sine(frames)
    assert audio.stats.faults == 0


@pytest.mark.jack
def test_jack_backend_survives_renderer_faults(jack_server, jack_recorder):
    with JackBackend(autoconnect=False) as audio:
        frames = play_with_faults(audio, lambda: jack_recorder(JACK_PORTS))
    assert audio.stats.faults == FAULT_CALLS
    assert silent_frames_after_sound(frames) >= FAULT_CALLS * GIL_SAFE_FRAMES    # each failed call is one sub-block
    assert_is_sine(frames)


@pytest.mark.jack
def test_jack_backend_refuses_other_sample_rate(jack_server):
    with pytest.raises(AudioError, match="JACK server runs at 48000 Hz but groovebox needs 44100 Hz"):
        JackBackend(sample_rate=44100).start(Sine())


@pytest.mark.jack
def test_jack_backend_without_server_says_so(jack_server):
    with pytest.raises(AudioError, match="no JACK server running"):
        open_audio("jack", device="groovebox-no-such-server").start(Sine())


# --- no sound card -------------------------------------------------------------------------------------


def run_without_audio(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh Python whose PortAudio finds no ALSA device and no JACK server."""
    env = {**os.environ, "JACK_DEFAULT_SERVER": "groovebox-no-such-server", "JACK_NO_START_SERVER": "1"}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=30)


def test_auto_falls_back_to_null_without_a_device():
    result = run_without_audio(
        "import logging; logging.basicConfig()\n"
        "from groovebox.hw import open_audio, list_audio_devices\n"
        "print(type(open_audio('auto')).__name__, list_audio_devices())"
    )
    assert result.stdout.split() == ["NullBackend", "[]"], result.stderr
    assert "WARNING" in result.stderr and "no PortAudio output device" in result.stderr


def test_explicit_portaudio_without_a_device_raises():
    result = run_without_audio(
        "from groovebox.hw import open_audio, AudioError\n"
        "try:\n    open_audio('portaudio')\nexcept AudioError as exc:\n    print('AudioError:', exc)"
    )
    assert result.stdout.startswith("AudioError: no PortAudio output device"), result.stderr


def test_unknown_kind_lists_the_choices():
    with pytest.raises(AudioError, match="auto, portaudio, jack, null, offline"):
        open_audio("alsa")


# --- null backend --------------------------------------------------------------------------------------


def test_null_backend_calls_render_in_real_time():
    sine = Sine()
    with open_audio("null", block_frames=256) as audio:
        audio.start(sine)
        time.sleep(0.5)
    expected_calls = 0.5 * SAMPLE_RATE / 256
    assert 0.5 * expected_calls <= audio.stats.callbacks <= 1.5 * expected_calls
    assert sine.calls == audio.stats.callbacks * (256 // GIL_SAFE_FRAMES)     # each block in GIL-safe parts


def test_null_backend_counts_late_blocks_as_underruns():
    block_s = 256 / SAMPLE_RATE

    def slow(out: np.ndarray, frames: int) -> None:
        time.sleep(3 * block_s)
        out.fill(0.0)

    with NullBackend(block_frames=256) as audio:
        audio.start(slow)
        wait_for(lambda: audio.stats.callbacks >= 5)
    assert audio.stats.underruns >= 1


def test_null_backend_keeps_running_when_render_raises():
    sine = Sine()
    sine.fail_next(10)
    with NullBackend(block_frames=64) as audio:
        audio.start(sine)
        wait_for(lambda: sine.frame > 0)
    assert audio.stats.faults == 10


# --- offline -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("block_frames", [32, 257])
def test_offline_renders_exact_frames(block_frames):
    seen = []

    def ramp(out: np.ndarray, frames: int) -> None:
        assert out.shape == (frames, 2) and out.dtype == np.float32 and out.flags.c_contiguous
        start = sum(seen)
        out[:, 0] = np.arange(start, start + frames)
        out[:, 1] = -out[:, 0]
        seen.append(frames)

    total_frames = SAMPLE_RATE + 5
    audio = OfflineBackend(block_frames=block_frames)
    rendered = audio.render_to_array(ramp, total_frames)
    assert rendered.shape == (total_frames, 2) and rendered.dtype == np.float32
    np.testing.assert_array_equal(rendered[:, 0], np.arange(total_frames))
    np.testing.assert_array_equal(rendered[:, 1], -np.arange(total_frames))
    assert set(seen[:-1]) == {block_frames} and 0 < seen[-1] <= block_frames
    assert audio.stats.callbacks == len(seen)


def test_offline_sine_matches_the_formula():
    rendered = OfflineBackend(block_frames=257).render_to_array(Sine(), SAMPLE_RATE)
    expected = AMPLITUDE * np.sin(2 * np.pi * SINE_HZ * np.arange(SAMPLE_RATE) / SAMPLE_RATE)
    np.testing.assert_allclose(rendered[:, 1], expected, atol=1e-6)
    assert_is_sine(rendered)


def test_offline_backend_has_no_clock():
    with pytest.raises(AudioError, match="render_to_array"):
        open_audio("offline").start(Sine())


# --- stats ---------------------------------------------------------------------------------------------


def test_stats_ring_keeps_the_latest_loads():
    stats = AudioStats(history=8)
    assert stats.dsp_load_percentile(99) == 0.0 and stats.recent_dsp_load() == 0.0
    for render_ms in range(1, 13):  # 12 callbacks into 8 slots: loads 0.05 .. 0.60 of a 20 ms block
        stats.record_callback(render_ms / 1000, 0.020)
    assert stats.callbacks == 12
    assert stats.dsp_load_percentile(0) == pytest.approx(0.25)
    assert stats.dsp_load_percentile(100) == pytest.approx(0.60)
    assert stats.recent_dsp_load(blocks=2) == pytest.approx(0.575)


def test_stats_update_does_not_allocate(measuring_alone):
    import tracemalloc

    stats = AudioStats()
    stats.record_callback(0.001, 0.005)
    tracemalloc.start()
    for _ in range(1000):
        stats.record_callback(0.001, 0.005)
    _, peak_bytes = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak_bytes < 1024
