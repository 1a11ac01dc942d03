"""groovebox.generate.lyria without a server: request -> config/prompts, PCM decoding, retry timing, checks."""

import asyncio

import numpy as np
import pytest
from google.genai import _common, types

from groovebox.generate.lyria import (
    LyriaAuthError,
    LyriaError,
    LyriaStream,
    RetryPolicy,
    capture_loop,
    decode_audio_chunk,
    generation_config,
    weighted_prompts,
)
from groovebox.generate.request import GenerationMode, GenerationRequest, Scale


def wire(config: types.LiveMusicGenerationConfig) -> dict:
    """The JSON body the SDK puts on the wire for ``config`` (live_music.py: convert_to_dict)."""
    return _common.convert_to_dict(config, convert_keys=True)


def test_every_request_field_reaches_the_config():
    request = GenerationRequest(prompt="dusty breaks", bpm=92, scale=Scale.E_FLAT_MAJOR_C_MINOR, guidance=5.5,
                                density=0.25, brightness=0.75, temperature=1.7, top_k=99, mute_bass=True,
                                mute_drums=False, only_bass_and_drums=True, mode=GenerationMode.DIVERSITY)
    assert wire(generation_config(request, seed=123456)) == {
        "temperature": 1.7, "topK": 99, "seed": 123456, "guidance": 5.5, "bpm": 92, "density": 0.25,
        "brightness": 0.75, "scale": "E_FLAT_MAJOR_C_MINOR", "muteBass": True, "muteDrums": False,
        "onlyBassAndDrums": True, "musicGenerationMode": "DIVERSITY"}


def test_unset_choices_are_left_to_the_model_and_bpm_defaults_to_120():
    config = wire(generation_config(GenerationRequest(prompt="ambient"), seed=0))
    assert config["bpm"] == 120
    assert config["seed"] == 0
    assert not {"scale", "density", "brightness"} & set(config)
    assert config["musicGenerationMode"] == "QUALITY"


@pytest.mark.parametrize("mode", list(GenerationMode))
def test_every_mode_maps_to_the_sdk_enum(mode):
    config = generation_config(GenerationRequest(prompt="x", mode=mode), seed=1)
    assert config.music_generation_mode == types.MusicGenerationMode(mode.value)


@pytest.mark.parametrize("scale", [s for s in Scale if s != Scale.SCALE_UNSPECIFIED])
def test_every_scale_maps_to_the_sdk_enum(scale):
    assert generation_config(GenerationRequest(prompt="x", scale=scale), seed=1).scale == types.Scale(scale.value)


def test_weighted_prompts_follow_the_request():
    request = GenerationRequest(prompt="late night", genre="house", mood="warm")
    prompts = weighted_prompts(request)
    assert [(p.text, p.weight) for p in prompts] == [("late night", 1.0), ("house", 0.8), ("warm", 0.5)]
    assert all(isinstance(p, types.WeightedPrompt) for p in prompts)


def test_stereo_pcm_decodes_to_float32_frames():
    pcm = np.array([[0, 32767], [-32768, 16384], [100, -100]], dtype="<i2")
    audio, rate = decode_audio_chunk(pcm.tobytes(), "audio/l16;rate=48000;channels=2")
    assert rate == 48000 and audio.dtype == np.float32 and audio.shape == (3, 2)
    np.testing.assert_allclose(audio, pcm / 32768.0, atol=1e-7)


def test_mono_pcm_is_duplicated_and_the_rate_is_read_from_the_mime_type():
    pcm = np.array([1000, -2000, 3000], dtype="<i2")
    audio, rate = decode_audio_chunk(pcm.tobytes() + b"\x01", "audio/L16; rate=44100; channels=1")
    assert rate == 44100
    np.testing.assert_allclose(audio, np.repeat((pcm / 32768.0)[:, None], 2, axis=1), atol=1e-7)


def test_a_missing_mime_type_means_48k_stereo():
    audio, rate = decode_audio_chunk(np.zeros(8, "<i2").tobytes(), None)
    assert rate == 48000 and audio.shape == (4, 2)


@pytest.mark.parametrize("mime", ["audio/mpeg", "audio/l16;rate=fast;channels=2", "audio/l16;rate=0"])
def test_unsupported_audio_is_a_lyria_error(mime):
    with pytest.raises(LyriaError):
        decode_audio_chunk(b"\x00\x00\x00\x00", mime)


def test_backoff_doubles_up_to_the_cap():
    policy = RetryPolicy(initial_backoff_s=0.5, max_backoff_s=4.0)
    assert [policy.backoff_s(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


@pytest.mark.parametrize("key", [None, ""])
def test_a_stream_without_a_key_is_an_auth_error(key):
    with pytest.raises(LyriaAuthError, match="no Gemini API key"):
        LyriaStream(key, [types.WeightedPrompt(text="x", weight=1.0)], types.LiveMusicGenerationConfig())


def test_a_stream_needs_a_prompt_with_weight():
    with pytest.raises(ValueError, match="non-zero weight"):
        LyriaStream("k", [types.WeightedPrompt(text="x", weight=0.0)], types.LiveMusicGenerationConfig())


def test_the_settle_period_is_at_least_two_bars():
    with pytest.raises(ValueError, match="settle_bars"):
        asyncio.run(capture_loop(GenerationRequest(prompt="x"), 1, api_key="k", settle_bars=1.5))
