"""A log-prior against broadband Mel-frame codes: the token decoder's noise-like sounds drawn less.

The token decoder (training/models/token_decoder.py) samples each frame's first-stage code from
softmax(logits / T). A few of the 256 first-stage codes are broadband: their Mel frame is nearly
flat across the 80 bands (hiss, wind, a cymbal wash). A longer primer (issue 9, "Every other
lever on the painting's share") makes pieces of one painting more alike but lets those codes win
more often: the median piece's spectral flatness doubled. This bias is a product of experts with
a fixed prior over codes: the sample comes from

    p'(c) ∝ p(c)^(1/T) · exp(b_c),  b_c = −β · [flatness(c) > quantile_q(flatness)],

so the β-penalised codes (those whose Mel frame is flatter than the codebook's q-quantile) stay
possible but are drawn e^β times less, and every other code keeps the model's odds. With
Gumbel-max sampling the bias is simply added to the noise: argmax(l/T + g + b).

Flatness of a code is that of its Mel frame's energies across bands (geometric over arithmetic
mean of exp(log-Mel)): near 1 for white noise, near 0 for a few partials. Only the first stage is
biased by default; later stages add residual detail whose own flatness says little.
"""

from __future__ import annotations

import numpy as np

from core.audio_config import DEFAULT_MEL_NORM, MelNormalization
from core.mel import denormalize

CODE_BIAS_QUANTILE = 0.9
"""Codes flatter than this quantile of their stage's codebook are penalised."""


def code_flatness(book: np.ndarray, norm: MelNormalization = DEFAULT_MEL_NORM) -> np.ndarray:
    """Spectral flatness [size] of each code of one stage's codebook `book` [size, n_mels]
    (normalised log-Mel frames, as ResidualCodebook stores them)."""
    energy = np.exp(denormalize(np.asarray(book, np.float32), norm)).astype(np.float64)
    return (np.exp(np.log(energy).mean(axis=1)) / energy.mean(axis=1)).astype(np.float32)


def broadband_code_bias(books: np.ndarray, strength: float,
                        quantile: float = CODE_BIAS_QUANTILE, stage: int = 0,
                        norm: MelNormalization = DEFAULT_MEL_NORM) -> np.ndarray:
    """The bias b [stages, size] float32 for codebooks `books` [stages, size, n_mels]: −`strength`
    on the codes of `stage` flatter than its `quantile`, 0 everywhere else."""
    books = np.asarray(books, np.float32)
    if books.ndim != 3:
        raise ValueError(f"codebooks must be [stages, size, n_mels], got {books.shape}")
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"the flatness quantile must be in (0, 1), got {quantile}")
    if strength < 0:
        raise ValueError(f"the bias strength must be at least 0, got {strength}")
    if not 0 <= stage < books.shape[0]:
        raise ValueError(f"stage {stage} is not one of the {books.shape[0]} codebook stages")
    bias = np.zeros(books.shape[:2], np.float32)
    flatness = code_flatness(books[stage], norm)
    bias[stage] = np.where(flatness > np.quantile(flatness, quantile), -float(strength), 0.0)
    return bias
