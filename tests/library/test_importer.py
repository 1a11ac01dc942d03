import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
import soundfile as sf
import soxr
from loop_signals import SR, drum_loop

from groovebox.library import Library, LibraryError, import_file

BPM, BARS = 120, 2
LOOP = drum_loop(BPM, BARS, pattern="rock")            # 4 s, 192000 frames at 48 kHz


@pytest.fixture
def library(tmp_path):
    with Library(tmp_path / "data") as lib:
        yield lib


def _write(path, rate: int, fmt: str, subtype: str, channels: int = 2) -> None:
    audio = LOOP if rate == SR else soxr.resample(LOOP, SR, rate, quality="HQ")
    if channels == 1:
        audio = audio.mean(axis=1)
    elif channels > 2:
        audio = np.concatenate([audio, np.zeros((len(audio), channels - 2), np.float32)], axis=1)
    sf.write(path, np.clip(audio, -1, 1), rate, format=fmt, subtype=subtype)


def _assert_nothing_stored(library):
    assert library.count() == 0
    assert list(library.audio_dir.iterdir()) == []


@pytest.mark.parametrize("name, rate, fmt, subtype, channels", [
    ("Break 01.wav", 44100, "WAV", "PCM_16", 2),
    ("mono_float.wav", 48000, "WAV", "FLOAT", 1),
    ("quad_u8.wav", 32000, "WAV", "PCM_U8", 4),
    ("hires.flac", 96000, "FLAC", "PCM_24", 2),
    ("vorbis.ogg", 44100, "OGG", "VORBIS", 2),
    ("layer3.mp3", 44100, "MP3", "MPEG_LAYER_III", 2),
    ("old.aiff", 22050, "AIFF", "PCM_16", 1),
])
def test_formats_rates_channels_and_depths(library, tmp_path, name, rate, fmt, subtype, channels):
    path = tmp_path / name
    _write(path, rate, fmt, subtype, channels)
    record = import_file(library, path)
    assert record.name == path.stem.replace("_", " ")
    assert record.source == "uploaded"
    assert (record.bpm, record.bars) == (pytest.approx(BPM, abs=0.5), BARS)
    assert record.frames == round(BARS * 4 * 60 / record.bpm * SR)      # whole bars, exactly
    info = sf.info(library.path(record.loop_id))
    assert (info.samplerate, info.channels, info.format, info.subtype) == (48000, 2, "FLAC", "PCM_24")
    assert info.frames == record.frames and record.duration_s == pytest.approx(record.frames / SR)
    stored, _ = sf.read(library.path(record.loop_id), dtype="float32")
    assert np.abs(stored).max() > 0.3 and np.isfinite(stored).all()
    assert library.list() == [record]


def test_name_category_and_tags_can_be_given(library, tmp_path):
    sf.write(tmp_path / "x.flac", LOOP, SR)
    record = import_file(library, tmp_path / "x.flac", name="My groove", category="keys", tags=("Live",))
    assert (record.name, record.category, record.tags) == ("My groove", "keys", ("live",))


def test_category_is_guessed(library, tmp_path):
    sf.write(tmp_path / "take 3.flac", LOOP, SR)
    assert import_file(library, tmp_path / "take 3.flac").category == "drums"


def _truncated(path, data: bytes, keep: float) -> None:
    path.write_bytes(data[: int(len(data) * keep)])


def _encoded(tmp_path, fmt: str, subtype: str) -> bytes:
    source = tmp_path / f"source.{fmt.lower()}"
    sf.write(source, LOOP, 44100 if fmt == "MP3" else SR, format=fmt, subtype=subtype)
    data = source.read_bytes()
    source.unlink()
    return data


def _make_bad(tmp_path, kind: str):
    """(path, extra import_file kwargs) for each way a file is refused."""
    rng = np.random.default_rng(3)
    if kind == "truncated flac":
        path = tmp_path / "cut.flac"
        _truncated(path, _encoded(tmp_path, "FLAC", "PCM_24"), 0.6)
    elif kind == "truncated wav":
        path = tmp_path / "cut.wav"
        _truncated(path, _encoded(tmp_path, "WAV", "PCM_16"), 0.5)
    elif kind == "truncated mp3":
        path = tmp_path / "cut.mp3"
        _truncated(path, _encoded(tmp_path, "MP3", "MPEG_LAYER_III"), 0.5)
    elif kind == "text named .wav":
        path = tmp_path / "notes.wav"
        path.write_text("this is not audio\n" * 50)
    elif kind == "empty file":
        path = tmp_path / "empty.flac"
        path.write_bytes(b"")
    elif kind == "random bytes":
        path = tmp_path / "noise.flac"
        path.write_bytes(rng.integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    elif kind == "zero frames":
        path = tmp_path / "zero.wav"
        sf.write(path, np.zeros((0, 2), np.float32), SR)
    elif kind == "nan samples":
        path = tmp_path / "nan.wav"
        audio = LOOP.copy()
        audio[1000, 1] = np.nan
        sf.write(path, audio, SR, subtype="FLOAT")
    elif kind == "huge sparse file":
        path = tmp_path / "huge.wav"
        with open(path, "wb") as handle:
            handle.truncate(300 * 1024 * 1024)          # 300 MB of holes: nothing is written to disk
        return path, {}
    elif kind == "too long":
        path = tmp_path / "long.flac"
        sf.write(path, LOOP, SR)
        return path, {"max_seconds": 3.0}
    elif kind == "missing":
        return tmp_path / "missing.wav", {}
    elif kind == "directory":
        path = tmp_path / "folder.wav"
        path.mkdir()
    elif kind == "unknown category":
        path = tmp_path / "fine.flac"
        sf.write(path, LOOP, SR)
        return path, {"category": "polka"}
    return path, {}


@pytest.mark.parametrize("kind, message", [
    ("truncated flac", r"cut\.flac: not an audio file .*damaged.*lost sync"),
    ("truncated wav", r"cut\.wav: truncated: the header declares \d+ bytes"),
    ("truncated mp3", r"cut\.mp3: truncated: the header declares 4\.35 s but only 2\.\d\d s decode"),
    ("text named .wav", r"notes\.wav: not an audio file"),
    ("empty file", r"empty\.flac: the file is empty"),
    ("random bytes", r"noise\.flac: not an audio file"),
    ("zero frames", r"zero\.wav: no audio frames"),
    ("nan samples", r"nan\.wav: contains NaN or infinite samples"),
    ("huge sparse file", r"huge\.wav: too large \(300 MB; the limit is 200 MB\)"),
    ("too long", r"long\.flac: too long \(0\.1 min; the limit is 0\.1 min\)"),
    ("missing", r"missing\.wav: file not found"),
    ("directory", r"folder\.wav: not a file"),
    ("unknown category", r"unknown category 'polka'"),
])
def test_refused_files_store_nothing(library, tmp_path, kind, message):
    path, kwargs = _make_bad(tmp_path, kind)
    with pytest.raises(LibraryError, match=message):
        import_file(library, path, **kwargs)
    _assert_nothing_stored(library)


def test_size_limit_is_configurable(library, tmp_path):
    sf.write(tmp_path / "small.flac", LOOP, SR)
    with pytest.raises(LibraryError, match="too large"):
        import_file(library, tmp_path / "small.flac", max_bytes=os.path.getsize(tmp_path / "small.flac") - 1)
    _assert_nothing_stored(library)


def test_runs_in_a_spawned_worker_process(library, tmp_path):
    sf.write(tmp_path / "worker.flac", LOOP, SR)
    (tmp_path / "empty.wav").write_bytes(b"")
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        record = pool.submit(import_file, library, tmp_path / "worker.flac").result(timeout=120)
        refused = pool.submit(import_file, str(library.data_dir), tmp_path / "empty.wav")
        with pytest.raises(LibraryError, match="the file is empty"):
            refused.result(timeout=120)
    assert library.get(record.loop_id) == record and library.count() == 1
