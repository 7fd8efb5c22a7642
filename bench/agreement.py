"""How far the engine's outputs are from PyTorch eager on the same weights and the same inputs.

Compared in each graph's output units, as the export's parity check does (target: ≤ 1e-3 for
an fp32 bundle): unit image / text embeddings, the decoder's normalised Mel in [-1, 1] (both
fed the engine's embeddings), and the waveform (both fed the engine's log-Mel). The image row
also includes each side's own preprocessing (OpenCV in the engine, PIL in open_clip), so resize
rounding adds to it.
"""

from __future__ import annotations

import numpy as np

from bench.latency import IMAGE, MEL, TEXT, WHOLE_VOCODE
from core.mel import normalize
from engine import Engine

FP32_TARGET = 1e-3
"""Largest max-abs difference expected for an fp32 bundle (the issue's target)."""


def _max_abs(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        return float("inf")
    return float(np.abs(a - b).max()) if a.size else 0.0


def max_abs_differences(engine: Engine, eager, frame: np.ndarray, prompt: str) -> dict[str, float]:
    """Stage → max |engine − eager| for the image, text, Mel and (with a HiFi-GAN) vocode stages."""
    image = engine.encode_image(frame)
    text = engine.encode_text(prompt)
    differences = {IMAGE: _max_abs(image, eager.encode_image(frame)),
                   TEXT: _max_abs(text, eager.encode_text(prompt))}
    log_mel = engine.generate_mel(image, text)
    norm = engine.manifest.mel_norm
    differences[MEL] = _max_abs(normalize(log_mel, norm),
                                normalize(eager.generate_mel(image, text), norm))
    if eager.has_vocoder:
        differences[WHOLE_VOCODE] = _max_abs(engine.vocode(log_mel), eager.vocode(log_mel))
    return differences
