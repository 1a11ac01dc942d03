"""``groovebox generate`` and ``groovebox bench generate`` (offline engine; Lyria runs are in the job tests)."""

import json

import numpy as np
import soundfile

from groovebox.cli import main


def _records(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_options_get_numbered_files_and_one_json_object_each(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    out = tmp_path / "loops" / "beat.wav"
    assert main(["generate", "boom bap with piano", "--engine", "offline", "--bars", "2", "--bpm", "90",
                 "--scale", "d_major_b_minor", "--seed", "5", "--options", "2", "-o", str(out), "--json"]) == 0
    records = _records(capsys)
    assert [r["path"] for r in records] == [str(tmp_path / "loops" / f"beat-{k}.wav") for k in (1, 2)]
    for record, seed in zip(records, (5, 6)):
        audio, rate = soundfile.read(record["path"], dtype="float32")
        assert rate == 48000 and audio.shape == (round(2 * 4 * 60 / 90 * 48000), 2)
        assert (record["engine"], record["seed"], record["bpm"], record["bars"], record["frames"]) == \
            ("offline", seed, 90.0, 2, len(audio))
        assert record["scale"] == "D_MAJOR_B_MINOR" and set(record["metrics"]) >= {"seam_db", "tempo_bpm",
                                                                                   "loudness_lufs", "peak_dbfs"}
    first, second = (soundfile.read(r["path"])[0] for r in records)
    assert not np.array_equal(first, second)


def test_the_same_seed_makes_the_same_file_and_a_variation_differs(tmp_path, capsys):
    for name in ("a.wav", "b.wav"):
        assert main(["generate", "techno", "--engine", "offline", "--bars", "1", "--seed", "9",
                     "-o", str(tmp_path / name), "--json"]) == 0
    a, b = (soundfile.read(tmp_path / name)[0] for name in ("a.wav", "b.wav"))
    assert np.array_equal(a, b)
    capsys.readouterr()
    assert main(["generate", "techno", "--engine", "offline", "--variation", "different_melody",
                 "--from", str(tmp_path / "a.json"), "-o", str(tmp_path / "c.wav"), "--json"]) == 0
    record = _records(capsys)[0]
    assert record["seed"] != 9 and record["request"]["keep_seed"] == 9
    assert record["request"]["keep_parts"] == ["drums", "bass", "chords"]
    assert not np.array_equal(a, soundfile.read(tmp_path / "c.wav")[0])


def test_bad_arguments_are_one_clear_line(tmp_path, capsys):
    assert main(["generate", "x", "--bpm", "400", "-o", str(tmp_path / "x.wav")]) == 2
    assert "bpm: Input should be less than or equal to 200" in capsys.readouterr().err
    assert main(["generate", "x", "--engine", "offline", "-o", str(tmp_path / "x.mp4")]) == 2
    assert "output must end in .wav or .flac" in capsys.readouterr().err
    assert main(["generate", "x", "--variation", "simpler", "-o", str(tmp_path / "x.wav")]) == 2
    assert "--variation needs --from" in capsys.readouterr().err
    (tmp_path / "junk.json").write_text("{}")
    assert main(["generate", "x", "--variation", "simpler", "--from", str(tmp_path / "junk.json"),
                 "-o", str(tmp_path / "x.wav")]) == 2
    assert "not a generated loop's record" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.wav"))


def test_bench_generate_reports_the_median(capsys):
    assert main(["bench", "generate", "--runs", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["engine"] == "offline" and result["runs"] == 2 and result["generate_s_median"] > 0
