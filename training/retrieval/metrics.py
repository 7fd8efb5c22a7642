"""Retrieval scores: the rank of each query's own painting among a collection (numpy only)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class RetrievalScores:
    queries: int
    collection: int
    recall_at_1: float
    recall_at_5: float
    median_rank: float
    mean_rank: float

    def to_dict(self) -> dict:
        return asdict(self)


def ranks(similarity: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """1-based rank of ``targets[q]`` in row q of ``similarity`` [Q, N] (higher = better; ties
    count against the target: it ranks below every item scoring as high as it)."""
    similarity = np.asarray(similarity, dtype=np.float64)
    own = similarity[np.arange(len(targets)), targets]
    better_or_tied = (similarity >= own[:, None]).sum(axis=1)
    return better_or_tied.astype(np.int64)


def scores_from_ranks(rank: np.ndarray, collection: int) -> RetrievalScores:
    rank = np.asarray(rank)
    return RetrievalScores(int(rank.size), int(collection), float(np.mean(rank <= 1)),
                           float(np.mean(rank <= 5)), float(np.median(rank)),
                           float(np.mean(rank)))


def random_scores(queries: int, collection: int) -> RetrievalScores:
    """What a random ranking scores in expectation: recall@k = k / N, ranks uniform on 1..N."""
    return RetrievalScores(queries, collection, min(1.0, 1 / collection),
                           min(1.0, 5 / collection), (collection + 1) / 2, (collection + 1) / 2)
