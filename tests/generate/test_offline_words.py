"""Offline generator text reading: genre resolution, moods, which parts and which instruments."""

import pytest

from groovebox.generate.offline import GENRE_ALIASES, GENRE_TABLE, GENRES, resolve_genre
from groovebox.generate.offline.genres import DEFAULT_GENRE
from groovebox.generate.offline.plan import choose_parts, make_plan
from groovebox.generate.offline.words import (
    find_mood,
    find_parts,
    find_voices,
    strip_genre_words,
)
from groovebox.generate.request import GenerationRequest


def _request(prompt: str = "a loop", **fields) -> GenerationRequest:
    return GenerationRequest(prompt=prompt, **fields)


def _parts(prompt: str, **fields) -> tuple[str, ...]:
    request = _request(prompt, **fields)
    style = GENRE_TABLE[resolve_genre(request)]
    return choose_parts(request, style, strip_genre_words(request.described()))


def test_the_required_genres_are_all_there():
    for name in ("house", "techno", "hip-hop", "trap", "drum-and-bass", "reggaeton", "afrobeat", "lo-fi", "rock",
                 "funk", "ambient"):
        assert name in GENRES
    assert GENRES == tuple(GENRE_TABLE)


@pytest.mark.parametrize("genre", GENRES)
def test_an_explicit_genre_name_wins(genre):
    assert resolve_genre(_request("dreamy ambient pads", genre=genre)) == genre


@pytest.mark.parametrize("alias, genre", [("dnb", "drum-and-bass"), ("boom bap", "hip-hop"), ("hiphop", "hip-hop"),
                                          ("lofi", "lo-fi"), ("Drum & Bass", "drum-and-bass"), ("Deep House", "house")])
def test_aliases_resolve_in_the_genre_field(alias, genre):
    assert resolve_genre(_request(genre=alias)) == genre
    assert GENRE_ALIASES.get(alias.lower(), genre) == genre


@pytest.mark.parametrize("prompt, genre", [
    ("lo-fi hip hop beat to study to", "lo-fi"),            # the longer phrase beats "hip hop"
    ("dark ambient techno", "techno"),                     # the head noun comes last
    ("liquid drum and bass with pads", "drum-and-bass"),
    ("dembow groove", "reggaeton"),
    ("Fela style afrobeat jam", "afrobeat"),
    ("modern afrobeats party", "afrobeats"),
    ("boom-bap with dusty keys", "hip-hop"),
    ("minimal Techno", "techno"),
    ("garage rock riff", "rock"),
    ("funky slap groove", "funk"),
])
def test_genre_keywords_in_free_text(prompt, genre):
    assert resolve_genre(_request(prompt)) == genre


def test_unknown_genres_fall_back_to_keywords_then_the_default():
    assert resolve_genre(_request("chill beats for studying", genre="polka")) == "lo-fi"
    assert resolve_genre(_request("something nice", genre="zydeco-metal")) == DEFAULT_GENRE == "house"
    assert resolve_genre(_request("x")) == "house"
    make_plan(_request("something", genre="no such genre at all"), 3)        # never raises


def test_moods_come_from_the_mood_field_first():
    assert find_mood("", "a dark rolling groove") == "dark"
    assert find_mood("happy", "a dark rolling groove") == "bright"
    assert find_mood("", "jazzy keys") == "jazzy"
    assert find_mood("", "a plain loop") is None


@pytest.mark.parametrize("prompt, instrument, parts", [
    ("funky drum beat", "", ("drums",)),
    ("just a beat", "", ("drums",)),
    ("deep bassline", "", ("bass",)),
    ("house", "Drums", ("drums",)),
    ("beat with piano", "", ("drums", "chords", "melody")),
    ("bass and drums", "", ("drums", "bass")),
    ("piano melody", "", ("melody",)),
    ("warm chords", "", ("chords",)),
    ("liquid drum and bass", "", ("drums", "bass", "chords", "melody")),     # a genre, not two parts
    ("deep house groove", "", ("drums", "bass", "chords", "melody")),
    ("dreamy soundscape", "", ("drums", "chords", "melody")),               # ambient: pads, sparse melody, ticks
])
def test_part_words_choose_the_parts(prompt, instrument, parts):
    assert _parts(prompt, instrument=instrument) == parts


def test_mute_flags_and_only_bass_and_drums():
    assert _parts("deep house", mute_bass=True) == ("drums", "chords", "melody")
    assert _parts("deep house", mute_drums=True) == ("bass", "chords", "melody")
    assert _parts("deep house", only_bass_and_drums=True) == ("drums", "bass")
    assert _parts("piano melody", only_bass_and_drums=True) == ("drums", "bass")
    assert _parts("deep house", only_bass_and_drums=True, mute_bass=True) == ("drums",)
    assert _parts("a beat", mute_drums=True) == ("chords", "melody")            # never silence


def test_instrument_words_choose_voices():
    assert find_voices("a piano ballad") == {"chords": "gm:0", "melody": "gm:0"}
    assert find_voices("rhodes chords and a flute melody") == {"chords": "gm:4", "melody": "gm:73"}
    assert find_voices("303 acid bass") == {"bass": "acid"}
    assert find_voices("synth pads") == {"chords": "pad"}
    assert find_voices("string section") == {"chords": "gm:48", "melody": "gm:48"}
    assert find_voices("live drums") == {"kit": "acoustic"}
    assert find_parts("a heartbeat") == set()                                   # whole words only


def test_instrument_words_reach_the_plan():
    plan = make_plan(_request("house groove with strings"), 4)
    assert {p.name: p.voice for p in plan.parts}["chords"] == "gm:48"
    plan = make_plan(_request("acid house"), 4)
    assert plan.genre == "house" and {p.name: p.voice for p in plan.parts}["bass"] == "acid"
    plan = make_plan(_request("techno with live drums"), 4)
    assert plan.kit == "acoustic"
