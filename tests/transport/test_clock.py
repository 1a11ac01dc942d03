"""TempoClock: fractional musical time from the sample clock; TapTempo."""

import pytest

from groovebox.transport import TapTempo, TempoClock


def test_grid_frames_are_fractional_never_accumulated():
    from fractions import Fraction
    import math
    clock = TempoClock(48000, 133.0)
    frames_per_bar = Fraction(4 * 60 * 48000, 133)
    for bar in (1, 10, 1000, 100000):
        assert clock.grid_frame(4.0 * bar) == math.ceil(frames_per_bar * bar)


def test_exact_grid_frame_is_not_pushed_to_the_next_sample_by_float_error():
    clock = TempoClock(48000, 120.0)
    assert clock.grid_frame(0.1 * 3 * 10) == 72000     # 0.1*3*10 = 3.0000000000000004 beats
    assert clock.next_grid(72000, 1.0) == (72000, 3.0)
    assert clock.next_grid(72001, 1.0) == (96000, 4.0)


def test_tempo_change_keeps_the_beat_at_the_change_frame():
    clock = TempoClock(48000, 120.0)
    clock.set_tempo(90.0, at_frame=30000)
    assert clock.beat_at(30000) == pytest.approx(1.25)
    assert clock.frame_at(2.25) == pytest.approx(30000 + 32000)


def test_locate_moves_beat_zero():
    clock = TempoClock(48000, 120.0)
    clock.locate(0.0, at_frame=12345)
    assert clock.next_grid(12000, 4.0) == (12345, 0.0)


def test_tap_tempo_averages_and_times_out():
    tap = TapTempo(timeout_s=2.0)
    assert tap.tap(10.0) is None
    assert tap.tap(10.5) == pytest.approx(120.0)
    assert tap.tap(11.0) == pytest.approx(120.0)
    assert tap.tap(11.52) == pytest.approx(60 / (1.52 / 3))
    assert tap.tap(20.0) is None                     # a long pause starts over
    assert tap.tap(20.25) == pytest.approx(240.0)


def test_tap_tempo_is_clamped():
    tap = TapTempo(max_bpm=300.0)
    tap.tap(1.0)
    assert tap.tap(1.01) == 300.0
