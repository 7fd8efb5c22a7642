"""Benchmark inputs: a camera-sized synthetic painting and a visitor comment."""

from __future__ import annotations

import numpy as np

COMMENT = "The sea at dusk feels calm, a little lonely, and the light is warm on the water."


def camera_frame(seed: int = 0, height: int = 720, width: int = 1280) -> np.ndarray:
    """An RGB uint8 frame of smooth colour fields and noise (the size of a 720p camera)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32) / max(height, width)
    channels = [np.sin(2 * np.pi * (rng.uniform(0.5, 3) * x + rng.uniform(0.5, 3) * y)
                       + rng.uniform(0, 6)) for _ in range(3)]
    frame = (np.stack(channels, -1) * 0.5 + 0.5) * 255 + rng.normal(0, 6, (height, width, 3))
    return np.clip(frame, 0, 255).astype(np.uint8)
