"""MIDI clock in: the daemon follows a clock master's tempo (100, then 133 BPM) and shows it in health."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from groovebox.sync.clock_in import tempo_from_clock_times

pytestmark = pytest.mark.jack

CLOCK_SOURCE = str(Path(__file__).resolve().parents[2] / "hw-mocks" / "midi_clock_source.py")


def test_tempo_fit_ignores_jitter():
    times = [i * 60 / (24 * 133) + (0.0008 if i % 3 else -0.0005) for i in range(48)]
    assert tempo_from_clock_times(times) == pytest.approx(133, abs=0.3)


def test_follows_100_then_133_bpm_within_two_bars(daemon_factory, tmp_path):
    daemon, stop = daemon_factory(tmp_path, {"clock_source": "Clock Source"})
    source = subprocess.Popen([sys.executable, CLOCK_SOURCE, "--bpm", "100", "--seconds", "5.5",
                               "--then-bpm", "133", "--then-seconds", "4.5"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert source.stdout.readline().strip() == "ready"
        started = time.monotonic()
        time.sleep(1.0 + 2 * 4 * 60 / 100 + 0.3)           # start delay + two bars at 100 BPM
        assert daemon.session.tempo_bpm == pytest.approx(100, abs=0.5)
        assert daemon.session.health()["clock_source"].startswith("midi:")
        time.sleep(max(0.0, started + 1.0 + 5.5 - time.monotonic()) + 2 * 4 * 60 / 133 + 0.3)
        assert daemon.session.tempo_bpm == pytest.approx(133, abs=0.5)
    finally:
        stop()
        source.stdin.close()
        source.wait(10)
