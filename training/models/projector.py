"""Gated Residual Projector — eq. (1) of Art2Music (Sec. III.B.1)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class ProjectorConfig:
    """Paper defaults (Sec. IV.A.2): 1024-d OpenCLIP ViT-H/14 embeddings, 512 hidden."""

    image_dim: int = 1024
    text_dim: int = 1024
    hidden_dim: int = 512


class GatedResidualProjector(nn.Module):
    """h = σ(W_g[x; r]) ⊙ W_x x + (1 − σ(W_g[x; r])) ⊙ r        (eq. 1)

    x = [image; text] is the fused (concatenated) image–text representation and r the residual
    text embedding. When the text width differs from the hidden width, r is the text embedding
    after a learned linear map W_r (the paper's public code does the same), so both terms of the
    sum live in the same 512-d space. Unlike that code, the gate reads [x; r] exactly as eq. (1)
    writes it, and W_x is a single linear map.
    """

    def __init__(self, config: ProjectorConfig = ProjectorConfig()) -> None:
        super().__init__()
        self.config = config
        fused_dim = config.image_dim + config.text_dim
        self.w_x = nn.Linear(fused_dim, config.hidden_dim)
        self.w_r = (
            nn.Identity()
            if config.text_dim == config.hidden_dim
            else nn.Linear(config.text_dim, config.hidden_dim)
        )
        self.w_g = nn.Linear(fused_dim + config.hidden_dim, config.hidden_dim)

    def gate(self, image: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """σ(W_g[x; r]) in (0, 1), shape [B, hidden]."""
        x = torch.cat([image, text], dim=-1)
        r = self.w_r(text)
        return torch.sigmoid(self.w_g(torch.cat([x, r], dim=-1)))

    def forward(self, image: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        x = torch.cat([image, text], dim=-1)
        r = self.w_r(text)
        g = torch.sigmoid(self.w_g(torch.cat([x, r], dim=-1)))
        return g * self.w_x(x) + (1.0 - g) * r
