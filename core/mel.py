"""The one log-Mel definition used by training, evaluation, export and the vocoders.

HiFi-GAN's Mel (jik876/hifi-gan ``meldataset.mel_spectrogram``) computed with librosa:
reflect padding of (n_fft - hop) / 2 on both sides, magnitude STFT without centring, Slaney
Mel filter bank (built once and cached), natural log clamped at ``log_floor``. With this padding
T frames correspond to exactly T × hop samples, so a vocoder's output length is T × hop.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import librosa
import numpy as np

from core.audio_config import DEFAULT_AUDIO, DEFAULT_MEL_NORM, AudioConfig, MelNormalization


@lru_cache(maxsize=8)
def mel_filter_bank(config: AudioConfig = DEFAULT_AUDIO) -> np.ndarray:
    """Slaney-normalised Mel filter bank [n_mels, n_fft // 2 + 1] (cached)."""
    return librosa.filters.mel(
        sr=config.sample_rate,
        n_fft=config.n_fft,
        n_mels=config.n_mels,
        fmin=config.fmin,
        fmax=config.fmax,
    ).astype(np.float32)


def load_audio(path: str | Path, config: AudioConfig = DEFAULT_AUDIO, offset: float = 0.0,
               duration: float | None = None) -> np.ndarray:
    """Reads any audio file as mono float32 at ``config.sample_rate``."""
    audio, _ = librosa.load(str(path), sr=config.sample_rate, mono=True, offset=offset,
                            duration=duration)
    return audio.astype(np.float32)


def log_mel(audio: np.ndarray, config: AudioConfig = DEFAULT_AUDIO) -> np.ndarray:
    """Natural-log Mel magnitudes [n_mels, len(audio) // hop] of a mono waveform in [-1, 1]."""
    audio = np.asarray(audio, dtype=np.float32)
    pad = (config.n_fft - config.hop_length) // 2
    padded = np.pad(audio, (pad, pad), mode="reflect" if audio.size > pad else "constant")
    spectrum = np.abs(
        librosa.stft(
            padded,
            n_fft=config.n_fft,
            hop_length=config.hop_length,
            win_length=config.win_length,
            window="hann",
            center=False,
        )
    )
    mel = mel_filter_bank(config) @ spectrum
    return np.log(np.maximum(mel, config.log_floor)).astype(np.float32)


def normalize(log_mel_values: np.ndarray, norm: MelNormalization = DEFAULT_MEL_NORM) -> np.ndarray:
    """Maps natural-log Mel values onto [-1, 1], clipping outside [log_min, log_max]."""
    clipped = np.clip(log_mel_values, norm.log_min, norm.log_max)
    scaled = 2.0 * (clipped - norm.log_min) / (norm.log_max - norm.log_min) - 1.0
    return scaled.astype(np.float32)


def denormalize(normalized: np.ndarray, norm: MelNormalization = DEFAULT_MEL_NORM) -> np.ndarray:
    """Exact inverse of :func:`normalize` (for values inside [-1, 1]): back to natural-log Mel."""
    values = np.clip(np.asarray(normalized, dtype=np.float32), -1.0, 1.0)
    return ((values + 1.0) * 0.5 * (norm.log_max - norm.log_min) + norm.log_min).astype(np.float32)


def fix_length(mel: np.ndarray, frames: int, fill_value: float = -1.0) -> np.ndarray:
    """Pads (with silence, -1 in normalised units) or truncates a Mel [n_mels, T] to `frames`.

    The paper zero-pads; in the normalised domain silence is -1, so padding with -1 is the
    zero-magnitude padding that a vocoder renders as silence.
    """
    if mel.shape[-1] >= frames:
        return np.ascontiguousarray(mel[..., :frames])
    missing = frames - mel.shape[-1]
    pad_width = [(0, 0)] * (mel.ndim - 1) + [(0, missing)]
    return np.pad(mel, pad_width, mode="constant", constant_values=fill_value)


def mel_target(audio: np.ndarray, config: AudioConfig = DEFAULT_AUDIO,
               norm: MelNormalization = DEFAULT_MEL_NORM) -> np.ndarray:
    """Decoder target of Sec. III.A.5: normalised log-Mel [n_mels, frames] of a waveform."""
    return fix_length(normalize(log_mel(audio, config), norm), config.frames)


def audio_file_to_mel(path: str | Path, config: AudioConfig = DEFAULT_AUDIO,
                      norm: MelNormalization = DEFAULT_MEL_NORM, offset: float = 0.0) -> np.ndarray:
    """Reads `config.clip_seconds` of a file from `offset` and returns its decoder target."""
    audio = load_audio(path, config, offset=offset, duration=config.clip_seconds)
    return mel_target(audio, config, norm)
