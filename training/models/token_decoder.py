"""Autoregressive Mel-frame token decoder: h → residual-VQ codes frame by frame → Mel.

The paper's decoder (eq. 2, an L1-regressed BiLSTM Mel) predicts the conditional mean of many
clips whose notes and beats do not line up, so they average into a drone (issue 9). This
decoder cannot average: each frame is `stages` codes of a residual codebook
(training/models/codebook.py), predicted by a unidirectional LSTM that sees the previous frame's
codes and the condition at every step, and *sampled*, so it commits to one continuation.
Stage s's head also sees the codes already chosen for stages < s of the same frame.

MODEL_NOTES.md ("Second study"): 2 stages × 256 codes, LSTM 2 × 256, sampled at temperature 1.1
for stage 1 gave real-like movement (flux 0.211 vs real 0.246); 0.95 latches onto one code (a
drone again), 1.25 flickers. Stage 2 is sampled a little cooler.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from training.models.codebook import ResidualCodebook


@dataclass(frozen=True)
class TokenDecoderConfig:
    """Sizes of the token decoder; `temperatures` (one per stage) are its sampling defaults."""

    input_dim: int = 192
    hidden_dim: int = 256
    num_layers: int = 2
    embed_dim: int = 128
    codebook_size: int = 256
    stages: int = 2
    n_mels: int = 80
    frames: int = 896
    temperatures: tuple[float, ...] = (1.1, 1.0)

    def to_dict(self) -> dict:
        values = asdict(self)
        values["temperatures"] = list(self.temperatures)
        return values

    @classmethod
    def from_dict(cls, values: dict) -> TokenDecoderConfig:
        values = dict(values)
        values["temperatures"] = tuple(float(t) for t in values.get("temperatures", (1.1, 1.0)))
        return cls(**values)


def gumbel_noise(shape: tuple[int, ...], generator: torch.Generator | None = None) -> torch.Tensor:
    """−log(−log U), U ~ uniform(0, 1): argmax(logits / T + g) samples softmax(logits / T)."""
    uniform = torch.rand(shape, generator=generator).clamp_(1e-10, 1.0 - 1e-7)
    return -torch.log(-torch.log(uniform))


class TokenMelDecoder(nn.Module):
    """h [B, input_dim] → codes [B, frames, stages] → normalised Mel [B, n_mels, frames]."""

    def __init__(self, config: TokenDecoderConfig = TokenDecoderConfig()) -> None:
        super().__init__()
        if len(config.temperatures) != config.stages:
            raise ValueError(f"give one temperature per stage ({config.stages}), got "
                             f"{config.temperatures}")
        self.config = config
        size, hidden = config.codebook_size, config.hidden_dim
        self.codebook = ResidualCodebook(config.stages, size, config.n_mels)
        self.condition = nn.Sequential(nn.Linear(config.input_dim, hidden), nn.Tanh())
        self.code_embeddings = nn.ModuleList(nn.Embedding(size + 1, config.embed_dim)
                                             for _ in range(config.stages))
        self.lstm = nn.LSTM(config.embed_dim + hidden, hidden, config.num_layers,
                            batch_first=True)
        self.stage_inputs = nn.ModuleList(nn.Embedding(size, hidden)
                                          for _ in range(config.stages - 1))
        self.heads = nn.ModuleList(
            nn.Sequential(nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, size))
            for _ in range(config.stages))

    @property
    def bos(self) -> int:
        """The start code fed before the first frame (one past the codebook)."""
        return self.config.codebook_size

    def _inputs(self, previous: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """LSTM inputs [B, T, E + H]: the previous frame's code embeddings and the condition."""
        embedded = sum(table(previous[..., s]) for s, table in enumerate(self.code_embeddings))
        return torch.cat([embedded, cond.unsqueeze(1).expand(-1, previous.shape[1], -1)], -1)

    def _stage_logits(self, stage: int, output: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
        """Logits of `stage` from the LSTM output and the codes `chosen` for earlier stages."""
        inputs = output
        for s in range(stage):
            inputs = inputs + self.stage_inputs[s](chosen[..., s])
        return self.heads[stage](inputs)

    def forward(self, h: torch.Tensor, previous: torch.Tensor,
                target: torch.Tensor) -> list[torch.Tensor]:
        """Teacher-forced logits, one [B, T, size] per stage.

        `previous` [B, T, stages] holds the codes of the frame before each target frame (the
        start code `bos` before the first frame of a piece); `target` [B, T, stages] the codes.
        """
        output, _ = self.lstm(self._inputs(previous, self.condition(h)))
        return [self._stage_logits(s, output, target) for s in range(self.config.stages)]

    def step(self, previous: torch.Tensor, cond: torch.Tensor, h0: torch.Tensor,
             c0: torch.Tensor, noise: torch.Tensor, inverse_temperature: torch.Tensor):
        """One frame: (codes [B, stages] int64, normalised Mel frame [B, n_mels], h1, c1).

        `previous` [B, stages] codes of the last frame, `cond` [B, H] = ``condition(h)``,
        `h0`/`c0` [layers, B, H] the LSTM state, `noise` [B, stages, size] Gumbel noise and
        `inverse_temperature` [stages]. Stage s picks argmax(logits_s · 1/T_s + noise_s): a sample
        of softmax(logits_s / T_s) (the Gumbel-max trick), so the exported graph stays pure.
        """
        output, (h1, c1) = self.lstm(self._inputs(previous.unsqueeze(1), cond), (h0, c0))
        output = output[:, 0]
        chosen: list[torch.Tensor] = []
        for s in range(self.config.stages):
            so_far = (torch.stack(chosen, dim=-1) if chosen
                      else previous[:, :0])
            logits = self._stage_logits(s, output, so_far)
            chosen.append(torch.argmax(logits * inverse_temperature[s] + noise[:, s], dim=-1))
        codes = torch.stack(chosen, dim=-1)
        frame = self.codebook.decode(codes.unsqueeze(1))[:, :, 0]
        return codes, frame, h1, c1

    def initial_state(self, batch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Start codes [B, stages] and zero LSTM state [layers, B, H] × 2."""
        shape = (self.config.num_layers, batch, self.config.hidden_dim)
        previous = torch.full((batch, self.config.stages), self.bos, dtype=torch.long)
        return previous, torch.zeros(shape), torch.zeros(shape)

    @torch.no_grad()
    def generate(self, h: torch.Tensor, seed: int = 0, frames: int | None = None,
                 temperatures: tuple[float, ...] | None = None) -> torch.Tensor:
        """A sampled normalised Mel [B, n_mels, frames] (the engine runs the same steps in ONNX)."""
        frames = frames or self.config.frames
        temperatures = temperatures or self.config.temperatures
        generator = torch.Generator().manual_seed(int(seed))
        inverse = torch.tensor([1.0 / t for t in temperatures], device=h.device)
        cond = self.condition(h)
        previous, h0, c0 = (t.to(h.device) for t in self.initial_state(h.shape[0]))
        out = []
        for _ in range(frames):
            noise = gumbel_noise((h.shape[0], self.config.stages, self.config.codebook_size),
                                 generator).to(h.device)
            previous, frame, h0, c0 = self.step(previous, cond, h0, c0, noise, inverse)
            out.append(frame)
        return torch.stack(out, dim=-1)


def shifted_codes(codes: torch.Tensor, start: torch.Tensor, length: int,
                  bos: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(previous, target) windows [B, length, stages] of `codes` [B, frames, stages] starting at
    `start` [B]; the frame before frame 0 is the start code `bos`."""
    batch, _, stages = codes.shape
    padded = torch.cat([torch.full((batch, 1, stages), bos, dtype=codes.dtype), codes], dim=1)
    index = start.view(-1, 1) + torch.arange(length).view(1, -1)  # [B, L] in padded coords − 1
    gather = index.unsqueeze(-1).expand(-1, -1, stages)
    previous = torch.gather(padded, 1, gather)
    target = torch.gather(padded, 1, gather + 1)
    return previous, target


def token_cross_entropy(logits: list[torch.Tensor], target: torch.Tensor) -> torch.Tensor:
    """Sum over stages of the mean cross-entropy (nats) of the target codes."""
    return sum(nn.functional.cross_entropy(stage.reshape(-1, stage.shape[-1]),
                                           target[..., s].reshape(-1))
               for s, stage in enumerate(logits))
