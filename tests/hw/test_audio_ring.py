"""The render-ahead PortAudio backend (rtmixer's C callback) through a dummy JACK server."""

import threading
import time

import jack
import numpy as np
import pytest
from test_audio import (
    FAULT_CALLS,
    Sine,
    assert_is_sine,
    play_with_faults,
    portaudio_ports,
    silent_frames_after_sound,
)

from groovebox.hw import PortAudioBackend, open_audio
from groovebox.hw.audio import GIL_SAFE_FRAMES
from groovebox.hw.audio_ring import RingPortAudioBackend

BLOCK = 256
AHEAD_BLOCKS = 3
IMPULSE_AT = 48000


@pytest.mark.jack
def test_ring_backend_plays_sine_through_jack(jack_server, jack_recorder):
    with open_audio("portaudio", block_frames=BLOCK, ahead_blocks=AHEAD_BLOCKS) as audio:
        assert isinstance(audio, RingPortAudioBackend)
        sine = Sine()
        audio.start(sine)
        frames = jack_recorder(portaudio_ports(jack_server)).record(0.8)
        assert audio.latency_s >= 0
    assert_is_sine(frames)
    assert audio.stats.faults == 0
    assert sine.calls == audio.stats.callbacks * (BLOCK // GIL_SAFE_FRAMES)


@pytest.mark.jack
def test_ring_backend_survives_renderer_faults(jack_server, jack_recorder):
    with open_audio("portaudio", ahead_blocks=AHEAD_BLOCKS) as audio:
        frames = play_with_faults(audio, lambda: jack_recorder(portaudio_ports(jack_server)))
    assert audio.stats.faults == FAULT_CALLS
    assert silent_frames_after_sound(frames) >= FAULT_CALLS * GIL_SAFE_FRAMES
    assert_is_sine(frames)


class Stalling(Sine):
    """A sine whose renderer can be told to hang once for ``stall_s`` (a render thread starved of the GIL)."""

    def __init__(self) -> None:
        super().__init__()
        self.stall_s = 0.0
        self.stalled = threading.Event()

    def __call__(self, out: np.ndarray, frames: int) -> None:
        if self.stall_s:
            stall_s, self.stall_s = self.stall_s, 0.0
            time.sleep(stall_s)
            self.stalled.set()
        super().__call__(out, frames)


@pytest.mark.jack
def test_a_dry_ring_counts_the_silent_blocks_and_playback_resumes(jack_server, jack_recorder):
    block_s = BLOCK / 48000
    with open_audio("portaudio", block_frames=BLOCK, ahead_blocks=AHEAD_BLOCKS) as audio:
        sine = Stalling()
        audio.start(sine)
        recorder = jack_recorder(portaudio_ports(jack_server))
        recorder.record(0.2)
        assert audio.stats.underruns == 0
        sine.stall_s = (AHEAD_BLOCKS + 6) * block_s           # 6 blocks longer than the ring holds
        assert sine.stalled.wait(5)
        frames = recorder.record(0.8)
    assert 3 <= audio.stats.underruns <= AHEAD_BLOCKS + 8      # the device played about 6 blocks of silence
    assert silent_frames_after_sound(frames) >= 3 * BLOCK
    assert_is_sine(frames)                                      # and the ring plays again afterwards


class Impulse:
    """Renderer: silence with one full-scale sample at IMPULSE_AT."""

    def __init__(self) -> None:
        self.frame = 0

    def __call__(self, out: np.ndarray, frames: int) -> None:
        out.fill(0.0)
        if self.frame <= IMPULSE_AT < self.frame + frames:
            out[IMPULSE_AT - self.frame] = 1.0
        self.frame += frames


class ImpulseFinder:
    """Capture: the engine frames (counted as the backend hands them over) where the input is above 0.5."""

    def __init__(self) -> None:
        self.frame = 0
        self.hits: list[int] = []

    def __call__(self, inp: np.ndarray, frames: int) -> None:
        self.hits += [self.frame + int(index) for index in np.flatnonzero(inp[:, 0] > 0.5)]
        self.frame += frames


def loopback_delay(jack_server, ahead_blocks: int) -> tuple[int, int]:
    """Patch PortAudio's outputs into its own inputs; returns the measured round trip and the one a recording
    takes off (the device's plus the frames rendered ahead)."""
    with open_audio("portaudio", block_frames=BLOCK, ahead_blocks=ahead_blocks, input=True) as audio:
        finder = ImpulseFinder()
        audio.start(Impulse(), finder)
        assert audio.has_input
        patch = jack.Client("loopback", servername=jack_server.name, no_start_server=True)
        try:
            inputs = patch.get_ports("PortAudio", is_input=True, is_audio=True)
            outputs = patch.get_ports("PortAudio", is_output=True, is_audio=True)
            for port in inputs:
                for source in patch.get_all_connections(port):
                    patch.disconnect(source, port)
            for source, port in zip(outputs, inputs):
                patch.connect(source, port)
            deadline_s = time.monotonic() + 5
            while not finder.hits and time.monotonic() < deadline_s:
                time.sleep(0.05)
        finally:
            patch.close()
        assert len(finder.hits) == 1, finder.hits
        return finder.hits[0] - IMPULSE_AT, audio.round_trip_frames + audio.ahead_frames


@pytest.mark.jack
def test_input_reaches_capture_exactly_ahead_frames_later_and_the_round_trip_says_so(jack_server):
    """Recording stays sample-aligned: the ring delays the input by exactly the frames it renders ahead."""
    measured_direct, reported_direct = loopback_delay(jack_server, 0)
    measured_ring, reported_ring = loopback_delay(jack_server, AHEAD_BLOCKS)
    assert measured_ring - measured_direct == AHEAD_BLOCKS * BLOCK
    assert reported_ring - reported_direct == AHEAD_BLOCKS * BLOCK


def test_zero_ahead_blocks_means_the_python_callback(jack_server):
    assert type(open_audio("portaudio", ahead_blocks=0)) is PortAudioBackend
    with pytest.raises(ValueError, match="ahead_blocks"):
        RingPortAudioBackend(ahead_blocks=0)
