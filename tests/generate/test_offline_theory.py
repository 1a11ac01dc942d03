"""Offline generator music theory and rhythm helpers: scales, modes, chords, voicings, grids, Euclid, swing."""

import numpy as np
import pytest

from groovebox.generate.offline.genres import GENRE_TABLE, MOOD_PROGRESSIONS
from groovebox.generate.offline.rhythm import Groove, euclid, parse_grid, step_beat
from groovebox.generate.offline.theory import (
    ChordSymbol,
    Key,
    chord_quality,
    colour_tones,
    distinguishing_degrees,
    nearest_voicing,
    parse_progression,
)
from groovebox.generate.request import Scale, scale_tonic_pitch_class


def _all_progressions() -> list[str]:
    texts = {text for style in GENRE_TABLE.values() for options in style.progressions.values() for text in options}
    texts |= {text for options in MOOD_PROGRESSIONS.values() for text in options}
    return sorted(texts)


def test_key_pitches_follow_the_mode_inside_the_lyria_pitch_set():
    a_minor = Key(Scale.C_MAJOR_A_MINOR, "aeolian")
    assert a_minor.tonic_pc == 9
    assert [a_minor.pitch(d) for d in range(8)] == [69, 71, 72, 74, 76, 77, 79, 81]
    assert a_minor.pitch(-1) == 67
    d_dorian = Key(Scale.C_MAJOR_A_MINOR, "dorian")
    assert d_dorian.tonic_pc == 2 and d_dorian.pitch_classes() == a_minor.pitch_classes() == {0, 2, 4, 5, 7, 9, 11}
    assert Key(Scale.E_FLAT_MAJOR_C_MINOR, "ionian").pitch(0, 4) == 63


@pytest.mark.parametrize("scale", [s for s in Scale if s != Scale.SCALE_UNSPECIFIED])
@pytest.mark.parametrize("mode", ["ionian", "dorian", "phrygian", "lydian", "mixolydian", "aeolian"])
def test_every_mode_of_every_scale_uses_exactly_the_scale_notes(scale, mode):
    key = Key(scale, mode)
    major = scale_tonic_pitch_class(scale)
    assert key.pitch_classes() == {(major + step) % 12 for step in (0, 2, 4, 5, 7, 9, 11)}
    assert {key.pitch(d) % 12 for d in range(-14, 14)} == key.pitch_classes()


def test_degree_near_finds_the_closest_scale_degree():
    key = Key(Scale.C_MAJOR_A_MINOR, "ionian")
    assert key.pitch(key.degree_near(60)) == 60
    assert key.pitch(key.degree_near(61)) == 60          # ties go to the lower note
    assert key.pitch(key.degree_near(84)) == 84


def test_a_key_needs_a_concrete_scale():
    with pytest.raises(ValueError):
        _ = Key(Scale.SCALE_UNSPECIFIED, "aeolian").tonic_pc


def test_parse_progression_reads_modes_numerals_and_shapes():
    progression = parse_progression("aeolian: i7 - iv9 VIsus2 VII5")
    assert progression.mode == "aeolian"
    assert [(c.degree, c.shape) for c in progression.chords] == [(0, "7"), (3, "9"), (5, "sus2"), (6, "5")]
    for bad in ("locrian: i", "aeolian: x", "aeolian:", "aeolian: i13"):
        with pytest.raises(ValueError):
            parse_progression(bad)


@pytest.mark.parametrize("text", _all_progressions())
def test_table_progressions_parse_and_their_numeral_case_matches_the_chord_quality(text):
    progression = parse_progression(text)
    key = Key(Scale.C_MAJOR_A_MINOR, progression.mode)
    for chord in progression.chords:
        quality = chord_quality(key, chord)
        assert quality != "augmented"
        assert chord.numeral[0].isupper() == (quality == "major"), f"{chord.numeral} is {quality} in {text}"


@pytest.mark.parametrize("text", _all_progressions())
def test_table_progressions_sound_both_notes_that_define_the_scale_with_their_colour_tones(text):
    progression = parse_progression(text)
    key = Key(Scale.D_MAJOR_B_MINOR, progression.mode)
    colours = colour_tones(key, progression.chords)
    sounded = {d % 7 for c in progression.chords for d in c.degrees()} | {d % 7 for d in colours.values()}
    fourth, seventh = distinguishing_degrees(key)
    assert fourth in sounded, text
    if text != "ionian: Iadd9 IVadd9":                      # no consonant home for the major 7th there
        assert seventh in sounded, text


def test_distinguishing_degrees_are_the_major_scales_fourth_and_seventh():
    for mode, tonic_pc in (("ionian", 0), ("aeolian", 9), ("dorian", 2), ("mixolydian", 7)):
        key = Key(Scale.C_MAJOR_A_MINOR, mode)
        fourth, seventh = distinguishing_degrees(key)
        assert key.pitch(fourth) % 12 == 5 and key.pitch(seventh) % 12 == 11, mode
        assert key.tonic_pc == tonic_pc


def test_colour_tones_add_a_major_ninth_to_a_one_chord_vamp():
    key = Key(Scale.C_MAJOR_A_MINOR, "aeolian")
    chord = ChordSymbol(0, "")
    colours = colour_tones(key, (chord,))
    assert colours == {chord: 1}                          # B over A minor: a major 9th
    assert (key.pitch(1) - key.pitch(0)) % 12 == 2


def test_shell_voicings_leave_out_the_fifth():
    key = Key(Scale.C_MAJOR_A_MINOR, "ionian")
    assert ChordSymbol(1, "7").pitches(key) == (50, 53, 60)         # D F C
    assert ChordSymbol(0, "").pitches(key) == (48, 52, 55)


def test_nearest_voicing_stays_in_range_and_moves_little():
    first = nearest_voicing((48, 52, 55), None, 55, 72)
    assert all(55 <= p <= 72 for p in first) and sorted(p % 12 for p in first) == [0, 4, 7]
    second = nearest_voicing((53, 57, 60), first, 55, 72)          # F major after C major
    assert sorted(p % 12 for p in second) == [0, 5, 9]
    assert sum(min(abs(p - q) for q in first) for p in second) <= 3


def test_parse_grid_validates_and_reads_velocities():
    assert parse_grid("X.x.g.?.........") == [(0, 1.0, False), (2, 0.8, False), (4, 0.35, False), (6, 0.75, True)]
    for bad in ("x...", "x...x...x...x..z", "x" * 17):
        with pytest.raises(ValueError):
            parse_grid(bad)


def _text(pattern) -> str:
    return "".join("x" if on else "." for on in pattern)


def test_euclid_gives_the_classic_rhythms_and_rotates():
    assert _text(euclid(3, 8)) == "x..x..x."                                   # tresillo
    assert _text(euclid(5, 8)) in "x.xx.xx." * 2 and euclid(5, 8)[0]           # a rotation of the cinquillo
    assert sum(euclid(7, 16)) == 7
    assert euclid(3, 8, 3) == euclid(3, 8)[3:] + euclid(3, 8)[:3]
    with pytest.raises(ValueError):
        euclid(9, 8)


def test_swing_moves_only_offbeat_sixteenths():
    assert step_beat(1, 0, 0.6) == 4.0
    assert step_beat(0, 2, 0.6) == 0.5
    assert step_beat(0, 1, 0.5) == 0.25
    assert step_beat(0, 1, 0.58) == pytest.approx(0.25 + 0.16 * 0.25)


def test_a_groove_repeats_every_beat_and_keeps_the_beats_exact():
    groove = Groove(np.random.default_rng(1), 0.008, 1.1)
    assert groove.offset_s(0) == groove.offset_s(4) == 0.0
    assert groove.at_beat(4.0) == groove.at_beat(1.0) == 0.0
    assert groove.at_beat(1.25) == groove.at_beat(5.25) == groove.at_beat(2.25) == groove.offset_s(5) == groove.offset_s(1)
    assert groove.at_beat(0.29) == groove.offset_s(1)      # a swung 16th keeps its step's offset
    assert any(groove.offset_s(step) != 0.0 for step in range(1, 4))
    assert all(abs(groove.offset_s(step)) <= 0.016 for step in range(16))
    assert all(Groove(np.random.default_rng(1), 0.008, 0.0).offset_s(step) == 0.0 for step in range(16))
