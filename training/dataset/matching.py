"""Weak alignment by semantic similarity (Sec. III.A.2 of Art2Music).

Both corpora's texts are embedded by one sentence encoder; every art comment is paired with
the caption of highest cosine similarity. Similarities are computed in row blocks so memory
stays bounded for ArtEmis-sized corpora (455k comments × 4.7k captions).
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


def embed_unique(encoder: TextEncoder, texts: Sequence[str], batch_size: int = 64,
                 progress: bool = False, desc: str = "encoding") -> np.ndarray:
    """Embeds texts [N, D], encoding each distinct text once."""
    unique, inverse = np.unique(np.asarray(list(texts), dtype=object), return_inverse=True)
    vectors = encoder.encode([str(text) for text in unique], batch_size=batch_size,
                             progress=progress, desc=desc)
    return l2_normalize(vectors)[inverse.reshape(-1)]


def best_matches(queries: np.ndarray, keys: np.ndarray, block_rows: int = 4096) -> MatchResult:
    """Nearest key by cosine similarity for every query row; ties go to the lower key index."""
    queries, keys = l2_normalize(queries), l2_normalize(keys)
    if len(keys) == 0:
        raise ValueError("best_matches needs at least one key vector")
    indices = np.empty(len(queries), dtype=np.int64)
    similarities = np.empty(len(queries), dtype=np.float32)
    for start in range(0, len(queries), block_rows):
        block = queries[start:start + block_rows] @ keys.T
        best = block.argmax(axis=1)
        indices[start:start + len(best)] = best
        similarities[start:start + len(best)] = block[np.arange(len(best)), best]
    return MatchResult(indices, similarities)


def match_texts(encoder: TextEncoder, comments: Sequence[str], captions: Sequence[str],
                batch_size: int = 64, progress: bool = False) -> MatchResult:
    """Matches each comment with its most similar caption (Sec. III.A.2)."""
    caption_vectors = embed_unique(encoder, captions, batch_size, progress, "encoding captions")
    comment_vectors = embed_unique(encoder, comments, batch_size, progress, "encoding comments")
    return best_matches(comment_vectors, caption_vectors)


def rowwise_cosine(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Cosine similarity of each row of ``left`` with the same row of ``right``."""
    return np.einsum("nd,nd->n", l2_normalize(left), l2_normalize(right)).astype(np.float32)
