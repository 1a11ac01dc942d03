"""Import an audio file into the loop library: check, decode, convert, analyse, store.

Runs in a worker process in the daemon (decoding and analysis hold the GIL for seconds on a Pi) or in the
``groovebox import`` command. ``import_file`` is a plain module-level function whose arguments and result
pickle (a ``Library`` pickles as its data directory), so it can be handed to a process pool as it is.

Decisions:
- Accepted: whatever libsndfile decodes (WAV, FLAC, Ogg Vorbis/Opus, MP3, AIFF, ...) at any rate, channel
  count and bit depth; converted to 48 kHz stereo float by ``decode.load_audio`` (soxr HQ).
- Refused with ``LibraryError`` before anything is written: missing, empty, non-audio, corrupt or truncated
  files, audio with NaN or infinite samples, zero frames, files over ``max_bytes`` (default 200 MB) and
  audio over ``max_seconds`` (default 10 minutes). Size and header duration are checked before decoding,
  so a huge file costs nothing; the decoded duration is checked again in case the header lied. 10 minutes
  of 48 kHz stereo float32 is 230 MB in memory, about what a Pi can spare for one import.
- The audio is conformed to whole bars when analysis finds a little extra or missing time (see
  ``analysis``); the record's ``durationSeconds`` and ``frames`` describe the stored audio.
- The default name is the file name without its extension, underscores turned into spaces.
"""

from __future__ import annotations

import os
from pathlib import Path

from groovebox.library.analysis import CATEGORIES, Category, analyse
from groovebox.library.decode import AudioFileError, load_audio, probe_audio
from groovebox.library.store import (
    SAMPLE_RATE,
    Library,
    LibraryError,
    LoopRecord,
    Source,
)

__all__ = ["MAX_IMPORT_BYTES", "MAX_IMPORT_SECONDS", "import_file"]

_MB = 1024 * 1024
MAX_IMPORT_BYTES = 200 * _MB
MAX_IMPORT_SECONDS = 600.0
_MAX_NAME_CHARS = 100


def import_file(library: Library | str | os.PathLike[str], path: str | os.PathLike[str], *,
                name: str | None = None, category: Category | None = None, tags: tuple[str, ...] = (),
                source: Source = "uploaded", max_bytes: int = MAX_IMPORT_BYTES,
                max_seconds: float = MAX_IMPORT_SECONDS) -> LoopRecord:
    """Add the audio file at ``path`` to ``library`` (a ``Library`` or a data directory); return its record.

    ``name`` defaults to the file name; ``category`` to the analysis' guess. Raises ``LibraryError``
    (a ValueError) naming the file and the reason when the file is refused; nothing is stored then.
    """
    path = Path(path)
    if category is not None and category not in CATEGORIES:
        raise LibraryError(f"unknown category {category!r}; expected one of {', '.join(CATEGORIES)}")
    _check_size(path, max_bytes)
    audio = _decode(path, max_seconds)
    analysis = analyse(audio, SAMPLE_RATE, name=path.stem)
    target = library if isinstance(library, Library) else Library(library)
    return target.add(
        analysis.audio, name=_default_name(path) if name is None else name, source=source,
        category=category or analysis.category, tags=tags, bpm=analysis.tempo.bpm, bars=analysis.tempo.bars,
        key=analysis.key, peaks=analysis.peaks, loudness_lufs=analysis.loudness_lufs)


def _check_size(path: Path, max_bytes: int) -> None:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise LibraryError(f"{path.name}: file not found") from None
    except OSError as error:
        raise LibraryError(f"{path.name}: cannot read: {error.strerror or error}") from None
    if not path.is_file():
        raise LibraryError(f"{path.name}: not a file")
    if size == 0:
        raise LibraryError(f"{path.name}: the file is empty")
    if size > max_bytes:
        raise LibraryError(f"{path.name}: too large ({size / _MB:.0f} MB; the limit is {max_bytes / _MB:.0f} MB)")


def _decode(path: Path, max_seconds: float):
    try:
        info = probe_audio(path)
        _check_duration(path, info.duration_s, max_seconds)
        audio = load_audio(path, SAMPLE_RATE, strict=True)
    except AudioFileError as error:
        raise LibraryError(_reason(path, error)) from None
    except MemoryError:
        raise LibraryError(f"{path.name}: not enough memory to decode it") from None
    _check_duration(path, audio.shape[0] / SAMPLE_RATE, max_seconds)
    return audio


def _check_duration(path: Path, duration_s: float, max_seconds: float) -> None:
    if duration_s > max_seconds:
        raise LibraryError(f"{path.name}: too long ({duration_s / 60:.1f} min; the limit is "
                           f"{max_seconds / 60:.1f} min)")


def _reason(path: Path, error: AudioFileError) -> str:
    """The decoder's message with the file's name instead of its full path."""
    message = str(error)
    prefix = f"{path}: "
    reason = message.removeprefix(prefix)
    if reason.startswith("cannot decode audio"):
        reason = "not an audio file this groovebox can read, or it is damaged (" + reason + ")"
    return f"{path.name}: {reason}"


def _default_name(path: Path) -> str:
    name = " ".join(path.stem.replace("_", " ").split())
    return (name or "untitled")[:_MAX_NAME_CHARS]
