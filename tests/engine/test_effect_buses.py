"""Effect buses, sends and the master insert in the engine, with plain numpy processors (no pedalboard)."""

import tracemalloc

import numpy as np
import pytest

from groovebox.engine import Engine
from groovebox.engine import commands as c
from groovebox.engine.effects import BUSES, FADE_FRAMES, MASTER
from groovebox.engine.events import EffectFailed, EffectReleased
from groovebox.engine.offline import render_offline

SR = 48000
SINE_HZ = 300.0                       # 160 frames per period: a 48000-frame loop holds whole periods


class Gain:
    """A processor that scales its input (``process`` / ``reset``, like ``groovebox.fx.FxProcessor``)."""

    def __init__(self, gain: float) -> None:
        self.gain = np.float32(gain)
        self.calls = 0

    def process(self, block: np.ndarray) -> np.ndarray:
        self.calls += 1
        return block * self.gain

    def reset(self) -> None:
        self.calls = 0


class Broken(Gain):
    def process(self, block: np.ndarray) -> np.ndarray:
        raise RuntimeError("plugin crashed")


def sine(frames: int = 48000, level: float = 0.2) -> np.ndarray:
    wave = level * np.sin(2 * np.pi * SINE_HZ * np.arange(frames) / SR)
    return np.repeat(wave[:, None], 2, axis=1).astype(np.float32)


def noise(frames: int, seed: int, level: float = 0.1) -> np.ndarray:
    return (level * np.random.default_rng(seed).standard_normal((frames, 2))).astype(np.float32)


def playing_engine(*setup, audio=None, volume=0.5) -> Engine:
    engine = Engine(sample_rate=SR, pads=16, master_volume=1.0, meters=False)
    engine.post(c.SetQuantize(c.Quantize.OFF))
    engine.post(c.LoadPad(0, sine() if audio is None else audio, 120.0, volume=volume))
    for command in setup:
        engine.post(command)
    engine.post(c.PressPad(0))
    return engine


def render_blocks(engine: Engine, frames: int, block: int = 256, at_block: dict | None = None) -> np.ndarray:
    """Render ``frames`` in ``block``-frame blocks; ``at_block[k]`` commands are posted before block k."""
    out = np.zeros((frames, 2), np.float32)
    for k, start in enumerate(range(0, frames, block)):
        for command in (at_block or {}).get(k, ()):
            engine.post(command)
        engine.render(out[start:start + block], min(block, frames - start))
    return out


def diff_energy_db(signal: np.ndarray) -> float:
    """Energy of the first difference (what a click adds), in dB."""
    return 10 * np.log10(np.sum(np.diff(signal[:, 0]) ** 2) + 1e-30)


def test_sends_and_empty_slots_leave_the_output_bit_identical():
    plain = render_blocks(playing_engine(), 20000)
    with_sends = render_blocks(playing_engine(c.SetPadSends(0, (1.0, 0.5, 0.0, 0.2)), c.SetEffect(1, None),
                                              c.SetEffect(MASTER, None)), 20000)
    assert np.array_equal(plain, with_sends)


def test_no_effects_render_allocates_nothing_block_sized(measuring_alone):
    engine = playing_engine(c.SetPadSends(0, (1.0, 0.0, 0.0, 0.0)))
    out = np.zeros((1024, 2), np.float32)
    for _ in range(10):
        engine.render(out, 1024)
    engine.poll_events()
    tracemalloc.start()
    worst_block = 0
    for _ in range(100):
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        engine.render(out, 1024)
        worst_block = max(worst_block, tracemalloc.get_traced_memory()[1] - before)
    tracemalloc.stop()
    assert worst_block < out.nbytes // 2, worst_block


def test_a_bus_returns_the_post_fader_send_into_the_mix():
    bus = Gain(1.0)
    wet = render_blocks(playing_engine(c.SetEffect(2, bus), c.SetPadSends(0, (0.0, 0.0, 0.5, 0.0)), volume=0.4),
                        12000)
    louder = render_blocks(playing_engine(volume=0.6), 12000)      # 0.4 dry + 0.5 * 0.4 through the bus
    assert bus.calls == 12000 // 256 + 1
    np.testing.assert_allclose(wet[4000:], louder[4000:], atol=1e-6)


def test_a_bus_without_sends_is_silent_and_a_send_without_a_bus_does_nothing():
    dry = render_blocks(playing_engine(), 8000)
    assert np.array_equal(render_blocks(playing_engine(c.SetEffect(0, Gain(1.0))), 8000), dry)
    assert np.array_equal(render_blocks(playing_engine(c.SetPadSends(0, (0.0, 1.0, 0.0, 0.0)),
                                                       c.SetEffect(0, Gain(1.0))), 8000), dry)


def test_the_master_insert_processes_the_whole_mix():
    dry = render_blocks(playing_engine(), 8000)
    inverted = render_blocks(playing_engine(c.SetEffect(MASTER, Gain(-1.0))), 8000)
    assert np.array_equal(inverted, -dry)        # set before the first block: no fade, exact


def test_song_tracks_send_to_the_buses():
    clip = noise(48000, 1)
    setup = (c.SetSong((c.SongTrack(0.5),), (c.SongClip(0, clip, 0, 4, 120.0),)), c.SongPlay(quantized=False))

    def render(*extra):
        engine = Engine(sample_rate=SR, pads=16, master_volume=1.0, meters=False)
        for command in (*setup, *extra):
            engine.post(command)
        return render_offline(engine, 20000, 512)
    dry = render()
    wet = render(c.SetEffect(3, Gain(1.0)), c.SetTrackSends(0, (0.0, 0.0, 0.0, 1.0)))
    np.testing.assert_allclose(wet[2000:], 2 * dry[2000:], atol=1e-6)


def test_effects_render_the_same_for_every_block_size():
    def render(block):
        engine = playing_engine(c.SetEffect(0, Gain(0.7)), c.SetEffect(MASTER, Gain(0.9)),
                                c.SetPadSends(0, (0.8, 0.0, 0.0, 0.0)), audio=noise(30000, 2))
        return render_offline(engine, 30000, block, [c.StopPad(0, at_frame=17001, quantized=False)])
    reference = render(2048)
    for block in (64, 100, 1000):
        assert np.array_equal(render(block), reference), block


def test_stopping_a_pad_fades_its_send_too():
    engine = playing_engine(c.SetEffect(0, Gain(-1.0)), c.SetPadSends(0, (1.0, 0.0, 0.0, 0.0)))
    out = render_offline(engine, 12000, 256, [c.StopPad(0, at_frame=6000, quantized=False)])
    # dry + (-1 * send 1.0) cancel exactly, through the declick tail as well: the tail feeds the bus
    # (sends and processors set before the first block apply at once)
    assert np.abs(out).max() == 0.0


def crossfade_change(change, hard: bool = False) -> tuple[float, float]:
    """Play a sine, apply ``change`` before block 40 (frame 10240); the first-difference energy (dB) of the
    worst one-period window around the change, and of one period at rest."""
    engine = playing_engine()
    out = render_blocks(engine, 20000, at_block={40: change})
    if hard:                                   # what switching without a crossfade would produce
        out = out.copy()
        out[10240 - engine.latency_frames:] *= -1
    change = 10240 - engine.latency_frames
    worst = max(diff_energy_db(out[start:start + 160]) for start in range(change - 160, change + FADE_FRAMES, 40))
    return worst, diff_energy_db(out[15000:15160])           # one period of the sine at rest


def test_switching_the_master_insert_crossfades_without_a_click():
    around, rest = crossfade_change([c.SetEffect(MASTER, Gain(-1.0))])
    hard_around, hard_rest = crossfade_change([], hard=True)
    assert around - rest < 0.5                 # no period holds more high-frequency energy than the sine's
    assert hard_around - hard_rest > 10.0      # the metric does see a hard switch


def test_raising_a_send_to_an_inverting_bus_glides_without_a_click():
    engine = playing_engine(c.SetEffect(1, Gain(-1.0)))
    out = render_blocks(engine, 20000, at_block={40: [c.SetPadSends(0, (0.0, 1.0, 0.0, 0.0))]})
    change = 10240 - engine.latency_frames
    worst = max(diff_energy_db(out[start:start + 160]) for start in range(change - 160, change + 480, 40))
    assert worst - diff_energy_db(out[3000:3160]) < 0.5
    assert np.abs(out[12000:]).max() == 0.0    # dry and the inverted return cancel once the send is up


def test_changes_during_a_fade_wait_for_it_and_the_latest_wins():
    first, skipped, last = Gain(0.5), Gain(0.25), Gain(2.0)
    engine = playing_engine(c.SetEffect(0, first), c.SetPadSends(0, (1.0, 0.0, 0.0, 0.0)))
    render_blocks(engine, 2048, block=256)
    engine.post(c.SetEffect(0, Gain(0.1)))     # starts a fade from ``first``
    render_blocks(engine, 256)
    engine.post(c.SetEffect(0, skipped))
    engine.post(c.SetEffect(0, last))
    render_blocks(engine, 4096)
    assert skipped.calls == 0
    assert engine.effects.slots[0].processor is last
    released = [event.processor for event in engine.poll_events() if isinstance(event, EffectReleased)]
    assert first in released and skipped in released


def test_a_failing_processor_is_dropped_and_reported():
    engine = playing_engine(c.SetEffect(MASTER, Broken(1.0)))
    dry = render_blocks(playing_engine(), 4096)
    out = render_blocks(engine, 4096)
    assert np.array_equal(out, dry)
    failures = [event for event in engine.poll_events() if isinstance(event, EffectFailed)]
    assert len(failures) == 1 and failures[0].slot == MASTER and "plugin crashed" in failures[0].reason
    assert not engine.effects.enabled


@pytest.mark.parametrize("command, message", [
    (c.SetEffect(MASTER + 1, None), "out of range"),
    (c.SetEffect(0, object()), "process"),
    (c.SetPadSends(0, (0.5,)), "numbers"),
    (c.SetPadSends(0, (0.5, 0.0, 2.0, 0.0)), "send 2"),
    (c.SetTrackSends(99, (0.0,) * BUSES), "track index"),
])
def test_bad_effect_commands_are_refused_on_the_control_thread(command, message):
    with pytest.raises(ValueError, match=message):
        Engine(pads=16).post(command)
