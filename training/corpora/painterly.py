"""A painterly image renderer with known parameters, and the measurements that check it.

A palette is drawn from the parameters (warm hues with probability (warmth + 1) / 2, value around
`brightness` spread by `contrast`, saturation around `saturation`); a composition (landscape,
figure or abstract) is laid down in flat colour, then covered with brush strokes whose length
and direction follow `dynamism` (long near-horizontal strokes when calm, short strokes along a
swirling flow field when dynamic). Measured statistics recover the parameters approximately.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

COMPOSITIONS = ("landscape", "figure", "abstract")
WARM_HUES = (0.0, 55.0)
COOL_HUES = (175.0, 265.0)


@dataclass(frozen=True)
class PainterlyParams:
    """Known parameters of one generated painting (all in [0, 1] except warmth in [-1, 1])."""

    warmth: float
    brightness: float
    saturation: float
    contrast: float
    dynamism: float
    composition: str = "landscape"
    seed: int = 0
    width: int = 384
    height: int = 288

    def __post_init__(self) -> None:
        if self.composition not in COMPOSITIONS:
            raise ValueError(f"composition={self.composition!r} is not one of {COMPOSITIONS}.")
        if not -1 <= self.warmth <= 1 or not all(
                0 <= v <= 1 for v in (self.brightness, self.saturation, self.contrast,
                                      self.dynamism)):
            raise ValueError("warmth must be in [-1, 1] and the other parameters in [0, 1].")

    def to_dict(self) -> dict:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class ColourStats:
    """Measured statistics of an RGB image (same scales as PainterlyParams)."""

    warmth: float
    brightness: float
    saturation: float
    contrast: float
    dynamism: float

    def to_dict(self) -> dict:
        return {k: round(v, 3) for k, v in asdict(self).items()}


def palette(p: PainterlyParams, rng: np.random.Generator, size: int = 6) -> np.ndarray:
    """[size, 3] HSV colours in OpenCV units (H in [0, 180), S and V in [0, 255])."""
    warm = rng.random(size) < (p.warmth + 1) / 2
    hue = np.where(warm, rng.uniform(*WARM_HUES, size), rng.uniform(*COOL_HUES, size))
    sat = np.clip(p.saturation + rng.normal(0, 0.08, size), 0, 1)
    spread = np.linspace(-0.5, 0.5, size)
    rng.shuffle(spread)
    val = np.clip(p.brightness + 1.1 * p.contrast * spread, 0.03, 1)
    return np.stack([(hue % 360) / 2, sat * 255, val * 255], axis=1)


def _hsv_to_rgb(hsv: np.ndarray) -> np.ndarray:
    pixel = np.asarray(hsv, np.float32).reshape(-1, 1, 3).clip(0, [179.99, 255, 255])
    return cv2.cvtColor(pixel.astype(np.uint8), cv2.COLOR_HSV2RGB).reshape(-1, 3)


def _base(p: PainterlyParams, colours: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = p.height, p.width
    order = np.argsort(-colours[:, 2])
    light, dark = _hsv_to_rgb(colours[order[0]])[0], _hsv_to_rgb(colours[order[-1]])[0]
    t = np.linspace(0, 1, h)[:, None, None]
    canvas = (light * (1 - t) + dark * t).repeat(w, axis=1).astype(np.float32)
    rgb = _hsv_to_rgb(colours).astype(float)
    if p.composition == "landscape":
        horizon = int(h * rng.uniform(0.45, 0.7))
        xs = np.arange(w)
        for layer in range(2):
            ridge = horizon + layer * h * 0.12 + h * 0.06 * np.sin(
                xs / w * rng.uniform(2, 6) + rng.uniform(0, 6))
            points = np.column_stack([xs, ridge]).astype(np.int32)
            poly = np.vstack([points, [[w - 1, h - 1], [0, h - 1]]])
            cv2.fillPoly(canvas, [poly], rgb[order[2 + layer]].tolist())
        if rng.random() < 0.6:
            centre = (int(rng.uniform(0.15, 0.85) * w), int(rng.uniform(0.1, 0.35) * h))
            cv2.circle(canvas, centre, int(h * rng.uniform(0.05, 0.1)), rgb[order[1]].tolist(), -1,
                       cv2.LINE_AA)
    elif p.composition == "figure":
        cx = int(w * rng.uniform(0.35, 0.65))
        body = rgb[order[-2]] if rng.random() < 0.5 else rgb[order[1]]
        cv2.ellipse(canvas, (cx, int(h * 0.78)), (int(w * 0.16), int(h * 0.34)), 0, 0, 360,
                    body.tolist(), -1, cv2.LINE_AA)
        cv2.circle(canvas, (cx, int(h * 0.33)), int(h * 0.11), rgb[order[2]].tolist(), -1,
                   cv2.LINE_AA)
    else:
        for _ in range(int(6 + 10 * p.dynamism)):
            colour = rgb[int(rng.integers(len(rgb)))].tolist()
            centre = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
            if rng.random() < 0.5:
                cv2.circle(canvas, centre, int(rng.uniform(0.04, 0.18) * h), colour, -1,
                           cv2.LINE_AA)
            else:
                size = (int(rng.uniform(0.05, 0.3) * w), int(rng.uniform(0.02, 0.1) * h))
                box = cv2.boxPoints((centre, size, float(rng.uniform(-60, 60) * p.dynamism)))
                cv2.fillPoly(canvas, [box.astype(np.int32)], colour, cv2.LINE_AA)
    return canvas


def _strokes(p: PainterlyParams, canvas: np.ndarray, colours: np.ndarray,
             rng: np.random.Generator) -> np.ndarray:
    h, w = canvas.shape[:2]
    count = int((900 + 1800 * p.dynamism) * (w * h) / (384 * 288))
    rgb = _hsv_to_rgb(colours).astype(np.float32)
    phase = rng.uniform(0, 2 * np.pi, 2)
    out = canvas.copy()
    for _ in range(count):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        swirl = np.sin(x / w * 5 + phase[0]) * np.pi + np.cos(y / h * 5 + phase[1]) * np.pi
        angle = rng.normal(0, 0.1) + p.dynamism ** 1.5 * (swirl + rng.normal(0, 0.5))
        length = rng.uniform(14, 40) * (1 - 0.6 * p.dynamism)
        dx, dy = np.cos(angle) * length / 2, np.sin(angle) * length / 2
        under = canvas[int(min(y, h - 1)), int(min(x, w - 1))]
        colour = 0.85 * under + 0.15 * rgb[int(rng.integers(len(rgb)))]
        colour = np.clip(colour + rng.normal(0, 6, 3), 0, 255)
        cv2.line(out, (int(x - dx), int(y - dy)), (int(x + dx), int(y + dy)), colour.tolist(),
                 int(rng.integers(2, 6)), cv2.LINE_AA)
    return out


def render_painting(p: PainterlyParams) -> np.ndarray:
    """An RGB uint8 image [height, width, 3] painted from the parameters (deterministic)."""
    rng = np.random.default_rng(p.seed)
    colours = palette(p, rng)
    canvas = _strokes(p, _base(p, colours, rng), colours, rng)
    canvas = cv2.GaussianBlur(canvas, (3, 3), 0.7)
    canvas += rng.normal(0, 3, canvas.shape[:2])[..., None]
    return np.clip(canvas, 0, 255).astype(np.uint8)


def measure_colour_stats(rgb: np.ndarray, mask: np.ndarray | None = None) -> ColourStats:
    """Warmth (mean R − B), brightness (mean luma), saturation, contrast (luma spread) and
    dynamism (spread of gradient orientations after a light blur: 0 all one direction, 1 every
    direction), over the pixels where `mask` is true (all pixels by default)."""
    image = np.asarray(rgb, np.float32)[..., :3]
    keep = np.ones(image.shape[:2], bool) if mask is None else np.asarray(mask, bool)
    luma = image @ np.array([0.299, 0.587, 0.114], np.float32)
    hsv = cv2.cvtColor(image.astype(np.uint8), cv2.COLOR_RGB2HSV).astype(np.float32)
    smooth = cv2.GaussianBlur(luma, (0, 0), 1.5)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)
    inner = cv2.erode(keep.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    magnitude = np.hypot(gx, gy) * inner
    doubled = np.exp(2j * np.arctan2(gy, gx))
    coherence = np.abs((magnitude * doubled).sum()) / (magnitude.sum() + 1e-6)
    return ColourStats(
        warmth=float((image[..., 0] - image[..., 2])[keep].mean() / 255),
        brightness=float(luma[keep].mean() / 255),
        saturation=float(hsv[..., 1][keep].mean() / 255),
        contrast=float(min(1.0, luma[keep].std() / 100)),
        dynamism=float(1 - coherence),
    )
