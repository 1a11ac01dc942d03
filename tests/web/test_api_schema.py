"""Schemathesis against the OpenAPI document: generated requests to every route (paired, over a real engine
and library) never get a 5xx nor a response that breaks the documented schema."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from web_rig import WebRig

from groovebox.config import Settings


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    settings = Settings.model_validate({"web": {"requests_per_s": 10000}})      # no 429s: cover the routes
    with WebRig(tmp_path_factory.mktemp("schema"), settings=settings) as rig:
        rig.client.put("/api/pads/0", json={"loopId": rig.loops[0]})
        rig.client.post("/api/projects", json={"projectName": "stored"})
        yield rig


def _operations(rig):
    schema = schemathesis.openapi.from_asgi("/openapi.json", rig.app)
    return [result.ok() for result in schema.get_all_operations()]


def test_the_document_covers_the_api(rig):
    paths = {operation.path for operation in _operations(rig)}
    assert {"/api/projects", "/api/loops", "/api/pads/{pad_index}", "/api/transport", "/api/generate",
            "/api/jobs/{job_id}", "/api/undo", "/api/pair", "/api/loops/upload"} <= paths


# signing out would revoke the test's own token and turn every later answer into a 401
_SIGN_OUT = {("POST", "/api/logout"), ("DELETE", "/api/tokens/{token_id}")}


def test_no_server_errors_and_responses_match_the_schema(rig):
    headers = {"Authorization": f"Bearer {rig.token}"}
    failures, statuses = [], []
    for operation in _operations(rig):
        if (operation.method.upper(), operation.path) in _SIGN_OUT:
            continue

        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def call(case):
            response = case.call_and_validate(headers=headers, checks=[not_a_server_error,
                                                                       response_schema_conformance])
            statuses.append(response.status_code)

        try:
            call()
        except Exception as error:               # collect every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {str(error)[:600]}")
    assert not failures, "\n\n".join(failures)
    assert sum(status == 401 for status in statuses) < len(statuses) * 0.05     # the token really was used
    assert sum(200 <= status < 300 for status in statuses) > 50
