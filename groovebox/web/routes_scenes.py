"""``/api/scenes`` and ``/api/scene``: ambient scenes from the phone (control loop; building runs in the idle
worker pool). A layer's volume, pan, sends and loop points are its pad's settings (``/api/pads/{n}``,
``/api/pads/{n}/sends``); this module adds what only scenes have: building, loading, drift, intensity and the
fade-out timer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException, Path
from pydantic import ConfigDict, Field

from groovebox.ambient.build import DEFAULT_SECONDS
from groovebox.control.scenes import (
    DEFAULT_BANK,
    SceneError,
    ScenePlayer,
    delete_preset,
    list_presets,
    read_preset,
)
from groovebox.web.context import WebContext, context_of, refusals_as_http
from groovebox.web.models import Camel

__all__ = ["router"]

Context = Annotated[WebContext, Depends(context_of)]
SceneId = Annotated[str, Path(pattern=r"^[A-Za-z0-9]{1,40}$")]


class SceneRequest(Camel):
    """Describe a place; it becomes 3-8 layers on a pad bank (bank 4 = pads 48-63 by default)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"text": "thunderstorm at sea", "seconds": 30}]})

    text: str = Field(min_length=1, max_length=500)
    seconds: float = Field(DEFAULT_SECONDS, ge=5.0, le=120.0, description="loop length of each layer")
    seed: int | None = Field(None, ge=0, le=2**31 - 1)
    bank: int = Field(DEFAULT_BANK, ge=0, le=3)
    play: bool = True


class SceneLoad(Camel):
    bank: int = Field(DEFAULT_BANK, ge=0, le=3)
    play: bool = True


class LayerChange(Camel):
    """Live-only layer parameters: ``intensity`` re-renders the layer, ``drift`` animates its level."""

    intensity: float | None = Field(None, ge=0.0, le=1.0)
    drift: float | None = Field(None, ge=0.0, le=1.0)


class Fade(Camel):
    seconds: float = Field(ge=1.0, le=4 * 3600.0, description="fade every layer out over this long, then stop")


def _player(context: WebContext) -> ScenePlayer:
    player = context.session.scenes
    if player is None:
        raise HTTPException(409, "scenes are not available until the audio runs")
    return player


def _bank_fits(context: WebContext, bank: int) -> None:
    if (bank + 1) * 16 > len(context.session.pad_states):
        raise HTTPException(422, f"this groovebox has {len(context.session.pad_states) // 16} banks; "
                                 f"bank {bank + 1} does not exist")


def router() -> APIRouter:
    api = APIRouter(prefix="/api", tags=["scenes"])

    @api.get("/scenes")
    async def scenes(context: Context) -> list[dict]:
        """Saved scenes (presets), newest first."""
        return list_presets(context.data_dir)

    @api.post("/scenes")
    async def create_scene(context: Context, request: SceneRequest) -> dict:
        """Plan, render and save a scene (its layers become library loops), then load it onto a bank."""
        _bank_fits(context, request.bank)
        player = _player(context)

        with refusals_as_http(SceneError):
            preset = await player.create(request.text, seconds=request.seconds, seed=request.seed)
            return player.load(preset, request.bank, request.play)

    @api.post("/scenes/{scene_id}/load")
    async def load_scene(context: Context, scene_id: SceneId, load: SceneLoad = Body(default_factory=SceneLoad)) -> dict:
        """Put a saved scene on a bank (one undoable edit) and play it."""
        _bank_fits(context, load.bank)

        with refusals_as_http(SceneError):
            return _player(context).load(read_preset(context.data_dir, scene_id), load.bank, load.play)

    @api.delete("/scenes/{scene_id}", status_code=204)
    async def delete_scene(context: Context, scene_id: SceneId) -> None:
        """Delete a saved scene (its layers stay in the library); the loaded scene keeps playing."""
        with refusals_as_http(SceneError, status=404):
            context.save_lock.check("deleting a scene")
            delete_preset(context.data_dir, scene_id)

    @api.get("/scene")
    async def current_scene(context: Context) -> dict:
        """The loaded scene: narrative, notes, bank, fade timer and each layer with its pad."""
        return _player(context).describe()

    @api.post("/scene/play")
    async def play_scene(context: Context) -> dict:
        with refusals_as_http(SceneError):
            _player(context).play()
            return _player(context).describe()

    @api.post("/scene/stop")
    async def stop_scene(context: Context) -> dict:
        _player(context).stop()
        return _player(context).describe()

    @api.post("/scene/fade")
    async def fade_scene(context: Context, fade: Fade) -> dict:
        """A sleep timer: every layer fades to silence over ``seconds``, then the scene stops."""
        with refusals_as_http(SceneError):
            return _player(context).fade_out(fade.seconds)

    @api.post("/scene/save")
    async def save_scene(context: Context) -> dict:
        """Keep the scene as it plays now in its preset: each layer's volume, pan, sends and loop points (its
        pad's settings), drift and intensity."""
        with refusals_as_http(SceneError):
            return _player(context).save()

    @api.delete("/scene/fade")
    async def cancel_fade(context: Context) -> dict:
        """Cancel the fade-out timer; every layer comes back to its level."""
        return _player(context).cancel_fade()

    @api.patch("/scene/layers/{layer_index}")
    async def change_layer(context: Context, layer_index: Annotated[int, Path(ge=0, le=7)], change: LayerChange) -> dict:
        """Drift (animate depth) and intensity of one layer, live (not saved in the project)."""
        player = _player(context)

        with refusals_as_http(SceneError):
            if change.drift is not None:
                player.set_drift(layer_index, change.drift)
            if change.intensity is not None:
                await player.set_intensity(layer_index, change.intensity)
            return player.describe()

    return api
