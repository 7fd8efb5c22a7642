"""Mel-spectrogram decoder: positional sequence expansion + 4-layer BiLSTM (Sec. III.B.2)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class DecoderConfig:
    """Paper defaults: 512-d input, 4-layer bidirectional LSTM with 512 units, 80 × 896 Mel."""

    input_dim: int = 512
    hidden_dim: int = 512
    num_layers: int = 4
    n_mels: int = 80
    frames: int = 896


class MelDecoder(nn.Module):
    """h [B, 512] → normalised log-Mel [B, n_mels, frames].

    "The aligned semantic representation h is projected into a sequence format and encoded with
    positional embeddings" — h is linearly projected, repeated over the T = 896 frames and a
    learned positional embedding [T, hidden] is added; the BiLSTM output (2 × hidden) is mapped
    to the Mel bins. The output is bounded by tanh to the [-1, 1] range of the targets.
    """

    def __init__(self, config: DecoderConfig = DecoderConfig()) -> None:
        super().__init__()
        self.config = config
        self.input_proj = nn.Linear(config.input_dim, config.hidden_dim)
        self.positional = nn.Parameter(torch.randn(config.frames, config.hidden_dim) * 0.02)
        self.lstm = nn.LSTM(
            config.hidden_dim,
            config.hidden_dim,
            num_layers=config.num_layers,
            batch_first=True,
            bidirectional=True,
        )
        self.output_proj = nn.Linear(2 * config.hidden_dim, config.n_mels)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        batch = h.shape[0]
        sequence = self.input_proj(h).unsqueeze(1).expand(batch, self.config.frames, -1)
        sequence = sequence + self.positional.unsqueeze(0)
        hidden, _ = self.lstm(sequence)
        mel = torch.tanh(self.output_proj(hidden))
        return mel.transpose(1, 2)
