"""journald level prefixes, and ``groovebox status``."""

import logging
import os

from groovebox.appliance.journal import JournalFormatter, use_journal_levels
from groovebox.appliance.status import status_text
from groovebox.cli import main


def test_levels_become_syslog_priorities():
    formatter = JournalFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    lines = [formatter.format(logging.LogRecord("groovebox", level, __file__, 1, "m", None, None))
             for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL)]
    assert lines == ["<7>DEBUG groovebox: m", "<6>INFO groovebox: m", "<4>WARNING groovebox: m",
                     "<3>ERROR groovebox: m", "<2>CRITICAL groovebox: m"]


def test_prefixes_only_when_stderr_is_the_journal_stream(tmp_path):
    with open(tmp_path / "stream", "w") as stream:
        handler = logging.StreamHandler(stream)
        root = logging.getLogger()
        root.addHandler(handler)
        try:
            assert use_journal_levels({}, stream) is False
            assert use_journal_levels({"JOURNAL_STREAM": "1:2"}, stream) is False
            assert handler.formatter is None
            stat = os.fstat(stream.fileno())
            assert use_journal_levels({"JOURNAL_STREAM": f"{stat.st_dev}:{stat.st_ino}"}, stream) is True
            assert isinstance(handler.formatter, JournalFormatter)
        finally:
            root.removeHandler(handler)


def test_status_text_summarises_the_health_document():
    text = status_text({"version": "0.1", "status": "ok", "uptime_s": 12.4, "project": "Set", "tempo_bpm": 124.0,
                        "pads_playing": 3, "audio_backend": "jack", "sample_rate": 48000, "block_frames": 256,
                        "dsp_load": 0.123, "underruns": 2, "warnings": ["no MIDI"],
                        "live_pad": {"state": "off", "error": "no usable Gemini API key"}})
    assert text.splitlines() == [
        "groovebox 0.1: ok, up 12 s",
        "project   Set at 124 BPM, 3 pads playing",
        "audio     jack, 48000 Hz, 256 frames, DSP 12.3 %, underruns 2",
        "live pad  off (no usable Gemini API key)",
        "warning   no MIDI"]


def test_status_shows_the_save_lock_either_way():
    base = {"version": "0.1", "status": "ok", "warnings": []}
    assert "save-lock ON (gig mode): stored projects and the loop library are read-only" in \
        status_text({**base, "save_lock": True}).splitlines()
    assert "save-lock off" in status_text({**base, "save_lock": False}).splitlines()
    assert not any("save-lock" in line for line in status_text(base).splitlines())   # an older daemon


def test_status_without_a_daemon_says_so(capsys, tmp_path):
    assert main(["status", "--url", "http://127.0.0.1:9"]) == 2
    assert "no daemon answers at http://127.0.0.1:9" in capsys.readouterr().err
