"""The ``groovebox`` command line (main thread). Each subcommand parses its options and calls one function.

Errors a user can fix (bad config, bad project, missing file) print one clear line to stderr and exit 2;
``--json`` prints machine-readable results on stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from groovebox import __version__

__all__ = ["main"]

log = logging.getLogger("groovebox")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except (ValueError, OSError, RuntimeError) as exc:   # ConfigError, ProjectError, AudioError, ...
        print(f"groovebox {args.command}: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="groovebox", description="PromptLoop: a hardware-first groovebox daemon.")
    parser.add_argument("--version", action="version", version=f"groovebox {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_run(commands)
    _add_render(commands)
    _add_generate(commands)
    _add_import(commands)
    _add_schema(commands)
    _add_devices(commands)
    _add_bench(commands)
    _add_status(commands)
    _add_ambient(commands)
    return parser


# ---------------------------------------------------------------------- ambient
def _add_ambient(commands) -> None:
    from groovebox.ambient.render_cli import add_ambient_parser

    add_ambient_parser(commands, planner=_plan_scene)


def _plan_scene(text: str, *, seed: int):
    """The configured scene planner (``[ambient]`` of the system config)."""
    from groovebox.ambient.build import plan_configured
    from groovebox.config import load_settings
    from groovebox.generate.apikey import ApiKeyError, load_api_key

    settings = load_settings()
    try:
        key = load_api_key(Path(settings.generate.key_file))
    except ApiKeyError as error:
        print(f"groovebox ambient: not using Gemini: {error}", file=sys.stderr)
        key = None
    return plan_configured(text, seed=seed, settings=settings.ambient, api_key=key)


# ---------------------------------------------------------------------- run
def _add_run(commands) -> None:
    run = commands.add_parser("run", help="run the daemon (audio, control loop, web API)")
    run.add_argument("--config", metavar="FILE", help="settings file (overrides /etc/groovebox/groovebox.toml)")
    run.add_argument("--data-dir", metavar="DIR", type=Path, help="data directory (library, projects, ...)")
    run.add_argument("--audio", choices=["auto", "portaudio", "jack", "null"], help="audio backend")
    run.add_argument("--hw", choices=["real", "mock"], help="real hardware or in-process mocks")
    run.add_argument("--web", metavar="HOST:PORT", help="where the HTTP API listens (default 127.0.0.1:8080)")
    run.add_argument("--project", metavar="FILE", type=Path, help="project JSON to load at start")
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from groovebox.app import DaemonOptions, run_daemon
    from groovebox.config import load_settings

    settings = load_settings(args.config, overrides=_run_overrides(args))
    _configure_logging(settings.log.level)
    log.info("groovebox %s starting", __version__)
    return run_daemon(settings, DaemonOptions(project_file=args.project, data_dir=args.data_dir))


def _run_overrides(args: argparse.Namespace) -> dict:
    overrides: dict = {}
    if args.audio:
        overrides["audio"] = {"backend": args.audio}
    if args.hw:
        overrides["hw"] = args.hw
    if args.web:
        host, _, port = args.web.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"--web wants HOST:PORT, got {args.web!r}")
        overrides["web"] = {"host": host.strip("[]"), "port": int(port)}
    return overrides


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


# ---------------------------------------------------------------------- render
def _add_render(commands) -> None:
    render = commands.add_parser("render", help="render a project's song (and a MIDI performance) to WAV/FLAC/MP3")
    render.add_argument("project", type=Path, metavar="PROJECT.json")
    render.add_argument("--performance", type=Path, metavar="PERF.mid",
                        help="Standard MIDI File: notes 36-99 press/release pads 1-64 (tempo from the project)")
    render.add_argument("--block", type=int, default=8192, metavar="N",
                        help="render block size in frames (the output does not depend on it)")
    render.add_argument("--seconds", type=float, metavar="S",
                        help="length (default: the song to its last clip and the performance, plus tails)")
    render.add_argument("--data-dir", type=Path, metavar="DIR", help="data directory for pads/clips that use loopId")
    render.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.wav|.flac|.mp3",
                        help="the format follows the suffix")
    render.add_argument("--bits", type=int, choices=[16, 24, 32], default=24,
                        help="WAV: 16/24-bit PCM or 32-bit float; FLAC: 16/24 (default 24); MP3 ignores it")
    render.add_argument("--json", action="store_true", help="print a JSON summary")
    render.set_defaults(handler=_render)


def _render(args: argparse.Namespace) -> int:
    import numpy as np

    from groovebox.project.model import load_project
    from groovebox.project.performance import read_performance
    from groovebox.project.render import render_project, write_audio

    if not 1 <= args.block <= 8192:
        raise ValueError("--block must be 1..8192 frames")
    if args.seconds is not None and not 0 < args.seconds <= 3600:
        raise ValueError("--seconds must be in (0, 3600]")
    _check_output(args.output, args.bits)
    project = load_project(args.project)
    has_song = any(track.clips for track in project.tracks)
    if args.performance is None and args.seconds is None and not has_song:
        raise ValueError("nothing to render: give --performance PERF.mid and/or --seconds S, "
                         "or place clips on the project's tracks")
    actions = read_performance(args.performance, project.bpm) if args.performance else []
    library = args.data_dir / "library" if args.data_dir else None
    audio = render_project(project, args.project, actions, block_frames=args.block, seconds=args.seconds,
                           library_dir=library)
    write_audio(args.output, audio, bits=args.bits)
    peak = float(np.abs(audio).max()) if len(audio) else 0.0
    summary = {"output": str(args.output), "format": args.output.suffix.lower()[1:], "bits": args.bits,
               "frames": len(audio), "seconds": round(len(audio) / 48000, 6),
               "sample_rate": 48000, "block_frames": args.block, "actions": len(actions), "song": has_song,
               "peak_dbfs": round(20 * np.log10(max(peak, 1e-9)), 2)}
    _print(summary, args.json, f"wrote {args.output} ({summary['seconds']:.2f} s)")
    return 0


def _check_output(output: Path, bits: int) -> None:
    """Refuse an output format or bit depth before spending time on the render."""
    from groovebox.project.render import AUDIO_FORMATS, BIT_DEPTHS

    kind = output.suffix.lower()
    if kind not in AUDIO_FORMATS:
        raise ValueError(f"{output.name}: output must end in .wav, .flac or .mp3")
    if kind in BIT_DEPTHS and bits not in BIT_DEPTHS[kind]:
        raise ValueError(f"--bits {bits} is not available for {kind[1:].upper()} "
                         f"({' or '.join(map(str, BIT_DEPTHS[kind]))})")


# ---------------------------------------------------------------------- generate
def _add_generate(commands) -> None:
    from groovebox.generate.variations import VARIATIONS

    gen = commands.add_parser("generate", help="generate loops (Lyria RealTime or the offline generator) to files")
    gen.add_argument("prompt", metavar="PROMPT", help='what to make, e.g. "dusty boom bap with rhodes"')
    gen.add_argument("--engine", choices=["auto", "lyria", "offline"], default="auto",
                     help="auto: Lyria when a key is set (GEMINI_API_KEY or generate.key_file), else offline")
    gen.add_argument("--bars", type=int, default=4, help="loop length in bars (1-16, default 4)")
    gen.add_argument("--bpm", type=int, help="tempo 60-200 (default: the genre's typical tempo, else 120)")
    gen.add_argument("--scale", help="Lyria scale, e.g. C_MAJOR_A_MINOR (default: chosen for you)")
    gen.add_argument("--genre", default="")
    gen.add_argument("--instrument", default="")
    gen.add_argument("--mood", default="")
    gen.add_argument("--density", type=float, help="0-1")
    gen.add_argument("--brightness", type=float, help="0-1")
    gen.add_argument("--seed", type=int, help="0..2147483647 (default: random; printed with --json)")
    gen.add_argument("--options", type=int, default=1, help="how many loops to make (1-5)")
    gen.add_argument("--variation", choices=VARIATIONS,
                     help="vary the loop described by --from (a record .json written next to a generated loop)")
    gen.add_argument("--from", dest="source", type=Path, metavar="LOOP.json", help="the loop to vary")
    gen.add_argument("--config", metavar="FILE", help="settings file (Lyria endpoint, key file)")
    gen.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.wav|.flac",
                     help="with several options: OUT-1.wav, OUT-2.wav, ...")
    gen.add_argument("--json", action="store_true", help="print one JSON object per option")
    gen.set_defaults(handler=_generate)


def _generate(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from groovebox.config import load_settings
    from groovebox.generate.produce import (
        GenerationError,
        GeneratorConfig,
        generate_option,
        write_loop,
    )

    settings = load_settings(args.config)
    _configure_logging("warning")
    try:
        request = _generation_request(args)
    except ValidationError as error:
        raise ValueError("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())) from None
    config = GeneratorConfig.from_settings(settings.generate)
    for option in range(request.options):
        target = _option_path(args.output, option, request.options)
        try:
            loop = generate_option(request, option, config)
            record = write_loop(loop, target)
        except GenerationError as error:
            raise ValueError(str(error)) from None
        if args.json:
            print(json.dumps(record), flush=True)
        else:
            warning = f" ({record['warning']})" if record["warning"] else ""
            print(f"wrote {target}: {record['engine']}, {record['bars']} bars at {record['bpm']:g} BPM, "
                  f"seed {record['seed']}{warning}", flush=True)
    return 0


def _generation_request(args: argparse.Namespace):
    from groovebox.generate.request import GenerationRequest
    from groovebox.generate.variations import vary

    fields = {"prompt": args.prompt, "engine": args.engine, "bars": args.bars, "bpm": args.bpm,
              "genre": args.genre, "instrument": args.instrument, "mood": args.mood, "density": args.density,
              "brightness": args.brightness, "seed": args.seed, "options": args.options}
    if args.scale:
        fields["scale"] = args.scale.upper()
    if args.variation is None:
        if args.source is not None:
            raise ValueError("--from needs --variation")
        return GenerationRequest.model_validate({k: v for k, v in fields.items() if v is not None}).resolved()
    if args.source is None:
        raise ValueError("--variation needs --from LOOP.json (the record written next to a generated loop)")
    try:
        record = json.loads(args.source.read_text())
        original = GenerationRequest.model_validate(record["request"]).model_copy(update={"seed": record["seed"]})
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{args.source}: not a generated loop's record ({error})") from None
    return vary(original, args.variation, seed=args.seed).model_copy(
        update={"options": args.options, "engine": args.engine})


def _option_path(output: Path, option: int, options: int) -> Path:
    return output if options == 1 else output.with_name(f"{output.stem}-{option + 1}{output.suffix}")


# ---------------------------------------------------------------------- import
def _add_import(commands) -> None:
    imp = commands.add_parser("import", help="add audio files (WAV, FLAC, OGG, MP3, AIFF, ...) to the loop library")
    imp.add_argument("files", nargs="+", type=Path, metavar="FILE")
    imp.add_argument("--data-dir", type=Path, metavar="DIR",
                     help="data directory (default: $STATE_DIRECTORY, else $XDG_DATA_HOME/groovebox)")
    imp.add_argument("--name", help="loop name for every FILE (default: each file's name)")
    imp.add_argument("--category", metavar="C",
                     help="drums, bass, synth, keys, vocals, fx, ambient or other (default: guessed)")
    imp.add_argument("--json", action="store_true", help="print one JSON object per imported loop")
    imp.set_defaults(handler=_import)


def _import(args: argparse.Namespace) -> int:
    from groovebox.config import default_data_dir
    from groovebox.library import Library, LibraryError, import_file
    from groovebox.library.analysis import CATEGORIES

    if args.category is not None and args.category not in CATEGORIES:
        raise ValueError(f"--category must be one of {', '.join(CATEGORIES)}, got {args.category!r}")
    library = Library(args.data_dir or default_data_dir())
    failed = 0
    for path in args.files:
        try:
            record = import_file(library, path, name=args.name, category=args.category)
        except LibraryError as error:
            print(f"groovebox import: {error}", file=sys.stderr, flush=True)
            failed += 1
            continue
        summary = {"file": str(path), "id": record.loop_id, "name": record.name, "bpm": record.bpm,
                   "bars": record.bars, "duration_s": round(record.duration_s, 6), "category": record.category,
                   "key": record.key}
        print(json.dumps(summary) if args.json else _import_text(summary), flush=True)
    return 2 if failed else 0


def _import_text(summary: dict) -> str:
    tempo = f"{summary['bars']} bars at {summary['bpm']:g} BPM" if summary["bpm"] is not None else "no tempo"
    key = f", {summary['key']}" if summary["key"] else ""
    return (f"{summary['file']}: {summary['id']} \"{summary['name']}\" {summary['category']}, {tempo}, "
            f"{summary['duration_s']:.2f} s{key}")


# ---------------------------------------------------------------------- schema / devices
def _add_schema(commands) -> None:
    schema = commands.add_parser("schema", help="print a JSON Schema")
    schema.add_argument("what", choices=["project"])
    schema.set_defaults(handler=_schema)


def _schema(args: argparse.Namespace) -> int:
    from groovebox.project.model import project_json_schema

    print(json.dumps(project_json_schema(), indent=2))
    return 0


def _add_devices(commands) -> None:
    devices = commands.add_parser("devices", help="list audio outputs, MIDI ports and the controller profile each matched")
    devices.add_argument("--config", metavar="FILE", help="settings file (MIDI API, profiles folder)")
    devices.add_argument("--json", action="store_true")
    devices.set_defaults(handler=_devices)


def _devices(args: argparse.Namespace) -> int:
    from groovebox.config import load_settings
    from groovebox.controllers import default_profile_dir, load_profiles, match_profile
    from groovebox.hw import list_audio_devices
    from groovebox.hw.midi_bridge import MidiBridge, MidiBridgeError

    settings = load_settings(args.config)
    profiles = load_profiles(settings.midi.profiles_dir or default_profile_dir())
    audio = list_audio_devices()
    try:
        with MidiBridge(settings.midi.api) as midi:
            names = {"input": midi.input_names(), "output": midi.output_names()}
        midi_problem = None
    except MidiBridgeError as exc:
        names, midi_problem = {"input": [], "output": []}, str(exc)
    ports = [{"name": name, "direction": direction, "profile": getattr(match_profile(name, profiles), "name", None)}
             for direction, listed in names.items() for name in listed]
    result = {"audio": audio, "midi": ports, "midi_error": midi_problem}
    _print(result, args.json, _devices_text(result))
    return 0


def _devices_text(result: dict) -> str:
    lines = ["audio outputs:"]
    lines += [f"  {d['index']:3} {d['name']} ({d['host_api']}, {d['max_output_channels']} out)" for d in result["audio"]]
    if not result["audio"]:
        lines.append("  none (the daemon would use the silent null backend)")
    lines.append("MIDI ports:")
    lines += [f"  {p['direction']:6} {p['name']}  ->  {p['profile'] or 'no profile'}" for p in result["midi"]]
    if result["midi_error"]:
        lines.append(f"  unavailable: {result['midi_error']}")
    elif not result["midi"]:
        lines.append("  none")
    return "\n".join(lines)


# ---------------------------------------------------------------------- bench
def _add_bench(commands) -> None:
    bench = commands.add_parser("bench", help="measure performance")
    kinds = bench.add_subparsers(dest="bench", metavar="KIND", required=True)
    engine = kinds.add_parser("engine", help="time Engine.render with looping voices and the master chain")
    engine.add_argument("--voices", type=int, default=16)
    engine.add_argument("--block", type=int, default=256)
    engine.add_argument("--seconds", type=float, default=20.0, help="seconds of audio to render")
    engine.add_argument("--json", action="store_true")
    engine.set_defaults(handler=_bench_engine)
    soak = kinds.add_parser("soak", help="run the daemon with 16 playing pads through PortAudio on a JACK dummy server")
    soak.add_argument("--seconds", type=float, default=60.0)
    soak.add_argument("--block", type=int, default=256)
    soak.add_argument("--ahead-blocks", type=int, default=3, help=_AHEAD_HELP)
    soak.add_argument("--generate", choices=["offline", "lyria", "both"],
                      help="run generation jobs back to back meanwhile (lyria: against hw-mocks/fake_lyria.py)")
    soak.add_argument("--json", action="store_true")
    soak.set_defaults(handler=_bench_soak)
    web = kinds.add_parser("web", help="the HTTP API and WebSocket under load while 16 pads play on a JACK dummy server")
    web.add_argument("--seconds", type=float, default=60.0)
    web.add_argument("--rate", type=float, default=200.0, help="API requests per second (default 200)")
    web.add_argument("--block", type=int, default=256)
    web.add_argument("--ahead-blocks", type=int, default=3, help=_AHEAD_HELP)
    web.add_argument("--library-loops", type=int, default=20, help="loops in the library the phone lists")
    web.add_argument("--json", action="store_true")
    web.set_defaults(handler=_bench_web)
    gen = kinds.add_parser("generate", help="time the offline generator (4-bar loops at 120 BPM)")
    gen.add_argument("--runs", type=int, default=24)
    gen.add_argument("--json", action="store_true")
    gen.set_defaults(handler=_bench_generate)
    song = kinds.add_parser("render", help="export a generated multi-track song to WAV; report the real-time factor")
    song.add_argument("--seconds", type=float, default=180.0, help="song length (default 180)")
    song.add_argument("--tracks", type=int, default=8)
    song.add_argument("--block", type=int, default=2048, help="render block size (the output does not depend on it)")
    song.add_argument("--json", action="store_true")
    song.set_defaults(handler=_bench_render)
    startup = kinds.add_parser("startup", help="time `groovebox run` from process start to healthy (null audio)")
    startup.add_argument("--runs", type=int, default=5)
    startup.add_argument("--json", action="store_true")
    startup.set_defaults(handler=_bench_startup)


_AHEAD_HELP = "blocks rendered ahead of the C callback (audio.ahead_blocks; 0 = Python callback; default 3)"


def _bench_render(args: argparse.Namespace) -> int:
    from groovebox.bench import bench_render

    result = bench_render(seconds=args.seconds, tracks=args.tracks, block_frames=args.block)
    _print(result, args.json, _table(result))
    return 0


def _bench_engine(args: argparse.Namespace) -> int:
    from groovebox.bench import bench_engine

    result = bench_engine(voices=args.voices, block_frames=args.block, seconds=args.seconds)
    _print(result, args.json, _table(result))
    return 0


def _bench_soak(args: argparse.Namespace) -> int:
    from groovebox.bench import bench_soak

    _configure_logging("warning")
    result = bench_soak(seconds=args.seconds, block_frames=args.block, generate=args.generate or "",
                        ahead_blocks=args.ahead_blocks)
    _print(result, args.json, _table(result))
    return 0


def _bench_web(args: argparse.Namespace) -> int:
    from groovebox.bench_web import bench_web, summary_text

    _configure_logging("warning")
    result = bench_web(seconds=args.seconds, rate_per_s=args.rate, block_frames=args.block,
                       library_loops=args.library_loops, ahead_blocks=args.ahead_blocks)
    _print(result, args.json, summary_text(result))
    if args.json:
        for missed in result["missed_targets"]:
            print(f"groovebox bench web: TARGET MISSED: {missed}", file=sys.stderr)
    return 0


def _bench_startup(args: argparse.Namespace) -> int:
    from groovebox.appliance.startup_bench import bench_startup

    if not 1 <= args.runs <= 50:
        raise ValueError("--runs must be 1..50")
    result = bench_startup(runs=args.runs)
    _print(result, args.json, _table(result))
    return 0


# ---------------------------------------------------------------------- status
def _add_status(commands) -> None:
    status = commands.add_parser("status", help="summarise a running daemon (its /api/health)")
    status.add_argument("--config", metavar="FILE", help="settings file (where the web API listens)")
    status.add_argument("--url", help="the daemon's address (default: http://[web] host:port from the settings)")
    status.add_argument("--json", action="store_true", help="print the health document")
    status.set_defaults(handler=_status)


def _status(args: argparse.Namespace) -> int:
    from groovebox.appliance.status import daemon_status, status_text
    from groovebox.config import load_settings

    web = load_settings(args.config).web
    host = "127.0.0.1" if web.host in ("0.0.0.0", "::", "") else web.host
    url = args.url or f"http://{f'[{host}]' if ':' in host else host}:{web.port}"
    try:
        health = daemon_status(url)
    except OSError as exc:
        raise OSError(f"no daemon answers at {url} ({getattr(exc, 'reason', exc)})") from None
    _print(health, args.json, status_text(health))
    return 0


def _bench_generate(args: argparse.Namespace) -> int:
    from groovebox.bench import bench_generate

    _configure_logging("warning")
    result = bench_generate(runs=args.runs)
    _print(result, args.json, _table(result))
    return 0


def _table(result: dict) -> str:
    return "\n".join(f"{key:>16}: {value}" for key, value in result.items())


def _print(result: dict, as_json: bool, text: str) -> None:
    print(json.dumps(result) if as_json else text)
