"""``/api/generate``, ``/api/loops/variation/{id}``, ``/api/jobs``, ``/api/live`` and song export (control loop).

Decisions:
- Generation runs as jobs in worker processes (``generate.jobs.JobManager``); a request answers 202 with
  the job at once, and progress arrives on the WebSocket (or by polling ``/api/jobs/{id}``). Finished
  options are library loops; a job's results carry their ``loopId`` (never a path on the groovebox).
- A variation is asked for by loop: the loop's stored request and seed are varied (``variations.vary``);
  loops that were not generated (uploads, recordings) have no request to vary and get a 422.
- The live pad is steered with whole prompt lists (text and weight), density, brightness and the tempo
  (the session tempo, an undoable project edit). A new key (scale) needs a new stream: POST /api/live/start.
- Exports render a frozen copy of a project in the idle worker pool; an empty song (no clips) is a 422.
- Save-lock (gig mode): a generation, a variation and a live-pad capture would add loops to the library, so
  they are refused when asked for (423 Locked with the sentence), not after the work is done. Exports write
  to ``exports/``, not the library, and go on; so do jobs accepted before the lock went on.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, HTTPException
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from groovebox.control.editor import SetBpm
from groovebox.control.projects import ProjectStoreError
from groovebox.generate.request import GenerationRequest
from groovebox.generate.variations import VARIATIONS, vary
from groovebox.library.store import LibraryError
from groovebox.web.context import WebContext, context_of, refuse_when_locked
from groovebox.web.models import Camel
from groovebox.web.routes_projects import CURRENT, edit_or_422, store_error

__all__ = ["router", "job_json", "steer_live"]

Context = Annotated[WebContext, Depends(context_of)]
_EXAMPLE_REQUEST = {"prompt": "minimal techno", "genre": "Minimal Techno", "instrument": "Drums, Synth",
                    "bpm": 120, "bars": 4, "temperature": 1.0, "density": 0.7, "options": 3}


class VariationRequest(Camel):
    """A variation of a generated loop (``variationType``: more_complex, simpler, different_instrument,
    different_rhythm, different_melody); ``variationPrompt`` adds words."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"variationType": "different_rhythm",
                                                               "variationPrompt": "more swing", "lengthBars": 4}]})

    variation_type: Literal[VARIATIONS] = "more_complex"  # type: ignore[valid-type]
    variation_prompt: str = Field("", max_length=200)
    length_bars: int | None = Field(None, ge=1, le=16)
    options: int = Field(1, ge=1, le=5)


class WeightedPrompt(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=200)
    weight: float = Field(1.0, ge=0.0, le=2.0)


class ConfigDelta(BaseModel):
    model_config = ConfigDict(extra="forbid")

    density: float | None = Field(None, ge=0.0, le=1.0)
    brightness: float | None = Field(None, ge=0.0, le=1.0)
    bpm: float | None = Field(None, ge=60.0, le=200.0)
    scale: str | None = None


class Steer(Camel):
    """Steer the live pad: new prompts and/or config changes (the seed's ``STEER_ONGOING_GENERATION``)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"prompts": [{"text": "Piano", "weight": 2.0},
                                                                           {"text": "Meditation", "weight": 0.5}],
                                                               "configDelta": {"brightness": 0.8}}]})

    prompts: list[WeightedPrompt] | None = Field(None, min_length=1, max_length=8)
    config_delta: ConfigDelta | None = None


class LiveStart(Camel):
    request: GenerationRequest
    pad: int | None = Field(None, ge=0, le=63)
    play: bool = False


class LiveCapture(Camel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"bars": 4, "intoPad": 3}]})

    bars: int = Field(4, ge=1, le=16)
    into_pad: int = Field(ge=0, le=63)


class ExportRequest(Camel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"format": "wav", "bits": 24}]})

    format: Literal["wav", "flac", "mp3"] = "wav"
    bits: Literal[16, 24, 32] = 24


def job_json(summary: dict) -> dict:
    """A generation job for the phone: the results without paths on the groovebox."""
    results = [{key: value for key, value in result.items() if key != "path"} for result in summary["results"]]
    return {**summary, "jobId": summary["job_id"], "kind": "generate", "results": results}


def _generator(context: WebContext):
    if context.generator is None:
        raise HTTPException(503, "generation is not available in this process")
    return context.generator


def _live(context: WebContext):
    if context.live is None:
        raise HTTPException(409, "the live pad needs a Gemini API key (see the README: [generate] key_file)")
    return context.live


def _variation_request(context: WebContext, loop_id: str, variation: VariationRequest) -> GenerationRequest:
    try:
        record = context.library.get(loop_id)
    except LibraryError as error:
        raise HTTPException(404, str(error)) from None
    if record.generation_config is None or record.seed is None:
        raise HTTPException(422, f"{record.name!r} was not generated, so it has no prompt to vary")
    try:
        original = GenerationRequest.model_validate({**record.generation_config, "seed": record.seed})
        varied = vary(original, variation.variation_type)
        changes = {"options": variation.options}
        if variation.variation_prompt:
            changes["prompt"] = f"{varied.prompt}, {variation.variation_prompt}"[:500]
        if variation.length_bars is not None:
            changes["bars"] = variation.length_bars
        return GenerationRequest.model_validate({**varied.model_dump(), **changes})
    except (ValidationError, ValueError) as error:
        raise HTTPException(422, f"cannot vary {record.name!r}: {error}") from None


def steer_live(context: WebContext, steer: Steer) -> None:
    from groovebox.control.livepad import LivePadError

    live = _live(context)
    delta = steer.config_delta or ConfigDelta()
    if delta.scale is not None:
        raise HTTPException(422, "a new key needs a new stream: POST /api/live/start with the scale")
    try:
        if steer.prompts is not None:
            live.set_prompts([(prompt.text, prompt.weight) for prompt in steer.prompts])
        if "density" in delta.model_fields_set:
            live.set_density(delta.density)
        if "brightness" in delta.model_fields_set:
            live.set_brightness(delta.brightness)
    except LivePadError as error:
        raise HTTPException(409, str(error)) from None
    if delta.bpm is not None:
        edit_or_422(context, SetBpm(delta.bpm))


def _export_project(context: WebContext, project_id: str):
    if project_id == CURRENT:
        return context.editor.project
    try:
        return context.projects.load(project_id)
    except ProjectStoreError as error:
        raise store_error(error) from None


def router() -> APIRouter:
    api = APIRouter(prefix="/api")

    @api.post("/generate", status_code=202, tags=["generate"],
              dependencies=[Depends(refuse_when_locked("generating loops"))])
    async def generate(context: Context,
                       request: Annotated[GenerationRequest, Body(examples=[_EXAMPLE_REQUEST])]) -> dict:
        """Generate 1-5 loop options (Lyria RealTime with a key, else the offline generator). Answers at once
        with the job; its options become library loops."""
        return job_json(_generator(context).submit(request).summary())

    @api.post("/loops/variation/{loop_id}", status_code=202, tags=["generate"],
              dependencies=[Depends(refuse_when_locked("generating a variation"))])
    async def variation(context: Context, loop_id: str,
                        request: VariationRequest = Body(default_factory=VariationRequest)) -> dict:
        """A variation of a generated loop, as a generation job."""
        generator = _generator(context)
        return job_json(generator.submit(_variation_request(context, loop_id, request)).summary())

    @api.get("/jobs", tags=["jobs"])
    async def list_jobs(context: Context) -> list[dict]:
        """Generation and export jobs, oldest first."""
        jobs = [job_json(job.summary()) for job in (context.generator.jobs.values() if context.generator else ())]
        exports = [job.summary() for job in context.exports.jobs.values()] if context.exports else []
        return jobs + exports

    @api.get("/jobs/{job_id}", tags=["jobs"])
    async def get_job(context: Context, job_id: str) -> dict:
        """A job's state, stage, percent, results and error."""
        if context.generator is not None and job_id in context.generator.jobs:
            return job_json(context.generator.jobs[job_id].summary())
        if context.exports is not None and job_id in context.exports.jobs:
            return context.exports.jobs[job_id].summary()
        raise HTTPException(404, f"no job {job_id!r}")

    @api.delete("/jobs/{job_id}", tags=["jobs"])
    async def cancel_job(context: Context, job_id: str) -> dict:
        """Cancel a queued or running generation job (409 when it is over)."""
        generator = _generator(context)
        if job_id not in generator.jobs:
            raise HTTPException(404, f"no job {job_id!r}")
        if not generator.cancel(job_id):
            raise HTTPException(409, "the job is already over")
        return job_json(generator.jobs[job_id].summary())

    @api.get("/live", tags=["live"])
    async def live_state(context: Context) -> dict:
        """The live Lyria pad: available, state, prompts, captures."""
        if context.live is None:
            return {"available": False, "state": "off", "error": "no usable Gemini API key"}
        return context.live.describe()

    @api.post("/live/start", tags=["live"])
    async def live_start(context: Context, start: LiveStart) -> dict:
        """Start streaming a prompt on the live pad (it launches like any pad; ``play`` presses it)."""
        from groovebox.control.livepad import LivePadError

        try:
            _live(context).start(start.request, start.pad, play=start.play)
        except LivePadError as error:
            raise HTTPException(409, str(error)) from None
        return context.live.describe()

    @api.post("/live/steer", tags=["live"])
    async def live_steer(context: Context, steer: Steer) -> dict:
        """Change the live stream's prompts, density, brightness or tempo."""
        steer_live(context, steer)
        return context.live.describe()

    @api.post("/live/capture", tags=["live"],
              dependencies=[Depends(refuse_when_locked("capturing the live pad into a library loop"))])
    async def live_capture(context: Context, capture: LiveCapture) -> dict:
        """Capture the last ``bars`` bars of the live pad into another pad at the next bar line."""
        from groovebox.control.livepad import LivePadError

        try:
            return _live(context).capture(capture.bars, capture.into_pad).summary()
        except LivePadError as error:
            raise HTTPException(409, str(error)) from None

    @api.post("/live/stop", tags=["live"])
    async def live_stop(context: Context) -> dict:
        """Stop the live stream (the pad empties)."""
        _live(context).stop()
        return context.live.describe()

    @api.post("/projects/{project_id}/export", status_code=202, tags=["export"])
    async def export(context: Context, project_id: str,
                     request: ExportRequest = Body(default_factory=ExportRequest)) -> dict:
        """Render a project's song to WAV (16/24/32-bit float), FLAC (16/24) or MP3, as a job."""
        project = _export_project(context, project_id)
        if not any(track.clips for track in project.tracks):
            raise HTTPException(422, "the song is empty: put clips on its tracks first")
        if request.format == "flac" and request.bits == 32:
            raise HTTPException(422, "FLAC is 16 or 24 bits")
        if context.exports is None:
            raise HTTPException(503, "exports are not available in this process")
        return context.exports.submit(project, request.format, request.bits).summary()

    @api.get("/exports/{job_id}/download", tags=["export"])
    async def download_export(context: Context, job_id: str) -> FileResponse:
        """The exported file (when its job is done)."""
        job = context.exports.jobs.get(job_id) if context.exports is not None else None
        if job is None:
            raise HTTPException(404, f"no export {job_id!r}")
        if job.state != "done" or not job.path.is_file():
            raise HTTPException(409, f"the export is {job.state}" + (f": {job.error}" if job.error else ""))
        media = {"wav": "audio/wav", "flac": "audio/flac", "mp3": "audio/mpeg"}[job.format]
        filename = "".join(ch for ch in job.project_name if ch.isalnum() or ch in " -_").strip() or "song"
        return FileResponse(job.path, media_type=media, filename=f"{filename}.{job.format}")

    return api
