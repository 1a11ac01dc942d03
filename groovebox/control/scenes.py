"""Ambient scenes live: plan and build a scene, load it into a pad bank, play it, animate it, fade it out
(control loop; the planning and rendering run in the idle worker pool).

A scene becomes a bank of pads, one per layer (up to 8 of the bank's 16): the pad's volume is the layer's
gain, its pan the layer's pan, its sends 0 and 1 the layer's reverb and delay sends, its loop region the
layer's loop points. Those are ordinary pad settings, so the phone's pad sheet, the mixer and the controller
change them while the scene plays, click-free (the engine glides volume, pan and sends).

Decisions:
- Loading a scene is one undoable edit (``LoadBank``) that replaces the chosen bank's pads (bank 4 by
  default, pads 48-63) and, when send bus 1 or 2 has no chain, gives bus 1 a reverb and bus 2 a delay.
  Scene pads launch unquantized and loop; their native tempo is the project's (the time-stretcher keeps
  them at pitch when the tempo changes).
- Live-only parameters are not project edits: ``drift`` (animate) is a slow random walk of each layer's
  gain around its set volume (within +-``drift`` x 6 dB: a new target every ``DRIFT_TARGET_S``, reached in
  steps of ``DRIFT_STEP_S``); intensity re-renders the layer in the worker and swaps it in, in phase; the fade-out timer
  ramps every layer down over the given time and then stops the scene.
- Event layers (thunder, footsteps, birds, ...) are re-rendered with a new seed once per loop cycle while
  the scene plays and swapped in, so their events never repeat exactly.
- One scene plays at a time; starting another replaces it (the bank is reused).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import random
from concurrent.futures import Executor
from pathlib import Path

from groovebox.ambient.build import DEFAULT_SECONDS, build_scene, preset_path, render_variant, write_preset
from groovebox.ambient.scene import GAIN_DB_RANGE, Scene, SceneLayer
from groovebox.control.editor import LoadBank
from groovebox.control.savelock import SaveLock
from groovebox.engine import PadState
from groovebox.engine import commands as c
from groovebox.fx.spec import Bus, Delay, EffectsConfig, Reverb
from groovebox.project.model import Pad

__all__ = ["SceneError", "ScenePlayer", "delete_preset", "list_presets", "read_preset", "layer_volume",
           "DEFAULT_BANK"]

log = logging.getLogger(__name__)

DEFAULT_BANK = 3
DRIFT_TARGET_S = 4.0              # a new drift target this often ...
DRIFT_STEP_S = 0.25               # ... approached in small steps (the engine glides each over 10 ms)
DRIFT_DB = 6.0
FADE_STEP_S = 0.5
EVENT_KINDS = frozenset({"thunder", "footsteps", "footsteps_wet", "footsteps_snow", "birds", "owl", "seagulls",
                         "sirens", "bells", "train", "ship_creak", "clock"})


class SceneError(Exception):
    """A scene cannot be built, loaded or changed; the message says why."""


def layer_volume(layer: SceneLayer) -> float:
    """The pad volume (linear, 0..1) that plays ``layer`` at its gain."""
    return max(0.0, min(1.0, 10.0 ** (layer.gain_db / 20.0)))


def list_presets(data_dir: Path) -> list[dict]:
    """Saved scenes, newest first: id, title, text, layers, seconds."""
    import json

    presets = []
    for path in sorted((Path(data_dir) / "scenes").glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            preset = json.loads(path.read_text())
            presets.append({"sceneId": preset["sceneId"], "title": preset["scene"]["title"],
                            "text": preset["scene"]["text"], "layers": len(preset["layers"]),
                            "seconds": preset["seconds"], "createdAt": preset.get("createdAt")})
        except (OSError, ValueError, KeyError) as error:
            log.warning("skipping unreadable scene preset %s: %s", path.name, error)
    return presets


def delete_preset(data_dir: Path, scene_id: str) -> None:
    """Delete a saved scene's preset; its layers stay in the library (delete them there, with its checks)."""
    read_preset(data_dir, scene_id)
    preset_path(data_dir, scene_id).unlink()


def read_preset(data_dir: Path, scene_id: str) -> dict:
    import json

    if not scene_id.isalnum() or len(scene_id) > 40:
        raise SceneError(f"no scene {scene_id[:40]!r}")
    try:
        return json.loads(preset_path(data_dir, scene_id).read_text())
    except FileNotFoundError:
        raise SceneError(f"no scene {scene_id!r}") from None
    except (OSError, ValueError) as error:
        raise SceneError(f"scene {scene_id!r} cannot be read: {error}") from None


class ScenePlayer:
    """Builds, loads and plays scenes. Control loop only."""

    def __init__(self, session, editor, workers: Executor | None, data_dir: Path, planner=None,
                 save_lock: SaveLock | None = None) -> None:
        self.session = session
        self.save_lock = save_lock or SaveLock()
        self.editor = editor
        self.workers = workers
        self.data_dir = Path(data_dir)
        self.planner = planner              # ``planner(text, seed=...) -> Scene`` (offline when None)
        self.generator = None               # a GeneratorConfig when a Gemini key is set: Lyria makes the music bed
        self.preset: dict | None = None
        self.bank = DEFAULT_BANK
        self.playing = False
        self.fade: dict | None = None
        self._drift_db: dict[int, float] = {}           # each pad's current drift offset ...
        self._drift_target_db: dict[int, float] = {}    # ... and where it is heading
        self._tasks: list[asyncio.Task] = []
        self._fade_task: asyncio.Task | None = None
        self._rng = random.Random()

    # ------------------------------------------------------------------ building
    async def create(self, text: str, *, seconds: float = DEFAULT_SECONDS, seed: int | None = None) -> dict:
        """Plan ``text`` into a scene, render its layers into the library and save the preset (in a worker).
        ``SaveLocked`` in gig mode (the layers would be new library loops)."""
        self.save_lock.check("creating a scene")
        scene = await self._run(functools.partial(_plan, self.planner, text, seed))
        return await self._run(functools.partial(build_scene, self.data_dir, scene, seconds, seed, self.generator))

    # ------------------------------------------------------------------ loading and playing
    def load(self, preset: dict, bank: int = DEFAULT_BANK, play: bool = True) -> dict:
        """Put ``preset``'s layers on bank ``bank`` (one undoable edit); start them when ``play``."""
        self.stop()
        scene = Scene.model_validate(preset["scene"])
        pads = tuple(_layer_pad(bank * 16 + index, layer, entry, self.editor.project.bpm)
                     for index, (layer, entry) in enumerate(zip(scene.layers, preset["layers"], strict=True)))
        title = scene.title or scene.text[:40]
        self.editor.apply(LoadBank(bank, pads, _scene_effects(self.editor.project.effects), f"load scene {title}"))
        self.preset, self.bank = preset, bank
        if play:
            self.play()
        return self.describe()

    def play(self) -> None:
        """Start every layer (unquantized) and the animation."""
        if self.preset is None:
            raise SceneError("no scene is loaded")
        self._halt()
        for pad in self._pads():
            if self.session.pad_states[pad] not in (PadState.PLAYING, PadState.QUEUED):
                self.session.press(pad)
        self.playing = True
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._drift()), loop.create_task(self._renew_events())]

    def stop(self) -> None:
        """Stop the layers and the animation (the pads stay loaded)."""
        was_playing = self.playing
        self._halt()
        if was_playing:
            for pad in self._pads():
                self.session.stop(pad, quantized=False)

    def fade_out(self, seconds: float) -> dict:
        """Ramp every layer down to silence over ``seconds``, then stop the scene (a sleep timer); a new
        fade replaces a running one."""
        if not self.playing:
            raise SceneError("no scene is playing")
        if not 1.0 <= seconds <= 4 * 3600:
            raise SceneError("a fade lasts 1 s to 4 hours")
        self.cancel_fade()
        self.fade = {"seconds": seconds, "left_s": seconds}
        self._fade_task = asyncio.get_running_loop().create_task(self._fade(seconds))
        return self.describe()

    def cancel_fade(self) -> dict:
        """Stop a running fade and bring every layer back to its level."""
        if self._fade_task is not None:
            self._fade_task.cancel()
            self._fade_task = None
            for pad in self._pads():
                self._restore_volume(pad)
        self.fade = None
        return self.describe()

    def _halt(self) -> None:
        """Cancel the animation and any fade, levels back as set; ``playing`` is False after."""
        for task in self._tasks:
            task.cancel()
        self._tasks = []
        self.cancel_fade()
        for pad in self._pads():
            self._restore_volume(pad)
        self.playing = False

    async def set_intensity(self, layer_index: int, intensity: float) -> dict:
        """Re-render one layer at ``intensity`` (0..1) and swap it in, in phase (memory only)."""
        layer = self._layer(layer_index).model_copy(update={"intensity": intensity})
        SceneLayer.model_validate(layer.model_dump())
        audio = await self._run(functools.partial(render_variant, layer, self.preset["seconds"],
                                                  self._rng.randrange(2**31)))
        self._swap(layer_index, audio)
        self.preset["scene"]["layers"][layer_index]["intensity"] = intensity
        return self.describe()

    def save(self) -> dict:
        """Write the scene as it plays now into its preset: each layer's gain, pan and sends from its pad,
        its loop points, drift and intensity (loading the preset again brings this mix back)."""
        if self.preset is None:
            raise SceneError("no scene is loaded")
        self.save_lock.check("saving the scene")
        for index, layer in enumerate(self.preset["scene"]["layers"]):
            pad = self.editor.project.pad_at(self.bank * 16 + index)
            if pad is None:
                continue
            sends = list(pad.sends) + [0.0, 0.0]
            layer.update(gain_db=_gain_db(pad.volume), pan=pad.pan, reverb_send=sends[0], delay_send=sends[1])
            self.preset["layers"][index].update(loopStartSeconds=pad.loop_start_offset_seconds,
                                                loopEndSeconds=pad.loop_end_offset_seconds)
        Scene.model_validate(self.preset["scene"])
        write_preset(self.data_dir, self.preset)
        return self.describe()

    def set_drift(self, layer_index: int, drift: float) -> dict:
        if not 0.0 <= drift <= 1.0:
            raise SceneError("drift must be 0..1")
        self._layer(layer_index)
        self.preset["scene"]["layers"][layer_index]["drift"] = drift
        if drift == 0.0:
            self._restore_volume(self.bank * 16 + layer_index)
        return self.describe()

    def describe(self) -> dict:
        if self.preset is None:
            return {"loaded": False, "playing": False}
        scene = self.preset["scene"]
        return {"loaded": True, "playing": self.playing, "sceneId": self.preset["sceneId"], "title": scene["title"],
                "narrative": scene["narrative"], "notes": scene.get("notes", []), "bank": self.bank,
                "fade": self.fade, "layers": [
                    {**layer, "pad": self.bank * 16 + index, "loopId": entry["loopId"]}
                    for index, (layer, entry) in enumerate(zip(scene["layers"], self.preset["layers"]))]}

    # ------------------------------------------------------------------ tasks
    async def _drift(self) -> None:
        steps_per_target = round(DRIFT_TARGET_S / DRIFT_STEP_S)
        step = 0
        while True:
            await asyncio.sleep(DRIFT_STEP_S)
            if not any(self.session.pad_states[pad] in (PadState.PLAYING, PadState.QUEUED) for pad in self._pads()):
                self._halt()                     # stopped elsewhere (stop all, a controller): nothing to animate
                return
            for index, layer in enumerate(self.preset["scene"]["layers"]):
                depth_db = DRIFT_DB * float(layer.get("drift", 0.0))
                if depth_db > 0 and self.fade is None:
                    self._drift_step(self.bank * 16 + index, depth_db, new_target=step % steps_per_target == 0)
            step += 1

    def _drift_step(self, pad: int, depth_db: float, new_target: bool) -> None:
        if new_target:
            self._drift_target_db[pad] = self._rng.uniform(-depth_db, depth_db)
        current = self._drift_db.get(pad, 0.0)
        current += (self._drift_target_db.get(pad, 0.0) - current) * DRIFT_STEP_S / DRIFT_TARGET_S
        self._drift_db[pad] = current
        self._set_live_volume(pad, self._volume_now(pad) * 10 ** (current / 20))

    async def _renew_events(self) -> None:
        """Once per loop cycle, a fresh take of every event layer (a new seed), swapped in in phase."""
        while True:
            await asyncio.sleep(self.preset["seconds"])
            for index, layer in enumerate(self.preset["scene"]["layers"]):
                if layer["kind"] in EVENT_KINDS:
                    audio = await self._run(functools.partial(
                        render_variant, SceneLayer.model_validate(layer), self.preset["seconds"],
                        self._rng.randrange(2**31)))
                    self._swap(index, audio)

    async def _fade(self, seconds: float) -> None:
        steps = max(1, round(seconds / FADE_STEP_S))
        for step in range(1, steps + 1):
            await asyncio.sleep(seconds / steps)
            for pad in self._pads():
                self._set_live_volume(pad, self._volume_now(pad) * (1.0 - step / steps))
            self.fade["left_s"] = round(seconds * (1.0 - step / steps), 1)
        self._fade_task = None                   # done: stopping must not cancel this very task
        self.stop()

    # ------------------------------------------------------------------ helpers
    def _pads(self) -> list[int]:
        return [self.bank * 16 + index for index in range(len(self.preset["layers"]))] if self.preset else []

    def _layer(self, layer_index: int) -> SceneLayer:
        if self.preset is None:
            raise SceneError("no scene is loaded")
        if not 0 <= layer_index < len(self.preset["layers"]):
            raise SceneError(f"the scene has layers 0-{len(self.preset['layers']) - 1}")
        return SceneLayer.model_validate(self.preset["scene"]["layers"][layer_index])

    def _volume_now(self, pad: int) -> float:
        """The layer's volume as set on its pad (the editor's), the base drift and fades work from."""
        settings = self.editor.project.pad_at(pad)
        return settings.volume if settings is not None else 0.0

    def _set_live_volume(self, pad: int, volume: float) -> None:
        settings = self.editor.project.pad_at(pad)
        if settings is not None:
            self.session.post(c.SetPadMix(pad, max(0.0, min(1.0, volume)), settings.pan))

    def _restore_volume(self, pad: int) -> None:
        self._drift_db.pop(pad, None)
        self._set_live_volume(pad, self._volume_now(pad))

    def _swap(self, layer_index: int, audio) -> None:
        pad = self.bank * 16 + layer_index
        settings = self.editor.project.pad_at(pad)
        if settings is None or self.preset is None:
            return
        rate = self.session.engine.sample_rate
        end_s = settings.loop_end_offset_seconds
        self.session.post(c.LoadPad(pad, audio, settings.native_bpm or self.editor.project.bpm,
                                    region_start_frame=round(settings.loop_start_offset_seconds * rate),
                                    region_end_frame=0 if end_s is None else round(end_s * rate),
                                    volume=min(1.0, settings.volume * 10 ** (self._drift_db.get(pad, 0.0) / 20)),
                                    pan=settings.pan, quantize=int(c.Quantize.OFF)))

    async def _run(self, call):
        try:
            if self.workers is None:
                return await asyncio.to_thread(call)
            return await asyncio.wrap_future(self.workers.submit(call))
        except SceneError:
            raise
        except (ValueError, OSError, RuntimeError) as error:
            raise SceneError(str(error)) from None


def _plan(planner, text: str, seed: int | None) -> Scene:
    from groovebox.ambient.offline_planner import plan_offline

    return (planner or plan_offline)(text, seed=seed)


def _layer_pad(pad_index: int, layer: SceneLayer, entry: dict, bpm: float) -> Pad:
    return Pad(pad_index=pad_index, loop_id=entry["loopId"], pad_name=layer.kind.value.replace("_", " "),
               volume=layer_volume(layer), pan=layer.pan, launch_mode="toggle", quantize="off", native_bpm=bpm,
               sends=[layer.reverb_send, layer.delay_send, 0.0, 0.0],
               loop_start_offset_seconds=entry.get("loopStartSeconds", 0.0),
               loop_end_offset_seconds=entry.get("loopEndSeconds"))


def _gain_db(volume: float) -> float:
    """The layer gain a pad volume plays (the inverse of ``layer_volume``, within the scene's range)."""
    lowest_db, highest_db = GAIN_DB_RANGE
    return max(lowest_db, min(highest_db, 20.0 * math.log10(max(volume, 1e-4))))


def _scene_effects(effects: EffectsConfig) -> EffectsConfig | None:
    """The project's effects with a reverb on bus 1 and a delay on bus 2 where those buses have no chain;
    None when nothing needs adding."""
    buses = list(effects.buses)
    while len(buses) < 2:
        buses.append(Bus())
    changed = False
    if not buses[0].chain:
        buses[0] = buses[0].model_copy(update={"name": buses[0].name or "scene reverb",
                                               "chain": [Reverb(room_size=0.8, wet_level=1.0, dry_level=0.0)]})
        changed = True
    if not buses[1].chain:
        buses[1] = buses[1].model_copy(update={"name": buses[1].name or "scene delay",
                                               "chain": [Delay(delay_seconds=0.45, feedback=0.35, mix=1.0)]})
        changed = True
    return effects.model_copy(update={"buses": buses}) if changed else None
