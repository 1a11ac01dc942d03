"""Make one generated loop: pick the engine, generate, normalise, measure, write the file and its record.

Runs in a generation worker process (``jobs.py``) or in the ``groovebox generate`` CLI process; never in the
daemon's process, whose audio thread must not lose the GIL to a long numpy or JSON call.

Decisions:
- ``auto`` uses Lyria when a key is configured, else the offline generator. If Lyria then turns out to be
  unreachable or refuses the key, ``auto`` falls back to the offline generator and says why in the
  result's ``warning``; an explicit ``lyria`` request fails with Lyria's message instead. A filtered
  prompt always fails (generating something else offline would not be what was asked for).
- numpy-heavy modules (metrics, the generators, the Lyria client) are imported when first used, so the
  daemon, which imports this module for ``GeneratorConfig``, starts fast.
- Every loop is normalised to ``metrics.TARGET_LUFS`` with peaks at or below ``metrics.CEILING_DBFS``.
- The record written next to the audio (``<name>.json``) holds the request, engine, seed, tempo, bars,
  frames, scale and metrics, so any loop can be reproduced and its quality checked later.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile

from groovebox.generate.apikey import load_api_key
from groovebox.generate.request import DEFAULT_BPM, GenerationRequest, Scale

if TYPE_CHECKING:
    from groovebox.generate.metrics import LoopMetrics

__all__ = ["GeneratorConfig", "GeneratedLoop", "GenerationError", "generate_option", "write_loop", "SAMPLE_RATE"]

log = logging.getLogger(__name__)

SAMPLE_RATE = 48000
ProgressCallback = Callable[[str, float], None]


class GenerationError(Exception):
    """A generation that failed, with a message a performer can act on."""


@dataclass(frozen=True)
class GeneratorConfig:
    """What a worker needs besides the request (picklable; never holds the API key itself)."""

    engine: str = "auto"
    key_file: str = "/etc/groovebox/gemini-api-key"
    lyria_base_url: str = ""
    lyria_api_version: str = "v1alpha"
    lyria_model: str = "models/lyria-realtime-exp"

    @classmethod
    def from_settings(cls, settings) -> GeneratorConfig:
        """From ``Settings.generate``."""
        return cls(engine=settings.engine, key_file=settings.key_file, lyria_base_url=settings.lyria_base_url,
                   lyria_api_version=settings.lyria_api_version, lyria_model=settings.lyria_model)


@dataclass(frozen=True)
class GeneratedLoop:
    """One finished option: normalised audio plus everything needed to reproduce and judge it."""

    audio: np.ndarray
    engine: str
    request: GenerationRequest
    seed: int
    bpm: float
    bars: int
    scale: Scale
    genre: str
    metrics: LoopMetrics
    warning: str = ""
    elapsed_s: float = 0.0
    extra: dict = field(default_factory=dict)

    def record(self) -> dict:
        """The JSON-ready description stored next to the audio and returned by ``--json``."""
        return {
            "engine": self.engine,
            "prompt": self.request.prompt,
            "request": self.request.model_dump(mode="json"),
            "seed": self.seed,
            "bpm": self.bpm,
            "bars": self.bars,
            "frames": int(self.audio.shape[0]),
            "duration_s": round(self.audio.shape[0] / SAMPLE_RATE, 4),
            "scale": self.scale.value,
            "genre": self.genre,
            "metrics": self.metrics.as_dict(),
            "warning": self.warning,
            "elapsed_s": round(self.elapsed_s, 3),
            **self.extra,
        }


def generate_option(request: GenerationRequest, option: int, config: GeneratorConfig = GeneratorConfig(), *,
                    progress: ProgressCallback | None = None, cancel=None) -> GeneratedLoop:
    """Option ``option`` (0-based) of ``request`` (which must have a seed: ``request.resolved()``)."""
    started = time.perf_counter()
    seed = request.option_seed(option)
    report = progress or (lambda stage, percent: None)
    engine = request.engine if request.engine != "auto" else config.engine
    warning = ""
    if engine != "offline":
        api_key = _api_key(config, required=engine == "lyria")
        if api_key is None:
            engine = "offline"
        else:
            try:
                return _finish(_lyria(request, seed, api_key, config, report, cancel), started)
            except _Fallback as fallback:
                if engine == "lyria":
                    raise GenerationError(str(fallback)) from None
                warning = f"{fallback} (made with the offline generator instead)"
                log.warning("lyria unavailable, using the offline generator: %s", fallback)
    loop = _offline(request, seed, report)
    return _finish(loop, started, warning)


class _Fallback(Exception):
    """Lyria could not be used (unreachable, or the key was refused); offline may stand in."""


def _api_key(config: GeneratorConfig, *, required: bool) -> str | None:
    from groovebox.generate.apikey import ApiKeyError

    try:
        key = load_api_key(Path(config.key_file) if config.key_file else None)
    except ApiKeyError as error:
        if required:
            raise GenerationError(str(error)) from None
        log.warning("%s; using the offline generator", error)
        return None
    if key is None and required:
        raise GenerationError("no Gemini API key: set GEMINI_API_KEY or put the key in "
                              f"{config.key_file} (chmod 600), or use the offline generator")
    return key


def _lyria(request: GenerationRequest, seed: int, api_key: str, config: GeneratorConfig,
           report: ProgressCallback, cancel) -> GeneratedLoop:
    from groovebox.generate import lyria, metrics

    endpoint = lyria.LyriaEndpoint(base_url=config.lyria_base_url or None, api_version=config.lyria_api_version,
                                   model=config.lyria_model)
    try:
        cut = lyria.capture_loop_sync(request, seed, api_key=api_key, endpoint=endpoint,
                                      progress=lambda stage, percent: report(stage, percent * 0.9), cancel=cancel)
    except lyria.LyriaCancelled:
        raise GenerationError("cancelled") from None
    except (lyria.LyriaUnavailable, lyria.LyriaAuthError) as error:
        raise _Fallback(error.message) from None
    except lyria.LyriaError as error:
        raise GenerationError(error.message) from None
    bpm = request.bpm if request.bpm is not None else DEFAULT_BPM
    report("normalising", 95.0)
    audio = metrics.normalise_loop(cut.audio, SAMPLE_RATE)
    return GeneratedLoop(audio=audio, engine="lyria", request=request, seed=seed, bpm=float(bpm), bars=request.bars,
                         scale=request.scale, genre=request.genre,
                         metrics=_stream_seam(metrics.measure(audio, SAMPLE_RATE, bpm, request.bars,
                                                              scale=_tonal(request.scale)), cut.seam_db),
                         extra={"stream_start_frame": cut.start_frame})


def _stream_seam(measured, stream_seam_db: float):
    """A capture's seam is judged against the stream it was cut from (the wrap vs the stream's own
    continuation at the cut point): the loop's other bar lines hold different music. Measured by the cutter
    before normalising, when loop and stream still have the same gain."""
    return dataclasses.replace(measured, seam_db=round(float(stream_seam_db), 2))


def _offline(request: GenerationRequest, seed: int, report: ProgressCallback) -> GeneratedLoop:
    from groovebox.generate import metrics
    from groovebox.generate.offline import render_offline

    report("composing", 10.0)
    loop = render_offline(request, seed, sample_rate=SAMPLE_RATE)
    report("normalising", 80.0)
    try:
        audio = metrics.normalise_loop(loop.audio, SAMPLE_RATE)
    except ValueError as error:
        raise GenerationError(f"the offline generator made silence ({error}); try other words or parts") from None
    tonal = _tonal(loop.scale) if set(loop.parts) - {"drums"} else None
    return GeneratedLoop(audio=audio, engine="offline", request=request, seed=seed, bpm=float(loop.bpm),
                         bars=loop.bars, scale=loop.scale, genre=loop.genre,
                         metrics=metrics.measure(audio, SAMPLE_RATE, loop.bpm, loop.bars, scale=tonal),
                         extra={"parts": list(loop.parts)})


def _tonal(scale: Scale) -> Scale | None:
    return None if scale == Scale.SCALE_UNSPECIFIED else scale


def _finish(loop: GeneratedLoop, started: float, warning: str = "") -> GeneratedLoop:
    from dataclasses import replace

    return replace(loop, warning=warning or loop.warning, elapsed_s=time.perf_counter() - started)


_PART_CATEGORIES = {("drums",): "drums", ("bass",): "bass", ("bass", "drums"): "drums"}


def add_to_library(loop: GeneratedLoop, data_dir: Path, option: int) -> dict:
    """Store ``loop`` in the library under ``data_dir`` (source "generated", with its prompt, config and
    seed); returns the record (with ``loopId`` and ``path``). Runs in the worker: encoding and analysis
    stay out of the daemon."""
    from groovebox.library.store import Library, LibraryError

    record = loop.record()
    parts = tuple(sorted(record.get("parts", ())))
    name = f"{loop.request.prompt[:60]} #{option + 1}"
    try:
        with Library(data_dir) as library:
            stored = library.add(loop.audio, name=name, source="generated", category=_PART_CATEGORIES.get(parts),
                                 tags=tuple(t for t in (loop.genre, loop.engine) if t), bpm=loop.bpm,
                                 bars=loop.bars, key=_tonal(loop.scale) or "", prompt=loop.request.prompt,
                                 generation_config=record["request"], seed=loop.seed)
            path = library.path(stored.loop_id)
    except LibraryError as error:
        raise GenerationError(f"cannot store the loop in the library: {error}") from None
    return {"loopId": stored.loop_id, "name": stored.name, "path": str(path), **record}


def write_loop(loop: GeneratedLoop, path: Path) -> dict:
    """Write the audio (format from the suffix: .wav 24-bit, .flac 24-bit) and ``<path>.json`` atomically;
    returns the record (with ``path``)."""
    path = Path(path)
    kind = path.suffix.lower()
    if kind not in (".wav", ".flac"):
        raise GenerationError(f"{path.name}: output must end in .wav or .flac")
    record = {"path": str(path), **loop.record()}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise GenerationError(f"cannot create {path.parent}: {error.strerror or error}") from None
    _atomic(path, lambda temp: soundfile.write(temp, loop.audio, SAMPLE_RATE, subtype="PCM_24",
                                               format=kind[1:].upper()))
    sidecar = path.with_suffix(".json")
    _atomic(sidecar, lambda temp: temp.write_text(json.dumps(record, indent=1)))
    return record


def _atomic(target: Path, write: Callable[[Path], None]) -> None:
    temp = target.with_name(f".{target.name}.partial")
    try:
        write(temp)
        temp.replace(target)
    except (OSError, soundfile.LibsndfileError) as error:
        raise GenerationError(f"cannot write {target}: {getattr(error, 'strerror', None) or error}") from None
    finally:
        temp.unlink(missing_ok=True)
