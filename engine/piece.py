"""A composed piece: what the engine made from one painting and one comment, audio streamed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from engine.growing_mel import GrowingMel

if TYPE_CHECKING:
    from engine.reading import Reading


@dataclass
class Piece:
    """Prompt, feelings, embeddings and log-Mel of a piece; `blocks()` streams its audio.

    ``mel`` is the natural-log Mel [n_mels, frames]: an array, or for a sampling decoder a
    `GrowingMel` that the blocks generate as they go (Engine.compose). ``log_mel`` is always
    the whole Mel: read it and a streamed piece's generation is finished there, once (the
    blocks taken before or after read the same frames). ``mel_so_far()`` generates nothing.

    ``timings`` holds seconds per stage (``image`` — the image graph with feelings and
    commentary —, ``prompt``, ``text``, ``mel``; ``image`` is absent when compose was given a
    reading), filled by Engine.compose; vocoding happens lazily while blocks are taken. For a
    sampling decoder the ``mel`` timing is only the decoder graph (the condition) and
    ``loudness`` the frames the gain is read from; the others are made while blocks are taken.
    ``gain`` is the loudness normalisation (core/loudness.py) the kiosk applies when it plays
    the piece; ``reading`` is the painting's reading the prompt was built from; ``seed`` the
    sampling seed of a sampling decoder (None for the paper's deterministic one).
    """

    prompt: str
    feelings: tuple[str, ...]
    image_embedding: np.ndarray
    text_embedding: np.ndarray
    mel: np.ndarray | GrowingMel = field(repr=False)
    sample_rate: int
    hop_length: int
    stream: Callable[[np.ndarray | GrowingMel], Iterator[np.ndarray]] = field(repr=False)
    timings: dict[str, float] = field(default_factory=dict)
    gain: float = 1.0
    reading: Reading | None = None
    seed: int | None = None

    def blocks(self) -> Iterator[np.ndarray]:
        """Audio blocks (float32, mono) in playing order, as the vocoder gives them; the first
        arrives long before the last."""
        return self.stream(self.mel)

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
    def log_mel(self) -> np.ndarray:
        """The whole natural-log Mel [n_mels, frames] (a streamed piece's is finished here)."""
        return self.mel.complete() if isinstance(self.mel, GrowingMel) else self.mel

    @property
    def streamed(self) -> bool:
        """True while part of the Mel is still to be generated (by the blocks or `log_mel`)."""
        return isinstance(self.mel, GrowingMel) and not self.mel.done

    def mel_so_far(self) -> np.ndarray:
        """The Mel frames generated so far (all of them once not `streamed`); generates none."""
        return self.mel.so_far() if isinstance(self.mel, GrowingMel) else self.mel

    @property
    def frames(self) -> int:
        """Mel frames of the whole piece, known before they are generated."""
        return int(self.mel.shape[-1])

    @property
    def samples(self) -> int:
        return self.frames * self.hop_length

    @property
    def seconds(self) -> float:
        return self.samples / self.sample_rate
