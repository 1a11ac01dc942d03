"""Offline generator musical plans: genre tables, tempo, key, parts, density/brightness/temperature, phrasing."""

from collections import Counter

import numpy as np
import pytest

from groovebox.generate.offline import GENRE_TABLE, GENRES, make_plan
from groovebox.generate.offline import plan as plan_module
from groovebox.generate.offline.bass import BASS_TEMPLATES
from groovebox.generate.offline.harmony import CHORD_RHYTHMS
from groovebox.generate.offline.keyguard import (
    MAX_MOVED_SHARE,
    TARGET_MARGIN,
    guard_key,
    scale_margin,
)
from groovebox.generate.offline.rhythm import parse_grid
from groovebox.generate.offline.theory import MINOR_MODES, parse_progression
from groovebox.generate.offline.voices import SYNTH_VOICES
from groovebox.generate.request import GenerationRequest, Scale, scale_tonic_pitch_class


def _plan(genre: str = "", prompt: str = "a loop", seed: int = 1, **fields):
    return make_plan(GenerationRequest(prompt=prompt, genre=genre, **fields), seed)


def _part(plan, name):
    return next(p for p in plan.parts if p.name == name)


def _steps(hits_or_notes, bar: int) -> list[int]:
    return sorted({round((e.beat - 4 * bar) * 4) for e in hits_or_notes if 4 * bar <= e.beat < 4 * bar + 4})


@pytest.mark.parametrize("name", GENRES)
def test_genre_rows_are_well_formed(name):
    style = GENRE_TABLE[name]
    low, typical, high = style.tempo_bpm
    assert 60 <= low <= typical <= high <= 200
    assert 0.5 <= style.swing <= 0.66
    for grid in style.drums.values():
        parse_grid(grid)
    for voice in style.bass_voices + style.chord_voices + style.melody_voices:
        assert voice in SYNTH_VOICES or (voice.startswith("gm:") and 0 <= int(voice[3:]) <= 127), voice
    assert style.bass in BASS_TEMPLATES or style.bass in ("808", "follow_kick", "reese", "drone")
    assert style.chords in CHORD_RHYTHMS or style.chords in ("sustain", "pad")
    assert "default" in style.progressions
    for options in style.progressions.values():
        for text in options:
            parse_progression(text)
    assert set(style.parts) <= {"drums", "bass", "chords", "melody"} <= set(style.levels_db)


@pytest.mark.parametrize("genre, bpm", [("house", 124), ("techno", 132), ("hip-hop", 90), ("trap", 140),
                                        ("drum-and-bass", 174), ("reggaeton", 94), ("lo-fi", 80), ("rock", 120),
                                        ("funk", 105), ("ambient", 70)])
def test_no_bpm_means_the_genres_typical_tempo(genre, bpm):
    assert _plan(genre).bpm == bpm
    assert _plan(genre, bpm=100).bpm == 100


def test_genres_sound_like_themselves_at_temperature_zero():
    house = _part(_plan("house", temperature=0.0, density=0.5), "drums").hits
    assert _steps([h for h in house if h.voice == "kick"], 0) == [0, 4, 8, 12]        # four on the floor
    assert _steps([h for h in house if h.voice == "clap"], 0) == [4, 12]
    trap = _part(_plan("trap", temperature=0.0), "drums").hits
    assert _steps([h for h in trap if h.voice == "clap"], 0) == [8]                    # half-time snare on 3
    dnb = _part(_plan("drum-and-bass", temperature=0.0, density=0.4), "drums").hits
    assert _steps([h for h in dnb if h.voice == "kick"], 0) == [0, 10]
    reggaeton = _part(_plan("reggaeton", temperature=0.0, density=0.4), "drums").hits
    assert _steps([h for h in reggaeton if h.voice == "snare"], 0) == [3, 6, 11, 14]   # dembow 3+3+2
    hip_hop = _plan("hip-hop", density=0.95)
    assert 0.55 <= hip_hop.style.swing <= 0.62
    offbeat = next(h for h in _part(hip_hop, "drums").hits if h.voice == "hat" and round(h.beat * 4) % 2)
    assert (offbeat.beat * 4) % 1 > 0.1                                               # swung 16ths land late
    ambient = _plan("ambient")
    assert {h.voice for h in _part(ambient, "drums").hits} == {"tick"} and ambient.style.levels_db["drums"] <= -12


def test_bass_styles_follow_the_genre():
    house_bass = _part(_plan("house", temperature=0.0, density=0.5), "bass").notes
    assert _steps(house_bass, 0) == [2, 6, 10, 14]                                     # offbeat roots
    trap_bass = _part(_plan("trap", seed=3), "bass")
    assert trap_bass.voice == "808"
    assert max(n.length_beats for n in trap_bass.notes) >= 1.5
    assert any(n.glide_from is not None for seed in range(1, 6) for n in _part(_plan("trap", seed=seed), "bass").notes)
    techno_bass = _part(_plan("techno", temperature=0.0), "bass").notes
    assert len(_steps(techno_bass, 0)) >= 8 and 0 not in _steps(techno_bass, 0)        # rolling 16ths off the kick
    funk_bass = [n.pitch for n in _part(_plan("funk", temperature=0.0), "bass").notes]
    assert max(funk_bass) - min(funk_bass) >= 12                                       # octave jumps


@pytest.mark.parametrize("genre", GENRES)
def test_every_tonal_note_is_in_the_requested_scale(genre):
    for seed, scale in ((1, Scale.A_MAJOR_G_FLAT_MINOR), (2, Scale.SCALE_UNSPECIFIED)):
        plan = _plan(genre, seed=seed, scale=scale)
        if scale != Scale.SCALE_UNSPECIFIED:
            assert plan.scale == scale
        allowed = {(scale_tonic_pitch_class(plan.scale) + step) % 12 for step in (0, 2, 4, 5, 7, 9, 11)}
        for part in plan.parts:
            for note in part.notes:
                assert note.pitch % 12 in allowed and 24 <= note.pitch <= 96, (part.name, note)


def test_unspecified_scale_is_drawn_from_the_seed():
    scales = [_plan("house", seed=seed).scale for seed in range(12)]
    assert len(set(scales)) >= 5 and Scale.SCALE_UNSPECIFIED not in scales
    assert scales == [_plan("house", seed=seed).scale for seed in range(12)]


def test_mood_picks_major_or_minor_material():
    assert all(_plan("house", mood="happy", seed=s).key.mode not in MINOR_MODES for s in range(6))
    assert all(_plan("house", mood="dark", seed=s).key.mode in MINOR_MODES for s in range(6))
    assert all(_plan("lo-fi", prompt="jazzy chill", seed=s).progression.text for s in range(3))


def test_density_sets_notes_and_hits_per_bar():
    def counts(density):
        plan = _plan("house", density=density, seed=5)
        return len(_part(plan, "melody").notes), len(_part(plan, "drums").hits)
    sparse, busy = counts(0.1), counts(0.95)
    assert busy[0] > sparse[0] + 8 and busy[1] > sparse[1] + 8


def test_brightness_raises_the_register():
    def mean_pitch(brightness, part):
        return np.mean([n.pitch for seed in range(4) for n in _part(_plan("house", brightness=brightness, seed=seed), part).notes])
    assert mean_pitch(0.95, "melody") > mean_pitch(0.05, "melody") + 6
    assert mean_pitch(0.95, "chords") > mean_pitch(0.05, "chords") + 5


def test_temperature_sets_how_much_the_bars_vary():
    def varied_bars(temperature):
        drums = _part(_plan("techno", bars=8, temperature=temperature, seed=2), "drums").hits
        bars = [tuple(sorted((round(h.beat * 4) % 16, h.voice) for h in drums if 4 * b <= h.beat < 4 * b + 4)) for b in range(8)]
        return len({bars[i] for i in (0, 1, 2, 4, 5, 6)})               # leave out the fill bars 3 and 7
    assert varied_bars(0.0) == 1
    assert varied_bars(2.5) >= 4
    calm = _part(_plan("techno", temperature=0.0), "drums").hits
    assert all(h.offset_s == 0.0 for h in calm)


def test_melody_phrases_aaab():
    melody = _part(_plan("house", temperature=0.0, seed=7), "melody").notes
    a, a2, a3, b = (_steps(melody, bar) for bar in range(4))
    assert a == a2 == a3                                       # A A' A share the motif's rhythm
    assert [s for s in b if s < 8] == [s for s in a if s < 8]  # B keeps A's first half
    assert b != a or len(b) == 1


@pytest.mark.parametrize("bars", [1, 2, 3, 8, 16])
def test_any_length_plans_cover_the_loop(bars):
    plan = _plan("funk", bars=bars)
    assert plan.timeline[0].start_beat == 0.0
    assert sum(span.length_beats for span in plan.timeline) == 4 * bars
    for part in plan.parts:
        events = part.notes or part.hits
        assert events and all(0.0 <= e.beat < 4 * bars for e in events)


@pytest.mark.parametrize("genre", ["afrobeats", "techno", "funk", "hip-hop"])
def test_the_key_guard_moves_only_pitches_and_raises_the_margin(genre, monkeypatch):
    monkeypatch.setattr(plan_module, "guard_key", lambda parts, key, timeline: parts)
    raw = _plan(genre, seed=9)
    guarded = guard_key(list(raw.parts), raw.key, raw.timeline)
    for before, after in zip(raw.parts, guarded):
        if before.name == "chords":                   # chords may gain octave doublings, never lose notes
            assert set(before.notes) <= set(after.notes)
            continue
        assert [(n.beat, n.length_beats, n.velocity) for n in before.notes] == \
            [(n.beat, n.length_beats, n.velocity) for n in after.notes]
        moved = sum(a.pitch != b.pitch for a, b in zip(before.notes, after.notes))
        assert moved <= MAX_MOVED_SHARE * max(1, len(before.notes)) + 1
    assert all(n.pitch % 12 in raw.key.pitch_classes() for p in guarded for n in p.notes)
    assert scale_margin(guarded, raw.key)[0] >= min(TARGET_MARGIN, scale_margin(list(raw.parts), raw.key)[0])


def test_key_guard_reaches_its_margin_on_most_plans():
    margins = [scale_margin(list(_plan(genre, seed=seed).parts), _plan(genre, seed=seed).key)[0]
               for genre in GENRES for seed in range(1, 4)]
    assert Counter(m >= TARGET_MARGIN for m in margins)[True] >= 0.8 * len(margins)
