"""Engine test helpers: offline renders of simple, recognisable pad audio."""

import numpy as np
import pytest

from groovebox.engine import Engine
from groovebox.engine import commands as c

SR = 48000


def dc_audio(frames: int, level: float = 0.5) -> np.ndarray:
    """Constant audio: the first non-zero output sample is exactly where a pad starts."""
    return np.full((frames, 2), level, np.float32)


def first_nonzero(out: np.ndarray, start: int = 0) -> int:
    hits = np.flatnonzero(np.abs(out[start:, 0]) > 0)
    return start + int(hits[0]) if len(hits) else -1


@pytest.fixture
def make_engine():
    def make(tempo_bpm=120.0, quantize=c.Quantize.BAR, **kwargs):
        engine = Engine(sample_rate=SR, max_block_frames=2048, tempo_bpm=tempo_bpm, **kwargs)
        engine.post(c.SetQuantize(quantize))
        return engine
    return make
