"""The most salient window of a piece of music (the "chorus" of seed 004, CoverGen, Sec. 1).

CoverGen slides a window over the waveform and scores each by

    Score(window) = mean(RMS over the window) × mean(spectral contrast over the window)

(RMS = loudness; spectral contrast = mean peak-minus-valley of the log spectrum over the
octave bands = harmonic richness), then keeps the best window. Here both frame features are
computed once with librosa, smoothed over ``smooth_seconds`` (a moving average, so a single
click cannot win), and every window position is scored from running sums in O(frames).

Music → artwork retrieval (engine/retrieval.py) embeds the best window of ``window_seconds``
(the training clips' 10.4 s) as the decoder's normalised log-Mel (:func:`query_mel`).
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np

from core.audio_config import DEFAULT_AUDIO, DEFAULT_MEL_NORM, AudioConfig, MelNormalization
from core.mel import fix_length, log_mel, normalize


@dataclass(frozen=True)
class HighlightConfig:
    """Frame features and window of the salience search (seed 004 uses 30 s windows; the
    music encoder here was trained on 10.4 s clips)."""

    window_seconds: float = DEFAULT_AUDIO.clip_seconds
    smooth_seconds: float = 1.0
    n_fft: int = 2048
    hop_length: int = 512
    n_bands: int = 6
    """Spectral-contrast octave bands above ``fmin`` (librosa's default 6 + 1 residual band)."""
    fmin: float = 200.0


@dataclass(frozen=True)
class Highlight:
    """The chosen window: ``start``/``end`` in samples of the input, its score, and the
    per-frame salience (smoothed RMS × smoothed contrast) that it was chosen from."""

    start: int
    end: int
    score: float
    salience: np.ndarray
    hop_length: int

    def seconds(self, sample_rate: int) -> tuple[float, float]:
        return self.start / sample_rate, self.end / sample_rate


def frame_features(audio: np.ndarray, sample_rate: int,
                   config: HighlightConfig = HighlightConfig()) -> tuple[np.ndarray, np.ndarray]:
    """(RMS [T], mean spectral contrast [T]) per frame of ``config.hop_length`` samples, both
    smoothed by a moving average of ``config.smooth_seconds``."""
    audio = np.asarray(audio, dtype=np.float32)
    n_fft = min(config.n_fft, max(16, 1 << int(np.log2(max(len(audio), 16)))))
    rms = librosa.feature.rms(y=audio, frame_length=n_fft, hop_length=config.hop_length)[0]
    spectrum = np.abs(librosa.stft(audio, n_fft=n_fft, hop_length=config.hop_length))
    nyquist_bands = int(np.floor(np.log2(sample_rate / 2 / config.fmin))) - 1
    contrast = librosa.feature.spectral_contrast(
        S=spectrum, sr=sample_rate, n_fft=n_fft, hop_length=config.hop_length,
        fmin=config.fmin, n_bands=max(1, min(config.n_bands, nyquist_bands)))
    contrast = np.maximum(contrast.mean(axis=0), 0.0)
    width = max(1, round(config.smooth_seconds * sample_rate / config.hop_length))
    kernel = np.ones(width, dtype=np.float64) / width
    smooth = lambda x: np.convolve(x.astype(np.float64), kernel, mode="same")  # noqa: E731
    return smooth(rms), smooth(contrast)


def find_highlight(audio: np.ndarray, sample_rate: int,
                   config: HighlightConfig = HighlightConfig()) -> Highlight:
    """The window of ``config.window_seconds`` with the highest mean RMS × mean contrast; the
    whole input when it is shorter than one window. Raises ValueError on empty audio."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 1 or audio.size == 0:
        raise ValueError("the audio is empty (or not mono): nothing to find a highlight in.")
    rms, contrast = frame_features(audio, sample_rate, config)
    salience = rms * contrast
    window = round(config.window_seconds * sample_rate)
    if window >= audio.size:
        return Highlight(0, audio.size, float(rms.mean() * contrast.mean()), salience,
                         config.hop_length)
    frames = max(1, round(window / config.hop_length))
    frames = min(frames, rms.size)
    sums = lambda x: np.concatenate([[0.0], np.cumsum(x)])  # noqa: E731
    rms_sum, contrast_sum = sums(rms), sums(contrast)
    mean_rms = (rms_sum[frames:] - rms_sum[:-frames]) / frames
    mean_contrast = (contrast_sum[frames:] - contrast_sum[:-frames]) / frames
    scores = mean_rms * mean_contrast
    best = int(np.argmax(scores))
    start = min(best * config.hop_length, audio.size - window)
    return Highlight(start, start + window, float(scores[best]), salience, config.hop_length)


def query_mel(audio: np.ndarray, sample_rate: int, audio_config: AudioConfig = DEFAULT_AUDIO,
              norm: MelNormalization = DEFAULT_MEL_NORM,
              config: HighlightConfig | None = None) -> tuple[np.ndarray, Highlight]:
    """The highlight window of a mono waveform as the normalised log-Mel [n_mels, frames] the
    music encoder reads (resampled to ``audio_config.sample_rate``; a short input is padded
    with silence), and the highlight in samples of the resampled audio."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 1 or audio.size == 0:
        raise ValueError("the audio is empty (or not mono): nothing to match.")
    if sample_rate != audio_config.sample_rate:
        audio = librosa.resample(audio, orig_sr=sample_rate, target_sr=audio_config.sample_rate)
    config = config or HighlightConfig(window_seconds=audio_config.clip_seconds)
    highlight = find_highlight(audio, audio_config.sample_rate, config)
    window = audio[highlight.start:highlight.end]
    mel = fix_length(normalize(log_mel(window, audio_config), norm), audio_config.frames)
    return mel, highlight
