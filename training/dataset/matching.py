"""Weak alignment by semantic similarity (Sec. III.A.2 of Art2Music).

Both corpora's texts are embedded by one sentence encoder; every art comment is paired with
the caption of highest cosine similarity (the paper's argmax), or with its ``k`` most similar
captions (:func:`top_matches`, diversity-aware matching: more distinct clips become targets).
Similarities are computed in row blocks so memory stays bounded for ArtEmis-sized corpora
(455k comments × 4.7k captions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np


class TextEncoder(Protocol):
    """Anything that embeds texts as rows of an [N, D] float array."""

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False,
               desc: str = "encoding") -> np.ndarray: ...


@dataclass(frozen=True)
class MatchResult:
    """For each query: index of its best key and the cosine similarity of that pair."""

    indices: np.ndarray
    similarities: np.ndarray


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


ENCODE_CHUNK = 16_384
"""Texts per encoder call in :func:`embed_unique`: the encoder's own output list stays small
and each chunk is written straight into the one [N, D] table."""


def embed_unique(encoder: TextEncoder, texts: Sequence[str], batch_size: int = 64,
                 progress: bool = False, desc: str = "encoding") -> np.ndarray:
    """Unit embeddings of texts [N, D], encoding each distinct text once.

    Memory is one float32 [N, D] table (plus one for the distinct texts when some repeat):
    texts go to the encoder in chunks of ``ENCODE_CHUNK`` and each chunk's vectors are
    normalised into their rows, so ArtEmis' 455 k comments never exist as several copies.
    """
    texts = [str(text) for text in texts]
    unique, inverse = np.unique(np.asarray(texts, dtype=object), return_inverse=True)
    inverse = inverse.reshape(-1)
    distinct = len(unique) == len(texts)
    order = texts if distinct else [str(text) for text in unique]  # all distinct: no reordering
    table = np.empty((0, 0), dtype=np.float32)
    for start in range(0, len(order), ENCODE_CHUNK):
        part = l2_normalize(encoder.encode(order[start:start + ENCODE_CHUNK],
                                           batch_size=batch_size, progress=progress, desc=desc))
        if start == 0:
            table = np.empty((len(order), part.shape[1]), dtype=np.float32)
        table[start:start + len(part)] = part
    return table if distinct else table[inverse]


@dataclass(frozen=True)
class TopMatches:
    """For each query its ``k`` best keys, best first: indices and similarities [N, k].

    Slots dropped by a minimum similarity hold index -1 and similarity NaN; slot 0 (the best
    match) is always filled.
    """

    indices: np.ndarray
    similarities: np.ndarray

    @property
    def k(self) -> int:
        return int(self.indices.shape[1])

    @property
    def valid(self) -> np.ndarray:
        """[N, k] True where the slot holds a match."""
        return self.indices >= 0

    def best(self) -> MatchResult:
        """The argmax matches (slot 0)."""
        return MatchResult(self.indices[:, 0].copy(), self.similarities[:, 0].copy())

    def pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(query, rank, key, similarity) of every filled slot, by query then rank."""
        query, rank = np.nonzero(self.valid)
        return query, rank, self.indices[query, rank], self.similarities[query, rank]


def _top_k_rows(block: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` largest values per row, best first, ties to the lower index.

    ``np.argpartition`` selects the candidates in O(M) per row; only rows where a tie straddles
    the k-th place (more than ``k`` values reach the k-th largest) are sorted in full.
    """
    rows, columns = block.shape
    if k >= columns:
        return np.argsort(-block, axis=1, kind="stable")
    chosen = np.argpartition(-block, k - 1, axis=1)[:, :k]
    values = np.take_along_axis(block, chosen, axis=1)
    order = np.lexsort((chosen, -values), axis=1)
    chosen = np.take_along_axis(chosen, order, axis=1)
    kth = np.take_along_axis(values, order, axis=1)[:, -1:]
    tied = np.flatnonzero((block >= kth).sum(axis=1) > k)
    for row in tied:
        chosen[row] = np.argsort(-block[row], kind="stable")[:k]
    return chosen


def top_matches(queries: np.ndarray, keys: np.ndarray, k: int = 1,
                min_similarity: float | None = None, block_rows: int = 4096) -> TopMatches:
    """The ``k`` nearest keys by cosine similarity for every query row, best first.

    Ties go to the lower key index (so ``k=1`` equals :func:`best_matches`). With
    ``min_similarity``, matches after the first one below it are dropped (index -1, NaN); the
    best match is always kept, so every query keeps at least its argmax pair. Memory is one
    [block_rows, len(keys)] block at a time.
    """
    if k < 1:
        raise ValueError(f"top_matches needs k >= 1, got {k}")
    keys = l2_normalize(keys)
    if len(keys) == 0:
        raise ValueError("top_matches needs at least one key vector")
    width = min(k, len(keys))
    indices = np.full((len(queries), k), -1, dtype=np.int64)
    similarities = np.full((len(queries), k), np.nan, dtype=np.float32)
    for start in range(0, len(queries), block_rows):  # queries normalised block by block
        block = l2_normalize(queries[start:start + block_rows]) @ keys.T
        chosen = _top_k_rows(block, width)
        stop = start + len(block)
        indices[start:stop, :width] = chosen
        similarities[start:stop, :width] = np.take_along_axis(block, chosen, axis=1)
    if min_similarity is not None:
        below = similarities < min_similarity
        below[:, 0] = False
        indices[below] = -1
        similarities[below] = np.nan
    return TopMatches(indices, similarities)


def best_matches(queries: np.ndarray, keys: np.ndarray, block_rows: int = 4096) -> MatchResult:
    """Nearest key by cosine similarity for every query row; ties go to the lower key index."""
    keys = l2_normalize(keys)
    if len(keys) == 0:
        raise ValueError("best_matches needs at least one key vector")
    indices = np.empty(len(queries), dtype=np.int64)
    similarities = np.empty(len(queries), dtype=np.float32)
    for start in range(0, len(queries), block_rows):
        block = l2_normalize(queries[start:start + block_rows]) @ keys.T
        best = block.argmax(axis=1)
        indices[start:start + len(best)] = best
        similarities[start:start + len(best)] = block[np.arange(len(best)), best]
    return MatchResult(indices, similarities)


def embed_corpora(encoder: TextEncoder, comments: Sequence[str], captions: Sequence[str],
                  batch_size: int = 64, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Unit embeddings of the comments [N, D] and of the captions [M, D]."""
    caption_vectors = embed_unique(encoder, captions, batch_size, progress, "encoding captions")
    comment_vectors = embed_unique(encoder, comments, batch_size, progress, "encoding comments")
    return comment_vectors, caption_vectors


def match_texts(encoder: TextEncoder, comments: Sequence[str], captions: Sequence[str],
                batch_size: int = 64, progress: bool = False) -> MatchResult:
    """Matches each comment with its most similar caption (Sec. III.A.2)."""
    comment_vectors, caption_vectors = embed_corpora(encoder, comments, captions, batch_size,
                                                     progress)
    return best_matches(comment_vectors, caption_vectors)


def rowwise_cosine(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Cosine similarity of each row of ``left`` with the same row of ``right``."""
    return np.einsum("nd,nd->n", l2_normalize(left), l2_normalize(right)).astype(np.float32)
