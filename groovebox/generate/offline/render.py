"""Render an offline loop: plan -> stems (numpy voices + GM SoundFont) -> tail wrap -> level -> mix (worker process).

Decisions:
- Length: exactly ``round(bars * 4 * 60 / bpm * sample_rate)`` frames. Event times are computed from beats
  with the float frames-per-beat (never accumulated rounded lengths) and wrap modulo the loop, so a hit
  humanised to before beat 1 sounds at the end of the loop, as it would when the loop repeats.
- Seamless: every stem renders past the loop end (at least ``TAIL_S`` and past the longest note plus its
  release), all linear processing (filters, reverb) runs on that long render, then ``fold_tail`` adds the
  tail onto the head. The wrap is then as smooth as any bar line inside the loop.
- DC is removed by subtracting each folded stem's mean (exactly periodic, unlike a high-pass filter).
- Stem balance: each stem is set to a gated loudness of ``STEM_LUFS`` + the genre's level for that part;
  the mix is the plain sum of the stems (so stems add up to ``audio``), scaled down together if it would
  peak above ``MIX_PEAK``. Loudness normalisation to the library target happens later
  (``groovebox.generate.metrics.normalise_loop``).
- GM parts render in one FluidSynth pass, at about the lowest of ``GM_RENDER_RATES`` whose band still
  holds the brightness low-pass of the GM stems (16 kHz at default brightness: FluidSynth's cost scales
  with the rate), toned there, then one soxr call brings all GM stems to the output rate. FluidSynth
  starts notes on its 64-frame block grid, so the rate is nudged up until a 16th note is a whole number
  of blocks (``_grid_rate``): every bar is then quantised exactly alike.
- GM drum kits are mixed from cached one-shots (``soundfont.drum_one_shot``) at their exact frames.
- Without FluidSynth or the SoundFont, GM voices become numpy voices of the same role (``soundfont``
  logs a warning once per process).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import soxr

from groovebox.generate.offline import soundfont
from groovebox.generate.offline.dsp import (
    fold_tail,
    loudness_lufs,
    lowpass,
    reverb,
    soft_clip,
)
from groovebox.generate.offline.events import Part
from groovebox.generate.offline.plan import SUSTAINING_VOICES, Plan, make_plan
from groovebox.generate.offline.voices import (
    NoteFrames,
    electronic_kit,
    render_drum_hits,
    render_synth_notes,
    stem_lowpass_hz,
)
from groovebox.generate.request import GenerationRequest, Scale

__all__ = ["TAIL_S", "OfflineLoop", "loop_frames", "render_offline", "render_plan"]

TAIL_S = 2.5
RELEASE_MARGIN_S = 1.5
STEM_LUFS = -20.0
MIX_PEAK = 0.89            # -1 dBFS
LOFI_CUTOFF_HZ = 6500.0
GM_KIT_BASE_HZ = 3000.0
GM_RENDER_RATES = (16000, 24000, 32000)    # FluidSynth rates to try before the output rate (cost scales with it)
_FLUID_BLOCK_FRAMES = 64
_SEED_STREAM_AUDIO = 20
_PLUCKED_PROGRAMS = frozenset(range(16)) | frozenset(range(24, 32)) | frozenset(range(104, 109))


@dataclass(frozen=True)
class OfflineLoop:
    """A rendered loop. ``audio`` and every stem: float32 (frames, 2), exact length, seamless, not normalised."""

    audio: np.ndarray
    stems: dict[str, np.ndarray]
    bpm: int
    bars: int
    scale: Scale
    genre: str
    seed: int
    parts: tuple[str, ...]


def loop_frames(bars: int, bpm: float, sample_rate: int) -> int:
    """Exact frame count of ``bars`` 4/4 bars at ``bpm``."""
    return round(bars * 4 * 60 / bpm * sample_rate)


def render_offline(request: GenerationRequest, seed: int, *, sample_rate: int = 48000) -> OfflineLoop:
    """Plan and render one loop of ``request`` with ``seed`` (bit-identical for the same inputs)."""
    return render_plan(make_plan(request, seed), seed, sample_rate=sample_rate)


def render_plan(plan: Plan, seed: int, *, sample_rate: int = 48000) -> OfflineLoop:
    """Render a ready plan (see ``render_offline``)."""
    timing = _Timing(plan.bpm, loop_frames(plan.bars, plan.bpm, sample_rate), sample_rate)
    total_frames = _total_frames(plan, timing)
    use_gm = any(part.is_gm for part in plan.parts) and soundfont.available()
    rng = np.random.default_rng([seed, _SEED_STREAM_AUDIO])
    raw = _render_gm_stems(plan, timing, total_frames) if use_gm else {}
    gm_names = set(raw)
    for part in plan.parts:
        if part.name not in raw:
            raw[part.name] = _render_synth_stem(plan, part, timing, total_frames, rng)
    stems = {part.name: _finish_stem(plan, part, raw[part.name], timing, rng, gm=part.name in gm_names)
             for part in plan.parts}
    return _mix(plan, stems, seed)


@dataclass(frozen=True)
class _Timing:
    bpm: int
    loop_frames: int
    sample_rate: float

    def frame(self, beat: float, offset_s: float = 0.0) -> int:
        return round((beat * 60.0 / self.bpm + offset_s) * self.sample_rate) % self.loop_frames

    def frames(self, beats: float) -> int:
        return max(1, round(beats * 60.0 / self.bpm * self.sample_rate))


def _total_frames(plan: Plan, timing: _Timing) -> int:
    """Loop plus tail: past the last note's end by its release and the reverb's decay (the tail is folded
    back, so anything cut off here would be missing at the loop start)."""
    last_end = max((timing.frame(n.beat, n.offset_s) + timing.frames(n.length_beats) for p in plan.parts for n in p.notes),
                   default=timing.loop_frames)
    # releases, then the reverb down to about -40 dB (70 % of its RT60)
    ring_s = RELEASE_MARGIN_S + 0.7 * (_reverb_decay_s(max(p.reverb for p in plan.parts)) if plan.parts else 0.0)
    return max(timing.loop_frames + int(TAIL_S * timing.sample_rate), max(last_end, timing.loop_frames) + int(ring_s * timing.sample_rate))


def _reverb_decay_s(amount: float) -> float:
    """Reverb time (RT60, s) for a part's reverb amount 0..1; 0 for no reverb."""
    return 0.8 + 4.5 * amount if amount > 0.0 else 0.0


def _numpy_voice(part: Part) -> str:
    """The numpy voice that stands in for a GM voice when FluidSynth or the SoundFont is missing."""
    if part.name == "drums":
        return "kit:electronic"
    if not part.is_gm:
        return part.voice
    if part.name == "bass":
        return "synth_bass"
    if part.name == "chords":
        return "pad" if part.voice in SUSTAINING_VOICES else "stab"
    return "pluck" if part.gm_program in _PLUCKED_PROGRAMS else "lead"


def _render_gm_stems(plan: Plan, timing: _Timing, total_frames: int) -> dict[str, np.ndarray]:
    """All pitched GM stems from one FluidSynth pass (GM drum kits are mixed from one-shots instead), toned
    at the FluidSynth rate, then resampled together."""
    gm_parts = [part for part in plan.parts if part.is_gm]
    rate = _grid_rate(_gm_rate(max(_gm_cutoff_hz(plan, part) for part in gm_parts), timing.sample_rate), plan.bpm)
    gm_timing = _Timing(plan.bpm, round(plan.bars * 4 * 60 / plan.bpm * rate), rate)
    specs = [_gm_spec(part, gm_timing) for part in gm_parts]
    rendered = soundfont.render_gm(specs, math.ceil(total_frames * rate / timing.sample_rate) + 1, rate,
                                   room_size=0.3 + 0.6 * plan.style.reverb)
    if rendered is None:
        return {}
    for index, part in enumerate(gm_parts):
        rows = rendered[2 * index:2 * index + 2]
        rows[:] = lowpass(rows.T, _gm_cutoff_hz(plan, part), rate).T
    frames_first = np.ascontiguousarray(rendered.T)
    if rate != timing.sample_rate:
        frames_first = soxr.resample(frames_first, rate, timing.sample_rate)
    out = np.zeros((total_frames, frames_first.shape[1]), np.float32)
    count = min(total_frames, len(frames_first))
    out[:count] = frames_first[:count]
    return {part.name: np.ascontiguousarray(out[:, 2 * i:2 * i + 2]) for i, part in enumerate(gm_parts)}


def _gm_rate(cutoff_hz: float, sample_rate: int) -> int:
    """The lowest FluidSynth rate whose band (0.45 fs) still holds the stems' low-pass cutoff."""
    return next((rate for rate in GM_RENDER_RATES if rate < sample_rate and 0.45 * rate >= cutoff_hz), sample_rate)


def _grid_rate(rate: float, bpm: int) -> float:
    """The rate nearest ``rate`` (not below it) at which a 16th note lasts a whole number of FluidSynth's
    64-frame blocks. FluidSynth starts notes on block boundaries; on this rate every 16th of every bar
    falls on the same place in its block, so quantisation repeats bar after bar instead of jittering
    (bar lines stay alike: no seam, no tempo wobble)."""
    per_block_count = _FLUID_BLOCK_FRAMES * bpm / 15.0        # rate that makes one block per 16th
    return per_block_count * math.ceil(rate / per_block_count)


def _gm_cutoff_hz(plan: Plan, part: Part) -> float:
    """Brightness as a low-pass on a GM stem (the SoundFont has no filter control we can rely on)."""
    base_hz = GM_KIT_BASE_HZ if part.name == "drums" else 1800.0
    cutoff_hz = base_hz * (20000.0 / base_hz) ** plan.brightness
    return min(cutoff_hz, LOFI_CUTOFF_HZ) if plan.style.lofi else cutoff_hz


def _gm_spec(part: Part, timing: _Timing) -> soundfont.GmPart:
    """Events of a pitched GM part in FluidSynth frames (``timing`` at the FluidSynth rate)."""
    events = tuple(((f := timing.frame(n.beat, n.offset_s)), f + timing.frames(n.length_beats), n.pitch,
                    int(np.clip(round(n.velocity * 127), 1, 127))) for n in part.notes)
    return soundfont.GmPart(part.gm_program, False, events, reverb_send=round(127 * min(1.0, part.reverb * 1.5)),
                            pan=int(np.clip(round(64 + 63 * part.pan), 0, 127)))


def _render_synth_stem(plan: Plan, part: Part, timing: _Timing, total_frames: int, rng: np.random.Generator) -> np.ndarray:
    voice = _numpy_voice(part)
    if part.name == "drums":
        hits = [(timing.frame(h.beat, h.offset_s), h.voice, h.velocity) for h in part.hits]
        if part.voice == "kit:acoustic" and soundfont.available():
            stem = render_drum_hits(hits, total_frames, _gm_kit(timing.sample_rate), timing.loop_frames)
            return lowpass(stem, _gm_cutoff_hz(plan, part), timing.sample_rate)
        return render_drum_hits(hits, total_frames, electronic_kit(timing.sample_rate, plan.brightness, plan.genre),
                                timing.loop_frames)
    notes = [NoteFrames(timing.frame(n.beat, n.offset_s), timing.frames(n.length_beats), n.pitch, n.velocity, n.glide_from)
             for n in part.notes]
    stem = render_synth_notes(voice, notes, total_frames, timing.sample_rate, plan.brightness, rng)
    cutoff_hz = stem_lowpass_hz(voice, plan.brightness)
    if cutoff_hz is not None:
        stem = lowpass(stem, cutoff_hz, timing.sample_rate)
    if part.reverb > 0.0:
        stem = stem + reverb(stem, _reverb_decay_s(part.reverb), timing.sample_rate) * (0.9 * part.reverb)
    return stem


def _gm_kit(sample_rate: int):
    """Sample source for ``render_drum_hits``: cached one-shots of the GM kit."""
    path = soundfont.find_soundfont()

    def source(voice: str, velocity: float) -> tuple[np.ndarray, float]:
        found = soundfont.drum_one_shot(voice, velocity, sample_rate, path)
        if found is None:
            raise RuntimeError("the GM drum kit became unavailable during a render")
        return found
    return source


def _finish_stem(plan: Plan, part: Part, stem: np.ndarray, timing: _Timing, rng: np.random.Generator, *, gm: bool) -> np.ndarray:
    """Tone, lo-fi colour, DC removal and the tail wrap; then the stem's level."""
    sample_rate = timing.sample_rate
    if plan.style.lofi and not gm:
        stem = lowpass(stem, LOFI_CUTOFF_HZ, sample_rate)
    stem = fold_tail(stem, timing.loop_frames)
    stem -= np.array([stem[:, 0].mean(), stem[:, 1].mean()], np.float32)   # DC off: a constant keeps the seam intact
    if part.name == "drums":
        stem = soft_clip(stem / max(1e-9, float(np.max(np.abs(stem)))), 1.6)
        if plan.style.lofi:
            stem = stem + _crackle(timing.loop_frames, sample_rate, rng)
    return _level(stem, STEM_LUFS + part.level_db, sample_rate)


def _crackle(frames: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Vinyl crackle: sparse random clicks (about 12 per second) and a faint hiss, already loop-length."""
    clicks = np.zeros(frames)
    positions = rng.integers(0, frames, int(12 * frames / sample_rate))
    clicks[positions] = rng.uniform(-1.0, 1.0, len(positions)) * rng.exponential(0.3, len(positions))
    hiss = rng.normal(0.0, 0.004, frames)
    mono = np.clip(clicks, -1.0, 1.0) * 0.06 + hiss
    return np.stack([mono, np.roll(mono, 37)], axis=1).astype(np.float32)


def _level(stem: np.ndarray, target_lufs: float, sample_rate: int) -> np.ndarray:
    loudness = loudness_lufs(stem, sample_rate)
    if not math.isfinite(loudness):
        return stem.astype(np.float32)
    return (stem * 10.0 ** ((target_lufs - loudness) / 20.0)).astype(np.float32)


def _mix(plan: Plan, stems: dict[str, np.ndarray], seed: int) -> OfflineLoop:
    mix = np.zeros_like(next(iter(stems.values())))
    for stem in stems.values():
        mix += stem
    peak = float(np.max(np.abs(mix)))
    if peak > MIX_PEAK:
        scale = np.float32(MIX_PEAK / peak)
        stems = {name: stem * scale for name, stem in stems.items()}
        mix = np.zeros_like(mix)
        for stem in stems.values():
            mix += stem
    return OfflineLoop(mix, stems, plan.bpm, plan.bars, plan.scale, plan.genre, seed, tuple(stems))
