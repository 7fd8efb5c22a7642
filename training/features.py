"""Encoder embeddings of a data set, computed once and cached (epochs never re-run CLIP)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from safetensors.torch import load_file
from tqdm import tqdm

from training.checkpoint import save_tensors_atomic
from training.encoders import EncoderSpec, create_encoder


@dataclass(frozen=True)
class DatasetRow:
    id: str
    image_path: Path
    prompt: str
    audio_id: str
    mel_path: Path
    split: str
    painting_emotion: list[str]
    similarity: float = 0.0
    """Caption similarity of the match (Sec. III.A); 0 where the manifest does not record it."""


def read_manifest(dataset_dir: Path) -> list[DatasetRow]:
    """Rows of `<dataset>/manifest.jsonl` (see docs/CONTRACTS.md), paths resolved."""
    dataset_dir = Path(dataset_dir)
    manifest = dataset_dir / "manifest.jsonl"
    if not manifest.exists():
        raise FileNotFoundError(
            f"{manifest} does not exist; build the data set first with `main.py build-dataset`."
        )
    rows = []
    with manifest.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                rows.append(DatasetRow(
                    id=str(item["id"]),
                    image_path=_resolve(dataset_dir, item["image_path"]),
                    prompt=item["prompt"],
                    audio_id=str(item["audio_id"]),
                    mel_path=_resolve(dataset_dir, item["mel_path"]),
                    split=item["split"],
                    painting_emotion=list(item.get("painting_emotion", [])),
                    similarity=float(item.get("similarity", 0.0)),
                ))
            except (json.JSONDecodeError, KeyError) as error:
                raise ValueError(f"{manifest}:{number} is not a valid manifest row ({error}); "
                                 "rebuild the data set.") from error
    if not rows:
        raise ValueError(f"{manifest} has no rows; rebuild the data set with more input.")
    return rows


def _resolve(base: Path, path: str) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() else base / candidate


def read_rgb(path: Path) -> np.ndarray:
    """An image file as RGB uint8 [H, W, 3]."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"image {path} is missing or unreadable; fix the data set.")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _cache_path(dataset_dir: Path, modality: str, spec: EncoderSpec) -> Path:
    return Path(dataset_dir) / "embeddings" / f"{modality}-{spec.key}.safetensors"


def _load_cache(path: Path, keys: list[str]) -> np.ndarray | None:
    if not path.exists():
        return None
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        cached_keys = json.loads(handle.metadata().get("keys", "[]"))
    if cached_keys != keys:
        return None
    return load_file(str(path))["embeddings"].numpy()


def _encode_cached(path: Path, keys: list[str], encode, batch_size: int, label: str) -> np.ndarray:
    cached = _load_cache(path, keys)
    if cached is not None:
        return cached
    # Filled batch by batch into one [N, D] table: peak memory is the table itself, not a list
    # of chunks plus their concatenation (twice the table at ArtEmis' 455 k prompts).
    embeddings = np.empty((0, 0), dtype=np.float32)
    for start in tqdm(range(0, len(keys), batch_size), desc=label, unit="batch"):
        chunk = np.asarray(encode(keys[start : start + batch_size]), dtype=np.float32)
        if start == 0:
            embeddings = np.empty((len(keys), chunk.shape[1]), dtype=np.float32)
        embeddings[start : start + len(chunk)] = chunk
    save_tensors_atomic(path, {"embeddings": torch.from_numpy(embeddings)},
                        metadata={"keys": json.dumps(keys)})
    return embeddings


def cache_embeddings(dataset_dir: Path, image_spec: EncoderSpec, text_spec: EncoderSpec,
                     batch_size: int = 32, device: str = "cpu") -> None:
    """Encodes every distinct image and prompt of the data set once; later calls are free."""
    rows = read_manifest(dataset_dir)
    images = sorted({str(row.image_path) for row in rows})
    prompts = sorted({row.prompt for row in rows})
    # Encoders are built only for a cache that is missing (a cached data set needs no weights).
    _encode_cached(_cache_path(dataset_dir, "image", image_spec), images,
                   lambda batch: create_encoder(image_spec, device).encode_images(
                       [read_rgb(Path(p)) for p in batch]),
                   batch_size, f"image embeddings ({image_spec.name})")
    _encode_cached(_cache_path(dataset_dir, "text", text_spec), prompts,
                   lambda batch: create_encoder(text_spec, device).encode_texts(batch),
                   batch_size, f"text embeddings ({text_spec.name})")


def cache_image_embeddings(dataset_dir: Path, image_spec: EncoderSpec, batch_size: int = 32,
                           device: str = "cpu") -> tuple[list[DatasetRow], np.ndarray]:
    """(manifest rows, image embeddings [N, D] in row order), encoding each distinct image once
    into the same cache as `cache_embeddings` (the feelings head needs no text side)."""
    rows = read_manifest(dataset_dir)
    images = sorted({str(row.image_path) for row in rows})
    path = _cache_path(dataset_dir, "image", image_spec)
    if _load_cache(path, images) is None:
        encoder = create_encoder(image_spec, device)
        _encode_cached(path, images,
                       lambda batch: encoder.encode_images([read_rgb(Path(p)) for p in batch]),
                       batch_size, f"image embeddings ({image_spec.name})")
    table = _load_cache(path, images)
    index = {image: i for i, image in enumerate(images)}
    return rows, table[[index[str(row.image_path)] for row in rows]]


def load_cached_embeddings(dataset_dir: Path, image_spec: EncoderSpec, text_spec: EncoderSpec,
                           ) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(row ids, image embeddings [N, Di], text embeddings [N, Dt]) in manifest order."""
    rows = read_manifest(dataset_dir)
    images = sorted({str(row.image_path) for row in rows})
    prompts = sorted({row.prompt for row in rows})
    image_table = _load_cache(_cache_path(dataset_dir, "image", image_spec), images)
    text_table = _load_cache(_cache_path(dataset_dir, "text", text_spec), prompts)
    if image_table is None or text_table is None:
        raise FileNotFoundError(
            f"embeddings of {dataset_dir} for {image_spec.key} / {text_spec.key} are not cached; "
            "run training (it caches them) or training.features.cache_embeddings first."
        )
    image_index = {path: i for i, path in enumerate(images)}
    text_index = {prompt: i for i, prompt in enumerate(prompts)}
    image_rows = image_table[[image_index[str(row.image_path)] for row in rows]]
    text_rows = text_table[[text_index[row.prompt] for row in rows]]
    return [row.id for row in rows], image_rows, text_rows
