"""Deterministic 8:1:1 train/val/test split by seed (ArtiCaps split, Sec. IV.A).

Rows are split by group (by default one group per painting), so all comments on one painting
land in the same split and no painting is seen in training and evaluated on later.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SPLIT_NAMES: tuple[str, ...] = ("train", "val", "test")


def split_counts(total: int, ratios: Sequence[float] = (0.8, 0.1, 0.1)) -> list[int]:
    """Integer sizes summing to ``total`` in the given ratios (largest remainder, ties: first)."""
    weights = np.asarray(ratios, dtype=np.float64)
    if total < 0 or weights.min() < 0 or weights.sum() <= 0:
        raise ValueError(f"bad split: total={total}, ratios={list(ratios)}")
    exact = weights / weights.sum() * total
    counts = np.floor(exact).astype(int)
    remainder = exact - counts
    for index in sorted(range(len(counts)), key=lambda i: (-remainder[i], i))[
        : total - counts.sum()
    ]:
        counts[index] += 1
    return counts.tolist()


def assign_splits(groups: Sequence[str], seed: int = 0,
                  ratios: Sequence[float] = (0.8, 0.1, 0.1)) -> list[str]:
    """Split name per row; groups are shuffled by ``seed`` and filled into train, val, test.

    With one row per group the split sizes are exactly :func:`split_counts`; with larger groups
    they are as close as whole groups allow.
    """
    names = SPLIT_NAMES[: len(ratios)]
    sizes: dict[str, int] = {}
    for group in groups:
        sizes[group] = sizes.get(group, 0) + 1
    order = sorted(sizes)
    permutation = np.random.default_rng(seed).permutation(len(order))
    bounds = np.cumsum(split_counts(len(groups), ratios))
    assigned: dict[str, str] = {}
    filled = 0
    for index in permutation:
        group = order[index]
        slot = int(np.searchsorted(bounds, filled, side="right"))
        assigned[group] = names[min(slot, len(names) - 1)]
        filled += sizes[group]
    return [assigned[group] for group in groups]
