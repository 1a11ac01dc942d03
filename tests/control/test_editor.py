"""The live project editor against a real engine: every edit applies, undoes and redoes, in the project and
in what the engine plays (compared with a fresh engine loaded from the same project by ``compile.py``)."""

import numpy as np
import pytest
import soundfile

from groovebox.control import editor as editor_module
from groovebox.control.editor import (
    AddClip,
    AddTrack,
    AssignPad,
    ClearAllPads,
    ClearPad,
    EditError,
    Editor,
    LoopInfo,
    MoveClip,
    Origin,
    RemoveClip,
    RemoveTrack,
    RenameTrack,
    ReplaceProject,
    ResizeClip,
    SetBpm,
    SetClipMix,
    SetMasterVolume,
    SetMetronome,
    SetPadChokeGroup,
    SetPadLaunchMode,
    SetPadName,
    SetPadNativeBpm,
    SetPadPan,
    SetPadQuantize,
    SetPadRegion,
    SetPadVolume,
    SetQuantize,
    SetTrackMute,
    SetTrackPan,
    SetTrackSolo,
    SetTrackVolume,
    TrimClip,
)
from groovebox.control.projects import ProjectStore
from groovebox.engine import Engine, PadState
from groovebox.engine import commands as c
from groovebox.project.compile import compile_project, session_commands
from groovebox.project.model import Pad, Project

SR = 48000
PADS = 16


@pytest.fixture
def library(tmp_path):
    """A library folder with two loops of different length and level, plus a loose WAV file."""
    folder = tmp_path / "library"
    folder.mkdir()
    soundfile.write(folder / "kick.flac", np.full((SR, 2), 0.25, np.float32), SR, subtype="PCM_24")
    soundfile.write(folder / "bass.flac", np.full((SR * 3 // 2, 2), 0.125, np.float32), SR, subtype="PCM_24")
    soundfile.write(tmp_path / "file.wav", np.full((SR // 2, 2), 0.5, np.float32), SR, subtype="FLOAT")
    return folder


class Decodes:
    def __init__(self):
        self.count = 0


@pytest.fixture
def decodes(monkeypatch):
    counter = Decodes()
    real = editor_module.load_audio

    def counting(*args, **kwargs):
        counter.count += 1
        return real(*args, **kwargs)
    monkeypatch.setattr(editor_module, "load_audio", counting)
    return counter


def make_editor(library, project=None, **kwargs):
    engine = Engine(pads=PADS)
    posted = []

    def post(command):
        posted.append(command)
        engine.post(command)
    editor = Editor(project or Project(), post, library_dir=library, pad_count=PADS, **kwargs)
    return editor, engine, posted


def engine_view(engine):
    """What the engine plays: settings and, per pad, its audio (length, level), region, mix and launch."""
    engine.render(np.zeros((256, 2), np.float32), 256)
    pads = []
    for pad in engine.pads:
        if pad.audio is None:
            pads.append(None)
            continue
        pads.append(((len(pad.audio), round(float(pad.audio[:, 0].mean()), 5)), pad.region_start, pad.region_frames,
                     pad.native_bpm, pad.volume, pad.pan, int(pad.launch_mode), pad.choke_group, pad.quantize))
    return (engine.clock.tempo_bpm, int(engine.quantize), engine.master.volume_target, engine.metronome.enabled,
            pads)


def reference_view(project, library):
    """The view of a fresh engine given ``project`` the way the daemon loads one at start-up."""
    engine = Engine(pads=PADS)
    for command in session_commands(compile_project(project, None, library)):
        engine.post(command)
    return engine_view(engine)


SETUP = [AssignPad(0, loop_id="kick"), AddTrack("Drums", track_id="t1"),
         AddClip("t1", loop_id="kick", start_bar=0, duration_bars=2.0, clip_id="c1"), AddTrack("Bass", track_id="t2")]

# (edit, engine commands it posts, check of the new project)
CASES = {
    "bpm": (SetBpm(128.0), [c.SetTempo], lambda p: p.bpm == 128.0),
    "master volume": (SetMasterVolume(0.5), [c.SetMaster], lambda p: p.master_volume == 0.5),
    "quantize": (SetQuantize("1/4"), [c.SetQuantize], lambda p: p.quantize_grid == "1/4"),
    "metronome": (SetMetronome(True), [c.SetMetronome], lambda p: p.metronome),
    "assign empty pad": (AssignPad(1, loop_id="bass"), [c.LoadPad], lambda p: p.pad_at(1).loop_id == "bass"),
    "replace pad loop": (AssignPad(0, loop_id="bass"), [c.LoadPad], lambda p: p.pad_at(0).loop_id == "bass"),
    "assign file": (AssignPad(2, audio_path="FILE"), [c.LoadPad],
                    lambda p: p.pad_at(2).audio_path.endswith("file.wav")),
    "clear pad": (ClearPad(0), [c.UnloadPad], lambda p: p.pad_at(0) is None),
    "clear all pads": (ClearAllPads(), [c.UnloadPad], lambda p: p.pads == []),
    "pad volume": (SetPadVolume(0, 0.3), [c.SetPadMix], lambda p: p.pad_at(0).volume == 0.3),
    "pad pan": (SetPadPan(0, -0.5), [c.SetPadMix], lambda p: p.pad_at(0).pan == -0.5),
    "pad launch mode": (SetPadLaunchMode(0, "oneShot"), [c.LoadPad], lambda p: p.pad_at(0).launch_mode == "oneShot"),
    "pad region": (SetPadRegion(0, 0.25, 0.5), [c.SetPadRegion],
                   lambda p: p.pad_at(0).loop_start_offset_seconds == 0.25
                   and p.pad_at(0).loop_end_offset_seconds == 0.5),
    "pad name": (SetPadName(0, "Kick"), [], lambda p: p.pad_at(0).pad_name == "Kick"),
    "pad choke group": (SetPadChokeGroup(0, 2), [c.LoadPad], lambda p: p.pad_at(0).choke_group == 2),
    "pad quantize": (SetPadQuantize(0, "1/8"), [c.LoadPad], lambda p: p.pad_at(0).quantize == "1/8"),
    "pad native bpm": (SetPadNativeBpm(0, 90.0), [c.LoadPad], lambda p: p.pad_at(0).native_bpm == 90.0),
    "add track": (AddTrack("Keys", track_id="t3"), [c.SetSong], lambda p: [t.track_name for t in p.tracks][-1] == "Keys"),
    "remove track": (RemoveTrack("t1"), [c.SetSong], lambda p: [t.track_id for t in p.tracks] == ["t2"]),
    "rename track": (RenameTrack("t1", "Beats"), [], lambda p: p.tracks[0].track_name == "Beats"),
    "track mute": (SetTrackMute("t1", True), [c.SetTrackMix], lambda p: p.tracks[0].is_muted),
    "track solo": (SetTrackSolo("t2", True), [c.SetTrackMix], lambda p: p.tracks[1].is_soloed),
    "track volume": (SetTrackVolume("t1", 0.4), [c.SetTrackMix], lambda p: p.tracks[0].volume == 0.4),
    "track pan": (SetTrackPan("t1", 0.7), [c.SetTrackMix], lambda p: p.tracks[0].pan == 0.7),
    "add clip": (AddClip("t2", loop_id="bass", start_bar=4, duration_bars=2.0), [c.SetSong],
                 lambda p: p.tracks[1].clips[0].start_bar == 4),
    "move clip": (MoveClip("t1", "c1", 8), [c.SetSong], lambda p: p.tracks[0].clips[0].start_bar == 8),
    "move clip to track": (MoveClip("t1", "c1", 2, to_track_id="t2"), [c.SetSong],
                           lambda p: p.tracks[0].clips == [] and p.tracks[1].clips[0].clip_id == "c1"),
    "resize clip": (ResizeClip("t1", "c1", 4.0), [c.SetSong], lambda p: p.tracks[0].clips[0].duration_bars == 4.0),
    "trim clip": (TrimClip("t1", "c1", 0.1, 0.5), [c.SetSong],
                  lambda p: p.tracks[0].clips[0].end_offset_in_loop_seconds == 0.5),
    "clip mix": (SetClipMix("t1", "c1", 0.5, 0.2), [c.SetSong], lambda p: p.tracks[0].clips[0].volume_override == 0.5),
    "remove clip": (RemoveClip("t1", "c1"), [c.SetSong], lambda p: p.tracks[0].clips == []),
    "replace project": (ReplaceProject(Project(bpm=90.0, pads=[Pad(pad_index=5, loop_id="bass", volume=0.5)])),
                        [c.SetTempo, c.UnloadPad, c.LoadPad, c.SetSong], lambda p: p.bpm == 90.0 and p.pad_at(5) is not None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_edit_applies_undoes_and_redoes_in_the_project_and_the_engine(case, library, tmp_path):
    edit, expected_commands, check = CASES[case]
    if getattr(edit, "audio_path", None) == "FILE":
        edit = AssignPad(edit.pad_index, audio_path=str(tmp_path / "file.wav"))
    editor, engine, posted = make_editor(library)
    for setup in SETUP:
        editor.apply(setup)
    before = editor.project
    before_view = engine_view(engine)
    assert before_view == reference_view(before, library)
    posted.clear()

    after = editor.apply(edit)
    assert after != before and editor.project == after and check(after)
    assert [type(command) for command in posted] == expected_commands
    assert engine_view(engine) == reference_view(after, library)

    assert editor.undo() == before and editor.project == before
    assert engine_view(engine) == before_view
    assert editor.redo() == after and editor.project == after
    assert engine_view(engine) == reference_view(after, library)


def test_cheap_edits_reuse_the_decoded_audio(library, decodes):
    editor, _, posted = make_editor(library)
    editor.apply(AssignPad(0, loop_id="kick"))
    assert decodes.count == 1
    loaded = posted[-1].audio
    for edit in (SetPadLaunchMode(0, "gate"), SetPadRegion(0, 0.5), SetPadVolume(0, 0.1), ClearPad(0)):
        editor.apply(edit)
    editor.undo()                                   # the pad comes back without decoding again
    assert decodes.count == 1
    assert isinstance(posted[-1], c.LoadPad) and posted[-1].audio is loaded
    editor.apply(AssignPad(1, loop_id="bass"))
    assert decodes.count == 2


def test_a_playing_pad_keeps_playing_through_mix_and_launch_edits(library):
    editor, engine, _ = make_editor(library, Project(quantize_grid="off"))
    editor.apply(AssignPad(0, loop_id="kick"))
    engine.post(c.PressPad(0))
    engine_view(engine)
    assert engine.pads[0].state == PadState.PLAYING
    editor.apply(SetPadVolume(0, 0.2))
    editor.apply(SetPadLaunchMode(0, "trigger"))
    engine_view(engine)
    assert engine.pads[0].state == PadState.PLAYING and engine.pads[0].volume == 0.2
    editor.apply(ClearPad(0))
    engine_view(engine)
    assert engine.pads[0].state == PadState.EMPTY


def test_a_failed_edit_changes_nothing(library):
    editor, _, posted = make_editor(library)
    editor.apply(AssignPad(0, loop_id="kick"))
    before, history = editor.project, editor.describe()
    posted.clear()
    bad_edits = [AssignPad(1, loop_id="missing"), SetPadRegion(0, 5.0), SetPadVolume(0, 1.5), SetPadVolume(99, 0.5),
                 AssignPad(2, audio_path="relative.wav"), SetBpm(1000.0), RemoveTrack("nope"),
                 AddClip("nope", loop_id="kick"), SetPadLaunchMode(0, "sideways")]
    for edit in bad_edits:
        with pytest.raises(EditError):
            editor.apply(edit)
    assert editor.project == before and editor.describe() == history and posted == []


def test_an_error_names_what_is_wrong(library):
    editor, _, _ = make_editor(library)
    with pytest.raises(EditError, match="loop 'missing' is not in the library"):
        editor.apply(AssignPad(1, loop_id="missing"))
    with pytest.raises(EditError, match="less than or equal to 1"):
        editor.apply(SetMasterVolume(2.0))
    with pytest.raises(EditError, match="pad 70 does not exist"):
        editor.apply(SetPadPan(70, 0.0))


class FakeClock:
    def __init__(self):
        self.now_s = 100.0

    def __call__(self):
        return self.now_s


def test_a_fader_sweep_is_one_undo_step(library):
    clock = FakeClock()
    editor, engine, _ = make_editor(library, clock=clock)
    editor.apply(AssignPad(0, loop_id="kick"))
    original = editor.project
    for volume in (0.7, 0.6, 0.5, 0.4):
        clock.now_s += 0.2
        editor.apply(SetPadVolume(0, volume))
    clock.now_s += 5.0
    editor.apply(SetPadVolume(0, 0.1))          # a later, separate move
    editor.undo()
    assert editor.project.pad_at(0).volume == 0.4
    editor.undo()
    assert editor.project == original
    assert engine_view(engine) == reference_view(original, library)


def test_history_is_bounded_and_a_new_edit_clears_redo(library):
    clock = FakeClock()
    editor, _, _ = make_editor(library, clock=clock, history_limit=5)
    for step in range(8):
        clock.now_s += 2.0
        editor.apply(SetBpm(100.0 + step))
    undone = 0
    while editor.undo() is not None:
        undone += 1
    assert undone == 5 and editor.project.bpm == 102.0
    editor.redo()
    editor.apply(SetMetronome(True))
    assert not editor.can_redo and editor.redo() is None


def test_tempo_changes_keep_loops_without_a_native_tempo_in_step(library, tmp_path):
    file = str(tmp_path / "file.wav")
    editor, engine, _ = make_editor(library, Project(bpm=120.0, pads=[Pad(pad_index=0, audio_path=file)]))
    editor.apply(SetBpm(100.0))
    assert editor.project.pad_at(0).native_bpm == 120.0      # pinned: the loop follows by varispeed
    assert engine.pads[0].native_bpm == 120.0 and engine_view(engine)[0] == 100.0
    assert engine_view(engine) == reference_view(editor.project, library)
    editor.undo()
    assert editor.project.pad_at(0).native_bpm is None


def test_assign_takes_the_native_tempo_from_the_library(library):
    editor, engine, _ = make_editor(library, loop_info=lambda loop_id: LoopInfo("Bass line", 90.0))
    editor.apply(AssignPad(3, loop_id="bass"))
    assert editor.project.pad_at(3).native_bpm == 90.0
    engine_view(engine)
    assert engine.pads[3].native_bpm == 90.0


def test_relative_audio_paths_become_absolute_against_the_project_file(library, tmp_path):
    project = Project(pads=[Pad(pad_index=0, audio_path="file.wav")])
    editor, engine, _ = make_editor(library, project, origin=Origin(project_file=tmp_path / "song.json"))
    assert editor.project.pad_at(0).audio_path == str(tmp_path / "file.wav")
    assert engine_view(engine)[4][0][0] == (SR // 2, 0.5)
    editor.apply(AssignPad(1, audio_path="file.wav"))
    assert editor.project.pad_at(1).audio_path == str(tmp_path / "file.wav")


def test_listeners_hear_every_change(library):
    editor, _, _ = make_editor(library)
    heard = []
    editor.listeners.append(lambda change: heard.append((change.kind, change.label, change.project.bpm)))
    editor.apply(SetBpm(99.0))
    editor.apply(SetBpm(99.0))                   # no change: no notification
    editor.undo()
    editor.redo()
    editor.rename("Set one")
    assert heard == [("edit", "tempo", 99.0), ("undo", "tempo", 120.0), ("redo", "tempo", 99.0),
                     ("identity", "rename", 99.0)]


def test_load_replaces_the_project_reuses_loaded_pads_and_tolerates_missing_audio(library, decodes):
    editor, engine, posted = make_editor(library)
    editor.apply(AssignPad(0, loop_id="kick"))
    editor.apply(SetBpm(110.0))
    posted.clear()
    other = Project(project_name="Other", bpm=110.0,
                    pads=[Pad(pad_index=0, loop_id="kick", native_bpm=120.0), Pad(pad_index=1, loop_id="gone")])
    editor.load(other, Origin(stored_id=other.project_id))
    assert editor.project == other and not editor.can_undo and not editor.dirty
    assert posted == [] and decodes.count == 1            # pad 0 already plays that loop; pad 1 is missing
    assert editor.warnings == [f"pad 1: loop 'gone' is not in the library ({library})"]
    engine_view(engine)
    assert [pad.audio is not None for pad in engine.pads[:2]] == [True, False]


def test_saving_tracks_dirty_and_undo_keeps_the_saved_identity(library, tmp_path):
    store = ProjectStore(tmp_path / "data")
    editor, _, _ = make_editor(library)
    assert not editor.dirty
    editor.apply(SetBpm(140.0))
    assert editor.dirty
    saved = store.save_as(editor.project, "Night set")
    editor.mark_saved(saved)
    assert not editor.dirty and editor.origin.stored_id == saved.project_id
    assert editor.describe()["projectName"] == "Night set"
    editor.undo()
    assert editor.dirty and editor.project.bpm == 120.0
    assert (editor.project.project_id, editor.project.project_name) == (saved.project_id, "Night set")
    editor.redo()
    assert not editor.dirty
    with pytest.raises(ValueError):
        editor.mark_saved(saved.replace(bpm=60.0))


def test_a_loop_deleted_from_the_library_leaves_the_history_and_older_steps_still_undo(library):
    from groovebox.control.editor import RemoveLoop

    editor, _, _ = make_editor(library, spare_audio=0)     # it keeps no audio it does not play
    editor.apply(AssignPad(pad_index=0, loop_id="kick"))
    editor.apply(AssignPad(pad_index=1, loop_id="bass"))
    editor.apply(RemoveLoop("kick", "kick"))
    (library / "kick.flac").unlink()                       # deleted from the library after "remove loop"
    editor.forget_loop("kick")
    assert editor.undo() is not None                       # "assign bass" undoes; "assign kick" and "remove
    assert editor.project.pads == []                       #  loop kick" changed nothing else: gone
    assert editor.undo() is None
    assert editor.redo() is not None and [pad.loop_id for pad in editor.project.pads] == ["bass"]


def test_an_undo_whose_audio_vanished_is_dropped_instead_of_blocking_the_history(library):
    from groovebox.control.editor import EditError

    editor, _, _ = make_editor(library, spare_audio=0)
    editor.apply(SetBpm(100.0))
    editor.apply(AssignPad(pad_index=0, loop_id="kick"))
    editor.apply(ClearPad(0))
    (library / "kick.flac").unlink()                       # gone behind the editor's back
    with pytest.raises(EditError, match="dropped from the history"):
        editor.undo()
    assert editor.undo() is not None and editor.project.pads == []     # "assign pad" undoes
    assert editor.undo() is not None and editor.project.bpm == 120.0
