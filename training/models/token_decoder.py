"""Autoregressive Mel-frame token decoder: h → residual-VQ codes frame by frame → Mel.

The paper's decoder (eq. 2, an L1-regressed BiLSTM Mel) predicts the conditional mean of many
clips whose notes and beats do not line up, so they average into a drone (issue 9). This
decoder cannot average: each frame is `stages` codes of a residual codebook
(training/models/codebook.py), predicted by a unidirectional LSTM that sees the previous frame's
codes and the condition at every step, and *sampled*, so it commits to one continuation.
Stage s's head also sees the codes already chosen for stages < s of the same frame.

Two additions against issue 9's open gaps (no beat; pieces of one painting as different as
pieces of two paintings):
- **Beat clock** (`beat_features` > 0): every step also sees the sine/cosine of its beat and bar
  phase (core/beat.py); in training the phase follows the beats tracked in the target clip, at
  generation it is a steady clock at the tempo a small head predicts from the condition
  (`tempo_bpm` bins), so onsets can land on a beat.
- **Classifier-free guidance** (`condition_dropout` > 0, Ho & Salimans 2022, as used for audio
  tokens by MusicGen, arXiv 2306.05284): in training the condition is replaced by a learned null
  condition with that probability; at generation the log-probabilities are
  log p_u + g · (log p_c − log p_u), with the conditional and the null branch run side by side.
- **Repetition prior** (a sampling rule, no training; `step`'s `lagged`/`repeat`): onsets chosen
  one beat earlier (at the tempo head's tempo) get a bonus κ in the next draw, so the piece
  keeps a beat. The shipped bundle uses it without a clock (training.tempo_head).
- **Palette prior** (`palette_dim` > 0; a head fitted on the frozen run, training.palette_head):
  a distribution q(c | image) over the stage-1 codes that the painting's music uses, predicted
  from the image embedding alone; at generation stage 1 samples from
  p(c)^(1/T) · (q(c | image) / q̄(c))^λ, q̄ the mean palette of the training images, so the
  painting tilts the piece's palette of sounds towards its own, whatever the comment and the
  draw (issue 8), without sharpening the sounds every painting shares.

MODEL_NOTES.md ("Second study"): 2 stages × 256 codes, LSTM 2 × 256, sampled at temperature 1.1
for stage 1 gave real-like movement (flux 0.211 vs real 0.246); 0.95 latches onto one code (a
drone again), 1.25 flickers. Stage 2 is sampled a little cooler.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from core.beat import lag_frames, steady_clock
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
    beat_features: int = 0
    """Per-frame beat-clock inputs (core.beat.BEAT_FEATURES); 0: no clock (the first bundle)."""
    tempo_bpm: tuple[float, ...] = ()
    """Tempo classes (BPM) of the head that sets the generation clock and the repetition prior's
    lag; () for no tempo head (a clock needs one; a head needs no clock: training.tempo_head)."""
    condition_dropout: float = 0.0
    """Probability of training on the null condition (classifier-free guidance); 0: none."""
    guidance: float = 1.0
    """Default guidance scale g at generation (1: the conditional model alone)."""
    palette_dim: int = 0
    """Image-embedding inputs of the palette head (training.palette_head); 0: no head."""

    def to_dict(self) -> dict:
        values = asdict(self)
        values["temperatures"] = list(self.temperatures)
        values["tempo_bpm"] = list(self.tempo_bpm)
        return values

    @classmethod
    def from_dict(cls, values: dict) -> TokenDecoderConfig:
        values = dict(values)
        values["temperatures"] = tuple(float(t) for t in values.get("temperatures", (1.1, 1.0)))
        values["tempo_bpm"] = tuple(float(t) for t in values.get("tempo_bpm", ()))
        return cls(**values)

    @property
    def guided(self) -> bool:
        """True when the model has a null condition for classifier-free guidance."""
        return self.condition_dropout > 0


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
        if config.beat_features and not config.tempo_bpm:
            raise ValueError("a beat clock needs tempo classes (tempo_bpm) to set its tempo")
        if not 0.0 <= config.condition_dropout < 1.0:
            raise ValueError(f"condition_dropout must be in [0, 1), got {config.condition_dropout}")
        self.config = config
        size, hidden = config.codebook_size, config.hidden_dim
        self.codebook = ResidualCodebook(config.stages, size, config.n_mels)
        self.condition = nn.Sequential(nn.Linear(config.input_dim, hidden), nn.Tanh())
        self.code_embeddings = nn.ModuleList(nn.Embedding(size + 1, config.embed_dim)
                                             for _ in range(config.stages))
        self.lstm = nn.LSTM(config.embed_dim + hidden + config.beat_features, hidden,
                            config.num_layers, batch_first=True)
        self.null_condition = (nn.Parameter(torch.zeros(hidden)) if config.guided else None)
        self.tempo_head = (nn.Linear(hidden, len(config.tempo_bpm)) if config.tempo_bpm
                           else None)
        self.palette_head = (nn.Linear(config.palette_dim, size) if config.palette_dim
                             else None)
        if config.palette_dim:  # log q̄: the mean palette over the training images
            self.register_buffer("palette_log_mean", torch.zeros(size))
        self.stage_inputs = nn.ModuleList(nn.Embedding(size, hidden)
                                          for _ in range(config.stages - 1))
        self.heads = nn.ModuleList(
            nn.Sequential(nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, size))
            for _ in range(config.stages))

    @property
    def bos(self) -> int:
        """The start code fed before the first frame (one past the codebook)."""
        return self.config.codebook_size

    def _inputs(self, previous: torch.Tensor, cond: torch.Tensor,
                beat: torch.Tensor | None = None) -> torch.Tensor:
        """LSTM inputs [B, T, E + H (+ beat)]: the previous frame's code embeddings, the
        condition and, with a clock, the frames' beat features [B, T, beat_features]."""
        embedded = sum(table(previous[..., s]) for s, table in enumerate(self.code_embeddings))
        parts = [embedded, cond.unsqueeze(1).expand(-1, previous.shape[1], -1)]
        if self.config.beat_features:
            if beat is None:
                raise ValueError("this decoder has a beat clock: pass the frames' beat features")
            parts.append(beat)
        return torch.cat(parts, -1)

    def drop_condition(self, cond: torch.Tensor, drop: torch.Tensor | None) -> torch.Tensor:
        """`cond` [B, H] with the rows where `drop` [B] is True replaced by the null condition."""
        if drop is None or self.null_condition is None:
            return cond
        return torch.where(drop.view(-1, 1), self.null_condition.expand_as(cond), cond)

    def tempo_logits(self, cond: torch.Tensor) -> torch.Tensor:
        """Tempo-class logits [B, len(tempo_bpm)] of condition `cond` [B, H]."""
        if self.tempo_head is None:
            raise ValueError("this decoder has no tempo head (no beat clock)")
        return self.tempo_head(cond)

    def palette_log_probs(self, image: torch.Tensor) -> torch.Tensor:
        """log q(c | image) [B, size]: the palette head's log-probabilities of the stage-1 codes
        for image embeddings `image` [B, palette_dim] (the painting alone, no text)."""
        if self.palette_head is None:
            raise ValueError("this decoder has no palette head (training.palette_head fits one)")
        return torch.log_softmax(self.palette_head(image), dim=-1)

    def palette(self, image: torch.Tensor) -> torch.Tensor:
        """log q(c | image) − log q̄(c) [B, size]: what the painting says about its stage-1
        codes beyond the mean palette of the training images (the palette prior's input)."""
        return self.palette_log_probs(image) - self.palette_log_mean

    def _stage_logits(self, stage: int, output: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
        """Logits of `stage` from the LSTM output and the codes `chosen` for earlier stages."""
        inputs = output
        for s in range(stage):
            inputs = inputs + self.stage_inputs[s](chosen[..., s])
        return self.heads[stage](inputs)

    def forward(self, h: torch.Tensor, previous: torch.Tensor, target: torch.Tensor,
                beat: torch.Tensor | None = None,
                drop: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Teacher-forced logits, one [B, T, size] per stage.

        `previous` [B, T, stages] holds the codes of the frame before each target frame (the
        start code `bos` before the first frame of a piece); `target` [B, T, stages] the codes;
        `beat` [B, T, beat_features] the beat clock; rows where `drop` [B] is True see the null
        condition (classifier-free guidance training).
        """
        cond = self.drop_condition(self.condition(h), drop)
        output, _ = self.lstm(self._inputs(previous, cond, beat))
        return [self._stage_logits(s, output, target) for s in range(self.config.stages)]

    def step(self, previous: torch.Tensor, cond: torch.Tensor, h0: torch.Tensor,
             c0: torch.Tensor, noise: torch.Tensor, inverse_temperature: torch.Tensor,
             beat: torch.Tensor | None = None, guidance: torch.Tensor | None = None,
             lagged: torch.Tensor | None = None, repeat: torch.Tensor | None = None,
             palette: torch.Tensor | None = None, palette_strength: torch.Tensor | None = None):
        """One frame: (codes [B, stages] int64, normalised Mel frame [B, n_mels], h1, c1).

        `previous` [B, stages] codes of the last frame, `cond` [B, H] = ``condition(h)``,
        `h0`/`c0` [layers, B, H] the LSTM state, `noise` [B, stages, size] Gumbel noise,
        `inverse_temperature` [stages], `beat` [B, beat_features] this frame's clock. Stage s
        picks argmax(l_s · 1/T_s + noise_s): a sample of softmax(l_s / T_s) (the Gumbel-max
        trick), so the exported graph stays pure. With `guidance` [1] (a guided model) the state
        is [layers, 2B, H], conditional rows first, and l_s = log p_u + g · (log p_c − log p_u).

        With `lagged` [B, stages] and `repeat` [stages] (strengths κ_s ≥ 0), the **repetition
        prior** adds κ_s to the tempered score of the lagged code: the sample is drawn from
        p'(c) ∝ p(c)^(1/T) · exp(κ_s · [c = lagged_s]). The caller passes, per stage, the code
        chosen one lag (a beat) earlier if it was new then (an onset: it differed from the frame
        before it), and ``codebook_size`` (no prior) otherwise (core.beat.onset_lagged), so
        onsets come back on the beat that sampling alone drifts away from, while sustained
        frames stay the model's own choice (repeating every code froze pieces into a drone:
        flux 0.11 against 0.20 without the prior).

        With `palette` [B, size] (log q(c | image) − log q̄(c), ``palette``) and
        `palette_strength` [1] (λ), the **palette prior** adds λ times it to stage 1's tempered
        score: the sample comes from p'(c) ∝ p(c)^(1/T) · (q(c | image) / q̄(c))^λ, a product of
        experts in which the autoregressive model keeps the timing and the painting tilts which
        sounds it draws from (codes every painting uses as much are left alone).
        """
        guided = guidance is not None
        batch = previous.shape[0]
        if guided:
            if self.null_condition is None:
                raise ValueError("guidance needs a model trained with condition_dropout > 0")
            cond = torch.cat([cond, self.null_condition.expand_as(cond)], 0)
            previous = torch.cat([previous, previous], 0)
            beat = None if beat is None else torch.cat([beat, beat], 0)
        output, (h1, c1) = self.lstm(
            self._inputs(previous.unsqueeze(1), cond,
                         None if beat is None else beat.unsqueeze(1)), (h0, c0))
        output = output[:, 0]
        chosen: list[torch.Tensor] = []
        for s in range(self.config.stages):
            so_far = torch.stack(chosen, dim=-1) if chosen else previous[:batch, :0]
            if guided:
                so_far = torch.cat([so_far, so_far], 0)
            logits = self._stage_logits(s, output, so_far)
            if guided:
                log_p = torch.log_softmax(logits, dim=-1)
                conditional, unconditional = log_p[:batch], log_p[batch:]
                logits = unconditional + guidance * (conditional - unconditional)
            scores = logits * inverse_temperature[s] + noise[:, s]
            if s == 0 and palette is not None and palette_strength is not None:
                scores = scores + palette_strength * palette
            if repeat is not None and lagged is not None:
                match = torch.arange(self.config.codebook_size, device=scores.device).view(1, -1)
                scores = scores + repeat[s] * (match == lagged[:, s:s + 1]).to(scores.dtype)
            chosen.append(torch.argmax(scores, dim=-1))
        codes = torch.stack(chosen, dim=-1)
        frame = self.codebook.decode(codes.unsqueeze(1))[:, :, 0]
        return codes, frame, h1, c1

    def initial_state(self, batch: int, guided: bool = False
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Start codes [B, stages] and zero LSTM state [layers, B (2B when `guided`), H] × 2."""
        shape = (self.config.num_layers, batch * (2 if guided else 1), self.config.hidden_dim)
        previous = torch.full((batch, self.config.stages), self.bos, dtype=torch.long)
        return previous, torch.zeros(shape), torch.zeros(shape)

    def tempo_of(self, cond: torch.Tensor) -> torch.Tensor:
        """The generation tempo [B] (BPM): the most likely tempo class of each condition."""
        bins = torch.tensor(self.config.tempo_bpm, device=cond.device)
        return bins[self.tempo_logits(cond).argmax(-1)]

    def generate(self, h: torch.Tensor, seed: int = 0, frames: int | None = None,
                 temperatures: tuple[float, ...] | None = None,
                 guidance: float | None = None, repeat: tuple[float, ...] = (),
                 repeat_beats: float = 1.0, tempo_bpm: float | None = None,
                 palette: torch.Tensor | None = None, palette_strength: float = 0.0,
                 primer: torch.Tensor | None = None,
                 code_bias: torch.Tensor | None = None) -> torch.Tensor:
        """A sampled normalised Mel [B, n_mels, frames] (`sample` without its codes)."""
        return self.sample(h, seed, frames, temperatures, guidance, repeat, repeat_beats,
                           tempo_bpm, palette, palette_strength, primer, code_bias)[0]

    @torch.no_grad()
    def sample(self, h: torch.Tensor, seed: int = 0, frames: int | None = None,
               temperatures: tuple[float, ...] | None = None,
               guidance: float | None = None, repeat: tuple[float, ...] = (),
               repeat_beats: float = 1.0, tempo_bpm: float | None = None,
               palette: torch.Tensor | None = None, palette_strength: float = 0.0,
               primer: torch.Tensor | None = None,
               code_bias: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """A sampled normalised Mel [B, n_mels, frames] and its codes [B, frames, stages] (the
        engine runs the same steps in ONNX).

        `guidance` (default: the config's) applies to a guided model; 1.0 or None on a model
        without a null condition samples the conditional model alone. `repeat` (one strength
        per stage; () for none) turns on the repetition prior of `step` at a lag of
        `repeat_beats` beats of the predicted tempo (or `tempo_bpm`, which a model without a
        tempo head needs); only codes that were new one lag back are favoured (see `step`).
        `palette` [B, size] (``palette`` of the image embeddings) with `palette_strength` λ > 0
        turns on the palette prior of `step`. `primer` [B, K, stages] codes (of a real clip the
        painting chose) are teacher-forced through the LSTM first, so the piece starts from the
        state that clip leaves, and are not part of the output. `code_bias` [stages, size] (a
        log-prior over codes, core.code_bias) is added to every frame's Gumbel noise: the draw
        comes from p'(c) ∝ p(c)^(1/T) · e^(b_c), as the engine adds it.
        """
        frames = frames or self.config.frames
        temperatures = temperatures or self.config.temperatures
        guidance = self.config.guidance if guidance is None else guidance
        guided = self.config.guided and guidance != 1.0
        generator = torch.Generator().manual_seed(int(seed))
        inverse = torch.tensor([1.0 / t for t in temperatures], device=h.device)
        scale = torch.tensor([float(guidance)], device=h.device) if guided else None
        cond = self.condition(h)
        clock = None
        if self.config.beat_features:
            clock = torch.stack([torch.from_numpy(steady_clock(frames, float(bpm)))
                                 for bpm in self.tempo_of(cond)]).to(h.device)
        lags = strengths = None
        if repeat:
            if len(repeat) != self.config.stages:
                raise ValueError(f"give one repetition strength per stage ({self.config.stages})")
            tempi = ([float(tempo_bpm)] * h.shape[0] if tempo_bpm is not None
                     else [float(b) for b in self.tempo_of(cond)])
            lags = torch.tensor([lag_frames(bpm, repeat_beats) for bpm in tempi], device=h.device)
            strengths = torch.tensor(repeat, dtype=torch.float32, device=h.device)
        strength = None
        if palette is not None and palette_strength > 0:
            strength = torch.tensor([float(palette_strength)], device=h.device)
        else:
            palette = None
        size = (self.config.stages, self.config.codebook_size)
        if code_bias is not None and tuple(code_bias.shape) != size:
            raise ValueError(f"a code bias must be [stages, size] = {list(size)}, got "
                             f"{list(code_bias.shape)}")
        previous, h0, c0 = (t.to(h.device) for t in self.initial_state(h.shape[0], guided))
        if primer is not None and primer.shape[1]:
            if guided:
                raise ValueError("a primer is not supported with guidance")
            primer = primer.to(h.device)
            before = torch.cat([previous.unsqueeze(1), primer[:, :-1]], dim=1)
            _, (h0, c0) = self.lstm(self._inputs(before, cond), (h0, c0))
            previous = primer[:, -1]
        out = []
        history = torch.full((h.shape[0], frames, self.config.stages), self.bos,
                             dtype=torch.long, device=h.device)
        rows = torch.arange(h.shape[0], device=h.device)
        for t in range(frames):
            noise = gumbel_noise((h.shape[0], self.config.stages, self.config.codebook_size),
                                 generator).to(h.device)
            if code_bias is not None:
                noise = noise + code_bias.to(noise)
            beat = None if clock is None else clock[:, t]
            lagged = None
            if lags is not None:  # the codes `lag` frames back; the start code before frame 0
                back = t - lags
                lagged = torch.where((back >= 0).view(-1, 1), history[rows, back.clamp(min=0)],
                                     torch.full_like(previous, self.bos))
                before = history[rows, (back - 1).clamp(min=0)]  # only what was new then
                onset = (lagged != before) | (back < 1).view(-1, 1)
                lagged = torch.where(onset, lagged, torch.full_like(lagged, self.bos))
            previous, frame, h0, c0 = self.step(previous, cond, h0, c0, noise, inverse, beat,
                                                scale, lagged, strengths, palette, strength)
            history[:, t] = previous
            out.append(frame)
        return torch.stack(out, dim=-1), history


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
