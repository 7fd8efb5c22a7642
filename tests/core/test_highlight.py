"""Known answers for the chorus/highlight search (seed 004: mean RMS × mean spectral contrast)."""

from __future__ import annotations

import numpy as np
import pytest

from core.audio_config import DEFAULT_AUDIO
from core.highlight import HighlightConfig, find_highlight, frame_features, query_mel
from core.mel import log_mel, normalize

SR = 22050


def _harmonic(seconds: float, f0: float, amplitude: float, partials: int = 12) -> np.ndarray:
    """A bright tone: `partials` harmonics of equal weight (peaky spectrum, high contrast)."""
    t = np.arange(round(seconds * SR)) / SR
    tone = sum(np.sin(2 * np.pi * f0 * k * t) for k in range(1, partials + 1) if f0 * k < SR / 2)
    return (amplitude * tone / np.max(np.abs(tone))).astype(np.float32)


def _noise(seconds: float, amplitude: float, seed: int = 0) -> np.ndarray:
    return (amplitude * np.random.default_rng(seed).uniform(-1, 1, round(seconds * SR))
            ).astype(np.float32)


def test_loud_bright_section_is_chosen():
    quiet = _harmonic(12.0, 220.0, 0.03)
    loud = _harmonic(6.0, 330.0, 0.6)
    audio = np.concatenate([quiet, loud, _harmonic(12.0, 220.0, 0.03)])
    config = HighlightConfig(window_seconds=6.0)
    highlight = find_highlight(audio, SR, config)
    start, end = highlight.seconds(SR)
    assert start == pytest.approx(12.0, abs=0.5)
    assert end - start == pytest.approx(6.0, abs=1e-3)


def test_contrast_breaks_a_loudness_tie():
    """Equal RMS: the harmonic (peaky) section beats white noise (flat spectrum)."""
    tone = _harmonic(5.0, 262.0, 0.3)
    noise = _noise(5.0, 1.0)
    noise *= np.sqrt(np.mean(tone ** 2) / np.mean(noise ** 2))
    audio = np.concatenate([noise, tone, _noise(5.0, 1.0, seed=1) * float(
        np.sqrt(np.mean(tone ** 2) / np.mean(_noise(5.0, 1.0, seed=1) ** 2)))])
    highlight = find_highlight(audio, SR, HighlightConfig(window_seconds=5.0))
    assert highlight.seconds(SR)[0] == pytest.approx(5.0, abs=0.5)


def test_features_match_librosa_before_smoothing():
    audio = _harmonic(3.0, 440.0, 0.5)
    rms, contrast = frame_features(audio, SR, HighlightConfig(smooth_seconds=0.0))
    import librosa

    expected = librosa.feature.rms(y=audio, frame_length=2048, hop_length=512)[0]
    np.testing.assert_allclose(rms, expected, rtol=1e-5)
    assert contrast.shape == rms.shape and np.all(contrast >= 0)


def test_short_input_is_taken_whole_and_padded_with_silence():
    audio = _harmonic(2.0, 440.0, 0.5)
    mel, highlight = query_mel(audio, SR)
    assert (highlight.start, highlight.end) == (0, audio.size)
    assert mel.shape == (DEFAULT_AUDIO.n_mels, DEFAULT_AUDIO.frames)
    frames = audio.size // DEFAULT_AUDIO.hop_length
    np.testing.assert_allclose(mel[:, :frames], normalize(log_mel(audio))[:, :frames], atol=1e-6)
    assert np.all(mel[:, frames:] == -1.0)


def test_query_mel_resamples_to_the_model_rate():
    t = np.arange(16000) / 16000
    audio = (0.5 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)  # 1 s at 16 kHz
    mel, highlight = query_mel(audio, 16000)
    assert highlight.end == pytest.approx(SR, abs=2)  # 1 s at 22.05 kHz
    peak_band = int(np.argmax(mel[:, 10]))
    import librosa

    centres = librosa.mel_frequencies(DEFAULT_AUDIO.n_mels + 2, fmax=DEFAULT_AUDIO.fmax)[1:-1]
    assert abs(centres[peak_band] - 440.0) < 60.0


@pytest.mark.parametrize("bad", [np.zeros(0, np.float32), np.zeros((2, 100), np.float32)])
def test_empty_or_stereo_input_is_refused(bad):
    with pytest.raises(ValueError, match="empty"):
        find_highlight(bad, SR)
