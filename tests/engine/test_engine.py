"""Engine behaviour: launch modes, mixing, limiter, metronome, events, block-size independence, allocation."""

import tracemalloc

import numpy as np
import pytest
from conftest import SR, dc_audio, first_nonzero

from groovebox.engine import PadState, PadStateChanged, Status, render_offline
from groovebox.engine import commands as c
from groovebox.engine.events import BufferReleased


def noise(frames: int, seed: int, level: float = 0.5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (level * rng.uniform(-1, 1, (frames, 2))).astype(np.float32)


def busy_performance():
    """Several pads in every launch mode, pressed off-grid, with tempo, mix and region changes."""
    actions = [
        c.PressPad(0, at_frame=1234), c.PressPad(1, at_frame=5000), c.PressPad(2, at_frame=30001),
        c.ReleasePad(2, at_frame=70011), c.PressPad(3, at_frame=40000), c.PressPad(3, at_frame=61111),
        c.PressPad(4, at_frame=45000), c.PressPad(5, at_frame=47000),
        c.SetTempo(131.0, at_frame=100000), c.PressPad(0, at_frame=150003), c.PressPad(6, at_frame=160000),
    ]
    return sorted(actions, key=lambda a: a.at_frame)


def load_busy(engine):
    modes = [c.LaunchMode.TOGGLE, c.LaunchMode.TRIGGER, c.LaunchMode.GATE, c.LaunchMode.ONE_SHOT,
             c.LaunchMode.TOGGLE, c.LaunchMode.TOGGLE, c.LaunchMode.ONE_SHOT]
    for pad, mode in enumerate(modes):
        engine.post(c.LoadPad(pad, noise(20000 + 3001 * pad, pad), 120.0, region_start_frame=pad * 100,
                              volume=0.7, pan=-0.5 + pad * 0.15, launch_mode=mode, choke_group=1 if pad in (4, 5) else 0))
    engine.post(c.SetQuantize(c.Quantize.QUARTER))
    engine.post(c.SetMetronome(True, 0.3))


@pytest.mark.parametrize("block_frames", [32, 64, 257, 1024])
def test_render_is_bit_identical_across_block_sizes(make_engine, block_frames):
    reference_engine = make_engine()
    load_busy(reference_engine)
    expected = render_offline(reference_engine, 200000, 256, busy_performance())
    engine = make_engine()
    load_busy(engine)
    out = render_offline(engine, 200000, block_frames, busy_performance())
    assert np.abs(expected).max() > 0.1
    np.testing.assert_array_equal(out, expected)


def test_render_does_not_allocate(make_engine, measuring_alone):
    engine = make_engine(quantize=c.Quantize.OFF)
    for pad in range(16):
        engine.post(c.LoadPad(pad, noise(30000 + 977 * pad, pad), 120.0 if pad % 2 else 97.0, volume=0.8))
        engine.post(c.PressPad(pad))
    engine.post(c.SetMetronome(True))
    out = np.zeros((1024, 2), np.float32)
    for _ in range(20):
        engine.render(out, 1024)
    engine.poll_events()
    tracemalloc.start()
    for _ in range(200):
        engine.render(out, 1024)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # Nothing is kept, and nothing block-sized (8 KB here) is ever allocated: the only transient
    # allocations are Python floats and numpy's ~1 KB reduction state (meters, limiter peaks).
    assert current < 512, current
    assert peak < out.nbytes // 2, peak


def test_limiter_never_exceeds_0_dbfs(make_engine):
    engine = make_engine(quantize=c.Quantize.OFF)
    for pad in range(16):
        engine.post(c.LoadPad(pad, noise(24000 + 101 * pad, pad, level=1.0), 120.0, volume=1.0, pan=1.0))
        engine.post(c.PressPad(pad))
    out = render_offline(engine, 2 * SR, 100)
    assert np.abs(out).max() <= 10 ** (-0.3 / 20) + 1e-6
    assert engine.status[Status.GAIN_REDUCTION_DB] < -6


def test_quiet_signal_passes_unchanged(make_engine):
    engine = make_engine(quantize=c.Quantize.OFF)
    audio = noise(SR, 1, level=0.3)
    engine.post(c.LoadPad(0, audio, 120.0, volume=1.0))
    out = render_offline(engine, SR, 256, [c.PressPad(0, at_frame=0)])
    np.testing.assert_allclose(out, audio, atol=1e-6)


def test_pan_is_constant_power_and_unity_in_the_centre(make_engine):
    levels = {}
    for pan in (-1.0, 0.0, 0.5, 1.0):
        engine = make_engine(quantize=c.Quantize.OFF)
        engine.post(c.LoadPad(0, dc_audio(SR, 0.25), 120.0, volume=1.0, pan=pan))
        out = render_offline(engine, 1000, 256, [c.PressPad(0, at_frame=0)])
        levels[pan] = out[500] / 0.25
    np.testing.assert_allclose(levels[0.0], [1.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(levels[-1.0], [np.sqrt(2), 0.0], atol=1e-6)
    for left, right in levels.values():
        assert left ** 2 + right ** 2 == pytest.approx(2.0, abs=1e-5)


def test_loop_region_loops_seamlessly(make_engine):
    audio = np.repeat(np.arange(1000, dtype=np.float32)[:, None] / 2000, 2, axis=1)
    engine = make_engine(quantize=c.Quantize.OFF)
    engine.post(c.LoadPad(0, audio, 120.0, region_start_frame=100, region_end_frame=300, volume=1.0))
    out = render_offline(engine, 1000, 64, [c.PressPad(0, at_frame=0)])
    expected = np.tile(audio[100:300], (5, 1))
    np.testing.assert_array_equal(out, expected)


def test_one_shot_plays_once_and_retriggers(make_engine):
    engine = make_engine(quantize=c.Quantize.OFF)
    engine.post(c.LoadPad(0, dc_audio(1000), 120.0, launch_mode=c.LaunchMode.ONE_SHOT, volume=1.0))
    out = render_offline(engine, 10000, 256, [c.PressPad(0, at_frame=100), c.PressPad(0, at_frame=5000)])
    assert np.count_nonzero(out[:5000, 0]) == 999              # the end fades out: its last frame is 0
    np.testing.assert_allclose(out[100:972, 0], 0.5)
    assert 0 < out[1050, 0] < 0.5
    assert first_nonzero(out, 1200) == 5000
    states = [e.state for e in engine.poll_events() if isinstance(e, PadStateChanged)]
    assert states.count(PadState.PLAYING) == 2 and states[-1] == PadState.LOADED


def test_velocity_scales_one_shots(make_engine):
    engine = make_engine(quantize=c.Quantize.OFF)
    engine.post(c.LoadPad(0, dc_audio(1000, 0.5), 120.0, launch_mode=c.LaunchMode.ONE_SHOT, volume=1.0))
    out = render_offline(engine, 2000, 256, [c.PressPad(0, at_frame=0, velocity=0.5)])
    assert out[500, 0] == pytest.approx(0.25)


def test_trigger_restarts_from_region_start_on_the_grid(make_engine):
    audio = np.repeat(np.linspace(0.1, 0.5, 48000, dtype=np.float32)[:, None], 2, axis=1)
    engine = make_engine(quantize=c.Quantize.QUARTER)
    engine.post(c.LoadPad(0, audio, 120.0, launch_mode=c.LaunchMode.TRIGGER, volume=1.0))
    out = render_offline(engine, 80000, 256, [c.PressPad(0, at_frame=10), c.PressPad(0, at_frame=30000)])
    assert first_nonzero(out) == 24000
    # at the restart: the new start plus the first frame of the old sound's fade-out
    assert out[48000, 0] == pytest.approx(audio[0, 0] + audio[24000, 0] * (1 - 1 / 128), abs=1e-6)
    assert out[48000 + 200, 0] == pytest.approx(audio[200, 0])


def test_choke_group_stops_the_other_pad_when_one_starts(make_engine):
    engine = make_engine(quantize=c.Quantize.OFF)
    engine.post(c.LoadPad(0, dc_audio(SR, 0.25), 120.0, choke_group=2, volume=1.0))
    engine.post(c.LoadPad(1, dc_audio(SR, 0.125), 120.0, choke_group=2, volume=1.0))
    out = render_offline(engine, 20000, 256, [c.PressPad(0, at_frame=0), c.PressPad(1, at_frame=5000)])
    assert out[4999, 0] == pytest.approx(0.25)
    assert out[5000 + 200, 0] == pytest.approx(0.125)


def test_stop_all_stops_on_the_grid(make_engine):
    engine = make_engine(quantize=c.Quantize.BAR)
    for pad in range(3):
        engine.post(c.LoadPad(pad, dc_audio(SR, 0.1), 120.0))
    actions = [c.PressPad(0, at_frame=0), c.PressPad(1, at_frame=0), c.PressPad(2, at_frame=0),
               c.StopAll(at_frame=100000)]
    out = render_offline(engine, 4 * 96000, 256, actions)
    assert out[191999, 0] > 0 and not out[192000 + 128:].any()


def test_metronome_accents_the_downbeat(make_engine):
    engine = make_engine(tempo_bpm=120.0)
    engine.post(c.SetMetronome(True, 1.0))
    out = render_offline(engine, 2 * 96000, 256)
    onsets = [first_nonzero(out, start) for start in (0, 2000, 26000, 50000, 74000, 98000)]
    assert onsets == [1, 24001, 48001, 72001, 96001, 120001]     # each click is a sine starting at 0
    accent, normal = np.abs(out[0:1440, 0]).max(), np.abs(out[24000:25440, 0]).max()
    assert accent > 1.3 * normal


def test_varispeed_plays_a_slower_loop_on_the_new_tempo(make_engine):
    """A one-bar loop recorded at 100 BPM lasts exactly one bar at 120 BPM."""
    audio = np.zeros((115200, 2), np.float32)   # one bar at 100 BPM
    audio[0] = 1.0
    engine = make_engine(tempo_bpm=120.0, quantize=c.Quantize.OFF)
    engine.post(c.LoadPad(0, audio, 100.0, volume=1.0))
    out = render_offline(engine, 3 * 96000 + 10, 256, [c.PressPad(0, at_frame=0)])
    peaks = np.flatnonzero(out[:, 0] > 0.1)
    assert set(peaks) <= {0, 1, 96000, 96001, 192000, 192001, 288000, 288001}


def test_loading_a_playing_pad_keeps_its_phase_and_releases_the_old_buffer(make_engine):
    engine = make_engine(quantize=c.Quantize.OFF)
    first = dc_audio(SR, 0.25)
    engine.post(c.LoadPad(0, first, 120.0, volume=1.0))
    render_offline(engine, 10000, 256, [c.PressPad(0, at_frame=0)])
    ramp = np.repeat(np.arange(SR, dtype=np.float32)[:, None] / SR, 2, axis=1)
    engine.post(c.LoadPad(0, ramp, 120.0, volume=1.0))
    out = np.zeros((2048, 2), np.float32)
    engine.render(out, 2048)
    position = int(engine.status[Status.FRAME]) - 1
    assert out[-1, 0] == pytest.approx(ramp[position - engine.latency_frames, 0], abs=1e-6)
    released = [e for e in engine.poll_events() if isinstance(e, BufferReleased)]
    assert released and released[0].audio is first


def test_events_carry_exact_frames(make_engine):
    engine = make_engine(quantize=c.Quantize.BAR)
    engine.post(c.LoadPad(0, dc_audio(SR), 120.0))
    render_offline(engine, 100000, 100, [c.PressPad(0, at_frame=777)])
    changes = [(e.state, e.at_frame, e.due_frame) for e in engine.poll_events()]
    assert changes == [(PadState.LOADED, 0, -1), (PadState.QUEUED, 777, 96000), (PadState.PLAYING, 96000, -1)]


def test_post_rejects_bad_audio_and_pads(make_engine):
    engine = make_engine()
    with pytest.raises(ValueError, match="float32"):
        engine.post(c.LoadPad(0, np.zeros((10, 2)), 120.0))
    with pytest.raises(ValueError, match="NaN"):
        engine.post(c.LoadPad(0, np.full((10, 2), np.nan, np.float32), 120.0))
    with pytest.raises(ValueError, match="out of range"):
        engine.post(c.PressPad(64))


def test_status_reports_position_and_meters(make_engine):
    engine = make_engine(quantize=c.Quantize.OFF)
    engine.post(c.LoadPad(0, dc_audio(SR, 0.5), 120.0, volume=1.0))
    render_offline(engine, 48000, 480, [c.PressPad(0, at_frame=0)])
    assert engine.status[Status.BEAT] == pytest.approx((48000 + engine.latency_frames) / 24000)
    assert engine.status[Status.PEAK_L] == pytest.approx(0.5)
    assert engine.status[Status.RMS_R] == pytest.approx(0.5)


def test_volume_and_pan_changes_while_playing_glide_without_clicks(make_engine):
    engine = make_engine(quantize=c.Quantize.OFF)
    engine.post(c.LoadPad(0, dc_audio(SR, 0.5), 120.0, volume=1.0))
    first = render_offline(engine, 2560, 256, [c.PressPad(0, at_frame=0)])
    engine.post(c.SetPadMix(0, volume=0.2, pan=1.0))
    rest = np.zeros((4096, 2), np.float32)
    for start in range(0, 4096, 256):
        engine.render(rest[start:start + 256], 256)
    out = np.concatenate([first, rest])
    steps = np.abs(np.diff(out, axis=0)).max()
    assert steps < 0.5 * np.sqrt(2) / 480 * 1.01          # a 10 ms glide, never a jump
    np.testing.assert_allclose(out[-1], [0.0, 0.2 * 0.5 * np.sqrt(2)], atol=1e-6)
