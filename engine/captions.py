"""Caption index: the visitor's comment → nearest training-corpus caption (cosine, as in III.A).

The data set paired painting comments with music captions by sentence-embedding similarity; at
run time the same sentence encoder finds the caption nearest to the visitor's comment, whose
Audio Set labels and caption keywords fill the composite prompt (core.prompt.build_prompt).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import BundleError


@dataclass(frozen=True)
class CaptionEntry:
    caption: str
    labels: tuple[str, ...]
    keywords: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"caption": self.caption, "labels": list(self.labels),
                "keywords": list(self.keywords)}

    @classmethod
    def from_dict(cls, values: dict) -> CaptionEntry:
        return cls(str(values["caption"]), tuple(values.get("labels", ())),
                   tuple(values.get("keywords", ())))


@dataclass(frozen=True)
class CaptionMatch:
    entry: CaptionEntry
    similarity: float


class CaptionIndex:
    """Captions with unit embeddings [N, D]; `nearest` returns the most similar caption."""

    def __init__(self, entries: list[CaptionEntry], embeddings: np.ndarray) -> None:
        if len(entries) != embeddings.shape[0] or not entries:
            raise BundleError(f"caption index has {len(entries)} captions but "
                              f"{embeddings.shape[0]} embeddings; re-export the bundle.")
        self.entries = entries
        self.embeddings = np.asarray(embeddings, dtype=np.float32)

    @classmethod
    def load(cls, captions_path: Path, embeddings_path: Path) -> CaptionIndex:
        values = json.loads(Path(captions_path).read_text(encoding="utf-8"))
        entries = [CaptionEntry.from_dict(v) for v in values["captions"]]
        return cls(entries, np.load(embeddings_path, allow_pickle=False))

    def __len__(self) -> int:
        return len(self.entries)

    def nearest(self, query: np.ndarray) -> CaptionMatch:
        """The caption whose embedding has the highest cosine with the (unit) query vector."""
        vector = np.asarray(query, dtype=np.float32).reshape(-1)
        vector = vector / max(float(np.linalg.norm(vector)), 1e-12)
        scores = self.embeddings @ vector
        best = int(np.argmax(scores))
        return CaptionMatch(self.entries[best], float(scores[best]))
