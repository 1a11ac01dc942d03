"""Recording the live mix (the master output, what the audience hears) to a file (control loop).

The engine copies every rendered block into a ``MasterTap`` ring; a task on the control loop drains it
every ``DRAIN_S`` and a worker thread encodes the audio to ``<data>/recordings/mix-<date>-<time>.flac``.

Decisions:
- FLAC, 24-bit, 48 kHz stereo: lossless, about a third of WAV's size, readable everywhere.
- Recording starts at the next audio block (not on a bar: a set has an intro) and runs until stopped.
- While recording the file is ``<name>.flac.part``; stopping closes and renames it. A ``.part`` left by a
  crash is renamed to ``<name>.flac`` the next time the daemon starts (libsndfile wrote whole frames, so the
  audio up to the last drain is there).
- A full disk or any write error stops the recording, keeps what was written and reports the error; the
  audio is never affected. A control loop so busy that the ring (``RING_S``) overflows leaves a gap, counted
  in ``lost_frames``.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from pathlib import Path

import soundfile

from groovebox.engine import commands as c
from groovebox.engine.tap import MasterTap

__all__ = ["MixRecorder", "MixRecordError", "RecordingNotFound", "RECORDING_NAME"]

log = logging.getLogger(__name__)

RING_S = 10.0
DRAIN_S = 0.25
RECORDING_NAME = re.compile(r"^mix-\d{8}-\d{6}(-\d+)?\.flac$")


class MixRecordError(Exception):
    """The mix recording cannot start or stop; the message says why."""


class RecordingNotFound(MixRecordError):
    """There is no finished recording of that name."""


class MixRecorder:
    """Records the master output to FLAC files in ``folder``. Control loop only."""

    def __init__(self, session, folder: Path, sample_rate: int = 48000) -> None:
        self.session = session
        self.folder = folder
        self.sample_rate = sample_rate
        self.path: Path | None = None
        self.error = ""
        self.lost_frames = 0
        self._tap: MasterTap | None = None
        self._file: soundfile.SoundFile | None = None
        self._frames = 0
        self._task: asyncio.Task | None = None
        self._stopping = False
        self._recover_unfinished()

    @property
    def recording(self) -> bool:
        return self._tap is not None

    async def start(self) -> dict:
        """Start recording the mix; MixRecordError when it already runs or the file cannot be created."""
        if self.recording:
            raise MixRecordError(f"the mix is already being recorded to {self.path.name}")
        path = self._new_path()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._file = await asyncio.to_thread(
                soundfile.SoundFile, str(path) + ".part", "w", self.sample_rate, 2, "PCM_24", None, "FLAC")
        except (OSError, RuntimeError) as error:
            raise MixRecordError(f"cannot create {path.name}: {error}") from None
        self.path, self.error, self.lost_frames, self._frames, self._stopping = path, "", 0, 0, False
        self._tap = MasterTap(int(RING_S * self.sample_rate))
        self.session.post(c.SetMasterTap(self._tap))
        self._task = asyncio.get_running_loop().create_task(self._drain_until_stopped())
        log.info("recording the mix to %s", path)
        return self.describe()

    async def stop(self) -> dict:
        """Stop, write the rest and close the file; returns the finished recording."""
        if not self.recording:
            raise MixRecordError("the mix is not being recorded")
        self._stopping = True
        await self._task
        return self.describe()

    def describe(self) -> dict:
        """For ``/api/mix-recording``: whether it records, the file, seconds so far, gaps, the last error."""
        return {"recording": self.recording, "file": self.path.name if self.path else None,
                "seconds": round(self._frames / self.sample_rate, 2), "lostFrames": self.lost_frames,
                "error": self.error}

    def recordings(self) -> list[dict]:
        """Finished recordings, newest first: file name, size in bytes and length in seconds."""
        found = []
        for path in sorted(self.folder.glob("mix-*.flac"), reverse=True):
            if not RECORDING_NAME.match(path.name):
                continue
            try:
                frames = soundfile.info(str(path)).frames
            except (OSError, RuntimeError):
                continue
            found.append({"file": path.name, "bytes": path.stat().st_size,
                          "seconds": round(frames / self.sample_rate, 2)})
        return found

    def delete(self, name: str) -> None:
        """Delete the finished recording called ``name`` (MixRecordError when there is none)."""
        if self.path is not None and self.recording and name == self.path.name:
            raise MixRecordError(f"{name} is being recorded; stop it first")
        self.file(name).unlink()

    def file(self, name: str) -> Path:
        """The finished recording called ``name``; MixRecordError when there is none."""
        path = self.folder / name
        if not RECORDING_NAME.match(name) or not path.is_file():
            raise RecordingNotFound(f"no recording {name[:80]!r}")
        return path

    # ------------------------------------------------------------------ internals
    async def _drain_until_stopped(self) -> None:
        while not self._stopping:
            await asyncio.sleep(DRAIN_S)
            if not await self._drain():
                break
        await self._finish()

    async def _drain(self) -> bool:
        """Write what the tap holds; False after a write error (it is kept in ``error``)."""
        audio, lost = self._tap.read()
        if lost:
            self.lost_frames += lost
            log.warning("the mix recording lost %d frames (the control loop was busy)", lost)
        if not len(audio):
            return True
        try:
            await asyncio.to_thread(self._file.write, audio)
        except (OSError, RuntimeError) as error:
            self.error = f"recording stopped: cannot write {self.path.name} ({error})"
            log.warning("%s", self.error)
            return False
        self._frames += len(audio)
        return True

    async def _finish(self) -> None:
        """Stop the tap, write its last blocks, close and rename the file (keeping what it has)."""
        self.session.post(c.SetMasterTap(None))
        await asyncio.sleep(2 * self.session.audio.block_frames / self.sample_rate + 0.01)   # the engine lets go
        if not self.error:
            await self._drain()
        self._tap = None
        try:
            await asyncio.to_thread(self._file.close)
            Path(str(self.path) + ".part").replace(self.path)
        except (OSError, RuntimeError) as error:
            self.error = self.error or f"cannot finish {self.path.name}: {error}"
            log.warning("%s", self.error)
        self._file = None
        log.info("mix recording %s: %.1f s", self.path.name, self._frames / self.sample_rate)

    def _new_path(self) -> Path:
        stem = time.strftime("mix-%Y%m%d-%H%M%S")
        path, number = self.folder / f"{stem}.flac", 1
        while path.exists() or Path(str(path) + ".part").exists():
            number += 1
            path = self.folder / f"{stem}-{number}.flac"
        return path

    def _recover_unfinished(self) -> None:
        for part in self.folder.glob("mix-*.flac.part"):
            try:
                part.replace(part.with_suffix(""))
                log.warning("kept the unfinished mix recording %s (the daemon stopped while recording)",
                            part.with_suffix("").name)
            except OSError as error:
                log.warning("cannot recover %s: %s", part.name, error)
