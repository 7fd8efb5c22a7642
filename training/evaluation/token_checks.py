"""Two checks of a token-decoder run that MODEL_NOTES.md asks to report beside its results.

* **Codebook ceiling**: held-out real Mels sent through the run's residual codes and back; the
  spectral flux they keep is the most movement the decoder can reproduce.
* **Nearest training window**: each 1 s window (86 frames, hop 43) of a Mel against every
  training clip's windows (mean absolute difference of normalised Mels). Generated pieces that
  sit clearly closer to the training windows than held-out real clips (through the same codes)
  do are splicing what they learned.

``python -m training.evaluation.token_checks --checkpoint runs/tokens-v1 --data
data/dataset-topk --bundle assets/bundle`` prints both (the bundle's pieces: sample artworks, no
comment, seed 0).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from core.audio_config import DEFAULT_MEL_NORM
from core.mel import denormalize, normalize
from training.checkpoint import load_tensors
from training.evaluation.musicality import spectral_flux
from training.models.codebook import ResidualCodebook

WINDOW_FRAMES = 86
"""1 s of Mel frames at 22 050 Hz / hop 256."""


def mel_windows(mel: np.ndarray, window: int = WINDOW_FRAMES,
                hop: int = WINDOW_FRAMES // 2) -> np.ndarray:
    """Flattened windows [W, n_mels · window] of a Mel [n_mels, frames]."""
    starts = range(0, mel.shape[-1] - window + 1, hop)
    return np.stack([mel[:, s:s + window].ravel() for s in starts])


def nearest_window_distances(queries: list[np.ndarray], training: np.ndarray) -> np.ndarray:
    """For every window of the `queries` Mels, the mean absolute difference to the closest row
    of `training` (windows from `mel_windows`)."""
    windows = np.concatenate([mel_windows(q) for q in queries])
    return np.array([np.abs(training - w).mean(axis=1).min() for w in windows])


def through_codes(codebook: ResidualCodebook, mel: np.ndarray) -> np.ndarray:
    """A normalised Mel [n_mels, frames] encoded to the run's codes and decoded again."""
    with torch.no_grad():
        return codebook.decode(codebook.encode(torch.from_numpy(mel)[None]))[0].numpy()


def _load_codebook(checkpoint: Path) -> ResidualCodebook:
    books = load_tensors(checkpoint)["decoder.codebook.books"]
    codebook = ResidualCodebook(*books.shape)
    codebook.set_books(books)
    return codebook


def _split_mels(data: Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Normalised Mels of the training clips, and of the test clips no training row uses."""
    rows = [json.loads(line) for line in (data / "manifest.jsonl").open(encoding="utf-8")]
    train = sorted({r["mel_path"] for r in rows if r["split"] == "train"})
    held = sorted({r["mel_path"] for r in rows if r["split"] == "test"} - set(train))

    def load(paths: list[str]) -> list[np.ndarray]:
        return [np.load(data / p).astype(np.float32) for p in paths]

    return load(train), load(held)


def _bundle_pieces(bundle: Path) -> list[np.ndarray]:
    import cv2

    from engine import Engine
    from export.examples import ARTWORKS

    engine = Engine.load(bundle, providers=["cpu"], warmup=False)
    pieces = []
    for path in sorted(ARTWORKS.glob("*.jpg")):
        rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        pieces.append(normalize(engine.compose(rgb, "", seed=0).log_mel, engine.manifest.mel_norm))
    return pieces


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.evaluation.token_checks",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, required=True,
                        help="the run's weights: a .safetensors file or a run directory")
    parser.add_argument("--data", type=Path, required=True, help="the run's data set")
    parser.add_argument("--bundle", type=Path, default=None,
                        help="also check this bundle's pieces against the training windows")
    args = parser.parse_args(argv)
    weights = args.checkpoint
    if weights.is_dir():
        weights = weights / "checkpoints" / "best.safetensors"
    codebook = _load_codebook(weights)
    train, held = _split_mels(args.data)
    coded = [through_codes(codebook, m) for m in held]
    real_flux = np.mean([spectral_flux(denormalize(m, DEFAULT_MEL_NORM)) for m in held])
    coded_flux = np.mean([spectral_flux(denormalize(m, DEFAULT_MEL_NORM)) for m in coded])
    print(f"codebook ceiling on {len(held)} held-out clips: flux {real_flux:.3f} nats real, "
          f"{coded_flux:.3f} through the codes")
    training = np.concatenate([mel_windows(m) for m in train])
    held_near = nearest_window_distances(coded, training)
    print(f"nearest of {len(training)} training windows: held-out real through the codes "
          f"median {np.median(held_near):.3f} (p10 {np.percentile(held_near, 10):.3f})")
    if args.bundle is not None:
        near = nearest_window_distances(_bundle_pieces(args.bundle), training)
        print(f"  generated pieces of {args.bundle}: median {np.median(near):.3f} "
              f"(p10 {np.percentile(near, 10):.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
