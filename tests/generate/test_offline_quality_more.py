"""Acceptance, second half of the genres (see ``test_offline_quality.py`` for the gate)."""

import pytest
from test_offline_quality import SEEDS, assert_passes_quality_gate

from groovebox.generate.offline import GENRES

SECOND_HALF = GENRES[len(GENRES) // 2:]


def test_the_two_files_cover_every_genre():
    from test_offline_quality import FIRST_HALF
    assert set(FIRST_HALF) | set(SECOND_HALF) == set(GENRES)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("genre", SECOND_HALF)
def test_loop_passes_the_quality_gate(genre, seed):
    assert_passes_quality_gate(genre, seed)
