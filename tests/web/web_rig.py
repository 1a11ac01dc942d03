"""A whole web stack for tests: a real engine on the null audio backend, session, editor, project store, loop
library (with real loops), pairing, and the FastAPI app; ``rig.client`` is a paired TestClient.

    with WebRig(tmp_path) as rig:
        rig.client.get("/api/pads")
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile
from fastapi.testclient import TestClient

from groovebox.config import Settings
from groovebox.control.editor import Editor, library_loop_info
from groovebox.control.projects import ProjectStore
from groovebox.control.session import Session, SessionInfo
from groovebox.engine import Engine
from groovebox.generate.jobs import JobManager
from groovebox.hw import NullBackend
from groovebox.library.importer import import_file
from groovebox.project.model import Project
from groovebox.web import create_app
from groovebox.web.context import WebContext
from groovebox.web.pairing import Pairing

SAMPLE_RATE = 48000


def write_loop_file(path: Path, bpm: float = 120.0, bars: int = 1, seed: int = 1) -> Path:
    """A drum-like loop of ``bars`` bars at ``bpm`` (clicks on each beat over quiet noise) as a WAV file."""
    frames = round(bars * 4 * 60.0 / bpm * SAMPLE_RATE)
    rng = np.random.default_rng(seed)
    audio = rng.normal(0.0, 0.01, (frames, 2)).astype(np.float32)
    beat = round(60.0 / bpm * SAMPLE_RATE)
    for start in range(0, frames, beat):
        length = min(2000, frames - start)
        audio[start:start + length] += (0.8 * np.exp(-np.arange(length) / 300.0))[:, None].astype(np.float32)
    soundfile.write(path, audio, SAMPLE_RATE)
    return path


class WebRig:
    """See the module docstring. ``loops``: library loop ids; ``token``: the paired token."""

    def __init__(self, data_dir: Path, *, loops: int = 2, generator=None, exports=None, live=None,
                 settings: Settings | None = None, project: Project | None = None) -> None:
        """``generator`` defaults to a real JobManager whose workers never start: jobs stay queued."""
        self.data_dir = Path(data_dir)
        if generator is None:
            generator = JobManager(self.data_dir / "generated", library_dir=self.data_dir)
        self.engine = Engine(pads=16)
        self.audio = NullBackend(block_frames=256)
        self.audio.start(self.engine.render)
        self.session = Session(self.engine, self.audio, SessionInfo("null", SAMPLE_RATE, 256))
        self.loops = [import_file(self.data_dir, write_loop_file(self.data_dir / f"loop{n}.wav", seed=n),
                                  name=f"loop {n}").loop_id
                      for n in range(loops)] if loops else []
        self.editor = Editor(project or Project(), self.session.post, library_dir=self.data_dir / "library",
                             loop_info=library_loop_info(self.data_dir), pad_count=16)
        self.projects = ProjectStore(self.data_dir)
        self.pairing = Pairing(self.data_dir / "tokens.json")
        self.context = WebContext(settings=settings or Settings(), data_dir=self.data_dir, session=self.session,
                                  editor=self.editor, projects=self.projects, generator=generator, live=live,
                                  pairing=self.pairing, exports=exports)
        self.app = create_app(self.context)
        self.token, _ = self.pairing.pair(self.pairing.pin(), "test")
        self.client = TestClient(self.app, headers={"Authorization": f"Bearer {self.token}"})
        self.anonymous = TestClient(self.app)

    def settle(self, blocks: int = 40) -> None:
        """Let the engine render and the session apply its events (pad states)."""
        import time

        deadline = time.monotonic() + 2.0
        start = int(self.engine.status[0])
        while int(self.engine.status[0]) < start + blocks * 256 and time.monotonic() < deadline:
            time.sleep(0.005)
        self.session.poll()

    def close(self) -> None:
        self.client.close()
        self.anonymous.close()
        self.audio.stop()

    def __enter__(self) -> WebRig:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
