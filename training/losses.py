"""Frequency-weighted L1 Mel loss — eq. (2) of Art2Music (Sec. III.B.2)."""

from __future__ import annotations

import torch
from torch import nn


def frequency_weights(n_mels: int = 80, w_min: float = 1.0, w_max: float = 1.5) -> torch.Tensor:
    """w_f = w_min + (w_max − w_min)·(f − 1)/(F − 1), f = 1..F: 1.0 at the lowest bin, 1.5 at the top."""
    if n_mels == 1:
        return torch.tensor([w_min])
    return w_min + (w_max - w_min) * torch.arange(n_mels, dtype=torch.float32) / (n_mels - 1)


class FrequencyWeightedL1(nn.Module):
    """L_mel = 1/(T·F) Σ_t Σ_f w_f |M̂_{t,f} − M_{t,f}|      (eq. 2), averaged over the batch.

    Mels are laid out [B, F, T] (frequency bins first, like librosa).
    """

    def __init__(self, n_mels: int = 80, w_min: float = 1.0, w_max: float = 1.5) -> None:
        super().__init__()
        self.register_buffer("weights", frequency_weights(n_mels, w_min, w_max))

    def forward(self, predicted: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        weighted = self.weights.view(1, -1, 1) * (predicted - reference).abs()
        return weighted.mean()
