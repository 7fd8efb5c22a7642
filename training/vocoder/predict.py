"""Decoder-predicted Mels for HiFi-GAN fine-tuning (the paper fine-tunes on real and predicted).

``python -m training.vocoder.predict --checkpoint runs/default --data data/dataset --out DIR``
writes ``DIR/<row id>.npy`` ([n_mels, frames], normalised to [-1, 1] as the decoder emits them)
for every row of the chosen splits, from the data set's cached embeddings in ``full`` mode.
Rows already written are skipped, so an interrupted run resumes.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from training.evaluation.data import load_embeddings, load_model, read_eval_rows, select_inputs


def _save_atomic(path: Path, array: np.ndarray) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".npy.tmp")
    with os.fdopen(handle, "wb") as stream:
        np.save(stream, array)
    os.replace(temporary, path)


@torch.inference_mode()
def write_predicted_mels(checkpoint: Path, dataset_dir: Path, out: Path,
                         splits: tuple[str, ...] = ("train", "val"), batch_size: int = 16,
                         progress: bool = True) -> int:
    """Writes the missing predicted Mels; returns how many files the folder holds for `splits`."""
    loaded = load_model(checkpoint)
    ids, image, text = load_embeddings(dataset_dir, loaded.image_spec, loaded.text_spec)
    rows = [row for split in splits for row in read_eval_rows(dataset_dir, split)]
    out.mkdir(parents=True, exist_ok=True)
    todo = [row for row in rows if not (out / f"{row.id}.npy").exists()]
    for start in tqdm(range(0, len(todo), batch_size), desc="predicted Mels", unit="batch",
                      disable=not progress):
        batch = todo[start:start + batch_size]
        image_batch, text_batch = select_inputs(batch, ids, image, text)
        mels = loaded.model(image_batch, text_batch).float().numpy()
        for row, mel in zip(batch, mels, strict=True):
            _save_atomic(out / f"{row.id}.npy", mel.astype(np.float32))
    return sum((out / f"{row.id}.npy").exists() for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.vocoder.predict",
                                     description="Writes decoder-predicted Mels for HiFi-GAN "
                                                 "fine-tuning.")
    parser.add_argument("--checkpoint", type=Path, required=True,
                        help="Art2Music run directory (best checkpoint, else last)")
    parser.add_argument("--data", type=Path, required=True, help="data set directory")
    parser.add_argument("--out", type=Path, required=True, help="folder for <row id>.npy files")
    parser.add_argument("--splits", default="train,val", help="comma-separated manifest splits")
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args(argv)
    count = write_predicted_mels(args.checkpoint, args.data, args.out,
                                 tuple(s for s in args.splits.split(",") if s), args.batch_size)
    print(f"{count} predicted Mels in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
