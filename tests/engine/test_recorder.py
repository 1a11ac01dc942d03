"""Recording the input into a pad: count-in, bar-exact takes, latency compensation, stop rules, cancels."""

import numpy as np
import pytest
from conftest import SR

from groovebox.engine import PadState, PadStateChanged
from groovebox.engine import commands as c
from groovebox.engine.events import BufferReleased, RecordingCancelled, RecordingDone

BAR = 2 * SR                     # one 4/4 bar at 120 BPM
BEAT = SR // 2


class Rig:
    """An engine fed with an input signal defined on engine frames: ``input_at(first, frames)``."""

    def __init__(self, engine, input_at, block_frames=256):
        self.engine = engine
        self.input_at = input_at
        self.block_frames = block_frames
        self.events = []
        self.chunks = []

    def run_until(self, frame: int) -> None:
        while self.engine.frame < frame:
            frames = min(self.block_frames, frame - self.engine.frame)
            self.engine.capture(self.input_at(self.engine.frame, frames), frames)
            out = np.zeros((frames, 2), np.float32)
            self.engine.render(out, frames)
            self.chunks.append(out)
            self.events += self.engine.poll_events()

    def output(self) -> np.ndarray:
        return np.concatenate(self.chunks)

    def done(self) -> RecordingDone:
        (done,) = [e for e in self.events if isinstance(e, RecordingDone)]
        return done

    def pad_states(self, pad: int) -> list[tuple[PadState, int]]:
        return [(e.state, e.at_frame) for e in self.events if isinstance(e, PadStateChanged) and e.pad == pad]


def clicks_every_beat(delay_frames: int):
    """An input that hears the engine's beats ``delay_frames`` late: a one-sample click per beat."""
    def input_at(first: int, frames: int) -> np.ndarray:
        block = np.zeros((frames, 2), np.float32)
        frame = np.arange(first, first + frames) - delay_frames
        block[(frame >= 0) & (frame % BEAT == 0)] = 0.5
        return block
    return input_at


def buffer_of(seconds: float) -> np.ndarray:
    return np.zeros((int(seconds * SR), 2), np.float32)


@pytest.mark.parametrize("block_frames", [64, 256, 1000])
def test_a_fixed_take_is_exactly_n_bars_with_its_first_click_on_frame_0(make_engine, block_frames):
    latency = 777
    rig = Rig(make_engine(), clicks_every_beat(latency), block_frames)
    rig.run_until(30000)                                   # armed mid-bar
    rig.engine.post(c.ArmRecord(3, buffer_of(20), bars=2, latency_frames=latency))
    rig.run_until(6 * BAR)
    done = rig.done()
    assert done.pad == 3 and done.bars == 2
    assert len(done.audio) == 2 * BAR == done.end_frame - done.start_frame
    assert done.start_frame == 2 * BAR                     # the first bar line at least a bar after arming
    clicks = np.flatnonzero(done.audio[:, 0])
    assert clicks[0] == 0
    np.testing.assert_array_equal(clicks, np.arange(0, 2 * BAR, BEAT))
    assert done.native_bpm == pytest.approx(120.0)


def test_pad_goes_queued_then_recording_then_plays_its_take_on_the_bar(make_engine):
    rig = Rig(make_engine(), clicks_every_beat(0))
    rig.run_until(1000)
    rig.engine.post(c.ArmRecord(0, buffer_of(20), bars=1))
    rig.run_until(4 * BAR)
    assert rig.pad_states(0) == [(PadState.QUEUED, 1000), (PadState.RECORDING, 2 * BAR), (PadState.PLAYING, 3 * BAR)]
    pad = rig.engine.pads[0]
    assert pad.playing and pad.audio is rig.done().audio


def test_the_count_in_clicks_with_the_metronome_off_and_stops_on_the_downbeat(make_engine):
    rig = Rig(make_engine(), lambda first, frames: np.zeros((frames, 2), np.float32))
    rig.run_until(BAR + 1000)
    rig.engine.post(c.ArmRecord(0, buffer_of(20), bars=1))       # nearly two bars of count-in
    rig.run_until(4 * BAR)
    out = rig.output()[:, 0]
    assert not out[:BAR + 1000].any()
    count_in = np.convolve(np.abs(out[:3 * BAR + 2000]), np.ones(200), "same") > 1e-2
    onsets = np.flatnonzero(count_in[1:] & ~count_in[:-1]) + 1
    assert len(onsets) == 7                                # beats 2-4 of bar 1 and all of bar 2
    assert abs(onsets[-1] - (3 * BAR - BEAT)) < 300
    assert not np.abs(out[3 * BAR - BEAT + 2000:4 * BAR]).max() > 1e-4    # the take itself has no clicks


def test_an_open_take_stops_on_the_bar_just_passed_when_pressed_late(make_engine):
    rig = Rig(make_engine(), clicks_every_beat(0))
    rig.engine.post(c.ArmRecord(5, buffer_of(30), bars=0))
    rig.run_until(3 * BAR + BAR // 10)                       # recording since bar 1; two bars and a tenth
    rig.engine.post(c.PressPad(5))                           # a press of the recording pad ends it
    rig.run_until(6 * BAR)
    done = rig.done()
    assert done.bars == 2 and len(done.audio) == 2 * BAR and done.end_frame == 3 * BAR
    pad = rig.engine.pads[5]
    assert pad.playing
    assert pad.playhead.position_at(rig.engine.frame) == pytest.approx((rig.engine.frame - 3 * BAR) % (2 * BAR))


def test_an_open_take_stops_on_the_next_bar_otherwise(make_engine):
    rig = Rig(make_engine(), clicks_every_beat(0))
    rig.engine.post(c.ArmRecord(5, buffer_of(30)))
    rig.run_until(2 * BAR + BAR // 2)
    rig.engine.post(c.StopRecord())
    rig.run_until(5 * BAR)
    done = rig.done()
    assert done.bars == 2 and done.end_frame == 3 * BAR


def test_a_take_that_fills_its_buffer_ends_on_the_last_whole_bar(make_engine):
    rig = Rig(make_engine(), clicks_every_beat(0))
    rig.engine.post(c.ArmRecord(2, buffer_of(5.0)))             # 2.5 bars at 120 BPM
    rig.run_until(6 * BAR)
    done = rig.done()
    assert done.bars == 2 and len(done.audio) == 2 * BAR


def test_stopping_during_the_count_in_cancels_and_leaves_the_pad_empty(make_engine):
    rig = Rig(make_engine(), clicks_every_beat(0))
    buffer = buffer_of(10)
    rig.engine.post(c.ArmRecord(1, buffer))
    rig.run_until(BAR // 2)
    rig.engine.post(c.PressPad(1))
    rig.run_until(3 * BAR)
    (cancelled,) = [e for e in rig.events if isinstance(e, RecordingCancelled)]
    assert cancelled.pad == 1 and cancelled.buffer is buffer
    assert rig.pad_states(1)[-1][0] == PadState.EMPTY
    assert not any(isinstance(e, RecordingDone) for e in rig.events)
    assert not np.abs(rig.output()[BAR + 2000:, 0]).max() > 1e-4     # no more count-in clicks


def test_arming_a_loaded_pad_is_refused_and_the_buffer_comes_back(make_engine):
    rig = Rig(make_engine(), clicks_every_beat(0))
    rig.engine.post(c.LoadPad(4, np.full((BAR, 2), 0.1, np.float32), 120.0))
    buffer = buffer_of(10)
    rig.engine.post(c.ArmRecord(4, buffer))
    rig.run_until(512)
    (cancelled,) = [e for e in rig.events if isinstance(e, RecordingCancelled)]
    assert cancelled.buffer is buffer and rig.engine.pads[4].state == PadState.LOADED


def test_loading_the_pad_replaces_the_take_and_releases_it(make_engine):
    rig = Rig(make_engine(), clicks_every_beat(0))
    rig.engine.post(c.ArmRecord(0, buffer_of(10), bars=1))
    rig.run_until(3 * BAR)
    take = rig.done().audio
    rig.engine.post(c.LoadPad(0, np.full((BAR, 2), 0.1, np.float32), 120.0))
    rig.run_until(3 * BAR + 4096)
    assert any(isinstance(e, BufferReleased) and e.audio is take for e in rig.events)
    assert rig.engine.pads[0].playing                      # carried on in phase with the new audio


def test_bad_arm_commands_are_refused_on_the_control_thread(make_engine):
    engine = make_engine()
    with pytest.raises(ValueError, match="recording buffer"):
        engine.post(c.ArmRecord(0, np.zeros((100, 1), np.float32)))
    with pytest.raises(ValueError, match="bars"):
        engine.post(c.ArmRecord(0, buffer_of(1), bars=-1))
    with pytest.raises(ValueError, match="latency"):
        engine.post(c.ArmRecord(0, buffer_of(1), latency_frames=10**6))
