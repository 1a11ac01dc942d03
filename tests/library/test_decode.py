import numpy as np
import pytest
import soundfile as sf

from groovebox.library.decode import AudioFileError, load_audio, probe_audio

DURATION_S = 0.5
TONE_HZ = 440.0


def _sine(rate: int, channels: int = 1, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(DURATION_S * rate)) / rate
    tone = amplitude * np.sin(2 * np.pi * TONE_HZ * t)
    return np.repeat(tone[:, None], channels, axis=1)


def _peak_hz(signal: np.ndarray, rate: int = 48000) -> float:
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    return float(np.fft.rfftfreq(len(signal), 1 / rate)[np.argmax(spectrum)])


def _check_engine_audio(audio: np.ndarray, length_tolerance_frames: int) -> None:
    assert audio.dtype == np.float32 and audio.ndim == 2 and audio.shape[1] == 2
    assert audio.flags.c_contiguous
    assert abs(audio.shape[0] - DURATION_S * 48000) <= length_tolerance_frames
    assert _peak_hz(audio[:, 0]) == pytest.approx(TONE_HZ, abs=3)


@pytest.mark.parametrize("name, rate, fmt, subtype, tolerance_frames", [
    ("mono.wav", 44100, "WAV", "PCM_16", 1),
    ("hires.flac", 96000, "FLAC", "PCM_24", 1),
    ("plain.wav", 48000, "WAV", "FLOAT", 0),
    ("old.aiff", 22050, "AIFF", "PCM_16", 1),
    ("tone.ogg", 44100, "OGG", "VORBIS", 1),
    ("tone.mp3", 44100, "MP3", "MPEG_LAYER_III", 2400),  # encoder delay and padding
])
def test_formats_rates_and_depths_decode_to_engine_audio(tmp_path, name, rate, fmt, subtype, tolerance_frames):
    path = tmp_path / name
    sf.write(path, _sine(rate), rate, format=fmt, subtype=subtype)
    audio = load_audio(path)
    _check_engine_audio(audio, tolerance_frames)
    np.testing.assert_array_equal(audio[:, 0], audio[:, 1])  # mono on both sides
    assert np.max(np.abs(audio)) == pytest.approx(0.5, abs=0.05)


def test_no_resampling_keeps_samples_exact(tmp_path):
    stereo = np.stack([_sine(48000)[:, 0], -_sine(48000)[:, 0]], axis=1).astype(np.float32)
    sf.write(tmp_path / "s.wav", stereo, 48000, subtype="FLOAT")
    np.testing.assert_array_equal(load_audio(tmp_path / "s.wav"), stereo)


def test_other_engine_rate(tmp_path):
    sf.write(tmp_path / "t.wav", _sine(48000), 48000)
    audio = load_audio(tmp_path / "t.wav", sample_rate=44100)
    assert audio.shape == (int(DURATION_S * 44100), 2)
    assert _peak_hz(audio[:, 0], 44100) == pytest.approx(TONE_HZ, abs=3)


def test_surround_folds_extra_channels_into_both_sides(tmp_path):
    frames = 4800
    channels = np.zeros((frames, 6), np.float32)
    channels[:, 0] = 0.6   # front left
    channels[:, 1] = -0.6  # front right
    channels[:, 2] = 0.6   # centre
    sf.write(tmp_path / "5.1.wav", channels, 48000, subtype="FLOAT")
    audio = load_audio(tmp_path / "5.1.wav")
    scale = 1 / (1 + 4 / np.sqrt(2))
    np.testing.assert_allclose(audio[0], [(0.6 + 0.6 / np.sqrt(2)) * scale, (-0.6 + 0.6 / np.sqrt(2)) * scale],
                               rtol=1e-6)
    assert audio.shape == (frames, 2)


def test_full_scale_surround_does_not_exceed_full_scale(tmp_path):
    sf.write(tmp_path / "loud.wav", np.ones((480, 8), np.float32), 48000, subtype="FLOAT")
    assert np.max(np.abs(load_audio(tmp_path / "loud.wav"))) <= 1.0 + 1e-6


def test_non_finite_samples_become_silence(tmp_path):
    samples = np.full((480, 2), 0.25, np.float32)
    samples[10, 0], samples[20, 1], samples[30, 0] = np.nan, np.inf, -np.inf
    sf.write(tmp_path / "bad.wav", samples, 48000, subtype="FLOAT")
    audio = load_audio(tmp_path / "bad.wav")
    assert np.isfinite(audio).all() and audio[10, 0] == audio[20, 1] == audio[30, 0] == 0.0


def test_missing_file(tmp_path):
    with pytest.raises(AudioFileError, match="nope.wav: file not found"):
        load_audio(tmp_path / "nope.wav")


def test_directory_is_not_a_file(tmp_path):
    with pytest.raises(AudioFileError, match="not a file"):
        load_audio(tmp_path)


def test_empty_audio(tmp_path):
    sf.write(tmp_path / "empty.wav", np.zeros((0, 2), np.float32), 48000)
    with pytest.raises(AudioFileError, match="empty.wav: no audio frames"):
        load_audio(tmp_path / "empty.wav")


@pytest.mark.parametrize("content", [b"", b"RIFF\x00\x00garbage", b"\x00" * 1000])
def test_corrupt_file(tmp_path, content):
    (tmp_path / "broken.flac").write_bytes(content)
    with pytest.raises(AudioFileError, match="broken.flac: cannot decode audio"):
        load_audio(tmp_path / "broken.flac")


def test_audio_file_error_is_a_value_error():
    assert issubclass(AudioFileError, ValueError)


def test_probe_reads_the_header(tmp_path):
    sf.write(tmp_path / "p.flac", _sine(44100, channels=2), 44100, subtype="PCM_24")
    info = probe_audio(tmp_path / "p.flac")
    assert (info.frames, info.sample_rate, info.channels, info.format, info.subtype) == (
        int(DURATION_S * 44100), 44100, 2, "FLAC", "PCM_24")
    assert info.duration_s == pytest.approx(DURATION_S)
    with pytest.raises(AudioFileError, match="cannot decode audio"):
        (tmp_path / "x.wav").write_text("text")
        probe_audio(tmp_path / "x.wav")


@pytest.mark.parametrize("name, fmt", [("cut.wav", "WAV"), ("cut.aiff", "AIFF")])
def test_strict_refuses_a_truncated_file_that_plain_loading_shortens(tmp_path, name, fmt):
    sf.write(tmp_path / "whole", _sine(48000, channels=2), 48000, format=fmt, subtype="PCM_16")
    data = (tmp_path / "whole").read_bytes()
    (tmp_path / name).write_bytes(data[: len(data) // 2])
    assert len(load_audio(tmp_path / name)) < DURATION_S * 48000 * 0.6
    with pytest.raises(AudioFileError, match="truncated: the header declares"):
        load_audio(tmp_path / name, strict=True)


def test_strict_refuses_non_finite_samples(tmp_path):
    samples = np.full((480, 2), 0.25, np.float32)
    samples[7, 1] = np.inf
    sf.write(tmp_path / "inf.wav", samples, 48000, subtype="FLOAT")
    with pytest.raises(AudioFileError, match="inf.wav: contains NaN or infinite samples"):
        load_audio(tmp_path / "inf.wav", strict=True)


def test_strict_accepts_a_complete_file(tmp_path):
    sf.write(tmp_path / "ok.wav", _sine(44100), 44100)
    np.testing.assert_array_equal(load_audio(tmp_path / "ok.wav", strict=True), load_audio(tmp_path / "ok.wav"))
