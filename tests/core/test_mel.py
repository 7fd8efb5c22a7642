"""The shared Mel definition: shapes, normalisation round trip, padding."""

import numpy as np

from core.audio_config import DEFAULT_AUDIO, MelNormalization
from core.mel import denormalize, fix_length, log_mel, mel_target, normalize


def test_frames_match_hop_exactly():
    audio = np.random.default_rng(0).standard_normal(256 * 100).astype(np.float32) * 0.1
    assert log_mel(audio).shape == (80, 100)


def test_clip_is_896_frames_of_10_4_seconds():
    assert DEFAULT_AUDIO.clip_samples == 896 * 256
    assert abs(DEFAULT_AUDIO.clip_seconds - 10.402) < 1e-3


def test_normalisation_inverts_exactly_inside_range():
    norm = MelNormalization()
    values = np.linspace(norm.log_min, norm.log_max, 1000, dtype=np.float32).reshape(10, 100)
    scaled = normalize(values, norm)
    assert scaled.min() >= -1.0 and scaled.max() <= 1.0
    np.testing.assert_allclose(denormalize(scaled, norm), values, atol=2e-6)


def test_normalisation_clips_outside_range():
    norm = MelNormalization()
    scaled = normalize(np.array([norm.log_min - 5, norm.log_max + 5], np.float32), norm)
    np.testing.assert_array_equal(scaled, [-1.0, 1.0])


def test_silence_is_minus_one_and_padding_is_silence():
    target = mel_target(np.zeros(256 * 50, np.float32))
    assert target.shape == (80, 896)
    assert np.all(target == -1.0)
    padded = fix_length(np.zeros((80, 10), np.float32), 20)
    assert np.all(padded[:, 10:] == -1.0) and np.all(padded[:, :10] == 0.0)


def test_louder_tone_gives_larger_mel_in_its_band():
    t = np.arange(22050) / 22050
    quiet = log_mel((0.05 * np.sin(2 * np.pi * 440 * t)).astype(np.float32))
    loud = log_mel((0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32))
    band = quiet.mean(axis=1).argmax()
    assert loud[band].mean() - quiet[band].mean() > np.log(5)
