"""``/api/effects``: the send buses' effect chains, the master insert, and pad/track send levels (control loop).

Decisions:
- Effects are project settings, so every change is an editor edit (``SetEffects``, ``SetSends``,
  ``SetSend``): undoable, autosaved, and mirrored to the engine, which crossfades a changed chain and
  glides a changed send level (click-free).
- ``PUT /api/effects`` replaces the whole effects document (buses and master), the shape the project file
  stores under ``effects``; the page edits a knob by sending the document back (quick repeats of one
  control merge into one undo step).
- Send levels: ``PATCH /api/pads/{n}/sends`` and ``/api/tracks/{id}/sends`` take either every level
  (``{"sends": [0.3, 0, 0, 0]}``, missing buses 0) or one (``{"bus": 0, "level": 0.3}``). Buses are
  numbered 0-3 here as in the project file.
- Every answer is the same snapshot as ``GET /api/effects``: the document and every pad's and track's
  sends (four numbers each).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path
from pydantic import ConfigDict, Field, model_validator

from groovebox.control.editor import SetEffects, SetSend, SetSends
from groovebox.fx.spec import BUS_COUNT, EffectsConfig
from groovebox.project.model import send_levels
from groovebox.web.context import WebContext, context_of
from groovebox.web.models import Camel
from groovebox.web.routes_projects import edit_or_422

__all__ = ["SendsChange", "effects_snapshot", "router"]

Context = Annotated[WebContext, Depends(context_of)]
PadIndex = Annotated[int, Path(ge=0, le=63, description="pad number, 0-63 (banks of 16)")]
TrackId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="the track's trackId")]


class SendsChange(Camel):
    """Every send level (``sends``, one per bus, missing ones 0) or one (``bus`` and ``level``)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"sends": [0.3, 0.0, 0.0, 0.0]},
                                                              {"bus": 1, "level": 0.5}]})

    sends: list[Annotated[float, Field(ge=0.0, le=1.0)]] | None = Field(None, max_length=BUS_COUNT)
    bus: int | None = Field(None, ge=0, le=BUS_COUNT - 1)
    level: float | None = Field(None, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _one_form(self):
        every = self.sends is not None
        one = self.bus is not None and self.level is not None
        if (self.bus is None) != (self.level is None) or every == one:
            raise ValueError("send either sends (every level) or bus and level (one)")
        return self


def effects_snapshot(context: WebContext) -> dict:
    """The effects document (buses, master) and every listed pad's and track's send levels."""
    project = context.editor.project
    return {"busCount": BUS_COUNT,
            "effects": project.effects.model_dump(mode="json", by_alias=True),
            "pads": [{"padIndex": pad.pad_index, "sends": list(send_levels(pad))} for pad in project.pads],
            "tracks": [{"trackId": track.track_id, "trackName": track.track_name, "sends": list(send_levels(track))}
                       for track in project.tracks]}


def _check_pad(context: WebContext, pad_index: int) -> None:
    pads = len(context.session.pad_states)
    if pad_index >= pads:
        raise HTTPException(404, f"this groovebox has {pads} pads (0-{pads - 1})")


def _check_track(context: WebContext, track_id: str) -> None:
    if all(track.track_id != track_id for track in context.editor.project.tracks):
        raise HTTPException(404, f"no track {track_id!r} in the project")


def _send_edit(change: SendsChange, pad_index: int | None = None, track_id: str | None = None):
    if change.sends is not None:
        return SetSends(tuple(change.sends), pad_index=pad_index, track_id=track_id)
    return SetSend(change.bus, change.level, pad_index=pad_index, track_id=track_id)


def router() -> APIRouter:
    api = APIRouter(prefix="/api", tags=["effects"])

    @api.get("/effects")
    async def get_effects(context: Context) -> dict:
        """The bus chains, the master insert, and every pad's and track's send levels."""
        return effects_snapshot(context)

    @api.put("/effects")
    async def put_effects(context: Context, effects: EffectsConfig) -> dict:
        """Replace the bus chains and the master insert (an undo step; the engine crossfades)."""
        edit_or_422(context, SetEffects(effects))
        return effects_snapshot(context)

    @api.patch("/pads/{pad_index}/sends")
    async def patch_pad_sends(context: Context, pad_index: PadIndex, change: SendsChange) -> dict:
        """A pad's send levels to the buses (post-fader; the engine glides)."""
        _check_pad(context, pad_index)
        edit_or_422(context, _send_edit(change, pad_index=pad_index))
        return effects_snapshot(context)

    @api.patch("/tracks/{track_id}/sends")
    async def patch_track_sends(context: Context, track_id: TrackId, change: SendsChange) -> dict:
        """A song track's send levels to the buses (post-fader; the engine glides)."""
        _check_track(context, track_id)
        edit_or_422(context, _send_edit(change, track_id=track_id))
        return effects_snapshot(context)

    return api
