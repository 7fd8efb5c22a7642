"""Perceptual image encoder `perceptual:v1` — the offline default when no CLIP weights exist.

A fixed, versioned feature definition (no learned weights): colour (mean/std RGB, saturation-
weighted hue histogram, warmth, colourfulness), light (brightness histogram, luminance mean and
contrast), texture (gradient energy at two scales, edge density) and composition (3 × 3
luminance layout, 2 × 2 colour layout, centre–surround, left–right symmetry, top–bottom balance).
Every feature lies in [0, 1] by construction and is mapped to [-1, 1]. Written with ONNX-friendly
torch ops so the same module is exported into the bundle like any other image tower.

Input: RGB pixels [B, 3, 224, 224] in [0, 1], the whole picture resized (no crop).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from training.encoders.spec import EncoderSpec

VERSION = "v1"
IMAGE_SIZE = 224
HUE_BINS = 12
BRIGHTNESS_BINS = 8
FEATURE_NAMES: tuple[str, ...] = (
    *(f"mean_{c}" for c in "rgb"),
    *(f"std_{c}" for c in "rgb"),
    *(f"hue_{i * 30}" for i in range(HUE_BINS)),
    "saturation_mean",
    "saturation_std",
    *(f"brightness_bin_{i}" for i in range(BRIGHTNESS_BINS)),
    "luminance_mean",
    "contrast",
    "warmth",
    "colourfulness",
    "gradient_fine",
    "gradient_coarse",
    "edge_density",
    *(f"layout_luminance_{i}" for i in range(9)),
    *(f"layout_{c}_{i}" for i in range(4) for c in "rgb"),
    "centre_surround",
    "symmetry",
    "top_bottom",
)


class PerceptualFeatures(nn.Module):
    """pixels [B, 3, 224, 224] in [0, 1] → features [B, len(FEATURE_NAMES)] in [-1, 1]."""

    def __init__(self) -> None:
        super().__init__()
        angles = torch.arange(HUE_BINS, dtype=torch.float32) * (2 * math.pi / HUE_BINS)
        self.register_buffer("hue_axes", torch.stack([torch.cos(angles), torch.sin(angles)], 1))
        centres = (torch.arange(BRIGHTNESS_BINS, dtype=torch.float32) + 0.5) / BRIGHTNESS_BINS
        self.register_buffer("brightness_centres", centres)
        sobel = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 4.0
        self.register_buffer("sobel", torch.stack([sobel, sobel.t()]).unsqueeze(1))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        r, g, b = pixels[:, 0], pixels[:, 1], pixels[:, 2]
        flat = pixels.flatten(2)
        mean_rgb = flat.mean(-1)
        std_rgb = flat.std(-1) * 2.0
        value = pixels.amax(1)
        minimum = pixels.amin(1)
        saturation = (value - minimum) / (value + 1e-6)
        luminance = 0.299 * r + 0.587 * g + 0.114 * b

        # Hue: opponent axes a, b; soft-assigned to 12 directions, weighted by saturation.
        a = r - 0.5 * (g + b)
        bb = (math.sqrt(3.0) / 2.0) * (g - b)
        chroma = torch.sqrt(a * a + bb * bb + 1e-8)
        direction = torch.stack([a / chroma, bb / chroma], -1)  # [B, H, W, 2]
        cosine = direction.flatten(1, 2) @ self.hue_axes.t()  # [B, HW, 12]
        membership = F.relu(cosine) ** 8
        membership = membership / (membership.sum(-1, keepdim=True) + 1e-6)
        weights = saturation.flatten(1).unsqueeze(-1)
        hue_hist = (membership * weights).sum(1) / (weights.sum(1) + 1e-6)

        brightness = value.flatten(1).unsqueeze(-1)
        closeness = F.relu(1.0 - (brightness - self.brightness_centres).abs() * BRIGHTNESS_BINS)
        brightness_hist = closeness.mean(1)

        sat_flat = saturation.flatten(1)
        lum_flat = luminance.flatten(1)
        warmth = ((r - b).flatten(1).mean(-1) + 1.0) * 0.5
        rg, yb = r - g, 0.5 * (r + g) - b
        colourfulness = (
            torch.sqrt(rg.flatten(1).var(-1) + yb.flatten(1).var(-1) + 1e-8)
            + 0.3 * torch.sqrt(rg.flatten(1).mean(-1) ** 2 + yb.flatten(1).mean(-1) ** 2 + 1e-8)
        ).clamp(max=1.0)

        grey = luminance.unsqueeze(1)
        fine = self._gradient(grey)
        coarse = self._gradient(F.avg_pool2d(grey, 4))
        gradient_fine = (fine.flatten(1).mean(-1) * 4.0).clamp(max=1.0)
        gradient_coarse = (coarse.flatten(1).mean(-1) * 4.0).clamp(max=1.0)
        edge_density = torch.sigmoid((fine - 0.08) * 60.0).flatten(1).mean(-1)

        layout_lum = _grid_means(grey, 3)
        layout_rgb = F.adaptive_avg_pool2d(pixels, 2).permute(0, 2, 3, 1).flatten(1)
        size = int(grey.shape[-1])
        quarter = size // 4
        centre = grey[:, :, quarter : size - quarter, quarter : size - quarter].flatten(1).mean(-1)
        surround = (grey.flatten(1).sum(-1) - centre * (size - 2 * quarter) ** 2) / (
            size * size - (size - 2 * quarter) ** 2
        )
        centre_surround = (centre - surround + 1.0) * 0.5
        symmetry = 1.0 - (grey - torch.flip(grey, dims=[-1])).abs().flatten(1).mean(-1)
        half = size // 2
        top_bottom = (grey[:, :, :half].flatten(1).mean(-1) - grey[:, :, half:].flatten(1).mean(-1)
                      + 1.0) * 0.5

        features = torch.cat(
            [
                mean_rgb,
                std_rgb.clamp(max=1.0),
                hue_hist,
                sat_flat.mean(-1, keepdim=True),
                (sat_flat.std(-1, keepdim=True) * 2.0).clamp(max=1.0),
                brightness_hist,
                lum_flat.mean(-1, keepdim=True),
                (lum_flat.std(-1, keepdim=True) * 2.0).clamp(max=1.0),
                warmth.unsqueeze(-1),
                colourfulness.unsqueeze(-1),
                gradient_fine.unsqueeze(-1),
                gradient_coarse.unsqueeze(-1),
                edge_density.unsqueeze(-1),
                layout_lum,
                layout_rgb,
                centre_surround.unsqueeze(-1),
                symmetry.unsqueeze(-1),
                top_bottom.unsqueeze(-1),
            ],
            dim=-1,
        )
        return features.clamp(0.0, 1.0) * 2.0 - 1.0

    def _gradient(self, grey: torch.Tensor) -> torch.Tensor:
        edges = F.conv2d(F.pad(grey, (1, 1, 1, 1), mode="replicate"), self.sobel)
        return torch.sqrt((edges * edges).sum(1) + 1e-8)


def _grid_means(image: torch.Tensor, cells: int) -> torch.Tensor:
    """Mean of each cell of a cells × cells grid, [B, C, H, W] → [B, C·cells²] (ONNX-exportable
    for sizes that `cells` does not divide, unlike adaptive pooling)."""
    height, width = (int(size) for size in image.shape[-2:])
    rows = [round(i * height / cells) for i in range(cells + 1)]
    cols = [round(i * width / cells) for i in range(cells + 1)]
    means = [image[:, :, rows[i] : rows[i + 1], cols[j] : cols[j + 1]].mean(dim=(-2, -1))
             for i in range(cells) for j in range(cells)]
    return torch.cat(means, dim=-1)


def preprocess(image: np.ndarray, size: int = IMAGE_SIZE) -> np.ndarray:
    """RGB uint8 [H, W, 3] → float32 [3, size, size] in [0, 1] (area resize, no crop)."""
    resized = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
    return (resized.astype(np.float32) / 255.0).transpose(2, 0, 1)


class PerceptualImageEncoder:
    """The `perceptual` encoder family: `perceptual:v1` is the only version so far."""

    def __init__(self, spec: EncoderSpec) -> None:
        if spec.name != VERSION:
            raise ValueError(f"perceptual encoder {spec.name!r} is unknown; use perceptual:{VERSION}.")
        self.spec = spec
        self.module = PerceptualFeatures().eval()
        self.image_dim = len(FEATURE_NAMES)
        self.image_size = IMAGE_SIZE
        self.mean = (0.0, 0.0, 0.0)
        self.std = (1.0, 1.0, 1.0)
        self.resize_mode = "area-squash"
        # The features are the embedding: the engine's art commentary reads its look words
        # straight from it (export/commentary.py).
        self.colour_output = "image_embedding"
        self.colour_feature_names = FEATURE_NAMES
        self.colour_feature_version = f"perceptual:{VERSION}"

    @torch.inference_mode()
    def encode_images(self, images: list[np.ndarray]) -> np.ndarray:
        pixels = torch.from_numpy(np.stack([preprocess(image) for image in images]))
        return self.module(pixels).numpy().astype(np.float32)

    def image_module(self) -> nn.Module:
        return self.module
