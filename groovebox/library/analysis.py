"""Analyse a loop of unknown tempo: bpm and bars, key, waveform peaks, category guess and loudness.

Runs in worker processes (imports) and tests; pure numpy/scipy on top of ``groovebox.generate.metrics``,
no state. Audio is float ``(frames, 2)`` at ``sample_rate`` (48 kHz in the library).

Decisions:
- Tempo: a loop is assumed to be a whole number of 4/4 bars (1, 2, 4, 8 or 16) at 70-180 BPM. Each bar
  count that puts the length in that range (widened by 8% so a loop with a little too much or too little
  audio still qualifies) is a candidate; ``metrics.estimate_tempo_bpm`` then measures the content's tempo
  at that bar count (its one-bar or one-beat autocorrelation lag, ±8%). When the measurement agrees with
  the length (within 0.1%), the tempo comes from the length, so the loop repeats exactly on the bar grid.
  A measured tempo within 0.1 BPM of a whole number is that number (producers work in whole BPM; the
  estimator is good to ~0.02 BPM on clean loops). When the result disagrees with the length, the audio
  carries a little extra or missing time (a tail cut short, silence after the last bar, encoder delay) and
  ``loop_frames`` is the length to conform it to (``conform``): leading and trailing silence is dropped
  for free, a non-silent tail is folded onto the head, missing time is padded with silence. A reading that
  would fold or pad more than one beat of sound is not a whole-bar loop, and audio without a clear beat
  (two-beat onset autocorrelation under 0.3: pads, noise) is never conformed. The length without leading and
  trailing silence (60 dB under the peak) is tried as well, for loops padded by more than 8%; per bar count
  the reading with the strongest two-beat onset periodicity wins (ties: the least conforming).
- Half/double time: when two bar counts fit (e.g. 4 bars at 180 or 2 bars at 90), the onset
  autocorrelation decides, with a prior that is flat over 90-150 BPM and falls off outside it
  (log2-Gaussian, sigma half an octave). Two kinds of evidence: the low band (< 300 Hz: kick, bass, snare
  body) has as strong a period at the faster beat as at the slower one when the faster reading is right;
  and the full-band envelope shows a backbeat (kick/snare alternation), which repeats much better over two
  beats than over one at the true beat and not at the other reading.
- Key: ``metrics.key_adherence`` defines the key (harmonic chroma share of each of the 12 diatonic sets).
  Calling it 12 times costs ~2.5 s per 10 s loop, so a plain chroma (``metrics.magnitude_frames`` and
  ``metrics.chroma_weights``, no HPSS) only orders the search: scales are asked in that order until
  ``key_adherence`` ranks one first, then the runner-up is asked too; when no set holds 67% of the plain
  chroma (drum loops ~0.62, noise ~0.60, chords 0.9+) it is not asked at all. The key is "" unless the
  best set holds >= 70% of the harmonic energy and beats the runner-up by >= 0.02 (drums and noise score
  ~0.6 on every scale). Only the first 30 s are used.
- Category: words in the file name first ("kick", "808", "vox", "pad", ...; the first known word wins),
  then the sound: a key and >= 75% of the energy under 200 Hz = bass, a key = synth; no key and >= 1.5
  clear onsets per second = drums (kicks put most drum loops' energy under 200 Hz too, so the key comes
  first); no key, mostly low = bass (808s, subs); else ambient under 1 onset per second, fx above. A full
  mix with chords reads as synth: there is no "mix" category.
- Loudness (BS.1770) is measured on the first 120 s, which bounds memory for long files.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from groovebox.generate import metrics
from groovebox.generate.request import Scale
from groovebox.library.store import CATEGORIES, Category

__all__ = [
    "BARS",
    "MIN_BPM",
    "MAX_BPM",
    "Category",
    "CATEGORIES",
    "TempoEstimate",
    "LoopAnalysis",
    "analyse",
    "detect_tempo",
    "conform",
    "detect_key",
    "waveform_peaks",
    "category_from_name",
    "guess_category",
    "loudness_lufs",
]


BARS = (1, 2, 4, 8, 16)
MIN_BPM, MAX_BPM = 70.0, 180.0
BEATS_PER_BAR = 4
PEAK_COUNT = 256

_LENGTH_SLACK = 0.08              # the candidate window around [MIN_BPM, MAX_BPM] for a loop's length
_EXACT_TOLERANCE = 0.001          # measured vs length-implied tempo: "the length is exact"
_SNAP_BPM = 0.1                   # a measured tempo this close to a whole number is that number
_SILENCE_DB = -60.0               # under the peak: leading/trailing silence
_MIN_TRIM_S = 0.010
_PRIOR_LOW_BPM, _PRIOR_HIGH_BPM, _PRIOR_SIGMA_OCTAVES = 90.0, 150.0, 0.5
_LOW_BAND_HZ = 300.0
_ACF_FLOOR = 0.02
_CLEAR_BEAT = 0.5                 # two-beat onset autocorrelation of a loop with a clear beat
_WEAK_BEAT = 0.3                  # under this a measured tempo is not trusted over the length
_KEY_SECONDS = 30.0
_KEY_MIN_SHARE = 0.70
_KEY_MIN_MARGIN = 0.02
_PLAIN_TONAL_MIN = 0.67           # plain-chroma share under which key_adherence is not even asked
_LOUDNESS_SECONDS = 120.0
_BASS_LOW_SHARE = 0.75            # share of energy under 200 Hz
_DRUM_ONSETS_HZ = 1.5
_AMBIENT_ONSETS_HZ = 1.0
_FEATURE_SECONDS = 30.0

_ONSET_RATE_HZ = 24000
_ONSET_HOP = 64
_ONSET_NFFT = 512
_CHROMA_RATE_HZ = 12000
_CHROMA_NFFT = 4096
_CHROMA_HOP = 1024

_NAME_WORDS: dict[str, Category] = {
    **dict.fromkeys("drum drums drumloop beat beats break breaks breakbeat kick kicks kik bd snare snares sd "
                    "clap claps hat hats hihat hihats hh ride crash cymbal tom toms perc percussion shaker "
                    "rim groove top tops".split(), "drums"),
    **dict.fromkeys("bass bassline basses sub subbass 808 reese".split(), "bass"),
    **dict.fromkeys("synth synths lead leads arp arps pluck plucks stab stabs seq saw pad pads".split(), "synth"),
    **dict.fromkeys("keys piano pianos rhodes epiano wurli wurlitzer organ chords chord".split(), "keys"),
    **dict.fromkeys("vox vocal vocals voice voices acapella choir chant adlib adlibs rap sing".split(), "vocals"),
    **dict.fromkeys("fx sfx riser risers sweep impact whoosh downlifter uplifter transition glitch foley "
                    "noise".split(), "fx"),
    **dict.fromkeys("ambient ambience atmo atmos atmosphere drone drones texture textures soundscape field "
                    "rain wind".split(), "ambient"),
}


@dataclass(frozen=True)
class TempoEstimate:
    """A loop's tempo. ``bpm``/``bars`` are None when no whole-bar reading fits (too short, too long).

    ``loop_frames`` is the length the audio should have at ``bpm`` and ``bars``: equal to the audio's
    length when that is exact, else what ``conform`` makes of it. ``beat_strength`` (0-1) is how
    periodic the onsets are over two beats; under 0.3 the tempo is a guess from the length alone.
    """

    bpm: float | None
    bars: int | None
    loop_frames: int
    beat_strength: float


@dataclass(frozen=True)
class LoopAnalysis:
    """Everything ``analyse`` learns; ``audio`` is the input conformed to ``tempo.loop_frames`` (the input
    array itself when it already has that length)."""

    audio: np.ndarray                 # float32 (frames, 2)
    tempo: TempoEstimate
    key: str                          # a Lyria Scale value, or "" when not clearly tonal
    category: Category
    peaks: np.ndarray                 # float32 (n, 2): min, max per slice
    loudness_lufs: float | None       # None for silence
    original_frames: int

    @property
    def frames(self) -> int:
        return int(self.audio.shape[0])


def analyse(audio: np.ndarray, sample_rate: int = 48000, *, name: str = "") -> LoopAnalysis:
    """Tempo, key, category, peaks and loudness of ``audio``; the returned audio is conformed to whole bars.

    ``name`` (a file name or title) feeds the category guess. Allocates copies; about 0.3-1 s for a
    10 s loop on a desktop CPU.
    """
    x = _stereo(audio)
    tempo = detect_tempo(x, sample_rate)
    conformed = x if tempo.loop_frames == x.shape[0] else conform(x, tempo.loop_frames)
    key, tonal_share = _key_and_share(conformed, sample_rate)
    return LoopAnalysis(
        audio=conformed,
        tempo=tempo,
        key=key,
        category=category_from_name(name) or _category_from_sound(conformed, sample_rate, tonal_share),
        peaks=waveform_peaks(conformed),
        loudness_lufs=loudness_lufs(conformed, sample_rate),
        original_frames=int(x.shape[0]),
    )


def _stereo(audio: np.ndarray) -> np.ndarray:
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] not in (1, 2) or x.shape[0] == 0:
        raise ValueError(f"audio must be shaped (frames, 2) with frames > 0, got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("audio contains NaN or infinite samples")
    return np.repeat(x, 2, axis=1) if x.shape[1] == 1 else x


# ---- tempo ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Candidate:
    bars: int
    bpm: float
    loop_frames: int
    cost_beats: float          # non-silent audio folded or padded to conform, in beats
    strength: float            # onset periodicity over two beats at this tempo (0-1)

    @property
    def score(self) -> float:
        return self.strength - 0.1 * self.cost_beats


def detect_tempo(audio: np.ndarray, sample_rate: int = 48000) -> TempoEstimate:
    """The whole-bar tempo reading of a loop (see the module notes); never raises for valid audio."""
    x = _stereo(audio)
    frames = x.shape[0]
    edges = _silent_edges(x)
    regions = _regions(frames, edges, sample_rate)
    if not any(_in_range(bars * BEATS_PER_BAR * 60.0 * sample_rate / (stop - start))
               for start, stop in regions for bars in BARS):
        return TempoEstimate(None, None, frames, 0.0)     # a one-shot or a long take: no envelope needed
    onsets = _Onsets(x, sample_rate)
    candidates = _best_per_bar_count(x, sample_rate, regions, edges, onsets)
    if not candidates:
        return TempoEstimate(None, None, frames, 0.0)
    chosen = candidates[0] if len(candidates) == 1 else _resolve_octave(candidates, onsets)
    return TempoEstimate(chosen.bpm, chosen.bars, chosen.loop_frames, round(chosen.strength, 3))


def _regions(frames: int, edges: tuple[int, int], sample_rate: int) -> list[tuple[int, int]]:
    """The whole audio, and the audio without leading/trailing silence when there is some."""
    lead, trail = edges
    regions = [(0, frames)]
    if lead + trail >= _MIN_TRIM_S * sample_rate and frames - lead - trail > 0:
        regions.append((lead, frames - trail))              # padded (or cut) by more than 8%?
    return regions


def _best_per_bar_count(x: np.ndarray, sample_rate: int, regions: list[tuple[int, int]], edges: tuple[int, int],
                        onsets: _Onsets) -> list[_Candidate]:
    """The best reading for each bar count that fits: the clearest beat, then the least conforming."""
    frames = x.shape[0]
    best: dict[int, _Candidate] = {}
    for region in regions:
        if any(c.loop_frames == frames and c.strength >= _CLEAR_BEAT for c in best.values()):
            break                                           # the length is exact: no need to trim
        for bars in BARS:
            candidate = _candidate(x, sample_rate, bars, region, edges, onsets)
            if candidate is not None and (bars not in best or candidate.score > best[bars].score):
                best[bars] = candidate
    return [best[bars] for bars in sorted(best)]


def _candidate(x: np.ndarray, sample_rate: int, bars: int, region: tuple[int, int], edges: tuple[int, int],
               onsets: _Onsets) -> _Candidate | None:
    frames = x.shape[0]
    start, stop = region
    beats = bars * BEATS_PER_BAR
    if not _in_range(beats * 60.0 * sample_rate / (stop - start)):
        return None
    exact_bpm = beats * 60.0 * sample_rate / frames
    measured = _measure(x[start:stop], sample_rate, bars)
    if math.isnan(measured) or onsets.beat_strength(measured) < _WEAK_BEAT:
        return _from_length(bars, frames, sample_rate, onsets)        # no beat to measure: trust the length
    whole = round(measured)
    if abs(measured - whole) <= _SNAP_BPM:
        bpm = float(whole)
    elif abs(measured - exact_bpm) <= _EXACT_TOLERANCE * exact_bpm:
        bpm = _simplest_bpm(bars, frames, sample_rate)
    else:
        bpm = round(measured, 3)
    target = round(beats * 60.0 / bpm * sample_rate)
    cost_beats = _conform_cost(frames, edges, target) / (60.0 / bpm * sample_rate)
    if cost_beats > 1.0:
        return None
    return _Candidate(bars, bpm, target, cost_beats, onsets.beat_strength(bpm))


def _from_length(bars: int, frames: int, sample_rate: int, onsets: _Onsets) -> _Candidate | None:
    bpm = _simplest_bpm(bars, frames, sample_rate)
    return _Candidate(bars, bpm, frames, 0.0, onsets.beat_strength(bpm)) if _in_range(bpm) else None


def _in_range(bpm: float) -> bool:
    return MIN_BPM * (1 - _LENGTH_SLACK) <= bpm <= MAX_BPM * (1 + _LENGTH_SLACK)


def _measure(x: np.ndarray, sample_rate: int, bars: int) -> float:
    try:
        return metrics.estimate_tempo_bpm(x, sample_rate, bars, beats_per_bar=BEATS_PER_BAR)
    except ValueError:          # too short to measure
        return math.nan


def _simplest_bpm(bars: int, frames: int, sample_rate: int) -> float:
    """The roundest tempo (whole, then 0.5, 0.1, 0.01, 0.001 BPM) whose bars round to exactly ``frames``."""
    exact = bars * BEATS_PER_BAR * 60.0 * sample_rate / frames
    for step in (1.0, 0.5, 0.1, 0.01, 0.001):
        bpm = round(exact / step) * step
        if round(bars * BEATS_PER_BAR * 60.0 / bpm * sample_rate) == frames:
            return round(bpm, 3)
    return exact


def _silent_edges(x: np.ndarray) -> tuple[int, int]:
    """(leading, trailing) frames more than 60 dB under the peak; (0, 0) for digital silence."""
    level = np.abs(x).max(axis=1)
    peak = float(level.max())
    if peak <= 0.0:
        return 0, 0
    loud = np.flatnonzero(level > peak * 10.0 ** (_SILENCE_DB / 20.0))
    return int(loud[0]), int(x.shape[0] - 1 - loud[-1])


def _conform_cost(frames: int, edges: tuple[int, int], target: int) -> int:
    """Frames of non-silent audio that conforming ``frames`` to ``target`` folds (or pads)."""
    if target >= frames:
        return target - frames
    lead, trail = edges
    excess = frames - target
    excess -= min(lead, excess)
    excess -= min(trail, excess)
    return excess


def conform(audio: np.ndarray, loop_frames: int) -> np.ndarray:
    """``audio`` made exactly ``loop_frames`` long without moving its beat grid more than necessary.

    Too long: leading silence goes first (encoder delay, a late start), then the tail is folded onto the
    head (added, as a loop's ring-out would sound when it repeats); silence folds to nothing. Too short:
    silence is appended. Returns float32 (loop_frames, 2); a copy.
    """
    x = _stereo(audio)
    if loop_frames <= 0:
        raise ValueError(f"loop_frames must be positive, got {loop_frames}")
    frames = x.shape[0]
    if frames <= loop_frames:
        return np.concatenate([x, np.zeros((loop_frames - frames, 2), np.float32)])
    lead = min(_silent_edges(x)[0], frames - loop_frames)
    x = x[lead:]
    out = x[:loop_frames].copy()
    tail = x[loop_frames:]
    for at in range(0, tail.shape[0], loop_frames):
        piece = tail[at:at + loop_frames]
        out[:piece.shape[0]] += piece
    return out


def _log_prior(bpm: float) -> float:
    if bpm < _PRIOR_LOW_BPM:
        octaves = math.log2(_PRIOR_LOW_BPM / bpm)
    elif bpm > _PRIOR_HIGH_BPM:
        octaves = math.log2(bpm / _PRIOR_HIGH_BPM)
    else:
        return 0.0
    return -0.5 * (octaves / _PRIOR_SIGMA_OCTAVES) ** 2


def _resolve_octave(candidates: list[_Candidate], onsets: _Onsets) -> _Candidate:
    """Pick between readings a factor of two apart (the bar counts fit at most two)."""
    slow, fast = candidates[0], candidates[-1]
    evidence = onsets.double_time_evidence(slow.bpm, fast.bpm)
    score = evidence + _log_prior(fast.bpm) - _log_prior(slow.bpm)
    return fast if score > 0 else slow


class _Onsets:
    """Full-band and low-band spectral-flux envelopes of a loop (circular) and their autocorrelations."""

    def __init__(self, x: np.ndarray, sample_rate: int) -> None:
        mono, rate = metrics.decimated_mono(x.astype(np.float64), sample_rate, _ONSET_RATE_HZ)
        count = max(16, round(mono.size / _ONSET_HOP))
        centres = np.round(np.arange(count) * mono.size / count).astype(np.int64)
        magnitudes = metrics.magnitude_frames(mono, centres, _ONSET_NFFT, circular=True)
        low_bins = int(_LOW_BAND_HZ * _ONSET_NFFT / rate) + 1
        self.step_s = mono.size / count / rate
        self.full = metrics.spectral_flux(magnitudes, circular=True)
        self.full_acf = _normalised_acf(self.full)
        self.low_acf = _normalised_acf(metrics.spectral_flux(magnitudes[:, :low_bins], circular=True))

    def _at(self, acf: np.ndarray, lag_s: float) -> float:
        """The circular autocorrelation's maximum within ±1% of ``lag_s`` (floored at 0.02)."""
        if acf.size == 0:
            return _ACF_FLOOR
        lag = lag_s / self.step_s
        lags = np.arange(math.floor(lag * 0.99) - 1, math.ceil(lag * 1.01) + 2) % acf.size
        return max(_ACF_FLOOR, float(acf[lags].max()))

    def beat_strength(self, bpm: float) -> float:
        """Full-band onset autocorrelation (0-1) at two beats: how clearly the loop has a beat at ``bpm``."""
        return 0.0 if self.full_acf.size == 0 else min(1.0, self._at(self.full_acf, 120.0 / bpm))

    def double_time_evidence(self, slow_bpm: float, fast_bpm: float) -> float:
        """Log-likelihood-style evidence that ``fast_bpm`` (about 2x ``slow_bpm``) is the beat."""
        slow_beat, fast_beat = 60.0 / slow_bpm, 60.0 / fast_bpm
        low = math.log(self._at(self.low_acf, fast_beat) / self._at(self.low_acf, slow_beat))
        backbeat_fast = self._at(self.full_acf, fast_beat) / self._at(self.full_acf, 2 * fast_beat)
        backbeat_slow = self._at(self.full_acf, slow_beat) / self._at(self.full_acf, 2 * slow_beat)
        return low + math.log(backbeat_slow / backbeat_fast)

    def onset_rate_hz(self) -> float:
        """Clear onsets per second: envelope peaks (±50 ms) over twice the median plus 4 MADs (so the
        steady flux of noise does not count)."""
        envelope = self.full
        if envelope.size < 3:
            return 0.0
        median = float(np.median(envelope))
        spread = float(np.median(np.abs(envelope - median))) + 1e-9
        window = max(3, round(0.1 / self.step_s) | 1)
        peaks = (envelope == ndimage.maximum_filter1d(envelope, window, mode="wrap")) & (
            envelope > 2.0 * median + 4.0 * spread) & (envelope > 0.05 * envelope.max())
        return float(np.count_nonzero(peaks)) / (envelope.size * self.step_s)


def _normalised_acf(envelope: np.ndarray) -> np.ndarray:
    centred = envelope - envelope.mean()
    energy = float(np.dot(centred, centred))
    if energy <= 1e-12:
        return np.zeros(0)
    return np.fft.irfft(np.abs(np.fft.rfft(centred)) ** 2, n=centred.size) / energy


# ---- key -----------------------------------------------------------------------------------------------

def detect_key(audio: np.ndarray, sample_rate: int = 48000) -> str:
    """The Lyria ``Scale`` value whose diatonic set best fits the harmonic content, or "" if not clearly tonal."""
    return _key_and_share(_stereo(audio), sample_rate)[0]


def _key_and_share(x: np.ndarray, sample_rate: int) -> tuple[str, float]:
    x = x[: round(_KEY_SECONDS * sample_rate)]
    if x.shape[0] < round(0.1 * sample_rate) or not np.any(x):
        return "", 0.0
    scales = list(Scale)[1:]
    plain = _plain_scale_shares(x, sample_rate)
    if plain.max() < _PLAIN_TONAL_MIN:
        return "", float(plain.max())                 # drums, noise: no set stands out even before HPSS
    order = np.argsort(-plain, kind="stable")
    shares: dict[int, float] = {}
    best = second = None
    for index in order:
        rank, share = metrics.key_adherence(x, sample_rate, scales[index])
        shares[int(index)] = share
        if rank == 0 and best is None:
            best = int(index)
        elif rank == 1 and second is None:
            second = int(index)
        if best is not None and second is not None:
            break
    best_share = shares[best] if best is not None else 0.0
    second_share = shares[second] if second is not None else 0.0
    if best is None or best_share < _KEY_MIN_SHARE or best_share - second_share < _KEY_MIN_MARGIN:
        return "", best_share
    return scales[best].value, best_share


def _plain_scale_shares(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """Share of plain (not harmonic-separated) chroma in each major scale's set, C first: a search order."""
    mono, rate = metrics.decimated_mono(x.astype(np.float64), sample_rate, _CHROMA_RATE_HZ)
    count = max(1, round(mono.size / _CHROMA_HOP))
    centres = np.round(np.arange(count) * mono.size / count).astype(np.int64)
    max_bin = min(_CHROMA_NFFT // 2 + 1, int(4500.0 * _CHROMA_NFFT / rate) + 1)
    magnitudes = metrics.magnitude_frames(mono, centres, _CHROMA_NFFT, circular=True, max_bin=max_bin)
    chroma = np.median(magnitudes, axis=0) @ metrics.chroma_weights(_CHROMA_NFFT, rate, max_bin=max_bin)
    total = float(chroma.sum()) + 1e-12
    steps = np.array(metrics.MAJOR_STEPS)
    return np.array([chroma[(tonic + steps) % 12].sum() / total for tonic in range(12)])


# ---- peaks, loudness, category --------------------------------------------------------------------------

def waveform_peaks(audio: np.ndarray, count: int = PEAK_COUNT) -> np.ndarray:
    """(min, max) over both channels in ``count`` equal slices (fewer for very short audio): float32 (n, 2)."""
    x = _stereo(audio)
    slices = max(1, min(count, x.shape[0]))
    starts = np.round(np.arange(slices) * x.shape[0] / slices).astype(np.int64)
    low = np.minimum.reduceat(x.min(axis=1), starts)
    high = np.maximum.reduceat(x.max(axis=1), starts)
    return np.stack([low, high], axis=1).astype(np.float32)


def loudness_lufs(audio: np.ndarray, sample_rate: int = 48000) -> float | None:
    """BS.1770 integrated loudness of the first 120 s; None for silence."""
    x = _stereo(audio)[: round(_LOUDNESS_SECONDS * sample_rate)]
    value = metrics.integrated_loudness_lufs(x, sample_rate)
    return round(value, 2) if math.isfinite(value) else None


def category_from_name(name: str) -> Category | None:
    """The category a file name or title implies ("Kick_01.wav" -> drums), or None. First word wins."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    for word in re.findall(r"[a-z]+|\d+", spaced.lower()):
        if word in _NAME_WORDS:
            return _NAME_WORDS[word]
    return None


def guess_category(audio: np.ndarray, sample_rate: int = 48000, name: str = "") -> Category:
    """Category from the name's words, else from the sound (see the module notes)."""
    x = _stereo(audio)
    from_name = category_from_name(name)
    if from_name is not None:
        return from_name
    return _category_from_sound(x, sample_rate, _key_and_share(x, sample_rate)[1])


def _category_from_sound(x: np.ndarray, sample_rate: int, tonal_share: float) -> Category:
    x = x[: round(_FEATURE_SECONDS * sample_rate)]
    if x.shape[0] < round(0.05 * sample_rate) or not np.any(x):
        return "other"
    onset_rate = _Onsets(x, sample_rate).onset_rate_hz()
    tonal = tonal_share >= _KEY_MIN_SHARE
    low = _low_band_share(x, sample_rate) >= _BASS_LOW_SHARE
    if tonal:
        return "bass" if low else "synth"
    if onset_rate >= _DRUM_ONSETS_HZ:
        return "drums"
    if low:
        return "bass"
    return "ambient" if onset_rate < _AMBIENT_ONSETS_HZ else "fx"


def _low_band_share(x: np.ndarray, sample_rate: int) -> float:
    """Share of spectral energy under 200 Hz (Welch-style average over the loop)."""
    mono = x.mean(axis=1).astype(np.float64)
    nfft = 4096
    frames = max(1, mono.size // nfft)
    power = np.zeros(nfft // 2 + 1)
    for index in range(frames):
        chunk = mono[index * nfft:(index + 1) * nfft]
        power += np.abs(np.fft.rfft(chunk * np.hanning(chunk.size), n=nfft)) ** 2
    freqs = np.fft.rfftfreq(nfft, 1.0 / sample_rate)
    total = float(power[freqs >= 20.0].sum()) + 1e-20
    return float(power[(freqs >= 20.0) & (freqs < 200.0)].sum()) / total
