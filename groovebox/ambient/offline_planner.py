"""The offline scene planner: scene text -> ``Scene`` with the catalogue, the lexicon and the archetypes, no model.

Pure function, any thread (the control loop calls it directly: it takes about a millisecond).

Decisions (reference/generation.md §5.2):
- Words are lower-cased, accent-folded ("café" -> "cafe"), split on anything but letters, digits, hyphens
  and apostrophes; a hyphenated word also counts as its parts ("neon-lit" -> "neon-lit", "neon", "lit"); a
  plural "s"/"ies" is stripped as a second form. Two-word lexicon phrases ("pink noise") match first.
- The lexicon runs first: words that name a sound give explicit layers, in text order. The archetype is
  chosen by overlap, on the other words: 3 points per archetype keyword (split among the archetypes that
  list it: "library" 3, "night" 0.75), 0.5 per word shared with its contexts; plus 2 per explicit kind it
  contains less 0.25 per kind it would add (so "thunder and rain" picks the thunderstorm, not the storm
  at sea). Ties go to the first in the catalogue. Nothing matched at all: the default archetype, and
  ``notes`` lists the words not understood (otherwise it names the archetype).
- Layers: explicit kinds first, then the archetype's (all of them when any word of the text is one of
  its keywords; at most enough to reach 4 layers when it was only chosen for sharing kinds); a kind
  mentioned after "no"/"without" never, nor its variants (kinds sharing its recipe: "no rain" also
  leaves out drizzle and rain on the roof). One kind per exclusive family (one fire, one pair of feet, one
  noise colour) and group (rain or drizzle, hum or neon, crowd or café). Too few: the catalogue beds
  whose description, contexts and tags share most words with the text fill in, one per family. At most
  ``MAX_LAYERS``.
- Context rules: footsteps become wet ones when the text is wet and snowy ones when it is cold; rain is
  heard on the roof when the text names an indoor place (or a roof, window, tent); at night birds, gulls
  and cicadas go (unless named) and a natural outdoor scene gets crickets (not when cold) and an owl
  (woods, countryside); by day the owl goes; cold removes crickets, cicadas and frogs (unless named).
- Modifiers: a modifier word within two words before a sound word sets that layer ("distant thunder":
  distance >= 0.75, more reverb, narrower; "close": nearer; "heavy rain": intensity 0.9). One that
  qualifies nothing is global and applies at half strength to every layer. "Distant" lowers the level
  through the distance: the synthesiser turns distance into -6 dB per doubling.
- Mix: the catalogue defaults, then the archetype's overrides (``trim_db`` adds to the default gain),
  then the modifiers. Beds sit near the centre; event layers are panned left and right alternately by a
  seeded random amount. The result is deterministic for a text and seed (no seed: a seed from the text's
  CRC32). ``drift`` is 0.25 for beds and 0.1 for events (the live "animate" depth).
- Narrative: the archetype's opening sentence plus the layers' descriptions grouped by distance ("close
  by", "around you", "in the distance"); each description gets the catalogue's intensity word and
  "distant" when far. Title: the text when short, else the archetype's title.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from dataclasses import dataclass, field

import numpy as np

from groovebox.ambient.catalogue import (
    ARCHETYPES,
    COLD_WORDS,
    DAY_WORDS,
    DEFAULT_ARCHETYPE,
    ELEMENTS,
    EXCLUSIVE_FAMILIES,
    EXCLUSIVE_GROUPS,
    FAR_WORDS,
    INTENSITY_WORDS,
    LEXICON,
    NEAR_WORDS,
    NEGATION_WORDS,
    NIGHT_WORDS,
    STOP_WORDS,
    WET_WORDS,
    Archetype,
)
from groovebox.ambient.scene import MAX_LAYERS, MIN_LAYERS, Scene, SceneLayer
from groovebox.ambient.scene import ElementKind as K

__all__ = ["plan_offline", "tokenize"]

_MODIFIER_REACH = 2          # a modifier qualifies a sound word at most this many words later
_SHORT_TITLE_CHARS = 60
_GENERIC_OPENER = "The scene settles around you"      # when none of the archetype's sounds made it in
_WOODS_WORDS = frozenset(["forest", "woods", "woodland", "countryside", "country", "rural", "farm", "field",
                          "fields", "camp", "camping", "campsite", "barn", "meadow", "trees"])
_ROOF_WORDS = frozenset(["roof", "window", "windowsill", "tent", "attic", "skylight", "tin"])
_OUTSIDE_WORDS = frozenset(["outside", "outdoors", "street", "forest", "field", "garden", "park"])
_NIGHT_DROPS = (K.BIRDS, K.SEAGULLS, K.CICADAS)
_COLD_DROPS = (K.CRICKETS, K.CICADAS, K.FROGS)


@dataclass
class _Word:
    """One position in the text: its forms (word, parts of a hyphenated word, singular)."""

    forms: tuple[str, ...]

    @property
    def main(self) -> str:
        return self.forms[0]


@dataclass
class _Draft:
    """A layer being planned: its kind and a mutable mix."""

    kind: K
    mix: dict = field(default_factory=dict)      # the archetype's overrides
    mods: dict = field(default_factory=dict)     # modifier words that qualify this layer
    explicit: bool = False


# ---- words ---------------------------------------------------------------------------------------------

def tokenize(text: str) -> list[tuple[str, ...]]:
    """The forms of each word of ``text`` (lower case, accents folded, hyphen parts, singular)."""
    return [word.forms for word in _words(text)]


def _words(text: str) -> list[_Word]:
    folded = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(c for c in folded if not unicodedata.combining(c)).replace("’", "'")
    words = []
    for raw in re.findall(r"[a-z0-9]+(?:['-][a-z0-9]+)*", folded):
        raw = raw.removesuffix("'s")
        forms = [raw] + [part for part in raw.split("-") if part and part != raw]
        forms += [s for s in (_singular(f) for f in list(forms)) if s not in forms]
        words.append(_Word(tuple(dict.fromkeys(forms))))
    return words


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _all_forms(words: list[_Word]) -> set[str]:
    return {form for word in words for form in word.forms}


# ---- explicit sounds and modifiers ---------------------------------------------------------------------

@dataclass
class _Reading:
    """What the words say: explicit kinds with their modifiers, global modifiers, negated kinds, leftovers."""

    explicit: list[tuple[K, dict]] = field(default_factory=list)
    global_mods: dict = field(default_factory=dict)
    negated: set[K] = field(default_factory=set)
    used: set[int] = field(default_factory=set)
    sound_words: set[int] = field(default_factory=set)


def _read(words: list[_Word]) -> _Reading:
    reading = _Reading()
    hits = _lexicon_hits(words)
    qualified: set[int] = set()
    for start, end, kinds in hits:
        negated = any(words[j].main in NEGATION_WORDS for j in range(max(0, start - _MODIFIER_REACH), start))
        mods = {}
        for j in range(max(0, start - _MODIFIER_REACH), start):
            if _modifier_of(words[j]):
                mods.update(_modifier_of(words[j]))
                qualified.add(j)
        reading.used.update(range(start, end))
        reading.sound_words.update(range(start, end))
        for kind in kinds:
            if negated:
                reading.negated.add(kind)
            else:
                reading.explicit.append((kind, mods))
    for i, word in enumerate(words):
        mod = _modifier_of(word)
        if mod:
            reading.used.add(i)
            if i not in qualified:
                reading.global_mods.update(mod)
    recipes = {ELEMENTS[kind].recipe for kind in reading.negated}        # "no rain": no drizzle either
    reading.negated |= {kind for kind, spec in ELEMENTS.items() if spec.recipe in recipes}
    return reading


def _lexicon_hits(words: list[_Word]) -> list[tuple[int, int, tuple[K, ...]]]:
    """(start, end, kinds) of every lexicon phrase, two-word phrases first at each position."""
    hits, i = [], 0
    while i < len(words):
        pair = f"{words[i].main} {words[i + 1].main}" if i + 1 < len(words) else ""
        if pair in LEXICON:
            hits.append((i, i + 2, LEXICON[pair]))
            i += 2
            continue
        kinds = [kind for form in words[i].forms for kind in LEXICON.get(form, ())]
        if kinds:
            hits.append((i, i + 1, tuple(dict.fromkeys(kinds))))
        i += 1
    return hits


def _modifier_of(word: _Word) -> dict:
    """The mix change one word asks for ({} when it is not a modifier)."""
    mod = {}
    for form in word.forms:
        if form in FAR_WORDS:
            mod["far"] = True
        if form in NEAR_WORDS:
            mod["near"] = True
        if form in INTENSITY_WORDS:
            mod["intensity"] = INTENSITY_WORDS[form]
    return mod


# ---- archetype -----------------------------------------------------------------------------------------

def _keyword_weights() -> dict[str, float]:
    """3 points per keyword, shared among the archetypes that list it ("library": 3, "night": 3/4)."""
    counts: dict[str, int] = {}
    for archetype in ARCHETYPES.values():
        for word in set(archetype.keywords):
            counts[word] = counts.get(word, 0) + 1
    return {word: 3.0 / count for word, count in counts.items()}


_KEYWORD_WEIGHTS = _keyword_weights()


def _archetype_score(archetype: Archetype, forms: set[str], explicit: set[K]) -> tuple[float, float]:
    """(score from place/time/weather words, score from shared kinds); ``forms`` excludes sound words."""
    keywords = set(archetype.keywords)
    keyword_score = sum(_KEYWORD_WEIGHTS[word] for word in forms & keywords)
    context_words = {w for c in archetype.contexts for w in re.findall(r"[a-z]+", c)} - STOP_WORDS
    context_score = 0.5 * len((forms - keywords) & context_words)
    shared = len(explicit & set(archetype.kinds))
    kinds_score = 2.0 * shared - 0.25 * (len(archetype.kinds) - shared) if shared else 0.0
    return keyword_score + context_score, kinds_score


def _choose_archetype(forms: set[str], explicit: set[K]) -> tuple[Archetype, float, float]:
    """The best-scoring archetype (ties: the first in the catalogue); the default when nothing scores."""
    best, best_words, best_kinds = ARCHETYPES[DEFAULT_ARCHETYPE], 0.0, 0.0
    for archetype in ARCHETYPES.values():
        words_score, kinds_score = _archetype_score(archetype, forms, explicit)
        if words_score + kinds_score > best_words + best_kinds:
            best, best_words, best_kinds = archetype, words_score, kinds_score
    return best, best_words, best_kinds


# ---- layers --------------------------------------------------------------------------------------------

def _add(drafts: list[_Draft], kind: K, mix: dict, *, explicit: bool, negated: set[K],
         mods: dict | None = None) -> None:
    if kind in negated or len(drafts) >= MAX_LAYERS:
        return
    for draft in drafts:
        if draft.kind == kind:
            draft.explicit |= explicit
            draft.mods.update(mods or {})
            return
        if _excludes(draft.kind, kind):
            return
    drafts.append(_Draft(kind, dict(mix), dict(mods or {}), explicit))


def _excludes(present: K, new: K) -> bool:
    family = ELEMENTS[present].family
    if family in EXCLUSIVE_FAMILIES and family == ELEMENTS[new].family:
        return True
    return any(present in group and new in group for group in EXCLUSIVE_GROUPS)


def _variant(kind: K, forms: set[str], archetype: Archetype, indoors: bool) -> K:
    """Surface and placement variants the context implies (``indoors``: the text names an indoor place)."""
    if kind in (K.FOOTSTEPS, K.FOOTSTEPS_WET, K.FOOTSTEPS_SNOW):
        if forms & COLD_WORDS:
            return K.FOOTSTEPS_SNOW
        if forms & WET_WORDS:
            return K.FOOTSTEPS_WET
    if kind == K.RAIN and (indoors or forms & _ROOF_WORDS) and not forms & _OUTSIDE_WORDS:
        return K.RAIN_ON_ROOF
    return kind


def _assemble(reading: _Reading, forms: set[str], archetype: Archetype, named_by_words: bool) -> list[_Draft]:
    drafts: list[_Draft] = []
    overrides = dict(archetype.layers)
    indoors = named_by_words and not archetype.outdoor
    for kind, mods in reading.explicit:
        kind = _variant(kind, forms, archetype, indoors)
        _add(drafts, kind, overrides.get(kind, {}), explicit=True, negated=reading.negated, mods=mods)
    extra_room = MAX_LAYERS if named_by_words else max(0, 4 - len(drafts))
    for kind, mix in archetype.layers:
        if extra_room <= 0:
            break
        before = len(drafts)
        _add(drafts, _variant(kind, forms, archetype, indoors), mix, explicit=False, negated=reading.negated)
        extra_room -= len(drafts) - before
    _apply_context(drafts, forms, archetype, reading.negated)
    if len(drafts) < MIN_LAYERS:
        _fill(drafts, forms, reading.negated)
    return drafts


def _apply_context(drafts: list[_Draft], forms: set[str], archetype: Archetype, negated: set[K]) -> None:
    night = bool(forms & NIGHT_WORDS) and not forms & {"morning", "dawn", "sunrise", "noon", "midday"}
    cold = bool(forms & COLD_WORDS)
    drops = set()
    if night:
        drops |= set(_NIGHT_DROPS)
    elif forms & DAY_WORDS:
        drops.add(K.OWL)
    if cold:
        drops |= set(_COLD_DROPS)
    drafts[:] = [d for d in drafts if d.explicit or d.kind not in drops]
    natural = archetype.nature or bool(forms & _WOODS_WORDS)
    if night and natural and archetype.outdoor:
        if not cold:
            _add(drafts, K.CRICKETS, {}, explicit=False, negated=negated)
        if forms & _WOODS_WORDS:
            _add(drafts, K.OWL, {}, explicit=False, negated=negated)


def _fill(drafts: list[_Draft], forms: set[str], negated: set[K]) -> None:
    """Add the catalogue elements that share most words with the text, one per family, up to MIN_LAYERS."""
    families = {ELEMENTS[d.kind].family for d in drafts}
    ranked = [spec for spec in sorted(ELEMENTS.values(), key=lambda e: -_element_overlap(e, forms))
              if spec.role == "bed"]
    for diverse in (True, False):                 # second pass: any bed, should the families run out
        for spec in ranked:
            if len(drafts) >= MIN_LAYERS:
                return
            if diverse and spec.family in families:
                continue
            before = len(drafts)
            _add(drafts, spec.kind, {}, explicit=False, negated=negated)
            if len(drafts) > before:
                families.add(spec.family)


def _element_overlap(spec, forms: set[str]) -> int:
    text = " ".join((spec.description, *spec.heard_in, *spec.tags))
    return len(forms & (set(re.findall(r"[a-z]+", text)) - STOP_WORDS))


# ---- mix -----------------------------------------------------------------------------------------------

def _mix_of(draft: _Draft, global_mods: dict) -> dict:
    spec = ELEMENTS[draft.kind]
    mix = {"gain_db": spec.gain_db, "spread": spec.spread, "distance": spec.distance,
           "reverb_send": spec.reverb_send, "delay_send": spec.delay_send, "intensity": spec.intensity}
    mix.update({k: v for k, v in draft.mix.items() if k in mix})
    mix["gain_db"] += draft.mix.get("trim_db", 0.0)
    _apply_modifiers(mix, global_mods, strength=0.5)
    _apply_modifiers(mix, draft.mods, strength=1.0)
    return mix


def _apply_modifiers(mix: dict, mods: dict, *, strength: float) -> None:
    if "intensity" in mods:
        mix["intensity"] += strength * (mods["intensity"] - mix["intensity"])
    if mods.get("far"):
        far = max(mix["distance"] + 0.4, 0.75)
        mix["distance"] += strength * (far - mix["distance"])
        mix["reverb_send"] += strength * 0.2
        mix["spread"] *= 1.0 - 0.3 * strength
    if mods.get("near"):
        mix["distance"] -= strength * min(mix["distance"], 0.25)
        mix["reverb_send"] -= strength * min(mix["reverb_send"], 0.1)


def _layers(drafts: list[_Draft], global_mods: dict, rng: np.random.Generator) -> list[SceneLayer]:
    layers, side = [], float(rng.choice([-1.0, 1.0]))
    for draft in drafts:
        spec = ELEMENTS[draft.kind]
        mix = _mix_of(draft, global_mods)
        if spec.role == "events":
            pan = side * float(rng.uniform(0.15, 0.55))
            side = -side
        else:
            pan = float(rng.uniform(-0.1, 0.1))
        clamped = {k: float(np.clip(v, -40.0, 6.0) if k == "gain_db" else np.clip(v, 0.0, 1.0))
                   for k, v in mix.items()}
        layers.append(SceneLayer(kind=draft.kind, description=_describe(draft.kind, clamped), pan=round(pan, 3),
                                 drift=0.25 if spec.role == "bed" else 0.1,
                                 **{k: round(v, 3) for k, v in clamped.items()}))
    return layers


# ---- words out -----------------------------------------------------------------------------------------

def _describe(kind: K, mix: dict) -> str:
    spec = ELEMENTS[kind]
    text = spec.description
    if mix["intensity"] >= 0.75:
        text = _qualified(text, spec.strong_word)
    elif mix["intensity"] <= 0.3:
        text = _qualified(text, spec.soft_word)
    if mix["distance"] >= 0.7 and "distant" not in text:
        text = _qualified(text, "distant")
    return text[:200]


def _qualified(description: str, word: str) -> str:
    """``word`` in front of the noun phrase, after (or replacing) its article."""
    article, _, rest = description.partition(" ")
    if article not in ("a", "an", "the"):
        return f"{word} {description}"
    if word.startswith(("a ", "an ")):
        return f"{word} {rest}"
    if article == "the":
        return f"the {word} {rest}"
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word} {rest}"


def _narrative(archetype: Archetype, layers: list[SceneLayer]) -> str:
    groups = (("Close by", lambda d: d < 0.35), ("Around you", lambda d: 0.35 <= d < 0.65),
              ("In the distance", lambda d: d >= 0.65))
    shared = {layer.kind for layer in layers} & set(archetype.kinds)
    parts = [(archetype.opener if shared else _GENERIC_OPENER) + "."]
    for label, wanted in groups:
        descriptions = [layer.description for layer in layers if wanted(layer.distance)]
        if descriptions:
            parts.append(f"{label}: {_join(descriptions)}.")
    return " ".join(parts)[:1000]


def _join(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    if any("," in item or ":" in item for item in items):
        return "; ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _title(text: str, archetype: Archetype) -> str:
    clean = " ".join(text.split()).strip(" .!?")
    if 0 < len(clean) <= _SHORT_TITLE_CHARS:
        return clean[0].upper() + clean[1:]
    return archetype.title


# ---- the planner ---------------------------------------------------------------------------------------

def plan_offline(text: str, *, seed: int | None = None) -> Scene:
    """Plan a scene for ``text`` from the catalogue: 3-8 layers with mix parameters, a narrative and a title.

    Deterministic for the same ``text`` and ``seed``; ``seed`` only moves the pans of the layers."""
    words = _words(text)
    forms = _all_forms(words)
    reading = _read(words)
    explicit_kinds = {kind for kind, _ in reading.explicit}
    place_forms = _all_forms([w for i, w in enumerate(words) if i not in reading.sound_words])
    archetype, words_score, kinds_score = _choose_archetype(place_forms, explicit_kinds)
    notes = _notes(words, reading, archetype, words_score + kinds_score)
    named = words_score > 0 or kinds_score == 0 or bool(forms & set(archetype.keywords))
    drafts = _assemble(reading, forms, archetype, named_by_words=named)
    rng = np.random.default_rng(seed if seed is not None else zlib.crc32(text.encode()))
    layers = _layers(drafts, reading.global_mods, rng)
    return Scene(text=text, title=_title(text, archetype), narrative=_narrative(archetype, layers),
                 layers=layers, planner="offline", notes=notes)


def _notes(words: list[_Word], reading: _Reading, archetype: Archetype, score: float) -> list[str]:
    if reading.explicit or reading.negated or score > 0:
        return [f"archetype: {archetype.name}"]
    unknown = [w.main for i, w in enumerate(words) if i not in reading.used and w.main not in STOP_WORDS
               and w.main not in NEGATION_WORDS]
    listed = ", ".join(dict.fromkeys(unknown)) or "(no words)"
    return [f"did not understand: {listed}", f"nothing matched; using the default scene '{archetype.name}'"]
