"""The primer bank of a token decoder: the painting chooses where a piece starts from.

Issue 8: without a primer, pieces of one painting differed as much as pieces of two paintings
(long-term spectra on 24 held-out paintings × 3 seeds: 0.175 between, 0.185 within), because
every piece starts from the same empty LSTM state and its first random draws set its register
and groove. A primer is audio prompting (as in AudioLM and MusicGen's continuation, without
playing the prompt): the codes of the first `frames` frames of a real training clip are
teacher-forced through the decoder's LSTM before sampling starts, and are not played. The clip
is chosen by the painting alone: its nearest training image (cosine of the image embeddings)
lends the clip best matched to its own comments. Only the training split's images are in the
bank, so the val/test paintings and the held-out masterpieces stay unseen.

Built here for Table IV (training.evaluation.evaluate) and by the exporter (``export
--primer-frames``). Bundle files: ``primer_embeddings.npy`` [N, Di] float16 unit vectors,
``primer_codes.npy`` [N, frames, stages] int16 and ``primers.json`` (which image lends which
clip).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch


class PrimerError(ValueError):
    """The primer bank cannot be built from this data set (the message says what to do)."""


PRIMER_SPLIT = "train"
"""The only split whose images lend primers: val/test paintings and held-out works stay unseen."""


@dataclass
class PrimerBank:
    embeddings: np.ndarray  # [N, Di] float16, unit length
    codes: np.ndarray  # [N, frames, stages] int16
    entries: list[dict]  # {"image": stem, "clip": audio id} per row


def build_primer_bank(dataset: Path, image_spec, text_spec, codebook, frames: int
                      ) -> PrimerBank:
    """One primer per training image of `dataset`: the first `frames` codes (``codebook``, the
    run's residual codebook) of the clip its rows match best (highest caption similarity), next
    to its cached image embedding (the run's image encoder, as the engine computes it)."""
    from training.features import load_cached_embeddings, read_manifest

    rows = read_manifest(dataset)
    try:
        _, images, _ = load_cached_embeddings(dataset, image_spec, text_spec)
    except FileNotFoundError as error:
        raise PrimerError(f"the primer bank needs the run's cached embeddings ({error})") from error
    best: dict[str, int] = {}
    for index, row in enumerate(rows):
        if row.split != PRIMER_SPLIT:
            continue
        key = str(row.image_path)
        if key not in best or row.similarity > rows[best[key]].similarity:
            best[key] = index
    if not best:
        raise PrimerError(f"{dataset} has no {PRIMER_SPLIT} rows to build a primer bank from")
    chosen = [best[key] for key in sorted(best)]
    codes = []
    with torch.no_grad():
        for index in chosen:
            mel = np.load(rows[index].mel_path).astype(np.float32)
            if mel.shape[-1] < frames:
                raise PrimerError(f"clip {rows[index].audio_id} has {mel.shape[-1]} frames, "
                                  f"fewer than the primer's {frames}; give --primer-frames "
                                  f"{mel.shape[-1]} or less")
            encoded = codebook.encode(torch.from_numpy(mel[None, :, :frames]))[0]
            codes.append(encoded.numpy().astype(np.int16))
    vectors = images[chosen].astype(np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    entries = [{"image": Path(rows[i].image_path).stem, "clip": rows[i].audio_id}
               for i in chosen]
    return PrimerBank(vectors.astype(np.float16), np.stack(codes), entries)



def nearest_primers(bank: PrimerBank, images: np.ndarray) -> np.ndarray:
    """Codes [B, frames, stages] (int64) of the bank image nearest (cosine) to each of
    `images` [B, Di] (the engine's Engine.primer_codes, batched)."""
    query = np.asarray(images, np.float32).reshape(len(images), -1)
    query = query / np.maximum(np.linalg.norm(query, axis=1, keepdims=True), 1e-12)
    nearest = np.argmax(query @ bank.embeddings.astype(np.float32).T, axis=1)
    return bank.codes[nearest].astype(np.int64)
