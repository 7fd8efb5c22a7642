"""A bounded FIFO of fixed-size audio blocks between one producer and the audio callback.

The consumer side (``get_nowait``) never waits and takes no lock: it pops from a
``collections.deque``, whose append/popleft are atomic. The producer waits for space by
polling, so the callback never has to notify anybody.
"""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np


class BlockRing:
    def __init__(self, block_size: int, capacity: int) -> None:
        if block_size <= 0 or capacity <= 0:
            raise ValueError("block_size and capacity must be positive")
        self.block_size = block_size
        self.capacity = capacity
        self._blocks: deque[np.ndarray] = deque()
        self._closed = False
        self.blocks_put = 0

    def __len__(self) -> int:
        return len(self._blocks)

    @property
    def closed(self) -> bool:
        """True once the producer has said no more blocks will come."""
        return self._closed

    @property
    def drained(self) -> bool:
        """Closed and empty: the piece has been played to the end."""
        return self._closed and not self._blocks

    def put(self, block: np.ndarray, cancel: threading.Event | None = None,
            timeout: float | None = None, poll_s: float = 0.005) -> bool:
        """Appends one block (exactly ``block_size`` float32 samples), waiting while the ring is
        full. Returns False when ``cancel`` was set or ``timeout`` passed first."""
        block = np.asarray(block, dtype=np.float32)
        if block.shape != (self.block_size,):
            raise ValueError(f"a block must hold {self.block_size} samples, got {block.shape}")
        if self._closed:
            raise RuntimeError("put() on a closed BlockRing")
        deadline = None if timeout is None else time.monotonic() + timeout
        while len(self._blocks) >= self.capacity:
            if cancel is not None and cancel.is_set():
                return False
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(poll_s)
        self._blocks.append(block)
        self.blocks_put += 1
        return True

    def get_nowait(self) -> np.ndarray | None:
        """The oldest block, or None when the ring is empty. Never waits."""
        try:
            return self._blocks.popleft()
        except IndexError:
            return None

    def close(self) -> None:
        self._closed = True


class Reblocker:
    """Cuts a stream of arbitrary-length chunks into ``block_size`` blocks."""

    def __init__(self, block_size: int) -> None:
        self.block_size = block_size
        self._pending = np.zeros(0, dtype=np.float32)

    def push(self, chunk: np.ndarray) -> list[np.ndarray]:
        chunk = np.asarray(chunk, dtype=np.float32).reshape(-1)
        data = np.concatenate([self._pending, chunk]) if self._pending.size else chunk
        whole = data.size // self.block_size * self.block_size
        self._pending = data[whole:].copy()
        return [data[i:i + self.block_size].copy() for i in range(0, whole, self.block_size)]

    def flush(self) -> list[np.ndarray]:
        """The last partial block, padded with silence (empty list when nothing is left)."""
        if not self._pending.size:
            return []
        block = np.zeros(self.block_size, dtype=np.float32)
        block[: self._pending.size] = self._pending
        self._pending = np.zeros(0, dtype=np.float32)
        return [block]
