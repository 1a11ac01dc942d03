"""The application as a whole: health without a token, the OpenAPI document, and the error shape."""

from web_rig import WebRig


def test_health_reports_audio_and_version_without_a_token(tmp_path):
    with WebRig(tmp_path, loops=0) as rig:
        health = rig.anonymous.get("/api/health").json()
    assert health["status"] == "ok"
    assert health["audio_backend"] == "null" and health["sample_rate"] == 48000 and health["block_frames"] == 256
    assert health["underruns"] >= 0 and health["dsp_load"] >= 0 and health["uptime_s"] >= 0


def test_openapi_documents_the_routes_with_examples(tmp_path):
    with WebRig(tmp_path, loops=0) as rig:
        document = rig.anonymous.get("/openapi.json").json()
        assert rig.anonymous.get("/docs").status_code == 200
    assert {"/api/health", "/api/projects", "/api/loops", "/api/generate", "/api/pair"} <= set(document["paths"])
    generate = document["paths"]["/api/generate"]["post"]["requestBody"]["content"]["application/json"]
    assert generate.get("examples") or generate["schema"].get("examples")
    error = document["components"]["schemas"]["HTTPValidationError"]
    assert error["properties"]["detail"]["type"] == "string"


def test_malformed_json_is_a_422_sentence(tmp_path):
    with WebRig(tmp_path, loops=0) as rig:
        response = rig.client.patch("/api/transport", content=b"{not json",
                                    headers={"Content-Type": "application/json"})
    assert response.status_code == 422 and isinstance(response.json()["detail"], str)
