"""Online scene planners: a Gemini text model or any OpenAI-compatible chat endpoint turns scene text into a Scene.

Runs on a worker thread or in a worker process (a scene job, the ``groovebox ambient`` CLI), never on the
audio thread or the control loop: a request blocks its caller for up to ``timeout_s``.

    scene = plan_scene("midnight in a neon-lit Tokyo back-alley", settings=AmbientSettings(),
                       gemini_api_key=load_api_key(), fallback=plan_offline)

Decisions:
- ``plan_scene`` tries the configured online planners in order and returns the first valid scene. ``auto``:
  Gemini when a key is given, then the OpenAI-compatible server when ``openai_base_url`` and ``openai_model``
  are set, then ``fallback`` (the offline planner). ``gemini``/``openai`` try only that one. Every failure
  becomes one line in ``Scene.notes`` that names the planner, the reason and the planner finally used
  ("Gemini did not answer within 20 s; used the offline planner"); ``offline`` asks no server.
- Both models get the same instructions and the same JSON schema, derived from ``SceneLayer``'s own field
  bounds, so the schema cannot drift from the data model. Gemini gets it as ``response_schema`` (``kind`` is
  an enum of ``ElementKind``); a chat endpoint gets ``response_format={"type": "json_object"}`` and the schema
  in the system prompt, because many local servers support no more (one that rejects ``response_format``
  with HTTP 400 is asked once more without it, within the same deadline).
- The answer is read robustly (a ``<think>`` block, ``json`` code fences and prose around the object are
  skipped: the first JSON object is used), then validated strictly. Numbers are never clamped: a value out of
  range, an unknown kind, an unexpected field, fewer than 3 or more than 8 layers is a wrong answer and
  falls back, with the first three problems in the note. Only these are tidied: a kind's case and spaces or
  hyphens ("Rain on roof" is ``rain_on_roof``), and text longer than its limit (title 80, narrative 1000,
  description 200 characters), which is cut with a note. A missing mix value takes the ``SceneLayer`` default.
- Refusals (Gemini's prompt block or a safety finish reason, a chat ``refusal`` or ``content_filter``), cut-off
  answers, HTTP errors, timeouts and unreachable servers all fall back; nothing is retried (the performer
  waits, and the offline planner is good enough).
- ``timeout_s`` bounds the whole request: the client runs on a daemon thread and the caller stops waiting at
  the deadline. The clients' own timeouts are set to the same value, so an abandoned request ends soon after
  (a server trickling bytes could keep that daemon thread until it closes the connection).
- The API keys never reach a note, an exception message or a log record: every message built from a
  server's answer passes ``redact`` (an error body may echo the key). The HTTP stack (httpx2, httpcore2, the
  clients) does not log headers, even at DEBUG (checked by the tests), so unlike Lyria's websockets it needs
  no log filter. A chat server without a key gets the placeholder key ``no-key`` (the client insists on one;
  local servers ignore it).
- The clients are imported when a request is made (about 0.6 s each), so the offline path starts fast.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from groovebox.ambient.scene import (
    MAX_LAYERS,
    MIN_LAYERS,
    ElementKind,
    PlannerName,
    Scene,
    SceneLayer,
)
from groovebox.config import AmbientSettings
from groovebox.generate.apikey import redact

__all__ = ["PlannerError", "plan_json_schema", "plan_scene", "plan_with_gemini",
           "plan_with_openai", "scene_from_answer"]

log = logging.getLogger(__name__)
T = TypeVar("T")

NO_KEY = "no-key"
_GEMINI_REFUSALS = {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "MODEL_ARMOR"}
_FIELD_HINTS = {
    "kind": "the sound element, one of the listed names",
    "description": 'a few words like a sound-effects prompt, e.g. "footsteps on wet pavement, distant"',
    "gain_db": "level: -40 barely audible .. +6 loud; beds usually -24..-12, the main element -10..-4",
    "pan": "-1 left .. 0 centre .. +1 right",
    "spread": "stereo width: 0 a point source .. 1 fills the whole field",
    "distance": "0 at the listener .. 1 far away",
    "reverb_send": "0 dry .. 1 very reverberant",
    "delay_send": "0 none .. 1 strong echoes",
    "intensity": "0 calm, sparse .. 1 heavy, dense (rain rate, crowd size, gust strength)",
    "drift": "0 static .. 1 strongly evolving (slow random changes of level and tone)",
}
_INSTRUCTIONS = f"""You plan ambient soundscapes for a groovebox. Given a described place, answer with one JSON \
object: a short title, a narrative (2 to 4 sentences, present tense, what the listener hears and where) and \
{MIN_LAYERS} to {MAX_LAYERS} layers. Each layer is one sound element, named exactly as in this list: \
{", ".join(kind.value for kind in ElementKind)}. (hum is electrical hum, neon a buzzing neon sign, drone a low \
tonal drone, music_bed a soft musical pad, pink_noise and brown_noise steady noise beds.) Prefer different \
kinds; include only sounds that belong to the place, the time of day and the weather (no birds at midnight). \
Mix values per layer: {"; ".join(f"{name}: {hint}" for name, hint in _FIELD_HINTS.items() if name != "kind")}."""


def _max_length(model: type[BaseModel], name: str) -> int:
    return next(item.max_length for item in model.model_fields[name].metadata if hasattr(item, "max_length"))


MAX_TEXT_CHARS = _max_length(Scene, "text")
_TEXT_LIMITS = {name: _max_length(Scene, name) for name in ("title", "narrative")}
_DESCRIPTION_LIMIT = _max_length(SceneLayer, "description")


class PlannerError(Exception):
    """An online planner gave no usable scene; ``reason`` completes "Gemini ..." (never contains a key)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Plan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = ""
    narrative: str = ""
    layers: list[SceneLayer] = Field(min_length=MIN_LAYERS, max_length=MAX_LAYERS)


# ------------------------------------------------------------------------------------------ selection

def plan_scene(text: str, *, fallback: Callable[[str], Scene], settings: AmbientSettings | None = None,
               gemini_api_key: str | None = None, openai_api_key: str | None = None,
               environ: Mapping[str, str] | None = None, seed: int | None = None) -> Scene:
    """Plan ``text`` with the configured online planner(s), else ``fallback(text)``; see the module docstring.

    ``openai_api_key`` None reads ``settings.openai_api_key_env`` from ``environ`` (default ``os.environ``).
    Raises ValueError for empty text or text over 500 characters; every planner failure is a note instead.
    Each planner tried waits at most ``settings.timeout_s`` (``auto`` may try Gemini, then the chat server)."""
    text = _checked_text(text)
    settings = settings or AmbientSettings()
    if openai_api_key is None:
        env = os.environ if environ is None else environ
        openai_api_key = env.get(settings.openai_api_key_env, "").strip() or None
    attempts, notes = _attempts(settings, gemini_api_key, openai_api_key, seed)
    failures: list[str] = []
    for who, attempt in attempts:
        try:
            scene = attempt(text)
        except PlannerError as error:
            failures.append(f"{who} {error.reason}")
            continue
        return _with_notes(scene, notes, failures, who)
    return _with_notes(fallback(text), notes, failures, "the offline planner")


def _attempts(settings: AmbientSettings, gemini_key: str | None, openai_key: str | None, seed: int | None):
    wants_gemini = settings.planner in ("auto", "gemini")
    wants_openai = settings.planner in ("auto", "openai")
    notes, attempts = [], []
    if wants_gemini and gemini_key:
        attempts.append(("Gemini", lambda text: plan_with_gemini(
            text, api_key=gemini_key, model=settings.gemini_model, base_url=settings.gemini_base_url or None,
            api_version=settings.gemini_api_version, timeout_s=settings.timeout_s, seed=seed)))
    elif settings.planner == "gemini":
        notes.append("the planner is set to gemini but no Gemini API key is configured")
    if wants_openai and settings.openai_base_url and settings.openai_model:
        attempts.append((f"the chat server at {_host_of(settings.openai_base_url)}", lambda text: plan_with_openai(
            text, base_url=settings.openai_base_url, model=settings.openai_model, api_key=openai_key,
            timeout_s=settings.timeout_s, seed=seed)))
    elif settings.planner == "openai" or (wants_openai and settings.openai_base_url):
        missing = "openai_model" if settings.openai_base_url else "openai_base_url"
        notes.append(f"the OpenAI-compatible planner is not configured ({missing} is empty)")
    return attempts, notes


def _with_notes(scene: Scene, notes: list[str], failures: list[str], used: str) -> Scene:
    added = [f"{note}; used {used}" for note in [*notes, *failures]]
    for line in added:
        log.warning("scene planner: %s", line)
    return scene.model_copy(update={"notes": [*added, *scene.notes]}) if added else scene


def _checked_text(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        raise ValueError("describe a scene (the text is empty)")
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"a scene description has at most {MAX_TEXT_CHARS} characters (this one has {len(text)})")
    return text


def _host_of(url: str) -> str:
    # only host and port: a URL may carry credentials in its user part or query
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


# ---------------------------------------------------------------------------------------------- Gemini

def plan_with_gemini(text: str, *, api_key: str, model: str = "gemini-2.5-flash", base_url: str | None = None,
                     api_version: str = "v1beta", timeout_s: float = 20.0, seed: int | None = None) -> Scene:
    """Ask a Gemini text model for a scene plan with a JSON-schema response; raises PlannerError."""
    import httpx2
    from google import genai
    from google.genai import errors, types

    config = types.GenerateContentConfig(
        system_instruction=_INSTRUCTIONS, response_mime_type="application/json",
        response_schema=_gemini_schema(), seed=seed)
    options = types.HttpOptions(base_url=base_url, api_version=api_version, timeout=round(timeout_s * 1000))

    def request():
        with genai.Client(api_key=api_key, http_options=options) as client:
            return client.models.generate_content(model=model, contents=text, config=config)

    try:
        response = _call_with_deadline(request, timeout_s)
    except errors.APIError as error:
        raise PlannerError(redact(_http_reason(error.code, error.message or ""), api_key)) from None
    except (httpx2.HTTPError, OSError, ValueError) as error:   # ValueError: a body that is not Gemini's JSON
        raise _transport_failure(error, timeout_s, api_key) from None
    return scene_from_answer(text, _gemini_text(response), planner="gemini")


def _gemini_schema():
    """``plan_json_schema`` as Gemini's Schema, properties in the order written (narrative before layers)."""
    from google.genai import types

    def ordered(schema):
        if schema.properties:
            properties = {name: ordered(value) for name, value in schema.properties.items()}
            return schema.model_copy(update={"properties": properties, "property_ordering": list(properties)})
        if schema.items is not None:
            return schema.model_copy(update={"items": ordered(schema.items)})
        return schema

    json_schema = types.JSONSchema.model_validate(plan_json_schema())
    return ordered(types.Schema.from_json_schema(json_schema=json_schema, api_option="GEMINI_API"))


def _gemini_text(response) -> str:
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason is not None:
        raise PlannerError(f"refused the scene (blocked: {_enum_name(feedback.block_reason)})")
    if not response.candidates:
        raise PlannerError("answered with no candidates")
    reason = _enum_name(response.candidates[0].finish_reason)
    if reason in _GEMINI_REFUSALS:
        raise PlannerError(f"refused the scene (blocked: {reason})")
    if reason == "MAX_TOKENS":
        raise PlannerError("stopped before the scene was complete (MAX_TOKENS)")
    if not response.text:
        raise PlannerError("answered with no text")
    return response.text


def _enum_name(value) -> str:
    return "" if value is None else str(getattr(value, "name", value))


# ------------------------------------------------------------------------------- OpenAI-compatible chat

def plan_with_openai(text: str, *, base_url: str, model: str, api_key: str | None = None,
                     timeout_s: float = 20.0, seed: int | None = None) -> Scene:
    """Ask an OpenAI-compatible ``/chat/completions`` endpoint (``base_url`` ends in ``/v1``) for a scene
    plan in JSON; raises PlannerError."""
    import openai

    key = api_key or NO_KEY
    messages = [{"role": "system", "content": _chat_instructions()}, {"role": "user", "content": text}]

    def request():
        with openai.OpenAI(api_key=key, base_url=base_url, timeout=timeout_s, max_retries=0) as client:
            def complete(**extra):
                return client.chat.completions.create(model=model, messages=messages, seed=seed, **extra)
            try:
                return complete(response_format={"type": "json_object"})
            except openai.BadRequestError as error:
                if "response_format" not in str(error.message):
                    raise
                return complete()

    try:
        completion = _call_with_deadline(request, timeout_s)
    except openai.APIStatusError as error:
        raise PlannerError(redact(_http_reason(error.status_code, _openai_message(error)), api_key)) from None
    except (openai.OpenAIError, OSError, ValueError) as error:
        raise _transport_failure(error, timeout_s, api_key) from None
    return scene_from_answer(text, _openai_text(completion), planner="openai")


def _chat_instructions() -> str:
    schema = json.dumps(plan_json_schema(), separators=(",", ":"))
    return (f"{_INSTRUCTIONS}\nAnswer with the JSON object only: no prose, no code fences. "
            f"It must match this JSON Schema: {schema}")


def _openai_message(error) -> str:
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else inner
        if message:
            return str(message)
    return str(error.message)


def _openai_text(completion) -> str:
    choices = getattr(completion, "choices", None) or []
    if not choices:
        raise PlannerError("answered with no choices")
    choice = choices[0]
    message = getattr(choice, "message", None)
    refusal = getattr(message, "refusal", None)
    if refusal:
        raise PlannerError(f"refused the scene ({' '.join(str(refusal).split())[:120]})")
    if choice.finish_reason == "content_filter":
        raise PlannerError("refused the scene (content filter)")
    if choice.finish_reason == "length":
        raise PlannerError("stopped before the scene was complete (length limit)")
    content = getattr(message, "content", None)
    if not content:
        raise PlannerError("answered with no text")
    return str(content)


# ------------------------------------------------------------------------------------------- transport

def _call_with_deadline(call: Callable[[], T], timeout_s: float) -> T:
    """``call()`` on a daemon thread; its result or exception, or PlannerError after ``timeout_s``."""
    outcome: list[tuple[bool, Any]] = []
    done = threading.Event()

    def run() -> None:
        try:
            outcome.append((True, call()))
        except Exception as error:  # noqa: BLE001  (not swallowed: the waiting thread raises it)
            outcome.append((False, error))
        finally:
            done.set()

    threading.Thread(target=run, name="scene-planner-request", daemon=True).start()
    if not done.wait(timeout_s):
        raise PlannerError(f"did not answer within {timeout_s:g} s")
    ok, value = outcome[0]
    if ok:
        return value
    raise value


def _http_reason(status: int | None, message: str) -> str:
    if status in (401, 403):
        return f"refused the API key (HTTP {status})"
    if status == 429:
        return "is rate-limiting or out of quota (HTTP 429)"
    if status is not None and status >= 500:
        return f"had a server error (HTTP {status})"
    detail = " ".join(message.split())[:160]
    return f"rejected the request (HTTP {status}: {detail})" if detail else f"rejected the request (HTTP {status})"


def _transport_failure(error: Exception, timeout_s: float, api_key: str | None) -> PlannerError:
    chain = list(_causes(error))
    names = {type(link).__name__ for link in chain}
    if any(isinstance(link, json.JSONDecodeError) for link in chain):
        return PlannerError("answered with an HTTP body that is not JSON (is the base URL right?)")
    if any(isinstance(link, TimeoutError) for link in chain) or any("Timeout" in name for name in names):
        return PlannerError(f"did not answer within {timeout_s:g} s")
    if any(isinstance(link, ConnectionRefusedError) for link in chain):
        return PlannerError("could not be reached (connection refused)")
    if any(isinstance(link, OSError) for link in chain) or any("Connect" in name for name in names):
        return PlannerError(redact(f"could not be reached ({_short(chain[-1])})", api_key))
    return PlannerError(redact(f"failed ({_short(error)})", api_key))


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    link: BaseException | None = error
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        yield link
        link = link.__cause__ or link.__context__


def _short(error: BaseException) -> str:
    detail = " ".join(str(error).split())[:120]
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__


# ---------------------------------------------------------------------------------- answer → Scene

def plan_json_schema() -> dict[str, Any]:
    """The JSON Schema of a planner's answer: title, narrative and 3-8 layers, bounds taken from SceneLayer."""
    layer = SceneLayer.model_json_schema()
    properties = {}
    for name, spec in layer["properties"].items():
        spec = {key: value for key, value in spec.items() if key not in ("title", "default", "$ref")}
        if name == "kind":
            spec.update(type="string", enum=[kind.value for kind in ElementKind])
        spec["description"] = _FIELD_HINTS.get(name, spec.get("description", name))
        properties[name] = spec
    layer_schema = {"type": "object", "properties": properties, "required": list(properties),
                    "additionalProperties": False}
    return {
        "type": "object",
        "properties": {
            "title": {"type": "string", "maxLength": _TEXT_LIMITS["title"], "description": "a short name"},
            "narrative": {"type": "string", "maxLength": _TEXT_LIMITS["narrative"],
                          "description": "2 to 4 sentences: what the listener hears and where"},
            "layers": {"type": "array", "minItems": MIN_LAYERS, "maxItems": MAX_LAYERS, "items": layer_schema},
        },
        "required": ["title", "narrative", "layers"],
        "additionalProperties": False,
    }


def scene_from_answer(text: str, answer: str, *, planner: PlannerName) -> Scene:
    """The Scene in a model's ``answer`` for ``text``; raises PlannerError saying what is wrong with it."""
    data = _first_json_object(answer)
    notes = _tidy(data)
    try:
        plan = _Plan.model_validate(data)
    except ValidationError as error:
        problems = [_problem(item) for item in error.errors()]
        more = f"; and {len(problems) - 3} more problems" if len(problems) > 3 else ""
        raise PlannerError(f"answered with something that is not a scene ({'; '.join(problems[:3])}{more})") \
            from None
    return Scene(text=text, title=plan.title, narrative=plan.narrative, layers=plan.layers, planner=planner,
                 notes=notes)


_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)


def _first_json_object(answer: str) -> dict[str, Any]:
    """The scene object in ``answer``: the first JSON object with a "layers" key, else the first one found."""
    answer = _THINK.sub("", answer)
    decoder = json.JSONDecoder()
    found: list[dict[str, Any]] = []
    broken = False
    for match in re.finditer(r"[\[{]", answer):
        try:
            value, _ = decoder.raw_decode(answer, match.start())
        except json.JSONDecodeError:
            broken = broken or match.group() == "{"
            continue
        if isinstance(value, list) and not found and any(isinstance(item, dict) for item in value):
            raise PlannerError("answered with a JSON list, not a scene object")
        if isinstance(value, dict):
            if "layers" in value:
                return value
            found.append(value)
    if found and not broken:
        return found[0]
    # an object that does not parse, with only fragments of it parsing (a cut-off answer), is not JSON
    raise PlannerError("answered with something that is not JSON")


def _tidy(data: dict[str, Any]) -> list[str]:
    """Normalise kind spellings and cut over-long text in place; notes for every cut."""
    notes = [_cut(data, name, limit, name) for name, limit in _TEXT_LIMITS.items()]
    layers = data.get("layers")
    for number, layer in enumerate(layers if isinstance(layers, list) else [], start=1):
        if not isinstance(layer, dict):
            continue
        if isinstance(layer.get("kind"), str):
            layer["kind"] = re.sub(r"[\s\-]+", "_", layer["kind"].strip().lower())
        notes.append(_cut(layer, "description", _DESCRIPTION_LIMIT, f"layer {number} description"))
    return [note for note in notes if note]


def _cut(data: dict[str, Any], name: str, limit: int, label: str) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        return ""
    value = " ".join(value.split())
    data[name] = value
    if len(value) <= limit:
        return ""
    data[name] = value[:limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"
    return f"the {label} was shortened to {limit} characters"


def _problem(item: Mapping[str, Any]) -> str:
    location = list(item["loc"])
    where = ""
    if len(location) >= 2 and location[0] == "layers" and isinstance(location[1], int):
        where, location = f"layer {location[1] + 1}: ", location[2:]
    field = ".".join(str(part) for part in location) or "the answer"
    kind, value, ctx = item["type"], item.get("input"), item.get("ctx") or {}
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    if kind == "enum" and field == "kind":
        return f"{where}unknown kind {shown}"
    if kind in ("less_than_equal", "less_than"):
        return f"{where}{field} {shown} is above {ctx.get('le', ctx.get('lt'))}"
    if kind in ("greater_than_equal", "greater_than"):
        return f"{where}{field} {shown} is below {ctx.get('ge', ctx.get('gt'))}"
    if kind == "missing":
        return f"{where}{field} is missing"
    if kind == "extra_forbidden":
        return f"{where}unexpected field {field!r}"
    if kind == "too_short" and field == "layers":
        return f"{ctx.get('actual_length')} layers (at least {MIN_LAYERS})"
    if kind == "too_long" and field == "layers":
        return f"{ctx.get('actual_length')} layers (at most {MAX_LAYERS})"
    return f"{where}{field} {shown}: {item['msg'][0].lower()}{item['msg'][1:]}"
