"""The offline knowledge of ambient scenes: one entry per sound element, scene archetypes and a keyword lexicon.

Pure data (frozen dataclasses and dicts), no audio; read by the offline planner (any thread), the
synthesiser (worker processes) and the LLM planners (element descriptions for their prompts).

Decisions (reference/generation.md §4-5):
- Every ``ElementKind`` has an ``Element``: a prompt-style sound description ("footsteps on wet
  pavement"), where and when it is heard, tags, a default mix, its role and the recipe that synthesises it.
  The "heard in" contexts carry the knowledge an embedding lacks: *what you would hear there*.
- Role ``"bed"``: a continuous texture rendered as a seamless loop. Role ``"events"``: sparse one-shots
  (thunder, footsteps, birds, sirens, ...) scheduled at random times over near silence.
- Kinds may share a recipe with different ``params`` (rain / rain on a roof / drizzle; the three surfaces
  of footsteps); ``family`` groups kinds for the planner's diversity and ``exclusive`` marks families of
  which a scene keeps one kind (one fire, one pair of feet, one noise colour).
- Default mix: ``gain_db`` sets the balance between elements (every layer is rendered at the same
  loudness at 0 dB and distance 0, see ``synth``); it is chosen so that ``gain_db`` plus the distance law
  (-18 dB per unit of distance) puts a main bed near -8 dB, details at -14 to -20 dB. Beds sit near the
  centre and wide, events narrower. Archetypes trim these (``trim_db``) rather than set them.
- ``music_bed`` is a Lyria musical bed when online; offline it is a soft synthesised pad chord.
- The lexicon maps words that *name a sound* to kinds; place, time and weather words ("tokyo", "cabin",
  "dawn") choose an archetype instead, whose layers are curated. Modifier words change mix parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from groovebox.ambient.scene import ElementKind as K

__all__ = [
    "ARCHETYPES",
    "COLD_WORDS",
    "DAY_WORDS",
    "DEFAULT_ARCHETYPE",
    "ELEMENTS",
    "EXCLUSIVE_FAMILIES",
    "FAR_WORDS",
    "INTENSITY_WORDS",
    "LEXICON",
    "NEAR_WORDS",
    "NEGATION_WORDS",
    "NIGHT_WORDS",
    "STOP_WORDS",
    "WET_WORDS",
    "Archetype",
    "Element",
    "archetype",
    "element",
]


@dataclass(frozen=True)
class Element:
    """What one ``ElementKind`` sounds like, where it is heard and how it is made and mixed by default."""

    kind: K
    description: str
    heard_in: tuple[str, ...]
    tags: tuple[str, ...]
    role: str                       # "bed" | "events"
    recipe: str                     # a key of synth.RECIPES
    family: str
    gain_db: float = -12.0
    spread: float = 0.8
    distance: float = 0.3
    reverb_send: float = 0.2
    delay_send: float = 0.0
    intensity: float = 0.5
    soft_word: str = "light"        # description prefix at low intensity
    strong_word: str = "heavy"      # ... and at high intensity
    params: tuple[tuple[str, object], ...] = ()

    @property
    def recipe_params(self) -> dict[str, object]:
        return dict(self.params)


def _bed(kind, description, heard_in, tags, recipe, family, **mix) -> Element:
    return Element(kind, description, tuple(heard_in), tuple(tags), "bed", recipe, family, **mix)


def _events(kind, description, heard_in, tags, recipe, family, **mix) -> Element:
    mix.setdefault("spread", 0.6)
    return Element(kind, description, tuple(heard_in), tuple(tags), "events", recipe, family, **mix)


_ELEMENT_LIST = (
    _bed(K.RAIN, "rain falling on pavement and leaves",
         ("a rainy street", "a forest in the rain", "a storm", "a rainy night in the city", "autumn weather"),
         ("weather", "water", "outdoor", "night", "day", "calm"), "rain", "rain",
         gain_db=-4.0, spread=1.0, distance=0.2, reverb_send=0.1, soft_word="light", strong_word="heavy"),
    _bed(K.RAIN_ON_ROOF, "rain drumming on a roof and against a window",
         ("indoors during rain", "a tent", "an attic", "a cabin in the rain", "a café window", "a bedroom at night"),
         ("weather", "water", "indoor", "cozy", "sleep"), "rain", "rain",
         gain_db=-5.5, spread=0.9, distance=0.2, reverb_send=0.15, params=(("surface", "roof"),),
         soft_word="soft", strong_word="drumming"),
    _bed(K.DRIZZLE, "drizzle misting onto wet ground",
         ("a misty morning", "a grey city afternoon", "a wet back-alley", "a harbour in fog"),
         ("weather", "water", "outdoor", "calm"), "rain", "rain",
         gain_db=-6.5, spread=1.0, distance=0.3, reverb_send=0.1, intensity=0.4, params=(("drizzle", True),),
         soft_word="fine", strong_word="steady"),
    _events(K.THUNDER, "rolling thunder, a crack and a long rumble",
            ("a thunderstorm", "a storm at sea", "a summer storm", "stormy night"),
            ("weather", "storm", "dramatic", "outdoor"), "thunder", "storm",
            gain_db=-1.0, spread=0.9, distance=0.5, reverb_send=0.35, soft_word="distant", strong_word="violent"),
    _bed(K.WIND, "wind gusting through an open landscape",
         ("a mountain top", "a desert", "a beach", "a storm", "a winter night", "a moor", "an open field"),
         ("weather", "outdoor", "cold", "lonely"), "wind", "wind",
         gain_db=-6.5, spread=1.0, distance=0.3, reverb_send=0.1, soft_word="gentle", strong_word="strong"),
    _bed(K.WIND_WHISTLE, "wind whistling around a building",
         ("a cabin in a blizzard", "a lighthouse", "an old house at night", "a mountain hut", "a storm"),
         ("weather", "cold", "eerie", "indoor"), "whistle", "wind",
         gain_db=-9.0, spread=0.8, distance=0.4, reverb_send=0.25, soft_word="faint", strong_word="shrieking"),
    _bed(K.FIRE, "a fire crackling and hissing in a fireplace",
         ("a cabin", "a living room in winter", "a fireside", "a castle hall", "a cozy evening"),
         ("cozy", "warm", "indoor", "winter", "night"), "fire", "fire",
         gain_db=-5.0, spread=0.5, distance=0.15, reverb_send=0.1, soft_word="smouldering", strong_word="roaring"),
    _bed(K.CAMPFIRE, "a campfire popping and crackling outdoors",
         ("a campsite at night", "a beach bonfire", "a forest camp", "under the stars"),
         ("warm", "outdoor", "night", "nature"), "fire", "fire",
         gain_db=-4.5, spread=0.6, distance=0.2, reverb_send=0.05, params=(("outdoor", True),),
         soft_word="low", strong_word="blazing"),
    _bed(K.STREAM, "a stream babbling over stones",
         ("a forest", "a mountain valley", "a zen garden", "a jungle", "a meadow", "a waterfall"),
         ("water", "nature", "calm", "outdoor"), "stream", "water",
         gain_db=-5.5, spread=0.9, distance=0.3, reverb_send=0.1, soft_word="trickling", strong_word="rushing"),
    _bed(K.WAVES, "ocean waves breaking and washing up the shore",
         ("a beach", "the sea", "a harbour", "a cliff", "a storm at sea", "an island"),
         ("water", "sea", "calm", "outdoor"), "waves", "water",
         gain_db=-2.0, spread=1.0, distance=0.35, reverb_send=0.1, soft_word="lapping", strong_word="crashing"),
    _bed(K.UNDERWATER, "muffled underwater pressure with slow bubbles",
         ("underwater", "a submarine", "a deep ocean", "an aquarium", "diving"),
         ("water", "deep", "muffled", "dreamy"), "underwater", "water",
         gain_db=-5.5, spread=0.8, distance=0.2, reverb_send=0.3, soft_word="still", strong_word="churning"),
    _events(K.BIRDS, "songbirds chirping and trilling in the trees",
            ("a forest at dawn", "a park in the morning", "a garden in spring", "a meadow", "a jungle"),
            ("nature", "morning", "day", "spring", "outdoor"), "birds", "creatures",
            gain_db=-7.0, spread=0.8, distance=0.4, reverb_send=0.25, soft_word="a few", strong_word="a chorus of"),
    _events(K.OWL, "an owl hooting in the dark",
            ("a forest at night", "a barn", "a haunted house", "the countryside at night", "a campsite at night"),
            ("nature", "night", "eerie", "outdoor"), "owl", "creatures",
            gain_db=-7.0, spread=0.5, distance=0.6, reverb_send=0.4, soft_word="distant", strong_word="insistent"),
    _events(K.SEAGULLS, "seagulls crying over the water",
            ("a beach", "a harbour", "a fishing port", "a pier", "a ferry deck", "coastal cliffs"),
            ("sea", "day", "outdoor", "bright"), "gulls", "creatures",
            gain_db=-6.0, spread=0.8, distance=0.55, reverb_send=0.3, soft_word="a few", strong_word="squabbling"),
    _bed(K.CRICKETS, "crickets chirping in the grass",
         ("a summer night", "the countryside at night", "a campsite", "a garden at night", "a southern porch"),
         ("nature", "night", "summer", "calm", "outdoor"), "crickets", "insects",
         gain_db=-9.0, spread=1.0, distance=0.4, reverb_send=0.15, soft_word="a few", strong_word="a field of"),
    _bed(K.CICADAS, "cicadas buzzing in the summer heat",
         ("a hot summer afternoon", "a jungle", "a mediterranean garden", "a japanese summer", "a tropical forest"),
         ("nature", "summer", "day", "hot", "outdoor"), "cicadas", "insects",
         gain_db=-9.0, spread=1.0, distance=0.5, reverb_send=0.15, soft_word="lazy", strong_word="shrill"),
    _bed(K.FROGS, "frogs croaking around a pond",
         ("a pond at night", "a swamp", "a marsh", "a jungle", "a rice field", "a riverbank"),
         ("nature", "night", "water", "outdoor", "humid"), "frogs", "creatures",
         gain_db=-8.0, spread=1.0, distance=0.45, reverb_send=0.2, soft_word="a few", strong_word="a chorus of"),
    _bed(K.LEAVES, "leaves rustling in the breeze",
         ("a forest", "a park", "an autumn walk", "a garden", "a tree canopy"),
         ("nature", "autumn", "calm", "outdoor"), "leaves", "wind",
         gain_db=-9.0, spread=1.0, distance=0.35, reverb_send=0.1, soft_word="a few", strong_word="wind-tossed"),
    _bed(K.CROWD, "a crowd murmuring, indistinct voices",
         ("a market", "a train station", "a plaza", "a festival", "an airport", "a stadium concourse"),
         ("people", "city", "busy", "indoor", "outdoor"), "babble", "people",
         gain_db=-4.0, spread=1.0, distance=0.45, reverb_send=0.3, soft_word="a small", strong_word="a bustling"),
    _bed(K.CAFE, "a coffee shop: chatter, cups and spoons",
         ("a café", "a coffee shop", "a restaurant", "a diner", "a bistro", "a hotel lobby"),
         ("people", "indoor", "cozy", "morning", "busy"), "babble", "people",
         gain_db=-5.0, spread=1.0, distance=0.35, reverb_send=0.25, params=(("cafe", True),),
         soft_word="a quiet", strong_word="a busy"),
    _bed(K.TRAFFIC, "cars passing on a street",
         ("a city street", "a highway", "an intersection", "a road at night", "a city apartment"),
         ("city", "urban", "busy", "outdoor"), "traffic", "urban",
         gain_db=-5.0, spread=1.0, distance=0.5, reverb_send=0.15, soft_word="occasional", strong_word="heavy"),
    _bed(K.CITY, "a city's low roar of traffic, horns and voices",
         ("a city at night", "a rooftop", "a balcony downtown", "a big city", "a hotel room"),
         ("city", "urban", "night", "day"), "city", "urban",
         gain_db=-2.0, spread=1.0, distance=0.6, reverb_send=0.2, soft_word="quiet", strong_word="busy"),
    _events(K.SIRENS, "a siren wailing past a few blocks away",
            ("a city at night", "a downtown street", "an emergency", "a noir scene"),
            ("city", "urban", "tense", "night"), "siren", "urban",
            gain_db=-7.5, spread=0.7, distance=0.7, reverb_send=0.35, soft_word="distant", strong_word="screaming"),
    _events(K.FOOTSTEPS, "footsteps on concrete",
            ("a corridor", "a city sidewalk", "a station", "a museum", "a library", "an office"),
            ("people", "urban", "indoor", "outdoor"), "footsteps", "feet",
            gain_db=-10.0, spread=0.6, distance=0.35, reverb_send=0.3, soft_word="slow", strong_word="hurried"),
    _events(K.FOOTSTEPS_WET, "footsteps splashing on wet pavement",
            ("a rainy street", "a wet back-alley", "a city after rain", "a noir night"),
            ("people", "urban", "rain", "night"), "footsteps", "feet",
            gain_db=-10.0, spread=0.6, distance=0.35, reverb_send=0.3, params=(("surface", "wet"),),
            soft_word="slow", strong_word="hurried"),
    _events(K.FOOTSTEPS_SNOW, "footsteps crunching through snow",
            ("a snowy forest", "a winter village", "a mountain path in winter", "a snowfield"),
            ("people", "winter", "cold", "outdoor"), "footsteps", "feet",
            gain_db=-10.0, spread=0.6, distance=0.3, reverb_send=0.15, params=(("surface", "snow"),),
            soft_word="slow", strong_word="trudging"),
    _bed(K.HUM, "a low electrical hum of transformers",
         ("a power station", "an old apartment", "a basement", "a server room", "under power lines", "an alley"),
         ("machine", "urban", "indoor", "industrial"), "hum", "machine",
         gain_db=-16.5, spread=0.3, distance=0.3, reverb_send=0.15, soft_word="faint", strong_word="loud"),
    _bed(K.NEON, "a neon sign buzzing and flickering",
         ("a neon-lit alley", "a city at night", "a motel", "a late-night bar", "a cyberpunk street",
          "tokyo at night"),
         ("urban", "night", "machine", "retro"), "hum", "machine",
         gain_db=-15.5, spread=0.3, distance=0.25, reverb_send=0.2, params=(("neon", True),),
         soft_word="faint", strong_word="crackling"),
    _bed(K.HVAC, "air conditioning and ventilation blowing steadily",
         ("an office", "a library", "a hospital", "a spaceship", "an airport", "a hotel corridor", "a server room"),
         ("machine", "indoor", "calm", "focus"), "hvac", "machine",
         gain_db=-12.5, spread=0.7, distance=0.35, reverb_send=0.15, soft_word="quiet", strong_word="roaring"),
    _events(K.TRAIN, "a train rumbling past over the rails",
            ("a subway station", "a railway bridge", "a night train", "a platform", "a town by the tracks"),
            ("urban", "transport", "industrial"), "train", "urban",
            gain_db=-4.0, spread=0.9, distance=0.5, reverb_send=0.3, soft_word="distant", strong_word="thundering"),
    _bed(K.CLOCK, "an old clock ticking",
         ("a library", "a quiet living room", "a study", "a waiting room", "a grandparent's house"),
         ("indoor", "calm", "focus", "cozy"), "clock", "machine",
         gain_db=-16.5, spread=0.2, distance=0.3, reverb_send=0.25, soft_word="quiet", strong_word="loud"),
    _events(K.BELLS, "church bells tolling",
            ("a european town square", "a monastery", "a temple", "a harbour buoy", "a mountain village",
             "sunday morning"),
            ("religious", "outdoor", "calm", "town"), "bells", "tonal",
            gain_db=-6.0, spread=0.6, distance=0.65, reverb_send=0.45, delay_send=0.1,
            soft_word="distant", strong_word="pealing"),
    _events(K.SHIP_CREAK, "a ship's wooden hull creaking",
            ("a sailing ship", "a harbour", "a pirate ship", "a houseboat", "an old house", "a dock"),
            ("sea", "wood", "old", "eerie"), "creak", "wood",
            gain_db=-10.5, spread=0.7, distance=0.25, reverb_send=0.25, soft_word="old", strong_word="storm-tossed"),
    _bed(K.DRONE, "a deep, slowly shifting drone",
         ("outer space", "a cathedral", "a dream", "a cave", "a haunted place", "meditation"),
         ("tonal", "dark", "dreamy", "space"), "drone", "tonal",
         gain_db=-11.5, spread=1.0, distance=0.3, reverb_send=0.4, soft_word="faint", strong_word="ominous"),
    _bed(K.PINK_NOISE, "pink noise, like a distant waterfall",
         ("sleep", "focus", "study", "a noisy office", "a baby's room"),
         ("noise", "sleep", "focus", "masking"), "noise", "noise",
         gain_db=-16.0, spread=1.0, distance=0.0, reverb_send=0.0, params=(("exponent", 1.0),),
         soft_word="soft", strong_word="bright"),
    _bed(K.BROWN_NOISE, "brown noise, a deep low rumble",
         ("sleep", "focus", "an aeroplane cabin", "a ship's engine room", "deep relaxation"),
         ("noise", "sleep", "focus", "deep"), "noise", "noise",
         gain_db=-14.0, spread=1.0, distance=0.0, reverb_send=0.0, params=(("exponent", 2.0),),
         soft_word="soft", strong_word="deep"),
    _bed(K.MUSIC_BED, "an ambient pad chord",
         ("a dream", "a meditation", "a film scene", "a lounge", "a café playlist", "a late-night drive"),
         ("tonal", "music", "dreamy", "calm"), "pad", "tonal",
         gain_db=-14.5, spread=1.0, distance=0.2, reverb_send=0.45, delay_send=0.15,
         soft_word="soft", strong_word="swelling"),
)

ELEMENTS: dict[K, Element] = {e.kind: e for e in _ELEMENT_LIST}

# a scene keeps one kind of each of these families (the first the planner chose)
EXCLUSIVE_FAMILIES = frozenset({"fire", "feet", "noise"})
# ... and of these groups (families that are otherwise allowed to stack)
EXCLUSIVE_GROUPS: tuple[frozenset[K], ...] = (
    frozenset({K.RAIN, K.DRIZZLE}),
    frozenset({K.HUM, K.NEON}),
    frozenset({K.CROWD, K.CAFE}),
)


def element(kind: K | str) -> Element:
    """The catalogue entry of ``kind`` (KeyError names the unknown kind)."""
    return ELEMENTS[K(kind)]


# ---- archetypes ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Archetype:
    """A curated scene: what it is called, the words that point to it and its layers (kind, mix overrides)."""

    name: str
    title: str
    opener: str                     # first sentence of the narrative
    keywords: tuple[str, ...]       # strong cues (places, times, weather)
    contexts: tuple[str, ...]       # weaker cues, matched word by word
    layers: tuple[tuple[K, dict], ...]   # kind, mix overrides (SceneLayer fields; "trim_db" adds to gain_db)
    outdoor: bool = True
    nature: bool = False
    tags: tuple[str, ...] = field(default=())

    @property
    def kinds(self) -> tuple[K, ...]:
        return tuple(kind for kind, _ in self.layers)


def _a(name, title, opener, keywords, contexts, layers, **flags) -> Archetype:
    spelled = tuple((kind, dict(mix)) for kind, mix in layers)
    return Archetype(name, title, opener, tuple(keywords.split()), tuple(contexts), spelled, **flags)


_ARCHETYPE_LIST = (
    _a("city_night", "City at night", "The city hums on after dark",
       "city night urban downtown street streets metropolis skyline rooftop balcony nightlife",
       ("a big city at night", "a street corner after midnight", "late night downtown"),
       [(K.CITY, {}), (K.TRAFFIC, {"distance": 0.6}), (K.FOOTSTEPS, {"trim_db": -1.0}),
        (K.SIRENS, {"distance": 0.85}), (K.HUM, {"trim_db": -2.0})]),
    _a("neon_alley", "Neon back-alley", "A narrow alley glows under flickering signs, the pavement still wet",
       "alley alleyway back-alley tokyo osaka shinjuku shibuya hong kong seoul neon cyberpunk noir blade runner",
       ("a wet back-alley at night", "a neon-lit side street", "a cyberpunk city"),
       [(K.NEON, {}), (K.FOOTSTEPS_WET, {}), (K.DRIZZLE, {}), (K.TRAFFIC, {"distance": 0.8, "trim_db": -2.0}),
        (K.HVAC, {"trim_db": -2.0, "distance": 0.5}), (K.CITY, {"distance": 0.85, "trim_db": -3.0})]),
    _a("cafe", "Café", "Cups clink and conversations overlap in a busy little café",
       "cafe coffee coffeehouse espresso barista bistro brunch breakfast diner restaurant morning",
       ("a coffee shop in the morning", "a busy café", "a restaurant at lunchtime"),
       [(K.CAFE, {}), (K.MUSIC_BED, {"trim_db": -2.0, "distance": 0.4}), (K.FOOTSTEPS, {"trim_db": -2.5}),
        (K.TRAFFIC, {"distance": 0.85, "trim_db": -4.0})], outdoor=False),
    _a("rainy_cafe", "Rainy café", "Rain streams down the café window while people talk over coffee",
       "cafe coffee rainy rain window afternoon cozy", ("a café on a rainy afternoon",),
       [(K.CAFE, {}), (K.RAIN_ON_ROOF, {"trim_db": -1.0}), (K.MUSIC_BED, {"trim_db": -2.0}),
        (K.TRAFFIC, {"distance": 0.85, "trim_db": -4.0}), (K.CLOCK, {"trim_db": -3.0})], outdoor=False),
    _a("forest_dawn", "Forest at dawn", "First light filters through the trees as the birds wake",
       "forest woods woodland dawn sunrise morning trees grove spring",
       ("a forest in the early morning", "a woodland walk"),
       [(K.BIRDS, {}), (K.LEAVES, {}), (K.WIND, {"intensity": 0.3, "trim_db": -3.0}),
        (K.STREAM, {"distance": 0.6, "trim_db": -2.5})], nature=True),
    _a("forest_night", "Forest at night", "The forest is dark and close; small things move in the undergrowth",
       "forest woods woodland night dark moonlit trees", ("a forest at night",),
       [(K.OWL, {}), (K.CRICKETS, {}), (K.LEAVES, {"intensity": 0.3}), (K.WIND, {"intensity": 0.3, "trim_db": -3.0}),
        (K.STREAM, {"distance": 0.7, "trim_db": -4.5})], nature=True),
    _a("storm_at_sea", "Storm at sea", "The sea heaves under a black sky; lightning splits the horizon",
       "sea ocean storm stormy thunderstorm waves offshore ship deck gale tempest hurricane",
       ("a storm at sea", "a ship in a gale"),
       [(K.WAVES, {"intensity": 0.9}), (K.THUNDER, {}), (K.RAIN, {"intensity": 0.8}),
        (K.WIND, {"intensity": 0.85}), (K.SHIP_CREAK, {"intensity": 0.7})]),
    _a("thunderstorm", "Thunderstorm", "A thunderstorm rolls in over the land",
       "storm stormy thunderstorm thunder lightning downpour tempest summer",
       ("a summer thunderstorm", "a storm over the fields"),
       [(K.RAIN, {"intensity": 0.8}), (K.THUNDER, {}), (K.WIND, {"intensity": 0.6}),
        (K.RAIN_ON_ROOF, {"distance": 0.5, "trim_db": -3.0})]),
    _a("rain_window", "Rain at the window", "Rain taps on the glass while the room stays warm and still",
       "window rainy bedroom home apartment sleep cozy indoors inside", ("a rainy day at home", "falling asleep"),
       [(K.RAIN_ON_ROOF, {}), (K.RAIN, {"distance": 0.5, "trim_db": -2.0}),
        (K.THUNDER, {"distance": 0.85, "trim_db": -3.0}),
        (K.BROWN_NOISE, {"trim_db": -4.0}), (K.CLOCK, {"trim_db": -2.0})], outdoor=False),
    _a("fireside_rain", "Fireside on a rainy night", "A fire burns low while rain beats on the roof",
       "fireside evening", ("a rainy night by the fire",),
       [(K.FIRE, {}), (K.RAIN_ON_ROOF, {}), (K.RAIN, {"distance": 0.55, "trim_db": -3.0}),
        (K.THUNDER, {"distance": 0.9, "trim_db": -4.0}), (K.CLOCK, {"trim_db": -2.0})], outdoor=False),
    _a("winter_cabin", "Winter cabin", "Snow piles up outside while the fire keeps the cabin warm",
       "cabin lodge chalet hut cottage winter snow snowing snowfall blizzard fireplace hearth cozy",
       ("a log cabin in winter", "a mountain hut in a snowstorm"),
       [(K.FIRE, {}), (K.WIND, {"distance": 0.6, "intensity": 0.35, "trim_db": -3.0}),
        (K.WIND_WHISTLE, {"intensity": 0.4}), (K.CLOCK, {"trim_db": -2.0})], outdoor=False),
    _a("beach", "Beach", "Waves roll up the sand under a wide, bright sky",
       "beach shore seaside coast coastal sand surf ocean sea tide island tropical sunny",
       ("a sunny beach", "a walk along the shore"),
       [(K.WAVES, {}), (K.SEAGULLS, {}), (K.WIND, {"intensity": 0.35, "trim_db": -3.0}),
        (K.CROWD, {"distance": 0.85, "trim_db": -5.5})]),
    _a("desert_night", "Desert night", "Dry wind moves over the dunes under a sky full of stars",
       "desert dunes dune sahara sand canyon arid night stars", ("a desert at night", "a canyon"),
       [(K.WIND, {"intensity": 0.45}), (K.WIND_WHISTLE, {"intensity": 0.3, "distance": 0.7}),
        (K.CRICKETS, {"intensity": 0.2, "distance": 0.6}), (K.DRONE, {"trim_db": -4.0})], nature=True),
    _a("subway", "Subway station", "Trains pull in and out of an echoing underground station",
       "subway metro underground station platform tube commute commuter rush hour tunnel",
       ("a subway station at rush hour", "an underground platform"),
       [(K.TRAIN, {}), (K.CROWD, {"intensity": 0.6}), (K.FOOTSTEPS, {}), (K.HVAC, {"trim_db": -1.0}),
        (K.HUM, {"trim_db": -2.0})], outdoor=False),
    _a("library", "Library", "Quiet reading rooms, the odd page turn and distant steps",
       "library reading study studying books bookshop archive quiet focus exam museum gallery corridor hallway",
       ("a quiet library", "a study hall"),
       [(K.HVAC, {"intensity": 0.3}), (K.CLOCK, {"trim_db": 0.0}), (K.FOOTSTEPS, {"distance": 0.7, "trim_db": -2.5}),
        (K.CROWD, {"intensity": 0.15, "distance": 0.8, "trim_db": -5.5})], outdoor=False),
    _a("jungle", "Jungle", "Humid air, dense green canopy and a thousand creatures calling",
       "jungle rainforest tropical amazon tropics canopy humid borneo congo",
       ("a tropical rainforest", "the amazon"),
       [(K.BIRDS, {"intensity": 0.75}), (K.CICADAS, {}), (K.FROGS, {}), (K.STREAM, {"distance": 0.6}),
        (K.DRIZZLE, {"trim_db": -3.0})], nature=True),
    _a("summer_night", "Summer night in the countryside", "A warm night settles over the fields",
       "countryside country rural farm fields field meadow summer night porch village barn",
       ("a summer night in the countryside", "a farmhouse porch at night"),
       [(K.CRICKETS, {}), (K.FROGS, {"distance": 0.6}), (K.OWL, {}), (K.LEAVES, {"intensity": 0.25}),
        (K.WIND, {"intensity": 0.2, "trim_db": -4.0})], nature=True),
    _a("campfire", "Campfire under the stars", "A campfire pops in a clearing under the stars",
       "campfire camp camping campsite bonfire tent stars starry marshmallows wilderness",
       ("camping in the woods", "a night by the campfire"),
       [(K.CAMPFIRE, {}), (K.CRICKETS, {}), (K.OWL, {"distance": 0.75}),
        (K.WIND, {"intensity": 0.25, "trim_db": -4.0}),
        (K.LEAVES, {"intensity": 0.3})], nature=True),
    _a("harbour", "Harbour", "Boats knock against the quay while gulls circle the masts",
       "harbour harbor port pier dock docks marina quay boats fishing wharf lighthouse",
       ("a fishing harbour", "a marina at dusk"),
       [(K.WAVES, {"intensity": 0.3, "distance": 0.4}), (K.SEAGULLS, {}), (K.SHIP_CREAK, {}),
        (K.BELLS, {"distance": 0.8, "intensity": 0.3}), (K.WIND, {"intensity": 0.4, "trim_db": -3.0})]),
    _a("busy_street", "Busy street", "A busy street at midday, people and cars everywhere",
       "street busy traffic midday rush road avenue intersection crossing sidewalk town",
       ("a busy city street", "a crossing at rush hour"),
       [(K.TRAFFIC, {"intensity": 0.7, "distance": 0.35}), (K.CROWD, {}), (K.FOOTSTEPS, {}), (K.CITY, {}),
        (K.SIRENS, {"distance": 0.85})]),
    _a("mountain", "Mountain top", "High above the valley the wind never quite stops",
       "mountain mountains alpine alps peak summit ridge valley highlands hike hiking",
       ("a mountain summit", "an alpine meadow"),
       [(K.WIND, {"intensity": 0.65}), (K.WIND_WHISTLE, {"intensity": 0.35}), (K.BELLS, {"distance": 0.85}),
        (K.BIRDS, {"intensity": 0.2, "distance": 0.7}), (K.STREAM, {"distance": 0.7})], nature=True),
    _a("snowfall", "Snowfall", "Snow falls softly and muffles the world",
       "snow snowy snowfall snowing winter frozen frost icy cold december",
       ("a snowy forest", "a winter evening"),
       [(K.WIND, {"intensity": 0.3}), (K.FOOTSTEPS_SNOW, {}), (K.BELLS, {"distance": 0.9, "trim_db": -2.0}),
        (K.BROWN_NOISE, {"trim_db": -5.0})], nature=True),
    _a("spaceship", "Spaceship", "Life support hums through the corridors of a ship far from home",
       "spaceship spacecraft starship space station orbit scifi sci-fi bridge engine reactor cockpit",
       ("the bridge of a starship", "a space station"),
       [(K.HVAC, {}), (K.HUM, {}), (K.DRONE, {}), (K.BROWN_NOISE, {"trim_db": -3.0})], outdoor=False),
    _a("underwater", "Underwater", "Sunlight fades as you sink into the blue",
       "underwater ocean sea dive diving submarine reef aquarium abyss whale scuba",
       ("deep under the sea", "a coral reef"),
       [(K.UNDERWATER, {}), (K.DRONE, {"trim_db": -2.0}), (K.WAVES, {"distance": 0.95, "trim_db": -7.0})],
       outdoor=False),
    _a("office", "Office", "An open-plan office ticks along through the afternoon",
       "office coworking workplace desk cubicle meeting work typing afternoon",
       ("an open-plan office",),
       [(K.HVAC, {}), (K.CROWD, {"intensity": 0.3, "distance": 0.6}), (K.FOOTSTEPS, {"distance": 0.6}),
        (K.CLOCK, {"trim_db": -2.0})], outdoor=False),
    _a("cathedral", "Cathedral", "Stone arches carry every sound up into the dark",
       "cathedral church chapel abbey monastery cloister mass choir gothic sacred",
       ("inside a cathedral",),
       [(K.DRONE, {"reverb_send": 0.6}), (K.BELLS, {"distance": 0.6}), (K.FOOTSTEPS, {"reverb_send": 0.6}),
        (K.CROWD, {"intensity": 0.15, "distance": 0.7, "reverb_send": 0.6})], outdoor=False),
    _a("zen_garden", "Zen garden", "Water runs through a still garden beside the temple",
       "zen temple garden shrine kyoto meditation meditate bamboo pagoda koi pond calm peaceful",
       ("a temple garden", "a meditation retreat"),
       [(K.STREAM, {"intensity": 0.3}), (K.BELLS, {"distance": 0.7}), (K.BIRDS, {"intensity": 0.3}),
        (K.LEAVES, {"intensity": 0.25}), (K.WIND, {"intensity": 0.2, "trim_db": -5.0})], nature=True),
    _a("night_train", "Night train", "The carriage sways through the night towards the next town",
       "train railway rail carriage compartment sleeper journey travel tracks railroad",
       ("a night train", "a railway journey"),
       [(K.TRAIN, {"distance": 0.3}), (K.HUM, {"trim_db": -1.0}), (K.HVAC, {"trim_db": -1.0}),
        (K.RAIN_ON_ROOF, {"intensity": 0.35, "trim_db": -4.0})], outdoor=False),
    _a("river", "Riverbank", "A river slides past the reeds on a mild afternoon",
       "river riverbank lake lakeside creek brook waterfall reeds canoe fishing",
       ("a riverbank", "a lake shore"),
       [(K.STREAM, {}), (K.BIRDS, {}), (K.FROGS, {"distance": 0.6}), (K.LEAVES, {}),
        (K.WIND, {"intensity": 0.25, "trim_db": -4.0})], nature=True),
    _a("meadow", "Summer meadow", "Tall grass and wildflowers buzz in the afternoon heat",
       "meadow grass wildflowers summer afternoon picnic sunny hot heat field garden park",
       ("a summer meadow", "a park on a hot afternoon"),
       [(K.CICADAS, {}), (K.BIRDS, {}), (K.LEAVES, {}), (K.WIND, {"intensity": 0.3, "trim_db": -4.0})], nature=True),
    _a("swamp", "Swamp at night", "Mist hangs over black water full of calling frogs",
       "swamp marsh bayou bog wetland pond mist misty humid",
       ("a swamp at night", "a marsh"),
       [(K.FROGS, {"intensity": 0.75}), (K.CRICKETS, {}), (K.OWL, {"distance": 0.8}), (K.DRONE, {"trim_db": -4.0}),
        (K.STREAM, {"intensity": 0.2, "distance": 0.6, "trim_db": -4.5})], nature=True),
    _a("market", "Market", "Stalls, haggling and music drift through a crowded market",
       "market bazaar souk fair festival stalls square plaza crowded vendors carnival",
       ("a crowded market", "a town square on market day"),
       [(K.CROWD, {"intensity": 0.8}), (K.FOOTSTEPS, {}), (K.MUSIC_BED, {"distance": 0.6}),
        (K.BELLS, {"distance": 0.85}), (K.CITY, {"trim_db": -3.0})]),
    _a("airport", "Airport terminal", "Announcements and rolling suitcases fill a wide terminal",
       "airport terminal departure gate lounge flight waiting hall",
       ("an airport terminal",),
       [(K.CROWD, {}), (K.HVAC, {}), (K.FOOTSTEPS, {}), (K.MUSIC_BED, {"trim_db": -2.0}), (K.HUM, {"trim_db": -2.0})],
       outdoor=False),
    _a("sleep_noise", "Sleep noise", "A steady, even wash of sound to rest by",
       "sleep sleeping focus noise white pink brown relax relaxing tinnitus baby nap",
       ("falling asleep", "deep focus"),
       [(K.BROWN_NOISE, {"trim_db": 2.0}), (K.RAIN, {"intensity": 0.35, "trim_db": -3.0}),
        (K.DRONE, {"trim_db": -3.0})], outdoor=False),
    _a("sailing", "Sailing ship", "Canvas snaps and timbers groan as the ship rides the swell",
       "sailing sailboat ship pirate pirates galleon voyage deck mast sails boat",
       ("a sailing ship at sea", "a pirate ship"),
       [(K.SHIP_CREAK, {}), (K.WAVES, {}), (K.WIND, {"intensity": 0.55}), (K.SEAGULLS, {"distance": 0.8}),
        (K.BELLS, {"distance": 0.5, "intensity": 0.2})]),
    _a("haunted_house", "Haunted house", "Something stirs in the empty rooms of an old house",
       "haunted ghost ghosts spooky creepy eerie abandoned mansion attic halloween horror",
       ("an abandoned mansion at night",),
       [(K.WIND_WHISTLE, {}), (K.SHIP_CREAK, {"reverb_send": 0.5}), (K.CLOCK, {}), (K.OWL, {"distance": 0.8}),
        (K.DRONE, {"trim_db": -2.0}), (K.THUNDER, {"distance": 0.9, "trim_db": -4.0})], outdoor=False),
)

ARCHETYPES: dict[str, Archetype] = {a.name: a for a in _ARCHETYPE_LIST}
DEFAULT_ARCHETYPE = "rain_window"


def archetype(name: str) -> Archetype:
    """The archetype called ``name`` (KeyError names it)."""
    return ARCHETYPES[name]


# ---- lexicon -------------------------------------------------------------------------------------------
# Words (after lower-casing, accent folding and a plural "s" strip) that name a sound, mapped to kinds.

LEXICON: dict[str, tuple[K, ...]] = {
    **dict.fromkeys(("rain", "rainy", "raining", "rainfall", "downpour", "pouring", "shower", "raindrop",
                     "monsoon"), (K.RAIN,)),
    **dict.fromkeys(("drizzle", "drizzling", "sprinkle"), (K.DRIZZLE,)),
    **dict.fromkeys(("thunder", "lightning", "thunderclap"), (K.THUNDER,)),
    "thunderstorm": (K.THUNDER, K.RAIN), "storm": (K.THUNDER, K.WIND), "stormy": (K.THUNDER, K.WIND),
    **dict.fromkeys(("wind", "windy", "breeze", "breezy", "gust", "gusty", "gale", "blustery"), (K.WIND,)),
    **dict.fromkeys(("howling", "whistling", "blizzard", "draught", "draft"), (K.WIND_WHISTLE,)),
    **dict.fromkeys(("fire", "fireplace", "hearth", "crackling", "fireside", "stove", "embers", "log"), (K.FIRE,)),
    **dict.fromkeys(("campfire", "bonfire"), (K.CAMPFIRE,)),
    **dict.fromkeys(("stream", "brook", "creek", "babbling", "waterfall", "fountain", "river", "trickling"),
                    (K.STREAM,)),
    **dict.fromkeys(("wave", "surf", "ocean", "sea", "tide", "shore", "seashore"), (K.WAVES,)),
    **dict.fromkeys(("underwater", "submerged", "submarine", "bubble"), (K.UNDERWATER,)),
    **dict.fromkeys(("bird", "birdsong", "songbird", "chirping", "tweeting", "sparrow", "robin", "blackbird",
                     "warbler", "nightingale", "dawn chorus"), (K.BIRDS,)),
    **dict.fromkeys(("owl", "hoot", "hooting"), (K.OWL,)),
    **dict.fromkeys(("seagull", "gull"), (K.SEAGULLS,)),
    **dict.fromkeys(("cricket", "grasshopper", "katydid"), (K.CRICKETS,)),
    **dict.fromkeys(("cicada", "insect", "buzzing insects"), (K.CICADAS,)),
    **dict.fromkeys(("frog", "toad", "croaking", "ribbit"), (K.FROGS,)),
    **dict.fromkeys(("leaf", "leaves", "rustling", "rustle", "foliage"), (K.LEAVES,)),
    **dict.fromkeys(("crowd", "people", "chatter", "chattering", "voices", "murmur", "murmuring", "talking",
                     "conversation", "bustle", "bustling"), (K.CROWD,)),
    **dict.fromkeys(("cafe", "coffee", "coffeehouse", "coffeeshop", "espresso", "bistro", "diner", "restaurant",
                     "pub", "tavern", "bar"), (K.CAFE,)),
    **dict.fromkeys(("traffic", "car", "cars", "highway", "freeway", "motorway", "road"), (K.TRAFFIC,)),
    **dict.fromkeys(("city", "urban", "downtown", "metropolis"), (K.CITY,)),
    **dict.fromkeys(("siren", "ambulance", "police"), (K.SIRENS,)),
    **dict.fromkeys(("footstep", "steps", "walking", "walker", "pedestrian", "heels", "stroll", "strolling"),
                    (K.FOOTSTEPS,)),
    **dict.fromkeys(("hum", "humming", "electrical", "transformer", "powerline", "generator"), (K.HUM,)),
    **dict.fromkeys(("neon", "neon-lit", "sign", "flickering", "fluorescent"), (K.NEON,)),
    **dict.fromkeys(("hvac", "ventilation", "vent", "aircon", "air-conditioning", "fan", "server"), (K.HVAC,)),
    **dict.fromkeys(("train", "railway", "subway", "metro", "tram", "locomotive"), (K.TRAIN,)),
    **dict.fromkeys(("clock", "ticking", "tick", "tock"), (K.CLOCK,)),
    **dict.fromkeys(("bell", "church", "chime", "chiming", "toll", "tolling", "gong"), (K.BELLS,)),
    **dict.fromkeys(("ship", "boat", "hull", "creak", "creaking", "creaky", "rigging", "floorboard"),
                    (K.SHIP_CREAK,)),
    **dict.fromkeys(("drone", "droning", "space", "void", "cosmic"), (K.DRONE,)),
    **dict.fromkeys(("music", "musical", "melody", "pad", "chord", "piano", "ambient music", "song"),
                    (K.MUSIC_BED,)),
    **dict.fromkeys(("pink noise", "white noise", "static", "noise"), (K.PINK_NOISE,)),
    **dict.fromkeys(("brown noise", "brownian", "rumble", "rumbling"), (K.BROWN_NOISE,)),
}

# ---- modifiers -----------------------------------------------------------------------------------------

FAR_WORDS = frozenset(["distant", "far", "faraway", "far-off", "afar", "remote", "muffled", "echoing", "echo",
                       "faint", "background"])
NEAR_WORDS = frozenset(["close", "nearby", "near", "beside", "overhead", "foreground", "loud", "intimate"])
INTENSITY_WORDS: dict[str, float] = {
    **dict.fromkeys(["heavy", "pouring", "torrential", "violent", "raging", "fierce"], 0.9),
    **dict.fromkeys(["busy", "bustling", "crowded", "roaring", "strong", "intense", "wild", "howling", "loud",
                     "noisy"], 0.8),
    **dict.fromkeys(["steady", "moderate"], 0.5),
    **dict.fromkeys(["light", "gentle", "soft", "quiet", "calm", "lazy", "sleepy", "peaceful", "subtle", "slow",
                     "sparse"], 0.3),
    **dict.fromkeys(["faint", "tiny", "whisper", "hushed", "still"], 0.2),
}
NIGHT_WORDS = frozenset(["night", "midnight", "nighttime", "night-time", "nocturnal", "moonlit", "moonlight",
                         "moon", "stars", "starry", "dark", "late", "evening", "dusk", "twilight"])
DAY_WORDS = frozenset(["day", "daytime", "morning", "dawn", "sunrise", "noon", "midday", "afternoon", "sunny",
                       "daylight"])
COLD_WORDS = frozenset(["snow", "snowy", "snowing", "snowfall", "winter", "cold", "frozen", "frost", "frosty",
                        "icy", "ice", "blizzard"])
WET_WORDS = frozenset(["wet", "puddle", "puddles", "rainy", "rain", "raining", "drizzle", "drizzling", "damp",
                       "soaked"])
NEGATION_WORDS = frozenset(["no", "without", "not", "never"])
STOP_WORDS = frozenset(["a", "an", "the", "in", "on", "at", "of", "and", "with", "while", "by", "to", "for", "from",
                        "into", "onto", "under", "over", "as", "is", "are", "it", "its", "my", "our", "your",
                        "their", "this", "that", "these", "those", "some", "lot", "lots", "very", "just", "there",
                        "here", "full", "filled", "one", "two", "few", "during", "through", "around", "across",
                        "after", "before"])
