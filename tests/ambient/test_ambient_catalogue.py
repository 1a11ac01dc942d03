"""The catalogue covers every element kind, its archetypes and lexicon only name real kinds and mix fields."""

import pytest

from groovebox.ambient.catalogue import (
    ARCHETYPES,
    DEFAULT_ARCHETYPE,
    ELEMENTS,
    LEXICON,
    element,
)
from groovebox.ambient.scene import MAX_LAYERS, MIN_LAYERS, ElementKind, SceneLayer
from groovebox.ambient.synth import RECIPES

EVENT_KINDS = {ElementKind.THUNDER, ElementKind.FOOTSTEPS, ElementKind.FOOTSTEPS_WET, ElementKind.FOOTSTEPS_SNOW,
               ElementKind.BIRDS, ElementKind.OWL, ElementKind.SIRENS, ElementKind.BELLS, ElementKind.SEAGULLS,
               ElementKind.TRAIN, ElementKind.SHIP_CREAK}


@pytest.mark.parametrize("kind", list(ElementKind), ids=str)
def test_every_kind_has_a_complete_entry(kind):
    entry = element(kind)
    assert entry.kind == kind
    assert len(entry.description) >= 10 and len(entry.heard_in) >= 3 and entry.tags
    assert entry.role in ("bed", "events")
    assert entry.recipe in RECIPES
    assert entry.soft_word and entry.strong_word
    SceneLayer(kind=kind, gain_db=entry.gain_db, spread=entry.spread, distance=entry.distance,
               reverb_send=entry.reverb_send, delay_send=entry.delay_send, intensity=entry.intensity)


def test_scheduled_sounds_are_events_and_textures_are_beds():
    roles = {kind: ELEMENTS[kind].role for kind in ElementKind}
    assert {kind for kind, role in roles.items() if role == "events"} == EVENT_KINDS
    assert roles[ElementKind.RAIN] == roles[ElementKind.MUSIC_BED] == "bed"


def test_at_least_twenty_distinct_recipes_cover_the_kinds():
    used = {ELEMENTS[kind].recipe for kind in ElementKind}
    assert len(used) >= 20
    assert used == set(RECIPES)                      # no recipe is unreachable


def test_about_thirty_archetypes_with_valid_layers():
    assert len(ARCHETYPES) >= 30 and DEFAULT_ARCHETYPE in ARCHETYPES
    fields = set(SceneLayer.model_fields) | {"trim_db"}
    for name, archetype in ARCHETYPES.items():
        assert archetype.name == name and archetype.title and archetype.opener and archetype.keywords
        assert MIN_LAYERS <= len(archetype.layers) <= MAX_LAYERS, name
        assert len(set(archetype.kinds)) == len(archetype.kinds), name
        for kind, overrides in archetype.layers:
            assert isinstance(kind, ElementKind)
            assert set(overrides) <= fields, (name, kind, overrides)


def test_every_kind_is_reachable_from_words_or_archetypes():
    reachable = {kind for kinds in LEXICON.values() for kind in kinds}
    reachable |= {kind for archetype in ARCHETYPES.values() for kind in archetype.kinds}
    assert reachable == set(ElementKind)
