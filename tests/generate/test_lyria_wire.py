"""What the real google-genai client puts on the wire through LyriaStream, as the fake server received it.

These pin the wire format (reference/lyria-realtime.md §7.5): if an SDK upgrade changes the messages, the
header-only key or the URL, these fail first."""

import asyncio

from google.genai import types
from lyria_fixtures import (
    FAST_RETRY,
    endpoint_for,
    fake_lyria_fixture,  # noqa: F401 (provides the fake_lyria fixture)
    received_messages,
    secret_key,
)

from groovebox.generate.lyria import LyriaStream, generation_config, weighted_prompts
from groovebox.generate.request import GenerationRequest, Scale

REQUEST = GenerationRequest(prompt="minimal techno", genre="house", mood="warm", bpm=92, scale=Scale.D_MAJOR_B_MINOR,
                            density=0.4, brightness=0.6, temperature=1.3, top_k=50, guidance=3.5)
SEED = 4242
FULL_CONFIG = {"temperature": 1.3, "topK": 50, "seed": SEED, "guidance": 3.5, "bpm": 92, "density": 0.4,
               "brightness": 0.6, "scale": "D_MAJOR_B_MINOR", "muteBass": False, "muteDrums": False,
               "onlyBassAndDrums": False, "musicGenerationMode": "QUALITY"}
PROMPTS = [{"text": "minimal techno", "weight": 1.0}, {"text": "house", "weight": 0.8}, {"text": "warm", "weight": 0.5}]


def open_stream(fake, key: str, **kwargs) -> LyriaStream:
    return LyriaStream(key, weighted_prompts(REQUEST), generation_config(REQUEST, SEED),
                       endpoint=kwargs.pop("endpoint", endpoint_for(fake)), retry=FAST_RETRY, **kwargs)


def test_a_session_sends_setup_prompts_the_full_config_then_play(fake_lyria):
    key = secret_key("wire")

    async def run():
        async with open_stream(fake_lyria, key) as stream:
            return await stream.read()

    chunk = asyncio.run(run())
    assert (chunk.connection, chunk.at_frame, chunk.sample_rate) == (1, 0, 48000)
    assert chunk.audio.shape == (96000, 2) and chunk.audio.dtype.name == "float32"
    connection, = fake_lyria.connections(key)
    assert fake_lyria.wait_closed(connection)["code"] == 1000                 # closed cleanly by the client
    assert received_messages(fake_lyria, connection) == [
        {"setup": {"model": "models/lyria-realtime-exp"}},
        {"clientContent": {"weightedPrompts": PROMPTS}},
        {"musicGenerationConfig": FULL_CONFIG},
        {"playbackControl": "PLAY"},
    ]
    handshake = fake_lyria.events("handshake", connection)[0]
    assert handshake["path"] == "/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateMusic"
    assert handshake["key_source"] == "header"                                # never ?key= in the URL
    assert handshake["user_agent"].startswith("google-genai-sdk/")


def test_the_api_version_and_model_come_from_the_endpoint(fake_lyria):
    key = secret_key("version")

    async def run():
        endpoint = endpoint_for(fake_lyria, api_version="v1beta", model="lyria-realtime-exp")
        async with open_stream(fake_lyria, key, endpoint=endpoint) as stream:
            await stream.read()

    asyncio.run(run())
    connection, = fake_lyria.connections(key)
    assert fake_lyria.events("handshake", connection)[0]["version"] == "v1beta"
    assert received_messages(fake_lyria, connection)[0] == {"setup": {"model": "models/lyria-realtime-exp"}}


def test_live_steering_is_throttled_full_and_flushed_before_a_context_reset(fake_lyria):
    key = secret_key("steer")
    base = generation_config(REQUEST, SEED)

    def wait_for_config(connection: int, **expected):
        fake_lyria.wait_for(lambda e: e["event"] == "received" and e.get("connection") == connection
                            and expected.items() <= e["message"].get("musicGenerationConfig", {}).items())

    async def run():
        async with open_stream(fake_lyria, key, throttle_s=1.0) as stream:
            await stream.read()
            for density in (0.1, 0.2, 0.3):                       # within one throttle interval: coalesced
                await stream.set_config(base.model_copy(update={"density": density}))
            await stream.set_prompts([types.WeightedPrompt(text="acid", weight=1.5),
                                      types.WeightedPrompt(text="muted", weight=0.0)])
            connection, = fake_lyria.connections(key)
            await asyncio.to_thread(wait_for_config, connection, density=0.3)     # the trailing send came
            await stream.set_config(base.model_copy(update={"density": 0.3, "bpm": 140}))
            await stream.reset_context()
            await stream.pause()
        return connection

    connection = asyncio.run(run())
    fake_lyria.wait_closed(connection)
    after_play = received_messages(fake_lyria, connection)[4:]
    configs = [m["musicGenerationConfig"] for m in after_play if "musicGenerationConfig" in m]
    assert 0.2 not in [c["density"] for c in configs]
    assert [c["density"] for c in configs][-2:] == [0.3, 0.3]
    assert all(c == {**FULL_CONFIG, "density": c["density"], "bpm": c["bpm"]} for c in configs)   # always full
    assert {"clientContent": {"weightedPrompts": [{"text": "acid", "weight": 1.5}]}} in after_play
    assert after_play[-3:] == [{"musicGenerationConfig": {**FULL_CONFIG, "density": 0.3, "bpm": 140}},
                               {"playbackControl": "RESET_CONTEXT"}, {"playbackControl": "PAUSE"}]
    assert [s["bpm"] for s in fake_lyria.events("segment", connection)] == [92, 140]


def test_a_live_stream_drops_a_filtered_prompt_and_leaves_it_out_after_a_reconnect(fake_lyria):
    key = secret_key("live-filter", "drop=2x1")
    prompts = [types.WeightedPrompt(text="forbidden choir", weight=1.0), types.WeightedPrompt(text="dub", weight=0.7)]

    async def run():
        async with LyriaStream(key, prompts, generation_config(REQUEST, SEED), endpoint=endpoint_for(fake_lyria),
                               retry=FAST_RETRY, strict_prompts=False) as stream:
            chunk = await stream.read()
            while chunk.connection == 1:
                chunk = await stream.read()
            return stream.filtered

    filtered = asyncio.run(run())
    assert filtered == {"forbidden choir": "fake: this prompt is blocked by the safety filter"}
    _, second = fake_lyria.connections(key)
    assert received_messages(fake_lyria, second)[1] == {"clientContent": {"weightedPrompts": [
        {"text": "dub", "weight": 0.7}]}}
