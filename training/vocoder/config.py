"""Named HiFi-GAN configurations (Kong et al., 2020, Sec. 2.1 and Table 1 / Appendix A).

V1, V2 and V3 are the paper's three generator variants; ``tiny`` is a seconds-fast debug
config for tests. All share the Mel front end of :class:`core.audio_config.AudioConfig`
(22 050 Hz, hop 256, 80 Mels), so every variant upsamples by exactly ``hop_length``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

MSD_GROUPS: tuple[int, ...] = (1, 4, 16, 16, 16, 16, 1)
"""Grouped-convolution groups of each MSD sub-discriminator layer (HiFi-GAN Appendix A)."""


@dataclass(frozen=True)
class HiFiGANConfig:
    """Generator, discriminator and optimisation hyper-parameters of one HiFi-GAN variant.

    Generator fields follow Sec. 2.1 (transposed-convolution upsampling ``upsample_rates`` with
    kernels ``upsample_kernel_sizes``, multi-receptive-field fusion over ``resblock_kernel_sizes``
    × ``resblock_dilation_sizes``). Discriminator widths default to the paper's MPD (Sec. 2.2)
    and MSD (Sec. 2.3); optimiser defaults to Sec. 4 (AdamW, lr 2e-4, betas 0.8/0.99, decay
    0.999 per epoch). ``mel_loss_fmax`` None means the Mel loss uses the shared AudioConfig fmax.
    """

    name: str
    upsample_rates: tuple[int, ...]
    upsample_kernel_sizes: tuple[int, ...]
    upsample_initial_channel: int
    resblock: str
    resblock_kernel_sizes: tuple[int, ...] = (3, 7, 11)
    resblock_dilation_sizes: tuple[tuple[int, ...], ...] = ((1, 3, 5), (1, 3, 5), (1, 3, 5))
    num_mels: int = 80
    mpd_periods: tuple[int, ...] = (2, 3, 5, 7, 11)
    mpd_channels: tuple[int, ...] = (32, 128, 512, 1024, 1024)
    msd_channels: tuple[int, ...] = (128, 128, 256, 512, 1024, 1024, 1024)
    learning_rate: float = 2e-4
    adam_b1: float = 0.8
    adam_b2: float = 0.99
    lr_decay: float = 0.999
    mel_loss_weight: float = 45.0
    mel_loss_fmax: float | None = None
    segment_size: int = 8192
    batch_size: int = 16
    seed: int = 1234

    def __post_init__(self) -> None:
        if len(self.upsample_rates) != len(self.upsample_kernel_sizes):
            raise ValueError(f"HiFi-GAN config {self.name!r} needs one upsample kernel size per "
                             f"upsample rate.")
        if self.resblock not in ("1", "2"):
            raise ValueError(f"HiFi-GAN config {self.name!r} has resblock {self.resblock!r}; "
                             f"use '1' or '2'.")
        if len(self.resblock_kernel_sizes) != len(self.resblock_dilation_sizes):
            raise ValueError(f"HiFi-GAN config {self.name!r} needs one dilation list per resblock "
                             f"kernel size.")
        if len(self.msd_channels) != len(MSD_GROUPS) or len(self.mpd_channels) != 5:
            raise ValueError(f"HiFi-GAN config {self.name!r} needs 5 MPD and 7 MSD channel "
                             f"widths.")
        widths = (1, *self.msd_channels)
        for groups, c_in, c_out in zip(MSD_GROUPS, widths[:-1], widths[1:], strict=True):
            if c_in % groups or c_out % groups:
                raise ValueError(f"HiFi-GAN config {self.name!r}: MSD widths must be divisible "
                                 f"by their groups {MSD_GROUPS}.")

    @property
    def hop_length(self) -> int:
        """Samples per Mel frame produced by the generator (product of the upsample rates)."""
        return math.prod(self.upsample_rates)

    def check_audio(self, hop_length: int, n_mels: int) -> None:
        """Raises ValueError unless this generator fits a Mel front end of that hop and size."""
        if self.hop_length != hop_length or self.num_mels != n_mels:
            raise ValueError(f"HiFi-GAN config {self.name!r} upsamples {self.num_mels} Mels by "
                             f"{self.hop_length}, but the audio config has {n_mels} Mels and "
                             f"hop {hop_length}.")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> HiFiGANConfig:
        """Inverse of :meth:`to_dict` (JSON lists become tuples again; unknown keys ignored)."""
        def tup(value):
            return tuple(tup(v) for v in value) if isinstance(value, list | tuple) else value

        known = {k: tup(values[k]) for k in cls.__dataclass_fields__ if k in values}
        return cls(**known)


V1 = HiFiGANConfig(name="v1", upsample_rates=(8, 8, 2, 2), upsample_kernel_sizes=(16, 16, 4, 4),
                   upsample_initial_channel=512, resblock="1")
V2 = replace(V1, name="v2", upsample_initial_channel=128)
V3 = HiFiGANConfig(name="v3", upsample_rates=(8, 8, 4), upsample_kernel_sizes=(16, 16, 8),
                   upsample_initial_channel=256, resblock="2", resblock_kernel_sizes=(3, 5, 7),
                   resblock_dilation_sizes=((1, 2), (2, 6), (3, 12)))
TINY = HiFiGANConfig(name="tiny", upsample_rates=(8, 8, 4), upsample_kernel_sizes=(16, 16, 8),
                     upsample_initial_channel=32, resblock="2", resblock_kernel_sizes=(3,),
                     resblock_dilation_sizes=((1, 3),), mpd_periods=(2, 3),
                     mpd_channels=(4, 8, 16, 16, 16), msd_channels=(16, 16, 32, 32, 32, 32, 16),
                     segment_size=2048, batch_size=2)

V1_K3 = replace(V1, name="v1-k3", resblock_kernel_sizes=(3,), resblock_dilation_sizes=((1, 3, 5),))
"""V1 with one residual block per upsampling stage, the kernel-3 branch of its MRF: 4.5 M
parameters, about 4x less CPU than V1. A CPU student distilled from V1
(:mod:`training.vocoder.distill`), which starts from V1's own weights."""

CONFIGS: dict[str, HiFiGANConfig] = {c.name: c for c in (V1, V2, V3, V1_K3, TINY)}


def get_config(name: str) -> HiFiGANConfig:
    """The named variant (``v1``, ``v2``, ``v3``, ``v1-k3``, ``tiny``; case-insensitive)."""
    try:
        return CONFIGS[name.lower()]
    except KeyError:
        raise ValueError(f"Unknown HiFi-GAN config {name!r}; choose one of "
                         f"{', '.join(CONFIGS)}.") from None
