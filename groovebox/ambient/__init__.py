"""Ambient scenes: a described place -> a narrative and 3-8 sound layers -> seamless procedural loops.

``scene`` (the data), ``catalogue`` (elements, archetypes, lexicon) and ``offline_planner`` are light and
safe on the control loop. Synthesis (``synth`` and its ``recipes_*``), the mixdown (``mixdown``, which
loads pedalboard) and the command (``render_cli``) are heavy and run in worker processes or the CLI:
import them explicitly.
"""

import importlib

# Names resolve on first use (PEP 562): ``groovebox`` adds the ``ambient`` command to every start-up
# (``groovebox run`` included), which must not pay for the catalogue until a scene is planned.
_EXPORTS = {"plan_offline": "offline_planner", "MAX_LAYERS": "scene", "MIN_LAYERS": "scene",
            "ElementKind": "scene", "PlannerName": "scene", "Scene": "scene", "SceneLayer": "scene"}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'groovebox.ambient' has no attribute {name!r}")
    return getattr(importlib.import_module(f"groovebox.ambient.{_EXPORTS[name]}"), name)
