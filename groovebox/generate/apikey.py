"""The Gemini API key: where the daemon finds it, and how it is kept out of messages and logs.

Runs wherever a key is needed (the control loop at start-up, a Lyria worker process); no threads of its own.

Decisions:
- ``GEMINI_API_KEY`` wins over the file, so a desktop run or a test needs no file; an empty variable counts
  as unset. The file (default ``/etc/groovebox/gemini-api-key``) must be a regular file readable by its
  owner only (``mode & 0o077 == 0``) and owned by root or by the user the daemon runs as: anything else is an
  ``ApiKeyError`` that says which ``chmod``/``chown`` fixes it, never a silent fallback.
- The file is opened once and checked with ``fstat`` on the open descriptor, so the checked file is the read file.
- A missing file means "no key" (None: the offline generator is used); an empty file is a mistake (error).
- The key is never logged. ``redact`` scrubs it (and its URL-encoded form) from any text, and
  ``KeyRedactingFilter`` does the same for log records of a logger that might print it (websockets logs
  every handshake header, ``x-goog-api-key`` included, at DEBUG).
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

__all__ = ["DEFAULT_KEY_FILE", "ENV_VAR", "ApiKeyError", "KeyRedactingFilter", "load_api_key", "redact"]

ENV_VAR = "GEMINI_API_KEY"
DEFAULT_KEY_FILE = Path("/etc/groovebox/gemini-api-key")
REDACTED = "[redacted]"


class ApiKeyError(Exception):
    """The key file exists but must not be used as it is; the message says how to fix it."""


def load_api_key(key_file: Path | None = None, *, environ: Mapping[str, str] | None = None) -> str | None:
    """The API key from ``$GEMINI_API_KEY``, else from ``key_file``; None when neither is there.

    Raises ApiKeyError when the file is readable by group/others, owned by another user, not a regular file,
    unreadable or empty."""
    from_env = (os.environ if environ is None else environ).get(ENV_VAR, "").strip()
    if from_env:
        return from_env
    path = Path(key_file) if key_file is not None else DEFAULT_KEY_FILE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except PermissionError:
        raise ApiKeyError(f"cannot read the API key file {path}: permission denied "
                          f"(run the daemon as the file's owner, or chown it to that user)") from None
    except OSError as error:
        raise ApiKeyError(f"cannot read the API key file {path}: {error.strerror}") from None
    try:
        _check_file(path, os.fstat(fd))
        with os.fdopen(fd, "rb", closefd=False) as file:
            raw = file.read()
    finally:
        os.close(fd)
    try:
        key = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ApiKeyError(f"the API key file {path} is not UTF-8 text") from None
    if not key:
        raise ApiKeyError(f"the API key file {path} is empty (put the key in it, or delete it to run offline)")
    return key


def _check_file(path: Path, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise ApiKeyError(f"the API key file {path} is not a regular file")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise ApiKeyError(f"the API key file {path} is readable by others (mode {mode:04o}); "
                          f"run: chmod 600 {path}")
    if info.st_uid not in (0, os.getuid()):
        raise ApiKeyError(f"the API key file {path} is owned by uid {info.st_uid}, not by root or by the "
                          f"daemon's user (uid {os.getuid()}); run: chown root {path}")


def redact(text: str, key: str | None) -> str:
    """``text`` with every occurrence of ``key`` (plain or URL-encoded) replaced by ``[redacted]``."""
    if not key:
        return text
    text = text.replace(key, REDACTED)
    encoded = quote(key, safe="")
    return text.replace(encoded, REDACTED) if encoded != key else text


class KeyRedactingFilter(logging.Filter):
    """A logging filter that rewrites records mentioning ``key`` so the key never reaches a handler.

    Attach it to the loggers that might see the key (``logger.addFilter``); it never drops a record."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self._key = key

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message, self._key)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and record.exc_info[1] is not None and self._key in str(record.exc_info[1]):
            record.msg, record.args = f"{cleaned} ({type(record.exc_info[1]).__name__}, details redacted)", ()
            record.exc_info, record.exc_text = None, None
        return True
