"""Effect buses and the master insert: sends, injected processors and click-free changes (audio thread).

``Effects`` belongs to one ``Engine``; ``render`` drives it on the audio thread, the control thread only
posts ``SetEffect``/``SetSends`` commands. The engine never imports an effect library: a processor is any
object with ``process(block) -> block`` (float32 (frames, 2) in, the same shape out) and ``reset()``, built
above the engine (``groovebox/fx`` wraps pedalboard) and handed in by ``SetEffect``.

Decisions:
- A fixed set: ``BUSES`` send buses plus one master insert. Pads and song tracks send to the buses
  post-fader (the voice after its volume/pan/mute gain) with levels 0..1; the buses' returns are summed
  into the mix, and the master insert processes the whole mix (metronome included) before the master
  chain (volume, limiter). A bus without a processor is silent; a master insert without one passes the mix.
- Processing runs once per block, after every segment of the block has been summed into the bus inputs,
  so the result depends on the block size only as far as the processor does (pedalboard's streaming
  ``process(..., reset=False)`` keeps state across blocks; its reverb, delay, filters and compressor give
  the same samples for any block size). The engine's ``render`` splits blocks longer than
  ``max_block_frames``, so an export that renders with a fixed block size equals every other render of
  the same project with that block size.
- Click-free changes. A new processor for a slot crossfades (equal gain, linear, ``FADE_FRAMES`` = 20 ms,
  on absolute frames) from the old one: the old processor's output fades out while the new processor's
  *input* fades in. Fading the new one's input rather than its output matters for effects with memory: a
  fresh delay line fed a signal cut in mid-waveform would repeat that cut as a click one delay later;
  fed a faded-in signal its echoes fade in too (for memoryless effects the two are the same). "No
  processor" is silence for a bus and the dry mix for the master insert, so toggling is the same
  crossfade. Both processors run during the fade. A change arriving during a fade waits for it to end (the latest waiting one wins; the
  skipped ones are released unused), so at most two processors run per slot. The old processor's tail
  (a reverb's decay) ends with the fade: a change restarts the effect's tail. Before the first rendered
  frame (a session or an export starting) a processor is taken at once, without a fade.
- Send level changes glide linearly over ``GLIDE_FRAMES`` (as volume does), per source, on absolute frames
  (before the first rendered frame they apply at once).
- Processors leave the audio thread in ``EffectReleased`` events ``FADE_FRAMES`` after they stop being used,
  so pedalboard objects are freed on the control thread.
- A processor that raises, or returns the wrong shape, is dropped on the spot (the slot becomes empty,
  an ``EffectFailed`` event says which); ``render`` never raises because of an effect.
- With no processor anywhere (``enabled`` False) the engine skips all of this: its output is bit-identical
  to an engine without effects and allocation-free. With processors, the processors allocate (pedalboard
  returns new arrays); the engine's own work stays in preallocated buffers.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from groovebox.engine.events import EffectFailed, EffectReleased
from groovebox.engine.gain import GLIDE_FRAMES

__all__ = ["BUSES", "FADE_FRAMES", "MASTER", "EffectSlot", "Effects", "Processor"]

BUSES = 4
MASTER = BUSES               # slot index of the master insert
FADE_FRAMES = 960            # 20 ms at 48 kHz


class Processor(Protocol):
    """What a bus or the master insert holds (built above the engine, e.g. ``groovebox.fx.FxProcessor``)."""

    def process(self, block: np.ndarray) -> np.ndarray:
        """Process the next ``len(block)`` frames (float32 (frames, 2)); returns the same shape."""

    def reset(self) -> None:
        """Forget all state (tails, envelopes)."""


class EffectSlot:
    """One bus or the master insert: its processor, the one it is fading from, the one waiting."""

    __slots__ = (
        "_new_in",
        "_new_out",
        "_old_out",
        "_ramp",
        "fade_start",
        "fading",
        "has_pending",
        "index",
        "insert",
        "old",
        "pending",
        "processor",
    )

    def __init__(self, index: int, insert: bool, max_block_frames: int) -> None:
        self.index = index
        self.insert = insert                 # True: the master insert (None = dry), else a bus (None = silent)
        self.processor: Processor | None = None
        self.old: Processor | None = None
        self.fading = False
        self.fade_start = 0
        self.pending: Processor | None = None
        self.has_pending = False
        self._new_in = np.zeros((max_block_frames, 2), np.float32)
        self._new_out = np.zeros((max_block_frames, 2), np.float32)
        self._old_out = np.zeros((max_block_frames, 2), np.float32)
        self._ramp = np.zeros((max_block_frames, 2), np.float32)

    @property
    def live(self) -> bool:
        """Whether the slot makes any sound (a processor, or a fade from one)."""
        return self.processor is not None or (self.fading and self.old is not None)


class Effects:
    """The buses, the master insert and every source's send levels of one engine (see the module docstring).

    Sources are numbered: pads ``0 .. pads-1``, song tracks ``pads + track``.
    """

    def __init__(self, max_block_frames: int, sources: int, emit) -> None:
        self.slots = [EffectSlot(i, i == MASTER, max_block_frames) for i in range(BUSES + 1)]
        self.bus_in = np.zeros((BUSES, max_block_frames, 2), np.float32)
        self._work = np.zeros((max_block_frames, 2), np.float32)
        self._ramp = np.zeros(max_block_frames, np.float32)
        self._arange = np.arange(max_block_frames, dtype=np.float32)
        self._emit = emit                                  # event -> engine outbox
        self._released: list[tuple[int, object]] = []      # (release frame, processor)
        self.enabled = False
        self.block_start = 0
        self._bus_live = [False] * BUSES
        self._start = [[0.0] * BUSES for _ in range(sources)]
        self._target = [[0.0] * BUSES for _ in range(sources)]
        self._glide_from = [0] * sources
        self._glide_until = [0] * sources
        self._sending = [False] * sources

    # ------------------------------------------------------------------ commands (audio thread, block start)
    def set_processor(self, slot_index: int, processor: Processor | None, at: int) -> None:
        """Crossfade slot ``slot_index`` to ``processor`` from ``at`` (or after the running fade)."""
        slot = self.slots[slot_index]
        if slot.fading:
            if slot.has_pending and slot.pending is not None:
                self._release(slot.pending, at)
            slot.pending, slot.has_pending = processor, True
        else:
            self._begin_fade(slot, processor, at)
        self._update_enabled()

    def set_sends(self, source: int, levels: tuple[float, ...], at: int) -> None:
        """Glide ``source``'s send levels to ``levels`` (one per bus) from ``at`` (at once before frame 1)."""
        self._start[source] = [self._level(source, bus, at) for bus in range(BUSES)] if at > 0 else list(levels)
        self._target[source] = list(levels)
        self._glide_from[source] = at
        self._glide_until[source] = at + GLIDE_FRAMES
        self._sending[source] = True

    def _begin_fade(self, slot: EffectSlot, processor: Processor | None, at: int) -> None:
        if processor is slot.processor:
            return
        if at <= 0:                                     # nothing rendered yet (a session or an export starts)
            if slot.processor is not None:
                self._release(slot.processor, at)
            slot.processor = processor
            return
        slot.old, slot.processor = slot.processor, processor
        slot.fading, slot.fade_start = True, at

    def _level(self, source: int, bus: int, frame: int) -> float:
        start, target = self._start[source][bus], self._target[source][bus]
        if frame >= self._glide_until[source]:
            return target
        t = max(0.0, (frame - self._glide_from[source]) / GLIDE_FRAMES)
        return start + (target - start) * t

    def _update_enabled(self) -> None:
        self.enabled = any(slot.processor is not None or slot.fading for slot in self.slots)

    # ------------------------------------------------------------------ mixing
    def begin_block(self, start: int, frames: int) -> None:
        """Start a block: clear the bus inputs of the buses that sound."""
        self.block_start = start
        for bus in range(BUSES):
            live = self.slots[bus].live
            self._bus_live[bus] = live
            if live:
                self.bus_in[bus, :frames].fill(0.0)

    def feed(self, source: int, voice: np.ndarray, at: int, n: int) -> None:
        """Add ``voice`` (frames ``at .. at+n-1``, post-fader) to the buses ``source`` sends to."""
        if not self._sending[source]:
            return
        gliding = at < self._glide_until[source]
        offset = at - self.block_start
        work = self._work[:n]
        sent = False
        for bus in range(BUSES):
            target = self._target[source][bus]
            if gliding:
                start = self._start[source][bus]
                if start == 0.0 and target == 0.0:
                    continue
                sent = True
                if not self._bus_live[bus]:
                    continue
                self._glide_gains(source, start, target, at, n)
                np.multiply(voice, self._work_ramp(n), out=work)
            else:
                if target == 0.0:
                    continue
                sent = True
                if not self._bus_live[bus]:
                    continue
                np.multiply(voice, target, out=work)
            destination = self.bus_in[bus, offset:offset + n]
            np.add(destination, work, out=destination)
        if not sent:
            self._sending[source] = False

    def _glide_gains(self, source: int, start: float, target: float, at: int, n: int) -> None:
        ramp = self._ramp[:n]
        np.add(self._arange[:n], at - self._glide_from[source], out=ramp)
        np.multiply(ramp, 1.0 / GLIDE_FRAMES, out=ramp)
        np.minimum(ramp, 1.0, out=ramp)
        np.maximum(ramp, 0.0, out=ramp)
        np.multiply(ramp, target - start, out=ramp)
        np.add(ramp, start, out=ramp)
        settled = max(0, self._glide_until[source] - at)
        ramp[settled:] = target                         # exactly the target, however blocks are cut

    def _work_ramp(self, n: int) -> np.ndarray:
        both = self.slots[0]._ramp[:n]                  # (n, 2): numpy allocates when it broadcasts (n,)
        both[:, 0] = self._ramp[:n]
        both[:, 1] = self._ramp[:n]
        return both

    def finish_block(self, mix: np.ndarray, start: int, frames: int) -> None:
        """Run the buses into ``mix[:frames]``, then the master insert on it; release finished processors."""
        for bus in range(BUSES):
            slot = self.slots[bus]
            if self._bus_live[bus]:
                wet = self._run_slot(slot, self.bus_in[bus, :frames], start, frames)
                np.add(mix, wet, out=mix)
            elif slot.fading:
                self._end_fade_if_done(slot, start, frames)
        master = self.slots[MASTER]
        if master.processor is not None or master.fading:
            np.copyto(mix, self._run_slot(master, mix, start, frames))
        self._release_due(start + frames)

    def _run_slot(self, slot: EffectSlot, block: np.ndarray, start: int, frames: int) -> np.ndarray:
        if not slot.fading:
            return self._output(slot, slot.processor, block, slot._new_out[:frames])
        ramp = self._fade_ramp(slot, start, frames)
        old = self._output(slot, slot.old, block, slot._old_out[:frames])
        faded_in = slot._new_in[:frames]
        np.multiply(block, ramp, out=faded_in)
        new = self._output(slot, slot.processor, faded_in, slot._new_out[:frames])
        np.subtract(1.0, ramp, out=ramp)
        np.multiply(old, ramp, out=old)
        np.add(new, old, out=new)
        self._end_fade_if_done(slot, start, frames)
        return new

    def _output(self, slot: EffectSlot, processor: Processor | None, block: np.ndarray,
                out: np.ndarray) -> np.ndarray:
        """``processor``'s output for ``block`` in ``out`` (dry or silence without one, or when it fails)."""
        if processor is not None:
            try:
                result = processor.process(block)
                if result.shape == out.shape:
                    np.copyto(out, result, casting="same_kind")
                    return out
                raise ValueError(f"returned shape {result.shape}, expected {out.shape}")
            except Exception as error:  # noqa: BLE001 - an effect must never stop the audio thread
                self._drop(slot, processor, repr(error))
        if slot.insert:
            np.copyto(out, block)
        else:
            out.fill(0.0)
        return out

    def _drop(self, slot: EffectSlot, processor: Processor, reason: str) -> None:
        if slot.processor is processor:
            slot.processor = None
        if slot.old is processor:
            slot.old = None
        self._emit(EffectFailed(slot.index, reason))
        self._release(processor, self.block_start)
        self._update_enabled()

    def _fade_ramp(self, slot: EffectSlot, start: int, frames: int) -> np.ndarray:
        """(frames, 2) float32: t rising 0 -> 1 over ``FADE_FRAMES`` from ``slot.fade_start``, then 1."""
        ramp = self._ramp[:frames]
        np.add(self._arange[:frames], start - slot.fade_start, out=ramp)
        np.multiply(ramp, 1.0 / FADE_FRAMES, out=ramp)
        np.minimum(ramp, 1.0, out=ramp)
        np.maximum(ramp, 0.0, out=ramp)
        both = slot._ramp[:frames]
        both[:, 0] = ramp
        both[:, 1] = ramp
        return both

    def _end_fade_if_done(self, slot: EffectSlot, start: int, frames: int) -> None:
        if start + frames < slot.fade_start + FADE_FRAMES:
            return
        end = start + frames
        if slot.old is not None:
            self._release(slot.old, end)
        slot.old, slot.fading = None, False
        if slot.has_pending:
            processor, slot.pending, slot.has_pending = slot.pending, None, False
            self._begin_fade(slot, processor, end)
        self._update_enabled()

    def _release(self, processor: Processor, at: int) -> None:
        self._released.append((at + FADE_FRAMES, processor))

    def _release_due(self, frame: int) -> None:
        while self._released and self._released[0][0] <= frame:
            self._emit(EffectReleased(self._released.pop(0)[1]))
