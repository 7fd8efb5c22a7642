"""A composed piece: what the engine made from one painting and one comment, audio streamed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Piece:
    """Prompt, feelings, embeddings and log-Mel of a piece; `blocks()` streams its audio.

    ``timings`` holds seconds per stage (``image``, ``feelings``, ``prompt``, ``text``,
    ``mel``), filled by Engine.compose; vocoding happens lazily while blocks are taken.
    """

    prompt: str
    feelings: tuple[str, ...]
    image_embedding: np.ndarray
    text_embedding: np.ndarray
    log_mel: np.ndarray
    sample_rate: int
    hop_length: int
    stream: Callable[[np.ndarray], Iterator[np.ndarray]] = field(repr=False)
    timings: dict[str, float] = field(default_factory=dict)

    def blocks(self) -> Iterator[np.ndarray]:
        """Audio blocks (float32, mono) in playing order; the first arrives long before the last."""
        return self.stream(self.log_mel)

    def audio(self) -> np.ndarray:
        """The whole waveform (all blocks joined)."""
        return np.concatenate(list(self.blocks()))

    @property
    def samples(self) -> int:
        return int(self.log_mel.shape[-1]) * self.hop_length

    @property
    def seconds(self) -> float:
        return self.samples / self.sample_rate
