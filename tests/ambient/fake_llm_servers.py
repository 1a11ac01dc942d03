"""Local fake LLM servers for the scene planners: one HTTP server on 127.0.0.1 that answers like Gemini's
``POST /{version}/models/{model}:generateContent`` or OpenAI's ``POST /v1/chat/completions``.

Runs an ``http.server`` on its own threads inside the test process; the real ``google-genai`` and ``openai``
clients talk to it over TCP. Each POST gets the next ``Reply`` set by ``answer_with`` (the last one repeats)
and is recorded (path, lower-case headers, JSON body), so tests can check what the client really sent.

    from fake_llm_servers import fake_llm_fixture   # tests ask for ``fake_llm``
    fake_llm.answer_with(gemini_answer(scene_json(...)))
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass(frozen=True)
class Reply:
    """One HTTP answer: ``delay_s`` before the headers, then the body, one byte per ``trickle_s`` if set."""

    status: int = 200
    body: Any = field(default_factory=dict)       # dict/list -> JSON; str/bytes sent as they are
    delay_s: float = 0.0
    trickle_s: float = 0.0

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


@dataclass(frozen=True)
class Recorded:
    path: str
    headers: dict[str, str]
    body: Any


class FakeLlmServer:
    """A threaded HTTP server on 127.0.0.1:<free port>; ``url`` is its root (no trailing slash)."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._replies: list[Reply] = []
        self._lock = threading.Lock()
        self._release = threading.Event()       # set at stop: slow replies end at once
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        # a short poll interval: shutdown() waits for the serving loop's next poll
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="fake-llm", daemon=True)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> FakeLlmServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def answer_with(self, *replies: Reply) -> None:
        """Answer the next requests with ``replies`` in order; the last one repeats for any later request."""
        with self._lock:
            self._replies = list(replies)

    def _next(self, recorded: Recorded) -> Reply:
        with self._lock:
            self.requests.append(recorded)
            if not self._replies:
                return Reply(500, {"error": {"code": 500, "message": "no reply set"}})
            return self._replies.pop(0) if len(self._replies) > 1 else self._replies[0]

    def _sleep(self, seconds: float) -> bool:
        """False when the server is stopping."""
        return not self._release.wait(seconds)


def _handler_for(server: FakeLlmServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
            headers = {name.lower(): value for name, value in self.headers.items()}
            reply = server._next(Recorded(self.path, headers, body))
            if reply.delay_s and not server._sleep(reply.delay_s):
                return
            payload = reply.payload()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Connection", "close")
                self.end_headers()
                self._write(payload, reply.trickle_s)
            except (BrokenPipeError, ConnectionResetError):
                pass                                      # the client gave up: that is the point of some tests
            self.close_connection = True

        def _write(self, payload: bytes, trickle_s: float) -> None:
            if not trickle_s:
                self.wfile.write(payload)
                return
            for index in range(len(payload)):
                if not server._sleep(trickle_s):
                    return
                self.wfile.write(payload[index:index + 1])
                self.wfile.flush()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture(name="fake_llm")
def fake_llm_fixture():
    """A fresh fake server per test (starting one takes about a millisecond)."""
    server = FakeLlmServer().start()
    try:
        yield server
    finally:
        server.stop()


def refused_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (a port that was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# ------------------------------------------------------------------------------------------ answers

def layer(kind: str, **mix: Any) -> dict[str, Any]:
    """A layer as a model would write it: every field of the schema, ``mix`` overriding the defaults."""
    values = {"kind": kind, "description": f"{kind} sounds", "gain_db": -14.0, "pan": 0.0, "spread": 0.7,
              "distance": 0.4, "reverb_send": 0.3, "delay_send": 0.0, "intensity": 0.5, "drift": 0.2}
    return values | mix


def scene_json(*layers: dict[str, Any], title: str = "Rainy alley",
               narrative: str = "Rain falls on a narrow street; a sign buzzes overhead.") -> str:
    return json.dumps({"title": title, "narrative": narrative, "layers": list(layers)})


def gemini_answer(text: str, finish_reason: str = "STOP") -> Reply:
    """A generateContent response whose first candidate holds ``text``."""
    return Reply(200, {
        "candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                        "finishReason": finish_reason, "index": 0}],
        "usageMetadata": {"promptTokenCount": 120, "candidatesTokenCount": 80, "totalTokenCount": 200},
        "modelVersion": "gemini-2.5-flash",
    })


def gemini_prompt_blocked(reason: str = "SAFETY") -> Reply:
    """The prompt itself was blocked: no candidates, only promptFeedback."""
    return Reply(200, {"promptFeedback": {"blockReason": reason}, "usageMetadata": {"promptTokenCount": 12}})


def gemini_candidate_blocked(reason: str = "SAFETY") -> Reply:
    """A candidate stopped by a safety filter: a finish reason and no content."""
    return Reply(200, {"candidates": [{"finishReason": reason, "index": 0,
                                       "safetyRatings": [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT",
                                                          "probability": "HIGH", "blocked": True}]}]})


def gemini_error(code: int, message: str, status: str = "ERROR") -> Reply:
    return Reply(code, {"error": {"code": code, "message": message, "status": status}})


def openai_answer(content: str | None, finish_reason: str = "stop", refusal: str | None = None) -> Reply:
    """A chat.completion whose first choice says ``content``."""
    return Reply(200, {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 1_700_000_000, "model": "fake-model",
        "choices": [{"index": 0, "finish_reason": finish_reason,
                     "message": {"role": "assistant", "content": content, "refusal": refusal}}],
        "usage": {"prompt_tokens": 120, "completion_tokens": 80, "total_tokens": 200},
    })


def openai_error(code: int, message: str) -> Reply:
    return Reply(code, {"error": {"message": message, "type": "error", "code": code}})
