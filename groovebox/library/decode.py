"""Decode an audio file into the engine's format: float32, C-contiguous, (frames, 2), at the engine rate.

Runs on the control thread for short loops, or in a worker process for imports and long files (a minute
of 44.1 kHz FLAC takes ~130 ms to decode and resample on a desktop CPU, several times that on a Pi, and
holds the GIL for much of it); never on the audio thread.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

__all__ = ["AudioFileError", "load_audio"]

# Each channel after the first two is mixed into both sides at -3 dB.
_EXTRA_CHANNEL_GAIN = 1.0 / np.sqrt(2.0)


class AudioFileError(ValueError):
    """An audio file that is missing, empty or cannot be decoded; the message names the file and the reason."""


def load_audio(path: str | os.PathLike[str], sample_rate: int = 48000) -> np.ndarray:
    """Read any file libsndfile decodes (WAV, FLAC, OGG/Vorbis/Opus, MP3, AIFF, ...) as engine audio.

    Returns float32, C-contiguous, shape (frames, 2) at ``sample_rate`` (resampled with soxr "HQ" when the
    file's rate differs); allocates the result. Any bit depth is scaled to -1..1; non-finite samples
    (possible in float files) become 0. Channels: mono is copied to both sides; stereo is kept; with more
    channels the first two are front left/right (the WAV/FLAC/AIFF order) and every further channel is
    mixed into both sides at -3 dB, scaled so the result cannot peak higher than the loudest input channel
    (Ogg Vorbis orders 3+ channels L, C, R, ...; they are not reordered). Resampling can overshoot full
    scale slightly on clipped material; the engine's limiter handles that.
    Raises ``AudioFileError`` for a missing, empty (0 frames) or undecodable file.
    """
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    samples, file_rate = _read(Path(path))
    samples = _fold_channels(np.nan_to_num(samples, copy=False, nan=0.0, posinf=0.0, neginf=0.0))
    if file_rate != sample_rate:
        samples = soxr.resample(samples, file_rate, sample_rate, quality="HQ")
    if samples.shape[1] == 1:
        samples = np.repeat(samples, 2, axis=1)
    return np.ascontiguousarray(samples, dtype=np.float32)


def _read(path: Path) -> tuple[np.ndarray, int]:
    if not path.exists():
        raise AudioFileError(f"{path}: file not found")
    if not path.is_file():
        raise AudioFileError(f"{path}: not a file")
    try:
        samples, file_rate = sf.read(path, dtype="float32", always_2d=True)
    except (sf.SoundFileError, RuntimeError) as error:
        raise AudioFileError(f"{path}: cannot decode audio: {error}") from None
    if samples.shape[0] == 0 or samples.shape[1] == 0:
        raise AudioFileError(f"{path}: no audio frames")
    return samples, int(file_rate)


def _fold_channels(samples: np.ndarray) -> np.ndarray:
    """Mono and stereo as they are; more channels folded to stereo (mono is widened after resampling)."""
    channels = samples.shape[1]
    if channels <= 2:
        return samples
    extras = samples[:, 2:].sum(axis=1, keepdims=True) * _EXTRA_CHANNEL_GAIN
    scale = 1.0 / (1.0 + _EXTRA_CHANNEL_GAIN * (channels - 2))
    return ((samples[:, :2] + extras) * scale).astype(np.float32)
