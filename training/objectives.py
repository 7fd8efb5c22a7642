"""Training objectives: the paper's eq. (2) on the Mel, or cross-entropy on Mel-frame codes.

``paper`` (``--objective paper``): frequency-weighted L1 between the decoder's Mel and the
target (eq. 2), the BiLSTM decoder. ``tokens`` (``--objective tokens``): the token decoder
(training/models/token_decoder.py) is trained by teacher forcing on the residual-VQ codes of the
target Mel, over random windows of ``crop_frames`` frames (the LSTM carries no position, so a
window teaches the same next-frame task as a whole piece at a fraction of the cost).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from tqdm import tqdm

from training.losses import FrequencyWeightedL1
from training.models import Art2Music
from training.models.codebook import fit_residual_codebooks
from training.models.token_decoder import TokenMelDecoder, shifted_codes, token_cross_entropy

PAPER = "paper"
TOKENS = "tokens"
OBJECTIVES = (PAPER, TOKENS)


class PaperObjective:
    """Eq. (2): L = Σ_f w_f |M̂_f − M_f| averaged, w rising linearly from w_min to w_max."""

    name = PAPER

    def __init__(self, n_mels: int, weight_min: float, weight_max: float,
                 device: torch.device) -> None:
        self.loss_fn = FrequencyWeightedL1(n_mels, weight_min, weight_max).to(device)

    def loss(self, model: Art2Music, image: torch.Tensor, text: torch.Tensor,
             target: torch.Tensor, mel_index: torch.Tensor, step: int,
             training: bool = True) -> torch.Tensor:
        return self.loss_fn(model(image, text), target)


@dataclass
class CodebookReport:
    """How much of real music's movement the codes keep (MODEL_NOTES: report the ceiling)."""

    stages: int
    size: int
    real_flux: float
    coded_flux: float
    coded_error: float
    """Mean abs difference, normalised Mel vs its decoded codes."""

    def describe(self) -> str:
        return (f"codebook {self.stages} × {self.size}: spectral flux of real clips "
                f"{self.real_flux:.3f}, through the codes {self.coded_flux:.3f} (the ceiling); "
                f"reconstruction error {self.coded_error:.3f}")


def _flux(mel: torch.Tensor) -> float:
    """Mean abs frame-to-frame change of normalised Mels [B, n_mels, T]."""
    return float((mel[..., 1:] - mel[..., :-1]).abs().mean())


class TokenObjective:
    """Cross-entropy of the target codes, summed over codebook stages (nats)."""

    name = TOKENS

    def __init__(self, codes: torch.Tensor, crop_frames: int, seed: int, bos: int) -> None:
        self.codes = codes  # [M, frames, stages] int64, one row per distinct clip
        self.crop_frames = min(crop_frames, codes.shape[1])
        self.seed = seed
        self.bos = bos

    @classmethod
    def prepare(cls, model: Art2Music, mels: torch.Tensor, fit_rows: torch.Tensor,
                crop_frames: int, seed: int, fit: bool) -> tuple[TokenObjective, CodebookReport]:
        """Fits the codebooks on the `fit_rows` clips of `mels` (when `fit`; a resumed run keeps
        its own) and encodes every clip once."""
        decoder = model.decoder
        if not isinstance(decoder, TokenMelDecoder):
            raise ValueError("the tokens objective needs a token decoder (decoder_kind tokens)")
        rows = torch.unique(fit_rows)
        if fit:
            frames = mels[rows].float().transpose(1, 2).reshape(-1, mels.shape[1]).numpy()
            print(f"fitting {decoder.config.stages} × {decoder.config.codebook_size} codes on "
                  f"{len(frames):,} Mel frames of {len(rows)} clips")
            decoder.codebook.set_books(fit_residual_codebooks(
                frames, decoder.config.stages, decoder.config.codebook_size, seed))
        codebook = decoder.codebook.cpu()
        codes = torch.cat([codebook.encode(mels[i:i + 32].float())
                           for i in tqdm(range(0, len(mels), 32), desc="encoding Mel codes",
                                         unit="batch")])
        sample = mels[rows[:64]].float()
        decoded = codebook.decode(codes[rows[:64]])
        report = CodebookReport(codebook.stages, codebook.size, _flux(sample), _flux(decoded),
                                float((decoded - sample).abs().mean()))
        return cls(codes, crop_frames, seed, decoder.bos), report

    def windows(self, mel_index: torch.Tensor, step: int,
                training: bool) -> tuple[torch.Tensor, torch.Tensor]:
        codes = self.codes[mel_index.cpu()]
        length = self.crop_frames if training else codes.shape[1]
        generator = torch.Generator().manual_seed(self.seed * 104_729 + step)
        high = codes.shape[1] - length + 1
        start = (torch.randint(0, high, (len(codes),), generator=generator) if training
                 else torch.zeros(len(codes), dtype=torch.long))
        return shifted_codes(codes, start, length, self.bos)

    def loss(self, model: Art2Music, image: torch.Tensor, text: torch.Tensor,
             target: torch.Tensor, mel_index: torch.Tensor, step: int,
             training: bool = True) -> torch.Tensor:
        previous, codes = self.windows(mel_index, step, training)
        device = image.device
        logits = model.decoder(model.projector(image, text), previous.to(device),
                               codes.to(device))
        return token_cross_entropy(logits, codes.to(device))

