"""Loop-quality metrics and loudness normalisation (reference/generation.md §2.3).

Runs in worker processes (generation and capture jobs) and in tests; numpy, scipy and pyloudnorm only, no
state. Audio is float ``(frames, 2)``; a 1-D array or ``(frames, 1)`` is taken as mono and measured as it
would play on the stereo engine (dual mono, so a mono loop measures 3 LU louder than pyloudnorm's 1-channel
reading). Anything else raises ValueError saying what was expected.

Decisions:
- Everything is measured on the loop as a *loop*: the seam metric, the tempo envelope, the key spectrogram
  and the limiter wrap around, because that is how the loop will be heard.
- Seam click (dB): mean squared first difference (summed over channels, so anti-phase clicks count) in a
  ±3 ms window across the wrap, against the median of the same window at the internal bar lines (beat lines
  for a one-bar loop). Sample jump: the worst channel's ``|x[0]-x[-1]|`` over its p99 step.
- That reference is the music's own energy at other bar lines, which varies. In 126 captures from the fake
  Lyria (4 bars at 92 BPM, random phases) the loops start 2.5 ± 0.1 ms before the true downbeat, and their
  wrap windows carry the same energy as the uncut stream at the cut point (-0.4 to -0.1 dB); yet the
  internal bar-line windows spread from -4.0 to +4.6 dB around their median (the window's last 0.5 ms
  holds the start of the downbeat's hat, whose level and noise differ bar by bar), so 6 seamless loops
  read +3.1 to +4.7 dB. When the stream the loop was cut from is at hand, ``seam_click_vs_stream_db``
  compares the wrap with the same window of the stream at the cut point instead: the continuation the
  wrap replaces, i.e. the same music. Those 126 loops read -0.4 to -0.1 dB there; a hard cut reads its
  step plus whatever the loop's end adds over the stream's own lead-in (in test_metrics, every hard cut
  with a sample jump over 1 reads more than +3 dB, as does a loop ending 20 ms into a kick).
- Tempo: spectral-flux onset envelope on a ~24 kHz mix, hop ~2.7 ms, with frames placed so the envelope is
  exactly one loop long (``M`` frames at ``round(i*n/M)``): its circular autocorrelation is then exactly
  symmetric about the true period. The autocorrelation is evaluated as a cosine sum of the (band-limited)
  envelope power spectrum on a 1/100-hop grid within ±8% of the expected lag, then parabolic
  interpolation. One- and two-bar loops use the one-beat lag (half-beat if a beat is over 40% of the loop)
  because a circular lag of half the loop is its own mirror image and cannot show a tempo mismatch.
  Loops without onsets give NaN.
- Key: median-filter HPSS (17 frames x 17 bins, soft mask) on a ~12 kHz STFT (4096 points, hop 512,
  circular), chroma = harmonic magnitudes folded onto pitch classes (55 Hz-4 kHz, triangular weights).
  ``in_scale`` is the target diatonic set's share; ``key_rank`` counts transpositions that score strictly
  higher (ties go to the target). Relative major/minor share a set, as in Lyria's enum.
- Loudness: BS.1770 via pyloudnorm, measured as the loop sounds repeating: its last 0.3 s go in front so
  every frame sits in the same number of gating blocks (plain pyloudnorm under-weights the first and last
  0.3 s, which made the reading of a 4 s loop move by ~0.3 LU with where the loop starts); loops shorter
  than the 0.4 s block are tiled first.
- ``normalise_loop``: gain to the target; if that pushes peaks over the ceiling, a circular look-ahead
  limiter (stereo-linked, 5 ms linear attack ending on the peak, 80 ms exponential release, computed in dB
  without a Python sample loop) takes them down and the gain is re-solved (secant steps) until the loudness
  is within 0.05 LU, at most 12 times.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass

import numpy as np
import pyloudnorm
from scipy import ndimage, signal

from groovebox.generate.request import Scale, scale_tonic_pitch_class

__all__ = [
    "TARGET_LUFS",
    "CEILING_DBFS",
    "LoopMetrics",
    "measure",
    "seam_click_db",
    "seam_click_vs_stream_db",
    "sample_jump_ratio",
    "estimate_tempo_bpm",
    "key_adherence",
    "integrated_loudness_lufs",
    "peak_dbfs",
    "silence_ratio",
    "normalise_loop",
    "validated_audio",
    "mono_mix",
    "decimated_mono",
    "magnitude_frames",
    "spectral_flux",
    "chroma_weights",
]

TARGET_LUFS = -16.0
CEILING_DBFS = -1.0

SEAM_WINDOW_S = 0.003
SILENCE_FRAME_S = 0.050
SILENCE_DBFS = -60.0
LOUDNESS_BLOCK_S = 0.4
LOUDNESS_STEP_S = 0.1
MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)

_ONSET_RATE_HZ = 24000
_TEMPO_HOP = 64
_ONSET_NFFT = 512
_LAG_WINDOW = 0.08
_KEY_RATE_HZ = 12000
_KEY_NFFT = 4096
_KEY_HOP = 512
_HPSS_KERNEL = 17
_LIMIT_ATTACK_S = 0.005
_LIMIT_RELEASE_S = 0.080
_LOUDNESS_TOLERANCE_LU = 0.05
_NORMALISE_ITERATIONS = 12


@dataclass(frozen=True)
class LoopMetrics:
    seam_db: float             # seam click (dB, pass <= +3) vs the internal bar lines; a Lyria capture: vs its stream
    sample_jump: float         # |x[0]-x[-1]| / p99 |first difference|; pass <= 1
    tempo_bpm: float           # estimated from the audio (NaN when there are no onsets)
    tempo_error_bpm: float     # tempo_bpm - expected bpm
    key_rank: int | None       # rank of the target scale among the 12 transpositions (0 = best)
    in_scale: float | None     # share of harmonic chroma energy in the target diatonic set
    loudness_lufs: float       # BS.1770 integrated (-inf for silence)
    peak_dbfs: float
    silence_ratio: float       # fraction of 50 ms frames below -60 dBFS

    def as_dict(self) -> dict:
        """JSON-ready: floats rounded, NaN/inf as None."""
        digits = {"seam_db": 2, "sample_jump": 3, "tempo_bpm": 3, "tempo_error_bpm": 3, "in_scale": 3,
                  "loudness_lufs": 2, "peak_dbfs": 2, "silence_ratio": 3}
        out = {}
        for name, value in asdict(self).items():
            if isinstance(value, float):
                value = round(value, digits[name]) if math.isfinite(value) else None
            out[name] = value
        return out


# ---- input checks ----------------------------------------------------------------------------------------

def validated_audio(audio, *, name: str = "audio", min_frames: int = 1, dtype=np.float64) -> np.ndarray:
    """``audio`` as ``(frames, 2)`` of ``dtype`` (mono is duplicated; no copy when nothing changes);
    ValueError for anything else."""
    array = np.asarray(audio)
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"{name} must be floating-point samples in [-1, 1], got dtype {array.dtype}")
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError(f"{name} must be shaped (frames, 2) (or mono), got shape {array.shape}")
    if array.shape[1] not in (1, 2):
        hint = " (it looks like (channels, frames): pass audio.T)" if array.shape[0] in (1, 2) else ""
        raise ValueError(f"{name} must be shaped (frames, 2) (or mono), got shape {array.shape}{hint}")
    if array.shape[0] < min_frames:
        raise ValueError(f"{name} has {array.shape[0]} frames; at least {min_frames} are needed")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinite samples")
    if array.shape[1] == 1:
        array = np.repeat(array, 2, axis=1)
    return array.astype(dtype, copy=False)


def _check_rate(sample_rate) -> int:
    if not isinstance(sample_rate, (int, np.integer)) or sample_rate < 8000:
        raise ValueError(f"sample_rate must be an integer >= 8000 Hz, got {sample_rate!r}")
    return int(sample_rate)


def _check_bars(bars, beats_per_bar) -> None:
    if not isinstance(bars, (int, np.integer)) or bars < 1:
        raise ValueError(f"bars must be a positive integer, got {bars!r}")
    if not isinstance(beats_per_bar, (int, np.integer)) or beats_per_bar < 1:
        raise ValueError(f"beats_per_bar must be a positive integer, got {beats_per_bar!r}")


def _check_bpm(bpm) -> float:
    if not (isinstance(bpm, numbers.Real) and math.isfinite(bpm) and bpm > 0):
        raise ValueError(f"bpm must be a positive number, got {bpm!r}")
    return float(bpm)


# ---- shared analysis primitives (also used by loopcut) ---------------------------------------------------

def mono_mix(frames: np.ndarray) -> np.ndarray:
    """The mean of the two channels of ``(frames, 2)`` audio (faster than ``mean(axis=1)``)."""
    return 0.5 * (frames[:, 0] + frames[:, 1])


def decimated_mono(audio: np.ndarray, sample_rate: float, target_hz: int) -> tuple[np.ndarray, float]:
    """Mono mix of ``(frames, 2)`` audio (or a mono 1-D signal), decimated by the integer factor nearest to
    sample_rate/target_hz; returns (signal, its rate)."""
    mono = audio if audio.ndim == 1 else mono_mix(audio)
    factor = max(1, round(sample_rate / target_hz))
    if factor > 1:
        mono = signal.resample_poly(mono, 1, factor)
    return mono, sample_rate / factor


def magnitude_frames(x: np.ndarray, centres: np.ndarray, nfft: int, *, circular: bool,
                     max_bin: int | None = None) -> np.ndarray:
    """Hann-windowed STFT magnitudes (float32, normalised so a full-scale sine reads ~0.5) of frames centred
    at ``centres``; the signal wraps when ``circular``, else it is zero outside."""
    window = signal.get_window("hann", nfft).astype(np.float32)
    window_sum = float(window.sum())
    bins = nfft // 2 + 1 if max_bin is None else max_bin
    offsets = np.arange(nfft) - nfft // 2
    source = x.astype(np.float32)
    if not circular:
        source = np.pad(source, nfft // 2 + 1)
        centres = centres + nfft // 2 + 1
    out = np.empty((len(centres), bins), np.float32)
    chunk = max(1, 2**21 // nfft)
    for lo in range(0, len(centres), chunk):
        index = centres[lo:lo + chunk, None] + offsets
        frames = source[index % source.size if circular else index] * window
        out[lo:lo + chunk] = np.abs(np.fft.rfft(frames, axis=1)[:, :bins]) / window_sum
    return out


def spectral_flux(magnitudes: np.ndarray, *, circular: bool) -> np.ndarray:
    """Half-wave rectified frame-to-frame rise of log-compressed magnitudes, summed over bins."""
    compressed = np.log1p(1000.0 * magnitudes)
    previous = np.roll(compressed, 1, axis=0)
    if not circular:
        previous[0] = compressed[0]
    return np.maximum(compressed - previous, 0.0).sum(axis=1).astype(np.float64)


def chroma_weights(nfft: int, rate_hz: float, fmin_hz: float = 55.0, fmax_hz: float = 4000.0,
                   max_bin: int | None = None) -> np.ndarray:
    """(bins, 12) matrix folding STFT bins onto pitch classes (0 = C), triangular around each semitone."""
    bins = nfft // 2 + 1 if max_bin is None else max_bin
    freqs = np.arange(bins) * rate_hz / nfft
    weights = np.zeros((bins, 12))
    band = (freqs >= fmin_hz) & (freqs <= fmax_hz)
    midi = 69.0 + 12.0 * np.log2(freqs[band] / 440.0)
    nearest = np.round(midi)
    weights[np.flatnonzero(band), nearest.astype(int) % 12] = 1.0 - 2.0 * np.abs(midi - nearest)
    return weights


# ---- seam ----------------------------------------------------------------------------------------------

def _window_energy(diff_sq: np.ndarray, boundary: int, half: int) -> float:
    index = (boundary + np.arange(-half, half)) % diff_sq.size
    return float(diff_sq[index].mean())


def seam_click_db(audio, sample_rate, bars, *, beats_per_bar: int = 4) -> float:
    """Seam click in dB: the first-difference energy across the wrap vs the median at the internal bar
    lines (beat lines for a one-bar loop). Pass <= +3 dB."""
    sample_rate = _check_rate(sample_rate)
    _check_bars(bars, beats_per_bar)
    half = max(1, round(SEAM_WINDOW_S * sample_rate))
    units = bars if bars > 1 else beats_per_bar
    x = validated_audio(audio, min_frames=max(2 * half * max(units, 2), 4))
    diff_sq = ((x - np.roll(x, 1, axis=0)) ** 2).sum(axis=1)      # diff_sq[0] is the step across the wrap
    n = x.shape[0]
    reference = [_window_energy(diff_sq, round(k * n / units), half) for k in range(1, units)]
    if not reference:
        raise ValueError("a one-beat one-bar loop has no internal bar or beat lines to compare the seam with")
    tiny = 1e-20
    return 10.0 * math.log10((_window_energy(diff_sq, 0, half) + tiny) / (float(np.median(reference)) + tiny))


def seam_click_vs_stream_db(audio, stream, start_frame, sample_rate) -> float:
    """Seam click in dB of a loop cut from ``stream`` (same gain) starting at ``start_frame``: the
    first-difference energy in the ±3 ms window across the wrap vs the same window of the stream around
    ``start_frame``, which is the continuation the wrap stands in for. Pass <= +3."""
    sample_rate = _check_rate(sample_rate)
    half = max(1, round(SEAM_WINDOW_S * sample_rate))
    x = validated_audio(audio, name="audio", min_frames=2 * half + 1)
    s = validated_audio(stream, name="stream", min_frames=2 * half + 1)
    if not isinstance(start_frame, (int, np.integer)) or not half < start_frame <= s.shape[0] - half:
        raise ValueError(f"start_frame must be an integer with {SEAM_WINDOW_S * 1000:g} ms of stream either side "
                         f"({half + 1}..{s.shape[0] - half}), got {start_frame!r}")
    wrap = np.concatenate([x[-half - 1:], x[:half]])              # the loop's last frames, then its first
    continuation = s[start_frame - half - 1:start_frame + half]
    tiny = 1e-20
    return 10.0 * math.log10((_step_energy(wrap) + tiny) / (_step_energy(continuation) + tiny))


def _step_energy(frames: np.ndarray) -> float:
    """Mean squared first difference, summed over channels."""
    return float((np.diff(frames, axis=0) ** 2).sum(axis=1).mean())


def sample_jump_ratio(audio) -> float:
    """The worst channel's ``|x[0] - x[-1]|`` over its 99th-percentile step. Pass <= 1."""
    x = validated_audio(audio, min_frames=3)
    jumps = np.abs(x[0] - x[-1])
    p99 = np.percentile(np.abs(np.diff(x, axis=0)), 99, axis=0)
    ratios = [0.0 if j == 0 else (j / p if p > 0 else math.inf) for j, p in zip(jumps, p99)]
    return float(max(ratios))


# ---- tempo ---------------------------------------------------------------------------------------------

def _circular_onset_envelope(x: np.ndarray, sample_rate: int) -> tuple[np.ndarray, float]:
    """Onset envelope exactly one loop long; returns (envelope, seconds per envelope sample)."""
    mono, rate = decimated_mono(x, sample_rate, _ONSET_RATE_HZ)
    count = max(16, round(mono.size / _TEMPO_HOP))
    centres = np.round(np.arange(count) * mono.size / count).astype(np.int64)
    flux = spectral_flux(magnitude_frames(mono, centres, _ONSET_NFFT, circular=True), circular=True)
    return flux, mono.size / count / rate


def _lag_unit(loop_s: float, beats_per_bar: int, expected_bpm: float) -> tuple[float, float]:
    """(lag in seconds to look near, its length in bars): one bar, else the first of a beat, half-beat or
    quarter-beat whose ±8% window stays clear of half the loop (a circular lag's own mirror image)."""
    bar_s = 60.0 * beats_per_bar / expected_bpm
    for bars_per_unit in (1.0, 1.0 / beats_per_bar, 0.5 / beats_per_bar, 0.25 / beats_per_bar):
        if bar_s * bars_per_unit * (1 + _LAG_WINDOW) < 0.4 * loop_s:
            return bar_s * bars_per_unit, bars_per_unit
    return bar_s * bars_per_unit, bars_per_unit


def _acf_at(power: np.ndarray, weights: np.ndarray, lags: np.ndarray, count: int) -> np.ndarray:
    k = np.arange(power.size)
    return np.cos(2 * np.pi * np.outer(lags, k) / count) @ (weights * power)


def estimate_tempo_bpm(audio, sample_rate, bars, *, beats_per_bar: int = 4,
                       expected_bpm: float | None = None) -> float:
    """Tempo from the circular autocorrelation of the onset envelope near the one-bar lag (±8%).

    The expected lag comes from ``expected_bpm`` or, when None, from the loop length (``bars`` bars).
    Returns NaN when the audio has no onsets."""
    sample_rate = _check_rate(sample_rate)
    _check_bars(bars, beats_per_bar)
    x = validated_audio(audio, min_frames=round(0.05 * sample_rate))
    loop_s = x.shape[0] / sample_rate
    expected = _check_bpm(expected_bpm) if expected_bpm is not None else 60.0 * beats_per_bar * bars / loop_s
    unit_s, bars_per_unit = _lag_unit(loop_s, beats_per_bar, expected)
    envelope, step_s = _circular_onset_envelope(x, sample_rate)
    envelope = envelope - envelope.mean()
    if not np.any(np.abs(envelope) > 1e-9):
        return math.nan
    count = envelope.size
    spectrum = np.fft.rfft(envelope)
    freqs = np.arange(spectrum.size) / (count * step_s)
    power = np.abs(spectrum) ** 2 * np.exp(-((freqs / 60.0) ** 2))      # band-limit: ~3 ms smoothing
    weights = np.full(power.size, 2.0)
    weights[0] = 1.0
    if count % 2 == 0:
        weights[-1] = 1.0
    centre = unit_s / step_s
    if centre * (1 - _LAG_WINDOW) < 4 or centre * (1 + _LAG_WINDOW) >= count / 2:
        return math.nan                                    # the lag is not measurable in this loop
    upsample = 4                                           # coarse: the whole ACF at 1/4-hop steps
    acf = np.fft.irfft(power, n=count * upsample)
    lo, hi = math.ceil(centre * (1 - _LAG_WINDOW) * upsample), int(centre * (1 + _LAG_WINDOW) * upsample)
    best = (lo + int(np.argmax(acf[lo:hi + 1]))) / upsample
    fine = np.arange(best - 0.3, best + 0.3, 0.01)       # fine: the exact cosine sum at 1/100-hop steps
    values = _acf_at(power, weights, fine, count)
    i = int(np.clip(np.argmax(values), 1, fine.size - 2))
    lag = fine[i] + 0.01 * _parabolic_offset(values[i - 1], values[i], values[i + 1])
    return float(60.0 * beats_per_bar * bars_per_unit / (lag * step_s))


def _parabolic_offset(left: float, mid: float, right: float) -> float:
    denominator = left - 2.0 * mid + right
    return 0.0 if denominator >= 0 else float(np.clip(0.5 * (left - right) / denominator, -0.5, 0.5))


# ---- key -----------------------------------------------------------------------------------------------

def _harmonic_chroma(x: np.ndarray, sample_rate: int) -> np.ndarray:
    mono, rate = decimated_mono(x, sample_rate, _KEY_RATE_HZ)
    count = max(1, round(mono.size / _KEY_HOP))
    centres = np.round(np.arange(count) * mono.size / count).astype(np.int64)
    max_bin = min(_KEY_NFFT // 2 + 1, int(4500.0 * _KEY_NFFT / rate) + 1)
    mags = magnitude_frames(mono, centres, _KEY_NFFT, circular=True, max_bin=max_bin)
    harmonic = ndimage.median_filter(mags, size=(min(_HPSS_KERNEL, count), 1), mode="wrap")
    percussive = ndimage.median_filter(mags, size=(1, _HPSS_KERNEL), mode="nearest")
    mask = harmonic**2 / (harmonic**2 + percussive**2 + 1e-20)
    weights = chroma_weights(_KEY_NFFT, rate, max_bin=max_bin)
    return (mags * mask).sum(axis=0) @ weights


def _diatonic_mask(major_tonic_pc: int) -> np.ndarray:
    mask = np.zeros(12, bool)
    mask[[(major_tonic_pc + step) % 12 for step in MAJOR_STEPS]] = True
    return mask


def key_adherence(audio, sample_rate, scale: Scale) -> tuple[int, float]:
    """(rank of ``scale`` among the 12 diatonic transpositions, share of harmonic chroma in its set).
    A loop with no harmonic energy gives (0, 0.0)."""
    sample_rate = _check_rate(sample_rate)
    try:
        tonic = scale_tonic_pitch_class(Scale(scale))
    except ValueError:
        raise ValueError(f"unknown scale {scale!r}") from None
    if tonic is None:
        raise ValueError("key adherence needs a concrete scale, not SCALE_UNSPECIFIED")
    x = validated_audio(audio, min_frames=round(0.1 * sample_rate))
    chroma = _harmonic_chroma(x, sample_rate)
    total = float(chroma.sum())
    if total <= 1e-12:
        return 0, 0.0
    shares = np.array([chroma[_diatonic_mask(pc)].sum() / total for pc in range(12)])
    rank = int(np.count_nonzero(shares > shares[tonic] + 1e-9))
    return rank, float(shares[tonic])


# ---- level ---------------------------------------------------------------------------------------------

def integrated_loudness_lufs(audio, sample_rate) -> float:
    """BS.1770-4 integrated loudness (pyloudnorm) of the loop as it sounds looping; -inf for silence."""
    sample_rate = _check_rate(sample_rate)
    x = validated_audio(audio)
    return _loudness(x, sample_rate)


def _loudness(x: np.ndarray, sample_rate: int) -> float:
    """pyloudnorm on the loop with its last 0.3 s put in front, so the 0.4 s gating blocks (0.1 s apart)
    cover every frame equally often, as they would in an endless repeat; loops shorter than a block are
    tiled first."""
    block_frames = round(LOUDNESS_BLOCK_S * sample_rate)
    if x.shape[0] < block_frames:
        x = np.tile(x, (math.ceil(block_frames / x.shape[0]), 1))
    wrap = round((LOUDNESS_BLOCK_S - LOUDNESS_STEP_S) * sample_rate)
    looped = np.concatenate([x[np.arange(-wrap, 0) % x.shape[0]], x])
    meter = pyloudnorm.Meter(sample_rate, block_size=LOUDNESS_BLOCK_S, overlap=1 - LOUDNESS_STEP_S / LOUDNESS_BLOCK_S)
    return float(meter.integrated_loudness(looped))


def peak_dbfs(audio) -> float:
    """Sample peak in dBFS over both channels (-inf for silence)."""
    peak = float(np.abs(validated_audio(audio)).max())
    return 20.0 * math.log10(peak) if peak > 0 else -math.inf


def silence_ratio(audio, sample_rate) -> float:
    """Fraction of 50 ms frames (the last one may be shorter) whose RMS is below -60 dBFS."""
    sample_rate = _check_rate(sample_rate)
    x = validated_audio(audio)
    frame = max(1, round(SILENCE_FRAME_S * sample_rate))
    power = (x**2).mean(axis=1)
    starts = np.arange(0, power.size, frame)
    sums = np.add.reduceat(power, starts)
    lengths = np.diff(np.append(starts, power.size))
    threshold = 10.0 ** (SILENCE_DBFS / 10.0)
    return float(np.count_nonzero(sums / lengths < threshold) / starts.size)


# ---- normalisation -------------------------------------------------------------------------------------

def _circular_limiter_gain(x: np.ndarray, sample_rate: int, ceiling: float) -> np.ndarray:
    """Per-frame gain (<= 1) that keeps the stereo-linked peak at or under ``ceiling``, for a loop."""
    peak = np.abs(x).max(axis=1)
    need_db = np.maximum(0.0, 20.0 * np.log10(np.maximum(peak, 1e-30) / ceiling))
    n = need_db.size
    attack = max(1, round(_LIMIT_ATTACK_S * sample_rate))
    tau = _LIMIT_RELEASE_S * sample_rate
    history = min(round(12 * tau), 50 * n)                # release influence reaching back round the loop
    ext = need_db[np.arange(-history, n + attack) % n]
    ahead = ndimage.maximum_filter1d(ext, size=attack, origin=-(attack // 2), mode="nearest")
    with np.errstate(divide="ignore"):
        log_held = np.log(ahead) + np.arange(ext.size) / tau
    held = np.exp(np.maximum.accumulate(log_held) - np.arange(ext.size) / tau)
    smoothed = ndimage.uniform_filter1d(held, size=attack, origin=(attack - 1) // 2, mode="nearest")
    reduction_db = smoothed[history:history + n]
    return 10.0 ** (-np.maximum(reduction_db, need_db) / 20.0)


def _apply_gain(x: np.ndarray, gain_db: float, sample_rate: int, ceiling: float) -> np.ndarray:
    y = x * 10.0 ** (gain_db / 20.0)
    if np.abs(y).max() > ceiling:
        y *= _circular_limiter_gain(y, sample_rate, ceiling)[:, None]
    return y


def normalise_loop(audio, sample_rate, *, target_lufs: float = TARGET_LUFS,
                   ceiling_dbfs: float = CEILING_DBFS) -> np.ndarray:
    """``audio`` at ``target_lufs`` (±0.5 LU) with its sample peak <= ``ceiling_dbfs``, as float32 of the
    same shape. Peaks the gain would push over the ceiling go through a circular look-ahead limiter."""
    sample_rate = _check_rate(sample_rate)
    original = np.asarray(audio)
    x = validated_audio(audio)
    if not (math.isfinite(target_lufs) and math.isfinite(ceiling_dbfs) and ceiling_dbfs <= 0):
        raise ValueError("target_lufs must be finite and ceiling_dbfs finite and <= 0 dBFS")
    loudness = _loudness(x, sample_rate)
    if not math.isfinite(loudness):
        raise ValueError("can't normalise silence: the loop has no level above the -70 LUFS gate")
    ceiling = 10.0 ** ((ceiling_dbfs - 0.01) / 20.0)          # margin for float32 rounding
    gain_db, previous = target_lufs - loudness, None
    for _ in range(_NORMALISE_ITERATIONS):
        y = _apply_gain(x, gain_db, sample_rate, ceiling)
        loudness = _loudness(y, sample_rate)
        error = target_lufs - loudness
        if abs(error) <= _LOUDNESS_TOLERANCE_LU:
            break
        slope = 1.0
        if previous is not None and gain_db != previous[0]:
            slope = float(np.clip((loudness - previous[1]) / (gain_db - previous[0]), 0.05, 1.0))
        previous = (gain_db, loudness)
        gain_db += error / slope
    if abs(target_lufs - loudness) > 0.5:
        raise ValueError(f"can't reach {target_lufs} LUFS under a {ceiling_dbfs} dBFS ceiling "
                         f"(got {loudness:.1f} LUFS): the loop is too peaky")
    out = y.astype(np.float32)
    limit = np.float32(10.0 ** (ceiling_dbfs / 20.0))
    peak = np.abs(out).max()
    if peak > limit:
        out *= limit / peak
    return out[:, 0].copy() if original.ndim == 1 else (out[:, :1].copy() if original.shape[1] == 1 else out)


# ---- all together --------------------------------------------------------------------------------------

def measure(audio, sample_rate, bpm, bars, *, beats_per_bar: int = 4, scale: Scale | None = None) -> LoopMetrics:
    """All the loop metrics of §2.3 for a loop meant to be ``bars`` bars at ``bpm``."""
    sample_rate = _check_rate(sample_rate)
    bpm = _check_bpm(bpm)
    _check_bars(bars, beats_per_bar)
    x = validated_audio(audio, min_frames=round(0.05 * sample_rate))
    tempo = estimate_tempo_bpm(x, sample_rate, bars, beats_per_bar=beats_per_bar, expected_bpm=bpm)
    key_rank = in_scale = None
    if scale is not None and Scale(scale) != Scale.SCALE_UNSPECIFIED:
        key_rank, in_scale = key_adherence(x, sample_rate, scale)
    return LoopMetrics(
        seam_db=seam_click_db(x, sample_rate, bars, beats_per_bar=beats_per_bar),
        sample_jump=sample_jump_ratio(x),
        tempo_bpm=tempo,
        tempo_error_bpm=tempo - bpm,
        key_rank=key_rank,
        in_scale=in_scale,
        loudness_lufs=_loudness(x, sample_rate),
        peak_dbfs=peak_dbfs(x),
        silence_ratio=silence_ratio(x, sample_rate),
    )
