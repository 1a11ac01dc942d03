"""PromptLoop groovebox: a hardware-first loop launcher daemon.

The package is layered (see DESIGN.md): ``engine`` and ``transport`` are numpy + stdlib only and run on the
audio thread; ``project``/``library`` are the domain; ``control`` owns the state on one asyncio loop; ``web``
and ``hw`` are the edges.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
