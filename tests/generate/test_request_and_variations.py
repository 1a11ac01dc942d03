"""GenerationRequest validation and seeds; variations derived from an original request."""

import random

import pytest
from pydantic import ValidationError

from groovebox.generate.request import SEED_MAX, GenerationRequest, Scale, scale_tonic_pitch_class
from groovebox.generate.variations import VARIATIONS, vary


def test_defaults_and_weighted_prompts():
    request = GenerationRequest(prompt="  dusty   boom bap ", genre="hip-hop", mood="mellow")
    assert request.prompt == "dusty boom bap"
    assert (request.bars, request.options, request.engine, request.scale) == (4, 1, "auto", Scale.SCALE_UNSPECIFIED)
    assert request.weighted_prompts() == [("dusty boom bap", 1.0), ("hip-hop", 0.8), ("mellow", 0.5)]
    assert request.described() == "dusty boom bap hip-hop mellow"


@pytest.mark.parametrize("fields", [
    {"prompt": ""}, {"prompt": "x" * 501}, {"prompt": "a", "bpm": 59}, {"prompt": "a", "bpm": 201},
    {"prompt": "a", "bars": 0}, {"prompt": "a", "options": 6}, {"prompt": "a", "density": 1.5},
    {"prompt": "a", "scale": "H_MAJOR"}, {"prompt": "a", "seed": -1}, {"prompt": "a", "unknown": 1},
    {"prompt": "a\x07b"}, {"prompt": "a", "keep_parts": ["vocals"]},
])
def test_bad_requests_are_refused(fields):
    with pytest.raises(ValidationError):
        GenerationRequest.model_validate(fields)


def test_resolved_draws_a_seed_once_and_options_follow_it():
    request = GenerationRequest(prompt="techno", options=3).resolved(random.Random(1))
    assert request.seed is not None and request.resolved() is request
    assert [request.option_seed(k) for k in range(3)] == [request.seed, request.seed + 1, request.seed + 2]
    assert GenerationRequest(prompt="x", seed=SEED_MAX).option_seed(1) == 0
    with pytest.raises(ValueError, match="resolve"):
        GenerationRequest(prompt="x").option_seed(0)


def test_scale_tonics():
    assert scale_tonic_pitch_class(Scale.C_MAJOR_A_MINOR) == 0
    assert scale_tonic_pitch_class(Scale.B_MAJOR_A_FLAT_MINOR) == 11
    assert scale_tonic_pitch_class(Scale.SCALE_UNSPECIFIED) is None


ORIGINAL = GenerationRequest(prompt="deep house", instrument="piano", density=0.5, temperature=1.1, seed=42,
                             options=3)


@pytest.mark.parametrize("variation", VARIATIONS)
def test_every_variation_has_a_new_seed_and_one_option(variation):
    varied = vary(ORIGINAL, variation)
    assert varied.seed != ORIGINAL.seed and varied.options == 1
    assert varied.bpm == ORIGINAL.bpm and varied.bars == ORIGINAL.bars
    assert vary(ORIGINAL, variation) == varied                   # deterministic from the original
    assert (varied.keep_seed == ORIGINAL.seed) == bool(varied.keep_parts)


def test_what_each_variation_changes():
    complex_ = vary(ORIGINAL, "more_complex")
    assert complex_.density == 0.75 and complex_.temperature == pytest.approx(1.3) and "busier" in complex_.prompt
    simpler = vary(ORIGINAL, "simpler")
    assert simpler.density == pytest.approx(0.2) and "sparse" in simpler.prompt and simpler.keep_parts == ()
    instrument = vary(ORIGINAL, "different_instrument")
    assert instrument.instrument not in ("", "piano") and instrument.keep_parts == ("drums", "bass", "chords", "melody")
    rhythm = vary(ORIGINAL, "different_rhythm")
    assert rhythm.keep_parts == ("chords", "melody") and "rhythm" in rhythm.prompt
    melody = vary(ORIGINAL, "different_melody")
    assert melody.keep_parts == ("drums", "bass", "chords")
    assert vary(vary(ORIGINAL, "more_complex"), "more_complex").prompt.count("busier") == 1


def test_vary_refuses_unknown_kinds_and_unseeded_originals():
    with pytest.raises(ValueError, match="unknown variation"):
        vary(ORIGINAL, "louder")
    with pytest.raises(ValueError, match="no seed"):
        vary(GenerationRequest(prompt="x"), "simpler")


def _parts(request, seed):
    from groovebox.generate.offline import make_plan

    plan = make_plan(request, seed)
    return plan, {part.name: (part.notes, part.hits) for part in plan.parts}


@pytest.mark.parametrize("variation, kept, changed", [
    ("different_rhythm", {"chords", "melody"}, {"drums", "bass"}),
    ("different_melody", {"drums", "bass", "chords"}, {"melody"}),
    ("different_instrument", {"drums", "bass", "chords", "melody"}, set()),
])
def test_offline_variations_keep_their_parts_note_for_note(variation, kept, changed):
    original = GenerationRequest(prompt="funk groove", genre="funk", bpm=105, seed=1234)
    plan, parts = _parts(original, original.seed)
    varied = vary(original, variation)
    varied_plan, varied_parts = _parts(varied, varied.seed)
    assert varied_plan.scale == plan.scale and varied_plan.progression == plan.progression
    for part in kept & set(parts):
        if variation == "different_instrument" and part in ("chords", "melody"):
            assert [n.pitch for n in varied_parts[part][0]] == [n.pitch for n in parts[part][0]]
        else:
            assert varied_parts[part] == parts[part], part
    for part in changed & set(parts):
        assert varied_parts[part] != parts[part], part
