"""The full first stage of Art2Music: embeddings → projector (eq. 1) → BiLSTM → Mel."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum

import torch
from torch import nn

from training.models.decoder import DecoderConfig, MelDecoder
from training.models.projector import GatedResidualProjector, ProjectorConfig
from training.models.token_decoder import TokenDecoderConfig, TokenMelDecoder

PAPER_DECODER = "bilstm"
"""The paper's decoder (Sec. III.B.2): BiLSTM regressing the Mel under eq. (2)'s L1 loss."""
TOKEN_DECODER = "tokens"
"""Mel-frame residual-VQ codes sampled by an autoregressive LSTM (training/models/token_decoder.py)."""


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
    """Projector and decoder sizes. `decoder_kind` ``bilstm`` is the paper's decoder
    (`decoder` config); ``tokens`` the token decoder (`tokens` config), whose `input_dim` is the
    projector's hidden width."""

    projector: ProjectorConfig = field(default_factory=ProjectorConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)
    decoder_kind: str = PAPER_DECODER
    tokens: TokenDecoderConfig | None = None

    def to_dict(self) -> dict:
        values = asdict(self)
        values["tokens"] = None if self.tokens is None else self.tokens.to_dict()
        return values

    @classmethod
    def from_dict(cls, values: dict) -> Art2MusicConfig:
        tokens = values.get("tokens")
        return cls(
            projector=ProjectorConfig(**values["projector"]),
            decoder=DecoderConfig(**values["decoder"]),
            decoder_kind=values.get("decoder_kind", PAPER_DECODER),
            tokens=None if tokens is None else TokenDecoderConfig.from_dict(tokens),
        )

    @property
    def frames(self) -> int:
        return self.tokens.frames if self.decoder_kind == TOKEN_DECODER else self.decoder.frames

    @property
    def n_mels(self) -> int:
        return self.tokens.n_mels if self.decoder_kind == TOKEN_DECODER else self.decoder.n_mels

    @classmethod
    def tiny(cls, image_dim: int = 16, text_dim: int = 16, frames: int = 32,
             decoder_kind: str = PAPER_DECODER) -> Art2MusicConfig:
        """A seconds-fast configuration for tests (same code path, small widths)."""
        tokens = None
        if decoder_kind == TOKEN_DECODER:
            tokens = TokenDecoderConfig(input_dim=32, hidden_dim=32, num_layers=2, embed_dim=16,
                                        codebook_size=16, stages=2, frames=frames)
        return cls(
            projector=ProjectorConfig(image_dim=image_dim, text_dim=text_dim, hidden_dim=32),
            decoder=DecoderConfig(input_dim=32, hidden_dim=32, num_layers=2, frames=frames),
            decoder_kind=decoder_kind,
            tokens=tokens,
        )


class Art2Music(nn.Module):
    """Projector and decoder, trained jointly (the public reference code trained the decoder only)."""

    def __init__(self, config: Art2MusicConfig = Art2MusicConfig()) -> None:
        super().__init__()
        if config.decoder_kind not in (PAPER_DECODER, TOKEN_DECODER):
            raise ValueError(f"unknown decoder kind {config.decoder_kind!r}; use "
                             f"{PAPER_DECODER} or {TOKEN_DECODER}.")
        tokens = config.decoder_kind == TOKEN_DECODER
        if tokens and config.tokens is None:
            raise ValueError("a token decoder needs its `tokens` config; fix the model config.")
        input_dim = config.tokens.input_dim if tokens else config.decoder.input_dim
        if config.projector.hidden_dim != input_dim:
            raise ValueError(
                f"projector hidden_dim {config.projector.hidden_dim} must equal decoder input_dim "
                f"{input_dim}; fix the model config."
            )
        self.config = config
        self.projector = GatedResidualProjector(config.projector)
        self.decoder: MelDecoder | TokenMelDecoder = (
            TokenMelDecoder(config.tokens) if tokens else MelDecoder(config.decoder))

    @property
    def samples(self) -> bool:
        """True when the decoder samples (a new variation per seed) instead of regressing."""
        return isinstance(self.decoder, TokenMelDecoder)

    def forward(self, image: torch.Tensor, text: torch.Tensor, seed: int = 0) -> torch.Tensor:
        """Normalised Mel [B, n_mels, frames] from image [B, Di] and text [B, Dt] embeddings
        (for the token decoder: sampled with `seed` at the config's temperatures)."""
        h = self.projector(image, text)
        if isinstance(self.decoder, TokenMelDecoder):
            return self.decoder.generate(h, seed=seed)
        return self.decoder(h)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
