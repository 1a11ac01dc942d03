"""``/api/pads``, ``/api/transport`` and ``/api/mixer``: playing and mixing from the phone (control loop).

Decisions:
- Settings (what is on a pad, its volume, the tempo, the grid, the metronome, the mix) are project edits
  through the editor: undoable and autosaved. Actions (trigger, stop, tap, song play/stop/locate, the song
  loop) go straight to the session, as a pad press on the controller does: they are not undo steps.
- A pad is assigned a library loop by ``loopId`` only; the phone never names a file on the groovebox.
- Tap tempo sets the session's tempo at once and then stores it in the project (one undo step per tempo).
- The song loop region is session state (``Session.song_loop``), like the playing position.
- Recording into a pad (``/api/pads/{n}/record``, ``/api/record``) is an action: the finished take becomes a
  library loop assigned to the pad through the editor by the daemon, and that assignment is the undo step.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Path
from pydantic import ConfigDict, Field, model_validator

from groovebox.control.editor import (
    AssignPad,
    ClearAllPads,
    ClearPad,
    SetBpm,
    SetMasterVolume,
    SetMetronome,
    SetPadChokeGroup,
    SetPadLaunchMode,
    SetPadName,
    SetPadNativeBpm,
    SetPadPan,
    SetPadQuantize,
    SetPadRegion,
    SetPadVolume,
    SetQuantize,
    SetTrackMute,
    SetTrackPan,
    SetTrackSolo,
    SetTrackVolume,
)
from groovebox.control.recording import RecordError
from groovebox.engine import PadState, Status
from groovebox.engine import commands as c
from groovebox.engine.events import SongState
from groovebox.project.model import LaunchModeText, Pad, QuantizeText
from groovebox.web.context import WebContext, context_of, refusals_as_http
from groovebox.web.models import Camel
from groovebox.web.routes_projects import edit_or_422

__all__ = ["router", "apply_pad_settings", "check_loaded_pad", "check_pad", "meters", "mixer_snapshot", "pads_snapshot",
           "set_song_loop", "song_action", "transport_snapshot"]

Context = Annotated[WebContext, Depends(context_of)]
PadIndex = Annotated[int, Path(ge=0, le=63, description="pad number, 0-63 (banks of 16)")]


class RecordRequest(Camel):
    """Record the audio input into an empty pad: a count-in of at least a bar, then ``bars`` bars from a bar
    line (0: until stopped; the take ends on the nearest bar line)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"bars": 4}, {"bars": 0}]})

    bars: int = Field(0, ge=0, le=c.MAX_RECORD_BARS)


class RecordStop(Camel):
    """End the recording on the nearest bar line, or ``cancel`` it (the pad stays empty)."""

    cancel: bool = False


class PadAssign(Camel):
    """Put a library loop on the pad; the region resets to the whole loop, the mix stays."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"loopId": "6f1c2a9e0b7d4e21", "padName": "kick"}]})

    loop_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    pad_name: str = Field("", max_length=100)
    native_bpm: float | None = Field(None, ge=20.0, le=400.0)


class PadSettings(Camel):
    """Pad settings to change; the others keep their value."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"volume": 0.7, "pan": -0.2}]})

    pad_name: str | None = Field(None, max_length=100)
    volume: float | None = Field(None, ge=0.0, le=1.0)
    pan: float | None = Field(None, ge=-1.0, le=1.0)
    launch_mode: LaunchModeText | None = None
    choke_group: int | None = Field(None, ge=0, le=16)
    quantize: QuantizeText | Literal["global"] | None = None
    native_bpm: float | None = Field(None, ge=20.0, le=400.0)
    loop_start_offset_seconds: float | None = Field(None, ge=0.0, le=3600.0)
    loop_end_offset_seconds: float | None = Field(None, gt=0.0, le=3600.0)


class Trigger(Camel):
    velocity: float = Field(1.0, ge=0.0, le=1.0)


class StopRequest(Camel):
    quantized: bool = True


class SongLoop(Camel):
    enabled: bool
    start_bar: int = Field(0, ge=0, le=10_000)
    end_bar: int = Field(4, ge=1, le=10_000)

    @model_validator(mode="after")
    def _ordered(self):
        if self.end_bar <= self.start_bar:
            raise ValueError("endBar must be after startBar")
        return self


class TransportAction(Camel):
    """Song transport: play, stop, rewind/forward (one bar), or locate to ``bar``."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"action": "play"}, {"action": "locate", "bar": 8}]})

    action: Literal["play", "stop", "rewind", "forward", "locate", "stop_all"]
    bar: float | None = Field(None, ge=0.0, le=10_000.0)
    quantized: bool = True


class TransportSettings(Camel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"bpm": 96.0, "quantize": "1 bar"}]})

    bpm: float | None = Field(None, ge=20.0, le=400.0)
    quantize: QuantizeText | None = None
    metronome: bool | None = None
    loop: SongLoop | None = None


class PadMix(Camel):
    pad_index: int = Field(ge=0, le=63)
    volume: float | None = Field(None, ge=0.0, le=1.0)
    pan: float | None = Field(None, ge=-1.0, le=1.0)


class TrackMix(Camel):
    track_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    volume: float | None = Field(None, ge=0.0, le=1.0)
    pan: float | None = Field(None, ge=-1.0, le=1.0)
    is_muted: bool | None = None
    is_soloed: bool | None = None


class MixerChange(Camel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"masterVolume": 0.8,
                                                               "pads": [{"padIndex": 0, "volume": 0.5}]}]})

    master_volume: float | None = Field(None, ge=0.0, le=1.0)
    pads: list[PadMix] = Field(default_factory=list, max_length=64)
    tracks: list[TrackMix] = Field(default_factory=list, max_length=64)


# ---------------------------------------------------------------------------------------------- snapshots

def pads_snapshot(context: WebContext) -> list[dict]:
    """Every pad: its live state and its settings in the project (the WebSocket sends the same)."""
    project = context.editor.project
    states = context.session.pad_states
    return [_pad_json(index, states[index], project.pad_at(index)) for index in range(len(states))]


def _pad_json(index: int, state: PadState, pad: Pad | None) -> dict:
    settings = pad.model_dump(mode="json", by_alias=True) if pad is not None else {"padIndex": index}
    return {**settings, "state": state.name.lower()}


def transport_snapshot(context: WebContext) -> dict:
    """Tempo, position, grid, metronome and the song transport."""
    status = context.session.engine.status
    project = context.editor.project
    beats_per_bar = context.session.engine.clock.beats_per_bar
    beat = float(status[Status.BEAT])
    return {"tempoBpm": round(float(status[Status.TEMPO_BPM]), 3), "beat": round(beat, 4),
            "bar": int(beat // beats_per_bar), "beatsPerBar": beats_per_bar,
            "quantize": project.quantize_grid, "metronome": project.metronome,
            "song": {"state": SongState(int(status[Status.SONG_STATE])).name.lower(),
                     "bar": round(float(status[Status.SONG_BAR]), 4), "loop": context.session.song_loop}}


def mixer_snapshot(context: WebContext) -> dict:
    """Master, pad and track levels and the master meters (dBFS peaks, gain reduction)."""
    project = context.editor.project
    status = context.session.engine.status
    return {"masterVolume": project.master_volume,
            "pads": [{"padIndex": pad.pad_index, "volume": pad.volume, "pan": pad.pan} for pad in project.pads],
            "tracks": [{"trackId": track.track_id, "trackName": track.track_name, "volume": track.volume,
                        "pan": track.pan, "isMuted": track.is_muted, "isSoloed": track.is_soloed}
                       for track in project.tracks],
            "meters": meters(status)}


def meters(status) -> dict:
    return {"peak": [round(float(status[Status.PEAK_L]), 4), round(float(status[Status.PEAK_R]), 4)],
            "rms": [round(float(status[Status.RMS_L]), 4), round(float(status[Status.RMS_R]), 4)],
            "gainReductionDb": round(float(status[Status.GAIN_REDUCTION_DB]), 2)}


# ---------------------------------------------------------------------------------------------- changes

def check_pad(context: WebContext, pad_index: int) -> None:
    """404 unless the groovebox has pad ``pad_index``."""
    if pad_index >= len(context.session.pad_states):
        raise HTTPException(404, f"this groovebox has {len(context.session.pad_states)} pads (0-"
                                 f"{len(context.session.pad_states) - 1})")


def check_loaded_pad(context: WebContext, pad_index: int) -> None:
    """``check_pad``, then 422 unless the project has a loop on the pad."""
    check_pad(context, pad_index)
    if context.editor.project.pad_at(pad_index) is None:
        raise HTTPException(422, f"pad {pad_index} is empty: put a loop on it first")


def _pad_state(context: WebContext, pad_index: int) -> dict:
    return {"padIndex": pad_index, "state": context.session.pad_states[pad_index].name.lower()}


def apply_pad_settings(context: WebContext, pad_index: int, settings: PadSettings) -> None:
    simple = [(settings.pad_name, SetPadName), (settings.volume, SetPadVolume), (settings.pan, SetPadPan),
              (settings.launch_mode, SetPadLaunchMode), (settings.choke_group, SetPadChokeGroup),
              (settings.native_bpm, SetPadNativeBpm)]
    for value, edit in simple:
        if value is not None:
            edit_or_422(context, edit(pad_index, value))
    if settings.quantize is not None:
        edit_or_422(context, SetPadQuantize(pad_index, None if settings.quantize == "global" else settings.quantize))
    region = {"loop_start_offset_seconds", "loop_end_offset_seconds"} & settings.model_fields_set
    if region:
        pad = context.editor.project.pad_at(pad_index)       # callers checked that the pad is loaded
        start_s = (settings.loop_start_offset_seconds or 0.0) if "loop_start_offset_seconds" in region \
            else pad.loop_start_offset_seconds
        end_s = settings.loop_end_offset_seconds if "loop_end_offset_seconds" in region \
            else pad.loop_end_offset_seconds
        edit_or_422(context, SetPadRegion(pad_index, start_s, end_s))


def song_action(context: WebContext, action: TransportAction) -> None:
    session = context.session
    beats_per_bar = session.engine.clock.beats_per_bar
    if action.action == "play":
        session.post(c.SongPlay(quantized=action.quantized))
    elif action.action == "stop":
        session.post(c.SongStop(quantized=False))
    elif action.action == "stop_all":
        session.stop_all(quantized=action.quantized)
    elif action.action in ("rewind", "forward"):
        session.post(c.SongLocate(-beats_per_bar if action.action == "rewind" else beats_per_bar, relative=True))
    else:
        if action.bar is None:
            raise HTTPException(422, "locate needs a bar")
        session.post(c.SongLocate(action.bar * beats_per_bar, quantized=action.quantized))


def set_song_loop(context: WebContext, loop: SongLoop) -> None:
    context.session.song_loop = loop.model_dump(by_alias=True)
    context.session.post(c.SetSongLoop(loop.enabled, loop.start_bar, loop.end_bar))


def _apply_mix(context: WebContext, change: MixerChange) -> None:
    if change.master_volume is not None:
        edit_or_422(context, SetMasterVolume(change.master_volume))
    for pad in change.pads:
        check_loaded_pad(context, pad.pad_index)
        for value, edit in ((pad.volume, SetPadVolume), (pad.pan, SetPadPan)):
            if value is not None:
                edit_or_422(context, edit(pad.pad_index, value))
    for track in change.tracks:
        for value, edit in ((track.volume, SetTrackVolume), (track.pan, SetTrackPan),
                            (track.is_muted, SetTrackMute), (track.is_soloed, SetTrackSolo)):
            if value is not None:
                edit_or_422(context, edit(track.track_id, value))


def _recorder(context: WebContext):
    recorder = context.session.recorder
    if recorder is None:
        raise HTTPException(409, "recording is not available until the audio runs")
    return recorder


def router() -> APIRouter:
    api = APIRouter(prefix="/api")

    @api.get("/pads", tags=["pads"])
    async def list_pads(context: Context) -> list[dict]:
        """Every pad's live state (empty, loaded, queued, playing, stopping, recording) and settings."""
        return pads_snapshot(context)

    @api.delete("/pads", tags=["pads"])
    async def clear_all_pads(context: Context) -> list[dict]:
        """Take every loop off every pad (one undoable edit; the loops stay in the library)."""
        edit_or_422(context, ClearAllPads())
        return pads_snapshot(context)

    @api.put("/pads/{pad_index}", tags=["pads"])
    async def assign_pad(context: Context, pad_index: PadIndex, assign: PadAssign) -> dict:
        """Put a library loop on a pad (an undoable edit)."""
        check_pad(context, pad_index)
        edit_or_422(context, AssignPad(pad_index=pad_index, loop_id=assign.loop_id, native_bpm=assign.native_bpm,
                                       pad_name=assign.pad_name))
        return pads_snapshot(context)[pad_index]

    @api.patch("/pads/{pad_index}", tags=["pads"])
    async def change_pad(context: Context, pad_index: PadIndex, settings: PadSettings) -> dict:
        """Change a loaded pad's settings: name, volume, pan, launch mode, choke group, quantize, region."""
        check_loaded_pad(context, pad_index)
        apply_pad_settings(context, pad_index, settings)
        return pads_snapshot(context)[pad_index]

    @api.delete("/pads/{pad_index}", tags=["pads"])
    async def clear_pad(context: Context, pad_index: PadIndex) -> dict:
        """Empty a pad (an undoable edit)."""
        check_pad(context, pad_index)
        edit_or_422(context, ClearPad(pad_index))
        return pads_snapshot(context)[pad_index]

    @api.post("/pads/{pad_index}/trigger", tags=["pads"])
    async def trigger_pad(context: Context, pad_index: PadIndex,
                          trigger: Trigger = Body(default_factory=Trigger)) -> dict:
        """Press the pad, as on the controller: it starts (or stops) on the next grid point."""
        check_pad(context, pad_index)
        context.session.press(pad_index, trigger.velocity)
        return _pad_state(context, pad_index)

    @api.post("/pads/{pad_index}/release", tags=["pads"])
    async def release_pad(context: Context, pad_index: PadIndex) -> dict:
        """Release the pad (gate pads stop)."""
        check_pad(context, pad_index)
        context.session.release(pad_index)
        return _pad_state(context, pad_index)

    @api.post("/pads/{pad_index}/stop", tags=["pads"])
    async def stop_pad(context: Context, pad_index: PadIndex,
                       stop: StopRequest = Body(default_factory=StopRequest)) -> dict:
        """Stop the pad on the next grid point (or at once with ``quantized: false``)."""
        check_pad(context, pad_index)
        context.session.stop(pad_index, stop.quantized)
        return _pad_state(context, pad_index)

    @api.post("/pads/{pad_index}/record", tags=["pads"])
    async def record_pad(context: Context, pad_index: PadIndex,
                         record: RecordRequest = Body(default_factory=RecordRequest)) -> dict:
        """Arm a recording into the (empty) pad from the audio input; see ``GET /api/record``."""
        check_pad(context, pad_index)
        with refusals_as_http(RecordError):
            _recorder(context).arm(pad_index, record.bars)
        return _recorder(context).describe()

    @api.get("/record", tags=["pads"])
    async def recording(context: Context) -> dict:
        """Whether there is an audio input, which pad records and in which state (idle, count-in,
        recording, finishing), its length in bars (0 = open) and the latency taken off the take."""
        return _recorder(context).describe()

    @api.post("/record/stop", tags=["pads"])
    async def stop_recording(context: Context, stop: RecordStop = Body(default_factory=RecordStop)) -> dict:
        """End the take on the nearest bar line, or cancel it."""
        with refusals_as_http(RecordError):
            _recorder(context).stop(stop.cancel)
        return _recorder(context).describe()

    @api.get("/transport", tags=["transport"])
    async def get_transport(context: Context) -> dict:
        """Tempo, beat, grid, metronome and the song transport."""
        return transport_snapshot(context)

    @api.post("/transport", tags=["transport"])
    async def song_transport(context: Context, action: TransportAction) -> dict:
        """Song play/stop/rewind/forward/locate, or stop every pad (``stop_all``)."""
        song_action(context, action)
        return transport_snapshot(context)

    @api.patch("/transport", tags=["transport"])
    async def change_transport(context: Context, settings: TransportSettings) -> dict:
        """Tempo, launch grid and metronome (undoable project edits) and the song loop region."""
        for value, edit in ((settings.bpm, SetBpm), (settings.quantize, SetQuantize),
                            (settings.metronome, SetMetronome)):
            if value is not None:
                edit_or_422(context, edit(value))
        if settings.loop is not None:
            set_song_loop(context, settings.loop)
        return transport_snapshot(context)

    @api.post("/transport/tap", tags=["transport"])
    async def tap(context: Context) -> dict:
        """Tap tempo: from the second tap on, the tempo follows the taps (and is stored in the project)."""
        tempo_bpm = context.session.tap()
        if tempo_bpm is not None:
            edit_or_422(context, SetBpm(max(20.0, min(400.0, tempo_bpm))))
        return {**transport_snapshot(context), "tapped": tempo_bpm}

    @api.get("/mixer", tags=["mixer"])
    async def get_mixer(context: Context) -> dict:
        """Master, pad and track levels and the master meters."""
        return mixer_snapshot(context)

    @api.patch("/mixer", tags=["mixer"])
    async def change_mixer(context: Context, change: MixerChange) -> dict:
        """Master volume, pad volume/pan and track volume/pan/mute/solo (undoable edits)."""
        _apply_mix(context, change)
        return mixer_snapshot(context)

    return api
