"""The fake Lyria server (hw-mocks/fake_lyria.py) for tests: a TLS subprocess the real google-genai client
talks to, plus helpers that read the truth back from its log.

Import the fixture into a test module (``from lyria_fixtures import fake_lyria_fixture``; tests ask for
``fake_lyria``). It starts
one server per module and points this process's TLS trust at its self-signed certificate (``SSL_CERT_FILE``)
while the module runs. Every test uses its own key (``secret_key``), because the fake counts connections
per key and takes per-test behaviour from ``+`` directives in the key (``secret_key("x", "drop=2x1")``).
"""

import importlib.util
import sys
import uuid
from pathlib import Path

import pytest

from groovebox.generate.lyria import LyriaEndpoint, RetryPolicy

HW_MOCKS = Path(__file__).resolve().parents[2] / "hw-mocks"
FILTER_WORD = "forbidden"
REVOKED_KEY = "AIza-revoked-key-0000"
SAMPLE_RATE = 48000
# small backoffs keep failure tests fast; the stall timeout stays generous unless a test is about stalls
FAST_RETRY = RetryPolicy(initial_backoff_s=0.01, max_backoff_s=0.05, max_attempts=4, stall_timeout_s=10.0)


def load_fake_lyria_module():
    """hw-mocks/fake_lyria.py as a module (its FakeLyriaProcess, key_id, ...)."""
    if "fake_lyria" not in sys.modules:
        spec = importlib.util.spec_from_file_location("fake_lyria", HW_MOCKS / "fake_lyria.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["fake_lyria"] = module
        spec.loader.exec_module(module)
    return sys.modules["fake_lyria"]


@pytest.fixture(scope="module", name="fake_lyria")
def fake_lyria_fixture():
    """A running fake (TLS, burst pacing) that filters prompts containing "forbidden" and refuses REVOKED_KEY."""
    process = load_fake_lyria_module().FakeLyriaProcess(
        "--filter-word", FILTER_WORD, "--bad-key", REVOKED_KEY, "--seed", "5")
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("SSL_CERT_FILE", process.ready["cert"])
            yield process
    finally:
        process.stop()


def endpoint_for(fake, **kwargs) -> LyriaEndpoint:
    return LyriaEndpoint(base_url=fake.ready["url"], **kwargs)


def secret_key(label: str, *directives: str) -> str:
    """A unique, secret-looking key; ``directives`` ("drop=2x1", ...) tell the fake how to behave for it."""
    return "+".join([f"AIzaTEST-{label}-{uuid.uuid4().hex}", *directives])


def received_messages(fake, connection: int) -> list[dict]:
    """Every client message the fake received on ``connection``, parsed, in order."""
    return [event["message"] for event in fake.events("received", connection)]


def downbeat_error_frames(fake, connection: int, frame: float, sample_rate: int = SAMPLE_RATE) -> float:
    """Signed distance (at ``sample_rate``) from ``frame`` of ``connection``'s stream to the nearest true
    downbeat of its first segment, as the fake reported it (at the fake's own rate)."""
    segment = fake.events("segment", connection)[0]
    scale = sample_rate / segment["sample_rate"]
    downbeat, bar = segment["downbeat_frame"] * scale, segment["bar_frames"] * scale
    bars = round((frame - downbeat) / bar)
    return frame - (downbeat + bars * bar)
