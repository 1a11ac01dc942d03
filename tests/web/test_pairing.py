"""Pairing: the rotating PIN, lockout after wrong PINs, and tokens stored only as digests (injected clock)."""

import hashlib
import json
import logging
import os

import pytest

from groovebox.web.pairing import Pairing, PairingLocked, WrongPin, clean_label


class FakeClock:
    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s

    def advance(self, seconds: float) -> None:
        self.now_s += seconds


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def pins():
    return []


@pytest.fixture
def pairing(tmp_path, clock, pins):
    return Pairing(tmp_path / "tokens.json", pin_period_s=120.0, clock=clock, on_pin=pins.append)


def wrong_pin_for(pairing: Pairing) -> str:
    return f"{(int(pairing.pin()) + 1) % 1_000_000:06d}"


def test_pin_is_six_digits_and_announced(pairing, pins):
    pin = pairing.pin()
    assert len(pin) == 6 and pin.isdigit()
    assert pins == [pin]


def test_pin_rotates_after_its_period(pairing, clock, pins):
    first = pairing.pin()
    clock.advance(119.0)
    assert pairing.pin() == first
    assert pairing.pin_expires_in_s() == pytest.approx(1.0)
    clock.advance(1.0)
    second = pairing.pin()
    assert pins == [first, second]
    assert pairing.pin_expires_in_s() == pytest.approx(120.0)


def test_pin_rotates_after_pairing(pairing, pins):
    token, info = pairing.pair(pairing.pin(), "Anna's phone")
    assert len(pins) == 2
    assert pairing.pin() == pins[-1]
    assert pairing.verify(token).token_id == info.token_id


def test_a_used_pin_does_not_pair_twice(pairing):
    pin = pairing.pin()
    pairing.pair(pin, "first")
    if pairing.pin() == pin:          # one chance in a million that the new PIN is the same
        pytest.skip("the new PIN happens to equal the old one")
    with pytest.raises(WrongPin):
        pairing.pair(pin, "second")


def test_expired_pin_is_refused(pairing, clock):
    old = pairing.pin()
    clock.advance(120.0)
    if pairing.pin() == old:
        pytest.skip("the new PIN happens to equal the old one")
    with pytest.raises(WrongPin):
        pairing.pair(old, "late")


def test_token_info_and_verify(pairing):
    token, info = pairing.pair(pairing.pin(), "Anna's phone")
    assert len(token) >= 43
    assert len(info.token_id) == 8 and int(info.token_id, 16) >= 0
    assert info.label == "Anna's phone" and info.created_at.endswith("+00:00") and info.last_used_at is None
    seen = pairing.verify(token)
    assert seen.token_id == info.token_id and seen.last_used_at is not None
    assert pairing.verify(token + "x") is None
    assert pairing.verify("") is None
    assert pairing.verify("a" * 10_000) is None


def test_wrong_pins_count_down_then_lock_even_the_right_pin(pairing, clock, pins):
    for attempts_left in range(9, 0, -1):
        with pytest.raises(WrongPin) as wrong:
            pairing.pair(wrong_pin_for(pairing), "guess")
        assert wrong.value.attempts_left == attempts_left
    announced = len(pins)
    with pytest.raises(PairingLocked) as locked:
        pairing.pair(wrong_pin_for(pairing), "guess")
    assert locked.value.retry_after_s == pytest.approx(60.0)
    assert len(pins) == announced + 1, "the PIN rotates at lockout"
    clock.advance(59.0)
    with pytest.raises(PairingLocked) as still:
        pairing.pair(pairing.pin(), "owner")
    assert still.value.retry_after_s == pytest.approx(1.0)
    clock.advance(1.0)
    token, _ = pairing.pair(pairing.pin(), "owner")
    assert pairing.verify(token) is not None


def test_failures_count_in_a_row_only(pairing):
    for _ in range(9):
        with pytest.raises(WrongPin):
            pairing.pair(wrong_pin_for(pairing), "guess")
    pairing.pair(pairing.pin(), "owner")
    with pytest.raises(WrongPin) as wrong:
        pairing.pair(wrong_pin_for(pairing), "guess")
    assert wrong.value.attempts_left == 9


def test_tokens_file_holds_digests_not_tokens(pairing, tmp_path):
    token, info = pairing.pair(pairing.pin(), "Anna's phone")
    text = (tmp_path / "tokens.json").read_text()
    assert token not in text
    rows = json.loads(text)
    assert rows == [{"id": info.token_id, "label": "Anna's phone",
                     "sha256": hashlib.sha256(token.encode()).hexdigest(),
                     "created_at": info.created_at, "last_used_at": None}]
    assert os.stat(tmp_path / "tokens.json").st_mode & 0o077 == 0
    assert [p.name for p in tmp_path.iterdir()] == ["tokens.json"], "no temporary file is left behind"


def test_tokens_survive_a_restart(pairing, tmp_path, clock):
    token, info = pairing.pair(pairing.pin(), "Anna's phone")
    again = Pairing(tmp_path / "tokens.json", clock=clock)
    assert again.verify(token).token_id == info.token_id
    assert [t.token_id for t in again.tokens()] == [info.token_id]


def test_revoke(pairing, tmp_path, clock):
    token_a, info_a = pairing.pair(pairing.pin(), "a")
    token_b, info_b = pairing.pair(pairing.pin(), "b")
    assert {t.token_id for t in pairing.tokens()} == {info_a.token_id, info_b.token_id}
    assert pairing.revoke(info_a.token_id) is True
    assert pairing.revoke(info_a.token_id) is False
    assert pairing.verify(token_a) is None and pairing.verify(token_b) is not None
    assert Pairing(tmp_path / "tokens.json", clock=clock).verify(token_a) is None


def test_last_use_is_saved_at_most_once_a_minute(pairing, tmp_path, clock):
    token, _ = pairing.pair(pairing.pin(), "a")
    pairing.verify(token)
    assert json.loads((tmp_path / "tokens.json").read_text())[0]["last_used_at"] is None
    clock.advance(60.0)
    pairing.verify(token)
    pairing._writer.shutdown(wait=True)      # the save runs on the writer thread: wait for it, save nothing else
    assert json.loads((tmp_path / "tokens.json").read_text())[0]["last_used_at"] is not None


def test_close_saves_the_last_use(pairing, tmp_path):
    token, _ = pairing.pair(pairing.pin(), "a")
    pairing.verify(token)
    pairing.close()
    assert json.loads((tmp_path / "tokens.json").read_text())[0]["last_used_at"] is not None
    assert pairing.verify(token) is not None, "verify still answers after close"


def test_missing_file_means_no_tokens(tmp_path):
    assert Pairing(tmp_path / "absent" / "tokens.json").tokens() == []


@pytest.mark.parametrize("content", [b"{not json", b'{"id": "x"}', b'[{"id": "zz"}]', b"\xff\xfe"])
def test_corrupt_file_is_set_aside(tmp_path, caplog, content):
    path = tmp_path / "tokens.json"
    path.write_bytes(content)
    with caplog.at_level(logging.ERROR, logger="groovebox.web.pairing"):
        pairing = Pairing(path)
    assert pairing.tokens() == []
    assert (tmp_path / "tokens.json.corrupt").read_bytes() == content
    assert not path.exists()
    assert "corrupt" in caplog.text
    token, _ = pairing.pair(pairing.pin(), "fresh")
    assert pairing.verify(token) is not None


def test_unwritable_file_issues_no_token(tmp_path):
    (tmp_path / "not-a-folder").write_text("")
    pairing = Pairing(tmp_path / "not-a-folder" / "tokens.json")
    with pytest.raises(OSError):
        pairing.pair(pairing.pin(), "a")
    assert pairing.tokens() == []


@pytest.mark.parametrize(("label", "cleaned"), [
    ("Anna's phone", "Anna's phone"),
    ("  bad\x00\x1b[31m\nlabel\u202e ", "bad[31mlabel"),
    ("", "phone"),
    ("\x07\x08", "phone"),
    ("x" * 100, "x" * 40),
    ("a  \t b", "a b"),
])
def test_labels_are_cleaned(label, cleaned):
    assert clean_label(label) == cleaned


def test_pair_cleans_the_label(pairing):
    _, info = pairing.pair(pairing.pin(), "\x1b]0;evil\x07")
    assert info.label == "]0;evil"
