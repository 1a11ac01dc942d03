"""Benchmarks behind ``groovebox bench``: numbers for the README, never thresholds in unit tests.

``bench_engine`` times ``Engine.render`` on the calling thread as fast as it can. ``bench_soak`` starts a
private JACK dummy server and runs the real daemon (control loop + PortAudio stream) against it, optionally
while generation jobs run. ``bench_generate`` times the offline generator in this process. ``bench_render``
exports a generated multi-track song (project file + synthetic loops in a temporary folder) to WAV.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.util
import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

from groovebox.engine import Engine
from groovebox.engine import commands as c

__all__ = ["bench_engine", "bench_soak", "bench_generate", "bench_render", "test_loop"]

SAMPLE_RATE = 48000
_SETTLE_S = 1.0


def test_loop(seed: int, bars: int = 1, tempo_bpm: float = 120.0) -> np.ndarray:
    """A stereo loop of ``bars`` bars with a decaying tone on every beat; float32 (frames, 2)."""
    rng = np.random.default_rng(seed)
    beat_frames = int(round(60.0 * SAMPLE_RATE / tempo_bpm))
    frames = 4 * bars * beat_frames
    t = np.arange(beat_frames) / SAMPLE_RATE
    hit = np.sin(2 * np.pi * rng.uniform(80, 800) * t) * np.exp(-t * rng.uniform(4, 12))
    mono = np.tile(hit, 4 * bars)[:frames] * 0.25
    stereo = np.stack([mono, np.roll(mono, int(rng.integers(0, 300)))], axis=1)
    return np.ascontiguousarray(stereo, dtype=np.float32)


test_loop.__test__ = False    # a fixture builder, not a pytest test


def bench_engine(voices: int = 16, block_frames: int = 256, seconds: float = 20.0) -> dict:
    """Render ``seconds`` of ``voices`` looping stereo pads (volume, pan, master chain) on the daemon's
    default 64-pad engine; time every block."""
    if not 1 <= voices <= 64:
        raise ValueError("--voices must be 1..64")
    if not 16 <= block_frames <= 4096:
        raise ValueError("--block must be 16..4096 frames")
    engine = Engine(sample_rate=SAMPLE_RATE, max_block_frames=max(2048, block_frames))
    engine.post(c.SetQuantize(c.Quantize.OFF))
    for pad in range(voices):
        engine.post(c.LoadPad(pad, test_loop(pad, bars=1 + pad % 2), 120.0, volume=0.7, pan=pad / 8 - 1))
        engine.post(c.PressPad(pad))
    out = np.zeros((block_frames, 2), np.float32)
    for _ in range(200):
        engine.render(out, block_frames)
    blocks = max(1, int(seconds * SAMPLE_RATE / block_frames))
    render_ns = np.zeros(blocks, np.int64)
    sys.setswitchinterval(0.001)
    gc.freeze()
    for index in range(blocks):
        started = time.perf_counter_ns()
        engine.render(out, block_frames)
        render_ns[index] = time.perf_counter_ns() - started
    budget_us = block_frames / SAMPLE_RATE * 1e6
    render_us = render_ns / 1000.0
    return {
        "block_frames": block_frames,
        "voices": voices,
        "budget_us": round(budget_us, 1),
        "render_us_p50": round(float(np.percentile(render_us, 50)), 1),
        "render_us_p99": round(float(np.percentile(render_us, 99)), 1),
        "render_us_p999": round(float(np.percentile(render_us, 99.9)), 1),
        "dsp_load_p50": round(float(np.percentile(render_us, 50)) / budget_us, 4),
        "dsp_load_p999": round(float(np.percentile(render_us, 99.9)) / budget_us, 4),
    }


def bench_generate(runs: int = 24, bars: int = 4, tempo_bpm: int = 120) -> dict:
    """Time the offline generator: compose + render + loudness-normalise one loop, ``runs`` times over the
    genres, in a warm process like the daemon's long-lived worker (one untimed loop per genre first loads
    the SoundFont presets and drum kits); the quality metrics are timed separately."""
    from groovebox.generate import metrics
    from groovebox.generate.offline import GENRES, render_offline
    from groovebox.generate.request import GenerationRequest

    if not 1 <= runs <= 1000:
        raise ValueError("--runs must be 1..1000")
    for genre in GENRES:
        render_offline(GenerationRequest(prompt="warm-up", genre=genre, bpm=tempo_bpm, bars=bars), 0)
    generate_s, measure_s = [], []
    for run in range(runs):
        genre = GENRES[run % len(GENRES)]
        request = GenerationRequest(prompt=f"{genre} loop", genre=genre, bpm=tempo_bpm, bars=bars)
        started = time.perf_counter()
        loop = render_offline(request, seed=run + 1)
        audio = metrics.normalise_loop(loop.audio, SAMPLE_RATE)
        measured = time.perf_counter()
        metrics.measure(audio, SAMPLE_RATE, loop.bpm, loop.bars, scale=loop.scale)
        generate_s.append(measured - started)
        measure_s.append(time.perf_counter() - measured)
    return {
        "engine": "offline", "bars": bars, "bpm": tempo_bpm, "runs": runs,
        "generate_s_median": round(float(np.median(generate_s)), 4),
        "generate_s_max": round(float(np.max(generate_s)), 4),
        "measure_s_median": round(float(np.median(measure_s)), 4),
    }


def bench_soak(seconds: float = 60.0, block_frames: int = 256, generate: str = "", ahead_blocks: int = 3) -> dict:
    """Run the daemon with 16 playing pads through PortAudio on a private JACK dummy server.

    ``generate`` "offline", "lyria" or "both": meanwhile, generation jobs run back to back in the daemon's
    worker processes ("lyria" streams from the fake Lyria server in ``hw-mocks/``, started here)."""
    from groovebox.app import Daemon, DaemonOptions
    from groovebox.config import Settings
    from groovebox.hw.jackserver import DummyJackServer

    if generate not in ("", "offline", "lyria", "both"):
        raise ValueError("--generate must be offline, lyria or both")
    with tempfile.TemporaryDirectory(prefix="groovebox-soak-") as tmp, \
            DummyJackServer(block_frames=block_frames, realtime=can_realtime()) as server, \
            _fake_lyria(generate) as lyria_url:
        server.apply_env()
        project_file = _write_soak_project(Path(tmp))
        settings = Settings.model_validate({"audio": {"backend": "portaudio", "block_frames": block_frames,
                                                      "ahead_blocks": ahead_blocks},
                                            "generate": {"lyria_base_url": lyria_url}})
        daemon = Daemon(settings, DaemonOptions(project_file=project_file, data_dir=Path(tmp) / "data",
                                                serve_web=False))
        result = asyncio.run(_soak(daemon, server, seconds, generate))
        return {"seconds": seconds, "block_frames": block_frames, "ahead_blocks": ahead_blocks, **result}


def can_realtime() -> bool:
    """Whether this process may use SCHED_FIFO (root, or an rtprio limit as audio users get on the Pi)."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    except (OSError, AttributeError):
        return False
    os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    return True


@contextlib.contextmanager
def _fake_lyria(generate: str):
    """The fake Lyria server from ``hw-mocks/`` when ``generate`` needs it (yields its URL, else "").

    Sets ``SSL_CERT_FILE`` and a fake ``GEMINI_API_KEY`` in this process's environment, which the
    daemon's spawned workers inherit."""
    if generate not in ("lyria", "both"):
        yield ""
        return
    script = Path(__file__).resolve().parents[1] / "hw-mocks" / "fake_lyria.py"
    if not script.is_file():
        raise RuntimeError(f"--generate {generate} needs the fake Lyria server {script} (a source checkout)")
    spec = importlib.util.spec_from_file_location("fake_lyria", script)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("fake_lyria", module)      # its dataclasses look their module up
    spec.loader.exec_module(module)
    fake = module.FakeLyriaProcess("--realtime", "--chunk-s", "1")
    saved = {name: os.environ.get(name) for name in ("SSL_CERT_FILE", "GEMINI_API_KEY")}
    os.environ.update(SSL_CERT_FILE=fake.ready["cert"], GEMINI_API_KEY="soak-test-key")
    try:
        yield fake.ready["url"]
    finally:
        fake.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


async def _generate_continuously(generator, generate: str, stop: asyncio.Event, finished: list) -> None:
    """Submit one generation job after another until ``stop`` (engines alternate for "both")."""
    from groovebox.generate.request import GenerationRequest

    engines = {"offline": ["offline"], "lyria": ["lyria"], "both": ["offline", "lyria"]}[generate]
    for round_ in itertools.count():
        engine = engines[round_ % len(engines)]
        job = generator.submit(GenerationRequest(prompt="soak test groove", bpm=120, bars=4, engine=engine))
        while job.state not in ("done", "failed", "cancelled"):
            if stop.is_set():
                generator.cancel(job.job_id)
                return
            await asyncio.sleep(0.05)
        finished.append((engine, job.state, job.error))


async def _soak(daemon, server, seconds: float, generate: str = "") -> dict:
    """Serve, press every pad, settle, then count underruns and xruns for ``seconds`` while all pads play
    (and generation jobs run, with ``generate``).

    The settle second leaves out the one xrun JACK reports when a new client joins the graph.
    """
    stop = asyncio.Event()
    serving = asyncio.create_task(daemon.serve(stop))
    while daemon.session is None:
        await asyncio.sleep(0.01)
    stats = daemon.audio.stats
    for pad in range(16):
        daemon.session.press(pad)
    await asyncio.sleep(_SETTLE_S)
    underruns, xruns, callbacks = stats.underruns, server.xruns, stats.callbacks
    finished: list = []
    generating = asyncio.create_task(_generate_continuously(daemon.generator, generate, stop, finished)) \
        if generate else None
    await asyncio.sleep(seconds)
    result = {
        "underruns": stats.underruns - underruns,
        "jack_xruns": server.xruns - xruns,
        "dsp_load_p999": round(_recent_percentile(stats, stats.callbacks - callbacks, 99.9), 4),
    }
    if generating is not None:
        generating.cancel()
        result["jobs_done"] = {engine: sum(1 for e, state, _ in finished if e == engine and state == "done")
                               for engine in ("offline", "lyria") if generate in (engine, "both")}
        result["jobs_failed"] = [f"{engine}: {error}" for engine, state, error in finished if state == "failed"]
    stop.set()
    await serving
    return result


def _recent_percentile(stats, callbacks: int, q: float) -> float:
    """Percentile of the DSP load over the last ``callbacks`` callbacks (as many as the ring holds)."""
    loads = stats.recent_loads(callbacks)
    return float(np.percentile(loads, q)) if len(loads) else 0.0


def _write_soak_project(folder: Path) -> Path:
    pads = []
    for pad in range(16):
        name = f"loop{pad}.flac"
        soundfile.write(folder / name, test_loop(pad, bars=1 + pad % 2), SAMPLE_RATE)
        pads.append({"padIndex": pad, "audioPath": name, "volume": 0.6, "pan": pad / 8 - 1, "launchMode": "toggle"})
    project = {"projectName": "soak", "bpm": 120, "quantizeGrid": "off", "pads": pads}
    path = folder / "soak.json"
    path.write_text(json.dumps(project))
    return path


def bench_render(seconds: float = 180.0, tracks: int = 8, block_frames: int = 2048, tempo_bpm: float = 120.0) -> dict:
    """Export a generated song of ``seconds`` with ``tracks`` tracks to 24-bit WAV, as ``groovebox render``
    does (decode, render through the engine, write), and report the real-time factor (audio s / wall s)."""
    from groovebox.project.model import load_project
    from groovebox.project.render import render_project, write_audio

    if not 1 <= tracks <= 64:
        raise ValueError("--tracks must be 1..64")
    if not 1.0 <= seconds <= 3600.0:
        raise ValueError("--seconds must be 1..3600")
    if not 16 <= block_frames <= 8192:
        raise ValueError("--block must be 16..8192 frames")
    bars = max(1, round(seconds * tempo_bpm / 240.0))
    with tempfile.TemporaryDirectory(prefix="groovebox-render-") as tmp:
        folder = Path(tmp)
        project_file, clips = _write_song_project(folder, bars, tracks, tempo_bpm)
        started = time.perf_counter()
        project = load_project(project_file)
        audio = render_project(project, project_file, [], block_frames=block_frames)
        rendered = time.perf_counter()
        write_audio(folder / "song.wav", audio, bits=24)
        written = time.perf_counter()
        size_bytes = (folder / "song.wav").stat().st_size
    audio_s = len(audio) / SAMPLE_RATE
    return {
        "tracks": tracks, "clips": clips, "bars": bars, "audio_s": round(audio_s, 3), "block_frames": block_frames,
        "render_s": round(rendered - started, 3), "write_s": round(written - rendered, 3),
        "wav_mb": round(size_bytes / 1e6, 1), "peak_dbfs": round(20 * np.log10(max(float(np.abs(audio).max()), 1e-9)), 2),
        "realtime_factor": round(audio_s / (written - started), 1),
    }


def _write_song_project(folder: Path, bars: int, tracks: int, tempo_bpm: float) -> tuple[Path, int]:
    """Loops of 1-4 bars (some recorded at other tempos, so they play by varispeed) and a song that brings
    tracks in and out every 8 bars, with repeats, trims and offsets. Returns (project file, clip count)."""
    song_tracks, clips = [], 0
    for track in range(tracks):
        loop_bars, native_bpm = 1 + track % 4, (tempo_bpm, 100.0, 110.0)[track % 3]
        name = f"loop{track}.wav"
        soundfile.write(folder / name, test_loop(track, bars=loop_bars, tempo_bpm=native_bpm), SAMPLE_RATE,
                        subtype="FLOAT")
        placed = []
        for section, start_bar in enumerate(range(0, bars, 8)):
            if (section + track) % 4 == 3:
                continue                                        # the track rests for this section
            clip = {"audioPath": name, "startBar": start_bar, "durationBars": float(min(8 - track % 2, bars - start_bar))}
            if section % 3 == 1:
                clip["startOffsetInLoopSeconds"] = 0.25
            placed.append(clip)
        clips += len(placed)
        song_tracks.append({"trackName": f"track {track}", "volume": 0.5, "pan": (track % 5 - 2) / 4, "clips": placed})
    project = {"projectName": "render bench", "bpm": tempo_bpm, "masterVolume": 0.8, "tracks": song_tracks}
    path = folder / "song.json"
    path.write_text(json.dumps(project))
    return path, clips
