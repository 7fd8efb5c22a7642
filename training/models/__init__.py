"""Art2Music models: gated residual projector (eq. 1) and BiLSTM Mel decoder (Sec. III.B.2)."""

from training.models.art2music import (
    PAPER_DECODER,
    TOKEN_DECODER,
    Art2Music,
    Art2MusicConfig,
    InputMode,
    apply_input_mode,
)
from training.models.decoder import DecoderConfig, MelDecoder
from training.models.projector import GatedResidualProjector, ProjectorConfig
from training.models.token_decoder import TokenDecoderConfig, TokenMelDecoder

__all__ = [
    "PAPER_DECODER",
    "TOKEN_DECODER",
    "TokenDecoderConfig",
    "TokenMelDecoder",
    "Art2Music",
    "Art2MusicConfig",
    "DecoderConfig",
    "GatedResidualProjector",
    "InputMode",
    "MelDecoder",
    "ProjectorConfig",
    "apply_input_mode",
]
