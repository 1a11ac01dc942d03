"""Log levels for journald: under systemd, stderr lines get an ``<N>`` syslog priority prefix, which
journald turns into the entry's level (``journalctl -p warning`` then works). Main thread, once at start.

Decisions: only when stderr really is the journal stream (``$JOURNAL_STREAM`` names its device and inode),
so a terminal or a test's pipe never sees the prefixes; the existing format is kept after the prefix.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

__all__ = ["JournalFormatter", "use_journal_levels"]

_PRIORITIES = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6))


class JournalFormatter(logging.Formatter):
    """Wraps a formatter: ``<3>ERROR groovebox: ...``."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        priority = next((p for level, p in _PRIORITIES if record.levelno >= level), 7)
        return f"<{priority}>{self.inner.format(record)}"


def use_journal_levels(environ: Mapping[str, str] = os.environ, stream=None) -> bool:
    """Prefix the root logger's stderr lines with priorities when stderr is journald's; True if done."""
    stream = stream or sys.stderr
    device, _, inode = environ.get("JOURNAL_STREAM", "").partition(":")
    try:
        stat = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    if not (device.isdigit() and inode.isdigit() and (stat.st_dev, stat.st_ino) == (int(device), int(inode))):
        return False
    for handler in logging.getLogger().handlers:
        if getattr(handler, "stream", None) is stream and not isinstance(handler.formatter, JournalFormatter):
            handler.setFormatter(JournalFormatter(handler.formatter))
    return True
