"""Output loudness protection: a block peak limiter followed by a soft clipper.

The peak stage lowers the gain at once when a block would exceed ``limit`` and lets it recover
with a ``release_s`` time constant. The soft clipper leaves samples below ``knee × limit``
untouched and bends larger ones smoothly (tanh) towards ``limit``, which they never exceed:
whatever the generator produces, ``|output| ≤ limit``.
"""

from __future__ import annotations

import math

import numpy as np

ATTACK_SAMPLES = 64
"""The gain moves to a lower value over this many samples (the soft clipper covers them)."""


def soft_clip(x: np.ndarray, limit: float, knee: float = 0.8) -> np.ndarray:
    """Identity below ``knee·limit``; above it ``k + (limit-k)·tanh((|x|-k)/(limit-k))``."""
    k = knee * limit
    magnitude = np.abs(x)
    over = magnitude > k
    if not np.any(over):
        return x
    out = x.copy()
    span = limit - k
    out[over] = np.sign(x[over]) * (k + span * np.tanh((magnitude[over] - k) / span))
    bound = _float32_at_most(limit)  # tanh rounds to 1.0 for large inputs
    return np.clip(out, -bound, bound)


def _float32_at_most(value: float) -> np.float32:
    """The largest float32 that is ≤ ``value``."""
    result = np.float32(value)
    return result if float(result) <= value else np.nextafter(result, np.float32(0.0))


class PeakLimiter:
    def __init__(self, limit: float = 0.89, sample_rate: int = 22050, release_s: float = 0.3,
                 knee: float = 0.8) -> None:
        if not 0.0 < limit <= 1.0:
            raise ValueError("limit must be in (0, 1]")
        self.limit = limit
        self.knee = knee
        self.sample_rate = sample_rate
        self.release_s = release_s
        self.gain = 1.0

    def process(self, x: np.ndarray) -> np.ndarray:
        """Limits one block (float32, any length); keeps its gain state for the next block."""
        n = x.shape[0]
        if n == 0:
            return x
        peak = float(np.max(np.abs(x)))
        target = min(1.0, self.knee * self.limit / peak) if peak > 0.0 else 1.0
        if target < self.gain:
            envelope = np.full(n, target, dtype=np.float32)
            ramp = min(ATTACK_SAMPLES, n)
            envelope[:ramp] = np.linspace(self.gain, target, ramp, dtype=np.float32)
            new_gain = target
        else:
            recovery = 1.0 - math.exp(-n / (self.release_s * self.sample_rate))
            new_gain = min(target, self.gain + (1.0 - self.gain) * recovery)
            envelope = np.linspace(self.gain, new_gain, n, dtype=np.float32)
        self.gain = new_gain
        return soft_clip((x * envelope).astype(np.float32), self.limit, self.knee)
