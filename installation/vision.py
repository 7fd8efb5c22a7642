"""Per-frame vision: painting detection + steadiness, turning frames into trigger events."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from installation.config import VisionConfig
from installation.painting_detector import Detection, PaintingDetector
from installation.steadiness import (
    SteadinessTracker,
    SteadyState,
    crop_signature,
    motion_thumbnail,
)

SIGNATURE_WARP_SIZE = 64
"""The signature is taken from a small warp of the painting, not the full crop."""


@dataclass(frozen=True)
class VisionResult:
    timestamp: float
    frame: np.ndarray
    """The camera frame (BGR, full size)."""
    detection: Detection
    state: SteadyState
    crop_rgb: np.ndarray | None = None
    """Fronto-parallel RGB crop of the painting; only on trigger frames."""


class VisionPipeline:
    """Runs in the camera thread; not thread-safe."""

    def __init__(self, config: VisionConfig | None = None) -> None:
        config = config or VisionConfig()
        self.detector = PaintingDetector(config.detect_max_width, config.min_area_fraction,
                                         config.crop_size)
        self.tracker = SteadinessTracker(
            config.steady_seconds, config.motion_threshold, config.motion_fraction,
            config.signature_threshold, config.empty_detail_threshold, config.leave_seconds)

    def reset(self) -> None:
        self.tracker.reset()

    def process(self, frame_bgr: np.ndarray, timestamp: float) -> VisionResult:
        detection = self.detector.detect(frame_bgr)

        def signature() -> np.ndarray:
            return crop_signature(self.detector.warp(frame_bgr, detection.quad,
                                                     SIGNATURE_WARP_SIZE))

        state = self.tracker.update(timestamp, motion_thumbnail(frame_bgr), detection.found,
                                    signature)
        crop = self.detector.warp(frame_bgr, detection.quad) if state.trigger else None
        return VisionResult(timestamp, frame_bgr, detection, state, crop)
