import json

import pytest
import soundfile as sf
from loop_signals import SR, drum_loop

from groovebox.cli import main
from groovebox.library import Library

LOOP = drum_loop(100, 1, pattern="rock")     # 2.4 s


@pytest.fixture
def files(tmp_path):
    good = tmp_path / "kick_groove.flac"
    other = tmp_path / "second take.wav"
    bad = tmp_path / "readme.wav"
    sf.write(good, LOOP, SR)
    sf.write(other, LOOP, 44100)             # same samples at 44.1 kHz: 100 * 44100/48000 = 91.875 BPM
    bad.write_text("not audio")
    return good, other, bad


def test_json_lines_and_per_file_errors(tmp_path, files, capsys):
    good, other, bad = files
    data = tmp_path / "data"
    code = main(["import", str(good), str(bad), str(other), "--data-dir", str(data), "--json"])
    out, err = capsys.readouterr()
    assert code == 2                                      # one file failed, the others were imported
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["name"] for line in lines] == ["kick groove", "second take"]
    first, second = lines
    assert set(first) >= {"id", "name", "bpm", "bars", "duration_s", "category"}
    assert (first["bpm"], first["bars"], first["category"]) == (100.0, 1, "drums")
    assert first["duration_s"] == pytest.approx(2.4)
    assert second["bpm"] == pytest.approx(91.875, abs=0.5) and second["bars"] == 1
    assert "readme.wav: not an audio file" in err and err.count("\n") == 1
    with Library(data) as library:
        assert {record.loop_id for record in library.list()} == {first["id"], second["id"]}


def test_readable_output_name_and_category(tmp_path, files, capsys):
    good, _, _ = files
    code = main(["import", str(good), "--data-dir", str(tmp_path / "data"), "--name", "Opener", "--category", "fx"])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    assert f'{good}: ' in out and '"Opener" fx, 1 bars at 100 BPM, 2.40 s' in out


def test_default_data_dir(tmp_path, files, capsys, monkeypatch):
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert main(["import", str(files[0]), "--json"]) == 0
    loop_id = json.loads(capsys.readouterr().out)["id"]
    assert (tmp_path / "xdg" / "groovebox" / "library" / f"{loop_id}.flac").is_file()


def test_unknown_category_is_refused_before_importing(tmp_path, files, capsys):
    assert main(["import", str(files[0]), "--data-dir", str(tmp_path / "data"), "--category", "polka"]) == 2
    assert "--category must be one of drums, bass" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()


def test_help_lists_every_category(capsys):
    from groovebox.library.analysis import CATEGORIES

    with pytest.raises(SystemExit):
        main(["import", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert all(category in help_text for category in CATEGORIES)
