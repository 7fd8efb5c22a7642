"""Frame-rate buzz (training/evaluation/frame_buzz.py) and the loss against it
(training/vocoder/losses.frame_periodic_loss): the light vocoder's tonal artifact."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.audio_config import DEFAULT_AUDIO
from training.evaluation.frame_buzz import frame_rate_buzz_db, harmonic_bins
from training.vocoder.losses import frame_periodic, frame_periodic_loss

SR, HOP = DEFAULT_AUDIO.sample_rate, DEFAULT_AUDIO.hop_length


def _noise(seconds: float = 4.0, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(int(seconds * SR) // HOP * HOP) * 0.1


def _frame_pattern(seconds: float = 4.0, seed: int = 1) -> np.ndarray:
    """One random 256-sample pattern repeated every hop: a pure frame-rate buzz."""
    pattern = np.random.default_rng(seed).standard_normal(HOP) * 0.1
    return np.tile(pattern, int(seconds * SR) // HOP)


def test_the_harmonics_fall_on_every_sixteenth_bin_up_to_the_limit():
    bins = harmonic_bins(2049, hop=HOP, sample_rate=SR, max_hz=2000.0)
    assert bins[0] == 16 and np.all(np.diff(bins) == 16)
    assert bins[-1] * SR / (16 * HOP) <= 2000.0 < (bins[-1] + 16) * SR / (16 * HOP)


def test_noise_and_music_like_tones_do_not_buzz_but_a_frame_pattern_does():
    t = np.arange(4 * SR // HOP * HOP) / SR
    f2 = 0.3 * np.sin(2 * np.pi * 87.31 * t)  # F2, 1.2 Hz from the frame rate
    assert abs(frame_rate_buzz_db(_noise())) < 2.0
    assert frame_rate_buzz_db(_noise() + f2) < 6.0
    # a white 256-sample pattern twice as loud as the noise: its power is split over 128
    # harmonics, each still 64× the noise in its bin (Welch, 4 096-point FFT)
    assert frame_rate_buzz_db(_noise() + 2 * _frame_pattern()) > 8.0
    assert (frame_rate_buzz_db(_noise() + 2 * _frame_pattern())
            > frame_rate_buzz_db(_noise() + 0.5 * _frame_pattern()) + 3.0)


def test_too_short_audio_has_no_buzz_score():
    assert np.isnan(frame_rate_buzz_db(np.zeros(100)))


def test_the_periodic_part_keeps_a_frame_pattern_and_averages_noise_away():
    pattern = torch.from_numpy(_frame_pattern(1.0)).float()[None]
    noise = torch.from_numpy(_noise(1.0)).float()[None]
    torch.testing.assert_close(frame_periodic(pattern, HOP)[0], pattern[0, :HOP])
    assert frame_periodic(noise, HOP).abs().mean() < 0.2 * noise.abs().mean()


def test_the_periodic_loss_sees_an_added_buzz_and_not_a_changed_melody():
    target = torch.from_numpy(_noise(1.0, seed=2)).float()[None]
    other = torch.from_numpy(_noise(1.0, seed=3)).float()[None]
    buzz = torch.from_numpy(_frame_pattern(1.0)).float()[None]
    assert frame_periodic_loss(target, target, HOP).item() == pytest.approx(0.0)
    # different content: a small loss; the same content plus a buzz: a large one
    assert (frame_periodic_loss(target, target + buzz, HOP).item()
            > 4 * frame_periodic_loss(target, other, HOP).item())
