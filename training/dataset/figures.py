"""Figures of the matching analysis: similarity histogram (Fig. 1) and polarity heatmap (Fig. 2).

Drawn with matplotlib's object API on an Agg canvas, so no global backend is changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def _save(figure: Figure, path: Path) -> Path:
    FigureCanvasAgg(figure)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    return path


def plot_similarity_histogram(match_similarity: np.ndarray, path: Path,
                              keyword_similarity: np.ndarray | None = None) -> Path:
    """Histogram of comment↔caption match similarities, and of keyword similarities if given."""
    figure = Figure(figsize=(6.4, 4.0))
    axes = figure.add_subplot(1, 1, 1)
    bins = np.linspace(-0.2, 1.0, 49)
    axes.hist(match_similarity, bins=bins, alpha=0.7, label="comment ↔ caption (matching)")
    if keyword_similarity is not None and np.isfinite(keyword_similarity).any():
        axes.hist(keyword_similarity[np.isfinite(keyword_similarity)], bins=bins, alpha=0.6,
                  label="emotional keywords (Sec. III.A.4)")
    axes.set_xlabel("cosine similarity")
    axes.set_ylabel("matched pairs")
    axes.set_title("Similarity of matched pairs (cf. Art2Music Fig. 1)")
    axes.legend(fontsize=8)
    return _save(figure, path)


def plot_polarity_heatmap(means: np.ndarray, counts: np.ndarray, labels: Sequence[str],
                          path: Path) -> Path:
    """Mean keyword similarity per (painting, audio) polarity pair (cf. Art2Music Fig. 2)."""
    figure = Figure(figsize=(5.0, 4.2))
    axes = figure.add_subplot(1, 1, 1)
    top = max(float(np.nanmax(means)) if np.isfinite(means).any() else 1.0, 1e-6)
    image = axes.imshow(np.nan_to_num(means, nan=0.0), cmap="viridis", vmin=0.0, vmax=top)
    for i in range(means.shape[0]):
        for j in range(means.shape[1]):
            text = "—" if np.isnan(means[i, j]) else f"{means[i, j]:.2f}\nn={counts[i, j]}"
            bright = np.isfinite(means[i, j]) and means[i, j] > 0.6 * top
            axes.text(j, i, text, ha="center", va="center", fontsize=8,
                      color="black" if bright else "white")
    axes.set_xticks(range(len(labels)), labels)
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("audio polarity")
    axes.set_ylabel("painting polarity")
    axes.set_title("Polarity alignment (mean similarity)")
    figure.colorbar(image, ax=axes)
    return _save(figure, path)
