"""Fits a tempo head onto a trained token decoder that has none.

The repetition prior (TokenMelDecoder.step) looks one beat back, so it needs a tempo; a run
trained without a beat clock (the shipped `tokens-v1`) has no head to predict one. Here the run
stays frozen and only a linear head on its condition (the decoder's `condition(h)`, h from
eq. (1)'s projector) learns the tempo class of each row's target clip, tracked by librosa in the
clip's Mel (core/beat.py), with the same tempo classes a beat-clock run uses. The new run
directory holds the same weights plus the head, so export and the engine treat it like any run.

    python -m training.tempo_head --run runs/tokens-v1 --out runs/tokens-v1t
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from core.beat import tempo_bins
from training.frozen_run import grown_token_run, run_training_data, save_grown_run
from training.models import Art2Music
from training.objectives import BeatTargets


@dataclass
class TempoHeadReport:
    """Tempo-class accuracy of the head against the most common class, train and held out."""

    bins: list[float]
    train_rows: int
    val_rows: int
    train_accuracy: float
    val_accuracy: float
    val_within_one_bin: float
    majority_val_accuracy: float

    def describe(self) -> str:
        return (f"tempo head over {len(self.bins)} classes: train accuracy "
                f"{self.train_accuracy:.2f} ({self.train_rows} rows), held out "
                f"{self.val_accuracy:.2f} (±1 class {self.val_within_one_bin:.2f}) against "
                f"{self.majority_val_accuracy:.2f} for the most common class "
                f"({self.val_rows} rows)")


def _conditions(model: Art2Music, image: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model.decoder.condition(model.projector(image, text))


def fit_tempo_head(run: Path, out: Path, data: Path | None = None, bins: int = 12,
                   steps: int = 400, learning_rate: float = 0.02,
                   seed: int = 0) -> TempoHeadReport:
    """Writes `out`/checkpoints/best.* : `run`'s weights plus a fitted tempo head."""
    def grow(tokens: dict) -> None:
        if tokens.get("tempo_bpm"):
            raise ValueError(f"{run} has a tempo head already.")
        tokens["tempo_bpm"] = list(tempo_bins(bins))

    model, sidecar = grown_token_run(run, grow)
    tokens = sidecar["model_config"]["tokens"]
    training, data = run_training_data(sidecar, data)
    beats = BeatTargets.track(training.mels, tuple(tokens["tempo_bpm"]))
    splits = {name: (_conditions(model, split.image, split.text),
                     beats.tempo_class[split.mel_index])
              for name, split in training.splits.items() if len(split.mel_index)}
    cond, target = splits["train"]
    head = model.decoder.tempo_head
    torch.manual_seed(seed)
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    optimizer = torch.optim.Adam(head.parameters(), lr=learning_rate, weight_decay=1e-4)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(head(cond), target)
        loss.backward()
        optimizer.step()

    def accuracy(name: str, tolerance: int = 0) -> float:
        features, labels = splits[name]
        with torch.no_grad():
            predicted = head(features).argmax(-1)
        return float(((predicted - labels).abs() <= tolerance).float().mean())

    held_out = "val" if "val" in splits else "train"
    counts = np.bincount(target.numpy(), minlength=bins)
    report = TempoHeadReport(
        bins=list(tokens["tempo_bpm"]), train_rows=len(target), val_rows=len(splits[held_out][1]),
        train_accuracy=accuracy("train"), val_accuracy=accuracy(held_out),
        val_within_one_bin=accuracy(held_out, 1),
        majority_val_accuracy=float((splits[held_out][1] == int(counts.argmax())).float().mean()))
    sidecar["tempo_head"] = {**asdict(report), "from_run": str(run), "data": str(data)}
    save_grown_run(run, out, model, sidecar)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="token-decoder run without one")
    parser.add_argument("--out", type=Path, required=True, help="new run directory")
    parser.add_argument("--data", type=Path, default=None,
                        help="data set (default: the run's own training data)")
    parser.add_argument("--bins", type=int, default=12, help="tempo classes, 60-200 BPM")
    parser.add_argument("--steps", type=int, default=400)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    report = fit_tempo_head(args.run, args.out, args.data, args.bins, args.steps)
    print(report.describe())
    print(f"wrote {args.out / 'checkpoints' / 'best.safetensors'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
