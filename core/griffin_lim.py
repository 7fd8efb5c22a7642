"""Griffin-Lim inversion of the shared log-Mel (librosa): the no-weights fallback vocoder."""

from __future__ import annotations

import librosa
import numpy as np

from core.audio_config import DEFAULT_AUDIO, AudioConfig


def griffin_lim(log_mel_values: np.ndarray, config: AudioConfig = DEFAULT_AUDIO,
                n_iter: int = 32) -> np.ndarray:
    """Waveform (float32, len = frames × hop) from natural-log Mel magnitudes [n_mels, frames].

    Inverts the Mel filter bank with librosa's NNLS, then runs Griffin-Lim on the magnitude
    spectrogram with the same padding convention as :func:`core.mel.log_mel`.
    """
    magnitude_mel = np.exp(log_mel_values.astype(np.float32))
    linear = librosa.feature.inverse.mel_to_stft(
        magnitude_mel,
        sr=config.sample_rate,
        n_fft=config.n_fft,
        power=1.0,
        fmin=config.fmin,
        fmax=config.fmax,
    )
    pad = (config.n_fft - config.hop_length) // 2
    frames = log_mel_values.shape[-1]
    audio = librosa.griffinlim(
        linear,
        n_iter=n_iter,
        hop_length=config.hop_length,
        win_length=config.win_length,
        window="hann",
        center=False,
        length=(frames - 1) * config.hop_length + config.n_fft,
        random_state=0,
    )
    trimmed = audio[pad : pad + frames * config.hop_length]
    if trimmed.size < frames * config.hop_length:
        trimmed = np.pad(trimmed, (0, frames * config.hop_length - trimmed.size))
    return trimmed.astype(np.float32)
