"""Caption index: cosine nearest neighbour over unit embeddings, refusing inconsistent files."""

from __future__ import annotations

import numpy as np
import pytest

from engine import BundleError
from engine.captions import CaptionEntry, CaptionIndex


def test_nearest_caption_is_the_highest_cosine():
    entries = [CaptionEntry("a", ("A",), ("x",)), CaptionEntry("b", ("B",), ("y",))]
    index = CaptionIndex(entries, np.array([[1, 0], [0.6, 0.8]], np.float16))
    match = index.nearest(np.array([0.5, 1.0]))
    assert match.entry.caption == "b"
    assert match.similarity == pytest.approx((0.3 + 0.8) / np.hypot(0.5, 1.0), abs=1e-3)


def test_captions_and_embeddings_must_agree():
    with pytest.raises(BundleError, match="re-export"):
        CaptionIndex([CaptionEntry("a", (), ())], np.zeros((2, 4), np.float16))
