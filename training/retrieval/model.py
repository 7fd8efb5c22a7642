"""The two towers of the shared feeling space (issue 11), small enough for one CPU thread.

* ``MusicEncoder``: the decoder's normalised log-Mel [B, 80, T] (the fixed offline front end,
  core/mel.py) → unit vector [B, D]. Two branches read it: per-band statistics over time (mean,
  standard deviation, mean absolute frame-to-frame change: timbre, register, loudness,
  activity) and three strided 1-D convolutions over time, mean- and max-pooled (onsets, rhythm,
  texture); a two-layer MLP joins them.
* ``ArtProjection``: the bundle's image embedding [B, D_img] (or only its colour features, the
  colour-only baseline) → unit vector [B, D].
* ``TextProjection``: a comment's sentence embedding [B, D_txt] → unit vector [B, D]; used in
  training only (the comment pulls the music and the painting towards the same feeling).

Trained by a multi-positive InfoNCE (CLIP's symmetric loss, Radford et al. 2021, with every
item of the batch that shares the clip or the painting counted as a positive).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class RetrievalConfig:
    n_mels: int = 80
    image_dim: int = 1339
    text_dim: int = 384
    embed_dim: int = 64
    conv_channels: int = 48
    hidden: int = 192
    dropout: float = 0.3
    art_features: str = "full"
    """``full``: the whole image embedding; ``colour``: only its last ``colour_dim`` values (the
    perceptual:v1 colour/light features), the colour-only baseline."""
    colour_dim: int = 59

    @property
    def art_input_dim(self) -> int:
        return self.colour_dim if self.art_features == "colour" else self.image_dim

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> RetrievalConfig:
        return cls(**{k: values[k] for k in cls.__dataclass_fields__ if k in values})


TINY = RetrievalConfig(n_mels=8, image_dim=12, text_dim=6, embed_dim=4, conv_channels=4,
                       hidden=8, colour_dim=3)
"""A config for tests: the real code path in milliseconds."""


def mel_statistics(mel: torch.Tensor) -> torch.Tensor:
    """[B, M, T] → [B, 3M]: per-band mean, standard deviation and mean |Δ| over time."""
    mean = mel.mean(dim=2)
    std = (mel - mean.unsqueeze(2)).pow(2).mean(dim=2).add(1e-6).sqrt()
    change = (mel[:, :, 1:] - mel[:, :, :-1]).abs().mean(dim=2)
    return torch.cat([mean, std, change], dim=1)


class MusicEncoder(nn.Module):
    def __init__(self, config: RetrievalConfig) -> None:
        super().__init__()
        c = config.conv_channels
        self.convs = nn.Sequential(
            nn.Conv1d(config.n_mels, c, 5, stride=2, padding=2), nn.GELU(),
            nn.Conv1d(c, c, 5, stride=2, padding=2), nn.GELU(),
            nn.Conv1d(c, c, 5, stride=2, padding=4, dilation=2), nn.GELU(),
        )
        self.norm = nn.LayerNorm(3 * config.n_mels + 2 * c)
        self.head = nn.Sequential(
            nn.Dropout(config.dropout), nn.Linear(3 * config.n_mels + 2 * c, config.hidden),
            nn.GELU(), nn.Linear(config.hidden, config.embed_dim))

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        conv = self.convs(mel)
        features = torch.cat([mel_statistics(mel), conv.mean(dim=2), conv.amax(dim=2)], dim=1)
        return F.normalize(self.head(self.norm(features)), dim=-1)


class ArtProjection(nn.Module):
    def __init__(self, config: RetrievalConfig) -> None:
        super().__init__()
        self.colour_only = config.art_features == "colour"
        self.colour_dim = config.colour_dim
        self.net = nn.Sequential(
            nn.Dropout(config.dropout), nn.Linear(config.art_input_dim, config.hidden),
            nn.GELU(), nn.Linear(config.hidden, config.embed_dim))

    def forward(self, image_embedding: torch.Tensor) -> torch.Tensor:
        if self.colour_only:
            image_embedding = image_embedding[:, -self.colour_dim:]
        return F.normalize(self.net(image_embedding), dim=-1)


class TextProjection(nn.Module):
    def __init__(self, config: RetrievalConfig) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Dropout(config.dropout),
                                 nn.Linear(config.text_dim, config.embed_dim))

    def forward(self, text_embedding: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.net(text_embedding), dim=-1)


class RetrievalModel(nn.Module):
    def __init__(self, config: RetrievalConfig) -> None:
        super().__init__()
        self.config = config
        self.music = MusicEncoder(config)
        self.art = ArtProjection(config)
        self.text = TextProjection(config)
        self.log_scale = nn.Parameter(torch.tensor(float(torch.log(torch.tensor(1 / 0.07)))))

    def scale(self) -> torch.Tensor:
        return self.log_scale.clamp(max=4.6).exp()  # CLIP caps the logit scale at 100


def multi_positive_infonce(a: torch.Tensor, b: torch.Tensor, positives: torch.Tensor,
                           scale: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE between unit rows of `a` and `b` [B, D]; `positives` [B, B] bool marks
    every pair that is a true match (the diagonal and duplicates), each row's target spread
    evenly over its positives."""
    logits = scale * a @ b.T
    target = positives.float() / positives.float().sum(dim=1, keepdim=True)
    target_t = positives.T.float() / positives.T.float().sum(dim=1, keepdim=True)
    return 0.5 * (-(target * F.log_softmax(logits, dim=1)).sum(1).mean()
                  - (target_t * F.log_softmax(logits.T, dim=1)).sum(1).mean())
