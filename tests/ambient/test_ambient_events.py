"""Event layers: one-shots at random (not periodic) times that differ per seed and are where the audio is."""

import numpy as np
import pytest

from groovebox.ambient.catalogue import ELEMENTS
from groovebox.ambient.scene import ElementKind, SceneLayer
from groovebox.ambient.synth import render_layer_detail

SR = 48000
SECONDS = 120
EVENTS = [kind for kind in ElementKind if ELEMENTS[kind].role == "events"]


def render(kind, seed, seconds=SECONDS):
    layer = SceneLayer(kind=kind, gain_db=-12.0, intensity=1.0, distance=0.0, spread=0.8)
    return render_layer_detail(layer, seconds=seconds, seed=seed)


def circular_intervals(onsets_s):
    onsets = np.sort(np.asarray(onsets_s))
    return np.diff(np.append(onsets, onsets[0] + SECONDS))


@pytest.fixture(scope="module", params=EVENTS, ids=str)
def rendered(request):
    return request.param, render(request.param, seed=21)


def test_event_timing_is_not_periodic(rendered):
    kind, result = rendered
    intervals = circular_intervals(result.onsets_s)
    assert len(result.onsets_s) >= 4, (kind, result.onsets_s)
    assert np.all(np.asarray(result.onsets_s) >= 0) and np.all(np.asarray(result.onsets_s) < SECONDS)
    assert intervals.std() / intervals.mean() > 0.2, intervals


def test_every_onset_starts_a_sound(rendered):
    """Each scheduled onset is followed by sound within two seconds (a train or a siren fades in), at most
    40 dB under the loudest second of the layer: the onsets describe the audio, not a schedule that was not
    rendered."""
    kind, result = rendered
    power = np.square(result.audio, dtype=np.float64).sum(axis=1)
    window = 2 * SR
    loudest = max(power[i:i + SR].mean() for i in range(0, power.size - SR, SR // 4))
    for onset in result.onsets_s:
        start = int(onset * SR)
        after = power[(start + np.arange(window)) % power.size].mean()
        assert after > loudest * 1e-4, (kind, onset)


@pytest.mark.parametrize("kind", [ElementKind.THUNDER, ElementKind.FOOTSTEPS, ElementKind.BIRDS], ids=str)
def test_another_seed_gives_other_onsets(kind):
    first, second = render(kind, seed=1, seconds=40), render(kind, seed=2, seconds=40)
    assert first.onsets_s != second.onsets_s
    assert not np.allclose(first.audio, second.audio)


def test_one_shots_differ_from_each_other():
    """No two events of a layer are copies: cross-correlation peaks of the first second after each onset
    stay well under 1."""
    result = render(ElementKind.BIRDS, seed=3)
    mono = result.audio.mean(axis=1)
    clips = [mono[int(t * SR):int(t * SR) + SR] for t in result.onsets_s if int(t * SR) + SR < mono.size][:6]
    for i in range(len(clips)):
        for j in range(i + 1, len(clips)):
            a, b = clips[i], clips[j]
            peak = np.abs(np.fft.irfft(np.fft.rfft(a, 2 * SR) * np.conj(np.fft.rfft(b, 2 * SR)))).max()
            assert peak / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12) < 0.9
