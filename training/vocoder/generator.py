"""HiFi-GAN generator (Kong et al., 2020, Sec. 2.1, Fig. 1 and Appendix A).

A Mel spectrogram [B, n_mels, T] is upsampled by transposed convolutions to [B, 1, T × hop];
after each upsampling a multi-receptive-field fusion (MRF) module averages the outputs of
residual blocks with different kernel sizes and dilations. Convolutions carry weight
normalisation in the ``torch.nn.utils.parametrizations`` form, whose state-dict keys are
``<module>.parametrizations.weight.original0`` (g) and ``original1`` (v).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import weight_norm

from training.vocoder.config import HiFiGANConfig

LRELU_SLOPE = 0.1
"""Leaky-ReLU slope inside the generator and discriminators (Appendix A)."""


def get_padding(kernel_size: int, dilation: int = 1) -> int:
    """'Same' padding of a stride-1 dilated convolution."""
    return (kernel_size * dilation - dilation) // 2


def _normal_init(conv: nn.Module, std: float = 0.01) -> nn.Module:
    """N(0, 0.01) weight initialisation of the official code, applied before weight norm."""
    nn.init.normal_(conv.weight, 0.0, std)
    return conv


def _conv(channels: int, kernel: int, dilation: int) -> nn.Module:
    return weight_norm(_normal_init(nn.Conv1d(channels, channels, kernel, 1, dilation=dilation,
                                              padding=get_padding(kernel, dilation))))


class ResBlock1(nn.Module):
    """MRF residual block of V1/V2: per dilation, a dilated conv then a dilation-1 conv."""

    def __init__(self, channels: int, kernel_size: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.convs1 = nn.ModuleList(_conv(channels, kernel_size, d) for d in dilations)
        self.convs2 = nn.ModuleList(_conv(channels, kernel_size, 1) for _ in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for c1, c2 in zip(self.convs1, self.convs2, strict=True):
            xt = c2(F.leaky_relu(c1(F.leaky_relu(x, LRELU_SLOPE)), LRELU_SLOPE))
            x = x + xt
        return x


class ResBlock2(nn.Module):
    """Lighter MRF residual block of V3: one dilated conv per dilation."""

    def __init__(self, channels: int, kernel_size: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.convs = nn.ModuleList(_conv(channels, kernel_size, d) for d in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            x = x + conv(F.leaky_relu(x, LRELU_SLOPE))
        return x


class Generator(nn.Module):
    """Mel [B, n_mels, T] → waveform [B, 1, T × prod(upsample_rates)] in [-1, 1]."""

    def __init__(self, config: HiFiGANConfig) -> None:
        super().__init__()
        self.config = config
        self.num_kernels = len(config.resblock_kernel_sizes)
        channels = config.upsample_initial_channel
        self.conv_pre = weight_norm(nn.Conv1d(config.num_mels, channels, 7, 1, padding=3))
        block = ResBlock1 if config.resblock == "1" else ResBlock2
        self.ups = nn.ModuleList()
        self.resblocks = nn.ModuleList()
        for i, (rate, kernel) in enumerate(zip(config.upsample_rates,
                                               config.upsample_kernel_sizes, strict=True)):
            c_in, c_out = channels // 2**i, channels // 2 ** (i + 1)
            self.ups.append(weight_norm(_normal_init(
                nn.ConvTranspose1d(c_in, c_out, kernel, rate, padding=(kernel - rate) // 2))))
            for k, d in zip(config.resblock_kernel_sizes, config.resblock_dilation_sizes,
                            strict=True):
                self.resblocks.append(block(c_out, k, d))
        self.conv_post = weight_norm(_normal_init(nn.Conv1d(c_out, 1, 7, 1, padding=3)))

    def upsample(self, stage: int, x: torch.Tensor) -> torch.Tensor:
        """The transposed convolution of upsampling `stage` (after its leaky ReLU)."""
        return self.ups[stage](F.leaky_relu(x, LRELU_SLOPE))

    def mrf(self, stage: int, x: torch.Tensor) -> torch.Tensor:
        """Multi-receptive-field fusion of `stage`: the mean of its residual blocks' outputs."""
        blocks = self.resblocks[stage * self.num_kernels:(stage + 1) * self.num_kernels]
        fused = blocks[0](x)
        for block in blocks[1:]:
            fused = fused + block(x)
        return fused / self.num_kernels

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = self.conv_pre(mel)
        for stage in range(len(self.ups)):
            x = self.mrf(stage, self.upsample(stage, x))
        # The official code uses PyTorch's default slope (0.01) here; the checkpoints expect it.
        return torch.tanh(self.conv_post(F.leaky_relu(x)))

    @property
    def has_weight_norm(self) -> bool:
        return any(parametrize.is_parametrized(m) for m in self.modules())

    def remove_weight_norm(self) -> Generator:
        """Folds every weight-norm parametrization into a plain ``weight`` (for export/inference).

        Outputs are unchanged; state-dict keys become ``<module>.weight``. Returns ``self``.
        """
        for module in self.modules():
            if parametrize.is_parametrized(module, "weight"):
                parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
        return self


def count_parameters(module: nn.Module) -> int:
    """Number of scalar parameters (weight-norm g and v counted separately, as in the paper)."""
    return sum(p.numel() for p in module.parameters())
