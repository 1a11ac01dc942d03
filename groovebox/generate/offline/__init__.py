"""The embedded offline loop generator: genre tables -> musical plan -> numpy voices + GM SoundFont -> loop.

Runs in worker processes (CPU-bound, allocates freely). The default generator when there is no Lyria key
or no network; it takes the same ``GenerationRequest`` as Lyria. See ``render.py`` for the rendering and
seam decisions, ``plan.py`` for how words, genre and seed become a plan.
"""

from groovebox.generate.offline.genres import (
           GENRE_ALIASES,
           GENRE_TABLE,
           GENRES,
           GenreStyle,
)
from groovebox.generate.offline.plan import Plan, make_plan, resolve_genre
from groovebox.generate.offline.render import (
           OfflineLoop,
           loop_frames,
           render_offline,
           render_plan,
)

__all__ = ["GENRES", "GENRE_ALIASES", "GENRE_TABLE", "GenreStyle", "OfflineLoop", "Plan", "loop_frames",
           "make_plan", "render_offline", "render_plan", "resolve_genre"]
