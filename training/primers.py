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

Not every clip makes a good start: the first seconds of a track can be a noise swell (Warzone
2100's track 7 at 1 s: spectral flatness 0.138 as recorded, 19 × the test clips' mean), and the
decoder carries a primer's texture on faithfully, so the two paintings that borrowed it played
noise in every draw (issue 9's flatness on 308 pieces). Each image therefore lends its
best-matched clip **whose primer frames are not noise-like**: Mel flatness (geometric over
arithmetic mean of the Mel energies per frame, :func:`primer_flatness`) at most the
``flatness_quantile`` (0.9) of the training clips' own; an image whose clips are all above it
keeps its best match. On the default data set that passes over 50 of the 366 images' first
choices: the noise swells at the start of Warzone 2100's tracks 7 and 27 (Mel flatness 0.67
each against a median of 0.28) and ambient washes such as Wesnoth's *Northern Mountains* (0.59).
Those washes also come out noise-like (audio flatness about 0.05, 7 × real music's, for the two
held-out paintings whose nearest image lent it), but they make paintings easy to tell apart: at
the 0.98 quantile, which keeps them, the held-out paintings' share of the pieces' variation is
67.2 % against 61.4 % and their flatness +77 % of real music's against +23 % (README).

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
FLATNESS_QUANTILE = 0.9
"""Primer frames flatter than this quantile of the training clips' are passed over."""


def primer_flatness(normalised_mel: np.ndarray, frames: int) -> float:
    """Mean over the first `frames` frames of the Mel energies' flatness across bands (geometric
    over arithmetic mean of ``exp(log-Mel)``): near 1 for noise, near 0 for a few partials."""
    from core.mel import denormalize

    energy = np.exp(denormalize(np.asarray(normalised_mel, np.float32)[:, :frames]))
    return float((np.exp(np.log(energy).mean(axis=0)) / energy.mean(axis=0)).mean())


def choose_primer_rows(rows, frames: int, flatness_quantile: float | None = FLATNESS_QUANTILE
                       ) -> dict[str, int]:
    """Per training image (its path): the index of the row whose clip lends the primer, the
    highest caption similarity among clips not flatter than `flatness_quantile` of the training
    clips (None: the highest similarity, whatever the clip)."""
    candidates: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        if row.split == PRIMER_SPLIT:
            candidates.setdefault(str(row.image_path), []).append(index)
    flatness: dict[str, float] = {}
    if flatness_quantile is not None:
        for indices in candidates.values():
            for index in indices:
                if rows[index].audio_id not in flatness:
                    flatness[rows[index].audio_id] = primer_flatness(np.load(rows[index].mel_path),
                                                                     frames)
    limit = (float(np.quantile(list(flatness.values()), flatness_quantile))
             if flatness else float("inf"))
    chosen = {}
    for key, indices in candidates.items():
        ranked = sorted(indices, key=lambda i: -rows[i].similarity)  # stable: manifest order
        quiet = [i for i in ranked if flatness.get(rows[i].audio_id, 0.0) <= limit]
        chosen[key] = (quiet or ranked)[0]
    return chosen


@dataclass
class PrimerBank:
    embeddings: np.ndarray  # [N, Di] float16, unit length
    codes: np.ndarray  # [N, frames, stages] int16
    entries: list[dict]  # {"image": stem, "clip": audio id} per row


def build_primer_bank(dataset: Path, image_spec, text_spec, codebook, frames: int,
                      flatness_quantile: float | None = FLATNESS_QUANTILE) -> PrimerBank:
    """One primer per training image of `dataset`: the first `frames` codes (``codebook``, the
    run's residual codebook) of the clip its rows match best (highest caption similarity, noise-
    like starts passed over: :func:`choose_primer_rows`), next to its cached image embedding
    (the run's image encoder, as the engine computes it)."""
    from training.features import load_cached_embeddings, read_manifest

    rows = read_manifest(dataset)
    try:
        _, images, _ = load_cached_embeddings(dataset, image_spec, text_spec)
    except FileNotFoundError as error:
        raise PrimerError(f"the primer bank needs the run's cached embeddings ({error})") from error
    best = choose_primer_rows(rows, frames, flatness_quantile)
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
