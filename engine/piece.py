"""A composed piece: what the engine made from one painting and one comment, audio streamed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from engine.reading import Reading


@dataclass
class Piece:
    """Prompt, feelings, embeddings and log-Mel of a piece; `blocks()` streams its audio.

    ``timings`` holds seconds per stage (``image`` — the image graph with feelings and
    commentary —, ``prompt``, ``text``, ``mel``; ``image`` is absent when compose was given a
    reading), filled by Engine.compose; vocoding happens lazily while blocks are taken.
    ``gain`` is the loudness normalisation (core/loudness.py) the kiosk applies when it plays
    the piece; ``reading`` is the painting's reading the prompt was built from; ``seed`` the
    sampling seed of a sampling decoder (None for the paper's deterministic one).
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
    gain: float = 1.0
    reading: Reading | None = None
    seed: int | None = None

    def blocks(self) -> Iterator[np.ndarray]:
        """Audio blocks (float32, mono) in playing order, as the vocoder gives them; the first
        arrives long before the last."""
        return self.stream(self.log_mel)

    def playback_blocks(self) -> Iterator[np.ndarray]:
        """The blocks as the kiosk plays them: multiplied by the loudness ``gain``."""
        gain = np.float32(self.gain)
        for block in self.blocks():
            yield np.asarray(block, dtype=np.float32) * gain

    def audio(self) -> np.ndarray:
        """The whole waveform (all blocks joined), without the loudness gain."""
        return np.concatenate(list(self.blocks()))

    def playback_audio(self) -> np.ndarray:
        """The whole waveform as the kiosk plays it (loudness gain applied)."""
        return np.concatenate(list(self.playback_blocks()))

    @property
    def samples(self) -> int:
        return int(self.log_mel.shape[-1]) * self.hop_length

    @property
    def seconds(self) -> float:
        return self.samples / self.sample_rate
