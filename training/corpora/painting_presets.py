"""Emotion presets for generated paintings (ArtEmis categories) and the nearest-preset reading
of measured colour statistics (used for real portraits).

Ranges follow common colour–emotion findings (e.g. Valdez & Mehrabian 1994: brightness and
saturation raise pleasure and arousal; warm reds read as aroused, dark cool scenes as sad or
fearful) plus stroke energy for arousal. They are a convention of this corpus, stated openly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.corpora.painterly import ColourStats, PainterlyParams


@dataclass(frozen=True)
class EmotionPreset:
    emotion: str
    warmth: tuple[float, float]
    brightness: tuple[float, float]
    saturation: tuple[float, float]
    contrast: tuple[float, float]
    dynamism: tuple[float, float]
    compositions: tuple[str, ...]

    def centre(self) -> np.ndarray:
        ranges = (self.warmth, self.brightness, self.saturation, self.contrast, self.dynamism)
        return np.array([(a + b) / 2 for a, b in ranges])


PRESETS: dict[str, EmotionPreset] = {p.emotion: p for p in (
    EmotionPreset("contentment", (0.2, 0.9), (0.55, 0.8), (0.35, 0.65), (0.2, 0.45), (0.0, 0.3),
                  ("landscape", "figure")),
    EmotionPreset("awe", (-0.8, 0.4), (0.55, 0.9), (0.3, 0.6), (0.45, 0.8), (0.0, 0.35),
                  ("landscape",)),
    EmotionPreset("amusement", (0.0, 1.0), (0.65, 0.95), (0.7, 1.0), (0.3, 0.6), (0.4, 0.8),
                  ("abstract", "figure")),
    EmotionPreset("excitement", (0.4, 1.0), (0.5, 0.85), (0.7, 1.0), (0.5, 0.9), (0.65, 1.0),
                  ("abstract", "landscape")),
    EmotionPreset("anger", (0.85, 1.0), (0.2, 0.45), (0.75, 1.0), (0.6, 1.0), (0.7, 1.0),
                  ("abstract", "figure")),
    EmotionPreset("disgust", (0.0, 0.45), (0.25, 0.45), (0.15, 0.35), (0.15, 0.4), (0.3, 0.6),
                  ("abstract", "figure")),
    EmotionPreset("fear", (-1.0, -0.3), (0.05, 0.3), (0.2, 0.5), (0.6, 1.0), (0.55, 1.0),
                  ("landscape", "figure")),
    EmotionPreset("sadness", (-1.0, -0.3), (0.2, 0.45), (0.1, 0.35), (0.1, 0.35), (0.0, 0.3),
                  ("landscape", "figure")),
    EmotionPreset("something else", (-0.3, 0.3), (0.4, 0.6), (0.2, 0.5), (0.3, 0.6), (0.3, 0.6),
                  ("abstract",)),
)}


def sample_painting(emotion: str, rng: np.random.Generator, seed: int) -> PainterlyParams:
    """Draws painting parameters uniformly inside the preset of `emotion`."""
    p = PRESETS[emotion]
    return PainterlyParams(
        warmth=float(rng.uniform(*p.warmth)),
        brightness=float(rng.uniform(*p.brightness)),
        saturation=float(rng.uniform(*p.saturation)),
        contrast=float(rng.uniform(*p.contrast)),
        dynamism=float(rng.uniform(*p.dynamism)),
        composition=p.compositions[int(rng.integers(len(p.compositions)))],
        seed=seed,
    )


MEASURED_TO_PARAMS = (np.array([1.5, 1.34, 1.03, 1.75, 1.26]),
                      np.array([0.0, 0.0, 0.02, 0.11, -0.48]))
"""Linear map (slope, intercept) from measured statistics to parameter scale, fitted by least
squares on 108 rendered images (12 per preset)."""


def nearest_emotion(stats: ColourStats, candidates: tuple[str, ...] | None = None) -> str:
    """The preset whose centre is closest to measured statistics mapped to parameter units
    among `candidates` (default: all but "something else", the catch-all centre)."""
    slope, intercept = MEASURED_TO_PARAMS
    x = np.array([stats.warmth, stats.brightness, stats.saturation, stats.contrast,
                  stats.dynamism]) * slope + intercept
    x = np.clip(x, [-1, 0, 0, 0, 0], 1)
    candidates = candidates or tuple(e for e in PRESETS if e != "something else")
    return min(candidates, key=lambda e: float(np.sum((PRESETS[e].centre() - x) ** 2)))
