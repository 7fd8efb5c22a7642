"""A real bundle with a music encoder for the retrieval tests: the shipped bundle (copied) plus
a small retrieval model trained for a few steps on synthetic triplets and added by
export.music_encoder, exactly as the lead adds the real one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHIPPED_BUNDLE = REPO / "assets" / "bundle"
_CACHE: dict[str, Path] = {}


def synthetic_data(n_mels: int, frames: int, image_dim: int, text_dim: int = 6,
                   clips: int = 12, seed: int = 0):
    """Triplets whose clip loudness profile and painting embedding share one latent: learnable.
    Clip i pairs with painting i (train: even i, val/test: odd i split in two)."""
    from training.retrieval.data import RetrievalData

    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(clips, 3)).astype(np.float32)
    bands = np.linspace(-1, 1, n_mels, dtype=np.float32)[:, None]
    mels = np.stack([np.clip(0.4 * (z[0] * bands + z[1] * bands ** 2 + z[2]), -1, 1)
                     * np.ones((1, frames), np.float32) for z in latent]).astype(np.float32)
    mixing = rng.normal(size=(3, image_dim)).astype(np.float32)
    images = latent @ mixing
    images /= np.linalg.norm(images, axis=1, keepdims=True)
    comments = rng.normal(size=(clips, text_dim)).astype(np.float32)
    index = np.arange(clips)
    rows = {"train": np.stack([index, index, index], 1)[index % 2 == 0],
            "val": np.stack([index, index, index], 1)[(index % 4) == 1],
            "test": np.stack([index, index, index], 1)[(index % 4) == 3]}
    return RetrievalData(mels, images, comments, [f"clip{i}" for i in index],
                         [f"painting{i}.png" for i in index], [f"c{i}" for i in index], rows)


def train_small_run(out: Path, n_mels: int, frames: int, image_dim: int, epochs: int = 3) -> Path:
    import torch

    from training.retrieval.model import RetrievalConfig
    from training.retrieval.train import TrainConfig, train

    torch.set_num_threads(1)
    data = synthetic_data(n_mels, frames, image_dim)
    config = RetrievalConfig(n_mels=n_mels, image_dim=image_dim, text_dim=6, embed_dim=8,
                             conv_channels=4, hidden=16)
    train(data, config, TrainConfig(epochs=epochs, batch_size=6, crop_frames=frames),
          out, {"image_encoder": "efficientnet:lite0+perceptual:imagenet"})
    return out


def retrieval_bundle(root: Path) -> Path:
    """The shipped bundle + a freshly trained small music encoder (built once per session)."""
    if "bundle" not in _CACHE:
        from export.music_encoder import add_music_encoder

        manifest = json.loads((SHIPPED_BUNDLE / "manifest.json").read_text())
        image_dim = manifest["graphs"]["image_encoder"]["outputs"][0]["shape"][-1]
        run = train_small_run(root / "run", manifest["audio"]["n_mels"],
                              manifest["audio"]["frames"], image_dim)
        add_music_encoder(run, SHIPPED_BUNDLE, root / "bundle")
        _CACHE["bundle"] = root / "bundle"
    return _CACHE["bundle"]
