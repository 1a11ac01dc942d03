"""Acceptance: every offline genre, three seeds each, 4 bars, passes the loop-quality gate of
``groovebox.generate.metrics`` (reference/generation.md §2.3): exact length, tempo within 0.1 BPM, key rank 0
on the tonal stems, loudness/peak after normalisation, silence (ambient excepted) and the seam.

The genres are split over this file and ``test_offline_quality_more.py`` to keep each file short to run.
"""

import math

import pytest

from groovebox.generate import metrics
from groovebox.generate.offline import GENRES, render_offline
from groovebox.generate.request import GenerationRequest

SAMPLE_RATE = 48000
SEEDS = (1, 2, 3)
FIRST_HALF = GENRES[: len(GENRES) // 2]


def assert_passes_quality_gate(genre: str, seed: int) -> None:
    loop = render_offline(GenerationRequest(prompt="a loop", genre=genre, bars=4), seed)
    assert len(loop.audio) == round(4 * 4 * 60 / loop.bpm * SAMPLE_RATE)

    tonal = sum(loop.stems[part] for part in ("bass", "chords", "melody") if part in loop.stems)
    rank, in_scale = metrics.key_adherence(tonal, SAMPLE_RATE, loop.scale)
    assert rank == 0, f"{loop.scale.value}: in-scale share {in_scale:.2f}"

    normalised = metrics.normalise_loop(loop.audio, SAMPLE_RATE, target_lufs=metrics.TARGET_LUFS,
                                        ceiling_dbfs=metrics.CEILING_DBFS)
    measured = metrics.measure(normalised, SAMPLE_RATE, loop.bpm, loop.bars)
    assert not math.isnan(measured.tempo_bpm)
    assert abs(measured.tempo_error_bpm) <= 0.1
    assert abs(measured.loudness_lufs - metrics.TARGET_LUFS) <= 1.0
    assert measured.peak_dbfs <= metrics.CEILING_DBFS + 1e-3
    if genre != "ambient":
        assert measured.silence_ratio <= 0.25
    assert measured.seam_db <= 3.0


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("genre", FIRST_HALF)
def test_loop_passes_the_quality_gate(genre, seed):
    assert_passes_quality_gate(genre, seed)
