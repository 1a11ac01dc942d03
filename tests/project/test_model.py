import json
import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from groovebox.engine.commands import QUANTIZE_BEATS, LaunchMode, Quantize
from groovebox.project.model import (
    Clip,
    Pad,
    Project,
    ProjectError,
    Track,
    atomic_write_bytes,
    launch_mode_from_text,
    launch_mode_to_text,
    load_project,
    project_json_schema,
    quantize_from_text,
    quantize_to_text,
    resolve_audio_path,
    save_project,
)


def _document(**changes) -> dict:
    document = {
        "projectName": "Night set",
        "bpm": 124,
        "masterVolume": 0.7,
        "quantizeGrid": "1/4",
        "pads": [
            {"padIndex": 0, "audioPath": "loops/drums.flac", "padName": "Drums", "volume": 0.9, "pan": -0.25,
             "loopStartOffsetSeconds": 0.5, "loopEndOffsetSeconds": 4.5, "launchMode": "gate",
             "chokeGroup": 2, "nativeBpm": 120, "quantize": "1/16"},
            {"padIndex": 5, "loopId": "c0ffee"},
            {"padIndex": 7},
        ],
        "tracks": [
            {"trackId": "t1", "trackName": "Drums", "isMuted": True,
             "clips": [{"clipId": "c1", "loopId": "c0ffee", "startBar": 4, "durationBars": 2.5,
                        "endOffsetInLoopSeconds": 3.0, "volumeOverride": 0.5}]},
        ],
        "createdAt": "2024-05-01T20:15:00Z",
    }
    document.update(changes)
    return document


def _write(tmp_path: Path, document: dict | str, name: str = "song.json") -> Path:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def _load_error(tmp_path: Path, document: dict | str) -> str:
    path = _write(tmp_path, document)
    with pytest.raises(ProjectError) as caught:
        load_project(path)
    return str(caught.value)


def test_defaults():
    project = Project()
    assert (project.project_name, project.bpm, project.master_volume) == ("Untitled", 120.0, 0.8)
    assert (project.quantize_grid, project.beats_per_bar, project.metronome) == ("1 bar", 4, False)
    assert project.pads == [] and project.tracks == []
    assert len(project.project_id) == 32 and Project().project_id != project.project_id
    pad = Pad(pad_index=3)
    assert pad.is_empty and pad.volume == 0.8 and pad.launch_mode == "toggle" and pad.quantize is None


def test_load_reads_camel_case_fields(tmp_path):
    project = load_project(_write(tmp_path, _document()))
    drums = project.pad_at(0)
    assert drums.audio_path == "loops/drums.flac" and drums.loop_end_offset_seconds == 4.5
    assert drums.launch_mode == "gate" and drums.choke_group == 2 and drums.native_bpm == 120.0
    assert project.pad_at(5).loop_id == "c0ffee"
    assert project.pad_at(7).is_empty and project.pad_at(8) is None
    clip = project.tracks[0].clips[0]
    assert clip.start_bar == 4 and clip.duration_bars == 2.5 and clip.volume_override == 0.5
    assert project.created_at.year == 2024 and project.updated_at is None


@pytest.mark.parametrize("pad_change, expected", [
    ({"volume": 1.5}, "song.json: pads.2.volume: Input should be less than or equal to 1"),
    ({"pan": -2}, "pads.2.pan: Input should be greater than or equal to -1"),
    ({"padIndex": 64}, "pads.2.padIndex: Input should be less than or equal to 63"),
    ({"volume": "0.5"}, "pads.2.volume: Input should be a valid number"),
    ({"volme": 0.5}, "pads.2.volme: Extra inputs are not permitted"),
    ({"launchMode": "hold"}, "pads.2.launchMode: Input should be 'toggle', 'trigger', 'gate' or 'oneShot'"),
    ({"quantize": "1/3"}, "pads.2.quantize: Input should be 'off', '1/16'"),
    ({"chokeGroup": 17}, "pads.2.chokeGroup: Input should be less than or equal to 16"),
    ({"nativeBpm": 10}, "pads.2.nativeBpm: Input should be greater than or equal to 20"),
    ({"loopStartOffsetSeconds": -1}, "pads.2.loopStartOffsetSeconds: Input should be greater than or equal to 0"),
    ({"loopStartOffsetSeconds": 2, "loopEndOffsetSeconds": 2},
     "pads.2: Value error, loopEndOffsetSeconds (2.0) must be greater than loopStartOffsetSeconds (2.0)"),
    ({"loopId": "abc", "audioPath": "a.wav"}, "pads.2: Value error, a pad has loopId or audioPath, not both"),
    ({"loopId": "../etc"}, "pads.2.loopId: String should match pattern"),
])
def test_pad_errors_name_the_field_path(tmp_path, pad_change, expected):
    document = _document()
    document["pads"][2].update(pad_change)
    assert expected in _load_error(tmp_path, document)


@pytest.mark.parametrize("change, expected", [
    ({"bpm": 500}, "song.json: bpm: Input should be less than or equal to 400"),
    ({"bpm": float("nan")}, "bpm: Input should be a finite number"),
    ({"projectName": ""}, "projectName: String should have at least 1 character"),
    ({"quantizeGrid": "1/32"}, "quantizeGrid: Input should be 'off'"),
    ({"metronome": 1}, "metronome: Input should be a valid boolean"),
    ({"beatsPerBar": 0}, "beatsPerBar: Input should be greater than or equal to 1"),
    ({"pads": [{"padIndex": 1}, {"padIndex": 1}]}, "pads: Value error, duplicate padIndex 1"),
    ({"pads": [{"padIndex": i % 64} for i in range(65)]}, "pads: List should have at most 64 items"),
    ({"tracks": [{"clips": [{"clipId": "c", "startBar": 0}]}]},
     "tracks.0.clips.0: Value error, a clip needs exactly one of loopId or audioPath"),
    ({"tracks": [{"trackId": "a"}, {"trackId": "a"}]}, "tracks: Value error, duplicate trackId 'a'"),
    ({"createdAt": "yesterday"}, "createdAt: Input should be a valid datetime"),
])
def test_project_errors_name_the_field_path(tmp_path, change, expected):
    assert expected in _load_error(tmp_path, _document(**change))


def test_every_error_is_reported_on_its_own_line(tmp_path):
    source = tmp_path / "song.json"
    assert _load_error(tmp_path, _document(bpm=1, masterVolume=2)).splitlines() == [
        f"{source}: bpm: Input should be greater than or equal to 20",
        f"{source}: masterVolume: Input should be less than or equal to 1",
    ]


@pytest.mark.parametrize("text, expected", [
    ('{"bpm": 120,}', "Invalid JSON: trailing comma at line 1 column 13"),
    ("", "Invalid JSON: EOF while parsing"),
    ("[]", "song.json: Input should be an object"),
])
def test_malformed_json_names_the_file_and_position(tmp_path, text, expected):
    message = _load_error(tmp_path, text)
    assert message.startswith(str(tmp_path / "song.json")) and expected in message


def test_missing_file(tmp_path):
    with pytest.raises(ProjectError, match="nope.json: cannot read: No such file or directory"):
        load_project(tmp_path / "nope.json")


def test_round_trip_keeps_every_field(tmp_path):
    project = load_project(_write(tmp_path, _document()))
    save_project(project, tmp_path / "copy.json")
    assert load_project(tmp_path / "copy.json") == project
    saved = json.loads((tmp_path / "copy.json").read_text())
    assert saved["pads"][0]["loopStartOffsetSeconds"] == 0.5 and saved["tracks"][0]["clips"][0]["startBar"] == 4
    assert "loop_start_offset_seconds" not in (tmp_path / "copy.json").read_text()


def test_snake_case_names_build_the_same_model():
    by_alias = Pad.model_validate({"padIndex": 2, "loopEndOffsetSeconds": 1.0})
    assert Pad(pad_index=2, loop_end_offset_seconds=1.0) == by_alias


def test_models_are_frozen_and_replace_validates():
    project = Project(pads=[Pad(pad_index=0, loop_id="x")])
    with pytest.raises(ValidationError, match="frozen"):
        project.bpm = 90
    faster = project.replace(bpm=140, quantizeGrid="1/8")
    assert (faster.bpm, faster.quantize_grid, faster.project_id) == (140.0, "1/8", project.project_id)
    assert faster.pads[0] is project.pads[0] and project.bpm == 120.0
    with pytest.raises(ValidationError, match="duplicate padIndex"):
        project.replace(pads=[Pad(pad_index=0), Pad(pad_index=0)])
    with pytest.raises(ValidationError, match="must be greater than"):
        project.pads[0].replace(loop_start_offset_seconds=3.0, loop_end_offset_seconds=1.0)


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "song.json"
    save_project(Project(project_name="First"), path)
    path.chmod(0o600)
    save_project(Project(project_name="Second"), path)
    assert [p.name for p in tmp_path.iterdir()] == ["song.json"]
    assert load_project(path).project_name == "Second"
    assert path.stat().st_mode & 0o777 == 0o600


def test_failed_write_keeps_the_old_file_and_removes_the_temp(tmp_path, monkeypatch):
    path = tmp_path / "song.json"
    save_project(Project(project_name="Old"), path)

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        save_project(Project(project_name="New"), path)
    assert [p.name for p in tmp_path.iterdir()] == ["song.json"]
    assert load_project(path).project_name == "Old"


def test_atomic_write_new_file_mode(tmp_path):
    atomic_write_bytes(tmp_path / "x.bin", b"abc")
    assert (tmp_path / "x.bin").read_bytes() == b"abc"
    assert (tmp_path / "x.bin").stat().st_mode & 0o777 == 0o644


def test_json_schema_uses_camel_case_names():
    schema = project_json_schema()
    json.dumps(schema)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert {"projectName", "bpm", "masterVolume", "quantizeGrid", "pads", "tracks"} <= set(schema["properties"])
    pad = schema["$defs"]["Pad"]["properties"]
    assert {"padIndex", "loopId", "audioPath", "loopStartOffsetSeconds", "loopEndOffsetSeconds",
            "launchMode", "chokeGroup", "nativeBpm"} <= set(pad)
    assert pad["volume"]["maximum"] == 1.0
    assert {"clipId", "startBar", "durationBars", "volumeOverride"} <= set(schema["$defs"]["Clip"]["properties"])
    assert {"trackId", "isMuted", "isSoloed", "clips"} <= set(schema["$defs"]["Track"]["properties"])


def test_quantize_text_maps_to_engine_enum():
    assert quantize_from_text("off") is Quantize.OFF
    assert quantize_from_text("1/16") is Quantize.SIXTEENTH
    assert quantize_from_text("1 bar") is Quantize.BAR
    assert QUANTIZE_BEATS[quantize_from_text("4 bars")] == -4.0
    assert QUANTIZE_BEATS[quantize_from_text("1/2")] == 2.0
    for quantize in Quantize:
        assert quantize_from_text(quantize_to_text(quantize)) is quantize
    with pytest.raises(ValueError, match="unknown quantize '1/3'"):
        quantize_from_text("1/3")


def test_launch_mode_text_maps_to_engine_enum():
    assert launch_mode_from_text("oneShot") is LaunchMode.ONE_SHOT
    assert launch_mode_from_text("gate") is LaunchMode.GATE
    for mode in LaunchMode:
        assert launch_mode_from_text(launch_mode_to_text(mode)) is mode
    with pytest.raises(ValueError, match="unknown launch mode"):
        launch_mode_from_text("one_shot")


def test_resolve_audio_path(tmp_path):
    project_path = tmp_path / "sets" / "song.json"
    assert resolve_audio_path(project_path, Pad(pad_index=0, audio_path="loops/a.wav")) == \
        tmp_path / "sets" / "loops" / "a.wav"
    assert resolve_audio_path(project_path, Pad(pad_index=0, audio_path="/srv/a.wav")) == Path("/srv/a.wav")
    assert resolve_audio_path("song.json", Clip(audio_path="b.flac")) == Path("b.flac")
    with pytest.raises(ValueError, match="pad 4 has no audioPath"):
        resolve_audio_path(project_path, Pad(pad_index=4, loop_id="abc"))


def test_track_defaults():
    track = Track()
    assert track.clips == [] and not track.is_muted and track.volume == 0.8 and track.track_id != Track().track_id
