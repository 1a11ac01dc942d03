"""Keeps loaded pads at the project tempo with pitch-preserving stretches rendered in a background worker.

Control loop only (asyncio), except ``_serve`` which is the worker process's entry point. The stretcher sits
between whoever loads pads (the editor, the app) and ``Engine.post``: ``post`` forwards every command and
remembers each pad's original ``LoadPad`` (audio, native tempo, settings). ``on_tempo`` (or an engine
``TempoChanged`` event via ``on_event``) asks for a stretch of every loaded pad whose native tempo differs
from the project's by more than 0.01 BPM; until it is ready the engine keeps varispeeding the original.

Decisions:
- ONE worker process, spawned at construction (the daemon builds it before the audio opens, so the start is
  not heard), moved to SCHED_IDLE plus ``nice`` like the generation pool, with one BLAS thread. It is
  separate from the generation pool so a long generation job does not hold up a tempo change.
- The worker stretches (``library/stretch.py``) and writes the result into the ``StretchCache``; it sends
  back only the key. The control loop reads the ``.npy`` file (``np.load``). Cached results skip the worker.
- The swap: a ready stretch is posted as a timed ``LoadPad`` for the next bar line's frame, once that bar
  line is less than ``LEAD_S`` away (``run`` wakes up in time), so it lands exactly on the bar. The engine
  continues a playing pad from the same beat in the new audio and crossfades over its declick frames, so
  neither the rhythm nor the level jumps. The swap carries ``only_replacing`` (the audio the pad holds when
  it is posted): if the pad gets other audio before that bar line (a new loop, a clear), the engine drops the
  swap instead of bringing the old loop back. A tempo change inside ``LEAD_S`` can move the bar line away from
  the frame already chosen; the swap then lands up to that far from the bar.
- A result is posted only if the tempo it was made for is still the project tempo and the pad still holds
  the same original loop; otherwise it stays in the cache (a tempo change back is then instant).
- The swap ``LoadPad`` keeps the pad's region scaled to the new length, volume, pan, launch mode, choke group
  and quantize, and says ``native_bpm=target``: the engine then plays it at rate 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import multiprocessing
import queue
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from groovebox.background import start_in_background
from groovebox.engine import commands as c
from groovebox.engine.events import TempoChanged
from groovebox.library.stretch import MAX_RATIO, MIN_RATIO, StretchCache, audio_key

__all__ = ["Stretcher", "TEMPO_TOLERANCE_BPM"]

log = logging.getLogger(__name__)

TEMPO_TOLERANCE_BPM = 0.01
LEAD_S = 0.15                  # a swap is posted this long before its bar line (at most)
_CONTEXT = multiprocessing.get_context("spawn")


@dataclass
class _PadSource:
    """A pad's original load and what was asked for it."""

    load: c.LoadPad
    key: str
    requested_bpm: float | None = None
    swapped_bpm: float | None = None
    engine_audio: np.ndarray | None = None     # what the engine holds (after the last swap we posted)

    def __post_init__(self) -> None:
        if self.engine_audio is None:
            self.engine_audio = self.load.audio


class Stretcher:
    """See the module docstring. ``post`` is ``Engine.post``; ``beat_now`` reads the engine's current beat."""

    def __init__(self, post: Callable[[c.Command], None], cache: StretchCache, *, tempo_bpm: float,
                 beat_now: Callable[[], float], beat_frame: Callable[[float], int], beats_per_bar: int = 4,
                 sample_rate: int = 48000, nice: int = 10) -> None:
        self._post = post
        self.cache = cache
        self.tempo_bpm = tempo_bpm
        self._beat_now = beat_now
        self._beat_frame = beat_frame            # the engine frame a beat falls on (``TempoClock.grid_frame``)
        self.beats_per_bar = beats_per_bar
        self.sample_rate = sample_rate
        self._pads: dict[int, _PadSource] = {}
        self._ready: dict[int, tuple[float, np.ndarray]] = {}     # pad -> (target bpm, audio) awaiting a bar
        self._pending: set[tuple[str, float]] = set()
        self._inbox = _CONTEXT.Queue()
        self._inbox.cancel_join_thread()   # audio still queued for a worker that died must not hang our exit
        self._results = _CONTEXT.Queue()
        self.process = _CONTEXT.Process(target=_serve, name="stretch-worker", daemon=True,
                                        args=(self._inbox, self._results, str(cache.cache_dir), cache.max_bytes,
                                              sample_rate))
        start_in_background(self.process, nice)

    # ------------------------------------------------------------------ control loop API
    def post(self, command: c.Command) -> None:
        """Forward ``command`` to the engine, remembering pad loads (so they can be stretched) and tempo.
        A region change for a pad that holds a stretch is scaled to the stretched audio's frames."""
        self._post(self._scaled_region(command) if isinstance(command, c.SetPadRegion) else command)
        if isinstance(command, c.LoadPad):
            self._pads[command.pad] = _PadSource(command, audio_key(command.audio))
            self._ready.pop(command.pad, None)
            self._request(command.pad)
        elif isinstance(command, (c.UnloadPad, c.AttachStream)):
            self._pads.pop(command.pad, None)
            self._ready.pop(command.pad, None)
        elif isinstance(command, (c.SetPadMix, c.SetPadRegion)) and command.pad in self._pads:
            self._remember_settings(command)
        elif isinstance(command, c.SetTempo):
            self.on_tempo(command.tempo_bpm)

    def on_event(self, event: object) -> None:
        """An engine event (``Session.event_listeners``): tempo changes from any source are followed."""
        if isinstance(event, TempoChanged):
            self.on_tempo(event.tempo_bpm)

    def on_tempo(self, tempo_bpm: float) -> None:
        """The project tempo is now ``tempo_bpm``: request stretches for every pad that needs one."""
        if abs(tempo_bpm - self.tempo_bpm) <= 1e-9:
            return
        self.tempo_bpm = tempo_bpm
        for pad in list(self._pads):
            self._request(pad)

    def poll(self) -> int:
        """Collect finished stretches; when the next bar line is near, post the ready swaps timed for it.
        Returns swaps posted."""
        self._collect()
        if not self._ready:
            return 0
        next_bar, seconds_to_bar = self._next_bar()
        if seconds_to_bar > LEAD_S:
            return 0
        at_frame = self._beat_frame(next_bar)
        posted = 0
        for pad, (target_bpm, audio) in list(self._ready.items()):
            del self._ready[pad]
            if self._still_wanted(pad, target_bpm):
                self._swap(pad, target_bpm, audio, at_frame)
                posted += 1
        return posted

    async def run(self, stop: asyncio.Event) -> None:
        """Poll, waking just after each bar line while a swap waits (else every 50 ms), until ``stop``."""
        try:
            while not stop.is_set():
                self.poll()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._sleep_s())
        finally:
            self.close()

    def close(self) -> None:
        """Stop the worker (safe to call twice)."""
        if self.process.is_alive():
            self._inbox.put(None)
            self.process.join(2.0)
            if self.process.is_alive():
                self.process.terminate()

    # ------------------------------------------------------------------ internals
    def _scaled_region(self, command: c.SetPadRegion) -> c.SetPadRegion:
        source = self._pads.get(command.pad)
        if source is None or source.swapped_bpm is None:
            return command
        scale = source.load.native_bpm / source.swapped_bpm
        return replace(command, region_start_frame=round(command.region_start_frame * scale),
                       region_end_frame=round(command.region_end_frame * scale))

    def _remember_settings(self, command: c.SetPadMix | c.SetPadRegion) -> None:
        source = self._pads[command.pad]
        if isinstance(command, c.SetPadMix):
            source.load = replace(source.load, volume=command.volume, pan=command.pan)
        else:
            source.load = replace(source.load, region_start_frame=command.region_start_frame,
                                  region_end_frame=command.region_end_frame)

    def _target_for(self, source: _PadSource) -> float | None:
        """The tempo this pad should be stretched to, or None (close enough, stream, out of range)."""
        native = source.load.native_bpm
        if abs(native - self.tempo_bpm) <= TEMPO_TOLERANCE_BPM:
            return None
        if not MIN_RATIO <= self.tempo_bpm / native <= MAX_RATIO:
            return None                      # varispeed only: beyond this a stretch sounds worse
        return round(self.tempo_bpm, 2)

    def _request(self, pad: int) -> None:
        source = self._pads[pad]
        target = self._target_for(source)
        if target is None:
            source.requested_bpm = None
            if source.swapped_bpm is not None:
                self._post(source.load)      # back at the loop's own tempo: the original audio again
                source.swapped_bpm = None
                source.engine_audio = source.load.audio
            return
        if target in (source.requested_bpm, source.swapped_bpm):
            return
        source.requested_bpm = target
        cached = self.cache.get(source.key, target)
        if cached is not None:
            self._ready[pad] = (target, cached)
        elif (source.key, target) not in self._pending:
            self._pending.add((source.key, target))
            self._inbox.put((source.key, target, source.load.audio, source.load.native_bpm))

    def _collect(self) -> None:
        while True:
            try:
                key, target, error = self._results.get_nowait()
            except queue.Empty:
                return
            self._pending.discard((key, target))
            if error:
                log.warning("time-stretch to %.2f BPM failed: %s (the pad keeps varispeeding)", target, error)
                continue
            for pad, source in self._pads.items():
                if source.key == key and source.requested_bpm == target:
                    audio = self.cache.get(key, target)
                    if audio is not None:
                        self._ready[pad] = (target, audio)

    def _still_wanted(self, pad: int, target_bpm: float) -> bool:
        source = self._pads.get(pad)
        return source is not None and self._target_for(source) == target_bpm

    def _swap(self, pad: int, target_bpm: float, audio: np.ndarray, at_frame: int) -> None:
        source = self._pads[pad]
        load = source.load
        scale = len(audio) / len(load.audio)
        self._post(replace(load, audio=audio, native_bpm=target_bpm,
                           region_start_frame=round(load.region_start_frame * scale),
                           region_end_frame=round(load.region_end_frame * scale),
                           at_frame=at_frame, only_replacing=source.engine_audio))
        source.engine_audio = audio
        source.swapped_bpm = target_bpm

    def _next_bar(self) -> tuple[float, float]:
        """The beat of the next bar line and the seconds until it."""
        beat = self._beat_now()
        next_bar = (math.floor(beat / self.beats_per_bar) + 1) * self.beats_per_bar
        return next_bar, (next_bar - beat) * 60.0 / self.tempo_bpm

    def _sleep_s(self) -> float:
        if not self._ready:
            return 0.05
        seconds_to_bar = self._next_bar()[1]
        return min(0.05, max(0.001, seconds_to_bar - LEAD_S / 2))

    @property
    def busy(self) -> bool:
        """True while a stretch is being rendered or waits for a bar line."""
        return bool(self._pending or self._ready)


# ---------------------------------------------------------------------- worker process
def _serve(inbox, results, cache_dir: str, max_bytes: int, sample_rate: int) -> None:
    """Worker entry point: stretch each (key, target, audio, native) into the cache; report (key, target, error)."""
    from groovebox.library.stretch import stretch_loop

    cache = StretchCache(Path(cache_dir), max_bytes)
    while (item := inbox.get()) is not None:
        key, target_bpm, audio, native_bpm = item
        try:
            cache.put(key, target_bpm, stretch_loop(audio, native_bpm, target_bpm, sample_rate))
            results.put((key, target_bpm, ""))
        except Exception as error:            # reported; the pad keeps varispeeding
            results.put((key, target_bpm, f"{type(error).__name__}: {error}"))
