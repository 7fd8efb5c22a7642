"""OpenCLIP image and text towers (Sec. III.B.1: ViT-H/14 in the paper; any open_clip model)."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch import nn

import training.encoders.torchvision_ops  # noqa: F401  (must precede open_clip)
from training.encoders.spec import EncoderSpec

UNTRAINED_SEED = 0
"""Seed of the random initialisation when no pretrained weights are given."""


class _ImageTower(nn.Module):
    """Preprocessed pixels [B, 3, S, S] → L2-normalised image embedding [B, D]."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(self.model.encode_image(pixels), dim=-1)


class _TextTower(nn.Module):
    """Token ids [B, context] → L2-normalised text embedding [B, D]."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(self.model.encode_text(tokens), dim=-1)


class OpenClipEncoder:
    """Both towers of one open_clip model, loaded with the real `pretrained=` resolution.

    `pretrained` may be an open_clip tag (downloaded once at install time on sites with
    internet), a local checkpoint file, or None for untrained weights.
    """

    def __init__(self, spec: EncoderSpec, device: str = "cpu") -> None:
        import open_clip

        self.spec = spec
        self.device = device
        try:
            # Untrained towers get the same weights in every process (seeded, without touching
            # the caller's random state), so an untrained bundle can be rebuilt and compared.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(UNTRAINED_SEED)
                model, _, preprocess = open_clip.create_model_and_transforms(
                    spec.name, pretrained=spec.pretrained, device=device
                )
        except RuntimeError as error:
            raise RuntimeError(
                f"could not load open_clip {spec.name} with pretrained={spec.pretrained!r}: "
                f"{error}. Download the weights once with internet access or pass a local file."
            ) from error
        model.eval()
        self.model = model
        self.preprocess = preprocess
        self.tokenizer = open_clip.get_tokenizer(spec.name)
        embed_dim = int(model.text_projection.shape[-1]) if hasattr(model, "text_projection") \
            else int(model.visual.output_dim)
        self.image_dim = int(getattr(model.visual, "output_dim", embed_dim))
        self.text_dim = embed_dim
        self.image_size = int(np.atleast_1d(model.visual.image_size)[0])
        self.mean = tuple(float(v) for v in getattr(model.visual, "image_mean", None)
                          or open_clip.OPENAI_DATASET_MEAN)
        self.std = tuple(float(v) for v in getattr(model.visual, "image_std", None)
                         or open_clip.OPENAI_DATASET_STD)
        self.context_length = int(getattr(model, "context_length", 77))

    def preprocess_images(self, images: list[np.ndarray]) -> torch.Tensor:
        return torch.stack([self.preprocess(Image.fromarray(image)) for image in images])

    @torch.inference_mode()
    def encode_images(self, images: list[np.ndarray]) -> np.ndarray:
        pixels = self.preprocess_images(images).to(self.device)
        return self.image_module()(pixels).cpu().numpy().astype(np.float32)

    @torch.inference_mode()
    def encode_texts(self, texts: list[str]) -> np.ndarray:
        tokens = self.tokenizer(texts).to(self.device)
        return self.text_module()(tokens).cpu().numpy().astype(np.float32)

    def image_module(self) -> nn.Module:
        return _ImageTower(self.model).eval()

    def text_module(self) -> nn.Module:
        return _TextTower(self.model).eval()
