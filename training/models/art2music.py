"""The full first stage of Art2Music: embeddings → projector (eq. 1) → BiLSTM → Mel."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum

import torch
from torch import nn

from training.models.decoder import DecoderConfig, MelDecoder
from training.models.projector import GatedResidualProjector, ProjectorConfig


class InputMode(StrEnum):
    """Input configurations of the ablation study (Sec. IV.A.4, Table IV)."""

    FULL = "full"
    TEXT_ONLY = "text-only"
    IMAGE_ONLY = "image-only"
    RANDOM = "random"


def apply_input_mode(
    image: torch.Tensor,
    text: torch.Tensor,
    mode: InputMode | str,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Removes a modality (zeros) or replaces both by Gaussian noise (the random baseline).

    Noise is drawn with the per-dimension scale of a unit-norm embedding, like the encoders'.
    """
    mode = InputMode(mode)
    if mode is InputMode.FULL:
        return image, text
    if mode is InputMode.TEXT_ONLY:
        return torch.zeros_like(image), text
    if mode is InputMode.IMAGE_ONLY:
        return image, torch.zeros_like(text)
    noise_image = torch.randn(image.shape, generator=generator, dtype=image.dtype)
    noise_text = torch.randn(text.shape, generator=generator, dtype=text.dtype)
    noise_image = noise_image / noise_image.shape[-1] ** 0.5
    noise_text = noise_text / noise_text.shape[-1] ** 0.5
    return noise_image.to(image.device), noise_text.to(text.device)


@dataclass(frozen=True)
class Art2MusicConfig:
    projector: ProjectorConfig = field(default_factory=ProjectorConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> Art2MusicConfig:
        return cls(
            projector=ProjectorConfig(**values["projector"]),
            decoder=DecoderConfig(**values["decoder"]),
        )

    @classmethod
    def tiny(cls, image_dim: int = 16, text_dim: int = 16, frames: int = 32) -> Art2MusicConfig:
        """A seconds-fast configuration for tests (same code path, small widths)."""
        return cls(
            projector=ProjectorConfig(image_dim=image_dim, text_dim=text_dim, hidden_dim=32),
            decoder=DecoderConfig(input_dim=32, hidden_dim=32, num_layers=2, frames=frames),
        )


class Art2Music(nn.Module):
    """Projector and decoder, trained jointly (the public reference code trained the decoder only)."""

    def __init__(self, config: Art2MusicConfig = Art2MusicConfig()) -> None:
        super().__init__()
        if config.projector.hidden_dim != config.decoder.input_dim:
            raise ValueError(
                f"projector hidden_dim {config.projector.hidden_dim} must equal decoder input_dim "
                f"{config.decoder.input_dim}; fix the model config."
            )
        self.config = config
        self.projector = GatedResidualProjector(config.projector)
        self.decoder = MelDecoder(config.decoder)

    def forward(self, image: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """Normalised Mel [B, n_mels, frames] from image [B, Di] and text [B, Dt] embeddings."""
        return self.decoder(self.projector(image, text))


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
