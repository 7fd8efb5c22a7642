"""Camera frame → image-encoder pixels, equal to the encoder's own preprocessing (no torch).

open_clip's transform is ``Resize(size, bicubic)`` on the short side (PIL) → ``CenterCrop`` →
``ToTensor`` → ``Normalize(mean, std)``. Pillow does the resize exactly as torchvision does for
PIL images, and the crop offsets and normalisation below copy torchvision's arithmetic, so the
pixels match open_clip's to float rounding (tests/engine/test_preprocess.py). ``area-squash``
is the perceptual encoder's OpenCV area resize of the whole picture.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from engine.errors import EngineError
from engine.inputs import check_painting
from engine.manifest import ImagePreprocess

_INTERPOLATION = {
    "bicubic": Image.Resampling.BICUBIC,
    "bilinear": Image.Resampling.BILINEAR,
    "nearest": Image.Resampling.NEAREST,
    "lanczos": Image.Resampling.LANCZOS,
}
RESIZE_MODES = ("shortest", "squash", "area-squash")


def as_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """Checks and normalises a frame to H×W×3 uint8 (grey → RGB, alpha dropped)."""
    check_painting(image, "image")
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise EngineError(f"image must be uint8 RGB pixels, got dtype {array.dtype}; convert "
                          "the frame with np.clip(x, 0, 255).astype(np.uint8).")
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4) or min(array.shape[:2]) < 1:
        raise EngineError(f"image must have shape H×W×3, got {array.shape}; pass an RGB frame.")
    return np.ascontiguousarray(array[:, :, :3])


def _short_side_size(width: int, height: int, size: int) -> tuple[int, int]:
    """torchvision's output size for ``Resize(size)``: short side = size, long side truncated."""
    if width <= height:
        return size, int(size * height / width)
    return int(size * width / height), size


def _center_crop(image: Image.Image, size: int) -> Image.Image:
    width, height = image.size
    if width < size or height < size:
        canvas = Image.new(image.mode, (max(width, size), max(height, size)))
        canvas.paste(image, ((canvas.width - width) // 2, (canvas.height - height) // 2))
        image, (width, height) = canvas, canvas.size
    top = int(round((height - size) / 2.0))
    left = int(round((width - size) / 2.0))
    return image.crop((left, top, left + size, top + size))


def preprocess_image(rgb: np.ndarray, config: ImagePreprocess) -> np.ndarray:
    """Pixels [1, 3, size, size] float32 for an H×W×3 uint8 RGB frame."""
    if config.resize_mode not in RESIZE_MODES:
        raise EngineError(f"resize mode {config.resize_mode!r} is not supported; re-export the "
                          f"bundle with one of {', '.join(RESIZE_MODES)}.")
    rgb = as_rgb_uint8(rgb)
    if config.resize_mode == "area-squash":
        resized = cv2.resize(rgb, (config.size, config.size), interpolation=cv2.INTER_AREA)
        return _normalise(resized, config)
    image = Image.fromarray(rgb)
    resample = _INTERPOLATION.get(config.interpolation, Image.Resampling.BICUBIC)
    if config.resize_mode == "squash":
        target = (config.size, config.size)
    else:
        target = _short_side_size(image.width, image.height, config.size)
    if image.size != target:
        image = image.resize(target, resample)
    return _normalise(np.asarray(_center_crop(image, config.size)), config)


def _normalise(rgb: np.ndarray, config: ImagePreprocess) -> np.ndarray:
    """ToTensor + Normalize: [1, 3, S, S] float32 of (rgb / 255 − mean) / std."""
    pixels = rgb.astype(np.float32).transpose(2, 0, 1) / np.float32(255.0)
    mean = np.asarray(config.mean, dtype=np.float32)[:, None, None]
    std = np.asarray(config.std, dtype=np.float32)[:, None, None]
    return ((pixels - mean) / std)[None].astype(np.float32)
