"""Trains the music encoder and the art projection into one feeling space (issue 11).

    python -m training.retrieval.train --data data/dataset-topk --out runs/retrieval-v1
    python -m training.retrieval.train --data data/dataset-topk --out runs/retrieval-colour \
        --art-features colour                      # the colour-only baseline

Loss per batch of triplets (clip, painting, comment), all multi-positive InfoNCE
(model.multi_positive_infonce): music ↔ painting + ``text_weight`` · (music ↔ comment +
painting ↔ comment). Augmentation: a random crop of ``crop_frames`` of each clip's Mel and a
random level shift (a microphone is louder or softer than the recording). The epoch with the
best validation recall@5 (ties: lower median rank) is kept. One CPU thread, a few minutes.
Writes ``<out>/retrieval.safetensors`` + ``retrieval.json`` (config, scores, provenance).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from training.checkpoint import save_json_atomic, save_tensors_atomic
from training.retrieval.data import (
    DEFAULT_IMAGE_ENCODER,
    DEFAULT_TEXT_ENCODER,
    RetrievalData,
    load_retrieval_data,
)
from training.retrieval.metrics import RetrievalScores, ranks, scores_from_ranks
from training.retrieval.model import RetrievalConfig, RetrievalModel, multi_positive_infonce

log = logging.getLogger(__name__)

WEIGHTS = "retrieval.safetensors"
SIDECAR = "retrieval.json"


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 15
    batch_size: int = 128
    learning_rate: float = 2e-3
    weight_decay: float = 0.05
    crop_frames: int = 640
    level_shift: float = 0.15
    text_weight: float = 0.5
    seed: int = 0


def _batch_mels(mels: torch.Tensor, clips: np.ndarray, rng: np.random.Generator,
                config: TrainConfig) -> torch.Tensor:
    frames = mels.shape[-1]
    crop = min(config.crop_frames, frames)
    starts = rng.integers(0, frames - crop + 1, size=len(clips))
    batch = torch.stack([mels[c, :, s:s + crop] for c, s in zip(clips, starts, strict=True)])
    shift = torch.from_numpy(rng.uniform(-config.level_shift, config.level_shift,
                                         (len(clips), 1, 1)).astype(np.float32))
    return (batch + shift).clamp(-1.0, 1.0)


@torch.no_grad()
def embed_music(model: RetrievalModel, mels: np.ndarray | torch.Tensor,
                batch_size: int = 64) -> np.ndarray:
    model.eval()
    mels = torch.as_tensor(mels)
    return torch.cat([model.music(mels[i:i + batch_size])
                      for i in range(0, len(mels), batch_size)]).numpy()


@torch.no_grad()
def embed_art(model: RetrievalModel, images: np.ndarray) -> np.ndarray:
    model.eval()
    return model.art(torch.as_tensor(images)).numpy()


def evaluate(model: RetrievalModel, data: RetrievalData, split: str) -> RetrievalScores:
    """Each distinct (clip, painting) pair of `split`: the rank of its painting among all the
    split's paintings by cosine to the clip's music embedding."""
    pairs = data.pairs(split)
    collection = data.paintings(split)
    position = {p: i for i, p in enumerate(collection)}
    clips = np.unique(pairs[:, 0])
    clip_pos = {c: i for i, c in enumerate(clips)}
    music = embed_music(model, data.mels[clips])
    art = embed_art(model, data.images[collection])
    similarity = music[[clip_pos[c] for c in pairs[:, 0]]] @ art.T
    return scores_from_ranks(ranks(similarity, np.array([position[p] for p in pairs[:, 1]])),
                             len(collection))


def train(data: RetrievalData, model_config: RetrievalConfig, config: TrainConfig,
          out_dir: Path | None = None, provenance: dict | None = None
          ) -> tuple[RetrievalModel, dict]:
    """Trains, keeps the best validation epoch, and (with `out_dir`) saves it; returns the
    model and its report (per-epoch loss and validation scores, test scores)."""
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = RetrievalModel(model_config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate,
                                  weight_decay=config.weight_decay)
    mels = torch.from_numpy(data.mels)
    images = torch.from_numpy(data.images)
    comments = torch.from_numpy(data.comments)
    rows = data.rows["train"]
    steps = config.epochs * max(1, int(np.ceil(len(rows) / config.batch_size)))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, config.learning_rate,
                                                   total_steps=steps, pct_start=0.1)
    history: list[dict] = []
    best: tuple[float, float] | None = None
    best_state: dict | None = None
    start = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = rng.permutation(len(rows))
        losses = []
        for begin in range(0, len(order), config.batch_size):
            batch = rows[order[begin:begin + config.batch_size]]
            if len(batch) < 2:
                continue
            clip, painting, comment = (torch.from_numpy(batch[:, i]) for i in range(3))
            same_clip = clip[:, None] == clip[None, :]
            same_painting = painting[:, None] == painting[None, :]
            same_comment = comment[:, None] == comment[None, :]
            music = model.music(_batch_mels(mels, batch[:, 0], rng, config))
            art = model.art(images[painting])
            text = model.text(comments[comment])
            scale = model.scale()
            loss = multi_positive_infonce(music, art, same_clip | same_painting, scale)
            if config.text_weight > 0:
                loss = loss + config.text_weight * (
                    multi_positive_infonce(music, text, same_clip | same_comment, scale)
                    + multi_positive_infonce(art, text, same_painting, scale))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(float(loss.detach()))
        val = evaluate(model, data, "val")
        history.append({"epoch": epoch, "loss": float(np.mean(losses)), "val": val.to_dict(),
                        "seconds": round(time.perf_counter() - start, 1)})
        log.info("epoch %d loss %.3f val R@1 %.3f R@5 %.3f median rank %.1f", epoch,
                 history[-1]["loss"], val.recall_at_1, val.recall_at_5, val.median_rank)
        key = (val.recall_at_5, -val.median_rank)
        if best is None or key > best:
            best = key
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            best_epoch = epoch
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    report = {
        "model": model_config.to_dict(), "train": asdict(config), "best_epoch": best_epoch,
        "val": evaluate(model, data, "val").to_dict(),
        "test": evaluate(model, data, "test").to_dict(), "history": history,
        "train_seconds": round(time.perf_counter() - start, 1),
        "provenance": dict(provenance or {}),
    }
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        save_tensors_atomic(out_dir / WEIGHTS, model.state_dict())
        save_json_atomic(out_dir / SIDECAR, report)
    return model, report


def load_model(run_dir: str | Path) -> tuple[RetrievalModel, dict]:
    """The trained model of a run directory and its report (``retrieval.json``)."""
    from training.checkpoint import load_tensors

    run_dir = Path(run_dir)
    sidecar = run_dir / SIDECAR
    if not sidecar.is_file():
        raise FileNotFoundError(f"{sidecar} does not exist; train it first with "
                                "`python -m training.retrieval.train --out {run_dir}`.")
    report = json.loads(sidecar.read_text(encoding="utf-8"))
    model = RetrievalModel(RetrievalConfig.from_dict(report["model"]))
    model.load_state_dict(load_tensors(run_dir / WEIGHTS))
    return model.eval(), report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.retrieval.train",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/dataset-topk"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--art-features", choices=("full", "colour"), default="full")
    parser.add_argument("--image-encoder", default=DEFAULT_IMAGE_ENCODER)
    parser.add_argument("--text-encoder", default=DEFAULT_TEXT_ENCODER)
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    parser.add_argument("--embed-dim", type=int, default=RetrievalConfig.embed_dim)
    parser.add_argument("--text-weight", type=float, default=TrainConfig.text_weight)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(args.threads)
    data = load_retrieval_data(args.data, args.image_encoder, args.text_encoder)
    model_config = RetrievalConfig(n_mels=data.mels.shape[1], image_dim=data.images.shape[1],
                                   text_dim=data.comments.shape[1], embed_dim=args.embed_dim,
                                   art_features=args.art_features)
    config = TrainConfig(epochs=args.epochs, text_weight=args.text_weight, seed=args.seed)
    provenance = {"training_data": str(args.data), "image_encoder": args.image_encoder,
                  "text_encoder": args.text_encoder, "clips": len(data.clip_ids),
                  "paintings": len(data.image_paths)}
    _, report = train(data, model_config, config, args.out, provenance)
    print(json.dumps({k: report[k] for k in ("best_epoch", "val", "test", "train_seconds")},
                     indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
