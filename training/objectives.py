"""Training objectives: the paper's eq. (2) on the Mel, or cross-entropy on Mel-frame codes.

``paper`` (``--objective paper``): frequency-weighted L1 between the decoder's Mel and the
target (eq. 2), the BiLSTM decoder. ``tokens`` (``--objective tokens``): the token decoder
(training/models/token_decoder.py) is trained by teacher forcing on the residual-VQ codes of the
target Mel, over random windows of ``crop_frames`` frames (the LSTM carries no position, so a
window teaches the same next-frame task as a whole piece at a fraction of the cost).
A decoder with a beat clock also gets each window's tracked beat phase and learns the clip's
tempo class from the condition; a guided one sees the null condition on a random share of rows
(training/models/token_decoder.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from core.beat import nearest_bin, track_beats, tracked_clock
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


TEMPO_WEIGHT = 0.2
"""Weight of the tempo-class cross-entropy beside the code cross-entropy (a per-clip label
beside per-frame ones)."""


@dataclass
class BeatTargets:
    """Tracked beat clocks [M, frames, beat_features] and tempo classes [M] of every clip."""

    clocks: torch.Tensor
    tempo_class: torch.Tensor

    @classmethod
    def track(cls, mels: torch.Tensor, bins: tuple[float, ...]) -> BeatTargets:
        clocks, classes = [], []
        for mel in tqdm(mels, desc="tracking beats", unit="clip"):
            mel = mel.float().numpy()
            bpm, beats = track_beats(mel)
            clocks.append(tracked_clock(beats, mel.shape[-1], bpm))
            classes.append(nearest_bin(bpm, bins))
        return cls(torch.from_numpy(np.stack(clocks)), torch.tensor(classes, dtype=torch.long))


class TokenObjective:
    """Cross-entropy of the target codes, summed over codebook stages (nats); with a beat clock
    plus `TEMPO_WEIGHT` × the tempo-class cross-entropy."""

    name = TOKENS

    def __init__(self, codes: torch.Tensor, crop_frames: int, seed: int, bos: int,
                 beats: BeatTargets | None = None, condition_dropout: float = 0.0) -> None:
        self.codes = codes  # [M, frames, stages] int64, one row per distinct clip
        self.crop_frames = min(crop_frames, codes.shape[1])
        self.seed = seed
        self.bos = bos
        self.beats = beats
        self.condition_dropout = condition_dropout

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
        config = decoder.config
        beats = BeatTargets.track(mels, config.tempo_bpm) if config.tempo_bpm else None
        if beats is not None:
            counts = torch.bincount(beats.tempo_class, minlength=len(config.tempo_bpm))
            print("tempo classes (BPM: clips): " + ", ".join(
                f"{bpm:.0f}: {int(n)}" for bpm, n in zip(config.tempo_bpm, counts, strict=True)))
        return (cls(codes, crop_frames, seed, decoder.bos, beats, config.condition_dropout),
                report)

    def _generator(self, step: int) -> torch.Generator:
        return torch.Generator().manual_seed(self.seed * 104_729 + step)

    def _starts(self, count: int, frames: int, step: int, training: bool) -> torch.Tensor:
        length = self.crop_frames if training else frames
        if not training:
            return torch.zeros(count, dtype=torch.long)
        return torch.randint(0, frames - length + 1, (count,), generator=self._generator(step))

    def windows(self, mel_index: torch.Tensor, step: int,
                training: bool) -> tuple[torch.Tensor, torch.Tensor]:
        codes = self.codes[mel_index.cpu()]
        length = self.crop_frames if training else codes.shape[1]
        start = self._starts(len(codes), codes.shape[1], step, training)
        return shifted_codes(codes, start, length, self.bos)

    def beat_windows(self, mel_index: torch.Tensor, step: int, training: bool) -> torch.Tensor:
        """The tracked beat features [B, length, beat_features] of the same windows."""
        clocks = self.beats.clocks[mel_index.cpu()]
        length = self.crop_frames if training else clocks.shape[1]
        start = self._starts(len(clocks), clocks.shape[1], step, training)
        index = start.view(-1, 1) + torch.arange(length).view(1, -1)
        return torch.gather(clocks, 1, index.unsqueeze(-1).expand(-1, -1, clocks.shape[-1]))

    def dropped(self, count: int, step: int, training: bool) -> torch.Tensor | None:
        """Rows [B] trained on the null condition (seeded by step: a resumed run repeats it)."""
        if not training or self.condition_dropout <= 0:
            return None
        generator = self._generator(step + 7_919)
        return torch.rand(count, generator=generator) < self.condition_dropout

    def loss(self, model: Art2Music, image: torch.Tensor, text: torch.Tensor,
             target: torch.Tensor, mel_index: torch.Tensor, step: int,
             training: bool = True) -> torch.Tensor:
        previous, codes = self.windows(mel_index, step, training)
        device = image.device
        h = model.projector(image, text)
        beat = drop = None
        if model.decoder.config.beat_features:
            beat = self.beat_windows(mel_index, step, training).to(device)
        drop = self.dropped(len(codes), step, training)
        logits = model.decoder(h, previous.to(device), codes.to(device), beat,
                               None if drop is None else drop.to(device))
        loss = token_cross_entropy(logits, codes.to(device))
        if self.beats is not None:
            tempo = model.decoder.tempo_logits(model.decoder.condition(h))
            loss = loss + TEMPO_WEIGHT * torch.nn.functional.cross_entropy(
                tempo, self.beats.tempo_class[mel_index.cpu()].to(device))
        return loss

