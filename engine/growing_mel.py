"""A Mel that is still being generated: a sampling decoder's frames, filled chunk by chunk.

The token decoder makes its Mel one step-graph run per frame (896 runs ≈ 0.5 s on the 2-core
CPU). ``GrowingMel`` holds those frames as they come, generated on demand: the vocoder asks
``until(b + context)`` before vocoding the block [a, b), the loudness gain asks for the first
seconds, and ``complete()`` finishes the piece for code that needs the whole Mel (the kiosk's
Mel view, export.examples, ``main.py eval``). Every frame is computed once, whoever asks first.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np

from engine.errors import EngineError


class GrowingMel:
    """Natural-log Mel [n_mels, frames] filled from `chunks` (arrays [n_mels, k], in order).

    Thread-safe: the composer can stream blocks while another thread asks for the whole Mel
    (it waits for the frames it needs). A view returned by `until` never changes afterwards:
    later frames are written to its right.
    """

    def __init__(self, chunks: Iterator[np.ndarray], n_mels: int, frames: int) -> None:
        self._chunks = chunks
        self._mel = np.empty((n_mels, frames), dtype=np.float32)
        self._available = 0
        self._lock = threading.Lock()

    @property
    def shape(self) -> tuple[int, int]:
        """The whole piece's shape [n_mels, frames], known before its frames are."""
        return self._mel.shape

    @property
    def available(self) -> int:
        """Frames generated so far."""
        return self._available

    @property
    def done(self) -> bool:
        return self._available == self._mel.shape[1]

    def so_far(self) -> np.ndarray:
        """The frames generated so far [n_mels, available] (a view; generates nothing)."""
        return self._mel[:, : self._available]

    def until(self, stop: int) -> np.ndarray:
        """The first min(`stop`, frames) frames at least (generating what is missing); returns
        every frame generated so far, [n_mels, available]."""
        stop = min(int(stop), self._mel.shape[1])
        with self._lock:
            while self._available < stop:
                chunk = next(self._chunks, None)
                if chunk is None:
                    raise EngineError(f"the decoder stopped after {self._available} of "
                                      f"{self._mel.shape[1]} Mel frames; re-export the bundle.")
                count = chunk.shape[-1]
                if chunk.shape[0] != self._mel.shape[0] or self._available + count > self._mel.shape[1]:
                    raise EngineError(f"the decoder gave a Mel chunk of shape {chunk.shape} after "
                                      f"{self._available} of {self._mel.shape[1]} frames; "
                                      "re-export the bundle.")
                self._mel[:, self._available:self._available + count] = chunk
                self._available += count
            return self._mel[:, : self._available]

    def complete(self) -> np.ndarray:
        """The whole Mel [n_mels, frames], generated now if it is not yet."""
        return self.until(self._mel.shape[1])
