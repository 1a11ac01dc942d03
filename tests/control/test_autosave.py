"""Autosave of the live session: debounce, restore at start-up, corrupt files kept aside, and a real daemon
killed with SIGKILL in the middle of a burst of edits."""

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import soundfile

from groovebox.app import Daemon, DaemonOptions
from groovebox.config import Settings
from groovebox.control.autosave import (
    SESSION_FILE,
    Autosaver,
    SessionDocument,
    read_session,
    restore_session,
    session_bytes,
)
from groovebox.control.editor import Editor, SetBpm
from groovebox.control.projects import ProjectStore
from groovebox.engine import Engine
from groovebox.project.model import Pad, Project

SR = 48000


class FakeClock:
    def __init__(self):
        self.now_s = 0.0

    def __call__(self):
        return self.now_s


def make_editor(project=None, **kwargs):
    return Editor(project or Project(), Engine(pads=16).post, pad_count=16, **kwargs)


def saved_project(path):
    return SessionDocument.model_validate_json(path.read_bytes()).project


def write_loop(data_dir, loop_id, frames=SR // 2):
    (data_dir / "library").mkdir(parents=True, exist_ok=True)
    soundfile.write(data_dir / "library" / f"{loop_id}.flac", np.full((frames, 2), 0.25, np.float32), SR,
                    subtype="PCM_24")


def test_writes_are_debounced_and_bounded_during_a_burst(tmp_path):
    clock = FakeClock()
    editor = make_editor()
    autosaver = Autosaver(editor, tmp_path / SESSION_FILE, debounce_s=0.5, max_delay_s=1.5, clock=clock)
    assert autosaver.due_at() is None
    editor.apply(SetBpm(100.0))
    assert autosaver.due_at() == 0.5
    clock.now_s = 0.3
    editor.apply(SetBpm(101.0))
    assert autosaver.due_at() == 0.8                     # the debounce restarts ...
    for step in range(1, 8):
        clock.now_s = 0.3 + 0.2 * step
        editor.apply(SetBpm(101.0 + step))
    assert autosaver.due_at() == 1.5                     # ... but never later than 1.5 s after the first change


def test_the_session_is_written_at_start_after_changes_and_on_stop(tmp_path):
    path = tmp_path / SESSION_FILE
    editor = make_editor()

    async def scenario(debounce_s):
        autosaver = Autosaver(editor, path, debounce_s=debounce_s, max_delay_s=debounce_s)
        stop = asyncio.Event()
        task = asyncio.create_task(autosaver.run(stop))
        return autosaver, stop, task

    async def slow_autosave():
        autosaver, stop, task = await scenario(60.0)
        await wait_for(lambda: autosaver.writes == 1)        # (the file appears just before the count moves)
        assert saved_project(path) == editor.project
        editor.apply(SetBpm(90.0))
        await asyncio.sleep(0.05)
        assert saved_project(path).bpm == 120.0          # not due for a minute ...
        stop.set()
        await task
        assert saved_project(path).bpm == 90.0 and autosaver.writes == 2    # ... but written on the way out

    async def quick_autosave():
        _, stop, task = await scenario(0.05)
        editor.apply(SetBpm(95.0))
        await wait_for(lambda: saved_project(path).bpm == 95.0)
        stop.set()
        await task

    asyncio.run(slow_autosave())
    asyncio.run(quick_autosave())
    assert [p.name for p in tmp_path.iterdir()] == [SESSION_FILE]        # no temporary files left


async def wait_for(condition, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met"
        await asyncio.sleep(0.01)


def test_restore_finds_the_project_its_origin_and_whether_it_was_saved(tmp_path):
    store = ProjectStore(tmp_path)
    editor = make_editor()
    editor.apply(SetBpm(133.0))
    editor.mark_saved(store.save_as(editor.project, "Stored"))
    (tmp_path / SESSION_FILE).write_bytes(session_bytes(editor))
    restored = restore_session(tmp_path, store)
    assert restored.project == editor.project and restored.origin.stored_id == editor.project.project_id
    assert make_editor(restored.project, origin=restored.origin, saved=restored.saved).dirty is False

    editor.apply(SetBpm(134.0))                           # unsaved change
    (tmp_path / SESSION_FILE).write_bytes(session_bytes(editor))
    restored = restore_session(tmp_path, store)
    assert make_editor(restored.project, origin=restored.origin, saved=restored.saved).dirty is True


@pytest.mark.parametrize("content", [b'{"format": "groovebox-session", "vers', b"", b'{"format": "other"}'])
def test_a_corrupt_session_is_kept_aside_with_a_warning(tmp_path, caplog, content):
    path = tmp_path / SESSION_FILE
    path.write_bytes(content)
    stale = tmp_path / f".{SESSION_FILE}.x1.tmp"
    stale.write_text("{")
    with caplog.at_level(logging.WARNING):
        assert read_session(path) is None
    aside = [p for p in tmp_path.iterdir() if p.name.startswith(f"{SESSION_FILE}.corrupt-")]
    assert len(aside) == 1 and aside[0].read_bytes() == content
    assert not path.exists() and not stale.exists()
    assert "corrupt" in caplog.text and aside[0].name in caplog.text


def daemon_settings():
    return Settings.model_validate({"audio": {"backend": "null"}, "midi": {"enabled": False}})


def test_the_daemon_restores_the_session_and_an_explicit_project_wins(tmp_path):
    data_dir = tmp_path / "data"
    write_loop(data_dir, "kick")
    project = Project(project_name="Restored", bpm=97.0,
                      pads=[Pad(pad_index=0, loop_id="kick", volume=0.4), Pad(pad_index=1, loop_id="deleted")])
    editor = make_editor(project, library_dir=data_dir / "library")
    (data_dir / SESSION_FILE).write_bytes(session_bytes(editor))

    daemon = Daemon(daemon_settings(), DaemonOptions(data_dir=data_dir, serve_web=False))
    assert daemon.editor.project == project and daemon.project == project
    assert daemon.editor.warnings == [f"pad 1: loop 'deleted' is not in the library ({data_dir / 'library'})"]
    daemon.engine.render(np.zeros((256, 2), np.float32), 256)
    assert daemon.engine.clock.tempo_bpm == 97.0
    assert daemon.engine.pads[0].audio is not None and daemon.engine.pads[0].volume == 0.4
    assert daemon.engine.pads[1].audio is None

    explicit = tmp_path / "explicit.json"
    explicit.write_text(Project(project_name="Explicit", bpm=150.0).to_json())
    daemon = Daemon(daemon_settings(), DaemonOptions(project_file=explicit, data_dir=data_dir, serve_web=False))
    assert daemon.editor.project.project_name == "Explicit" and daemon.editor.origin.project_file == explicit


def test_the_daemon_starts_empty_when_the_session_is_corrupt(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / SESSION_FILE).write_text('{"project": {"bpm": 12')
    daemon = Daemon(daemon_settings(), DaemonOptions(data_dir=data_dir, serve_web=False))
    assert daemon.editor.project.pads == [] and daemon.editor.project.bpm == 120.0
    assert len(list(data_dir.glob(f"{SESSION_FILE}.corrupt-*"))) == 1


# ---------------------------------------------------------------------------------------------- SIGKILL

BURST_SCRIPT = textwrap.dedent('''
    """A real daemon (null audio, no web, no MIDI) that applies a timestamped burst of edits, or reports the
    project it restored."""
    import asyncio, json, sys, time
    from pathlib import Path

    from groovebox.app import Daemon, DaemonOptions
    from groovebox.config import Settings
    from groovebox.control.editor import AddTrack, AssignPad, ClearPad, SetBpm, SetPadPan, SetPadVolume

    def edit(step):
        kind = step % 5
        if kind == 0:
            return SetBpm(60.0 + (step % 300) * 0.5)
        if kind == 1:
            return SetPadVolume(0, (step % 101) / 100)
        if kind == 2:
            return AssignPad(1, loop_id="kick") if step % 10 == 2 else ClearPad(1)
        if kind == 3:
            return SetPadPan(0, ((step % 21) - 10) / 10)
        return AddTrack(f"track {step}", track_id=f"t{step}")

    async def main(daemon, mode, out):
        stop = asyncio.Event()
        serving = asyncio.create_task(daemon.serve(stop))
        while daemon.session is None:
            await asyncio.sleep(0.01)
        if mode == "report":
            out.write_text(daemon.editor.project.to_json())
            stop.set()
            await serving
            return
        with out.open("a") as log:
            step = 0
            while True:
                if step % 7 == 6:
                    daemon.editor.undo()
                else:
                    daemon.editor.apply(edit(step))
                project = json.loads(daemon.editor.project.to_json())
                log.write(json.dumps({"step": step, "at_s": time.monotonic(), "project": project}) + "\\n")
                log.flush()
                step += 1
                await asyncio.sleep(0.02)

    if __name__ == "__main__":       # the daemon's worker processes are spawned: they import this file again
        data_dir, mode, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
        settings = Settings.model_validate({"audio": {"backend": "null"}, "midi": {"enabled": False}})
        asyncio.run(main(Daemon(settings, DaemonOptions(data_dir=data_dir, serve_web=False)), mode, out))
''')


def run_script(script, data_dir, mode, out, **popen):
    return subprocess.Popen([sys.executable, str(script), str(data_dir), mode, str(out)], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **popen)


def logged_states(log_path):
    states = []
    for line in log_path.read_text().splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:           # the line being written when the process died
            continue
        states.append((entry["at_s"], Project.model_validate(entry["project"])))
    return states


def test_sigkill_during_a_burst_of_edits_loses_at_most_2_s_and_corrupts_nothing(tmp_path):
    data_dir = tmp_path / "data"
    write_loop(data_dir, "kick")
    script = tmp_path / "burst.py"
    script.write_text(BURST_SCRIPT)
    log_path = tmp_path / "burst.log"

    burst = run_script(script, data_dir, "burst", log_path)
    try:
        deadline = time.monotonic() + 90          # a start-up deadline only (a loaded 2-core machine is slow)
        while not (log_path.exists() and log_path.read_text().count("\n") >= 2):
            assert burst.poll() is None, burst.stderr.read().decode()
            assert time.monotonic() < deadline, "the burst did not start"
            time.sleep(0.02)
        time.sleep(3.37)                        # well into the burst, not on a write boundary
        killed_at_s = time.monotonic()
        os.killpg(burst.pid, signal.SIGKILL)    # the whole process group, as systemd kills a service
        burst.wait(10)
    finally:
        if burst.poll() is None:
            os.killpg(burst.pid, signal.SIGKILL)
            burst.wait(10)
    states = logged_states(log_path)
    assert len(states) > 20

    for path in data_dir.rglob("*.json"):       # nothing half-written
        json.loads(path.read_bytes())
    SessionDocument.model_validate_json((data_dir / SESSION_FILE).read_bytes())

    report = tmp_path / "restored.json"
    restart = run_script(script, data_dir, "report", report)
    _, stderr = restart.communicate(timeout=60)
    assert restart.returncode == 0, stderr.decode()
    restored = Project.model_validate_json(report.read_text())

    matches = [index for index, (_, project) in enumerate(states) if project == restored]
    assert matches, "the restored project is not a state the burst went through"
    index = matches[-1]
    current_until_s = states[index + 1][0] if index + 1 < len(states) else killed_at_s
    lost_s = killed_at_s - current_until_s
    print(f"{len(states)} edits logged; restored edit {index}; lost {max(lost_s, 0.0):.3f} s of edits")
    assert lost_s <= 2.0
    assert list(data_dir.glob(f".{SESSION_FILE}.*.tmp")) == []
    for path in data_dir.rglob("*.json"):
        json.loads(path.read_bytes())
