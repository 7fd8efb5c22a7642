"""The beat clock of the token decoder (core/beat.py): known answers on steady and tracked beats."""

import numpy as np
import pytest

from core.audio_config import DEFAULT_AUDIO
from core.beat import (
    nearest_bin,
    phase_features,
    steady_clock,
    tempo_bins,
    track_beats,
    tracked_clock,
)
from core.mel import log_mel


def test_phase_features_are_the_sine_and_cosine_of_beat_and_bar():
    features = phase_features(np.array([0.0, 0.25, 1.0, 2.0]))
    np.testing.assert_allclose(features[0], [0, 1, 0, 1], atol=1e-6)
    np.testing.assert_allclose(features[1], [1, 0, np.sin(np.pi / 8), np.cos(np.pi / 8)],
                               atol=1e-6)
    np.testing.assert_allclose(features[2, :2], [0, 1], atol=1e-6)  # on the next beat
    np.testing.assert_allclose(features[3, 2:], [0, -1], atol=1e-6)  # half a bar later


def test_a_steady_clock_at_120_bpm_returns_to_phase_zero_every_half_second():
    clock = steady_clock(200, 120.0)
    frames_per_beat = 0.5 * DEFAULT_AUDIO.sample_rate / DEFAULT_AUDIO.hop_length  # 43.07
    beat_cos = clock[:, 1]
    peaks = [t for t in range(1, 199) if beat_cos[t] >= beat_cos[t - 1] and
             beat_cos[t] >= beat_cos[t + 1]]
    np.testing.assert_allclose(peaks, np.round(frames_per_beat * np.arange(1, 5)), atol=1)
    with pytest.raises(ValueError, match="positive"):
        steady_clock(10, 0.0)


def test_a_tracked_clock_puts_phase_zero_on_each_tracked_beat_and_continues_outside():
    beats = np.array([10, 30, 50, 70])
    clock = tracked_clock(beats, 100, 120.0)
    np.testing.assert_allclose(clock[beats, 1], 1.0, atol=1e-6)
    np.testing.assert_allclose(clock[20, :2], [0, -1], atol=1e-6)  # half-way between beats
    np.testing.assert_allclose(clock[90, :2], [0, 1], atol=1e-6)  # one beat after the last
    np.testing.assert_allclose(clock[0, :2], [0, -1], atol=1e-6)  # half a beat before the first
    np.testing.assert_allclose(clock[[10, 90], 3], [1.0, 1.0], atol=1e-6)  # bar: 4 beats later


def test_tempo_bins_are_log_spaced_and_the_nearest_bin_is_found_on_a_log_scale():
    bins = tempo_bins(12)
    assert (bins[0], bins[-1]) == pytest.approx((60.0, 200.0))
    ratios = np.diff(np.log(bins))
    np.testing.assert_allclose(ratios, ratios[0])
    assert nearest_bin(61.0, bins) == 0 and nearest_bin(500.0, bins) == 11
    assert bins[nearest_bin(120.0, bins)] == pytest.approx(120.0, rel=0.06)
    with pytest.raises(ValueError):
        tempo_bins(1)


def test_beats_are_tracked_in_the_mel_of_a_click_track():
    sr = DEFAULT_AUDIO.sample_rate
    audio = np.zeros(int(8 * sr), np.float32)
    click = np.sin(2 * np.pi * 1500 * np.arange(400) / sr) * np.exp(-np.arange(400) / 80)
    for start in np.arange(0.25, 7.9, 0.5):  # 120 BPM
        i = int(start * sr)
        audio[i:i + 400] += click
    bpm, beats = track_beats(log_mel(audio, DEFAULT_AUDIO))
    assert bpm == pytest.approx(120.0, rel=0.05)
    seconds = beats * DEFAULT_AUDIO.hop_length / sr
    assert np.median(np.abs((seconds - 0.25) / 0.5 - np.round((seconds - 0.25) / 0.5))) < 0.06
