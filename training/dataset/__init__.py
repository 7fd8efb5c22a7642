"""Weakly aligned image–text–music data set builder (Art2Music Sec. III.A.2–4).

Heavy dependencies (spaCy, sentence-transformers, torch) load only when used.
"""

from training.dataset.builder import DatasetBuildConfig, build_dataset
from training.dataset.errors import DatasetError

__all__ = ["DatasetBuildConfig", "DatasetError", "build_dataset"]
