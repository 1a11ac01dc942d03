"""Pairing a phone with the groovebox: a rotating 6-digit PIN exchanged for a long random token.

Lives on the control loop and is safe from other threads too: one lock guards the state and is never held
during file IO or a callback. The routes call ``pair`` and ``revoke`` through ``asyncio.to_thread`` because
they write the tokens file; ``verify`` only touches memory (its occasional save runs on a writer thread);
the OLED page may read ``pin()`` from the display thread. No FastAPI here.

Decisions:
- No accounts: whoever reads the PIN on the OLED (or in the daemon's log, on a laptop) is in the room.
- The PIN rotates every ``pin_period_s``, after every successful pairing (one PIN pairs one phone) and at
  lockout. Rotation is lazy, when the PIN is read or tried: whoever shows it calls ``pin()`` at least every
  ``pin_expires_in_s()``, and ``on_pin`` is called with each new PIN (the daemon logs it).
- Wrong PINs are counted globally, not per client, because a LAN attacker can change address:
  ``max_failures`` in a row lock pairing for ``lockout_s``, even for the right PIN. That caps guessing at
  ten tries a minute against a million PINs. The price is that an attacker can keep pairing locked;
  phones already paired keep working.
- Tokens are ``secrets.token_urlsafe(32)`` (256 random bits). Only their SHA-256 digests are stored, so a copy
  of the file grants nothing; a fast unsalted hash is enough for secrets that random. ``verify`` is a dict
  lookup by digest; ``last_used_at`` is kept in memory and written at most once a minute.
- The file is JSON, written atomically (temp file, fsync, ``os.replace``, fsync of the folder) with mode 0600.
  A corrupt file is set aside as ``<name>.corrupt`` and pairing starts empty: phones pair again, the daemon
  still starts.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import os
import secrets
import threading
import time
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from groovebox.background import fsync_directory

__all__ = ["Pairing", "PairingLocked", "TokenInfo", "WrongPin", "clean_label"]

log = logging.getLogger(__name__)

PIN_DIGITS = 6
LABEL_MAX_CHARS = 40
DEFAULT_LABEL = "phone"
USAGE_SAVE_PERIOD_S = 60.0
_MAX_TOKEN_CHARS = 512          # a real token has 43; never hash a megabyte header


@dataclass(frozen=True)
class TokenInfo:
    """A paired device as the API lists it (never the token itself). Times are ISO 8601 UTC."""

    token_id: str
    label: str
    created_at: str
    last_used_at: str | None = None


class WrongPin(Exception):
    """The PIN did not match; ``attempts_left`` more wrong PINs lock pairing."""

    def __init__(self, attempts_left: int) -> None:
        super().__init__(f"wrong PIN, {attempts_left} attempts left")
        self.attempts_left = attempts_left


class PairingLocked(Exception):
    """Too many wrong PINs in a row: pairing refuses every PIN for ``retry_after_s`` more seconds."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"pairing locked for {retry_after_s:.0f} s")
        self.retry_after_s = retry_after_s


class _StoredToken(BaseModel):
    """One row of the tokens file."""

    id: str = Field(pattern=r"^[0-9a-f]{8}$")
    label: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    created_at: str
    last_used_at: str | None = None


_TOKENS_FILE = TypeAdapter(list[_StoredToken])


class Pairing:
    """The PIN, the failure count and the paired tokens, persisted in ``tokens_file``.

    ``clock`` is monotonic seconds (PIN periods and lockouts); the stored times are wall-clock UTC.
    """

    def __init__(self, tokens_file: Path, *, pin_period_s: float = 120.0, max_failures: int = 10,
                 lockout_s: float = 60.0, clock: Callable[[], float] = time.monotonic,
                 on_pin: Callable[[str], None] | None = None) -> None:
        self._file = Path(tokens_file)
        self._pin_period_s = pin_period_s
        self._max_failures = max_failures
        self._lockout_s = lockout_s
        self._clock = clock
        self._on_pin = on_pin
        self._lock = threading.Lock()           # guards everything below
        self._write_lock = threading.Lock()     # one file write at a time, each of the latest state
        self._tokens: dict[str, TokenInfo] = _load(self._file)    # SHA-256 hex digest -> info
        self._failures = 0
        self._locked_until = -math.inf
        self._pin = ""
        self._pin_born_at = 0.0
        self._unannounced: list[str] = []
        self._usage_dirty = False
        self._usage_saved_at = clock()
        self._closed = False
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="groovebox-tokens")
        with self._lock:
            self._new_pin_locked(clock())
        self._announce_pending()

    def pin(self) -> str:
        """The current PIN (6 digits), renewed first if its period is over."""
        try:
            with self._lock:
                self._rotate_if_due_locked(self._clock())
                return self._pin
        finally:
            self._announce_pending()

    def pin_expires_in_s(self) -> float:
        """Seconds until the current PIN is replaced by a new one."""
        self.pin()
        with self._lock:
            return max(0.0, self._pin_born_at + self._pin_period_s - self._clock())

    def pair(self, pin: str, label: str = DEFAULT_LABEL) -> tuple[str, TokenInfo]:
        """Exchange the PIN for a new token. Raises ``WrongPin``, ``PairingLocked``, or ``OSError`` when the
        tokens file cannot be written (then no token is issued). Blocks on the file write."""
        try:
            with self._lock:
                self._accept_pin_locked(pin, self._clock())
                token = secrets.token_urlsafe(32)
                digest = _digest(token)
                info = TokenInfo(self._new_id_locked(), clean_label(label), _utc_now())
                self._tokens[digest] = info
        finally:
            self._announce_pending()
        try:
            self._save()
        except OSError:
            with self._lock:
                self._tokens.pop(digest, None)
            raise
        log.info("paired %r (token %s)", info.label, info.token_id)
        return token, info

    def verify(self, token: str) -> TokenInfo | None:
        """The info of a paired token (its last use now noted), or None. Never blocks on the disk."""
        if not token or len(token) > _MAX_TOKEN_CHARS:
            return None
        digest = _digest(token)
        now = self._clock()
        with self._lock:
            info = self._tokens.get(digest)
            if info is None:
                return None
            info = replace(info, last_used_at=_utc_now())
            self._tokens[digest] = info
            self._usage_dirty = True
            save_due = not self._closed and now - self._usage_saved_at >= USAGE_SAVE_PERIOD_S
            if save_due:
                self._usage_saved_at = now
        if save_due:
            self._writer.submit(self._save_logging_errors)
        return info

    def tokens(self) -> list[TokenInfo]:
        """Every paired token, oldest first."""
        with self._lock:
            return sorted(self._tokens.values(), key=lambda info: (info.created_at, info.token_id))

    def revoke(self, token_id: str) -> bool:
        """Forget a token; False if there is no such id. Raises ``OSError`` when the file cannot be written
        (the token stays revoked until a restart then). Blocks on the file write."""
        with self._lock:
            digest = next((d for d, info in self._tokens.items() if info.token_id == token_id), None)
            if digest is None:
                return False
            del self._tokens[digest]
        self._save()
        log.info("revoked token %s", token_id)
        return True

    def close(self) -> None:
        """Finish pending writes and save the last-use times (at shutdown). Blocks on the file write."""
        with self._lock:
            self._closed = True
        self._writer.shutdown(wait=True)
        with self._lock:
            dirty = self._usage_dirty
        if dirty:
            self._save_logging_errors()

    def _accept_pin_locked(self, pin: str, now: float) -> None:
        if now < self._locked_until:
            raise PairingLocked(self._locked_until - now)
        self._rotate_if_due_locked(now)
        if hmac.compare_digest(pin.encode("utf-8", "surrogatepass"), self._pin.encode()):
            self._failures = 0
            self._new_pin_locked(now)
            return
        self._failures += 1
        if self._failures < self._max_failures:
            raise WrongPin(self._max_failures - self._failures)
        log.warning("%d wrong PINs in a row: pairing locked for %.0f s", self._failures, self._lockout_s)
        self._failures = 0
        self._locked_until = now + self._lockout_s
        self._new_pin_locked(now)
        raise PairingLocked(self._lockout_s)

    def _rotate_if_due_locked(self, now: float) -> None:
        if now - self._pin_born_at >= self._pin_period_s:
            self._new_pin_locked(now)

    def _new_pin_locked(self, now: float) -> None:
        self._pin = f"{secrets.randbelow(10 ** PIN_DIGITS):0{PIN_DIGITS}d}"
        self._pin_born_at = now
        self._unannounced.append(self._pin)

    def _announce_pending(self) -> None:
        """Call ``on_pin`` for each new PIN, outside the lock (the callback may read ``pin()``)."""
        with self._lock:
            pins, self._unannounced = self._unannounced, []
        if self._on_pin is not None:
            for pin in pins:
                self._on_pin(pin)

    def _new_id_locked(self) -> str:
        taken = {info.token_id for info in self._tokens.values()}
        while (token_id := secrets.token_hex(4)) in taken:
            pass
        return token_id

    def _save(self) -> None:
        with self._write_lock:
            with self._lock:
                rows = [{"id": info.token_id, "label": info.label, "sha256": digest,
                         "created_at": info.created_at, "last_used_at": info.last_used_at}
                        for digest, info in self._tokens.items()]
                self._usage_dirty = False
            _write_atomically(self._file, json.dumps(rows, indent=2) + "\n")

    def _save_logging_errors(self) -> None:
        try:
            self._save()
        except OSError as error:
            log.error("could not save the paired tokens to %s: %s", self._file, error)


def clean_label(label: str) -> str:
    """A device label fit to list: no control characters, single spaces, 1-40 characters ("phone" if empty)."""
    printable = "".join(ch for ch in label if not unicodedata.category(ch).startswith("C"))
    return " ".join(printable.split())[:LABEL_MAX_CHARS].strip() or DEFAULT_LABEL


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _load(path: Path) -> dict[str, TokenInfo]:
    """The tokens in ``path``: none if it is missing, unreadable or corrupt (a corrupt one is set aside)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as error:
        log.error("cannot read the paired tokens in %s (%s): phones must pair again", path, error)
        return {}
    try:
        rows = _TOKENS_FILE.validate_json(data)
    except ValidationError as error:
        _set_aside(path, error.errors()[0]["msg"])
        return {}
    return {row.sha256: TokenInfo(row.id, clean_label(row.label), row.created_at, row.last_used_at)
            for row in rows}


def _set_aside(path: Path, reason: str) -> None:
    corrupt = path.with_name(path.name + ".corrupt")
    log.error("the paired tokens file %s is corrupt (%s): moved to %s, phones must pair again",
              path, reason, corrupt.name)
    try:
        os.replace(path, corrupt)
    except OSError as error:
        log.error("could not move %s aside: %s", path, error)


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)
