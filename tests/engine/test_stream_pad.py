"""Stream pads with a hand-filled ring: locking on a stream downbeat at the launch bar line, reading only
written audio (silence and an underrun on a stall, never the previous lap of the ring), clean fades,
relocking on the grid, tempo follow, detach, and an allocation-free render."""

import tracemalloc

import numpy as np
import pytest
from conftest import SR

from groovebox.engine import PadState, render_offline
from groovebox.engine import commands as c
from groovebox.engine.events import BufferReleased
from groovebox.engine.offline import OfflineRenderer
from groovebox.engine.stream import (
    Header,
    lock_snapshot,
    new_header,
    ring_slice,
    ring_write,
)

CAPACITY = 20 * SR
BAR = 2 * SR                      # one bar at 120 BPM
PREBUFFER = 2 * SR
FADE = 128


def encoded(start_frame: int, frames: int) -> np.ndarray:
    """Stream audio whose samples say which stream frame they are (exact in float32, below the limiter)."""
    s = np.arange(start_frame, start_frame + frames)
    return np.stack([(s % 4096) / 8192.0, ((s // 4096) % 4096) / 8192.0], axis=1).astype(np.float32)


def decoded(out: np.ndarray) -> np.ndarray:
    return np.round(out[:, 0] * 8192).astype(np.int64) + 4096 * np.round(out[:, 1] * 8192).astype(np.int64)


class Producer:
    """Plays the worker's part by hand: epochs, downbeats, writes."""

    def __init__(self, bpm: float = 120.0) -> None:
        self.ring = np.full((CAPACITY, 2), 0.9, np.float32)         # loud "previous lap" everywhere
        self.header = new_header()
        self.header[Header.BPM] = bpm
        self.header[Header.EPOCH] = 1

    def write_until(self, frame: int) -> None:
        written = int(self.header[Header.WRITTEN])
        if frame > written:
            ring_write(self.ring, written, encoded(written, frame - written))
            self.header[Header.WRITTEN] = frame

    def downbeat(self, frame: float) -> None:
        self.header[Header.DOWNBEAT] = frame
        self.header[Header.DOWNBEAT_EPOCH] = self.header[Header.EPOCH]

    def new_epoch(self, bpm: float | None = None) -> None:
        self.header[Header.DOWNBEAT_EPOCH] = -1
        self.header[Header.EPOCH_START] = self.header[Header.WRITTEN]
        if bpm is not None:
            self.header[Header.BPM] = bpm
        self.header[Header.EPOCH] += 1


def attach(engine, producer, pad=0, **kwargs):
    engine.post(c.AttachStream(pad, producer.ring, producer.header, PREBUFFER, **kwargs))


@pytest.fixture
def producer():
    return Producer()


def test_launch_locks_a_stream_downbeat_onto_the_bar_line(make_engine, producer):
    producer.write_until(11 * SR + 1234)
    producer.downbeat(30_000.4)
    engine = make_engine()
    attach(engine, producer)
    engine.post(c.PressPad(0, at_frame=1000))
    out = render_offline(engine, 2 * BAR, 256)
    lock = lock_snapshot(producer.header)
    assert lock.locked and lock.engine_frame == BAR and lock.rate == 1.0
    # the newest downbeat that leaves the prebuffer written after it
    expected = 30_000 + ((11 * SR + 1234 - PREBUFFER - 30_000.4) // BAR) * BAR
    assert lock.stream_frame == expected
    assert np.all(out[:BAR] == 0.0)
    played = decoded(out[BAR + FADE:])
    np.testing.assert_array_equal(played, expected + FADE + np.arange(len(played)))
    assert np.all(np.diff(np.abs(out[BAR:BAR + FADE, 0])) >= 0)          # fades in


def test_a_launch_mid_bar_plays_the_matching_point_of_the_stream_bar(make_engine, producer):
    producer.write_until(12 * SR)
    producer.downbeat(10_000)
    engine = make_engine(quantize=c.Quantize.QUARTER)
    attach(engine, producer)
    engine.post(c.PressPad(0, at_frame=BAR + 10))
    render_offline(engine, 2 * BAR, 256)
    lock = lock_snapshot(producer.header)
    assert lock.engine_frame == BAR + SR // 2                            # beat 2 of bar 2
    assert (lock.stream_frame - 10_000) % BAR == SR // 2                 # beat 2 of a stream bar


@pytest.mark.parametrize("block_frames", [64, 256, 1000, 2048])
def test_output_does_not_depend_on_the_block_size(make_engine, block_frames):
    def render(block):
        producer = Producer()
        producer.write_until(6 * SR)
        producer.downbeat(123.0)
        engine = make_engine()
        attach(engine, producer)
        engine.post(c.PressPad(0, at_frame=0))
        return render_offline(engine, 3 * BAR, block)            # plays, runs out of audio, goes silent

    out = render(block_frames)
    assert np.any(out != 0.0) and np.all(out[-BAR:] == 0.0)
    np.testing.assert_array_equal(out, render(128))


def test_a_stall_gives_silence_not_stale_audio_then_relocks_on_the_grid(make_engine, producer):
    producer.write_until(5 * SR)
    producer.downbeat(500.0)
    engine = make_engine()
    attach(engine, producer)
    engine.post(c.PressPad(0))
    renderer = OfflineRenderer(engine, 256)
    first = renderer.render(3 * BAR)
    lock = lock_snapshot(producer.header)
    assert lock.engine_frame == 0 and lock.stream_frame == 500.0 + BAR
    cut = int(5 * SR - lock.stream_frame)                               # engine frame of the last written frame + 1
    assert not lock.locked and lock.lost_at_frame == cut
    np.testing.assert_array_equal(decoded(first[FADE:cut - FADE]), lock.stream_frame + np.arange(FADE, cut - FADE))
    fade = first[cut - FADE:cut, 0] / encoded(int(lock.stream_frame) + cut - FADE, FADE)[:, 0]
    np.testing.assert_allclose(fade, (FADE - np.arange(FADE)) / FADE, atol=1e-6)
    assert np.all(first[cut:] == 0.0)                                   # the 0.9 of the old lap never plays
    assert producer.header[Header.UNDERRUNS] == 1
    assert engine.pads[0].state == PadState.PLAYING                     # still playing, waiting for audio
    # the producer is back with a second of audio more than the prebuffer: relock at a bar line
    producer.write_until(5 * SR + PREBUFFER + BAR)
    second = renderer.render(2 * BAR)
    relock = lock_snapshot(producer.header)
    assert relock.locked and relock.engine_frame % BAR == 0 and relock.engine_frame >= 3 * BAR
    assert (relock.stream_frame - 500) % BAR == 0 and relock.stream_frame >= 5 * SR      # nothing heard twice
    at = relock.engine_frame - 3 * BAR
    assert np.all(second[:at] == 0.0)
    assert decoded(second[at + FADE:at + FADE + 1])[0] == relock.stream_frame + FADE


def test_a_new_epoch_is_a_cut_then_a_relock_on_its_own_downbeat(make_engine, producer):
    producer.write_until(6 * SR)
    producer.downbeat(1000.0)
    engine = make_engine()
    attach(engine, producer)
    engine.post(c.PressPad(0))
    renderer = OfflineRenderer(engine, 512)
    renderer.render(BAR // 2)
    producer.new_epoch()                                                # a reconnect at stream frame 6 s
    producer.write_until(14 * SR)
    out = renderer.render(4 * BAR - BAR // 2)
    boundary_engine = int(6 * SR - (1000 + BAR)) - BAR // 2
    assert np.all(out[boundary_engine:] == 0.0)                        # no audio of the new epoch without a downbeat
    fade = out[boundary_engine - FADE:boundary_engine, 0] / encoded(6 * SR - FADE, FADE)[:, 0]
    np.testing.assert_allclose(fade, (FADE - np.arange(FADE)) / FADE, atol=1e-6)
    assert producer.header[Header.UNDERRUNS] == 0                        # a restart is not an underrun
    producer.downbeat(6 * SR + 777.0)
    renderer.render(2 * BAR)
    lock = lock_snapshot(producer.header)
    assert lock.locked and lock.engine_frame % BAR == 0
    assert (lock.stream_frame - (6 * SR + 777)) % BAR == 0


def test_queued_until_there_is_a_downbeat_and_enough_audio(make_engine, producer):
    engine = make_engine()
    attach(engine, producer)
    engine.post(c.PressPad(0, at_frame=10))
    renderer = OfflineRenderer(engine, 256)
    renderer.render(2 * BAR)       # the engine clock runs engine.latency_frames ahead of the output: 192064
    assert engine.pads[0].state == PadState.QUEUED
    producer.write_until(2 * SR)
    producer.downbeat(200.0)                                            # no downbeat 2 s behind what is written
    renderer.render(BAR)
    assert engine.pads[0].state == PadState.QUEUED
    producer.write_until(5 * SR)
    renderer.render(BAR)
    assert engine.pads[0].state == PadState.PLAYING
    lock = lock_snapshot(producer.header)
    assert lock.engine_frame == 4 * BAR and lock.stream_frame == 200.0 + BAR


def test_the_read_clock_paces_the_producer(make_engine, producer):
    producer.write_until(4 * SR)
    engine = make_engine()
    attach(engine, producer)
    renderer = OfflineRenderer(engine, 256)
    renderer.render(SR)
    assert producer.header[Header.READ] == 4 * SR                       # idle: virtual clock, never past WRITTEN
    producer.write_until(10 * SR)
    renderer.render(SR)
    assert producer.header[Header.READ] == 5 * SR
    producer.downbeat(0.0)
    engine.post(c.PressPad(0))
    renderer.render(BAR)
    lock = lock_snapshot(producer.header)
    assert producer.header[Header.READ] == lock.stream_frame + (engine.frame - lock.engine_frame)


def test_tempo_changes_varispeed_the_stream_and_move_the_lock(make_engine, producer):
    producer.write_until(15 * SR)
    producer.downbeat(0.0)
    engine = make_engine()
    attach(engine, producer)
    engine.post(c.PressPad(0))
    engine.post(c.SetTempo(132.0, at_frame=BAR + 100))
    render_offline(engine, 2 * BAR, 256)
    lock = lock_snapshot(producer.header)
    assert lock.engine_frame == BAR + 100 and lock.rate == pytest.approx(1.1)
    assert lock.stream_frame == pytest.approx(lock_snapshot_before(producer) + BAR + 100)


def lock_snapshot_before(producer):
    """The stream frame locked at engine frame 0 in the tempo test (the newest downbeat 2 s behind 15 s)."""
    return (15 * SR - PREBUFFER) // BAR * BAR


def test_detach_hands_both_buffers_back_and_empties_the_pad(make_engine, producer):
    producer.write_until(6 * SR)
    producer.downbeat(0.0)
    engine = make_engine()
    attach(engine, producer)
    engine.post(c.PressPad(0))
    renderer = OfflineRenderer(engine, 256)
    renderer.render(SR)
    engine.poll_events()
    engine.post(c.DetachStream(0))
    tail = renderer.render(1024)
    applied = engine.latency_frames                                      # applied at the next block's start
    assert np.all(tail[applied:applied + FADE - 1, 0] > 0.0) and np.all(tail[applied + FADE:] == 0.0)  # faded out
    released = [e.audio for e in engine.poll_events() if isinstance(e, BufferReleased)]
    assert any(a is producer.ring for a in released) and any(a is producer.header for a in released)
    assert engine.pads[0].state == PadState.EMPTY and engine.pads[0].stream is None


def test_a_loop_loaded_over_a_stream_pad_replaces_it(make_engine, producer):
    engine = make_engine()
    attach(engine, producer)
    engine.post(c.LoadPad(0, np.full((SR, 2), 0.25, np.float32), 120.0))
    engine.post(c.PressPad(0))
    out = render_offline(engine, BAR + 100, 256)
    assert engine.pads[0].stream is None and np.all(out[:100] == 0.25)


def test_attach_is_checked_on_the_control_thread(make_engine, producer):
    engine = make_engine()
    with pytest.raises(ValueError, match="prebuffer_frames"):
        engine.post(c.AttachStream(0, producer.ring, producer.header, 10))
    with pytest.raises(ValueError, match="header"):
        engine.post(c.AttachStream(0, producer.ring, np.zeros(3), PREBUFFER))
    with pytest.raises(ValueError, match="one-shot"):
        engine.post(c.AttachStream(0, producer.ring, producer.header, PREBUFFER,
                                   launch_mode=c.LaunchMode.ONE_SHOT))


def test_ring_helpers_wrap(producer):
    ring = np.zeros((10, 2), np.float32)
    ring_write(ring, 7, encoded(7, 6))
    np.testing.assert_array_equal(ring_slice(ring, 7, 13), encoded(7, 6))
    assert decoded(ring[:3]).tolist() == [10, 11, 12]


def test_a_playing_stream_pad_renders_without_allocating(make_engine, producer, measuring_alone):
    producer.write_until(CAPACITY // 2 - SR)
    producer.downbeat(0.0)
    engine = make_engine()
    attach(engine, producer)
    engine.post(c.PressPad(0))
    out = np.zeros((1024, 2), np.float32)
    for _ in range(20):
        engine.render(out, 1024)
    engine.poll_events()
    assert lock_snapshot(producer.header).locked
    tracemalloc.start()
    for _ in range(100):
        engine.render(out, 1024)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert current < 512, current
    assert peak < out.nbytes // 2, peak


def test_an_underrunning_stream_pad_renders_without_allocating(make_engine, producer, measuring_alone):
    producer.write_until(3 * SR)
    producer.downbeat(0.0)
    engine = make_engine()
    attach(engine, producer)
    engine.post(c.PressPad(0))
    out = np.zeros((1024, 2), np.float32)
    for _ in range(200):                                                # locks, plays out, underruns
        engine.render(out, 1024)
    engine.poll_events()
    assert producer.header[Header.UNDERRUNS] == 1
    tracemalloc.start()
    for _ in range(100):
        engine.render(out, 1024)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert current < 512, current
    assert peak < out.nbytes // 2, peak
