"""A real daemon process killed with SIGKILL restarts with its pads and BPM; after three crashes within
60 s the fourth start is blank and says why (log, /api/health warnings, the OLED's first page)."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import soundfile

from groovebox.appliance.bootguard import BOOT_FILE

SCRIPT = textwrap.dedent('''
    """Runs a daemon (null audio, no web, no MIDI, a dummy OLED). edit: make edits, wait until they are
    autosaved, report; report: report what was restored. Then wait to be killed, or stop cleanly (stop)."""
    import asyncio, json, sys
    from pathlib import Path

    from groovebox.app import Daemon, DaemonOptions
    from groovebox.config import Settings
    from groovebox.control.editor import AssignPad, SetBpm, SetPadVolume

    async def main(daemon, mode, out):
        stop = asyncio.Event()
        serving = asyncio.create_task(daemon.serve(stop))
        while daemon.front_panel.panel is None:
            await asyncio.sleep(0.01)
        if mode == "edit":
            for edit in (SetBpm(97.0), AssignPad(0, loop_id="kick"), SetPadVolume(0, 0.4)):
                daemon.editor.apply(edit)
            session = daemon.data_dir / "session.json"
            while '"bpm": 97.0' not in (session.read_text() if session.exists() else ""):
                await asyncio.sleep(0.02)
        report = {"bpm": daemon.editor.project.bpm, "tempo": daemon.session.tempo_bpm,
                  "pads": [[p.pad_index, p.loop_id, p.volume] for p in daemon.editor.project.pads],
                  "warnings": daemon.session.info.warnings, "page": repr(daemon.front_panel.panel.view())}
        out.with_suffix(".tmp").write_text(json.dumps(report))
        out.with_suffix(".tmp").replace(out)         # the test sees the whole report or none
        if mode.endswith("stop"):
            stop.set()
        await serving

    if __name__ == "__main__":       # the daemon's worker processes are spawned: they import this file again
        data_dir, mode, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
        settings = Settings.model_validate({"audio": {"backend": "null"}, "midi": {"enabled": False},
                                            "display": {"driver": "dummy"}})
        asyncio.run(main(Daemon(settings, DaemonOptions(data_dir=data_dir, serve_web=False)), mode, out))
''')


def start(script, data_dir, mode, out):
    return subprocess.Popen([sys.executable, str(script), str(data_dir), mode, str(out)], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def run_until_reported(script, data_dir, mode, out, kill=True):
    out.unlink(missing_ok=True)
    process = start(script, data_dir, mode, out)
    try:
        deadline = time.monotonic() + 90            # a start-up deadline only (a loaded machine is slow)
        while not out.exists():
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "the daemon did not report"
            time.sleep(0.02)
        report = json.loads(out.read_text())
        if kill:
            os.killpg(process.pid, signal.SIGKILL)   # the whole group, as systemd kills a service
            process.wait(10)
        else:
            _, stderr = process.communicate(timeout=30)
            assert process.returncode == 0, stderr.decode()
            report["stderr"] = stderr.decode()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
    return report


def test_sigkill_restores_pads_and_bpm_and_the_fourth_start_after_three_crashes_is_blank(tmp_path):
    data_dir = tmp_path / "data"
    (data_dir / "library").mkdir(parents=True)
    soundfile.write(data_dir / "library" / "kick.flac", np.full((24000, 2), 0.25, np.float32), 48000)
    script = tmp_path / "crashing_daemon.py"
    script.write_text(SCRIPT)
    out = tmp_path / "report.json"

    edited = run_until_reported(script, data_dir, "edit", out)                  # crash 1
    assert edited["bpm"] == 97.0 and edited["pads"] == [[0, "kick", 0.4]]
    for _ in range(2):                                                           # crashes 2 and 3
        restored = run_until_reported(script, data_dir, "report", out)
        assert restored["bpm"] == 97.0 and restored["tempo"] == 97.0
        assert restored["pads"] == [[0, "kick", 0.4]]
        assert restored["warnings"] == [] and "HomeView" in restored["page"]

    blank = run_until_reported(script, data_dir, "report-stop", out, kill=False)   # start 4
    reason = "3 crashes within 60 s: started with an empty session"
    assert blank["bpm"] == 120.0 and blank["pads"] == []
    assert any(w.startswith(reason) for w in blank["warnings"])
    assert "ErrorView(title='Started blank'" in blank["page"] and reason in blank["page"]
    assert reason in blank["stderr"]
    assert len(list(data_dir.glob("session.json.blank-*"))) == 1
    assert json.loads((data_dir / BOOT_FILE).read_text())["runningSince"] is None     # stopped cleanly

    after = run_until_reported(script, data_dir, "report-stop", out, kill=False)   # a clean stop reset the count
    assert after["warnings"] == [] and "HomeView" in after["page"]
