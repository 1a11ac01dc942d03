"""Effect specs -> pedalboard plugins -> the processor objects the engine's buses hold.

``build_processor`` runs on the control thread (the editor, ``project/compile.py``) or in a render worker;
``FxProcessor.process`` runs on the audio thread inside ``Engine.render`` (or the offline renderer), once per
block, so it must not be shared between engines or slots.

Decisions:
- One ``pedalboard.Pedalboard`` per chain, processed in streaming mode (``reset=False``) so reverb tails,
  delay lines and envelopes carry across blocks. pedalboard's reverb, delay, ladder filter, compressor
  and shelf/peak filters give the same samples for any block size (a chain fed one frame at a time
  differs by about 1e-6), so an export renders like the live engine.
- pedalboard re-prepares its plugins (and so clears their state: delay lines, reverb tails) whenever a
  block is longer than any before, and it guesses the channel layout from the array shape (it cannot tell
  with a (2, 2) block). So ``reset`` primes the chain with one block of silence of ``max_block_frames``
  (channels first): the layout is fixed, every plugin is prepared for the longest block and left in its
  silent state, and ``process`` cuts longer blocks into pieces of that size. Without this an engine that
  renders a short block first (the offline renderer's 64-frame latency priming) would lose it.
- An empty chain (no effect ``enabled``) builds no processor (None): the engine's slot is empty.
- pedalboard releases the GIL while it processes; the audio thread still allocates the returned array
  (a few KB per block) - the engine's own mixing stays allocation-free.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pedalboard

from groovebox.fx.spec import Compressor, Delay, Eq, Filter, Reverb

__all__ = ["MAX_BLOCK_FRAMES", "FxProcessor", "build_plugins", "build_processor"]

MAX_BLOCK_FRAMES = 16384
_LADDER_MODES = {"lowpass": pedalboard.LadderFilter.Mode.LPF24, "highpass": pedalboard.LadderFilter.Mode.HPF24,
                 "bandpass": pedalboard.LadderFilter.Mode.BPF24}


class FxProcessor:
    """A pedalboard chain with the engine's processor interface: ``process(block)`` and ``reset()``."""

    def __init__(self, plugins: Sequence[pedalboard.Plugin], sample_rate: int = 48000,
                 max_block_frames: int = MAX_BLOCK_FRAMES) -> None:
        self.sample_rate = sample_rate
        self.max_block_frames = max_block_frames
        self.board = pedalboard.Pedalboard(list(plugins))
        self.reset()

    def process(self, block: np.ndarray) -> np.ndarray:
        """The next ``len(block)`` frames of the chain's output, float32 (frames, 2)."""
        if len(block) <= self.max_block_frames:
            return self._process(block)
        step = self.max_block_frames
        return np.concatenate([self._process(block[i:i + step]) for i in range(0, len(block), step)])

    def _process(self, block: np.ndarray) -> np.ndarray:
        return self.board.process(np.ascontiguousarray(block.T), self.sample_rate, reset=False).T

    def reset(self) -> None:
        """Silence every tail and envelope (and prepare pedalboard for the longest block; see the module
        docstring)."""
        self.board.process(np.zeros((2, self.max_block_frames), np.float32), self.sample_rate, reset=True)

    def __repr__(self) -> str:
        return f"FxProcessor({[type(plugin).__name__ for plugin in self.board]})"


def build_plugins(chain: Sequence) -> list[pedalboard.Plugin]:
    """The pedalboard plugins for the enabled effects of ``chain`` (``groovebox.fx.spec`` models), in order."""
    plugins: list[pedalboard.Plugin] = []
    for effect in chain:
        if effect.enabled:
            plugins.extend(_PLUGINS[type(effect)](effect))
    return plugins


def build_processor(chain: Sequence, sample_rate: int = 48000) -> FxProcessor | None:
    """A fresh processor for ``chain``, or None when no effect of it is enabled."""
    plugins = build_plugins(chain)
    return FxProcessor(plugins, sample_rate) if plugins else None


def _reverb(spec: Reverb) -> list:
    return [pedalboard.Reverb(room_size=spec.room_size, damping=spec.damping, wet_level=spec.wet_level,
                              dry_level=spec.dry_level, width=spec.width)]


def _delay(spec: Delay) -> list:
    return [pedalboard.Delay(delay_seconds=spec.delay_seconds, feedback=spec.feedback, mix=spec.mix)]


def _filter(spec: Filter) -> list:
    return [pedalboard.LadderFilter(mode=_LADDER_MODES[spec.mode], cutoff_hz=spec.cutoff_hz,
                                    resonance=spec.resonance, drive=spec.drive)]


def _compressor(spec: Compressor) -> list:
    return [pedalboard.Compressor(threshold_db=spec.threshold_db, ratio=spec.ratio, attack_ms=spec.attack_ms,
                                  release_ms=spec.release_ms)]


def _eq(spec: Eq) -> list:
    return [pedalboard.LowShelfFilter(cutoff_frequency_hz=spec.low_hz, gain_db=spec.low_gain_db),
            pedalboard.PeakFilter(cutoff_frequency_hz=spec.mid_hz, gain_db=spec.mid_gain_db, q=spec.mid_q),
            pedalboard.HighShelfFilter(cutoff_frequency_hz=spec.high_hz, gain_db=spec.high_gain_db)]


_PLUGINS = {Reverb: _reverb, Delay: _delay, Filter: _filter, Compressor: _compressor, Eq: _eq}
