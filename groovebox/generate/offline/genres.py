"""Genre tables for the offline generator: tempo, swing, drum grids, bass/chord/melody styles (pure data).

Used in worker processes. Rows follow ``reference/generation.md`` §1.2; treat the grids as templates that
``drums.py`` varies per bar. Deviations from §1.2, made for the loop-quality gate: no crash on bar 1 (it
would make the loop seam the only bar line with a cymbal), chords change every bar in ambient, and one-chord
techno vamps move to iv/VI/II for a bar (a single chord cannot tell the scale from its neighbours). Grid characters, one per 16th step: ``X`` accent, ``x`` hit, ``g`` ghost note,
``?`` a hit kept or dropped by a coin toss per loop (re-tossed per bar more often as temperature rises),
``.`` rest. Instrument names are either a numpy voice
(``"808"``, ``"sub"``, ``"acid"``, ``"reese"``, ``"synth_bass"``, ``"pad"``, ``"stab"``, ``"pluck"``, ``"bell"``,
``"lead"``) or a General MIDI program ``"gm:<0-based program>"``. Progressions are ``"<mode>: <numerals>"``
(see ``theory.parse_progression``), listed per mood; ``"default"`` is used when the words name no mood.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["DEFAULT_GENRE", "GENRES", "GENRE_ALIASES", "GENRE_TABLE", "MOOD_PROGRESSIONS", "Euclid", "GenreStyle"]

DEFAULT_GENRE = "house"


@dataclass(frozen=True)
class Euclid:
    """Extra percussion: ``pulses`` hits spread over ``steps`` 16ths (Bjorklund), used from ``min_density`` up."""

    voice: str
    pulses: int
    steps: int
    min_density: float = 0.0
    velocity: float = 0.5


@dataclass(frozen=True)
class GenreStyle:
    name: str
    keywords: tuple[str, ...]               # phrases that select the genre in free text (lower case)
    tempo_bpm: tuple[int, int, int]         # (low, typical, high)
    swing: float                            # 0.5 = straight; offbeat 16ths move by (2*swing-1) of a step
    kit: str                                # "electronic" (numpy voices) or "acoustic" (GM drum kit)
    drums: Mapping[str, str]                # voice -> 16-step grid of one bar
    fill: str                               # last-bar-of-phrase variation: snare_roll, hat_roll, tom_fill, kick_drop, open_hat
    bass: str                               # bass line style (bass.py)
    bass_voices: tuple[str, ...]
    chords: str                             # chord rhythm style (harmony.py)
    chord_voices: tuple[str, ...]
    melody_voices: tuple[str, ...]
    progressions: Mapping[str, tuple[str, ...]]
    density: float = 0.5                    # default for request.density None
    brightness: float = 0.5                 # default for request.brightness None
    bars_per_chord: int = 1
    parts: tuple[str, ...] = ("drums", "bass", "chords", "melody")
    levels_db: Mapping[str, float] = field(default_factory=lambda: {"drums": 0.0, "bass": -4.0, "chords": -6.0, "melody": -5.0})
    extra_percussion: tuple[Euclid, ...] = ()
    reverb: float = 0.25                    # 0..1 reverb amount for tonal parts
    laid_back_s: float = 0.0                # snare/clap delay (lo-fi)
    lofi: bool = False                      # low-pass the whole loop and add vinyl crackle


GENRE_TABLE: dict[str, GenreStyle] = {
    "house": GenreStyle(
        name="house",
        keywords=("house", "deep house", "tech house", "disco house", "garage house", "four on the floor"),
        tempo_bpm=(118, 124, 128), swing=0.52, kit="electronic",
        drums={"kick": "x...x...x...x...", "clap": "....x.......x...",
               "hat": "x.x.x.x.x.x.x.x.", "ohat": "..x...x...x...x."},
        fill="open_hat", bass="offbeat", bass_voices=("synth_bass", "sub"),
        chords="stab", chord_voices=("gm:4", "stab", "gm:0"), melody_voices=("pluck", "gm:11", "gm:0"),
        progressions={"default": ("dorian: i7 IV7", "aeolian: i7 iv7", "aeolian: i7 VI7 iv7 v7"),
                      "bright": ("ionian: IV7 V7 iii7 vi7", "ionian: I7 vi7 ii7 V7")},
        extra_percussion=(Euclid("shaker", 7, 16, 0.6, 0.35), Euclid("perc", 3, 8, 0.75, 0.4)),
    ),
    "techno": GenreStyle(
        name="techno",
        keywords=("techno", "minimal techno", "acid techno", "industrial techno", "acid", "303", "warehouse"),
        tempo_bpm=(125, 132, 140), swing=0.5, kit="electronic",
        drums={"kick": "X...X...X...X...", "rim": "....x.......x..?",
               "hat": "gxXxgxXxgxXxgxXx", "ohat": "..x...x...x...x."},
        fill="kick_drop", bass="rolling", bass_voices=("acid", "sub"),
        chords="stab", chord_voices=("stab", "pad"), melody_voices=("pluck", "bell"),
        progressions={"default": ("aeolian: i i iv i", "phrygian: i i II i", "aeolian: i7 i7 VI i7"),
                      "bright": ("dorian: i7 i7 IV7 i7", "dorian: i7 IV7")},
        density=0.6, brightness=0.45,
        levels_db={"drums": 0.0, "bass": -4.0, "chords": -8.0, "melody": -8.0},
        extra_percussion=(Euclid("perc", 5, 16, 0.5, 0.35), Euclid("clap", 3, 16, 0.8, 0.3)),
        reverb=0.3,
    ),
    "hip-hop": GenreStyle(
        name="hip-hop",
        keywords=("hip hop", "hip-hop", "hiphop", "boom bap", "boom-bap", "boombap", "rap", "old school"),
        tempo_bpm=(85, 90, 95), swing=0.58, kit="electronic",
        drums={"kick": "x......x..x.....", "snare": "....x.......x...", "hat": "x.x.x.x.x.x.x.x."},
        fill="kick_drop", bass="follow_kick", bass_voices=("gm:33", "sub"),
        chords="sustain", chord_voices=("gm:4", "gm:0", "gm:11"), melody_voices=("gm:0", "gm:11", "gm:73"),
        progressions={"default": ("aeolian: i7 iv7", "dorian: i7 IV7", "aeolian: i7 VI7 iv7 v7"),
                      "bright": ("ionian: ii7 V7 I7 I7", "ionian: I7 vi7 ii7 V7")},
        density=0.45, brightness=0.45,
        levels_db={"drums": 0.0, "bass": -5.0, "chords": -5.0, "melody": -6.0},
        extra_percussion=(Euclid("shaker", 5, 16, 0.7, 0.25),),
    ),
    "trap": GenreStyle(
        name="trap",
        keywords=("trap", "drill"),
        tempo_bpm=(130, 140, 150), swing=0.5, kit="electronic",
        drums={"kick": "x.........x.....", "clap": "........x.......", "hat": "xxxxxxxxxxxxxxxx"},
        fill="hat_roll", bass="808", bass_voices=("808",),
        chords="sustain", chord_voices=("pad", "gm:0", "gm:48"), melody_voices=("bell", "gm:0", "gm:11"),
        progressions={"default": ("phrygian: i II", "aeolian: i VI", "aeolian: i VI III VII", "aeolian: i iv VI v")},
        density=0.55, brightness=0.5, bars_per_chord=1,
        levels_db={"drums": 0.0, "bass": -3.0, "chords": -8.0, "melody": -6.0},
        reverb=0.3,
    ),
    "drum-and-bass": GenreStyle(
        name="drum-and-bass",
        keywords=("drum and bass", "drum & bass", "drum n bass", "drum'n'bass", "drumnbass", "dnb", "d&b",
                  "jungle", "liquid", "neurofunk"),
        tempo_bpm=(165, 174, 176), swing=0.5, kit="electronic",
        drums={"kick": "x.........x.....", "snare": "....x..g.g..x..g", "hat": "x.x.x.x.x.x.x.x.", "ohat": "......x.......x."},
        fill="snare_roll", bass="reese", bass_voices=("reese", "sub"),
        chords="pad", chord_voices=("pad", "gm:89", "gm:4"), melody_voices=("bell", "pluck"),
        progressions={"default": ("aeolian: i VI", "aeolian: i7 VI7 III7 VII", "dorian: i9 IV9")},
        density=0.6, brightness=0.55, bars_per_chord=2,
        levels_db={"drums": 0.0, "bass": -4.0, "chords": -8.0, "melody": -7.0},
        extra_percussion=(Euclid("shaker", 9, 16, 0.7, 0.25),),
        reverb=0.35,
    ),
    "reggaeton": GenreStyle(
        name="reggaeton",
        keywords=("reggaeton", "dembow", "perreo", "latin urban", "moombahton"),
        tempo_bpm=(88, 94, 100), swing=0.5, kit="electronic",
        drums={"kick": "x...x...x...x...", "snare": "...x..x....x..x.", "hat": "x.x.x.x.x.x.x.x."},
        fill="snare_roll", bass="dembow", bass_voices=("808", "sub"),
        chords="stab", chord_voices=("pluck", "gm:25", "gm:4"), melody_voices=("pluck", "gm:73", "gm:12"),
        progressions={"default": ("aeolian: i VI VII", "aeolian: i iv", "aeolian: i VI III VII"),
                      "bright": ("ionian: vi IV I V",)},
        density=0.5, brightness=0.55,
        extra_percussion=(Euclid("perc", 3, 8, 0.6, 0.35),),
    ),
    "afrobeats": GenreStyle(
        name="afrobeats",
        keywords=("afrobeats", "afropop", "afro pop", "amapiano", "afro-fusion", "afrofusion"),
        tempo_bpm=(95, 105, 115), swing=0.55, kit="electronic",
        drums={"kick": "x..x....x.x.....", "clap": "...x..x......x..", "shaker": "x..x..x..x..x..x",
               "hat": "..x...x...x...x."},
        fill="tom_fill", bass="afro", bass_voices=("sub", "gm:33"),
        chords="stab", chord_voices=("gm:27", "gm:4", "pluck"), melody_voices=("gm:108", "gm:12", "pluck"),
        progressions={"default": ("aeolian: i iv", "dorian: i7 IV7", "aeolian: i VI VII"),
                      "bright": ("ionian: vi IV I V", "ionian: I IV vi V")},
        density=0.55, brightness=0.55,
        extra_percussion=(Euclid("conga", 5, 16, 0.4, 0.45), Euclid("perc", 3, 8, 0.7, 0.35)),
    ),
    "afrobeat": GenreStyle(
        name="afrobeat",
        keywords=("afrobeat", "afro beat", "afro", "fela", "highlife"),
        tempo_bpm=(100, 112, 125), swing=0.53, kit="acoustic",
        drums={"kick": "xx......xx......", "snare": "....x..g.x..x..g", "hat": "x.xxx.xxx.xxx.xx"},
        fill="tom_fill", bass="afro", bass_voices=("gm:33",),
        chords="comp", chord_voices=("gm:27", "gm:16"), melody_voices=("gm:61", "gm:65"),
        progressions={"default": ("dorian: i7 IV7", "dorian: i7", "aeolian: i7 iv7")},
        density=0.6, brightness=0.55, bars_per_chord=2,
        levels_db={"drums": 0.0, "bass": -4.0, "chords": -5.0, "melody": -5.0},
        extra_percussion=(Euclid("conga", 5, 8, 0.3, 0.45), Euclid("shaker", 7, 16, 0.6, 0.3)),
    ),
    "lo-fi": GenreStyle(
        name="lo-fi",
        keywords=("lo-fi", "lofi", "lo fi", "lo-fi hip hop", "lofi hip hop", "lo-fi hip-hop", "chillhop",
                  "study beats", "chill beats", "jazzhop"),
        tempo_bpm=(70, 80, 90), swing=0.62, kit="electronic",
        drums={"kick": "x.........x.....", "snare": "....x.......x...", "hat": "x.x.x.x.x.x.x.x."},
        fill="kick_drop", bass="follow_kick", bass_voices=("gm:33", "gm:32"),
        chords="sustain", chord_voices=("gm:4", "gm:0"), melody_voices=("gm:11", "gm:0", "gm:73", "gm:108"),
        progressions={"default": ("ionian: ii9 V9 I9 I9", "aeolian: i9 iv9", "ionian: IV7 iii7 vi7 ii7"),
                      "dark": ("aeolian: i9 iv9", "dorian: i9 IV9")},
        density=0.4, brightness=0.35,
        levels_db={"drums": 0.0, "bass": -5.0, "chords": -3.0, "melody": -6.0},
        extra_percussion=(Euclid("shaker", 5, 16, 0.5, 0.25),),
        reverb=0.3, laid_back_s=0.015, lofi=True,
    ),
    "rock": GenreStyle(
        name="rock",
        keywords=("rock", "indie rock", "punk", "garage rock", "alt rock", "grunge", "pop rock", "rock and roll"),
        tempo_bpm=(100, 120, 140), swing=0.5, kit="acoustic",
        drums={"kick": "x.......x.x.....", "snare": "....x.......x...", "hat": "x.x.x.x.x.x.x.x."},
        fill="tom_fill", bass="root8", bass_voices=("gm:34", "gm:33"),
        chords="power", chord_voices=("gm:29", "gm:30"), melody_voices=("gm:27", "gm:29"),
        progressions={"default": ("ionian: I V vi IV", "ionian: I IV vi V", "aeolian: i VI III VII"),
                      "dark": ("aeolian: i VI III VII", "aeolian: i VII VI VII")},
        density=0.5, brightness=0.6,
        levels_db={"drums": 0.0, "bass": -5.0, "chords": -2.0, "melody": -6.0},
        reverb=0.2,
    ),
    "funk": GenreStyle(
        name="funk",
        keywords=("funk", "funky", "disco funk", "p-funk", "groove funk", "slap"),
        tempo_bpm=(95, 105, 115), swing=0.54, kit="acoustic",
        drums={"kick": "x.x.......xx....", "snare": "....x..g.g..x..g", "hat": "XxXxXxXxXxXxXxXx"},
        fill="snare_roll", bass="funk", bass_voices=("gm:36", "gm:33"),
        chords="comp", chord_voices=("gm:27", "gm:4", "gm:7"), melody_voices=("gm:61", "lead"),
        progressions={"default": ("mixolydian: I7", "dorian: i7 IV7", "mixolydian: I7 IV7")},
        density=0.65, brightness=0.6,
        levels_db={"drums": 0.0, "bass": -4.0, "chords": -5.0, "melody": -6.0},
        extra_percussion=(Euclid("conga", 3, 8, 0.6, 0.35),),
        reverb=0.15,
    ),
    "ambient": GenreStyle(
        name="ambient",
        keywords=("ambient", "drone", "chillout", "chill out", "meditation", "soundscape", "atmospheric", "new age"),
        tempo_bpm=(60, 70, 90), swing=0.5, kit="electronic",
        drums={},
        fill="none", bass="drone", bass_voices=("sub",),
        chords="pad", chord_voices=("pad", "gm:89", "gm:52"), melody_voices=("bell", "gm:11", "gm:108"),
        progressions={"default": ("ionian: I7 IV7", "lydian: I9 II9", "dorian: i9 IV9", "ionian: Iadd9 vi7 IVadd9 I7")},
        density=0.3, brightness=0.45, bars_per_chord=1,
        parts=("chords", "melody", "drums"),
        levels_db={"drums": -16.0, "bass": -6.0, "chords": 0.0, "melody": -4.0},
        extra_percussion=(Euclid("tick", 5, 16, 0.0, 0.5), Euclid("tick", 3, 8, 0.5, 0.4)),
        reverb=0.8,
    ),
}

GENRES: tuple[str, ...] = tuple(GENRE_TABLE)

# Short names people type; the keyword phrases above cover free text.
GENRE_ALIASES: dict[str, str] = {
    "dnb": "drum-and-bass", "d&b": "drum-and-bass", "drum & bass": "drum-and-bass", "drum and bass": "drum-and-bass",
    "drum n bass": "drum-and-bass", "jungle": "drum-and-bass",
    "hiphop": "hip-hop", "hip hop": "hip-hop", "boom bap": "hip-hop", "boom-bap": "hip-hop", "boombap": "hip-hop",
    "lofi": "lo-fi", "lo fi": "lo-fi", "lofi hip hop": "lo-fi", "lo-fi hip hop": "lo-fi", "chillhop": "lo-fi",
    "afro": "afrobeat", "afrobeats": "afrobeats", "dembow": "reggaeton", "reggaetón": "reggaeton",
    "chillout": "ambient", "deep house": "house", "tech house": "house", "minimal techno": "techno",
}

# Progressions for moods a genre row does not list itself (``harmony.choose_progression``).
MOOD_PROGRESSIONS: dict[str, tuple[str, ...]] = {
    "dark": ("aeolian: i VI III VII", "aeolian: i iv v i", "aeolian: i VII VI VII", "phrygian: i II"),
    "bright": ("ionian: I V vi IV", "ionian: I IV vi V", "ionian: vi IV I V"),
    "jazzy": ("ionian: ii7 V7 I7 I7", "aeolian: i7 iv7", "ionian: IV7 iii7 vi7 ii7"),
    "funky": ("mixolydian: I7", "dorian: i7 IV7"),
    "dreamy": ("ionian: I7 IV7", "lydian: I9 II9", "ionian: Iadd9 IVadd9"),
    "tense": ("phrygian: i II", "aeolian: i i iv i", "phrygian: i II i vii"),
}
