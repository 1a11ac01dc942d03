"""Song playback in the engine: clips on exact grid frames, repeats/trims/offsets, track mix, transport
(play, stop, locate, rewind, loop region), sync with pads and tempo, block-size independence, no allocation."""

import math
import tracemalloc
from fractions import Fraction

import numpy as np
import pytest
from conftest import SR, dc_audio, first_nonzero

from groovebox.engine import SongLocated, SongState, SongStateChanged, Status, render_offline
from groovebox.engine import commands as c
from groovebox.engine.engine import DECLICK_FRAMES
from groovebox.engine.events import SongReleased
from groovebox.engine.gain import GLIDE_FRAMES, pan_gains

FADE = (1.0 - np.arange(1, DECLICK_FRAMES + 1) / DECLICK_FRAMES).astype(np.float32)


def noise(frames: int, seed: int, level: float = 0.3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (level * rng.uniform(-1, 1, (frames, 2))).astype(np.float32)


def grid_frame(beat, tempo_bpm, from_frame=0, from_beat=0) -> int:
    """Exact grid frame of ``beat`` (the first integer frame at or after it), from fractions."""
    exact = from_frame + (Fraction(beat) - Fraction(from_beat)) * 60 * SR / Fraction(tempo_bpm)
    return math.ceil(exact)


def song(engine, clips, tracks=None):
    tracks = tracks or [c.SongTrack(volume=1.0) for _ in range(1 + max(clip.track for clip in clips))]
    engine.post(c.SetSong(tuple(tracks), tuple(clips)))


def events_of(engine, kind):
    return [event for event in engine.poll_events() if isinstance(event, kind)]


# ---------------------------------------------------------------------------------------------- placement

def test_a_clip_starts_and_ends_on_its_exact_grid_frames(make_engine):
    engine = make_engine(tempo_bpm=126.0)
    song(engine, [c.SongClip(0, dc_audio(50000), start_bar=3, length_bars=1.5, native_bpm=126.0)])
    out = render_offline(engine, 6 * 91429, 256, [c.SongPlay(at_frame=0)])
    start, end = grid_frame(12, 126), grid_frame(18, 126)      # bar 3 = beat 12, bar 4.5 = beat 18
    assert (start, end) == (274286, 411429)
    assert first_nonzero(out) == start
    np.testing.assert_array_equal(out[start:end, 0], 0.5)
    np.testing.assert_allclose(out[end:end + DECLICK_FRAMES, 0], 0.5 * FADE, atol=1e-7)
    assert not out[end + DECLICK_FRAMES:].any()


def test_a_loop_repeats_to_fill_its_clip_is_cut_by_a_short_clip_and_plays_its_region(make_engine):
    engine = make_engine()
    beat_loop, two_bars, region_loop = noise(24000, 1), noise(192000, 2), noise(48000, 3)
    song(engine, [c.SongClip(0, beat_loop, 0, 1.0, native_bpm=120.0),                  # 4 repeats
                  c.SongClip(1, two_bars, 2, 0.5, native_bpm=120.0),                   # trimmed to half a bar
                  c.SongClip(2, region_loop, 4, 1.0, native_bpm=120.0,
                             region_start_frame=12000, region_end_frame=36000)])       # 24000-frame region
    out = render_offline(engine, 6 * 96000, 512, [c.SongPlay(at_frame=0)])
    np.testing.assert_allclose(out[:96000], np.tile(beat_loop, (4, 1)), atol=1e-6)
    np.testing.assert_allclose(out[192000:240000], two_bars[:48000], atol=1e-6)
    assert not out[240000 + DECLICK_FRAMES:384000].any()
    np.testing.assert_allclose(out[384000:480000], np.tile(region_loop[12000:36000], (4, 1)), atol=1e-6)


def test_a_later_clip_on_the_same_track_cuts_the_one_before(make_engine):
    engine = make_engine()
    song(engine, [c.SongClip(0, dc_audio(1000, 0.2), 0, 4.0, native_bpm=120.0),
                  c.SongClip(0, dc_audio(1000, 0.4), 1, 1.0, native_bpm=120.0)])
    out = render_offline(engine, 5 * 96000, 256, [c.SongPlay(at_frame=0)])
    np.testing.assert_allclose(out[:96000, 0], 0.2)
    np.testing.assert_allclose(out[96000 + DECLICK_FRAMES:192000, 0], 0.4)
    assert not out[192000 + DECLICK_FRAMES:].any()              # the first clip does not come back


# ---------------------------------------------------------------------------------------------- mix

def test_track_volume_pan_and_clip_overrides_are_constant_power(make_engine):
    engine = make_engine()
    tracks = [c.SongTrack(volume=0.5, pan=-0.5), c.SongTrack(volume=1.0, pan=0.3)]
    song(engine, [c.SongClip(0, dc_audio(4800), 0, 1.0), c.SongClip(1, dc_audio(4800), 1, 1.0),
                  c.SongClip(1, dc_audio(4800), 2, 1.0, volume=0.25, pan=1.0)], tracks)
    out = render_offline(engine, 3 * 96000, 256, [c.SongPlay(at_frame=0)])
    for bar, (volume, pan) in enumerate([(0.5, -0.5), (1.0, 0.3), (0.25, 1.0)]):
        left, right = pan_gains(volume, pan)
        middle = out[bar * 96000 + 1000]
        np.testing.assert_allclose(middle, [0.5 * left, 0.5 * right], rtol=1e-6)


def test_mute_and_solo_glide_tracks_out_and_in(make_engine):
    engine = make_engine()
    song(engine, [c.SongClip(0, dc_audio(4800, 0.1), 0, 8.0), c.SongClip(1, dc_audio(4800, 0.2), 0, 8.0),
                  c.SongClip(2, dc_audio(4800, 0.4), 0, 8.0)])
    commands = [c.SongPlay(at_frame=0), c.SetTrackMix(1, 1.0, 0.0, muted=True, at_frame=10000),
                c.SetTrackMix(2, 1.0, 0.0, soloed=True, at_frame=20000),
                c.SetTrackMix(2, 1.0, 0.0, soloed=False, at_frame=30000)]
    out = render_offline(engine, 40000, 256, commands)[:, 0]
    np.testing.assert_allclose(out[9999], 0.7, rtol=1e-6)
    assert 0.5 < out[10000 + GLIDE_FRAMES // 2] < 0.7                # a glide, not a click
    np.testing.assert_allclose(out[10000 + GLIDE_FRAMES:20000], 0.5, rtol=1e-6)
    np.testing.assert_allclose(out[20000 + GLIDE_FRAMES:30000], 0.4, rtol=1e-6)   # solo: only track 2
    np.testing.assert_allclose(out[30000 + GLIDE_FRAMES:], 0.5, rtol=1e-6)        # track 1 is still muted


# ---------------------------------------------------------------------------------------------- transport

def test_status_and_events_follow_the_transport(make_engine):
    engine = make_engine()
    song(engine, [c.SongClip(0, dc_audio(4800), 0, 4.0)])
    engine.post(c.SongLocate(8.0))                                     # stopped: just moves the position
    render_offline(engine, 1000, 256)
    assert engine.status[Status.SONG_STATE] == SongState.STOPPED and engine.status[Status.SONG_BAR] == 2.0
    engine.post(c.SongPlay(at_frame=5000))                             # queued for the next bar line
    out = render_offline(engine, 200000, 256)
    assert events_of(engine, SongStateChanged) == [
        SongStateChanged(SongState.QUEUED, 5000, 96000, 8.0), SongStateChanged(SongState.PLAYING, 96000, -1, 8.0)]
    start = 96000 - 1000                                               # this render's out starts at frame 1000
    assert first_nonzero(out) == start + 1                             # mid-clip: it fades in from 0 at 96000
    np.testing.assert_allclose(out[start + GLIDE_FRAMES:, 0], 0.5)
    assert engine.status[Status.SONG_STATE] == SongState.PLAYING
    assert engine.status[Status.SONG_BEAT] == pytest.approx(8.0 + (engine.frame - 96000) / 24000)
    engine.post(c.SongStop(at_frame=210000))
    render_offline(engine, 20000, 256)
    assert engine.status[Status.SONG_STATE] == SongState.STOPPED
    assert engine.status[Status.SONG_BEAT] == pytest.approx(8.0 + (210000 - 96000) / 24000)


def test_a_quantized_stop_waits_for_the_bar_line_and_play_cancels_it(make_engine):
    engine = make_engine()
    song(engine, [c.SongClip(0, dc_audio(4800, 0.2), 0, 8.0)])
    commands = [c.SongPlay(at_frame=0), c.SongStop(quantized=True, at_frame=100000),
                c.SongPlay(at_frame=150000), c.SongStop(quantized=True, at_frame=250000)]
    out = render_offline(engine, 400000, 256, commands)[:, 0]
    assert [(e.state, e.at_frame) for e in events_of(engine, SongStateChanged)] == [
        (SongState.QUEUED, 0), (SongState.PLAYING, 0), (SongState.STOPPED, 288000)]
    np.testing.assert_allclose(out[:288000], 0.2, rtol=1e-6)
    assert not out[288000 + DECLICK_FRAMES:].any()
    assert engine.status[Status.SONG_BEAT] == 12.0


def test_a_quantized_locate_jumps_on_the_grid_point_with_the_targets_place_in_the_bar(make_engine):
    engine = make_engine(tempo_bpm=126.0)
    song(engine, [c.SongClip(0, dc_audio(4800, 0.05 * (bar + 1)), bar, 1.0) for bar in range(8)])
    commands = [c.SongPlay(at_frame=0), c.SongLocate(6 * 4 + 2, at_frame=100000)]    # bar 6, beat 3
    out = render_offline(engine, 400000, 256, commands)
    jump = grid_frame(6, 126)                                          # the next beat 2 of a bar after frame 100000
    assert [(e.beat, e.at_frame) for e in events_of(engine, SongLocated)] == [(26.0, jump)]
    np.testing.assert_allclose(out[jump - 1, 0], 0.1, rtol=1e-6)       # bar 1 until then
    assert 0.0 < out[jump + GLIDE_FRAMES // 2, 0] < 0.35               # bar 6 fades in (mid-clip) ...
    np.testing.assert_allclose(out[jump + GLIDE_FRAMES:jump + 10000, 0], 0.35, rtol=1e-6)
    next_bar = grid_frame(8, 126)
    assert out[next_bar - 1, 0] == out[jump + 10000, 0]                # ... and bar 7 follows on the next bar line
    np.testing.assert_allclose(out[next_bar + DECLICK_FRAMES:next_bar + 10000, 0], 0.4, rtol=1e-6)


def test_rewind_and_fast_forward_move_by_a_bar_on_the_next_bar_line(make_engine):
    engine = make_engine()
    song(engine, [c.SongClip(0, dc_audio(4800, 0.05 * (bar + 1)), bar, 1.0) for bar in range(8)])
    commands = [c.SongPlay(at_frame=0), c.SongLocate(-4, relative=True, at_frame=250000),
                c.SongLocate(8, relative=True, at_frame=300000)]
    out = render_offline(engine, 500000, 256, commands)[:, 0]
    located = [(e.beat, e.at_frame) for e in events_of(engine, SongLocated)]
    assert located == [(8.0, 288000), (20.0, 384000)]                 # bar 3 -> bar 2; bar 3 -> bar 5
    np.testing.assert_allclose(out[288000 - 10], 0.15, rtol=1e-6)       # bar 2 ...
    np.testing.assert_allclose(out[288000 + DECLICK_FRAMES], 0.15, rtol=1e-6)   # and bar 2 again: a clip start,
    np.testing.assert_allclose(out[384000 + DECLICK_FRAMES], 0.3, rtol=1e-6)   # no fade-in; then bar 5


def test_an_immediate_locate_moves_the_grid_so_song_bars_stay_on_engine_bars(make_engine):
    engine = make_engine()
    song(engine, [c.SongClip(0, dc_audio(4800), 0, 16.0)])
    render_offline(engine, 60000, 256, [c.SongPlay(at_frame=0), c.SongLocate(9.5, quantized=False, at_frame=50000)])
    assert [(e.beat, e.at_frame) for e in events_of(engine, SongLocated)] == [(9.5, 50000)]
    engine_beat, song_beat = engine.clock.beat_at(engine.frame), engine.status[Status.SONG_BEAT]
    assert song_beat == pytest.approx(9.5 + (engine.frame - 50000) / 24000)
    assert (engine_beat - song_beat) % 4 == pytest.approx(0.0, abs=1e-9)


def test_an_engine_locate_moves_the_song_by_the_part_that_is_not_whole_bars(make_engine):
    engine = make_engine()
    song(engine, [c.SongClip(0, dc_audio(4800), 0, 16.0)])
    render_offline(engine, 100000, 256, [c.SongPlay(at_frame=0), c.Locate(9.0, at_frame=60000)])
    assert engine.clock.beat_at(60000) == 9.0                          # the grid jumped by 6.5 beats at beat 2.5:
    assert [(e.beat, e.at_frame) for e in events_of(engine, SongLocated)] == [(1.0, 60000)]   # the song by -1.5
    assert (engine.clock.beat_at(engine.frame) - engine.status[Status.SONG_BEAT]) % 4 == pytest.approx(0.0)


def test_the_loop_region_wraps_on_its_exact_frame(make_engine):
    clips = [c.SongClip(0, noise(4 * 91429, 4), 0, 8.0, native_bpm=126.0), c.SongClip(1, noise(20000, 5), 1, 1.0)]
    engine = make_engine(tempo_bpm=126.0)
    song(engine, clips)
    out = render_offline(engine, 6 * 91429, 256, [c.SetSongLoop(True, 1, 3, at_frame=0), c.SongPlay(at_frame=0)])
    wraps = [grid_frame(4 + 8 * k, 126) for k in (1, 2)]
    assert wraps[0] == grid_frame(12, 126) == 274286                   # bar 3
    assert [(e.beat, e.at_frame) for e in events_of(engine, SongLocated)] == [(4.0, wraps[0]), (4.0, wraps[1])]
    # after a wrap the song sounds as it does when played from the loop start (track 1 starts there, track 0
    # enters mid-clip and fades in), apart from the tail of what played before the wrap
    fresh = make_engine(tempo_bpm=126.0)
    song(fresh, clips)
    from_bar1 = render_offline(fresh, 91428, 256, [c.SongLocate(4.0, at_frame=0), c.SongPlay(at_frame=0)])
    for wrap in wraps:
        np.testing.assert_array_equal(out[wrap + DECLICK_FRAMES:wrap + 91428], from_bar1[DECLICK_FRAMES:])
    assert np.abs(out[wraps[0]:wraps[0] + DECLICK_FRAMES] - from_bar1[:DECLICK_FRAMES]).max() > 0.01   # the tail


def test_a_loop_region_of_whole_loops_wraps_seamlessly(make_engine):
    engine = make_engine()
    loop = noise(96000, 6)
    song(engine, [c.SongClip(0, loop, 0, 8.0, native_bpm=120.0)])
    out = render_offline(engine, 5 * 96000, 300, [c.SetSongLoop(True, 1, 3, at_frame=0), c.SongPlay(at_frame=0)])
    assert len(events_of(engine, SongLocated)) == 2
    np.testing.assert_allclose(out, np.tile(loop, (5, 1)), atol=1e-6)


# ---------------------------------------------------------------------------------------------- sync

@pytest.mark.parametrize("tempo_bpm, native_bpm", [(120.0, 120.0), (126.0, 97.0)])
def test_a_clip_plays_the_same_samples_as_a_pad_launched_on_its_bar(make_engine, tempo_bpm, native_bpm):
    audio = noise(70001, 7)
    pad_engine = make_engine(tempo_bpm=tempo_bpm)
    pad_engine.post(c.LoadPad(0, audio, native_bpm, volume=1.0))
    frames = grid_frame(16, tempo_bpm)
    pads = render_offline(pad_engine, frames, 256, [c.PressPad(0, at_frame=100)])     # launches on bar 1
    song_engine = make_engine(tempo_bpm=tempo_bpm)
    song(song_engine, [c.SongClip(0, audio, 1, 3.0, native_bpm=native_bpm)])
    songs = render_offline(song_engine, frames, 256, [c.SongPlay(at_frame=0)])
    assert first_nonzero(songs) == first_nonzero(pads) == grid_frame(4, tempo_bpm)
    np.testing.assert_array_equal(songs, pads)


def test_the_song_starts_on_the_next_bar_while_pads_play(make_engine):
    engine = make_engine(tempo_bpm=126.0)
    engine.post(c.LoadPad(0, dc_audio(9000, 0.1), 126.0, volume=1.0))
    song(engine, [c.SongClip(0, dc_audio(4800, 0.2), 0, 2.0)])
    out = render_offline(engine, 300000, 256, [c.PressPad(0, at_frame=0), c.SongPlay(at_frame=120000)])
    bar2 = grid_frame(8, 126)
    np.testing.assert_allclose(out[bar2 - 1, 0], 0.1, rtol=1e-6)
    np.testing.assert_allclose(out[bar2, 0], 0.3, rtol=1e-6)


def test_a_tempo_change_keeps_clips_on_the_grid(make_engine):
    loop = noise(96000, 8)
    tempo_change = [c.SetTempo(133.0, at_frame=150001)]
    engine = make_engine()
    song(engine, [c.SongClip(0, loop, 0, 6.0, native_bpm=120.0), c.SongClip(1, dc_audio(4800, 0.2), 4, 1.0)])
    out = render_offline(engine, 500000, 256, [c.SongPlay(at_frame=0), *tempo_change])
    pad_engine = make_engine()                      # the same loop on a pad: both follow the tempo alike
    pad_engine.post(c.LoadPad(0, loop, 120.0, volume=1.0))
    pads = render_offline(pad_engine, 500000, 256, [c.PressPad(0, at_frame=0), *tempo_change])
    bar4 = grid_frame(16, 133, from_frame=150001, from_beat=Fraction(150001, 24000))
    bar6 = grid_frame(24, 133, from_frame=150001, from_beat=Fraction(150001, 24000))
    bar5 = grid_frame(20, 133, from_frame=150001, from_beat=Fraction(150001, 24000))
    np.testing.assert_array_equal(out[:bar4], pads[:bar4])
    np.testing.assert_allclose(out[bar4:bar5] - pads[bar4:bar5], 0.2, atol=1e-6)
    np.testing.assert_allclose(out[bar5 + DECLICK_FRAMES:bar6], pads[bar5 + DECLICK_FRAMES:bar6], atol=1e-6)


# ---------------------------------------------------------------------------------------------- engine rules

def busy_song(engine):
    tracks = [c.SongTrack(0.7, -0.3), c.SongTrack(0.9, 0.4), c.SongTrack(0.5, 0.0, soloed=False)]
    clips = [c.SongClip(0, noise(30011, 10), 0, 3.0, native_bpm=97.0, region_start_frame=101),
             c.SongClip(1, noise(24000, 11), 1, 2.5, native_bpm=120.0),
             c.SongClip(2, noise(50000, 12), 2, 1.25, native_bpm=0.0, region_end_frame=40000, volume=0.3, pan=0.8),
             c.SongClip(0, noise(30011, 10), 4, 2.0, native_bpm=97.0)]
    engine.post(c.SetSong(tuple(tracks), tuple(clips)))
    engine.post(c.LoadPad(0, noise(20000, 13), 120.0, volume=0.6))


def busy_transport():
    return [c.SongPlay(at_frame=1234), c.PressPad(0, at_frame=5000), c.SetSongLoop(True, 2, 5, at_frame=6000),
            c.SetTrackMix(1, 0.4, 0.5, muted=False, at_frame=77777), c.SetTempo(131.0, at_frame=100003),
            c.SongLocate(3.5, at_frame=150000), c.SetTrackMix(0, 0.7, -0.3, soloed=True, at_frame=260001),
            c.Locate(1.75, at_frame=300007), c.SongLocate(-4, relative=True, quantized=False, at_frame=333333),
            c.SongStop(at_frame=600000), c.SongPlay(quantized=False, at_frame=612345)]


@pytest.mark.parametrize("block_frames", [32, 257, 1024])
def test_song_render_is_bit_identical_across_block_sizes(make_engine, block_frames):
    reference = make_engine()
    busy_song(reference)
    expected = render_offline(reference, 700000, 256, busy_transport())
    engine = make_engine()
    busy_song(engine)
    out = render_offline(engine, 700000, block_frames, busy_transport())
    assert np.abs(expected).max() > 0.1
    np.testing.assert_array_equal(out, expected)


def test_song_playback_does_not_allocate(make_engine, measuring_alone):
    engine = make_engine(quantize=c.Quantize.OFF)
    for pad in range(16):
        engine.post(c.LoadPad(pad, noise(30000 + 977 * pad, pad), 120.0 if pad % 2 else 97.0, volume=0.5))
        engine.post(c.PressPad(pad))
    tracks = tuple(c.SongTrack(0.5, track / 8 - 0.5) for track in range(8))
    clips = tuple(c.SongClip(track, noise(24000 + 311 * track, 20 + track), quarter / 4, 0.2 + 0.05 * (track % 2),
                             native_bpm=120.0 if track % 2 else 101.0)
                  for track in range(8) for quarter in range(4))
    engine.post(c.SetSong(tracks, clips))
    engine.post(c.SetSongLoop(True, 0, 1))
    engine.post(c.SongPlay(quantized=False))
    out = np.zeros((1024, 2), np.float32)
    for _ in range(20):
        engine.render(out, 1024)
    engine.poll_events()
    tracemalloc.start()
    worst_block = 0
    for _ in range(400):                            # 8.5 s: 8 clip starts and ends per beat, four loop wraps
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        engine.render(out, 1024)
        worst_block = max(worst_block, tracemalloc.get_traced_memory()[1] - before)
    wraps = len(events_of(engine, SongLocated))
    kept = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert wraps == 4
    # Nothing block-sized (8 KB here) is ever allocated, as for pads (Python floats, numpy's ~1-3 KB reduction
    # state, the events), and once the events are taken nothing is kept but the outbox deque's new block.
    assert worst_block < out.nbytes // 2, worst_block
    assert kept < 1024, kept


def test_resending_the_song_while_it_plays_leaves_unchanged_tracks_alone(make_engine):
    loop = noise(48000, 30)
    clips = (c.SongClip(0, loop, 0, 4.0, native_bpm=120.0),)
    plain = make_engine()
    song(plain, list(clips))
    expected = render_offline(plain, 300000, 256, [c.SongPlay(at_frame=0)])
    engine = make_engine()
    song(engine, list(clips))
    moved = clips + (c.SongClip(0, loop, 3, 1.0, native_bpm=120.0, volume=0.5),)
    out = render_offline(engine, 300000, 256, [c.SongPlay(at_frame=0),
                                               c.SetSong((c.SongTrack(volume=1.0),), clips, at_frame=123457),
                                               c.SetSong((c.SongTrack(volume=1.0),), moved, at_frame=200001)])
    np.testing.assert_array_equal(out[:288000], expected[:288000])        # no fade at either re-send
    np.testing.assert_allclose(out[288000 + DECLICK_FRAMES:300000], 0.5 * expected[288000 + DECLICK_FRAMES:300000],
                               atol=1e-6)
    released = events_of(engine, SongReleased)
    assert len(released) == 3 and released[1].arrangement.clip_audio == (loop,)


@pytest.mark.parametrize("command, message", [
    (c.SetSong(tuple(c.SongTrack() for _ in range(65))), "at most 64 tracks"),
    (c.SetSong((c.SongTrack(),), (c.SongClip(1, dc_audio(10), 0, 1.0),)), "out of range"),
    (c.SetSong((c.SongTrack(),), (c.SongClip(0, dc_audio(10), 0, 0.0),)), "greater than 0"),
    (c.SetSong((c.SongTrack(),), (c.SongClip(0, dc_audio(10), -1, 1.0),)), "start_bar"),
    (c.SetSong((c.SongTrack(volume=2.0),)), "volume"),
    (c.SetSong((c.SongTrack(),), (c.SongClip(0, np.zeros((10, 2)), 0, 1.0),)), "float32"),
    (c.SetTrackMix(64, 1.0, 0.0), "out of range"),
    (c.SetSongLoop(True, 2, 2), "must end after"),
    (c.SetSongLoop(True, 0.5, 2), "whole"),
    (c.SongLocate(math.nan), "beat"),
])
def test_bad_song_commands_are_refused_when_posted(make_engine, command, message):
    with pytest.raises(ValueError, match=message):
        make_engine().post(command)
