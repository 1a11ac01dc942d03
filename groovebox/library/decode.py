"""Decode an audio file into the engine's format: float32, C-contiguous, (frames, 2), at the engine rate.

Runs on the control thread for short loops, or in a worker process for imports and long files (a minute
of 44.1 kHz FLAC takes ~130 ms to decode and resample on a desktop CPU, several times that on a Pi, and
holds the GIL for much of it); never on the audio thread.

Decisions:
- Playing a file (``strict=False``, the default) is forgiving: non-finite samples become 0 and whatever
  libsndfile manages to decode of a damaged file is used.
- Importing a file into the library (``strict=True``) refuses what would be a bad library entry: NaN or
  infinite samples, and truncated files. libsndfile quietly shortens a truncated WAV or AIFF to the bytes
  that exist and decodes the part of a cut MP3 that is there, so truncation is detected two ways: a RIFF or
  FORM (AIFF) container whose declared size exceeds the file, and fewer decoded frames than the header
  declares (under 98%: MP3 and Ogg frame counts without an exact header are estimates). A cut FLAC already
  fails to decode ("lost sync").
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

__all__ = ["AudioFileError", "AudioInfo", "load_audio", "probe_audio"]

# Each channel after the first two is mixed into both sides at -3 dB.
_EXTRA_CHANNEL_GAIN = 1.0 / np.sqrt(2.0)
# A file decoding to fewer frames than this share of its header's count is truncated.
_MIN_DECODED_SHARE = 0.98
_UNKNOWN_CONTAINER_SIZES = (0, 0xFFFFFFFF)   # streaming writers leave the size unset


class AudioFileError(ValueError):
    """An audio file that is missing, empty or cannot be decoded; the message names the file and the reason."""


@dataclass(frozen=True)
class AudioInfo:
    """What a file's header says, before decoding it."""

    frames: int
    sample_rate: int
    channels: int
    format: str        # libsndfile's major format, e.g. "WAV", "FLAC", "MP3"
    subtype: str       # e.g. "PCM_16", "FLOAT", "MPEG_LAYER_III"

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate > 0 else 0.0


def probe_audio(path: str | os.PathLike[str]) -> AudioInfo:
    """Read only the header. Raises ``AudioFileError`` for a missing, non-audio or unreadable file."""
    path = _existing_file(Path(path))
    try:
        info = sf.info(path)
    except (sf.SoundFileError, RuntimeError) as error:
        raise AudioFileError(f"{path}: cannot decode audio: {error}") from None
    return AudioInfo(int(info.frames), int(info.samplerate), int(info.channels), info.format, info.subtype)


def load_audio(path: str | os.PathLike[str], sample_rate: int = 48000, *, strict: bool = False) -> np.ndarray:
    """Read any file libsndfile decodes (WAV, FLAC, OGG/Vorbis/Opus, MP3, AIFF, ...) as engine audio.

    Returns float32, C-contiguous, shape (frames, 2) at ``sample_rate`` (resampled with soxr "HQ" when the
    file's rate differs); allocates the result. Any bit depth is scaled to -1..1; non-finite samples
    (possible in float files) become 0. Channels: mono is copied to both sides; stereo is kept; with more
    channels the first two are front left/right (the WAV/FLAC/AIFF order) and every further channel is
    mixed into both sides at -3 dB, scaled so the result cannot peak higher than the loudest input channel
    (Ogg Vorbis orders 3+ channels L, C, R, ...; they are not reordered). Resampling can overshoot full
    scale slightly on clipped material; the engine's limiter handles that.
    Raises ``AudioFileError`` for a missing, empty (0 frames) or undecodable file; with ``strict`` also for
    a truncated file or one holding NaN or infinite samples.
    """
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    path = Path(path)
    samples, file_rate = _read(path)
    if strict:
        _check_complete(path, samples.shape[0])
        if not np.isfinite(samples).all():
            raise AudioFileError(f"{path}: contains NaN or infinite samples")
    samples = _fold_channels(np.nan_to_num(samples, copy=False, nan=0.0, posinf=0.0, neginf=0.0))
    if file_rate != sample_rate:
        samples = soxr.resample(samples, file_rate, sample_rate, quality="HQ")
    if samples.shape[1] == 1:
        samples = np.repeat(samples, 2, axis=1)
    return np.ascontiguousarray(samples, dtype=np.float32)


def _existing_file(path: Path) -> Path:
    if not path.exists():
        raise AudioFileError(f"{path}: file not found")
    if not path.is_file():
        raise AudioFileError(f"{path}: not a file")
    return path


def _read(path: Path) -> tuple[np.ndarray, int]:
    _existing_file(path)
    try:
        samples, file_rate = sf.read(path, dtype="float32", always_2d=True)
    except (sf.SoundFileError, RuntimeError) as error:
        raise AudioFileError(f"{path}: cannot decode audio: {error}") from None
    if samples.shape[0] == 0 or samples.shape[1] == 0:
        raise AudioFileError(f"{path}: no audio frames")
    return samples, int(file_rate)


def _check_complete(path: Path, decoded_frames: int) -> None:
    """AudioFileError when the file is shorter than its own header says."""
    declared_bytes = _container_bytes(path)
    actual_bytes = path.stat().st_size
    if declared_bytes is not None and declared_bytes > actual_bytes + 1:       # +1: RIFF pad byte
        raise AudioFileError(f"{path}: truncated: the header declares {declared_bytes} bytes "
                             f"but the file has {actual_bytes}")
    info = probe_audio(path)
    if info.frames > 0 and decoded_frames < _MIN_DECODED_SHARE * info.frames:
        raise AudioFileError(f"{path}: truncated: the header declares {info.duration_s:.2f} s "
                             f"but only {decoded_frames / info.sample_rate:.2f} s decode")


def _container_bytes(path: Path) -> int | None:
    """Total size a RIFF/WAVE or FORM/AIFF header declares, or None for other (or unsized) containers."""
    with open(path, "rb") as handle:
        head = handle.read(12)
    if len(head) < 12:
        return None
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        size = struct.unpack("<I", head[4:8])[0]
    elif head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        size = struct.unpack(">I", head[4:8])[0]
    else:
        return None
    return None if size in _UNKNOWN_CONTAINER_SIZES else 8 + size


def _fold_channels(samples: np.ndarray) -> np.ndarray:
    """Mono and stereo as they are; more channels folded to stereo (mono is widened after resampling)."""
    channels = samples.shape[1]
    if channels <= 2:
        return samples
    extras = samples[:, 2:].sum(axis=1, keepdims=True) * _EXTRA_CHANNEL_GAIN
    scale = 1.0 / (1.0 + _EXTRA_CHANNEL_GAIN * (channels - 2))
    return ((samples[:, :2] + extras) * scale).astype(np.float32)
