"""``groovebox bench web``: the request plan and the summaries, and a short real run through the command line
(its own JACK server, the daemon, a load process and a WebSocket process). No timing thresholds."""

import asyncio
import json
import shutil
import subprocess
import sys

import pytest

from groovebox.bench_web import (
    READ_PATHS,
    SOAK_PADS,
    _read_answer,
    latency_summary,
    missed_targets,
    request_plan,
    transport_rates,
)


def test_the_plan_is_open_loop_at_the_rate_with_one_write_in_ten():
    plan = request_plan(seconds=3, rate_per_s=50, seed=1)
    assert len(plan) == 150
    assert [offset for offset, _ in plan] == pytest.approx([index / 50 for index in range(150)])
    writes = [request for _, request in plan if request.method != "GET"]
    assert len(writes) == 15
    assert sum(request.path == "/api/mixer" for request in writes) == 8        # mixer and pad route in turn
    for request in writes:
        if request.path == "/api/mixer":
            (pad,) = request.body["pads"]
            assert 0 <= pad["padIndex"] < SOAK_PADS and 0.4 <= pad["volume"] <= 0.7
        else:
            assert request.path.startswith("/api/pads/") and 0.4 <= request.body["volume"] <= 0.7
            assert 0 <= int(request.path.rsplit("/", 1)[1]) < SOAK_PADS
    reads = {request.path for _, request in plan if request.method == "GET"}
    assert reads == set(READ_PATHS)
    assert request_plan(3, 50, seed=1) == plan


def test_an_answer_is_read_to_the_end_of_its_body():
    async def read(data: bytes):
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        return await _read_answer(reader), await reader.read()

    kept = b"HTTP/1.1 200 OK\r\ncontent-length: 7\r\ncontent-type: application/json\r\n\r\n{\"a\":1}"
    assert asyncio.run(read(kept + b"HTTP/1.1 204")) == ((200, True), b"HTTP/1.1 204")
    closed = b"HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}"
    assert asyncio.run(read(closed)) == ((429, False), b"")
    with pytest.raises(asyncio.IncompleteReadError):
        asyncio.run(read(b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n{}"))


def test_latency_summary_reports_milliseconds_and_nothing_without_samples():
    summary = latency_summary([0.001 * n for n in range(1, 101)], "latency_ms")
    assert summary == {"latency_ms_p50": 50.5, "latency_ms_p95": 95.05, "latency_ms_p99": 99.01,
                       "latency_ms_max": 100.0}
    assert latency_summary([], "pad_ms", (50, 99)) == {"pad_ms_p50": None, "pad_ms_p99": None, "pad_ms_max": None}


def test_transport_rates_find_the_slowest_second_and_the_longest_gap():
    arrivals = [10.0 + n * 0.04 for n in range(25)] + [11.0 + n * 0.1 for n in range(10)]   # 25 Hz, then 10 Hz
    rates = transport_rates(arrivals + [9.5, 12.5], start_s=10.0, seconds=2.0)
    assert rates == {"transport_hz_min": 10, "transport_hz_mean": 17.5, "transport_gap_ms_max": 100.0}


def test_missed_targets_name_what_was_missed():
    good = {"underruns": 0, "jack_xruns": 0, "non_2xx": 0, "errors": {}, "transport_hz_min": 25,
            "pad_changes": 10, "pad_changes_missed": 0, "pad_ms_max": 30.0}
    assert missed_targets(good) == []
    bad = {**good, "underruns": 2, "transport_hz_min": 12, "pad_ms_max": 70.0, "errors": {"ReadTimeout": 1}}
    missed = missed_targets(bad)
    assert len(missed) == 4
    assert "2 underruns" in missed[0] and "1 failed" in missed[1] and "12 Hz" in missed[2] and "70.0 ms" in missed[3]


@pytest.mark.skipif(shutil.which("jackd") is None, reason="jackd is not installed (apt-get install jackd2)")
def test_bench_web_answers_the_load_and_streams_the_transport():
    result = subprocess.run([sys.executable, "-m", "groovebox", "bench", "web", "--seconds", "3", "--rate", "50",
                             "--library-loops", "2", "--json"], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(measured) == {
        "seconds", "rate_per_s", "block_frames", "ahead_blocks", "realtime", "library_loops", "underruns", "jack_xruns",
        "dsp_load_p999", "requests", "answered_2xx", "non_2xx", "errors", "status_counts", "achieved_rate_per_s",
        "latency_ms_p50", "latency_ms_p95", "latency_ms_p99", "latency_ms_max", "write_ms_p99", "write_ms_max",
        "send_lag_ms_p99", "transport_hz_min", "transport_hz_mean", "transport_gap_ms_max", "pad_changes",
        "pad_changes_missed", "pad_ms_p50", "pad_ms_p99", "pad_ms_max", "ws_errors", "missed_targets"}
    assert measured["requests"] == 150 and measured["answered_2xx"] == 150, measured
    assert measured["status_counts"] == {"200": 150} and measured["errors"] == {}
    assert measured["transport_hz_mean"] > 0 and measured["pad_changes"] > 0 and measured["ws_errors"] == 0
    assert measured["dsp_load_p999"] > 0                     # audio really ran with the pads playing
    assert 0 < measured["latency_ms_p50"] <= measured["latency_ms_max"]
