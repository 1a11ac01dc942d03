"""Building a playable scene: plan it, render each layer as a seamless loop and store the loops in the library
(an idle worker process: ``build_scene`` is what the daemon submits; ``render_variant`` re-renders a layer).

Decisions:
- Layers are rendered at unity gain and centre pan: the pad's volume and pan play those parts live, so a
  performer can change them while the scene plays. Distance, spread and intensity are baked into the audio
  (changing intensity re-renders the layer).
- Each layer is a library loop: source "scene", category "ambient", tagged with the scene's title, named
  "<title>: <kind>". A preset (``<data dir>/scenes/<id>.json``) records the scene, the seed, the loop length
  and the loop of each layer. These loops and presets are the only files a scene leaves; re-rendered event
  layers (new seeds while playing) and intensity changes live in memory only.
- Loops are ``seconds`` long (default 30 s); beds loop by construction and event layers are re-rendered with
  a new seed each cycle while playing (``control/scenes.py``), so events never repeat exactly.
- The musical bed (``music_bed``) comes from Lyria RealTime when a key is configured (``generator``): a
  drumless ambient loop of whole bars at ``BED_BPM`` near ``seconds`` long, at the layers' loudness. Without a
  key, or when Lyria fails, it is the offline pad chord and the scene's notes say why.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

import numpy as np

from groovebox.ambient.scene import Scene, SceneLayer

__all__ = ["DEFAULT_SECONDS", "build_scene", "plan_configured", "render_variant", "live_layer", "preset_path",
           "write_preset"]

DEFAULT_SECONDS = 30.0
SCENES_DIR = "scenes"
BED_BPM = 70


def plan_configured(text: str, *, seed: int | None, settings, api_key: str | None) -> Scene:
    """The configured planner (``settings``: the ``[ambient]`` section): Gemini with ``api_key``, else an
    OpenAI-compatible server when set, else offline; any failure falls back to offline with a note.
    Picklable with ``functools.partial`` (the daemon runs it in a worker process)."""
    import functools

    from groovebox.ambient.llm_planner import plan_scene
    from groovebox.ambient.offline_planner import plan_offline

    return plan_scene(text, fallback=functools.partial(plan_offline, seed=seed), settings=settings,
                      gemini_api_key=api_key, seed=seed)


def live_layer(layer: SceneLayer) -> SceneLayer:
    """The layer as it is rendered for a pad: unity gain, centre (the pad plays gain and pan)."""
    return layer.model_copy(update={"gain_db": 0.0, "pan": 0.0})


def render_variant(layer: SceneLayer, seconds: float, seed: int) -> np.ndarray:
    """``layer`` rendered for a pad with ``seed`` (a new take of an event layer, or a new intensity)."""
    from groovebox.ambient.synth import render_layer

    return render_layer(live_layer(layer), seconds=seconds, seed=seed)


def build_scene(data_dir: Path, scene: Scene, seconds: float = DEFAULT_SECONDS, seed: int | None = None,
                generator=None) -> dict:
    """Render every layer of ``scene``, add each to the library and write the preset; returns the preset.
    ``generator`` (a ``GeneratorConfig``, given when a Gemini key is configured) makes the musical bed."""
    from groovebox.ambient.synth import layer_seed
    from groovebox.library.store import Library

    seed = secrets.randbelow(2**31) if seed is None else seed
    title = scene.title or scene.text[:60]
    layers, notes = [], list(scene.notes)
    with Library(data_dir) as library:
        for index, layer in enumerate(scene.layers):
            layer_seed_ = layer_seed(seed, index)
            audio, engine = render_variant(layer, seconds, layer_seed_), "synth"
            if layer.kind.value == "music_bed" and generator is not None:
                audio, engine, note = _lyria_bed(scene, layer, seconds, layer_seed_, generator, audio)
                notes += [note] if note else []
            record = library.add(audio, name=f"{title}: {layer.kind.value}", source="scene", category="ambient",
                                 tags=("scene", title[:40]), bpm=None, bars=None)
            layers.append({"kind": layer.kind.value, "loopId": record.loop_id, "engine": engine})
    scene_json = {**scene.model_dump(mode="json"), "notes": notes}
    preset = {"sceneId": secrets.token_hex(8), "createdAt": time.strftime("%Y-%m-%dT%H:%M:%S"),
              "seconds": seconds, "seed": seed, "scene": scene_json, "layers": layers}
    write_preset(data_dir, preset)
    return preset


def _lyria_bed(scene: Scene, layer: SceneLayer, seconds: float, seed: int, generator, fallback: np.ndarray):
    """(audio, engine, note): a drumless Lyria loop for the musical bed, or ``fallback`` and why."""
    from groovebox.ambient.synth import at_loudness, expected_loudness_lufs
    from groovebox.generate.produce import GenerationError, generate_option
    from groovebox.generate.request import SEED_MAX, GenerationRequest

    bars = max(1, min(16, round(seconds * BED_BPM / 240.0)))
    prompt = f"{layer.description or 'slow evolving ambient pads'}; the mood of {scene.text}"[:500]
    request = GenerationRequest(prompt=prompt, genre="Ambient", mood="Dreamy", bpm=BED_BPM, bars=bars,
                                mute_drums=True, density=0.3, engine="lyria", seed=seed % SEED_MAX)
    try:
        loop = generate_option(request, 0, generator)
    except (GenerationError, OSError, ValueError) as error:
        return fallback, "synth", f"the musical bed is the offline pad chord: Lyria failed ({error})"
    target_lufs = expected_loudness_lufs(live_layer(layer))
    return at_loudness(loop.audio.astype(np.float32), 48000, target_lufs), "lyria", ""


def preset_path(data_dir: Path, scene_id: str) -> Path:
    return Path(data_dir) / SCENES_DIR / f"{scene_id}.json"


def write_preset(data_dir: Path, preset: dict) -> None:
    """Write a preset atomically and durably."""
    from groovebox.project.model import atomic_write_bytes

    path = preset_path(data_dir, preset["sceneId"])
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, json.dumps(preset, indent=1).encode())
