"""Latency summaries: median and 95th percentile of repeated timings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Summary:
    """Seconds of one stage over `count` repeats."""

    median: float
    p95: float
    mean: float
    count: int

    @classmethod
    def of(cls, seconds: list[float]) -> Summary:
        values = np.asarray(seconds, dtype=np.float64)
        return cls(float(np.median(values)), float(np.percentile(values, 95)),
                   float(values.mean()), int(values.size))
