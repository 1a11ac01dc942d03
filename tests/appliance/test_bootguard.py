"""Crash counting and the clean-shutdown flag (BootGuard), with a fake wall clock."""

import json

from groovebox.appliance.bootguard import BOOT_FILE, BootGuard
from groovebox.control.autosave import SESSION_FILE


class Clock:
    def __init__(self, now_s=1_000_000.0):
        self.now_s = now_s

    def __call__(self):
        return self.now_s


def crash_run(data_dir, clock, seconds_later=2.0):
    """One start that serves and then dies without a clean stop."""
    guard = BootGuard(data_dir, clock=clock)
    decision = guard.assess()
    guard.started()
    clock.now_s += seconds_later
    return decision


def test_a_clean_stop_leaves_nothing_to_count(tmp_path):
    clock = Clock()
    guard = BootGuard(tmp_path, clock=clock)
    assert guard.assess().blank is False
    guard.started()
    assert json.loads((tmp_path / BOOT_FILE).read_text())["runningSince"] == clock.now_s
    guard.stopped_cleanly()
    assert json.loads((tmp_path / BOOT_FILE).read_text())["runningSince"] is None
    decision = BootGuard(tmp_path, clock=clock).assess()
    assert decision.after_crash is False and decision.crashes == 0


def test_the_fourth_start_within_60_s_of_three_crashes_is_blank_and_says_why(tmp_path):
    clock = Clock()
    (tmp_path / SESSION_FILE).write_text("{}")
    decisions = [crash_run(tmp_path, clock) for _ in range(3)]
    assert [d.blank for d in decisions] == [False, False, False]
    assert [d.crashes for d in decisions] == [0, 1, 2]
    fourth = BootGuard(tmp_path, clock=clock).assess()
    assert fourth.blank and fourth.crashes == 0
    assert fourth.reason.startswith("3 crashes within 60 s: started with an empty session")
    assert not (tmp_path / SESSION_FILE).exists()
    kept = list(tmp_path.glob(f"{SESSION_FILE}.blank-*"))
    assert len(kept) == 1 and kept[0].read_text() == "{}" and kept[0].name in fourth.reason


def test_crashes_older_than_the_window_do_not_count(tmp_path):
    clock = Clock()
    crash_run(tmp_path, clock)
    crash_run(tmp_path, clock)
    clock.now_s += 61.0                    # the first two crashed runs started more than 60 s ago
    crash_run(tmp_path, clock)
    decision = BootGuard(tmp_path, clock=clock).assess()
    assert decision.blank is False and decision.crashes == 1 and decision.after_crash


def test_a_blank_start_resets_the_count_and_a_clean_stop_does_too(tmp_path):
    clock = Clock()
    for _ in range(3):
        crash_run(tmp_path, clock)
    assert crash_run(tmp_path, clock).blank          # the blank run crashes as well ...
    assert BootGuard(tmp_path, clock=clock).assess().crashes == 1     # ... and counts afresh
    crash_run(tmp_path, clock)
    guard = BootGuard(tmp_path, clock=clock)
    guard.assess()
    guard.started()
    guard.stopped_cleanly()
    assert BootGuard(tmp_path, clock=clock).assess().crashes == 0


def test_shift_held_at_boot_starts_blank(tmp_path):
    (tmp_path / SESSION_FILE).write_text("{}")
    decision = BootGuard(tmp_path, clock=Clock()).assess(shift_held=True)
    assert decision.blank and decision.reason.startswith("Shift held at start: started with an empty session")
    assert not (tmp_path / SESSION_FILE).exists()


def test_an_unreadable_state_file_counts_afresh(tmp_path, caplog):
    (tmp_path / BOOT_FILE).write_text("{not json")
    assert BootGuard(tmp_path, clock=Clock()).assess().crashes == 0
    assert "unreadable" in caplog.text
