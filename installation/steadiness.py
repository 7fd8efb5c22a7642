"""Decides when a painting has been held still long enough to play music for it.

Motion is measured on consecutive 64x48 grey copies of the frame: the view moves when more than
``motion_fraction`` of their pixels changed by more than ``motion_threshold`` grey levels. When
the view has been still for ``steady_seconds`` and is not an empty wall (no painting outline and
almost no fine detail once the smooth lighting gradient is removed), the painting's signature
(a blurred 16x16 colour thumbnail of the crop) is compared with the one that last triggered:
the same painting held in view never retriggers, a different one does. An empty view for
``leave_seconds`` after a trigger means the visitor has left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

MOTION_SIZE = (64, 48)
SIGNATURE_SIZE = 16


MOTION_BLUR_SIGMA = 1.0
"""Blur of the motion thumbnail, so a 1-2 pixel tremor of a hand-held painting is not motion."""


def motion_thumbnail(frame_bgr: np.ndarray) -> np.ndarray:
    """Downscaled, slightly blurred grey copy (float32, 48x64) used for frame differences."""
    grey = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
    small = cv2.resize(grey, MOTION_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)
    return cv2.GaussianBlur(small, (0, 0), MOTION_BLUR_SIGMA)


def crop_signature(crop_rgb: np.ndarray) -> np.ndarray:
    """Blurred 16x16 colour thumbnail (float32) identifying a painting crop."""
    thumb = cv2.resize(crop_rgb, (SIGNATURE_SIZE, SIGNATURE_SIZE), interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(thumb.astype(np.float32), (3, 3), 0)


def signature_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two signatures, 0-255."""
    return float(np.mean(np.abs(a - b)))


def detail_level(thumbnail: np.ndarray) -> float:
    """Standard deviation of the motion thumbnail minus its blur: fine detail, not lighting."""
    return float(np.std(thumbnail - cv2.GaussianBlur(thumbnail, (0, 0), 3.0)))


def is_empty_view(thumbnail: np.ndarray, detail_threshold: float) -> bool:
    """An even, featureless view (a bare wall, a covered lens) holds no painting."""
    return detail_level(thumbnail) < detail_threshold


@dataclass(frozen=True)
class SteadyState:
    """What the tracker concluded from one frame."""

    moving: bool
    empty: bool
    still_for: float
    """Seconds the view has been still (0 while moving)."""
    trigger: bool = False
    """True on the one frame where a new painting should get music."""
    visitor_left: bool = False
    """True on the one frame where the view has been empty for ``leave_seconds``."""
    distance: float | None = None
    """Signature distance to the last triggered painting, when it was measured this frame."""


class SteadinessTracker:
    """Feed it every frame in order with its timestamp (seconds, any origin)."""

    def __init__(self, steady_seconds: float = 1.2, motion_threshold: float = 10.0,
                 motion_fraction: float = 0.01, signature_threshold: float = 18.0,
                 empty_detail_threshold: float = 3.0, leave_seconds: float = 4.0) -> None:
        self.steady_seconds = steady_seconds
        self.motion_threshold = motion_threshold
        self.motion_fraction = motion_fraction
        self.signature_threshold = signature_threshold
        self.empty_detail_threshold = empty_detail_threshold
        self.leave_seconds = leave_seconds
        self.reset()

    def reset(self) -> None:
        self._previous: np.ndarray | None = None
        self._still_since: float | None = None
        self._empty_since: float | None = None
        self._last_signature: np.ndarray | None = None
        self._visitor_present = False

    @property
    def last_signature(self) -> np.ndarray | None:
        return self._last_signature

    def update(self, timestamp: float, thumbnail: np.ndarray, found: bool,
               signature: Callable[[], np.ndarray]) -> SteadyState:
        """``found``: a painting outline was detected; ``signature()`` gives the current crop's
        signature and is called only on still, non-empty frames past ``steady_seconds``."""
        moving = not self._is_still(thumbnail)
        self._previous = thumbnail
        if moving or self._still_since is None:
            self._still_since = timestamp
        still_for = 0.0 if moving else timestamp - self._still_since
        empty = not found and is_empty_view(thumbnail, self.empty_detail_threshold)

        if not empty:
            self._empty_since = None
        elif self._empty_since is None:
            self._empty_since = timestamp
        if empty and self._visitor_present and timestamp - self._empty_since >= self.leave_seconds:
            self._visitor_present = False
            self._last_signature = None  # a visitor who comes back with it hears it again
            return SteadyState(moving, empty, still_for, visitor_left=True)

        if moving or empty or still_for < self.steady_seconds:
            return SteadyState(moving, empty, still_for)
        current = signature()
        if self._last_signature is None:
            distance = None
        else:
            distance = signature_distance(current, self._last_signature)
            if distance <= self.signature_threshold:
                return SteadyState(moving, empty, still_for, distance=distance)
        self._last_signature = current
        self._visitor_present = True
        return SteadyState(moving, empty, still_for, trigger=True, distance=distance)

    def _is_still(self, thumbnail: np.ndarray) -> bool:
        if self._previous is None or self._previous.shape != thumbnail.shape:
            return False
        changed = np.abs(thumbnail - self._previous) > self.motion_threshold
        return float(changed.mean()) <= self.motion_fraction
