import mido
import pytest

from groovebox.project.performance import (
    PadAction,
    PerformanceError,
    beat_to_frame,
    parse_performance,
    read_performance,
    write_performance,
)


def _save(path, tracks, ticks_per_beat=480, midi_type=1):
    """Write tracks given as lists of (delta_ticks, message) pairs."""
    midi = mido.MidiFile(type=midi_type, ticks_per_beat=ticks_per_beat)
    for events in tracks:
        midi.tracks.append(mido.MidiTrack(message.copy(time=delta) for delta, message in events))
    midi.save(path)
    return path


def _on(note, velocity=100, channel=9):
    return mido.Message("note_on", note=note, velocity=velocity, channel=channel)


def _off(note, velocity=0, channel=9):
    return mido.Message("note_off", note=note, velocity=velocity, channel=channel)


@pytest.mark.parametrize("ticks_per_beat", [480, 96])
def test_ticks_become_frames_at_the_project_tempo(tmp_path, ticks_per_beat):
    path = _save(tmp_path / "p.mid", [[
        (0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(60))),  # ignored: the project tempo rules
        (0, _on(36, 127)),
        (ticks_per_beat, _off(36)),                    # beat 1
        (ticks_per_beat // 2, _on(51, 64)),            # beat 1.5
        (ticks_per_beat * 4 + ticks_per_beat // 2, _off(51)),  # beat 6
    ]], ticks_per_beat=ticks_per_beat)
    assert read_performance(path, bpm=120) == [
        PadAction(0, 0, True, 1.0),
        PadAction(24000, 0, False, 0.0),
        PadAction(36000, 15, True, 64 / 127),
        PadAction(144000, 15, False, 0.0),
    ]
    assert [a.at_frame for a in read_performance(path, bpm=90, sample_rate=44100)] == [0, 29400, 44100, 176400]


def test_velocity_zero_note_on_is_a_release(tmp_path):
    path = _save(tmp_path / "p.mid", [[(0, _on(40, 90)), (240, _on(40, 0))]])
    assert read_performance(path, bpm=120) == [PadAction(0, 4, True, 90 / 127), PadAction(12000, 4, False, 0.0)]


def test_note_off_keeps_its_release_velocity(tmp_path):
    path = _save(tmp_path / "p.mid", [[(0, _on(37)), (480, _off(37, velocity=127))]])
    assert read_performance(path, bpm=120)[1] == PadAction(24000, 1, False, 1.0)


def test_other_notes_and_messages_are_ignored_and_counted(tmp_path):
    path = _save(tmp_path / "p.mid", [[
        (0, mido.MetaMessage("track_name", name="drums")),
        (0, _on(35)), (0, _on(100)), (0, _off(110)),
        (0, mido.Message("control_change", control=7, value=100)),
        (0, mido.Message("pitchwheel", pitch=100)),
        (0, mido.Message("sysex", data=[1, 2, 3])),
        (0, _on(38, channel=0)),  # pads answer on every channel
        (960, mido.MetaMessage("end_of_track")),
    ]])
    performance = parse_performance(path, bpm=120)
    assert performance.actions == (PadAction(0, 2, True, 100 / 127),)
    assert (performance.ignored_notes, performance.ignored_messages) == (3, 3)
    assert performance.end_frame == 48000


def test_tracks_are_merged_in_time_then_file_order(tmp_path):
    path = _save(tmp_path / "p.mid", [
        [(0, mido.MetaMessage("set_tempo", tempo=500000))],
        [(480, _on(36)), (480, _off(36))],
        [(0, _on(37)), (480, _on(38)), (960, _off(38))],
    ])
    actions = read_performance(path, bpm=120)
    assert [(a.at_frame, a.pad, a.pressed) for a in actions] == [
        (0, 1, True), (24000, 0, True), (24000, 2, True), (48000, 0, False), (72000, 2, False),
    ]
    assert parse_performance(path, bpm=120).end_frame == 72000


def test_rounding_to_the_nearest_frame(tmp_path):
    # one tick at 480 tpb and 127 bpm is 47.24... frames; 3 ticks 141.73 -> 142
    assert beat_to_frame(1 / 480, 127, 48000) == 47
    assert beat_to_frame(3 / 480, 127, 48000) == 142
    assert beat_to_frame(0.5 / 48000 * 2, 120, 48000) == 0  # exactly half a frame rounds to even
    assert beat_to_frame(1.5 / 48000 * 2, 120, 48000) == 2


def test_write_then_read_round_trip(tmp_path):
    path = tmp_path / "perf.mid"
    write_performance(path, [
        (4.0, 3, False, 0.0),
        (0.0, 3, True, 1.0),
        (2.0, 15, True, 0.5),
        (2.0, 15, False, 0.0),
        (0.001, 0, True, 0.0),  # a press is never velocity 0: that would be a release
    ], ticks_per_beat=96, tempo_bpm=100)
    assert mido.MidiFile(path).ticks_per_beat == 96
    assert read_performance(path, bpm=120) == [
        PadAction(0, 3, True, 1.0),
        PadAction(0, 0, True, 1 / 127),
        PadAction(48000, 15, True, 64 / 127),
        PadAction(48000, 15, False, 0.0),
        PadAction(96000, 3, False, 0.0),
    ]


def test_write_rejects_bad_pads_and_negative_beats(tmp_path):
    with pytest.raises(ValueError, match="pad must be 0-63"):
        write_performance(tmp_path / "p.mid", [(0.0, 64, True, 1.0)])
    with pytest.raises(ValueError, match="negative beat"):
        write_performance(tmp_path / "p.mid", [(-1.0, 0, True, 1.0)])


@pytest.mark.parametrize("content", [b"", b"not a midi file at all", b"MThd\x00\x00\x00\x06\x00\x01"])
def test_a_file_that_is_not_midi_is_a_clear_error(tmp_path, content):
    path = tmp_path / "song.mid"
    path.write_bytes(content)
    with pytest.raises(PerformanceError, match="song.mid: not a readable MIDI file"):
        read_performance(path, bpm=120)


def test_missing_file(tmp_path):
    with pytest.raises(PerformanceError, match="gone.mid: file not found"):
        read_performance(tmp_path / "gone.mid", bpm=120)
