"""Pitch-preserving time-stretch of loops to a new tempo, and a disk cache of the results.

``stretch_loop`` is CPU-heavy (Rubber Band through ``pedalboard.time_stretch``): it runs in a worker process
(``control/stretcher.py`` owns one), never on the control loop or the audio thread. ``StretchCache`` is used
from both sides: the worker writes results, the control loop reads them; neither keeps open handles.

Decisions (reference/generation.md §3):
- Circular context: a loop is never stretched on its own (the edges of a one-shot stretch are wrong and the
  seam clicks). We stretch ``[loop, loop, loop]``, keep the middle copy (offset ``L_new``, no latency shift),
  and crossfade its last 5 ms with the stretched audio just before that offset (the "pre-roll" that leads
  into the loop start), so the end flows into the start when the loop wraps.
- The output length is exact: ``round(len(audio) * native_bpm / target_bpm)`` frames, so N bars stay N bars at
  the new tempo on the engine's grid.
- Ratios outside 0.5..2.0 are refused (``ValueError``): beyond that Rubber Band artefacts dominate and the
  engine's varispeed would be a better choice anyway.
- The cache stores ``.npy`` files (float32, exact, read with one ``np.load``; FLAC would cost an encode per
  result for a cache that is only a speed-up). Keys are the loop's content hash (``audio_key``) plus the target
  tempo rounded to 0.01 BPM. Writes are atomic (temp file, fsync, rename); the cache is bounded by size,
  evicting the least recently used files (a hit touches the file's mtime).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["stretch_loop", "stretched_frames", "audio_key", "StretchCache", "MIN_RATIO", "MAX_RATIO"]

MIN_RATIO = 0.5          # target_bpm / native_bpm
MAX_RATIO = 2.0
SEAM_FADE_S = 0.005
DEFAULT_MAX_BYTES = 500 * 1024 * 1024


def stretched_frames(frames: int, native_bpm: float, target_bpm: float) -> int:
    """The exact length of ``frames`` frames of audio at ``native_bpm`` played at ``target_bpm``."""
    return round(frames * native_bpm / target_bpm)


def _check_ratio(native_bpm: float, target_bpm: float) -> float:
    for name, value in (("native_bpm", native_bpm), ("target_bpm", target_bpm)):
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    ratio = target_bpm / native_bpm
    if not MIN_RATIO <= ratio <= MAX_RATIO:
        raise ValueError(f"cannot stretch {native_bpm:g} BPM to {target_bpm:g} BPM: the tempo ratio {ratio:.3f} "
                         f"is outside {MIN_RATIO}..{MAX_RATIO}")
    return ratio


def stretch_loop(audio: np.ndarray, native_bpm: float, target_bpm: float, sample_rate: int = 48000) -> np.ndarray:
    """``audio`` (float32 (frames, 2), a seamless loop at ``native_bpm``) at ``target_bpm``, same pitch.

    Returns a C-contiguous float32 (frames', 2) array of exactly ``stretched_frames`` frames that loops
    seamlessly. Raises ValueError for a bad shape or a tempo ratio outside 0.5..2.0. Worker process.
    """
    from pedalboard import (
        time_stretch,  # heavy import: only where the stretching happens
    )

    ratio = _check_ratio(native_bpm, target_bpm)
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 2 or audio.shape[1] != 2 or len(audio) < 2:
        raise ValueError("a loop must be a float32 array of shape (frames, 2) with at least 2 frames")
    length = stretched_frames(len(audio), native_bpm, target_bpm)
    if ratio == 1.0:
        return np.ascontiguousarray(audio.copy())
    tiled = np.ascontiguousarray(np.concatenate([audio, audio, audio]).T)       # (2, 3 * frames)
    stretched = time_stretch(tiled, float(sample_rate), stretch_factor=ratio, high_quality=True).T
    stretched = _fit(stretched, 3 * length)
    loop = stretched[length:2 * length].copy()
    _crossfade_seam(loop, stretched[:length], round(SEAM_FADE_S * sample_rate))
    return np.ascontiguousarray(loop, dtype=np.float32)


def _fit(stretched: np.ndarray, frames: int) -> np.ndarray:
    """Trim or zero-pad to ``frames`` (Rubber Band's output is exact; this only guards against ±1 frame)."""
    if len(stretched) >= frames:
        return stretched[:frames]
    return np.concatenate([stretched, np.zeros((frames - len(stretched), 2), np.float32)])


def _crossfade_seam(loop: np.ndarray, before: np.ndarray, fade_frames: int) -> None:
    """Fade the loop's last frames into the audio that preceded its first frame (``before``'s tail)."""
    fade_frames = min(fade_frames, len(loop) // 2, len(before))
    if fade_frames < 1:
        return
    ramp = (np.arange(1, fade_frames + 1, dtype=np.float32) / (fade_frames + 1))[:, None]
    tail = loop[-fade_frames:]
    tail *= 1.0 - ramp
    tail += before[-fade_frames:] * ramp


def audio_key(audio: np.ndarray) -> str:
    """A content hash of a loop's samples (and shape): the cache key's loop part."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(str(audio.shape).encode())
    digest.update(np.ascontiguousarray(audio, dtype=np.float32).data)
    return digest.hexdigest()


class StretchCache:
    """Stretched loops on disk, keyed by (loop key, target tempo rounded to 0.01 BPM), bounded in size."""

    def __init__(self, cache_dir: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.cache_dir = Path(cache_dir)
        self.max_bytes = max_bytes

    def path(self, key: str, target_bpm: float) -> Path:
        if not key or any(ch in key for ch in "/\\."):
            raise ValueError(f"bad cache key {key!r}")
        return self.cache_dir / f"{key}@{round(target_bpm, 2):.2f}.npy"

    def get(self, key: str, target_bpm: float) -> np.ndarray | None:
        """The cached result, or None. A hit marks the entry as recently used."""
        path = self.path(key, target_bpm)
        try:
            audio = np.load(path, allow_pickle=False)
            os.utime(path)
        except (OSError, ValueError):
            return None
        if audio.dtype != np.float32 or audio.ndim != 2 or audio.shape[1] != 2:
            return None
        return np.ascontiguousarray(audio)

    def put(self, key: str, target_bpm: float, audio: np.ndarray) -> Path:
        """Store ``audio`` atomically, then evict the oldest entries beyond ``max_bytes``."""
        path = self.path(key, target_bpm)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=self.cache_dir, prefix=".tmp-", suffix=".npy")
        try:
            with os.fdopen(fd, "wb") as file:
                np.save(file, np.ascontiguousarray(audio, dtype=np.float32), allow_pickle=False)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        _fsync_dir(self.cache_dir)
        self.evict(keep=path)
        return path

    def evict(self, keep: Path | None = None) -> list[Path]:
        """Delete least recently used entries until the cache fits ``max_bytes``; returns what was deleted."""
        entries = []
        for path in self.cache_dir.glob("*.npy"):
            try:
                stat = path.stat()
            except OSError:
                continue
            entries.append((stat.st_mtime_ns, stat.st_size, path))
        total = sum(size for _, size, _ in entries)
        removed = []
        for _, size, path in sorted(entries, key=lambda entry: entry[0]):
            if total <= self.max_bytes:
                break
            if path == keep:
                continue
            path.unlink(missing_ok=True)
            total -= size
            removed.append(path)
        return removed


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
