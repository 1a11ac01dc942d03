"""The editor keeps the engine's song equal to what ``compile.py`` makes of the live project."""

import numpy as np
import pytest
import soundfile

from groovebox.control import editor as editor_module
from groovebox.control.editor import (
    AddClip,
    AddTrack,
    AssignPad,
    Editor,
    LoopInfo,
    MoveClip,
    Origin,
    RemoveTrack,
    ResizeClip,
    SetBpm,
    SetClipMix,
    SetTrackMute,
    SetTrackSolo,
    SetTrackVolume,
    TrimClip,
)
from groovebox.engine import Engine, SongState, Status
from groovebox.engine import commands as c
from groovebox.project.compile import compile_project, session_commands
from groovebox.project.model import Project

SR = 48000


@pytest.fixture
def library(tmp_path):
    folder = tmp_path / "library"
    folder.mkdir()
    soundfile.write(folder / "kick.flac", np.full((SR, 2), 0.25, np.float32), SR, subtype="PCM_24")
    soundfile.write(folder / "bass.flac", np.full((SR * 3 // 2, 2), 0.125, np.float32), SR, subtype="PCM_24")
    return folder


@pytest.fixture
def decodes(monkeypatch):
    calls = []
    real = editor_module.load_audio
    monkeypatch.setattr(editor_module, "load_audio", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    return calls


def song_view(engine):
    """What the engine's song plays: per track its mix, per clip its placement, region, tempo, mix and audio."""
    engine.render(np.zeros((256, 2), np.float32), 256)
    song = engine.song
    arrangement = song.arrangement
    clips = [(arrangement.clip_track[i], arrangement.clip_start_beat[i], arrangement.clip_end_beat[i],
              arrangement.clip_region_start[i], arrangement.clip_region_frames[i], arrangement.clip_native_bpm[i],
              repr(arrangement.clip_volume[i]), repr(arrangement.clip_pan[i]),
              (len(arrangement.clip_audio[i]), round(float(arrangement.clip_audio[i][:, 0].mean()), 5)))
             for i in range(len(arrangement.clip_track))]
    return [(v.volume, v.pan, v.muted, v.soloed) for v in song.voices], sorted(clips)


def reference_view(project, library, loop_bpm=None):
    engine = Engine(pads=16)
    for command in session_commands(compile_project(project, None, library, loop_bpm=loop_bpm)):
        engine.post(command)
    return song_view(engine)


def make_editor(library, project=None, **kwargs):
    engine = Engine(pads=16)
    posted = []

    def post(command):
        posted.append(command)
        engine.post(command)
    return Editor(project or Project(), post, library_dir=library, pad_count=16, **kwargs), engine, posted


EDITS = [AddTrack("Drums", track_id="t1"), AddClip("t1", loop_id="kick", start_bar=0, duration_bars=2.0, clip_id="a"),
         AddTrack("Bass", track_id="t2"), AddClip("t2", loop_id="bass", start_bar=1, duration_bars=3.0, clip_id="b"),
         SetTrackVolume("t1", 0.4), SetTrackMute("t2", True), SetTrackSolo("t1", True), MoveClip("t1", "a", 4),
         ResizeClip("t2", "b", 1.5), TrimClip("t2", "b", 0.25, 1.0), SetClipMix("t1", "a", 0.5, -0.3),
         MoveClip("t2", "b", 2, to_track_id="t1"), SetBpm(100.0), RemoveTrack("t2")]


def test_every_song_edit_undo_and_redo_leaves_the_engine_playing_the_project(library):
    editor, engine, _ = make_editor(library)
    views = [song_view(engine)]
    for edit in EDITS:
        editor.apply(edit)
        views.append(song_view(engine))
        assert views[-1] == reference_view(editor.project, library), edit
    assert views[-2] != views[-1] and views[1] != views[0]
    for view in reversed(views[:-1]):
        editor.undo()
        assert song_view(engine) == view
    for view in views[1:]:
        editor.redo()
        assert song_view(engine) == view


def test_mix_edits_glide_instead_of_resending_the_song(library):
    editor, engine, posted = make_editor(library)
    for edit in EDITS[:4]:
        editor.apply(edit)
    posted.clear()
    editor.apply(SetTrackVolume("t2", 0.3))
    editor.apply(SetTrackMute("t1", True))
    assert posted == [c.SetTrackMix(1, 0.3, 0.0, False, False), c.SetTrackMix(0, 0.8, 0.0, True, False)]
    assert song_view(engine) == reference_view(editor.project, library)


def test_clips_share_decoded_audio_with_pads_and_each_other(library, decodes):
    editor, _, posted = make_editor(library)
    editor.apply(AssignPad(0, loop_id="kick"))
    editor.apply(AddTrack("A", track_id="t1"))
    editor.apply(AddClip("t1", loop_id="kick", start_bar=0, clip_id="x"))
    editor.apply(AddClip("t1", loop_id="kick", start_bar=2, clip_id="y"))
    assert len(decodes) == 1
    song, load = posted[-1], next(command for command in posted if isinstance(command, c.LoadPad))
    assert song.clips[0].audio is song.clips[1].audio is load.audio


def test_a_library_tempo_makes_clips_follow_the_project_tempo(library):
    def loop_info(loop_id):
        return LoopInfo(loop_id, 90.0 if loop_id == "bass" else None)
    editor, engine, _ = make_editor(library, loop_info=loop_info)
    for edit in EDITS[:4]:
        editor.apply(edit)
    song_view(engine)
    natives = dict(zip(engine.song.arrangement.clip_start_beat, engine.song.arrangement.clip_native_bpm))
    assert natives == {0.0: 0.0, 4.0: 90.0}
    assert song_view(engine) == reference_view(editor.project, library, loop_bpm=lambda i: loop_info(i).bpm)


def test_opening_a_project_sends_its_song_and_leaves_out_clips_without_audio(library):
    editor, engine, _ = make_editor(library)
    project = Project.model_validate({"tracks": [
        {"trackId": "t1", "clips": [{"clipId": "ok", "loopId": "kick", "startBar": 1},
                                    {"clipId": "gone", "loopId": "missing", "startBar": 3}]}]})
    editor.load(project, Origin())
    assert any("clip gone" in warning for warning in editor.warnings)
    voices, clips = song_view(engine)
    assert len(voices) == 1 and [clip[1] for clip in clips] == [4.0]
    engine.post(c.SongPlay(quantized=False))
    engine.render(np.zeros((256, 2), np.float32), 256)
    assert engine.status[Status.SONG_STATE] == SongState.PLAYING


def test_a_session_started_by_the_editor_includes_the_song(library):
    project = Project.model_validate({"tracks": [{"clips": [{"loopId": "bass", "startBar": 2}]}]})
    _, engine, posted = make_editor(library, project=project)
    assert isinstance(posted[-1], c.SetSong)
    assert song_view(engine) == reference_view(project, library)
