"""Project -> engine commands: audio decoded and converted, regions in frames, clear errors."""

import numpy as np
import pytest
import soundfile

from groovebox.engine import commands as c
from groovebox.project import Project, ProjectError
from groovebox.project.compile import compile_project, session_commands


def project(**pad) -> Project:
    return Project.model_validate({"bpm": 100, "quantizeGrid": "1/4", "pads": [{"padIndex": 5, **pad}]})


def test_pad_audio_is_converted_and_the_region_is_in_frames(tmp_path):
    soundfile.write(tmp_path / "mono.wav", np.zeros((22050, 1)), 22050)
    compiled = compile_project(project(audioPath="mono.wav", loopStartOffsetSeconds=0.25,
                                       loopEndOffsetSeconds=0.75, launchMode="oneShot", chokeGroup=3,
                                       quantize="1/16"), tmp_path / "p.json")
    load = compiled.pads[0]
    assert load.pad == 5 and load.audio.shape == (48000, 2) and load.audio.dtype == np.float32
    assert (load.region_start_frame, load.region_end_frame) == (12000, 36000)
    assert load.launch_mode == c.LaunchMode.ONE_SHOT and load.choke_group == 3
    assert load.quantize == c.Quantize.SIXTEENTH and load.native_bpm == 100
    assert compiled.quantize == c.Quantize.QUARTER
    kinds = [type(command) for command in session_commands(compiled)]
    assert kinds == [c.SetTempo, c.SetQuantize, c.SetMaster, c.SetMetronome, c.LoadPad]


def test_loop_ids_come_from_the_library(tmp_path):
    (tmp_path / "library").mkdir()
    soundfile.write(tmp_path / "library" / "abc123.flac", np.zeros((4800, 2)), 48000)
    compiled = compile_project(project(loopId="abc123", nativeBpm=90), None, tmp_path / "library")
    assert compiled.pads[0].native_bpm == 90
    with pytest.raises(ProjectError, match="not in the library"):
        compile_project(project(loopId="zzz"), None, tmp_path / "library")
    with pytest.raises(ProjectError, match="needs a library"):
        compile_project(project(loopId="abc123"), None, None)


def test_bad_pad_audio_names_the_pad(tmp_path):
    (tmp_path / "junk.wav").write_bytes(b"RIFF not really")
    with pytest.raises(ProjectError, match="pad 5"):
        compile_project(project(audioPath="junk.wav"), tmp_path / "p.json")
    soundfile.write(tmp_path / "short.wav", np.zeros((4800, 2)), 48000)
    with pytest.raises(ProjectError, match="outside the audio"):
        compile_project(project(audioPath="short.wav", loopStartOffsetSeconds=2.0), tmp_path / "p.json")
