"""Recording a pad performance into the song: clips where and as long as pads played, one undo step."""

import numpy as np
import pytest
import soundfile

from groovebox.control.editor import AddClip, AddTrack, AssignPad, Editor, SetPadName
from groovebox.control.session import Session, SessionInfo
from groovebox.control.songrecorder import SongRecorder, SongRecordError, song_end_bar
from groovebox.engine import Engine
from groovebox.engine import commands as c
from groovebox.hw import OfflineBackend
from groovebox.project.model import Project

SR = 48000
BAR = 2 * SR            # 120 BPM


@pytest.fixture
def rig(tmp_path):
    library = tmp_path / "library"
    library.mkdir()
    for name, level in (("kick", 0.25), ("bass", 0.125)):
        soundfile.write(library / f"{name}.flac", np.full((BAR, 2), level, np.float32), SR, subtype="PCM_24")
    engine = Engine(pads=16)
    session = Session(engine, OfflineBackend(), SessionInfo("offline", SR, 256))
    editor = Editor(Project(), session.post, library_dir=library, pad_count=16)
    editor.apply(AssignPad(pad_index=0, loop_id="kick"))
    editor.apply(SetPadName(0, "Kick"))
    editor.apply(AssignPad(pad_index=1, loop_id="bass"))
    recorder = SongRecorder(session, editor)
    session.event_listeners.append(recorder.on_event)
    return session, editor, recorder


def play_until(session, frame):
    while session.engine.frame < frame:
        session.engine.render(np.zeros((1024, 2), np.float32), 1024)
        session.poll()


def test_a_performance_becomes_tracks_of_clips_in_one_undo_step(rig):
    session, editor, recorder = rig
    session.press(0)                                  # the kick plays from frame 0 (on the grid already)
    play_until(session, BAR // 2)
    recorder.start()                                  # take bar 0 = engine bar 0
    play_until(session, BAR + BAR // 3)
    session.press(1)                                  # bass from bar 2 ...
    play_until(session, 3 * BAR + 100)
    session.press(0)                                  # kick stops at bar 4
    play_until(session, 4 * BAR + BAR // 2)
    session.press(1)                                  # ... bass stops at bar 5
    play_until(session, 5 * BAR + BAR // 2)
    before = editor.project
    summary = recorder.stop()
    assert summary["tracksAdded"] == 2 and summary["clipsAdded"] == 2 and not recorder.recording
    kick, bass = editor.project.tracks
    assert kick.track_name == "Kick" and bass.track_name == "pad 2"
    assert [(clip.loop_id, clip.start_bar, clip.duration_bars) for clip in kick.clips] == [("kick", 0, 4.0)]
    assert [(clip.loop_id, clip.start_bar, clip.duration_bars) for clip in bass.clips] == [("bass", 2, 3.0)]
    editor.undo()
    assert editor.project == before


def test_a_pad_playing_when_recording_starts_and_still_playing_at_the_end_spans_the_take(rig):
    session, editor, recorder = rig
    session.press(0)
    play_until(session, BAR + 1000)                    # playing since bar 1
    recorder.start()                                   # take bar 0 = engine bar 1
    play_until(session, 3 * BAR + BAR // 2)
    recorder.stop()
    (track,) = editor.project.tracks
    (clip,) = track.clips
    assert clip.start_bar == 0 and clip.duration_bars == pytest.approx(2.5, abs=0.02)


def test_a_take_goes_after_the_song_that_is_there(rig):
    session, editor, recorder = rig
    editor.apply(AddTrack("intro", track_id="t"))
    editor.apply(AddClip("t", loop_id="bass", start_bar=2, duration_bars=5.5))
    assert song_end_bar(editor.project) == 8
    recorder.start()
    session.press(1)
    play_until(session, 2 * BAR + 10)
    recorder.stop()
    assert editor.project.tracks[-1].clips[0].start_bar == 8


def test_stopping_without_a_take_or_starting_twice_is_refused(rig):
    _, editor, recorder = rig
    with pytest.raises(SongRecordError, match="not being recorded"):
        recorder.stop()
    recorder.start()
    with pytest.raises(SongRecordError, match="already"):
        recorder.start()
    assert recorder.stop()["tracksAdded"] == 0 and editor.project.tracks == []


def test_only_pads_with_loops_are_recorded(rig):
    session, editor, recorder = rig
    session.post(c.LoadPad(5, np.full((BAR, 2), 0.1, np.float32), 120.0))      # audio the project does not hold
    recorder.start()
    session.press(5)
    play_until(session, 2 * BAR)
    summary = recorder.stop()
    assert summary["tracksAdded"] == 0 and "pad 5" in summary["notes"][0]
