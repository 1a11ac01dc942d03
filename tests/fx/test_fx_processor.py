"""Effect specs and pedalboard processors, alone and in the engine (real pedalboard)."""

import ast
from pathlib import Path

import numpy as np
import pedalboard
import pytest
from pydantic import ValidationError

from groovebox.engine import Engine
from groovebox.engine import commands as c
from groovebox.engine.effects import FADE_FRAMES, MASTER
from groovebox.engine.offline import render_offline
from groovebox.fx import Bus, Compressor, Delay, EffectsConfig, Eq, Filter, Reverb
from groovebox.fx.processor import FxProcessor, build_plugins, build_processor

SR = 48000
FX_PACKAGE = Path(__file__).resolve().parents[2] / "groovebox" / "fx"


def noise(frames: int, seed: int = 1, level: float = 0.2) -> np.ndarray:
    return (level * np.random.default_rng(seed).standard_normal((frames, 2))).astype(np.float32)


def every_effect() -> list:
    return [Reverb(room_size=0.7, dry_level=0.0), Delay(delay_seconds=0.05, feedback=0.4, mix=0.5),
            Filter(mode="highpass", cutoff_hz=200.0, resonance=0.3), Compressor(threshold_db=-20.0, ratio=4.0),
            Eq(low_gain_db=3.0, mid_gain_db=-4.0, high_gain_db=2.0)]


def test_specs_read_camel_case_json_with_defaults():
    config = EffectsConfig.model_validate_json(
        '{"buses": [{"name": "Room", "chain": [{"type": "reverb", "roomSize": 0.8, "dryLevel": 0}]}],'
        ' "master": [{"type": "compressor", "thresholdDb": -12, "ratio": 3}]}')
    assert config.bus(0).chain[0] == Reverb(room_size=0.8, dry_level=0.0)
    assert config.bus(3) == Bus()
    assert config.chain(MASTER) == [Compressor(threshold_db=-12.0, ratio=3.0)]
    assert config.model_dump(by_alias=True)["master"][0]["releaseMs"] == 100.0


@pytest.mark.parametrize("document, where", [
    ({"master": [{"type": "reverb", "roomSize": 1.5}]}, "roomSize"),
    ({"master": [{"type": "delay", "feedback": 1.0}]}, "feedback"),
    ({"master": [{"type": "flanger"}]}, "flanger"),
    ({"master": [{"type": "filter", "mode": "notch"}]}, "mode"),
    ({"master": [{"type": "eq", "lowGainDb": "3"}]}, "lowGainDb"),
    ({"master": [{"type": "compressor", "knee": 2}]}, "knee"),
    ({"buses": [{}] * 5}, "buses"),
    ({"master": [{"type": "eq"}] * 9}, "master"),
])
def test_bad_specs_fail_naming_the_field(document, where):
    with pytest.raises(ValidationError, match=where):
        EffectsConfig.model_validate(document)


def test_every_effect_type_builds_its_pedalboard_plugins_and_disabled_ones_none():
    kinds = [type(plugin) for plugin in build_plugins(every_effect())]
    assert kinds == [pedalboard.Reverb, pedalboard.Delay, pedalboard.LadderFilter, pedalboard.Compressor,
                     pedalboard.LowShelfFilter, pedalboard.PeakFilter, pedalboard.HighShelfFilter]
    reverb = build_plugins([Reverb(room_size=0.9, damping=0.1)])[0]
    assert reverb.room_size == pytest.approx(0.9) and reverb.damping == pytest.approx(0.1)
    assert build_processor([]) is None
    assert build_processor([Reverb(enabled=False), Eq(enabled=False)]) is None


def test_the_processor_streams_frames_first_blocks_of_any_size():
    audio = noise(6000)
    whole = build_processor(every_effect()).process(audio)
    assert whole.shape == (6000, 2) and whole.dtype == np.float32
    for block in (2, 7, 128, 1000):          # 2 frames: (2, 2) would be ambiguous without the priming
        processor = build_processor(every_effect())
        pieces = np.concatenate([processor.process(audio[i:i + block]) for i in range(0, len(audio), block)])
        np.testing.assert_allclose(pieces, whole, atol=1e-5)


def test_state_survives_a_short_first_block_and_blocks_longer_than_the_prepared_size():
    """pedalboard clears a plugin's state when a block is longer than any before: priming prevents it."""
    impulse = np.zeros((9600, 2), np.float32)
    impulse[10] = 1.0
    processor = FxProcessor(build_plugins([Delay(delay_seconds=0.1, feedback=0.0, mix=1.0)]), SR,
                            max_block_frames=1024)
    out = np.concatenate([processor.process(impulse[:64]), processor.process(impulse[64:4000]),
                          processor.process(impulse[4000:])])
    assert list(np.flatnonzero(np.abs(out[:, 0]) > 1e-6)) == [4810]


def test_reset_silences_the_tail():
    processor = build_processor([Reverb(room_size=0.9, dry_level=0.0)])
    processor.process(noise(4800))
    assert np.abs(processor.process(np.zeros((480, 2), np.float32))).max() > 1e-3
    processor.reset()
    assert np.abs(processor.process(np.zeros((480, 2), np.float32))).max() == 0.0


def play(*setup, changes=None, frames=24000, block=256, audio=None):
    """A pad playing ``audio`` (noise) with ``setup``; ``changes[k]`` are posted before block k."""
    engine = Engine(sample_rate=SR, pads=16, master_volume=1.0, meters=False)
    engine.post(c.SetQuantize(c.Quantize.OFF))
    engine.post(c.LoadPad(0, noise(48000, 5, 0.1) if audio is None else audio, 120.0, volume=0.5))
    for command in setup:
        engine.post(command)
    engine.post(c.PressPad(0))
    out = np.zeros((frames, 2), np.float32)
    for k, start in enumerate(range(0, frames, block)):
        for command in (changes or {}).get(k, ()):
            engine.post(command)
        engine.render(out[start:start + block], min(block, frames - start))
    return engine, out


def diff_energy_db(signal: np.ndarray) -> float:
    return 10 * np.log10(np.sum(np.diff(signal[:, 0]) ** 2) + 1e-30)


def test_a_reverb_bus_makes_a_tail_after_the_pad_stops():
    _, dry = play(changes={20: [c.StopPad(0, quantized=False)]})
    _, wet = play(c.SetEffect(0, build_processor([Reverb(room_size=0.9, dry_level=0.0, wet_level=0.5)])),
                  c.SetPadSends(0, (1.0, 0.0, 0.0, 0.0)), changes={20: [c.StopPad(0, quantized=False)]})
    after = slice(20 * 256 + 2000, 20 * 256 + 8000)
    assert np.abs(dry[after]).max() == 0.0
    assert np.sqrt(np.mean(wet[after] ** 2)) > 1e-3


def sine(frames: int = 48000, hz: float = 300.0, level: float = 0.2) -> np.ndarray:
    wave = level * np.sin(2 * np.pi * hz * np.arange(frames) / SR)          # 300 Hz: whole periods per loop
    return np.repeat(wave[:, None], 2, axis=1).astype(np.float32)


def test_switching_on_a_master_delay_is_click_free_where_a_hard_switch_is_not():
    """A delay of 1.5 periods (all echo) on the master turns the sine upside down: switching it on at once
    jumps, the crossfade does not, and the fresh delay's first echo fades in rather than starting mid-wave."""
    echo = [Delay(delay_seconds=0.005, feedback=0.0, mix=1.0)]
    engine, faded = play(audio=sine(), changes={40: [c.SetEffect(MASTER, build_processor(echo))]})
    change = 40 * 256 - engine.latency_frames
    _, delayed = play(c.SetEffect(MASTER, build_processor(echo)), audio=sine())
    hard = faded.copy()
    hard[change:] = delayed[change:]

    def worst(signal):          # the worst one-period window from just before the change to past the fade
        return max(diff_energy_db(signal[s:s + 160]) for s in range(change - 160, change + FADE_FRAMES + 400, 20))
    rest = diff_energy_db(faded[change - 2000:change - 1840])
    assert worst(faded) - rest < 0.5
    assert worst(hard) - rest > 6.0


def test_fx_imports_nothing_above_it():
    upper = ("groovebox.app", "groovebox.cli", "groovebox.web", "groovebox.control", "groovebox.hw",
             "groovebox.project")
    for path in FX_PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        names = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        names |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        assert not any(name.startswith(upper) for name in names), path.name


def test_fx_processor_is_the_engine_processor_interface():
    processor = FxProcessor(build_plugins([Eq(low_gain_db=6.0)]))
    engine = Engine(pads=16)
    engine.post(c.SetEffect(1, processor))     # validated on the control thread: process and reset exist
    out = render_offline(engine, 256, 128)
    assert out.shape == (256, 2)
