"""Lyria failures through the real google-genai client against the fake server: filtered prompts, refused keys,
drops and stalls (healed by reconnecting with the full state), nothing listening, and the key never leaking."""

import dataclasses
import logging
import socket

import pytest
from lyria_fixtures import (
    FAST_RETRY,
    FILTER_WORD,
    REVOKED_KEY,
    downbeat_error_frames,
    endpoint_for,
    fake_lyria_fixture,  # noqa: F401 (provides the fake_lyria fixture)
    received_messages,
    secret_key,
)

from groovebox.generate import lyria
from groovebox.generate.lyria import (
    LyriaAuthError,
    LyriaEndpoint,
    LyriaError,
    LyriaPromptFiltered,
    LyriaUnavailable,
    capture_loop_sync,
    generation_config,
)
from groovebox.generate.request import GenerationRequest, Scale

REQUEST = GenerationRequest(prompt="minimal techno", genre="house", bpm=92, scale=Scale.A_FLAT_MAJOR_F_MINOR,
                            bars=2, density=0.5)
SEED = 31337
LOOP_FRAMES = round(2 * 4 * 60 / 92 * 48000)


def capture(fake, key: str, request: GenerationRequest = REQUEST, retry=FAST_RETRY, endpoint=None):
    return capture_loop_sync(request, SEED, api_key=key, endpoint=endpoint or endpoint_for(fake), retry=retry)


def expected_session(request: GenerationRequest = REQUEST) -> list[dict]:
    from google.genai import _common

    config = _common.convert_to_dict(generation_config(request, SEED), convert_keys=True)
    prompts = [{"text": text, "weight": weight} for text, weight in request.weighted_prompts()]
    return [{"setup": {"model": "models/lyria-realtime-exp"}}, {"clientContent": {"weightedPrompts": prompts}},
            {"musicGenerationConfig": config}, {"playbackControl": "PLAY"}]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_filtered_prompt_names_the_prompt_and_the_reason(fake_lyria):
    key = secret_key("filtered")
    request = REQUEST.model_copy(update={"mood": f"{FILTER_WORD} chanting"})
    with pytest.raises(LyriaPromptFiltered) as caught:
        capture(fake_lyria, key, request)
    error = caught.value
    assert error.text == f"{FILTER_WORD} chanting"
    assert error.reason == "fake: this prompt is blocked by the safety filter"
    assert error.text in error.message and error.reason in error.message
    assert len(fake_lyria.connections(key)) == 1                               # not retried


@pytest.mark.parametrize("key", [REVOKED_KEY, "AIzaTEST-refused+reject=403"])
def test_a_refused_key_is_an_auth_error_at_once(fake_lyria, key):
    with pytest.raises(LyriaAuthError, match="the Gemini API key was refused") as caught:
        capture(fake_lyria, key)
    assert len(fake_lyria.connections(key)) == 1                               # no retries
    assert key not in str(caught.value) and key not in repr(caught.value)


def test_a_1007_close_is_not_retried(fake_lyria):
    key = secret_key("bad-request")
    request = REQUEST.model_copy(update={"prompt": "techno [fake bogus]"})      # the fake rejects the directive
    with pytest.raises(LyriaError, match="close code 1007") as caught:
        capture(fake_lyria, key, request)
    assert type(caught.value) is LyriaError
    assert len(fake_lyria.connections(key)) == 1


def test_nothing_listening_is_unavailable_after_the_bounded_retries(caplog):
    endpoint = LyriaEndpoint(base_url=f"https://127.0.0.1:{closed_port()}")
    with caplog.at_level(logging.WARNING, logger="groovebox.generate.lyria"), \
            pytest.raises(LyriaUnavailable) as caught:
        capture(None, secret_key("closed"), endpoint=endpoint)
    assert caught.value.attempts == FAST_RETRY.max_attempts
    assert "refused" in caught.value.message and "offline" in caught.value.message
    retries = [r for r in caplog.records if "reconnecting in" in r.getMessage()]
    assert len(retries) == FAST_RETRY.max_attempts - 1


def test_a_dropped_socket_reconnects_resends_everything_and_still_captures(fake_lyria):
    key = secret_key("drop", "drop=3x1")
    loop = capture(fake_lyria, key)
    first, second = fake_lyria.connections(key)
    assert fake_lyria.events("drop", first)[0]["after_chunks"] == 3
    assert received_messages(fake_lyria, first) == expected_session()
    assert received_messages(fake_lyria, second) == expected_session()        # prompts and the FULL config again
    assert loop.audio.shape == (LOOP_FRAMES, 2)
    assert abs(downbeat_error_frames(fake_lyria, second, loop.start_frame)) <= 0.005 * 48000


def test_a_stall_reconnects_and_still_captures(fake_lyria):
    key = secret_key("stall", "stall=2x1")
    loop = capture(fake_lyria, key, retry=dataclasses.replace(FAST_RETRY, stall_timeout_s=1.0))
    first, second = fake_lyria.connections(key)
    assert fake_lyria.events("stall", first)[0]["after_chunks"] == 2
    assert fake_lyria.wait_closed(first)["code"] != 1006                      # the client hung up, cleanly
    assert received_messages(fake_lyria, second) == expected_session()
    assert loop.audio.shape == (LOOP_FRAMES, 2)
    assert abs(downbeat_error_frames(fake_lyria, second, loop.start_frame)) <= 0.005 * 48000


def test_a_stream_that_keeps_dropping_gives_up(fake_lyria):
    key = secret_key("flaky", "drop=2")                                        # every connection drops
    with pytest.raises(LyriaUnavailable, match="kept dropping"):
        capture(fake_lyria, key)
    assert len(fake_lyria.connections(key)) == FAST_RETRY.max_attempts + 1


def test_the_key_never_reaches_an_exception_or_a_log_record(fake_lyria, caplog):
    keys = {"drop": secret_key("leak-drop", "drop=2x1"), "filter": secret_key("leak-filter"),
            "refused": secret_key("leak-refused", "reject=403"), "closed": secret_key("leak-closed")}
    errors = []
    with caplog.at_level(logging.DEBUG):                                       # every logger, every level
        capture(fake_lyria, keys["drop"])
        for name, request, endpoint in [
            ("filter", REQUEST.model_copy(update={"prompt": f"{FILTER_WORD} noise"}), None),
            ("refused", REQUEST, None),
            ("closed", REQUEST, LyriaEndpoint(base_url=f"https://127.0.0.1:{closed_port()}")),
        ]:
            with pytest.raises(LyriaError) as caught:
                capture(fake_lyria, keys[name], request, endpoint=endpoint)
            errors.append(caught.value)
    texts = [caplog.handler.format(record) for record in caplog.records]
    assert any("x-goog-api-key: [redacted]" in text for text in texts)        # websockets did try to log it
    for key in keys.values():
        secret = key.split("+")[0]
        assert not [text for text in texts if secret in text]
        for error in errors:
            assert secret not in f"{error} {error!r} {error.message} {error.args}"


def test_a_type_error_in_our_code_is_not_mistaken_for_the_sdks_legacy_retry(fake_lyria, monkeypatch):
    key = secret_key("type-error")

    def broken_decoder(data, mime_type):
        raise TypeError("a bug in the decoder")

    monkeypatch.setattr(lyria, "decode_audio_chunk", broken_decoder)
    # unguarded, the SDK's connect() would retry with the legacy ``extra_headers=`` keyword and fail with
    # "create_connection() got an unexpected keyword argument 'extra_headers'" instead of our error
    with pytest.raises(TypeError, match="a bug in the decoder"):
        capture(fake_lyria, key)
    assert len(fake_lyria.connections(key)) == 1
