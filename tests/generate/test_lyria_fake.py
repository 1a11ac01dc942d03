"""hw-mocks/fake_lyria.py itself, driven by a raw websockets client: routing, keys, the message rules, the
music it streams (is the downbeat it reports true?), and its test behaviours."""

import asyncio
import base64
import json
import os
import ssl
import subprocess
import sys
import time

import numpy as np
import pytest
from lyria_fixtures import (
    FILTER_WORD,
    HW_MOCKS,
    REVOKED_KEY,
    fake_lyria_fixture,  # noqa: F401 (provides the fake_lyria fixture)
    load_fake_lyria_module,
    secret_key,
)
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

PATH = "/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateMusic"
PROMPTS = {"clientContent": {"weightedPrompts": [{"text": "minimal techno", "weight": 1.0}]}}


def ws_url(fake, path: str = PATH) -> str:
    return f"wss://127.0.0.1:{fake.ready['port']}{path}"


def tls(fake) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=fake.ready["cert"])


async def open_session(fake, key: str, *messages: dict, path: str = PATH, header: bool = True):
    """Connect, send setup and ``messages``; returns the connection (setupComplete already read)."""
    url = ws_url(fake, path) if header else f"{ws_url(fake, path)}?key={key}"
    headers = {"x-goog-api-key": key} if header else {}
    ws = await connect(url, ssl=tls(fake), additional_headers=headers, max_size=1 << 20)
    await ws.send(json.dumps({"setup": {"model": "models/lyria-realtime-exp"}}))
    first = await ws.recv()
    assert isinstance(first, bytes) and json.loads(first) == {"setupComplete": {}}
    for message in messages:
        await ws.send(json.dumps(message))
    return ws


async def read_audio(ws, chunks: int) -> tuple[np.ndarray, list[dict]]:
    """``chunks`` audio messages decoded to int16 (frames, channels), and the raw chunk objects."""
    parts, raw = [], []
    while len(raw) < chunks:
        message = await ws.recv()
        assert isinstance(message, bytes) and len(message) < 1 << 20
        for chunk in json.loads(message).get("serverContent", {}).get("audioChunks", []):
            raw.append(chunk)
            channels = int(chunk["mimeType"].rsplit("channels=", 1)[1])
            parts.append(np.frombuffer(base64.b64decode(chunk["data"]), "<i2").reshape(-1, channels))
    return np.concatenate(parts), raw


def test_help_describes_the_behaviours():
    result = subprocess.run([sys.executable, str(HW_MOCKS / "fake_lyria.py"), "--help"], capture_output=True,
                            text=True, timeout=30, check=False)
    assert result.returncode == 0
    for option in ("--realtime", "--filter-word", "--bad-key", "--drop-after-chunks", "--stall-after-chunks",
                   "--plain", "--log"):
        assert option in result.stdout


def test_the_ready_line_names_port_and_certificate(fake_lyria):
    assert fake_lyria.ready["scheme"] == "wss" and fake_lyria.ready["port"] > 0
    assert os.path.exists(fake_lyria.ready["cert"])


@pytest.mark.parametrize("path, key, status", [
    ("/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContent", "k", 404),
    ("/elsewhere", "k", 404),
    (PATH, "", 403),
    (PATH, REVOKED_KEY, 403),
    (PATH, "k+reject=403", 403),
    (PATH, "k+reject=503", 503),
])
def test_handshakes_are_refused_over_http(fake_lyria, path, key, status):
    async def attempt():
        headers = {"x-goog-api-key": key} if key else {}
        with pytest.raises(InvalidStatus) as caught:
            await connect(ws_url(fake_lyria, path), ssl=tls(fake_lyria), additional_headers=headers)
        return caught.value.response.status_code

    assert asyncio.run(attempt()) == status


def test_any_version_and_a_query_key_are_accepted(fake_lyria):
    key = secret_key("query")

    async def session():
        ws = await open_session(fake_lyria, key, header=False,
                                path=PATH.replace("v1alpha", "v1beta"))
        await ws.close()

    asyncio.run(session())
    connection, = fake_lyria.connections(key)
    handshake = fake_lyria.events("handshake", connection)[0]
    assert handshake["key_source"] == "query" and handshake["version"] == "v1beta" and handshake["status"] == 101
    assert key not in json.dumps(fake_lyria.history)                      # the fake never prints keys


@pytest.mark.parametrize("message", [
    "not json",
    json.dumps(PROMPTS),                                                  # before setup
])
def test_anything_before_setup_closes_with_1007(fake_lyria, message):
    async def session():
        ws = await connect(ws_url(fake_lyria), ssl=tls(fake_lyria), additional_headers={"x-goog-api-key": "k"})
        await ws.send(message)
        with pytest.raises(ConnectionClosed):
            await ws.recv()                                               # no setupComplete came first
        return ws.close_code

    assert asyncio.run(session()) == 1007


@pytest.mark.parametrize("message", [
    {"musicGenerationConfig": {"musicGenerationConfig": {"bpm": 120}}},  # nested: reported to close with 1007
    {"musicGenerationConfig": {"bpm": "fast"}},
    {"musicGenerationConfig": {"scale": "H_MAJOR"}},
    {"clientContent": {"weightedPrompts": "techno"}},
    {"playbackControl": "JUMP"},
    {"goAway": {}},
    {"setup": {"model": "models/lyria-realtime-exp"}},                   # a second setup
    {"clientContent": {"weightedPrompts": []}, "playbackControl": "PLAY"},
])
def test_malformed_messages_close_with_1007(fake_lyria, message):
    async def session():
        ws = await open_session(fake_lyria, secret_key("malformed"), message)
        with pytest.raises(ConnectionClosed):
            await ws.recv()
        return ws.close_code

    assert asyncio.run(session()) == 1007


def test_snake_case_is_accepted_and_chunks_are_48k_stereo_under_1_mib(fake_lyria):
    key = secret_key("snake")
    messages = ({"client_content": {"weighted_prompts": [{"text": "dub", "weight": 1}]}},
                {"music_generation_config": {"bpm": 100, "top_k": 40, "scale": "G_MAJOR_E_MINOR"}},
                {"playback_control": "PLAY"})

    async def session():
        ws = await open_session(fake_lyria, key, *messages)
        audio, raw = await read_audio(ws, 2)
        await ws.close()
        return audio, raw

    audio, raw = asyncio.run(session())
    assert [chunk["mimeType"] for chunk in raw] == ["audio/l16;rate=48000;channels=2"] * 2
    assert audio.shape == (2 * 96000, 2) and np.abs(audio).max() > 1000
    connection, = fake_lyria.connections(key)
    segment, = fake_lyria.events("segment", connection)
    assert segment["bpm"] == 100 and segment["minor_tonic_pc"] == 4          # E minor


def test_the_reported_downbeats_are_where_the_kicks_start(fake_lyria):
    key = secret_key("truth")

    async def session():
        ws = await open_session(fake_lyria, key, PROMPTS, {"musicGenerationConfig": {"bpm": 92}},
                                {"playbackControl": "PLAY"})
        audio, _ = await read_audio(ws, 6)
        await ws.close()
        return audio

    mono = asyncio.run(session()).mean(axis=1) / 32768.0
    segment = fake_lyria.events("segment", fake_lyria.connections(key)[0])[0]
    downbeat, bar = segment["downbeat_frame"], segment["bar_frames"]
    onsets = []
    for k in range(int((mono.size - downbeat - 480) // bar) + 1):
        at = downbeat + k * bar
        window = np.abs(mono[int(at) - 480:int(at) + 480])                  # +-10 ms
        onsets.append(int(at) - 480 + int(np.argmax(window > 0.05)) - at)   # first loud sample, frames from truth
    assert len(onsets) >= 3
    assert all(0 <= offset <= 48 for offset in onsets), onsets              # within 1 ms after the truth


def test_a_filtered_prompt_is_reported_and_not_streamed(fake_lyria):
    key = secret_key("filter")
    blocked = {"clientContent": {"weightedPrompts": [{"text": f"{FILTER_WORD} chant", "weight": 1.0}]}}

    async def session():
        ws = await open_session(fake_lyria, key, blocked, {"playbackControl": "PLAY"})
        reply = json.loads(await ws.recv())
        await ws.send(json.dumps(PROMPTS))                                   # a clean prompt: music starts
        await read_audio(ws, 1)
        await ws.close()
        return reply

    reply = asyncio.run(session())
    assert reply == {"filteredPrompt": {"text": f"{FILTER_WORD} chant",
                                        "filteredReason": "fake: this prompt is blocked by the safety filter"}}
    connection, = fake_lyria.connections(key)
    events = fake_lyria.events(connection=connection)
    clean_prompt_at = next(i for i, e in enumerate(events) if e["event"] == "received" and e["message"] == PROMPTS)
    first_chunk_at = next(i for i, e in enumerate(events) if e["event"] == "chunk")
    assert first_chunk_at > clean_prompt_at                                  # PLAY alone streamed nothing


def test_drop_cuts_the_socket_without_a_close_frame(fake_lyria):
    key = secret_key("drop", "drop=2x1")

    async def session():
        ws = await open_session(fake_lyria, key, PROMPTS, {"playbackControl": "PLAY"})
        with pytest.raises(ConnectionClosed) as caught:
            await read_audio(ws, 3)
        return caught.value

    closed = asyncio.run(session())
    assert closed.rcvd is None                                               # no close frame: code 1006 in the SDK
    connection, = fake_lyria.connections(key)
    assert fake_lyria.events("drop", connection)[0]["after_chunks"] == 2


def test_realtime_pacing_sends_one_chunk_per_chunk_duration(fake_lyria):
    key = secret_key("pace", "realtime", "chunk=0.25")

    async def session():
        ws = await open_session(fake_lyria, key, PROMPTS, {"playbackControl": "PLAY"})
        await read_audio(ws, 1)
        started = time.monotonic()
        audio, _ = await read_audio(ws, 2)
        elapsed_s = time.monotonic() - started
        await ws.close()
        return audio, elapsed_s

    audio, elapsed_s = asyncio.run(session())
    assert audio.shape[0] == 2 * 12000
    assert elapsed_s >= 0.45                         # two more chunks cannot come sooner than 2 x 0.25 s


def test_the_openssl_cli_certificate_works_too():
    module = load_fake_lyria_module()
    with module.FakeLyriaProcess("--cert-tool", "openssl") as fake:
        async def session():
            ws = await open_session(fake, "k", PROMPTS)
            await ws.close()

        asyncio.run(session())
        assert fake.wait_closed(1)["code"] == 1000
