"""The loop library: metadata in SQLite (``<data_dir>/groovebox.db``), audio in ``<data_dir>/library/<id>.flac``.

Called synchronously from the control loop (get, list, update, delete: small queries) and from worker
processes (add: encodes FLAC, ~0.1 s per 10 s of audio; imports). Never from the audio thread.

Decisions:
- One SQLite connection per thread (``threading.local``), opened on first use with WAL, ``foreign_keys``
  on, ``synchronous=FULL`` (library writes are rare; a committed loop survives a power cut) and a 5 s busy
  timeout, so the daemon and its worker processes can share the database. The schema version is the
  database's ``user_version``; the schema is created or migrated when a ``Library`` is opened, and a
  database from a newer groovebox is refused rather than guessed at.
- A ``Library`` pickles as its data directory, so it can be passed to a worker process, which opens its
  own connections there.
- Audio files are ``<data_dir>/library/<loopId>.flac``, 48 kHz stereo 24-bit FLAC: the path
  ``groovebox.project.compile`` already resolves for ``loopId``, so projects play library loops without
  going through this class. Audio that peaks over full scale (float files, resampler overshoot) is scaled
  down to just under it rather than clipped by the 24-bit encoder.
- ``add`` is atomic: FLAC to a temporary file, fsync, rename to ``<id>.flac``, fsync the directory, then
  the row is committed; if anything fails the file is removed, so a failed add leaves nothing. A crash
  between the rename and the commit leaves an orphan file, which ``sweep`` removes (the daemon can call it
  at start-up). ``delete`` removes the row first, then the file.
- Ids are 10 random characters from ``[a-z0-9]`` (~52 bits): url-safe, valid project ``loopId`` values,
  and safe on case-insensitive file systems.
- Tags are stored as a JSON array in the row (stripped, lower-cased, unique, at most 32 of 40 characters).
  Search is case-insensitive (Unicode ``casefold``) substring matching of every word of the query in the
  name, tags or prompt.
- Waveform peaks are stored as int8 (min, max) pairs (256 pairs = 512 bytes) and read back as floats.
"""

from __future__ import annotations

import functools
import json
import math
import os
import secrets
import sqlite3
import string
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, Self, get_args

import numpy as np
import soundfile as sf
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from groovebox.background import fsync_directory
from groovebox.generate.request import Scale

__all__ = [
    "peak_pairs",
    "resample_peaks",
    "SAMPLE_RATE",
    "SCHEMA_VERSION",
    "SOURCES",
    "Source",
    "Category",
    "LoopRecord",
    "Library",
    "LibraryError",
    "LoopNotFound",
    "LoopInUse",
]

Category = Literal["drums", "bass", "synth", "keys", "vocals", "fx", "ambient", "other"]
CATEGORIES: tuple[str, ...] = get_args(Category)

SAMPLE_RATE = 48000
SCHEMA_VERSION = 1
Source = Literal["generated", "uploaded", "recorded", "scene"]
SOURCES: tuple[str, ...] = ("generated", "uploaded", "recorded", "scene")

_ID_ALPHABET = string.ascii_lowercase + string.digits
_ID_LENGTH = 10
_MAX_TAGS = 32
_MAX_TAG_CHARS = 40
_FULL_SCALE = 1.0 - 2.0 ** -23          # the largest sample 24-bit FLAC stores without clipping
_KEYS = frozenset(scale.value for scale in Scale if scale is not Scale.SCALE_UNSPECIFIED)
_UNSET: Any = object()

LoopId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]

_SCHEMA = [
    """
    CREATE TABLE loops (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        category TEXT NOT NULL,
        tags TEXT NOT NULL DEFAULT '[]',
        bpm REAL,
        bars INTEGER,
        key TEXT NOT NULL DEFAULT '',
        duration_s REAL NOT NULL,
        frames INTEGER NOT NULL,
        source TEXT NOT NULL,
        prompt TEXT NOT NULL DEFAULT '',
        generation_config TEXT,
        seed INTEGER,
        peaks BLOB NOT NULL,
        loudness_lufs REAL,
        created_at TEXT NOT NULL,
        audio_file TEXT NOT NULL
    )
    """,
    "CREATE INDEX loops_created ON loops (created_at)",
    "CREATE INDEX loops_category ON loops (category)",
]
_COLUMNS = ("id", "name", "category", "tags", "bpm", "bars", "key", "duration_s", "frames", "source", "prompt",
            "generation_config", "seed", "peaks", "loudness_lufs", "created_at", "audio_file")


class LibraryError(ValueError):
    """A library operation that cannot be done; the message says why in words a performer understands."""


class LoopNotFound(LibraryError):
    """No loop with that id."""


class LoopInUse(LibraryError):
    """Deleting a loop that projects still use (``projects`` lists them)."""

    def __init__(self, loop_id: str, name: str, projects: Sequence[str]) -> None:
        self.loop_id = loop_id
        self.projects = list(projects)
        super().__init__(f"loop {loop_id!r} ({name}) is used by {len(self.projects)} project(s): "
                         f"{', '.join(self.projects)}; remove it from them or delete with force")


class LoopRecord(BaseModel):
    """One loop's metadata. JSON uses the seed's camelCase names (``loopId``, ``loopName``, ...)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True,
                              allow_inf_nan=False)

    loop_id: LoopId
    name: str = Field(alias="loopName", min_length=1, max_length=100)
    category: Category = "other"
    tags: tuple[str, ...] = ()
    bpm: float | None = Field(default=None, ge=20.0, le=400.0)
    bars: int | None = Field(default=None, ge=1, le=256)
    key: str = ""
    duration_s: float = Field(alias="durationSeconds", gt=0.0)
    frames: int = Field(gt=0)
    source: Source = "uploaded"
    prompt: str = ""
    generation_config: dict[str, Any] | None = None
    seed: int | None = None
    peaks: tuple[tuple[float, float], ...] = Field(default=(), alias="waveformPeaks")
    loudness_lufs: float | None = None
    created_at: datetime
    audio_file: str

    @field_validator("key")
    @classmethod
    def _known_key(cls, key: str) -> str:
        if key and key not in _KEYS:
            raise ValueError(f"key must be '' or a Lyria scale such as C_MAJOR_A_MINOR, got {key!r}")
        return key

    @field_validator("tags", mode="before")
    @classmethod
    def _clean_tags(cls, tags: Any) -> tuple[str, ...]:
        return _clean_tags(tags)


def _clean_tags(tags: Any) -> tuple[str, ...]:
    if isinstance(tags, str) or not isinstance(tags, (list, tuple)):
        raise ValueError("tags must be a list of strings")
    cleaned: list[str] = []
    for tag in tags:
        if not isinstance(tag, str):
            raise ValueError("tags must be a list of strings")
        tag = " ".join(tag.split()).lower()
        if len(tag) > _MAX_TAG_CHARS:
            raise ValueError(f"tag {tag[:20]!r}... is longer than {_MAX_TAG_CHARS} characters")
        if tag and tag not in cleaned:
            cleaned.append(tag)
    if len(cleaned) > _MAX_TAGS:
        raise ValueError(f"at most {_MAX_TAGS} tags")
    return tuple(cleaned)


def _validation_message(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, item['loc'])) or 'record'}: {item['msg']}"
                     for item in error.errors(include_url=False))


class Library:
    """The loop library in ``data_dir`` (created if missing). Thread-safe: each thread gets its own connection."""

    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        self.data_dir = Path(data_dir)
        self.audio_dir = self.data_dir / "library"
        self.db_path = self.data_dir / "groovebox.db"
        self.audio_dir.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._migrate(self._connection())

    def __reduce__(self):
        return (Library, (self.data_dir,))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the calling thread's connection (others close when their thread's Library is collected)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    # ---- reading ----------------------------------------------------------------------------------------

    def get(self, loop_id: str) -> LoopRecord:
        """The loop's record; ``LoopNotFound`` if there is none."""
        row = self._connection().execute(f"SELECT {', '.join(_COLUMNS)} FROM loops WHERE id = ?",
                                         (loop_id,)).fetchone()
        if row is None:
            raise LoopNotFound(f"no loop {loop_id!r} in the library")
        return _record(row)

    def path(self, loop_id: str) -> Path:
        """Where the loop's audio is (``<data_dir>/library/<id>.flac``); ``LoopNotFound`` if not in the library."""
        return self.audio_dir / self.get(loop_id).audio_file

    def list(self, search: str | None = None, category: str | None = None, source: str | None = None,
             limit: int = 100, offset: int = 0, peak_points: int | None = None) -> list[LoopRecord]:
        """Loops, newest first. ``search``: every word must occur (any case) in the name, tags or prompt.
        ``peak_points``: fewer waveform pairs per loop (a list's thumbnails), each group's min and max."""
        if not (0 < limit <= 10_000 and offset >= 0):
            raise LibraryError("limit must be 1-10000 and offset >= 0")
        where, parameters = _filters(search, category, source)
        rows = self._connection().execute(
            f"SELECT {', '.join(_COLUMNS)} FROM loops {where} ORDER BY created_at DESC, rowid DESC "
            "LIMIT ? OFFSET ?", (*parameters, limit, offset)).fetchall()
        return [_record(row, peak_points) for row in rows]

    def count(self, search: str | None = None, category: str | None = None, source: str | None = None) -> int:
        """How many loops ``list`` would return without a limit."""
        where, parameters = _filters(search, category, source)
        return int(self._connection().execute(f"SELECT count(*) FROM loops {where}", parameters).fetchone()[0])

    def tag_counts(self) -> dict[str, int]:
        """Every tag in use and how many loops carry it, most used first."""
        rows = self._connection().execute(
            "SELECT value, count(*) FROM loops, json_each(loops.tags) GROUP BY value "
            "ORDER BY count(*) DESC, value").fetchall()
        return {str(tag): int(count) for tag, count in rows}

    # ---- writing ----------------------------------------------------------------------------------------

    def add(self, audio: np.ndarray, *, name: str, source: Source, category: Category | None = None,
            tags: Sequence[str] = (), bpm: float | None = None, bars: int | None = None, key: str = "",
            prompt: str = "", generation_config: dict[str, Any] | None = None, seed: int | None = None,
            peaks: np.ndarray | None = None, loudness_lufs: float | None = None) -> LoopRecord:
        """Store ``audio`` (float, (frames, 2), 48 kHz) as a new loop and return its record.

        ``category`` None: from the name's words, else "other" (``analysis.guess_category`` listens, at a
        cost). ``peaks`` and ``loudness_lufs`` are computed when None (silence stays None). Raises
        ``LibraryError`` for bad metadata or audio; nothing is left behind on any failure.
        """
        from groovebox.library import analysis  # scipy and pyloudnorm: only when a loop is added

        samples = _engine_audio(audio)
        loop_id = self._new_id()
        try:
            record = LoopRecord(
                loop_id=loop_id, name=name, category=category or analysis.category_from_name(name) or "other",
                tags=tuple(tags), bpm=bpm, bars=bars, key=key, duration_s=samples.shape[0] / SAMPLE_RATE,
                frames=samples.shape[0], source=source, prompt=prompt, generation_config=generation_config,
                seed=seed, peaks=_peak_pairs(analysis.waveform_peaks(samples) if peaks is None else peaks),
                loudness_lufs=analysis.loudness_lufs(samples) if loudness_lufs is None else loudness_lufs,
                created_at=datetime.now(UTC), audio_file=f"{loop_id}.flac")
            json.dumps(generation_config)
        except ValidationError as error:
            raise LibraryError(_validation_message(error)) from None
        except TypeError as error:
            raise LibraryError(f"generationConfig must be JSON data: {error}") from None
        target = self.audio_dir / record.audio_file
        _write_flac_atomically(target, samples)
        try:
            with self._transaction() as connection:
                connection.execute(f"INSERT INTO loops ({', '.join(_COLUMNS)}) VALUES "
                                   f"({', '.join('?' * len(_COLUMNS))})", _row(record))
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return record

    def update(self, loop_id: str, *, name: str = _UNSET, category: Category = _UNSET,
               tags: Sequence[str] = _UNSET, bpm: float | None = _UNSET, bars: int | None = _UNSET,
               key: str = _UNSET) -> LoopRecord:
        """Apply the user's corrections and return the new record; unnamed fields keep their value.

        Giving only ``bpm`` sets ``bars`` to the whole number of bars that fits the loop's duration at that
        tempo (at least 1); giving only ``bars`` sets ``bpm`` from the duration. Give both to set both.
        """
        changes = {field: value for field, value in
                   {"name": name, "category": category, "tags": tags, "bpm": bpm, "bars": bars, "key": key}.items()
                   if value is not _UNSET}
        with self._transaction() as connection:
            current = self.get(loop_id)
            changes = _derive_tempo(current, changes)
            try:
                updated = LoopRecord.model_validate({**current.model_dump(), **changes})
            except ValidationError as error:
                raise LibraryError(_validation_message(error)) from None
            connection.execute("UPDATE loops SET name = ?, category = ?, tags = ?, bpm = ?, bars = ?, key = ? "
                               "WHERE id = ?", (updated.name, updated.category, _tags_json(updated.tags),
                                                updated.bpm, updated.bars, updated.key, loop_id))
        return updated

    def delete(self, loop_id: str, *, force: bool = False,
               referenced_by: Callable[[str], list[str]] | None = None) -> list[str]:
        """Remove the loop (row, then audio file) and return the projects that used it.

        ``referenced_by(loop_id)`` names the projects that use the loop; unless ``force``, a loop in use is
        refused with ``LoopInUse`` (listing them), and with ``force`` the caller removes it from them.
        """
        record = self.get(loop_id)
        projects = list(referenced_by(loop_id)) if referenced_by is not None else []
        if projects and not force:
            raise LoopInUse(loop_id, record.name, projects)
        with self._transaction() as connection:
            if connection.execute("DELETE FROM loops WHERE id = ?", (loop_id,)).rowcount == 0:
                raise LoopNotFound(f"no loop {loop_id!r} in the library")
        (self.audio_dir / record.audio_file).unlink(missing_ok=True)
        return projects

    def sweep(self, min_age_s: float = 3600.0) -> list[str]:
        """Remove leftovers older than ``min_age_s``: temporary files and FLACs without a row. Returns their names.

        The age guard keeps it from racing an ``add`` in another process (file renamed, row not yet committed).
        """
        known = {row[0] for row in self._connection().execute("SELECT audio_file FROM loops")}
        cutoff = time.time() - min_age_s
        removed = []
        for path in self.audio_dir.iterdir():
            leftover = path.name.endswith(".tmp") or (path.suffix == ".flac" and path.name not in known)
            if leftover and path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed.append(path.name)
        return sorted(removed)

    # ---- plumbing ---------------------------------------------------------------------------------------

    def _new_id(self) -> str:
        while True:
            loop_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(_ID_LENGTH))
            taken = self._connection().execute("SELECT 1 FROM loops WHERE id = ?", (loop_id,)).fetchone()
            if taken is None and not (self.audio_dir / f"{loop_id}.flac").exists():
                return loop_id

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.db_path, timeout=5.0, isolation_level=None)
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA foreign_keys = ON")
            connection.execute("PRAGMA synchronous = FULL")
            connection.execute("PRAGMA busy_timeout = 5000")
            connection.create_function("gb_fold", 1, _fold, deterministic=True)
            self._local.connection = connection
        return connection

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def _migrate(self, connection: sqlite3.Connection) -> None:
        with self._transaction():
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise LibraryError(f"{self.db_path}: made by a newer groovebox (schema {version}, "
                                   f"this one knows {SCHEMA_VERSION})")
            if version == 0:
                for statement in _SCHEMA:
                    connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _fold(text: str | None) -> str:
    return "" if text is None else text.casefold()


def _filters(search: str | None, category: str | None, source: str | None) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    parameters: list[Any] = []
    if category is not None:
        if category not in CATEGORIES:
            raise LibraryError(f"unknown category {category!r}; expected one of {', '.join(CATEGORIES)}")
        clauses.append("category = ?")
        parameters.append(category)
    if source is not None:
        if source not in SOURCES:
            raise LibraryError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
        clauses.append("source = ?")
        parameters.append(source)
    for word in (search or "").split():
        clauses.append("instr(gb_fold(name || ' ' || tags || ' ' || prompt), ?) > 0")
        parameters.append(word.casefold())
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), parameters


def _derive_tempo(current: LoopRecord, changes: dict[str, Any]) -> dict[str, Any]:
    bpm, bars = changes.get("bpm", _UNSET), changes.get("bars", _UNSET)
    if isinstance(bpm, (int, float)) and bars is _UNSET and math.isfinite(bpm) and bpm > 0:
        return {**changes, "bars": max(1, round(current.duration_s * bpm / 240.0))}
    if isinstance(bars, int) and bpm is _UNSET and bars > 0:
        return {**changes, "bpm": round(bars * 240.0 / current.duration_s, 3)}
    return changes


def _engine_audio(audio: np.ndarray) -> np.ndarray:
    samples = np.asarray(audio)
    if samples.ndim != 2 or samples.shape[1] != 2 or samples.shape[0] == 0:
        raise LibraryError(f"audio must be shaped (frames, 2) with frames > 0, got {samples.shape}")
    if not np.issubdtype(samples.dtype, np.floating):
        raise LibraryError(f"audio must be floating-point samples, got {samples.dtype}")
    if not np.isfinite(samples).all():
        raise LibraryError("audio contains NaN or infinite samples")
    samples = samples.astype(np.float32, copy=False)
    peak = max(float(samples.max()), -float(samples.min()))
    if peak > _FULL_SCALE:
        samples = samples * np.float32(_FULL_SCALE / peak)        # a copy: the caller's array is not touched
    return samples


def _write_flac_atomically(target: Path, samples: np.ndarray) -> None:
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            sf.write(handle, samples, SAMPLE_RATE, format="FLAC", subtype="PCM_24")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, 0o644)
        os.replace(temp_name, target)
    except BaseException as error:
        Path(temp_name).unlink(missing_ok=True)
        if isinstance(error, (OSError, sf.SoundFileError)):
            raise LibraryError(f"cannot write {target.name}: {error}") from None
        raise
    fsync_directory(target.parent)




def _peak_pairs(peaks: np.ndarray) -> tuple[tuple[float, float], ...]:
    quantised = _quantise_peaks(np.asarray(peaks, dtype=np.float64).reshape(-1, 2))
    return _pairs_from_bytes(quantised.tobytes())


def _quantise_peaks(peaks: np.ndarray) -> np.ndarray:
    return np.clip(np.round(peaks * 127.0), -127, 127).astype(np.int8)


def resample_peaks(peaks: Any, points: int) -> np.ndarray:
    """(min, max) pairs as ``points`` pairs: fewer by taking each group's extremes, more by repeating."""
    values = np.asarray(peaks, dtype=np.float64).reshape(-1, 2)
    if len(values) == 0 or points == len(values):
        return values
    starts = np.arange(points) * len(values) // points
    if points > len(values):
        return values[starts]
    return np.stack([np.minimum.reduceat(values[:, 0], starts), np.maximum.reduceat(values[:, 1], starts)], axis=1)


def peak_pairs(values: np.ndarray) -> tuple[tuple[float, float], ...]:
    """Pairs as JSON-ready tuples rounded to 4 places (stored k/127 values never lie on a rounding tie)."""
    return tuple(map(tuple, np.round(values, 4).tolist()))


def _pairs_from_bytes(blob: bytes, points: int | None = None) -> tuple[tuple[float, float], ...]:
    """The stored int8 pairs as floats, reduced to ``points`` pairs when that is fewer."""
    if points is not None and 0 < points < len(blob) // 2:
        return _thumbnail(blob, points)
    return peak_pairs(np.frombuffer(blob, dtype=np.int8).reshape(-1, 2).astype(np.float64) / 127.0)


@functools.lru_cache(maxsize=512)     # a full list page (limit 500); about 4 MB
def _thumbnail(blob: bytes, points: int) -> tuple[tuple[float, float], ...]:
    """``points`` pairs of a stored waveform, remembered: every list page asks for the same thumbnails, and
    decoding each loop's 256 pairs on every request was the API's biggest cost under load (NumPy calls on
    that many values also let go of the GIL, which the audio render thread then waits for)."""
    values = np.frombuffer(blob, dtype=np.int8).reshape(-1, 2).astype(np.float64) / 127.0
    return peak_pairs(resample_peaks(values, points))


def _tags_json(tags: Sequence[str]) -> str:
    return json.dumps(list(tags), ensure_ascii=False)


def _row(record: LoopRecord) -> tuple[Any, ...]:
    config = None if record.generation_config is None else json.dumps(record.generation_config, ensure_ascii=False)
    return (record.loop_id, record.name, record.category, _tags_json(record.tags), record.bpm, record.bars,
            record.key, record.duration_s, record.frames, record.source, record.prompt, config, record.seed,
            _quantise_peaks(np.array(record.peaks, dtype=np.float64).reshape(-1, 2)).tobytes(),
            record.loudness_lufs, record.created_at.isoformat(timespec="microseconds"), record.audio_file)


def _record(row: Sequence[Any], peak_points: int | None = None) -> LoopRecord:
    values = dict(zip(_COLUMNS, row, strict=True))
    return LoopRecord(
        loop_id=values["id"], name=values["name"], category=values["category"], tags=json.loads(values["tags"]),
        bpm=values["bpm"], bars=values["bars"], key=values["key"], duration_s=values["duration_s"],
        frames=values["frames"], source=values["source"], prompt=values["prompt"],
        generation_config=None if values["generation_config"] is None else json.loads(values["generation_config"]),
        seed=values["seed"], peaks=_pairs_from_bytes(values["peaks"], peak_points),
        loudness_lufs=values["loudness_lufs"],
        created_at=datetime.fromisoformat(values["created_at"]), audio_file=values["audio_file"])
