"""Capturing seamless loops from the (fake) Lyria stream through the real google-genai client.

The fake starts every stream at a random beat phase and reports where its downbeats truly are; a capture
must give exactly N bars, start within 5 ms of a true downbeat after the settle period, and wrap without a
click."""

import math
import threading

import numpy as np
import pytest
from lyria_fixtures import (
    FAST_RETRY,
    downbeat_error_frames,
    endpoint_for,
    fake_lyria_fixture,  # noqa: F401 (provides the fake_lyria fixture)
    secret_key,
)

from groovebox.generate.lyria import LyriaCancelled, capture_loop_sync
from groovebox.generate.metrics import seam_click_db
from groovebox.generate.request import GenerationRequest, Scale

REQUEST = GenerationRequest(prompt="minimal techno", bpm=92, scale=Scale.D_MAJOR_B_MINOR, bars=4)
LOOP_FRAMES = round(4 * 4 * 60 / 92 * 48000)
BAR_FRAMES = 4 * 60 / 92 * 48000
FIVE_MS = 0.005 * 48000


def capture(fake, key: str, request: GenerationRequest = REQUEST, **kwargs):
    return capture_loop_sync(request, 77, api_key=key, endpoint=endpoint_for(fake), retry=FAST_RETRY, **kwargs)


def test_4_bar_loops_at_92_bpm_are_exact_on_the_downbeat_and_seamless_whatever_the_phase(fake_lyria):
    phases = []
    for take in (0, 1, 2, 3, 16):
        # fixed keys: the fake derives phase and music from them, so CI sees the same takes every run
        key = f"AIzaTEST-phase{take}-fixed"
        loop = capture(fake_lyria, key)
        connection = fake_lyria.connections(key)[-1]
        segment = fake_lyria.events("segment", connection)[0]
        phases.append(segment["downbeat_frame"] / segment["bar_frames"])
        assert loop.audio.shape == (LOOP_FRAMES, 2) and loop.audio.dtype == np.float32
        assert abs(downbeat_error_frames(fake_lyria, connection, loop.start_frame)) <= FIVE_MS
        assert abs(downbeat_error_frames(fake_lyria, connection, loop.downbeat_frame)) <= FIVE_MS
        assert loop.start_frame >= math.ceil(2 * BAR_FRAMES)                # after the settle period
        assert abs(loop.seam_db) <= 1.0                                      # the wrap replays the stream
        if take == 16:
            # seamless, but its first downbeat is busier than the median of the other three bar lines, so
            # the loop-only reading (which compares them) exceeds +3 dB: the case seam_db exists for
            assert seam_click_db(loop.audio, 48000, 4) > 3.0
        else:
            assert seam_click_db(loop.audio, 48000, 4) <= 3.0
        short = loop.audio[:-round(BAR_FRAMES / 4 - 0.020 * 48000)]          # ends 20 ms into the last kick
        assert seam_click_db(short, 48000, 4) > 3.0                          # so the seam check can fail
    assert max(phases) - min(phases) > 0.02, phases                        # the takes really differ in phase


def test_progress_goes_connecting_settling_recording_cutting(fake_lyria):
    reports = []
    request = REQUEST.model_copy(update={"bars": 1, "bpm": 150})
    capture(fake_lyria, secret_key("progress"), request, progress=lambda stage, pct: reports.append((stage, pct)))
    stages = [stage for stage, _ in reports]
    assert reports[0] == ("connecting", 0.0) and reports[-1] == ("cutting", 100.0)
    firsts = [stages.index(stage) for stage in ("connecting", "settling", "recording", "cutting")]
    assert firsts == sorted(firsts)
    percents = [percent for _, percent in reports]
    assert percents == sorted(percents) and all(0.0 <= p <= 100.0 for p in percents)


def test_a_44k_mono_stream_is_resampled_to_an_exact_48k_loop(fake_lyria):
    key = secret_key("mono44", "rate=44100", "channels=1")
    request = REQUEST.model_copy(update={"bars": 2, "bpm": 120})
    loop = capture(fake_lyria, key, request)
    assert loop.audio.shape == (round(2 * 4 * 60 / 120 * 48000), 2)
    np.testing.assert_array_equal(loop.audio[:, 0], loop.audio[:, 1])
    connection = fake_lyria.connections(key)[-1]
    assert abs(downbeat_error_frames(fake_lyria, connection, loop.start_frame)) <= FIVE_MS


def test_cancel_stops_the_capture_and_closes_the_connection(fake_lyria):
    key = secret_key("cancel")
    cancel = threading.Event()

    def progress(stage, percent):
        if stage == "recording":
            cancel.set()

    with pytest.raises(LyriaCancelled, match="cancelled"):
        capture(fake_lyria, key, progress=progress, cancel=cancel)
    connection, = fake_lyria.connections(key)
    assert fake_lyria.wait_closed(connection)["code"] == 1000
