"""``/api/mix-recording``, ``/api/recordings`` and ``/api/song/record``: recording the live mix to FLAC
files and the pad performance into the song (control loop).

Recording into a pad lives with the pads (``routes_play``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import FileResponse

from groovebox.control.mixrecorder import MixRecorder, MixRecordError, RecordingNotFound
from groovebox.control.songrecorder import SongRecorder, SongRecordError
from groovebox.web.context import WebContext, context_of, refusals_as_http

__all__ = ["router"]

Context = Annotated[WebContext, Depends(context_of)]


def _mix_recorder(context: WebContext) -> MixRecorder:
    recorder = context.session.mix_recorder
    if recorder is None:
        raise HTTPException(409, "mix recording is not available until the audio runs")
    return recorder


def _song_recorder(context: WebContext) -> SongRecorder:
    recorder = context.session.song_recorder
    if recorder is None:
        raise HTTPException(409, "recording the performance is not available until the audio runs")
    return recorder


def router() -> APIRouter:
    api = APIRouter(prefix="/api", tags=["recordings"])

    @api.get("/mix-recording")
    async def mix_recording(context: Context) -> dict:
        """Whether the live mix is being recorded, to which file, for how long, frames lost, the last error."""
        return _mix_recorder(context).describe()

    @api.post("/mix-recording/start")
    async def start_mix_recording(context: Context) -> dict:
        """Record the master output (the live mix) to a new FLAC file from now on."""
        with refusals_as_http(MixRecordError):
            return await _mix_recorder(context).start()

    @api.post("/mix-recording/stop")
    async def stop_mix_recording(context: Context) -> dict:
        """Stop recording the mix and finish its file."""
        with refusals_as_http(MixRecordError):
            return await _mix_recorder(context).stop()

    @api.get("/recordings")
    async def recordings(context: Context) -> list[dict]:
        """Finished mix recordings, newest first: file, bytes, seconds."""
        return _mix_recorder(context).recordings()

    @api.get("/recordings/{name}", response_class=FileResponse)
    async def download_recording(context: Context, name: str) -> FileResponse:
        """One finished mix recording (FLAC), as an attachment."""
        with refusals_as_http(RecordingNotFound, status=404):
            path = _mix_recorder(context).file(name)
        return FileResponse(path, media_type="audio/flac", filename=name)

    @api.delete("/recordings/{name}", status_code=204)
    async def delete_recording(context: Context, name: str) -> None:
        """Delete a finished mix recording."""
        with refusals_as_http(MixRecordError), refusals_as_http(RecordingNotFound, status=404):
            _mix_recorder(context).delete(name)

    @api.get("/song/record")
    async def song_recording(context: Context) -> dict:
        """Whether pad launches are being recorded into the song, for how many bars, clips so far, notes."""
        return _song_recorder(context).describe()

    @api.post("/song/record/start")
    async def start_song_recording(context: Context) -> dict:
        """Record from the bar in progress: every pad that plays becomes a clip on a new track."""
        with refusals_as_http(SongRecordError):
            return _song_recorder(context).start()

    @api.post("/song/record/stop")
    async def stop_song_recording(context: Context) -> dict:
        """Add the take to the song, after what is there, in one undo step."""
        with refusals_as_http(SongRecordError):
            return _song_recorder(context).stop()

    return api
