"""The online scene planners against local fake servers, through the real google-genai and openai clients."""

import json
import logging

import pytest
from fake_llm_servers import (  # noqa: F401  (fake_llm_fixture is a fixture)
    Reply,
    fake_llm_fixture,
    gemini_answer,
    gemini_candidate_blocked,
    gemini_error,
    gemini_prompt_blocked,
    layer,
    openai_answer,
    openai_error,
    refused_url,
    scene_json,
)
from pydantic import ValidationError

from groovebox.ambient.llm_planner import (
    PlannerError,
    plan_json_schema,
    plan_scene,
    plan_with_gemini,
    plan_with_openai,
    scene_from_answer,
)
from groovebox.ambient.scene import ElementKind, Scene, SceneLayer
from groovebox.config import AmbientSettings

TEXT = "rain in a neon-lit back alley at midnight"
GEMINI_KEY = "AIzaTEST-gemini-key-7f3a9c"
OPENAI_KEY = "sk-TEST-openai-key-41d2e8"
GOOD_LAYERS = (layer("rain", gain_db=-10.0, intensity=0.8), layer("neon", pan=0.6, distance=0.2),
               layer("footsteps_wet", pan=-0.4, gain_db=-18.0), layer("city", distance=0.9))
GOOD = scene_json(*GOOD_LAYERS)
FAST_TIMEOUT_S = 0.5


def offline(text: str) -> Scene:
    """The test's stand-in for the offline planner: a fixed, recognisable three-layer scene."""
    layers = [SceneLayer(kind=ElementKind.PINK_NOISE), SceneLayer(kind=ElementKind.WIND),
              SceneLayer(kind=ElementKind.DRONE)]
    return Scene(text=text, title="offline", layers=layers, planner="offline", notes=["from the stand-in"])


def settings_for(fake, **overrides) -> AmbientSettings:
    values = {"gemini_base_url": fake.url, "openai_base_url": f"{fake.url}/v1", "openai_model": "qwen-test",
              "timeout_s": 5.0} | overrides
    return AmbientSettings(**values)


def gemini_plan(fake, **overrides) -> Scene:
    return plan_scene(TEXT, settings=settings_for(fake, planner="gemini", **overrides),
                      gemini_api_key=GEMINI_KEY, fallback=offline)


def openai_plan(fake, api_key: str | None = OPENAI_KEY, **overrides) -> Scene:
    return plan_scene(TEXT, settings=settings_for(fake, planner="openai", **overrides),
                      openai_api_key=api_key, fallback=offline)


def assert_fell_back(scene: Scene, who: str, *words: str) -> str:
    assert scene.planner == "offline" and scene.title == "offline"
    assert scene.notes[-1] == "from the stand-in"
    note = scene.notes[0]
    assert note.startswith(who) and note.endswith("; used the offline planner"), note
    for word in words:
        assert word in note, note
    return note


def assert_matches_good(scene: Scene, planner: str) -> None:
    assert scene.planner == planner and scene.text == TEXT and scene.notes == []
    assert scene.title == "Rainy alley" and scene.narrative.startswith("Rain falls")
    assert [(item.kind.value, item.gain_db, item.pan, item.distance, item.intensity) for item in scene.layers] == \
        [(item["kind"], item["gain_db"], item["pan"], item["distance"], item["intensity"]) for item in GOOD_LAYERS]


# ---------------------------------------------------------------------------------------------- Gemini

def test_gemini_plan_comes_from_the_model_with_a_schema_constrained_request(fake_llm):
    fake_llm.answer_with(gemini_answer(GOOD))
    scene = plan_scene(TEXT, settings=settings_for(fake_llm, gemini_model="gemini-test-flash"),
                       gemini_api_key=GEMINI_KEY, fallback=offline, seed=11)
    assert_matches_good(scene, "gemini")
    [request] = fake_llm.requests
    assert request.path == "/v1beta/models/gemini-test-flash:generateContent"
    assert request.headers["x-goog-api-key"] == GEMINI_KEY
    assert request.body["contents"][0]["parts"][0]["text"] == TEXT
    assert "3 to 8 layers" in request.body["systemInstruction"]["parts"][0]["text"]
    config = request.body["generationConfig"]
    assert config["responseMimeType"] == "application/json" and config["seed"] == 11
    layers = config["responseSchema"]["properties"]["layers"]
    assert (layers["min_items"], layers["max_items"]) == (3, 8)      # the SDK writes Schema fields in snake_case
    assert config["responseSchema"]["property_ordering"] == ["title", "narrative", "layers"]
    kind = layers["items"]["properties"]["kind"]
    assert kind["type"] == "STRING" and kind["enum"] == [item.value for item in ElementKind]
    gain = layers["items"]["properties"]["gain_db"]
    assert (gain["minimum"], gain["maximum"]) == (-40, 6)


@pytest.mark.parametrize(("reply", "words"), [
    (gemini_answer('{"title": "Rainy alley", "layers": [{"kind": "rain"'), ["is not JSON"]),
    (gemini_answer("I cannot help with that."), ["is not JSON"]),
    (gemini_answer(scene_json(layer("rain"), layer("dragons"), layer("neon"))), ["(layer 2: unknown kind 'dragons')"]),
    (gemini_answer(scene_json(layer("rain"), layer("neon"))), ["2 layers (at least 3)"]),
    (gemini_answer(scene_json(*[layer("rain")] * 9)), ["9 layers (at most 8)"]),
    (gemini_answer(scene_json(layer("rain"), layer("neon"), layer("city", gain_db=12))),
     ["layer 3: gain_db 12 is above 6.0"]),
    (gemini_answer(GOOD[:-40], finish_reason="MAX_TOKENS"), ["stopped before the scene was complete"]),
    (gemini_error(500, "Internal error encountered.", "INTERNAL"), ["server error (HTTP 500)"]),
    (gemini_error(503, "The model is overloaded.", "UNAVAILABLE"), ["server error (HTTP 503)"]),
    (gemini_error(429, "Resource has been exhausted.", "RESOURCE_EXHAUSTED"), ["rate-limiting", "HTTP 429"]),
    (gemini_error(403, "Permission denied.", "PERMISSION_DENIED"), ["refused the API key (HTTP 403)"]),
    (gemini_error(404, "models/gemini-test is not found", "NOT_FOUND"), ["HTTP 404", "is not found"]),
    (gemini_prompt_blocked("SAFETY"), ["refused the scene (blocked: SAFETY)"]),
    (gemini_prompt_blocked("PROHIBITED_CONTENT"), ["refused the scene (blocked: PROHIBITED_CONTENT)"]),
    (gemini_candidate_blocked("SAFETY"), ["refused the scene (blocked: SAFETY)"]),
    (Reply(200, "<html>captive portal</html>"), ["HTTP body that is not JSON"]),
], ids=["cut-json", "prose", "unknown-kind", "two-layers", "nine-layers", "gain-range", "max-tokens", "500",
        "503", "429", "403", "404", "prompt-blocked", "prompt-prohibited", "candidate-blocked", "html-body"])
def test_gemini_failures_fall_back_with_a_note(fake_llm, reply, words):
    fake_llm.answer_with(reply)
    assert_fell_back(gemini_plan(fake_llm), "Gemini ", *words)
    assert len(fake_llm.requests) == 1                       # nothing is retried


def test_gemini_answer_with_many_wrong_fields_names_three_and_counts_the_rest(fake_llm):
    wrong = layer("rain", gain_db=30, pan=2, spread=-1, distance="far", reverb_send=5, intensity=None, drift="lots")
    fake_llm.answer_with(gemini_answer(scene_json(wrong, layer("neon"), layer("city"))))
    note = assert_fell_back(gemini_plan(fake_llm), "Gemini answered with something that is not a scene (")
    assert "layer 1: gain_db 30 is above 6.0; layer 1: pan 2 is above 1.0; layer 1: spread -1 is below 0.0" in note
    assert "; and 4 more problems)" in note


def test_gemini_slower_than_the_timeout_falls_back(fake_llm):
    fake_llm.answer_with(Reply(200, gemini_answer(GOOD).body, delay_s=30))
    scene = gemini_plan(fake_llm, timeout_s=FAST_TIMEOUT_S)
    assert_fell_back(scene, "Gemini did not answer within 0.5 s")


def test_gemini_unreachable_falls_back(fake_llm):
    scene = plan_scene(TEXT, settings=settings_for(fake_llm, planner="gemini", gemini_base_url=refused_url()),
                       gemini_api_key=GEMINI_KEY, fallback=offline)
    assert_fell_back(scene, "Gemini could not be reached (connection refused)")


def test_gemini_key_is_sent_but_never_shown_or_logged(fake_llm, caplog):
    caplog.set_level(logging.DEBUG)
    fake_llm.answer_with(gemini_error(400, f"API key not valid: {GEMINI_KEY}. Please pass a valid API key."),
                         gemini_answer(GOOD))
    failed = gemini_plan(fake_llm)
    planned = gemini_plan(fake_llm)
    assert [request.headers["x-goog-api-key"] for request in fake_llm.requests] == [GEMINI_KEY, GEMINI_KEY]
    assert "API key not valid: [redacted]" in failed.notes[0]
    assert planned.planner == "gemini"
    for shown in (failed.model_dump_json(), planned.model_dump_json()):
        assert GEMINI_KEY not in shown
    assert caplog.records, "the planners and the HTTP stack log at DEBUG, so this test sees their records"
    for record in caplog.records:
        assert GEMINI_KEY not in record.getMessage(), record.name


# ------------------------------------------------------------------------------- OpenAI-compatible chat

def test_openai_plan_comes_from_the_chat_model_asked_for_json(fake_llm):
    fake_llm.answer_with(openai_answer(GOOD))
    scene = plan_scene(TEXT, settings=settings_for(fake_llm), openai_api_key=OPENAI_KEY, fallback=offline, seed=5)
    assert_matches_good(scene, "openai")
    [request] = fake_llm.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert request.body["model"] == "qwen-test" and request.body["seed"] == 5
    assert request.body["response_format"] == {"type": "json_object"}
    system, user = request.body["messages"]
    assert (system["role"], user["role"], user["content"]) == ("system", "user", TEXT)
    schema = json.loads(system["content"].split("JSON Schema: ", 1)[1])
    assert schema == plan_json_schema()


@pytest.mark.parametrize("content", [
    f"```json\n{GOOD}\n```",
    f"Here is your scene:\n{GOOD}\nEnjoy!",
    f"<think>The user wants {{rain}} and a sign: {{\"kind\": \"x\"}}.</think>\n{GOOD}",
    GOOD.replace('"neon"', '"Neon"').replace('"footsteps_wet"', '"footsteps wet"'),
], ids=["fenced", "prose-around", "think-block", "kind-spelling"])
def test_openai_answers_are_read_robustly(fake_llm, content):
    fake_llm.answer_with(openai_answer(content))
    assert_matches_good(openai_plan(fake_llm), "openai")


def test_openai_server_rejecting_response_format_is_asked_again_without_it(fake_llm):
    fake_llm.answer_with(openai_error(400, "'response_format.type' must be 'json_schema' or 'text'"),
                         openai_answer(GOOD))
    assert_matches_good(openai_plan(fake_llm), "openai")
    first, second = fake_llm.requests
    assert "response_format" in first.body and "response_format" not in second.body


@pytest.mark.parametrize(("reply", "words"), [
    (openai_answer('{"title": "x", "layers": [{"kind": "rain"}, {"kind": "neon"'), ["is not JSON"]),
    (openai_answer(scene_json(layer("rain"), layer("dragons"), layer("neon"))), ["(layer 2: unknown kind 'dragons')"]),
    (openai_answer(scene_json(layer("rain"), layer("neon"), layer("city", mood="calm"))),
     ["layer 3: unexpected field 'mood'"]),
    (openai_answer(json.dumps([layer("rain"), layer("neon"), layer("city")])), ["a JSON list, not a scene"]),
    (openai_answer(None, refusal="I can't help with that request."), ["refused the scene (I can't help"]),
    (openai_answer(None, finish_reason="content_filter"), ["refused the scene (content filter)"]),
    (openai_answer(GOOD[:-30], finish_reason="length"), ["stopped before the scene was complete"]),
    (openai_answer(""), ["answered with no text"]),
    (openai_error(500, "model crashed"), ["server error (HTTP 500)"]),
    (openai_error(429, "Rate limit reached"), ["rate-limiting", "HTTP 429"]),
    (openai_error(401, "Incorrect API key provided"), ["refused the API key (HTTP 401)"]),
    (openai_error(404, "model 'qwen-test' not found, try pulling it first"), ["HTTP 404", "not found"]),
    (Reply(200, "<html>router login</html>"), ["HTTP body that is not JSON"]),
    (Reply(200, {"object": "list", "data": []}), ["answered with no choices"]),
], ids=["cut-json", "unknown-kind", "extra-field", "array", "refusal", "content-filter", "length", "empty",
        "500", "429", "401", "404", "html-body", "not-a-completion"])
def test_openai_failures_fall_back_with_a_note(fake_llm, reply, words):
    fake_llm.answer_with(reply)
    assert_fell_back(openai_plan(fake_llm), f"the chat server at 127.0.0.1:{fake_llm.url.rsplit(':', 1)[1]} ",
                     *words)
    assert len(fake_llm.requests) == 1


@pytest.mark.parametrize("reply", [Reply(200, openai_answer(GOOD).body, delay_s=30),
                                   Reply(200, openai_answer(GOOD).body, trickle_s=0.1)],
                         ids=["silent", "trickling"])
def test_openai_slower_than_the_timeout_falls_back(fake_llm, reply):
    # a trickling server never trips the client's per-read timeout: only the overall deadline ends it
    fake_llm.answer_with(reply)
    assert_fell_back(openai_plan(fake_llm, timeout_s=FAST_TIMEOUT_S), "the chat server", "did not answer within 0.5 s")


def test_openai_unreachable_falls_back(fake_llm):
    scene = openai_plan(fake_llm, openai_base_url=f"{refused_url()}/v1")
    assert_fell_back(scene, "the chat server at 127.0.0.1:", "could not be reached (connection refused)")


def test_openai_key_is_sent_but_never_shown_or_logged(fake_llm, caplog):
    caplog.set_level(logging.DEBUG)
    fake_llm.answer_with(openai_error(400, f"Invalid key {OPENAI_KEY}"), openai_answer(GOOD))
    failed, planned = openai_plan(fake_llm), openai_plan(fake_llm)
    assert [request.headers["authorization"] for request in fake_llm.requests] == [f"Bearer {OPENAI_KEY}"] * 2
    assert "Invalid key [redacted]" in failed.notes[0] and planned.planner == "openai"
    assert OPENAI_KEY not in failed.model_dump_json() + planned.model_dump_json()
    assert caplog.records
    for record in caplog.records:
        assert OPENAI_KEY not in record.getMessage(), record.name


def test_openai_key_comes_from_the_configured_environment_variable(fake_llm):
    fake_llm.answer_with(openai_answer(GOOD))
    scene = plan_scene(TEXT, settings=settings_for(fake_llm, planner="openai", openai_api_key_env="LOCAL_LLM_KEY"),
                       environ={"LOCAL_LLM_KEY": OPENAI_KEY, "OPENAI_API_KEY": "sk-wrong"}, fallback=offline)
    assert scene.planner == "openai"
    assert fake_llm.requests[0].headers["authorization"] == f"Bearer {OPENAI_KEY}"


def test_openai_without_a_key_still_plans(fake_llm):
    fake_llm.answer_with(openai_answer(GOOD))
    scene = plan_scene(TEXT, settings=settings_for(fake_llm, planner="openai"), environ={}, fallback=offline)
    assert scene.planner == "openai"
    assert fake_llm.requests[0].headers["authorization"] == "Bearer no-key"


# ------------------------------------------------------------------------------------------ selection

def test_auto_prefers_gemini_when_a_key_is_configured(fake_llm):
    fake_llm.answer_with(gemini_answer(GOOD))
    scene = plan_scene(TEXT, settings=settings_for(fake_llm), gemini_api_key=GEMINI_KEY, environ={},
                       fallback=offline)
    assert scene.planner == "gemini"
    assert [request.path.rsplit(":", 1)[-1] for request in fake_llm.requests] == ["generateContent"]


def test_auto_tries_the_chat_server_after_gemini_fails(fake_llm):
    fake_llm.answer_with(gemini_error(503, "overloaded", "UNAVAILABLE"), openai_answer(GOOD))
    scene = plan_scene(TEXT, settings=settings_for(fake_llm), gemini_api_key=GEMINI_KEY, environ={},
                       fallback=offline)
    assert scene.planner == "openai" and scene.layers[0].kind == ElementKind.RAIN
    port = fake_llm.url.rsplit(":", 1)[1]
    assert scene.notes == [f"Gemini had a server error (HTTP 503); used the chat server at 127.0.0.1:{port}"]


def test_auto_without_gemini_key_uses_the_chat_server(fake_llm):
    fake_llm.answer_with(openai_answer(GOOD))
    scene = plan_scene(TEXT, settings=settings_for(fake_llm), environ={}, fallback=offline)
    assert scene.planner == "openai" and fake_llm.requests[0].path == "/v1/chat/completions"


def test_auto_with_nothing_configured_is_offline_without_notes(fake_llm):
    scene = plan_scene(TEXT, settings=AmbientSettings(), environ={"OPENAI_API_KEY": OPENAI_KEY}, fallback=offline)
    assert scene.planner == "offline" and scene.notes == ["from the stand-in"]
    assert fake_llm.requests == []


def test_offline_setting_asks_no_server_even_with_keys(fake_llm):
    scene = plan_scene(TEXT, settings=settings_for(fake_llm, planner="offline"), gemini_api_key=GEMINI_KEY,
                       openai_api_key=OPENAI_KEY, fallback=offline)
    assert scene.planner == "offline" and scene.notes == ["from the stand-in"]
    assert fake_llm.requests == []


@pytest.mark.parametrize(("overrides", "words"), [
    ({"planner": "gemini"}, "the planner is set to gemini but no Gemini API key is configured"),
    ({"planner": "openai", "openai_base_url": ""}, "not configured (openai_base_url is empty)"),
    ({"planner": "auto", "openai_model": ""}, "not configured (openai_model is empty)"),
])
def test_a_planner_chosen_but_not_configured_is_a_note(fake_llm, overrides, words):
    scene = plan_scene(TEXT, settings=settings_for(fake_llm, **overrides), environ={}, fallback=offline)
    assert_fell_back(scene, "", words)
    assert fake_llm.requests == []


def test_scene_text_is_checked_before_any_request(fake_llm):
    for text in ("", "   \n ", "x" * 501):
        with pytest.raises(ValueError):
            plan_scene(text, settings=settings_for(fake_llm), gemini_api_key=GEMINI_KEY, fallback=offline)
    assert fake_llm.requests == []


# ----------------------------------------------------------------------------- answers and settings

def test_over_long_text_is_cut_with_a_note_and_numbers_are_never_clamped():
    long_narrative = "The rain keeps falling on the tin roofs of the alley. " * 30
    answer = scene_json(layer("rain", description="drops " * 60), layer("neon"), layer("city"),
                        narrative=long_narrative)
    scene = scene_from_answer(TEXT, answer, planner="openai")
    assert len(scene.narrative) <= 1000 and scene.narrative.endswith("…")
    assert len(scene.layers[0].description) <= 200
    assert scene.notes == ["the narrative was shortened to 1000 characters",
                           "the layer 1 description was shortened to 200 characters"]
    with pytest.raises(PlannerError, match="pan -1.01 is below -1.0"):
        scene_from_answer(TEXT, scene_json(layer("rain", pan=-1.01), layer("neon"), layer("city")),
                          planner="openai")


def test_missing_mix_values_take_the_layer_defaults():
    answer = json.dumps({"layers": [{"kind": "rain"}, {"kind": "wind", "gain_db": -20}, {"kind": "owl"}]})
    scene = scene_from_answer(TEXT, answer, planner="openai")
    assert scene.layers[0] == SceneLayer(kind=ElementKind.RAIN)
    assert scene.layers[1].gain_db == -20 and scene.title == ""


def test_schema_bounds_follow_the_scene_layer_model():
    layer_schema = plan_json_schema()["properties"]["layers"]["items"]
    assert set(layer_schema["properties"]) == set(SceneLayer.model_fields)
    assert layer_schema["required"] == list(SceneLayer.model_fields)
    for name, spec in layer_schema["properties"].items():
        assert spec["description"]
        if name not in ("kind", "description"):
            metadata = SceneLayer.model_fields[name].metadata
            low = next(item.ge for item in metadata if hasattr(item, "ge"))
            high = next(item.le for item in metadata if hasattr(item, "le"))
            assert (spec["minimum"], spec["maximum"]) == (low, high)


def test_settings_are_frozen_and_reject_unknown_or_bad_fields():
    settings = AmbientSettings()
    assert (settings.planner, settings.timeout_s, settings.openai_api_key_env) == ("auto", 20.0, "OPENAI_API_KEY")
    with pytest.raises(ValidationError):
        AmbientSettings(planer="gemini")
    with pytest.raises(ValidationError):
        AmbientSettings(openai_base_url="localhost:8080")
    with pytest.raises(ValidationError):
        AmbientSettings(timeout_s=0)
    with pytest.raises(ValidationError):
        settings.planner = "offline"


def test_direct_planner_calls_raise_planner_error(fake_llm):
    fake_llm.answer_with(gemini_error(500, "boom"))
    with pytest.raises(PlannerError, match="server error"):
        plan_with_gemini(TEXT, api_key=GEMINI_KEY, base_url=fake_llm.url, timeout_s=5)
    with pytest.raises(PlannerError, match="server error"):
        plan_with_openai(TEXT, base_url=f"{fake_llm.url}/v1", model="m", timeout_s=5)
