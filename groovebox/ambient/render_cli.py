"""``groovebox ambient "SCENE" -o DIR``: plan a scene, render its layers and a mixdown, write them (main thread).

Writes ``DIR/layer-NN-<kind>.flac`` per layer and ``DIR/mixdown.flac`` (48 kHz stereo, 24-bit FLAC,
seamless loops of ``--seconds``) and ``DIR/scene.json``: ``{"scene": <Scene>, "seconds", "sample_rate",
"seed", "layers": [{"index", "kind", "file", "loudness_lufs", "peak_dbfs"}], "mixdown": {...}}``. Prints a
short summary, or that JSON with ``--json``.

Decisions:
- The planner is injected (``add_ambient_parser(commands, planner=...)``; default the offline planner), so
  the app can plug in the LLM planners without this module knowing them. A planner is
  ``planner(text, *, seed) -> Scene``.
- No ``--seed``: a random one, recorded in scene.json, so a render can be repeated. Layer ``i`` renders
  with ``synth.layer_seed(seed, i)``.
- Every file is written atomically (temporary file, fsync, rename), and the directory is created.
- Errors a user can fix (bad --seconds, empty scene text) raise ValueError, which ``groovebox`` prints as
  one line with exit status 2.
- Synthesis, the mixdown, loudness metering and FLAC writing are imported when a render runs (they take
  about 1.5 s to import, mostly pyloudnorm and pedalboard), so adding the subcommand to ``groovebox``
  does not slow down its other commands.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import secrets
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from groovebox.ambient.scene import Scene

__all__ = ["MAX_SECONDS", "Planner", "add_ambient_parser", "make_handler", "render_to_directory"]

Planner = Callable[..., "Scene"]
MIN_SECONDS = 1.0                 # synth.MIN_SECONDS (synth is not imported here: see the module docstring)
MAX_SECONDS = 600.0
DEFAULT_SECONDS = 30.0
SAMPLE_RATE = 48000               # the project's rate (DESIGN.md §3), as synth.SAMPLE_RATE


def add_ambient_parser(commands, *, planner: Planner | None = None) -> argparse.ArgumentParser:
    """Add the ``ambient`` subcommand to ``commands`` (an argparse subparsers object); returns its parser."""
    parser = commands.add_parser("ambient", help="turn a described place into layered, looping ambience",
                                 description="Plan a scene from SCENE, then write one seamless loop per "
                                             "layer, a mixdown and scene.json to DIR.")
    parser.add_argument("scene", metavar="SCENE", help='the place, e.g. "midnight in a neon-lit Tokyo back-alley"')
    parser.add_argument("-o", "--output", dest="output", type=Path, required=True, metavar="DIR",
                        help="directory for the layer files, mixdown.flac and scene.json (created)")
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS, metavar="N",
                        help=f"loop length in seconds (default {DEFAULT_SECONDS:g})")
    parser.add_argument("--seed", type=int, metavar="S", help="random seed (default: a new one each run)")
    parser.add_argument("--json", action="store_true", help="print scene.json's content instead of a summary")
    parser.set_defaults(handler=make_handler(planner or _plan_offline))
    return parser


def _plan_offline(text: str, *, seed: int) -> Scene:
    from groovebox.ambient.offline_planner import plan_offline

    return plan_offline(text, seed=seed)


def make_handler(planner: Planner) -> Callable[[argparse.Namespace], int]:
    """The ``ambient`` handler using ``planner``: ``handler(args) -> exit status``."""
    def handler(args: argparse.Namespace) -> int:
        seconds = _checked_seconds(args.seconds)
        text = " ".join(args.scene.split())
        if not text:
            raise ValueError("SCENE is empty: describe a place, e.g. \"rain on a tin roof\"")
        seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
        scene = planner(text, seed=seed)
        report = render_to_directory(scene, args.output, seconds=seconds, seed=seed)
        print(json.dumps(report, indent=1) if args.json else _summary(report, args.output), flush=True)
        return 0
    return handler


def render_to_directory(scene: Scene, directory: Path, *, seconds: float, seed: int,
                        sample_rate: int = SAMPLE_RATE) -> dict:
    """Render ``scene``'s layers and mixdown into ``directory``; returns what scene.json holds."""
    from groovebox.ambient.mixdown import mix_scene
    from groovebox.ambient.synth import layer_seed, render_layer
    from groovebox.project.model import atomic_write_bytes

    directory.mkdir(parents=True, exist_ok=True)
    layers, entries = [], []
    for index, layer in enumerate(scene.layers):
        audio = render_layer(layer, seconds=seconds, sample_rate=sample_rate, seed=layer_seed(seed, index))
        name = f"layer-{index:02d}-{layer.kind.value}.flac"
        _write_flac(directory / name, audio, sample_rate)
        layers.append(audio)
        entries.append({"index": index, "kind": layer.kind.value, "file": name, **_levels(audio, sample_rate)})
    mixdown = mix_scene(layers, scene, sample_rate=sample_rate)
    _write_flac(directory / "mixdown.flac", mixdown, sample_rate)
    report = {"scene": scene.model_dump(mode="json"), "seconds": round(seconds, 6), "sample_rate": sample_rate,
              "frames": int(mixdown.shape[0]), "seed": seed, "layers": entries,
              "mixdown": {"file": "mixdown.flac", **_levels(mixdown, sample_rate)}}
    atomic_write_bytes(directory / "scene.json", (json.dumps(report, indent=1) + "\n").encode("utf-8"))
    return report


def _checked_seconds(seconds: float) -> float:
    if not (math.isfinite(seconds) and MIN_SECONDS <= seconds <= MAX_SECONDS):
        raise ValueError(f"--seconds must be between {MIN_SECONDS:g} and {MAX_SECONDS:g}, got {seconds:g}")
    return float(seconds)


def _levels(audio: np.ndarray, sample_rate: int) -> dict:
    from groovebox.generate.metrics import integrated_loudness_lufs, peak_dbfs

    loudness = integrated_loudness_lufs(audio, sample_rate)
    peak = peak_dbfs(audio)
    return {"loudness_lufs": round(loudness, 2) if math.isfinite(loudness) else None,
            "peak_dbfs": round(peak, 2) if math.isfinite(peak) else None}


def _write_flac(path: Path, audio: np.ndarray, sample_rate: int) -> None:
    import soundfile

    from groovebox.project.model import atomic_write_bytes

    buffer = io.BytesIO()
    soundfile.write(buffer, audio, sample_rate, format="FLAC", subtype="PCM_24")
    atomic_write_bytes(path, buffer.getvalue())


def _summary(report: dict, directory: Path) -> str:
    scene = report["scene"]
    lines = [f"{scene['title']} ({report['seconds']:g} s, seed {report['seed']}) -> {directory}",
             f"  {scene['narrative']}"]
    for entry, layer in zip(report["layers"], scene["layers"]):
        lines.append(f"  {entry['file']:28s} {layer['gain_db']:+6.1f} dB  pan {layer['pan']:+.2f}  "
                     f"{entry['loudness_lufs']} LUFS  {layer['description']}")
    lines.append(f"  {'mixdown.flac':28s} {report['mixdown']['loudness_lufs']} LUFS, "
                 f"peak {report['mixdown']['peak_dbfs']} dBFS")
    lines += [f"  note: {note}" for note in scene["notes"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the ``ambient`` command alone (``python -m groovebox.ambient.render_cli "SCENE" -o DIR``)."""
    parser = argparse.ArgumentParser(prog="groovebox")
    add_ambient_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["ambient", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.handler(args)
    except (ValueError, OSError) as error:
        print(f"groovebox ambient: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
