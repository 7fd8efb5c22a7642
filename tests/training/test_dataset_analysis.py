"""Feeling consistency of matched pairs (Sec. III.A.4): polarities, heatmap, statistics."""

from __future__ import annotations

import numpy as np
import pytest

from training.dataset.analysis import (
    FeelingReport,
    keyword_similarity,
    painting_polarity,
    polarity_matrix,
    polarity_summary,
    similarity_stats,
)
from training.dataset.figures import plot_polarity_heatmap, plot_similarity_histogram


class LetterEncoder:
    def encode(self, texts, batch_size=64, progress=False, desc=""):
        return np.array([[text.count(c) for c in "aeiou"] for text in texts], dtype=np.float32)


def test_painting_polarity_prefers_the_artemis_label():
    assert painting_polarity("sadness", lexicon_score=5) == "negative"
    assert painting_polarity("something else", lexicon_score=5) == "neutral"
    assert painting_polarity(None, lexicon_score=5) == "positive"
    assert painting_polarity(None, lexicon_score=0) == "neutral"


def test_keyword_similarity_is_nan_where_a_side_has_no_keywords():
    values = keyword_similarity(LetterEncoder(), [["sad"], [], ["calm"]],
                                [["sad"], ["happy"], ["calm", "peaceful"]])
    assert values[0] == pytest.approx(1.0) and np.isnan(values[1]) and 0 < values[2] <= 1


def test_polarity_matrix_averages_each_cell_and_skips_nan():
    sims = np.array([0.8, 0.6, 0.2, np.nan])
    painting = ["positive", "positive", "negative", "negative"]
    audio = ["positive", "positive", "positive", "negative"]
    means, counts = polarity_matrix(sims, painting, audio)
    assert means[0, 0] == pytest.approx(0.7) and means[2, 0] == pytest.approx(0.2)
    assert np.isnan(means[2, 2]) and counts.sum() == 3
    summary = polarity_summary(FeelingReport(sims, painting, audio))
    assert summary["same_polarity"] == pytest.approx(0.75)
    assert summary["painting"] == {"positive": 0.5, "neutral": 0.0, "negative": 0.5}


def test_similarity_stats_and_figures(tmp_path):
    stats = similarity_stats(np.array([0.1, 0.2, 0.3, np.nan]))
    assert stats["count"] == 3 and stats["mean"] == pytest.approx(0.2)
    assert similarity_stats(np.array([np.nan])) == {"count": 0}
    plot_similarity_histogram(np.array([0.2, 0.3]), tmp_path / "h.png", np.array([0.5, np.nan]))
    plot_polarity_heatmap(np.full((3, 3), np.nan), np.zeros((3, 3), int),
                          ["positive", "neutral", "negative"], tmp_path / "m.png")
    assert (tmp_path / "h.png").is_file() and (tmp_path / "m.png").is_file()
