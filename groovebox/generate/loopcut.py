"""Cut an exact N-bar loop out of a continuous stream (Lyria) at a detected downbeat (reference §2.2).

Runs in worker processes (the Lyria capture job); numpy and scipy only, no state. The bpm is known (it
is the generation config), so nothing searches for a tempo:

1. Beat phase: spectral-flux onset envelope (~24 kHz mix, 512-point frames, hop ~5.3 ms), lightly
   smoothed, folded on the beat period with a comb evaluated at 200 phases; argmax + parabolic peak.
2. Downbeat: of the ``beats_per_bar`` phases, the one whose beats carry the most chroma novelty (cosine
   distance between the mean chroma of the beat before and the beat after, ~12 kHz 2048-point STFT) plus
   0.25 x the low-band (<260 Hz) onset strength, each normalised by its mean over all beats. Evidence is
   pooled over every bar after the search start.
3. Refine: within ±40 ms of the predicted downbeat, the sharpest rise of a 1 ms-smoothed envelope of the
   <200 Hz band (zero-phase Butterworth); walk back to 10% of the way from the pre-onset level to the peak
   (a plain 10%-of-peak threshold would wander into the bass ripple); the loop starts 2 ms earlier.
4. Exactly ``loop_length_frames`` frames. The last ``crossfade_ms`` crossfade linearly (equal gain: the
   signals are correlated) into the stream audio just before the cut, so the wrap replays the stream's own
   continuation. Fractional bar lengths are the player's business (fractional sample clock).

Decisions: ``settle_frames`` at the head are ignored entirely (after ``reset_context`` the stream jumps);
the downbeat is the first one whose refine window starts at or after ``settle + crossfade + 2 ms``, so the
pre-roll is post-settle audio too; a stream with no onsets (beatless) is cut at the search start (phase does
not matter for an exact-length loop); a silent stream is an error, as is one too short (the message says how
many seconds are needed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage, signal

from groovebox.generate.metrics import (
    chroma_weights,
    decimated_mono,
    magnitude_frames,
    spectral_flux,
    validated_audio,
)

__all__ = ["CutLoop", "loop_length_frames", "frames_needed", "find_downbeat", "cut_loop"]

COMB_PHASES = 200
LOW_BAND_WEIGHT = 0.25
LOW_BAND_HZ = 260.0
REFINE_WINDOW_S = 0.040
REFINE_LOWPASS_HZ = 200.0
REFINE_SMOOTH_S = 0.001
WALK_BACK_FRACTION = 0.10
PRE_CUT_S = 0.002
SILENT_PEAK = 1e-6                    # -120 dBFS

_ONSET_RATE_HZ = 24000
_ONSET_NFFT = 512
_ONSET_HOP = 128
_ONSET_SMOOTH_S = 0.006
_CHROMA_RATE_HZ = 12000
_CHROMA_NFFT = 2048
_CHROMA_HOP = 256
_CHROMA_GAP_S = 0.07                  # skip the smeared transient either side of a beat
_STEP_WINDOW_S = 0.03                # longer than the envelope ripple of a bass note's harmonics
_MAX_WALK_BACK_S = 0.006


@dataclass(frozen=True)
class CutLoop:
    audio: np.ndarray        # float32 (frames, 2), exactly loop_length_frames(...)
    start_frame: int         # index into the stream of the loop's first frame (just before the downbeat)
    downbeat_frame: float    # detected downbeat (transient onset) position in the stream, in frames


def loop_length_frames(bpm, bars, sample_rate=48000, beats_per_bar=4) -> int:
    """Frames in ``bars`` bars at ``bpm``: ``round(bars * beats_per_bar * 60 / bpm * sample_rate)``."""
    _check_musical(bpm, bars, beats_per_bar, sample_rate)
    return round(bars * beats_per_bar * 60.0 / bpm * sample_rate)


def frames_needed(bpm, bars, sample_rate=48000, beats_per_bar=4, settle_frames=0, *,
                  crossfade_ms: float = 10.0) -> int:
    """Stream frames ``cut_loop`` needs: settle + pre-roll + one bar to find a downbeat in (plus the
    refine margins) + the loop."""
    loop_frames = loop_length_frames(bpm, bars, sample_rate, beats_per_bar)
    bar_frames = math.ceil(beats_per_bar * 60.0 / bpm * sample_rate)
    margin = round((PRE_CUT_S + 2 * REFINE_WINDOW_S) * sample_rate) + 2
    return _check_settle(settle_frames) + _crossfade_frames(crossfade_ms, sample_rate) + margin + bar_frames + loop_frames


def find_downbeat(stream, sample_rate, bpm, *, beats_per_bar=4, search_from_frame=0) -> float:
    """Onset frame of the first downbeat whose ±40 ms refine window lies at or after ``search_from_frame``.

    Everything before ``search_from_frame`` is ignored; the stream must hold at least one bar after it."""
    _check_musical(bpm, 1, beats_per_bar, sample_rate)
    x = validated_audio(stream, name="stream")
    search_from = int(search_from_frame)
    if not 0 <= search_from < x.shape[0]:
        raise ValueError(f"search_from_frame {search_from_frame} is outside the stream (0..{x.shape[0] - 1})")
    bar_frames = beats_per_bar * 60.0 / bpm * sample_rate
    refine = round(REFINE_WINDOW_S * sample_rate)
    if x.shape[0] - search_from < bar_frames + 2 * refine:
        raise ValueError(f"need at least {(bar_frames + 2 * refine) / sample_rate:.2f} s of stream after "
                         f"frame {search_from} to find a downbeat, got {(x.shape[0] - search_from) / sample_rate:.2f} s")
    segment = x[search_from:]
    if np.abs(segment).max() < SILENT_PEAK:
        raise ValueError("the stream is silent: there is nothing to cut a loop from")
    predicted = _predicted_downbeat(segment, sample_rate, bpm, beats_per_bar, earliest_frame=refine)
    if predicted is None:                               # no onsets at all: phase doesn't matter
        return float(search_from + refine)
    return search_from + _refined_onset(segment.mean(axis=1), sample_rate, predicted)


def cut_loop(stream, sample_rate, bpm, bars, *, beats_per_bar=4, settle_frames=0, crossfade_ms=10.0) -> CutLoop:
    """An exact ``bars``-bar loop starting just before a detected downbeat, with a pre-roll crossfade."""
    x = validated_audio(stream, name="stream")
    loop_frames = loop_length_frames(bpm, bars, sample_rate, beats_per_bar)
    fade = _crossfade_frames(crossfade_ms, sample_rate)
    if fade >= loop_frames:
        raise ValueError(f"a {crossfade_ms} ms crossfade does not fit in a {loop_frames}-frame loop")
    needed = frames_needed(bpm, bars, sample_rate, beats_per_bar, settle_frames, crossfade_ms=crossfade_ms)
    if x.shape[0] < needed:
        raise ValueError(f"the stream is {x.shape[0] / sample_rate:.2f} s long; cutting {bars} bars at {bpm} BPM "
                         f"needs at least {needed / sample_rate:.2f} s (settle, a bar to find the downbeat in, "
                         f"the loop and its crossfade)")
    pre_cut = round(PRE_CUT_S * sample_rate)
    downbeat = find_downbeat(x, sample_rate, bpm, beats_per_bar=beats_per_bar,
                             search_from_frame=settle_frames + fade + pre_cut)
    start = max(round(downbeat) - pre_cut, settle_frames + fade)
    start = min(start, x.shape[0] - loop_frames)
    loop = x[start:start + loop_frames].copy()
    if fade:
        ramp = (np.arange(1, fade + 1) / fade)[:, None]
        loop[-fade:] = loop[-fade:] * (1.0 - ramp) + x[start - fade:start] * ramp
    return CutLoop(loop.astype(np.float32), int(start), float(downbeat))


# ---- checks --------------------------------------------------------------------------------------------

def _check_musical(bpm, bars, beats_per_bar, sample_rate) -> None:
    if not (isinstance(bpm, (int, float, np.integer, np.floating)) and math.isfinite(bpm) and 20 <= bpm <= 400):
        raise ValueError(f"bpm must be a number between 20 and 400, got {bpm!r}")
    for name, value, low in (("bars", bars, 1), ("beats_per_bar", beats_per_bar, 1), ("sample_rate", sample_rate, 8000)):
        if not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def _check_settle(settle_frames) -> int:
    if not isinstance(settle_frames, (int, np.integer)) or settle_frames < 0:
        raise ValueError(f"settle_frames must be a non-negative integer, got {settle_frames!r}")
    return int(settle_frames)


def _crossfade_frames(crossfade_ms, sample_rate) -> int:
    if not (isinstance(crossfade_ms, (int, float)) and math.isfinite(crossfade_ms) and 0 <= crossfade_ms <= 200):
        raise ValueError(f"crossfade_ms must be between 0 and 200, got {crossfade_ms!r}")
    return round(crossfade_ms * sample_rate / 1000.0)


# ---- beat phase and downbeat ---------------------------------------------------------------------------

@dataclass(frozen=True)
class _Onsets:
    full: np.ndarray          # smoothed onset strength, all bins
    low: np.ndarray           # smoothed onset strength below LOW_BAND_HZ
    frames_per_step: float    # stream frames per envelope sample


def _onsets(segment: np.ndarray, sample_rate: int) -> _Onsets:
    mono, rate = decimated_mono(segment, sample_rate, _ONSET_RATE_HZ)
    centres = np.arange(0, mono.size, _ONSET_HOP)
    mags = magnitude_frames(mono, centres, _ONSET_NFFT, circular=False)
    low_bins = int(LOW_BAND_HZ * _ONSET_NFFT / rate) + 1
    step_s = _ONSET_HOP / rate
    sigma = _ONSET_SMOOTH_S / step_s
    full = ndimage.gaussian_filter1d(spectral_flux(mags, circular=False), sigma)
    low = ndimage.gaussian_filter1d(spectral_flux(mags[:, :low_bins], circular=False), sigma)
    return _Onsets(full, low, step_s * sample_rate)


def _beat_phase(envelope: np.ndarray, period: float) -> float | None:
    """Phase (envelope samples, in [0, period)) of the comb with the most onset strength; None if flat."""
    phases = np.arange(COMB_PHASES) * period / COMB_PHASES
    positions = phases[:, None] + period * np.arange(int((envelope.size - 1) / period) + 1)[None, :]
    inside = positions <= envelope.size - 1
    values = np.interp(np.where(inside, positions, 0.0), np.arange(envelope.size), envelope)
    scores = (values * inside).sum(axis=1) / inside.sum(axis=1)
    if scores.max() <= 1e-9:
        return None
    best = int(np.argmax(scores))
    left, mid, right = scores[best - 1], scores[best], scores[(best + 1) % COMB_PHASES]
    denominator = left - 2 * mid + right
    offset = 0.0 if denominator >= 0 else float(np.clip(0.5 * (left - right) / denominator, -0.5, 0.5))
    return float((best + offset) * period / COMB_PHASES % period)


def _chroma_novelty(segment: np.ndarray, sample_rate: int, beat_frames: np.ndarray, beat_len: float) -> np.ndarray:
    """Cosine distance between the mean chroma of the beat before and after each beat position."""
    mono, rate = decimated_mono(segment, sample_rate, _CHROMA_RATE_HZ)
    max_bin = int(4000.0 * _CHROMA_NFFT / rate) + 2
    mags = magnitude_frames(mono, np.arange(0, mono.size, _CHROMA_HOP), _CHROMA_NFFT, circular=False,
                            max_bin=max_bin)
    chroma = mags @ chroma_weights(_CHROMA_NFFT, rate, fmin_hz=80.0, max_bin=max_bin)
    cumulative = np.vstack([np.zeros(12), np.cumsum(chroma, axis=0)])
    to_chroma = rate / sample_rate / _CHROMA_HOP          # stream frames -> chroma frame index
    gap = _CHROMA_GAP_S * sample_rate

    def mean_chroma(lo_frame: np.ndarray, hi_frame: np.ndarray) -> np.ndarray:
        lo = np.clip(np.ceil(lo_frame * to_chroma).astype(int), 0, chroma.shape[0])
        hi = np.clip(np.floor(hi_frame * to_chroma).astype(int) + 1, 0, chroma.shape[0])
        hi = np.maximum(hi, lo + 1).clip(max=chroma.shape[0])
        return (cumulative[hi] - cumulative[lo]) / np.maximum(hi - lo, 1)[:, None]

    before = mean_chroma(beat_frames - 0.95 * beat_len, beat_frames - gap)
    after = mean_chroma(beat_frames + gap, beat_frames + 0.95 * beat_len)
    norms = np.linalg.norm(before, axis=1) * np.linalg.norm(after, axis=1)
    return 1.0 - (before * after).sum(axis=1) / np.maximum(norms, 1e-12)


def _predicted_downbeat(segment: np.ndarray, sample_rate: int, bpm: float, beats_per_bar: int,
                        earliest_frame: int) -> float | None:
    """Grid position (segment frames) of the first downbeat at or after ``earliest_frame``."""
    onsets = _onsets(segment, sample_rate)
    period = 60.0 / bpm * sample_rate / onsets.frames_per_step
    phase = _beat_phase(onsets.full, period)
    if phase is None:
        return None
    beat_len = 60.0 / bpm * sample_rate
    beat_steps = phase + period * np.arange(int((onsets.full.size - 1 - phase) / period) + 1)
    beat_frames = beat_steps * onsets.frames_per_step
    inside = (beat_frames >= beat_len) & (beat_frames + beat_len <= segment.shape[0])
    candidates = np.arange(beat_frames.size)
    if np.count_nonzero(inside) >= beats_per_bar:
        candidates = candidates[inside]
    novelty = _chroma_novelty(segment, sample_rate, beat_frames[candidates], beat_len)
    low = _peak_near(onsets.low, beat_steps[candidates], radius=2)
    evidence = _normalised(novelty) + LOW_BAND_WEIGHT * _normalised(low)
    scores = [evidence[candidates % beats_per_bar == c].mean() if np.any(candidates % beats_per_bar == c) else -1.0
              for c in range(beats_per_bar)]
    first = int(np.argmax(scores))
    downbeats = beat_frames[first::beats_per_bar]
    later = downbeats[downbeats >= earliest_frame]
    bar_len = beats_per_bar * beat_len
    return float(later[0]) if later.size else float(downbeats[-1] + bar_len * math.ceil((earliest_frame - downbeats[-1]) / bar_len))


def _peak_near(envelope: np.ndarray, positions: np.ndarray, radius: int) -> np.ndarray:
    index = np.round(positions).astype(int)[:, None] + np.arange(-radius, radius + 1)
    return envelope[np.clip(index, 0, envelope.size - 1)].max(axis=1)


def _normalised(values: np.ndarray) -> np.ndarray:
    mean = float(values.mean()) if values.size else 0.0
    return values / mean if mean > 1e-12 else np.zeros_like(values)


# ---- refinement ----------------------------------------------------------------------------------------

def _refined_onset(mono: np.ndarray, sample_rate: int, predicted: float) -> float:
    """The transient onset near ``predicted`` (frames of ``mono``), per step 3 of the module docstring."""
    window = round(REFINE_WINDOW_S * sample_rate)
    ms = sample_rate / 1000.0
    pad = round(0.1 * sample_rate)
    centre = int(round(predicted))
    lo, hi = max(0, centre - window - pad), min(mono.size, centre + window + pad)
    envelope = _low_band_envelope(mono[lo:hi], sample_rate)
    step = _step_position(envelope, centre - lo, window, round(_STEP_WINDOW_S * sample_rate))
    if step is None:
        return predicted
    a, b = max(step - round(4 * ms), 1), min(step + round(6 * ms), envelope.size - 1)
    rise = int(a + np.argmax(np.diff(envelope[a - 1:b + 1])))
    peak = float(envelope[rise:rise + round(10 * ms)].max())
    base = float(np.median(envelope[max(0, step - round(20 * ms)):max(1, step - round(3 * ms))]))
    if peak <= max(base, 1e-9) * 1.5:                    # no clear low-band transient: keep the grid
        return predicted
    threshold = base + WALK_BACK_FRACTION * (peak - base)
    floor = max(0, step - round(_MAX_WALK_BACK_S * sample_rate))
    below = np.flatnonzero(envelope[floor:rise + 1] <= threshold)
    j = float(floor + below[-1]) if below.size else float(floor)
    i = int(j)
    if below.size and i + 1 < envelope.size and envelope[i + 1] > envelope[i]:
        j += (threshold - envelope[i]) / (envelope[i + 1] - envelope[i])
    return float(lo + j)


def _low_band_envelope(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """1 ms-smoothed amplitude envelope (analytic-signal magnitude) of the band below REFINE_LOWPASS_HZ."""
    sos = signal.butter(4, REFINE_LOWPASS_HZ, "lowpass", fs=sample_rate, output="sos")
    low = signal.sosfiltfilt(sos, x)
    return ndimage.uniform_filter1d(np.abs(signal.hilbert(low)), max(1, round(REFINE_SMOOTH_S * sample_rate)))


def _step_position(envelope: np.ndarray, centre: int, window: int, span: int) -> int | None:
    """Index within ``centre ± window`` where the envelope's mean over the next ``span`` frames most exceeds
    its mean over the previous ``span`` (a step detector that ignores ripple shorter than ``span``)."""
    cumulative = np.concatenate([[0.0], np.cumsum(envelope)])
    index = np.arange(max(centre - window, span), min(centre + window, envelope.size - span) + 1)
    if index.size == 0:
        return None
    contrast = (cumulative[index + span] - 2 * cumulative[index] + cumulative[index - span]) / span
    best = int(np.argmax(contrast))
    return int(index[best]) if contrast[best] > 0 else None
