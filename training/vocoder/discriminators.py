"""HiFi-GAN discriminators (Kong et al., 2020): MPD (Sec. 2.2) and MSD (Sec. 2.3).

Each discriminator returns, for a real batch ``y`` and a generated batch ``y_hat`` (both
[B, 1, N]), the lists of per-sub-discriminator scores and feature maps used by the LSGAN and
feature-matching losses of Sec. 2.4 (see :mod:`training.vocoder.losses`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm, weight_norm

from training.vocoder.config import MSD_GROUPS, HiFiGANConfig
from training.vocoder.generator import LRELU_SLOPE, get_padding

Scores = list[torch.Tensor]
FeatureMaps = list[list[torch.Tensor]]


class PeriodDiscriminator(nn.Module):
    """One MPD sub-discriminator: the 1-D signal reshaped to [T / p, p] and scanned by
    (5, 1) 2-D convolutions with stride (3, 1), so each column sees samples p apart."""

    def __init__(self, period: int, channels: tuple[int, ...], kernel_size: int = 5,
                 stride: int = 3) -> None:
        super().__init__()
        self.period = period
        widths = (1, *channels)
        pad = (get_padding(kernel_size, 1), 0)
        self.convs = nn.ModuleList(
            weight_norm(nn.Conv2d(c_in, c_out, (kernel_size, 1),
                                  (stride if i < len(channels) - 1 else 1, 1), padding=pad))
            for i, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)))
        self.conv_post = weight_norm(nn.Conv2d(channels[-1], 1, (3, 1), 1, padding=(1, 0)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        batch, chans, length = x.shape
        if length % self.period:
            n_pad = self.period - length % self.period
            x = F.pad(x, (0, n_pad), "reflect")
            length += n_pad
        x = x.view(batch, chans, length // self.period, self.period)
        fmap = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), LRELU_SLOPE)
            fmap.append(x)
        x = self.conv_post(x)
        fmap.append(x)
        return torch.flatten(x, 1, -1), fmap


class ScaleDiscriminator(nn.Module):
    """One MSD sub-discriminator: strided, grouped 1-D convolutions (Appendix A)."""

    KERNELS = (15, 41, 41, 41, 41, 41, 5)
    STRIDES = (1, 2, 2, 4, 4, 1, 1)

    def __init__(self, channels: tuple[int, ...], use_spectral_norm: bool = False) -> None:
        super().__init__()
        norm = spectral_norm if use_spectral_norm else weight_norm
        widths = (1, *channels)
        self.convs = nn.ModuleList(
            norm(nn.Conv1d(c_in, c_out, k, s, groups=g, padding=(k - 1) // 2))
            for c_in, c_out, k, s, g in zip(widths[:-1], widths[1:], self.KERNELS, self.STRIDES,
                                            MSD_GROUPS, strict=True))
        self.conv_post = norm(nn.Conv1d(channels[-1], 1, 3, 1, padding=1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        fmap = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), LRELU_SLOPE)
            fmap.append(x)
        x = self.conv_post(x)
        fmap.append(x)
        return torch.flatten(x, 1, -1), fmap


def _score_pair(discriminators, inputs_real, inputs_fake):
    real_scores, fake_scores, real_maps, fake_maps = [], [], [], []
    for disc, y, y_hat in zip(discriminators, inputs_real, inputs_fake, strict=True):
        score_r, fmap_r = disc(y)
        score_g, fmap_g = disc(y_hat)
        real_scores.append(score_r)
        fake_scores.append(score_g)
        real_maps.append(fmap_r)
        fake_maps.append(fmap_g)
    return real_scores, fake_scores, real_maps, fake_maps


class MultiPeriodDiscriminator(nn.Module):
    """MPD of Sec. 2.2 with periods (2, 3, 5, 7, 11) by default."""

    def __init__(self, config: HiFiGANConfig) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(
            PeriodDiscriminator(p, config.mpd_channels) for p in config.mpd_periods)

    def forward(self, y: torch.Tensor, y_hat: torch.Tensor
                ) -> tuple[Scores, Scores, FeatureMaps, FeatureMaps]:
        n = len(self.discriminators)
        return _score_pair(self.discriminators, [y] * n, [y_hat] * n)


class MultiScaleDiscriminator(nn.Module):
    """MSD of Sec. 2.3: raw audio, ×2 and ×4 average-pooled audio; the first with spectral norm."""

    def __init__(self, config: HiFiGANConfig) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList([
            ScaleDiscriminator(config.msd_channels, use_spectral_norm=True),
            ScaleDiscriminator(config.msd_channels),
            ScaleDiscriminator(config.msd_channels),
        ])
        self.pool = nn.AvgPool1d(4, 2, padding=2)

    def forward(self, y: torch.Tensor, y_hat: torch.Tensor
                ) -> tuple[Scores, Scores, FeatureMaps, FeatureMaps]:
        reals, fakes = [y], [y_hat]
        for _ in range(len(self.discriminators) - 1):
            reals.append(self.pool(reals[-1]))
            fakes.append(self.pool(fakes[-1]))
        return _score_pair(self.discriminators, reals, fakes)


class Discriminators(nn.Module):
    """MPD and MSD held together so they share one optimiser and one checkpoint file."""

    def __init__(self, config: HiFiGANConfig) -> None:
        super().__init__()
        self.mpd = MultiPeriodDiscriminator(config)
        self.msd = MultiScaleDiscriminator(config)
