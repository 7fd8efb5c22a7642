"""Objective metrics of Sec. IV.A.3 / Table IV: MCD, LSD, FAD and embedding cosine similarity.

Conventions: Mel arrays are ``[n_mels, frames]`` natural-log magnitudes (``core.mel.log_mel``,
HiFi-GAN's Mel); waveforms are mono float arrays; embeddings are ``[N, D]``. Frame-wise metrics
need equal shapes — align (crop) before calling them.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import librosa
import numpy as np
import scipy.fft
import scipy.linalg

from core.audio_config import DEFAULT_AUDIO, AudioConfig

MCD_CONSTANT = 10.0 / math.log(10.0)
"""10 / ln 10: converts a natural-log cepstral distance to decibels."""


def _check_pair(reference: np.ndarray, generated: np.ndarray, what: str) -> None:
    if reference.shape != generated.shape:
        raise ValueError(f"{what}: reference {reference.shape} and generated {generated.shape} "
                         "differ in shape; crop both to a common length first.")


# ---------------------------------------------------------------------------------------------
# Mel-cepstral distortion
# ---------------------------------------------------------------------------------------------

def mel_cepstrum(log_mel: np.ndarray, n_coeffs: int = 13) -> np.ndarray:
    """Mel cepstra c₁…c_K [K, frames] of a natural-log Mel [n_mels = N, frames].

    ``c_d = (1/N) Σ_m ln M_m · cos(π d (m + ½) / N)`` (DCT-II scaled by 1/N), the real-cepstrum
    convention ``ln M_m = c₀ + 2 Σ_{d≥1} c_d cos(π d (m + ½) / N)`` that SPTK mel-cepstra and the
    MCD constant assume (an orthonormal DCT would inflate MCD by √(2N) ≈ 12.6). c₀ (overall log
    energy) is dropped.
    """
    x = np.asarray(log_mel, dtype=np.float64)
    cepstra = scipy.fft.dct(x, type=2, norm=None, axis=0) / (2.0 * x.shape[0])
    return cepstra[1:n_coeffs + 1]


def mcd(reference_log_mel: np.ndarray, generated_log_mel: np.ndarray, n_coeffs: int = 13
        ) -> float:
    """Mel-cepstral distortion in dB, averaged over frames.

    ``MCD_t = (10 / ln 10) · √(2 · Σ_{d=1}^{K} (c_{t,d} − ĉ_{t,d})²)`` with K = 13 cepstra from
    :func:`mel_cepstrum` (c₀ excluded, so a global gain change costs nothing), and
    ``MCD = mean_t MCD_t``. By Parseval, MCD ≤ (10 / ln 10) · RMS_m(ln M − ln M̂), i.e. at most
    half the Mel LSD. Like the paper's MCD it is computed on the model's 80-band Mel (natural
    log of HiFi-GAN's magnitude Mel), not on SPTK mel-generalised cepstra of a linear
    spectrum, so values compare across our runs, only roughly with speech-synthesis papers.
    """
    _check_pair(reference_log_mel, generated_log_mel, "MCD")
    diff = mel_cepstrum(reference_log_mel, n_coeffs) - mel_cepstrum(generated_log_mel, n_coeffs)
    per_frame = MCD_CONSTANT * np.sqrt(2.0 * np.sum(diff ** 2, axis=0))
    return float(per_frame.mean())


# ---------------------------------------------------------------------------------------------
# Log-spectral distance
# ---------------------------------------------------------------------------------------------

def lsd_from_power(reference_power: np.ndarray, generated_power: np.ndarray,
                   eps: float = 1e-10) -> float:
    """Log-spectral distance in dB between power spectrograms [bins, frames].

    ``LSD = mean_t √( mean_f (10 log₁₀(P + ε) − 10 log₁₀(P̂ + ε))² )``, ε = 1e-10 (−100 dB).
    """
    _check_pair(reference_power, generated_power, "LSD")
    diff = 10.0 * (np.log10(reference_power + eps) - np.log10(generated_power + eps))
    return float(np.sqrt(np.mean(diff ** 2, axis=0)).mean())


def power_spectrogram(audio: np.ndarray, config: AudioConfig = DEFAULT_AUDIO) -> np.ndarray:
    """|STFT|² [n_fft/2 + 1, frames] with the project's n_fft / hop / win (Hann, centred)."""
    spectrum = librosa.stft(np.asarray(audio, dtype=np.float32), n_fft=config.n_fft,
                            hop_length=config.hop_length, win_length=config.win_length,
                            window="hann", center=True)
    return np.abs(spectrum).astype(np.float64) ** 2


def lsd(reference_audio: np.ndarray, generated_audio: np.ndarray,
        config: AudioConfig = DEFAULT_AUDIO) -> float:
    """Waveform LSD (dB): :func:`lsd_from_power` of both STFT power spectrograms.

    Both waveforms are cropped to the shorter one's length first.
    """
    n = min(len(reference_audio), len(generated_audio))
    if n == 0:
        raise ValueError("LSD needs non-empty waveforms; check the vocoder and reference audio.")
    return lsd_from_power(power_spectrogram(reference_audio[:n], config),
                          power_spectrogram(generated_audio[:n], config))


def lsd_mel(reference_log_mel: np.ndarray, generated_log_mel: np.ndarray) -> float:
    """Mel-domain LSD (dB) of natural-log magnitude Mels: power dB = (20 / ln 10) · ln M.

    ``LSD_mel = mean_t √( mean_m ((20 / ln 10)(ln M − ln M̂))² )``; the Mel's own log floor
    (1e-5 magnitude = −100 dB power) plays the role of ε.
    """
    _check_pair(reference_log_mel, generated_log_mel, "Mel LSD")
    diff = (20.0 / math.log(10.0)) * (np.asarray(reference_log_mel, np.float64)
                                      - np.asarray(generated_log_mel, np.float64))
    return float(np.sqrt(np.mean(diff ** 2, axis=0)).mean())


# ---------------------------------------------------------------------------------------------
# Fréchet audio distance
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GaussianFit:
    """Mean [D] and (unbiased, N − 1) covariance [D, D] of an embedding set of size ``count``."""

    mean: np.ndarray
    covariance: np.ndarray
    count: int


def fit_gaussian(embeddings: np.ndarray) -> GaussianFit:
    """Gaussian fit of embeddings [N, D] (N ≥ 2)."""
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"a Gaussian fit needs at least 2 embeddings of shape [N, D], got "
                         f"{x.shape}; evaluate more clips.")
    return GaussianFit(x.mean(axis=0), np.atleast_2d(np.cov(x, rowvar=False)), x.shape[0])


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray,
                     eps: float = 1e-6) -> float:
    """Fréchet distance of N(μ₁, Σ₁) and N(μ₂, Σ₂).

    ``d² = ‖μ₁ − μ₂‖² + Tr(Σ₁) + Tr(Σ₂) − 2 Tr((Σ₁ Σ₂)^½)`` (Dowson & Landau, 1982), as in
    FID / FAD. Safeguards of the reference implementations: if ``sqrtm(Σ₁Σ₂)`` is not finite
    (singular product, e.g. fewer samples than dimensions) ε·I is added to both covariances;
    a complex result whose imaginary part is round-off (|Im| ≤ 1e-3 on the diagonal) is
    replaced by its real part, a larger one raises. Round-off below zero is clipped to 0.
    """
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    sigma1 = np.atleast_2d(sigma1).astype(np.float64)
    sigma2 = np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(f"Fréchet distance needs equal dimensions, got means {mu1.shape} / "
                         f"{mu2.shape}; embed both sets with the same model and layer.")
    diff = mu1 - mu2
    with warnings.catch_warnings():  # singular products are expected and handled below
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
        if not np.all(np.isfinite(covmean)):
            offset = np.eye(sigma1.shape[0]) * eps
            covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        imaginary = np.max(np.abs(np.diagonal(covmean).imag))
        if imaginary > 1e-3:
            raise ValueError(f"sqrtm(Σ₁Σ₂) has an imaginary component {imaginary:.3g}; the "
                             "covariances are ill-conditioned, evaluate more clips.")
        covmean = covmean.real
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean)
    return float(max(value, 0.0))


def fad(reference_embeddings: np.ndarray, generated_embeddings: np.ndarray) -> float:
    """Fréchet audio distance (Kilgour et al., 2019) of two embedding sets [N, D], [M, D]."""
    a, b = fit_gaussian(reference_embeddings), fit_gaussian(generated_embeddings)
    return frechet_distance(a.mean, a.covariance, b.mean, b.covariance)


# ---------------------------------------------------------------------------------------------
# Cosine similarity
# ---------------------------------------------------------------------------------------------

def paired_cosine(reference: np.ndarray, generated: np.ndarray, eps: float = 1e-12
                  ) -> np.ndarray:
    """Cosine similarity of each pair of rows: ``cos_i = ⟨a_i, b_i⟩ / (‖a_i‖ ‖b_i‖)`` → [N]."""
    a, b = np.atleast_2d(reference).astype(np.float64), np.atleast_2d(generated).astype(np.float64)
    _check_pair(a, b, "cosine similarity")
    norms = np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), eps)
    return np.sum(a * b, axis=1) / norms


def mean_cosine(reference: np.ndarray, generated: np.ndarray) -> float:
    """Mean over pairs of :func:`paired_cosine` (Table IV's "Cosine Similarity")."""
    return float(paired_cosine(reference, generated).mean())
