"""``/ws``: one WebSocket per phone for live state and the seed's generation messages (control loop).

Every message is ``{"type": TYPE, "payload": {...}}``. Server -> client:

- ``SNAPSHOT`` on connect: pads, transport, mixer, the live project, editor state, jobs, the live pad.
- ``TRANSPORT`` every ``TICK_S`` (25 Hz) while the position or the meters move: tempo, beat, bar, song, meters.
- ``PADS`` with only the pads whose state changed, sent from the session's poll (within ~20 ms of the
  engine event).
- ``PROJECT_UPDATED`` after every edit, undo, redo, open or save: ``{projectId, kind, label, project, editor}``.
- ``JOB_PROGRESS`` (generation and export), ``AI_LOOP_GENERATED`` for each finished option (with the
  client's ``requestId`` when it asked over this socket), ``PROCESS_COMPLETE`` when a job is over,
  ``LIVE_PAD`` for live pad news, and ``ERROR`` ``{requestId, code, message}``.

Client -> server: ``GENERATE_AI_LOOP_REQUEST`` ``{requestId, prompt: {text, weight}, config: {...}}``,
``STEER_ONGOING_GENERATION`` ``{prompts, configDelta}``, ``PAD_STATE_UPDATE`` ``{padIndex, volume, pan,
loopStartOffsetSeconds, ...}``, ``PAD_TRIGGER`` ``{padIndex, velocity, release}``, ``SONG_PLAYBACK_CONTROL``
``{action: play|pause|stop|rewind|forward|loop_on|loop_off|metronome_on|metronome_off}``. A bad message
gets an ``ERROR`` and the connection stays.

Decisions:
- All phones see the same state: every message goes to every client. Each client has a bounded queue and
  its own sender; a phone that cannot keep up (``QUEUE_LIMIT`` messages behind) is disconnected with code
  1013 and reconnects to a fresh snapshot, so one slow phone never delays the others or the control loop.
- The socket needs a paired token (cookie or bearer) and passes the Origin check (``security``); without a
  token the handshake is closed with 1008.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from groovebox.generate.request import GenerationRequest
from groovebox.web.context import WebContext, check_unlocked
from groovebox.web.routes_generate import Steer, job_json, steer_live
from groovebox.web.routes_play import (
    PadSettings,
    SongLoop,
    TransportAction,
    apply_pad_settings,
    check_loaded_pad,
    check_pad,
    meters,
    mixer_snapshot,
    pads_snapshot,
    set_song_loop,
    song_action,
    transport_snapshot,
)
from groovebox.web.routes_projects import edit_or_422, live_project

__all__ = ["Hub", "router", "TICK_S"]

log = logging.getLogger(__name__)

TICK_S = 0.04
QUEUE_LIMIT = 256
_SONG_ACTIONS = {"play": "play", "pause": "stop", "stop": "stop", "rewind": "rewind", "forward": "forward"}


class _Client:
    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(QUEUE_LIMIT)
        self.requests: dict[str, str] = {}      # job id -> the client's requestId


class Hub:
    """The connected phones and what they are told. Built once per app; listens to the daemon's objects."""

    def __init__(self, context: WebContext) -> None:
        self.context = context
        self.clients: set[_Client] = set()
        self._pad_states = list(context.session.pad_states)
        self._last_transport: str = ""
        self._ticker: asyncio.Task | None = None
        context.session.listeners.append(self._pads_changed)
        context.editor.listeners.append(self._project_changed)
        if context.generator is not None:
            context.generator.listeners.append(self._job_event)
        if context.exports is not None:
            context.exports.listeners.append(self._export_event)
        if context.live is not None:
            context.live.listeners.append(self._live_message)

    # ------------------------------------------------------------------ connection
    async def serve(self, websocket: WebSocket) -> None:
        """One phone, from handshake to disconnect."""
        await websocket.accept()
        client = _Client(websocket)
        self.clients.add(client)
        self._start_ticker()
        sender = asyncio.create_task(self._send_loop(client), name="ws-send")
        try:
            self._put(client, _message("SNAPSHOT", self.snapshot()))
            while True:
                text = await websocket.receive_text()
                self._handle(client, text)
        except WebSocketDisconnect:
            pass
        finally:
            self.clients.discard(client)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender

    async def _send_loop(self, client: _Client) -> None:
        while (text := await client.queue.get()) is not None:
            await client.websocket.send_text(text)
        with contextlib.suppress(RuntimeError):
            await client.websocket.close(code=1013, reason="too far behind; reconnect")

    def snapshot(self) -> dict:
        context = self.context
        jobs = [job_json(job.summary()) for job in context.generator.jobs.values()] if context.generator else []
        jobs += [job.summary() for job in context.exports.jobs.values()] if context.exports else []
        live = context.live.describe() if context.live is not None else {"available": False, "state": "off"}
        return {"pads": pads_snapshot(context), "transport": transport_snapshot(context),
                "mixer": mixer_snapshot(context), **live_project(context), "jobs": jobs, "live": live}

    # ------------------------------------------------------------------ broadcasting
    def broadcast(self, kind: str, payload: dict) -> None:
        if not self.clients:
            return
        text = _message(kind, payload)
        for client in list(self.clients):
            self._put(client, text)

    def _put(self, client: _Client, text: str) -> None:
        try:
            client.queue.put_nowait(text)
        except asyncio.QueueFull:
            log.warning("a WebSocket client fell %d messages behind: disconnecting it", QUEUE_LIMIT)
            self.clients.discard(client)
            with contextlib.suppress(asyncio.QueueEmpty):
                client.queue.get_nowait()
            client.queue.put_nowait(None)

    def _start_ticker(self) -> None:
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.get_running_loop().create_task(self._tick(), name="ws-transport")

    async def _tick(self) -> None:
        """Transport and meters at 25 Hz while anyone listens (and only when something moved).

        Ticks keep to a fixed schedule (the n-th at start + n * TICK_S), so the time the work and a busy loop
        take does not slow the rate down; a tick missed altogether is skipped, not sent late in a burst."""
        loop = asyncio.get_running_loop()
        due_s = loop.time()
        while self.clients:
            payload = {**transport_snapshot(self.context), "meters": meters(self.context.session.engine.status)}
            text = json.dumps(payload, separators=(",", ":"))
            if text != self._last_transport:
                self._last_transport = text
                self.broadcast("TRANSPORT", payload)
            due_s = max(due_s + TICK_S, loop.time() - TICK_S / 2)
            await asyncio.sleep(due_s - loop.time())

    def _pads_changed(self) -> None:
        states = self.context.session.pad_states
        changed = [index for index, state in enumerate(states) if self._pad_states[index] != state]
        self._pad_states = list(states)
        if changed:
            self.broadcast("PADS", {"pads": [{"padIndex": index, "state": states[index].name.lower()}
                                             for index in changed]})

    def _project_changed(self, change) -> None:
        self.broadcast("PROJECT_UPDATED", {"projectId": change.project.project_id, "kind": change.kind,
                                           "label": change.label, **live_project(self.context),
                                           "pads": pads_snapshot(self.context)})

    def _job_event(self, event) -> None:
        job = self.context.generator.jobs.get(event.job_id)
        if job is None:
            return
        summary = job_json(job.summary())
        request_id = self._request_id(event.job_id)
        if event.kind == "option":
            loop = {key: value for key, value in (event.result or {}).items() if key != "path"}
            self.broadcast("AI_LOOP_GENERATED", {"requestId": request_id, "jobId": event.job_id, "loop": loop})
        elif event.kind in ("done", "failed", "cancelled"):
            self.broadcast("PROCESS_COMPLETE", {"requestId": request_id, "jobId": event.job_id,
                                                "status": "completed" if event.kind == "done" else event.kind,
                                                "error": event.error or None, "job": summary})
            if event.kind == "failed":
                self.broadcast("ERROR", {"requestId": request_id, "code": "AI_GENERATION_FAILED",
                                         "message": event.error})
        else:
            self.broadcast("JOB_PROGRESS", {"requestId": request_id, **summary})

    def _export_event(self, job) -> None:
        if job.state == "running":
            self.broadcast("JOB_PROGRESS", job.summary())
        else:
            self.broadcast("PROCESS_COMPLETE", {"jobId": job.job_id, "status": "completed" if job.state == "done"
                                                else job.state, "resultUrl": job.summary()["downloadUrl"],
                                                "error": job.error or None, "job": job.summary()})

    def _live_message(self, message: dict) -> None:
        if message.get("kind") == "live_error":
            self.broadcast("ERROR", {"requestId": None, "code": "LIVE_PAD", "message": message.get("message", "")})
        else:
            self.broadcast("LIVE_PAD", message)

    def _request_id(self, job_id: str) -> str | None:
        for client in self.clients:
            if job_id in client.requests:
                return client.requests[job_id]
        return None

    # ------------------------------------------------------------------ client messages
    def _handle(self, client: _Client, text: str) -> None:
        request_id = None
        try:
            message = json.loads(text)
            if not isinstance(message, dict) or not isinstance(message.get("payload", {}), dict):
                raise ValueError("a message is {\"type\": ..., \"payload\": {...}}")
            payload = message.get("payload") or {}
            request_id = payload.get("requestId")
            handler = _HANDLERS.get(message.get("type"))
            if handler is None:
                raise ValueError(f"unknown message type {message.get('type')!r}; expected one of "
                                 f"{', '.join(_HANDLERS)}")
            handler(self, client, payload)
        except HTTPException as error:
            self._put(client, _message("ERROR", {"requestId": request_id, "code": "REFUSED",
                                                 "message": str(error.detail)}))
        except (ValueError, ValidationError, TypeError, KeyError) as error:
            self._put(client, _message("ERROR", {"requestId": request_id, "code": "BAD_MESSAGE",
                                                 "message": _short(error)}))

    def _generate(self, client: _Client, payload: dict) -> None:
        if self.context.generator is None:
            raise HTTPException(503, "generation is not available")
        check_unlocked(self.context, "generating loops")
        prompt = payload.get("prompt") or {}
        config = dict(payload.get("config") or {})
        if "lengthBars" in config:
            config["bars"] = config.pop("lengthBars")
        text = prompt.get("text") if isinstance(prompt, dict) else prompt
        request = GenerationRequest.model_validate({"prompt": text, **_snake(config)})
        job = self.context.generator.submit(request)
        if payload.get("requestId") is not None:
            client.requests[job.job_id] = str(payload["requestId"])[:100]
        self._put(client, _message("JOB_PROGRESS", {"requestId": payload.get("requestId"),
                                                    **job_json(job.summary())}))

    def _steer(self, client: _Client, payload: dict) -> None:
        steer_live(self.context, Steer.model_validate({k: v for k, v in payload.items() if k != "requestId"}))

    def _pad_update(self, client: _Client, payload: dict) -> None:
        pad_index = _pad_index(payload)
        check_loaded_pad(self.context, pad_index)
        settings = {k: v for k, v in payload.items() if k not in ("padIndex", "requestId")}
        apply_pad_settings(self.context, pad_index, PadSettings.model_validate(settings))

    def _pad_trigger(self, client: _Client, payload: dict) -> None:
        pad_index = _pad_index(payload)
        check_pad(self.context, pad_index)
        if payload.get("release"):
            self.context.session.release(pad_index)
        else:
            velocity = float(payload.get("velocity", 1.0))
            self.context.session.press(pad_index, min(1.0, max(0.0, velocity)))

    def _song_control(self, client: _Client, payload: dict) -> None:
        from groovebox.control.editor import SetMetronome

        action = payload.get("action")
        if action in _SONG_ACTIONS:
            song_action(self.context, TransportAction(action=_SONG_ACTIONS[action]))
        elif action in ("metronome_on", "metronome_off"):
            edit_or_422(self.context, SetMetronome(action == "metronome_on"))
        elif action in ("loop_on", "loop_off"):
            loop = SongLoop.model_validate({**self.context.session.song_loop, "enabled": action == "loop_on"})
            set_song_loop(self.context, loop)
        else:
            raise ValueError(f"unknown action {action!r}")


_HANDLERS = {"GENERATE_AI_LOOP_REQUEST": Hub._generate, "STEER_ONGOING_GENERATION": Hub._steer,
             "PAD_STATE_UPDATE": Hub._pad_update, "PAD_TRIGGER": Hub._pad_trigger,
             "SONG_PLAYBACK_CONTROL": Hub._song_control}


def _pad_index(payload: dict) -> int:
    pad_index = payload.get("padIndex")
    if not isinstance(pad_index, int) or isinstance(pad_index, bool):
        raise ValueError("padIndex must be a pad number")
    return pad_index


def _message(kind: str, payload: Any) -> str:
    return json.dumps({"type": kind, "payload": payload}, separators=(",", ":"), default=str)


def _snake(fields: dict) -> dict:
    """camelCase keys (the seed's config) as the request's snake_case names."""
    return {"".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in key): value for key, value in fields.items()}


def _short(error: Exception) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        return f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
    return str(error)


def router() -> APIRouter:
    from groovebox.web.security import websocket_token

    api = APIRouter()

    @api.websocket("/ws")
    async def socket(websocket: WebSocket) -> None:
        if websocket_token(websocket) is None:
            await websocket.close(code=1008, reason="pair this device first")
            return
        hub: Hub = websocket.app.state.hub
        await hub.serve(websocket)

    return api
