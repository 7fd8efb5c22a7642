"""Fits a palette head onto a trained token decoder: which sounds a painting's music draws from.

Issue 8: without a comment, two paintings differed no more than two draws of one painting (the
long-term spectra of the 308 pieces: 0.196 between paintings, 0.195 between seeds), because the
decoder's condition mixes image and text and the draw sets most of a piece's character. Here the
run stays frozen and one linear layer learns, from the **image embedding alone**, the
distribution q(c | image) of the stage-1 codes in each training row's target clip (soft
cross-entropy against the clip's code histogram). At generation the sampler draws stage 1 from
p(c)^(1/T) · (q(c | image) / q̄(c))^λ (TokenMelDecoder.step's palette prior, λ = ``export
--palette``; q̄ the mean of q over the training images, stored with the head), so every piece of
one painting leans towards the same sounds, whatever the comment and the seed.

The report compares the head's held-out cross-entropy with the best image-blind palette (the
training rows' mean histogram): a head that only learned the average adds no painting.

    python -m training.palette_head --run runs/tokens-v1t --out runs/tokens-v1tp
"""

from __future__ import annotations

import argparse
import copy
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from training.checkpoint import load_sidecar
from training.frozen_run import best_weights, grown_token_run, run_training_data, save_grown_run


@dataclass
class PaletteHeadReport:
    """Soft cross-entropy (nats) of each split's target code histograms under the head and
    under the image-blind mean palette; lower is better, the gap is what the painting tells."""

    codes: int
    train_rows: int
    held_out_rows: int
    held_out_splits: list[str]
    train_nats: float
    held_out_nats: float
    mean_palette_held_out_nats: float
    target_entropy_nats: float
    """Mean entropy of the held-out targets themselves: the floor no palette can pass."""
    steps: int

    @property
    def gain_nats(self) -> float:
        return self.mean_palette_held_out_nats - self.held_out_nats

    def describe(self) -> str:
        return (f"palette head over {self.codes} codes: held-out cross-entropy "
                f"{self.held_out_nats:.3f} nats against {self.mean_palette_held_out_nats:.3f} "
                f"for the image-blind mean palette ({self.gain_nats:+.3f} nats; floor "
                f"{self.target_entropy_nats:.3f}, {self.held_out_rows} rows of "
                f"{'+'.join(self.held_out_splits)}); train {self.train_nats:.3f} "
                f"({self.train_rows} rows, {self.steps} steps)")


def code_histograms(codes: torch.Tensor, size: int, smoothing: float = 0.5) -> torch.Tensor:
    """[M, size] distributions of the stage-1 codes of each clip's codes [M, frames, stages],
    add-`smoothing` (a count added to every code), so no code has probability zero."""
    first = codes[..., 0]
    counts = torch.zeros(first.shape[0], size).scatter_add_(
        1, first, torch.ones_like(first, dtype=torch.float32))
    counts = counts + smoothing
    return counts / counts.sum(-1, keepdim=True)


def soft_cross_entropy(log_q: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over rows of −Σ_c target_c · log q_c (nats)."""
    return -(target * log_q).sum(-1).mean()


def fit_palette_head(run: Path, out: Path, data: Path | None = None, steps: int = 600,
                     learning_rate: float = 0.01, weight_decay: float = 1e-3,
                     seed: int = 0) -> PaletteHeadReport:
    """Writes `out`/checkpoints/best.* : `run`'s weights plus a fitted palette head. The head is
    trained on the train split with full-batch Adam; the step with the lowest validation
    cross-entropy is kept (early stopping) and the report scores val + test together."""
    image_dim: list[int] = []

    def grow(tokens: dict) -> None:
        if tokens.get("palette_dim"):
            raise ValueError(f"{run} has a palette head already.")
        tokens["palette_dim"] = image_dim[0]

    probe = load_sidecar(best_weights(run).parent, "best")  # the projector's image width
    image_dim.append(int(probe["model_config"]["projector"]["image_dim"]))
    model, sidecar = grown_token_run(run, grow)
    training, data = run_training_data(sidecar, data)
    decoder = model.decoder
    size = decoder.config.codebook_size
    with torch.no_grad():
        codes = torch.cat([decoder.codebook.encode(chunk.float())
                           for chunk in training.mels.split(64)])
    histograms = code_histograms(codes, size)
    splits = {name: (split.image.float(), histograms[split.mel_index])
              for name, split in training.splits.items() if len(split.mel_index)}
    if "train" not in splits:
        raise ValueError(f"{data} has no training rows; a palette head needs them.")
    held_names = [name for name in ("val", "test") if name in splits] or ["train"]
    stop_name = held_names[0]
    image, target = splits["train"]
    head = decoder.palette_head
    torch.manual_seed(seed)
    torch.nn.init.zeros_(head.weight)
    with torch.no_grad():  # start from the image-blind mean palette
        head.bias.copy_(target.mean(0).log())
    optimizer = torch.optim.Adam(head.parameters(), lr=learning_rate, weight_decay=weight_decay)

    def nats(name: str) -> float:
        features, labels = splits[name]
        with torch.no_grad():
            return float(soft_cross_entropy(decoder.palette_log_probs(features), labels))

    best = (nats(stop_name), copy.deepcopy(head.state_dict()), 0)
    for step in range(1, steps + 1):
        optimizer.zero_grad()
        loss = soft_cross_entropy(decoder.palette_log_probs(image), target)
        loss.backward()
        optimizer.step()
        if step % 10 == 0:
            score = nats(stop_name)
            if score < best[0]:
                best = (score, copy.deepcopy(head.state_dict()), step)
    head.load_state_dict(best[1])
    with torch.no_grad():  # q̄: what every painting shares, which the prior leaves alone
        decoder.palette_log_mean.copy_(decoder.palette_log_probs(image).exp().mean(0).log())

    held_image = torch.cat([splits[name][0] for name in held_names])
    held_target = torch.cat([splits[name][1] for name in held_names])
    mean_palette = target.mean(0).log().expand_as(held_target)
    with torch.no_grad():
        held = float(soft_cross_entropy(decoder.palette_log_probs(held_image), held_target))
    report = PaletteHeadReport(
        codes=size, train_rows=len(target), held_out_rows=len(held_target),
        held_out_splits=held_names, train_nats=nats("train"), held_out_nats=held,
        mean_palette_held_out_nats=float(soft_cross_entropy(mean_palette, held_target)),
        target_entropy_nats=float(soft_cross_entropy(held_target.log(), held_target)),
        steps=best[2])
    sidecar["palette_head"] = {**asdict(report), "from_run": str(run), "data": str(data)}
    save_grown_run(run, out, model, sidecar)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True,
                        help="token-decoder run (with its tempo head) without a palette head")
    parser.add_argument("--out", type=Path, required=True, help="new run directory")
    parser.add_argument("--data", type=Path, default=None,
                        help="data set (default: the run's own training data)")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--weight-decay", type=float, default=1e-3)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    report = fit_palette_head(args.run, args.out, args.data, args.steps,
                              weight_decay=args.weight_decay)
    print(report.describe())
    print(f"wrote {args.out / 'checkpoints' / 'best.safetensors'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
