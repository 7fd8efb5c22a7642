"""Finds the painting in a camera frame and warps it to a fronto-parallel crop.

The painting is the largest convex quadrilateral found on two edge maps of a downscaled grey
copy (Canny with thresholds from the median, and an adaptive threshold). When none is large
enough, the whole frame is taken, on the assumption that the camera looks straight at the work.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

_APPROX_EPSILONS = (0.02, 0.035, 0.05)
"""Polygon simplification tolerances, as fractions of the contour perimeter, tried in order."""


@dataclass(frozen=True)
class Detection:
    quad: np.ndarray
    """float32 [4, 2] corners in frame pixels, ordered top-left, top-right, bottom-right,
    bottom-left."""
    found: bool
    """True when a painting outline was found; False when the frame edges are used."""


def order_corners(points: np.ndarray) -> np.ndarray:
    """Orders four (x, y) points as top-left, top-right, bottom-right, bottom-left."""
    points = np.asarray(points, dtype=np.float32).reshape(4, 2)
    sums = points.sum(axis=1)
    diffs = np.diff(points, axis=1).ravel()  # y - x
    ordered = np.empty((4, 2), dtype=np.float32)
    ordered[0] = points[np.argmin(sums)]
    ordered[2] = points[np.argmax(sums)]
    ordered[1] = points[np.argmin(diffs)]
    ordered[3] = points[np.argmax(diffs)]
    if len({tuple(p) for p in ordered.tolist()}) < 4:  # degenerate (e.g. a 45-degree diamond)
        centre = points.mean(axis=0)
        angles = np.arctan2(points[:, 1] - centre[1], points[:, 0] - centre[0])
        ordered = points[np.argsort(angles)]  # clockwise on screen, starting near -180 deg
        start = int(np.argmin(ordered.sum(axis=1)))
        ordered = np.roll(ordered, -start, axis=0)
    return ordered


def frame_quad(width: int, height: int) -> np.ndarray:
    return np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]],
                    dtype=np.float32)


class PaintingDetector:
    """Stateless detector; one instance may serve one thread."""

    def __init__(self, max_width: int = 480, min_area_fraction: float = 0.08,
                 crop_size: int = 448) -> None:
        self.max_width = max_width
        self.min_area_fraction = min_area_fraction
        self.crop_size = crop_size

    def detect(self, frame_bgr: np.ndarray) -> Detection:
        height, width = frame_bgr.shape[:2]
        scale = min(1.0, self.max_width / float(width))
        small = frame_bgr if scale >= 1.0 else cv2.resize(
            frame_bgr, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
        quad = self._largest_quad(small)
        if quad is None:
            return Detection(frame_quad(width, height), found=False)
        return Detection(order_corners(quad / scale), found=True)

    def _largest_quad(self, small_bgr: np.ndarray) -> np.ndarray | None:
        grey = cv2.cvtColor(small_bgr, cv2.COLOR_BGR2GRAY)
        grey = cv2.GaussianBlur(grey, (5, 5), 0)
        frame_area = float(grey.shape[0] * grey.shape[1])
        best: np.ndarray | None = None
        best_area = self.min_area_fraction * frame_area
        for edges in self._edge_maps(grey):
            contours, _ = cv2.findContours(edges, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            for contour in contours:
                if cv2.contourArea(contour) < best_area * 0.5:
                    continue
                quad = _as_quad(cv2.convexHull(contour))
                if quad is None:
                    continue
                area = cv2.contourArea(quad)
                if area > best_area and area < 0.995 * frame_area:
                    best, best_area = quad.reshape(4, 2).astype(np.float32), area
        return best

    @staticmethod
    def _edge_maps(grey: np.ndarray) -> list[np.ndarray]:
        median = float(np.median(grey))
        low, high = int(max(0, 0.66 * median)), int(min(255, 1.33 * median))
        canny = cv2.Canny(grey, max(low, 10), max(high, 30))
        canny = cv2.dilate(canny, np.ones((3, 3), np.uint8), iterations=1)
        adaptive = cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C,
                                         cv2.THRESH_BINARY_INV, 31, 7)
        adaptive = cv2.morphologyEx(adaptive, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
        return [canny, adaptive]

    def warp(self, frame_bgr: np.ndarray, quad: np.ndarray, size: int | None = None) -> np.ndarray:
        """Fronto-parallel RGB crop of ``quad``; its longest side is ``size`` (default crop_size)."""
        size = size or self.crop_size
        tl, tr, br, bl = np.asarray(quad, dtype=np.float32)
        width = max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl), 1.0)
        height = max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr), 1.0)
        factor = size / max(width, height)
        out_w, out_h = max(1, round(width * factor)), max(1, round(height * factor))
        target = frame_quad(out_w, out_h)
        matrix = cv2.getPerspectiveTransform(np.asarray(quad, dtype=np.float32), target)
        crop = cv2.warpPerspective(frame_bgr, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REPLICATE)
        return cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)


def _as_quad(hull: np.ndarray) -> np.ndarray | None:
    perimeter = cv2.arcLength(hull, True)
    for epsilon in _APPROX_EPSILONS:
        approx = cv2.approxPolyDP(hull, epsilon * perimeter, True)
        if len(approx) == 4 and cv2.isContourConvex(approx):
            return approx
        if len(approx) < 4:
            return None
    return None
