"""Mix a scene's rendered layers to one stereo loop with reverb and delay sends (worker processes).

Decisions:
- Dry: the layers summed as rendered (each already carries its gain, distance, width and pan, see
  ``synth``). Sends: each layer's ``reverb_send`` and ``delay_send`` feed one shared pedalboard ``Reverb``
  (room 0.75, damping 0.5, wet only) and one ``Delay`` (375 ms, feedback 0.35, wet only), whose returns
  are added to the dry mix at unity.
- The effects run *around the loop*: a bus is processed as the loop repeated until the tail has had time
  to build (at least ``TAIL_S`` of lead-in) and only the last repeat is kept, so the reverb and delay tails
  of the loop's end sound at its start and the mixdown loops as seamlessly as its layers.
- Level: the mix is brought to ``MIXDOWN_LUFS`` (-18 LUFS) with its peaks at or under ``CEILING_DBFS``
  (-1 dBFS) by ``metrics.normalise_loop`` (a circular look-ahead limiter when needed); a mix too peaky for
  that is scaled to the ceiling instead. It never clips.
- ``drift`` is a live parameter and is not applied here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pedalboard

from groovebox.ambient.scene import Scene
from groovebox.generate.metrics import integrated_loudness_lufs, normalise_loop

__all__ = ["CEILING_DBFS", "MIXDOWN_LUFS", "TAIL_S", "mix_scene", "send_buses"]

MIXDOWN_LUFS = -18.0
CEILING_DBFS = -1.0
TAIL_S = 6.0
SAMPLE_RATE = 48000
_REVERB = {"room_size": 0.75, "damping": 0.5, "wet_level": 1.0, "dry_level": 0.0, "width": 1.0}
_DELAY = {"delay_seconds": 0.375, "feedback": 0.35, "mix": 1.0}


def send_buses(layers_audio: Sequence[np.ndarray], scene: Scene) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dry sum, reverb bus input, delay bus input), each float32 ``(frames, 2)``."""
    frames = _check(layers_audio, scene)
    dry = np.zeros((frames, 2), np.float32)
    reverb = np.zeros_like(dry)
    delay = np.zeros_like(dry)
    for audio, layer in zip(layers_audio, scene.layers):
        dry += audio
        reverb += audio * np.float32(layer.reverb_send)
        delay += audio * np.float32(layer.delay_send)
    return dry, reverb, delay


def mix_scene(layers_audio: Sequence[np.ndarray], scene: Scene, *, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The scene's stereo mixdown: float32 ``(frames, 2)`` at ``MIXDOWN_LUFS``, peaks <= ``CEILING_DBFS``."""
    dry, reverb_in, delay_in = send_buses(layers_audio, scene)
    mix = dry + _around_the_loop(pedalboard.Reverb(**_REVERB), reverb_in, sample_rate)
    mix += _around_the_loop(pedalboard.Delay(**_DELAY), delay_in, sample_rate)
    return _at_mixdown_level(mix, sample_rate)


def _check(layers_audio: Sequence[np.ndarray], scene: Scene) -> int:
    if len(layers_audio) != len(scene.layers):
        raise ValueError(f"the scene has {len(scene.layers)} layers but {len(layers_audio)} were rendered")
    shapes = {np.shape(audio) for audio in layers_audio}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2 or next(iter(shapes))[1] != 2:
        raise ValueError(f"every layer must be float (frames, 2) of one length, got shapes {sorted(shapes)}")
    return next(iter(shapes))[0]


def _around_the_loop(plugin: pedalboard.Plugin, bus: np.ndarray, sample_rate: int) -> np.ndarray:
    """The plugin's output for the loop as it sounds repeating: the last of enough repeats."""
    if not np.any(bus):
        return np.zeros_like(bus)
    frames = bus.shape[0]
    repeats = 1 + math.ceil(TAIL_S * sample_rate / frames)
    looped = np.tile(np.ascontiguousarray(bus.T, dtype=np.float32), (1, repeats))
    wet = plugin(looped, sample_rate)
    return np.ascontiguousarray(wet[:, -frames:].T, dtype=np.float32)


def _at_mixdown_level(mix: np.ndarray, sample_rate: int) -> np.ndarray:
    if not math.isfinite(integrated_loudness_lufs(mix, sample_rate)):
        return np.zeros_like(mix, dtype=np.float32)
    try:
        return normalise_loop(mix, sample_rate, target_lufs=MIXDOWN_LUFS, ceiling_dbfs=CEILING_DBFS)
    except ValueError:                     # too peaky for the target under the ceiling: to the ceiling
        ceiling = np.float32(10.0 ** (CEILING_DBFS / 20.0))
        return (mix * (ceiling / np.float32(np.abs(mix).max()))).astype(np.float32)
