"""The project domain: the project document (pads, tracks, settings) and MIDI performances.

No threads and no hardware: the control thread and render workers call these functions.
"""

from groovebox.project.model import (
    Clip,
    Pad,
    Project,
    ProjectError,
    Track,
    launch_mode_from_text,
    launch_mode_to_text,
    load_project,
    parse_project,
    project_json_schema,
    quantize_from_text,
    quantize_to_text,
    resolve_audio_path,
    save_project,
)
from groovebox.project.performance import (
    PadAction,
    Performance,
    PerformanceError,
    read_performance,
)

__all__ = [
    "Clip",
    "Pad",
    "PadAction",
    "Performance",
    "PerformanceError",
    "Project",
    "ProjectError",
    "Track",
    "launch_mode_from_text",
    "launch_mode_to_text",
    "load_project",
    "parse_project",
    "project_json_schema",
    "quantize_from_text",
    "quantize_to_text",
    "read_performance",
    "resolve_audio_path",
    "save_project",
]
