"""Feeling consistency of the semantic matching (Sec. III.A.4, Fig. 1–2, Table III).

For every matched pair, the emotional keywords of the painting side (ArtEmis label + lexicon
words of the comment) and of the audio side (lexicon words of the caption) are embedded with
the sentence encoder and compared by cosine similarity. Each side also gets a sentiment
polarity — the painting side from its ArtEmis label when there is one, otherwise from the
summed lexicon score — and the mean similarity per polarity pair gives the Fig. 2 heatmap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from training.dataset.keywords import polarity
from training.dataset.matching import TextEncoder, embed_unique, rowwise_cosine

POLARITIES: tuple[str, ...] = ("positive", "neutral", "negative")

EMOTION_POLARITY: dict[str, str] = {
    "amusement": "positive", "awe": "positive", "contentment": "positive",
    "excitement": "positive", "anger": "negative", "disgust": "negative", "fear": "negative",
    "sadness": "negative", "something else": "neutral",
}
"""ArtEmis' nine emotions grouped into the three polarities of Table III."""


@dataclass(frozen=True)
class FeelingReport:
    """Per matched pair: keyword similarity (NaN when a side has no keywords) and polarities."""

    keyword_similarity: np.ndarray
    painting_polarity: list[str]
    audio_polarity: list[str]


def painting_polarity(emotion: str | None, lexicon_score: int) -> str:
    """Polarity of an art comment: its ArtEmis label if known, else its lexicon score."""
    if emotion in EMOTION_POLARITY:
        return EMOTION_POLARITY[emotion]
    return polarity(lexicon_score)


def keyword_similarity(encoder: TextEncoder, left: Sequence[Sequence[str]],
                       right: Sequence[Sequence[str]], batch_size: int = 64,
                       progress: bool = False) -> np.ndarray:
    """Cosine similarity of the joined keyword lists of each pair; NaN where one is empty."""
    left_text = [", ".join(words) for words in left]
    right_text = [", ".join(words) for words in right]
    valid = np.array([bool(a) and bool(b) for a, b in zip(left_text, right_text, strict=True)])
    result = np.full(len(left_text), np.nan, dtype=np.float32)
    if valid.any():
        keep = np.flatnonzero(valid)
        a = embed_unique(encoder, [left_text[i] for i in keep], batch_size, progress,
                         "encoding painting keywords")
        b = embed_unique(encoder, [right_text[i] for i in keep], batch_size, progress,
                         "encoding audio keywords")
        result[keep] = rowwise_cosine(a, b)
    return result


def polarity_matrix(similarity: np.ndarray, painting: Sequence[str],
                    audio: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Mean similarity and pair count per (painting polarity, audio polarity), rows = painting."""
    means = np.full((3, 3), np.nan)
    counts = np.zeros((3, 3), dtype=int)
    paint = np.array([POLARITIES.index(p) for p in painting], dtype=int)
    sound = np.array([POLARITIES.index(p) for p in audio], dtype=int)
    for i in range(3):
        for j in range(3):
            cell = similarity[(paint == i) & (sound == j) & np.isfinite(similarity)]
            counts[i, j] = cell.size
            if cell.size:
                means[i, j] = float(cell.mean())
    return means, counts


def similarity_stats(values: np.ndarray) -> dict[str, float]:
    """count, mean, std, min, q05, q25, median, q75, q95, max of the finite values."""
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return {"count": 0}
    q = np.quantile(finite, [0.05, 0.25, 0.5, 0.75, 0.95])
    return {
        "count": int(finite.size), "mean": float(finite.mean()), "std": float(finite.std()),
        "min": float(finite.min()), "q05": float(q[0]), "q25": float(q[1]),
        "median": float(q[2]), "q75": float(q[3]), "q95": float(q[4]), "max": float(finite.max()),
    }


def polarity_summary(report: FeelingReport) -> dict:
    """Table III shares per side, share of same-polarity pairs, and the Fig. 2 matrix."""
    def shares(labels: Sequence[str]) -> dict[str, float]:
        return {p: (sum(label == p for label in labels) / len(labels)) if labels else 0.0
                for p in POLARITIES}

    means, counts = polarity_matrix(report.keyword_similarity, report.painting_polarity,
                                    report.audio_polarity)
    same = [a == b for a, b in zip(report.painting_polarity, report.audio_polarity, strict=True)]
    return {
        "painting": shares(report.painting_polarity),
        "audio": shares(report.audio_polarity),
        "same_polarity": float(np.mean(same)) if same else 0.0,
        "order": list(POLARITIES),
        "mean_keyword_similarity": [[None if np.isnan(v) else round(float(v), 4) for v in row]
                                    for row in means],
        "pair_counts": counts.tolist(),
    }
