"""The control loop: one asyncio loop owns the live state and is the only caller of ``Engine.post``."""

from groovebox.control.session import Session

__all__ = ["Session"]
