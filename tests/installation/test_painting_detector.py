"""The painting detector finds a drawn quadrilateral and warps it fronto-parallel."""

import cv2
import numpy as np

from installation.painting_detector import PaintingDetector, order_corners
from tests.installation.helpers import DEFAULT_QUAD, artwork, hang, wall


def test_finds_a_drawn_quadrilateral_on_a_wall():
    frame = hang(wall(), artwork(1))
    detection = PaintingDetector(max_width=640).detect(frame)
    assert detection.found
    # the outline found is the painting's dark frame, a few pixels outside the canvas corners
    assert np.abs(detection.quad - DEFAULT_QUAD).max() < 16


def test_warp_gives_the_painting_fronto_parallel():
    art = artwork(2)
    frame = hang(wall(), art, frame_px=0)
    detector = PaintingDetector(max_width=640, crop_size=300)
    detection = detector.detect(frame)
    assert detection.found
    crop = detector.warp(frame, detection.quad)
    assert max(crop.shape[:2]) == 300
    expected = cv2.cvtColor(cv2.resize(art, (crop.shape[1], crop.shape[0])), cv2.COLOR_BGR2RGB)
    inner = (slice(10, -10), slice(10, -10))  # edges blur across the outline
    error = np.abs(crop[inner].astype(float) - expected[inner].astype(float)).mean()
    other = cv2.cvtColor(cv2.resize(artwork(3), (crop.shape[1], crop.shape[0])),
                         cv2.COLOR_BGR2RGB)
    assert error < 25
    assert error < 0.5 * np.abs(crop[inner].astype(float) - other[inner].astype(float)).mean()


def test_large_frames_are_detected_on_a_downscaled_copy():
    frame = cv2.resize(hang(wall(), artwork(4)), None, fx=3, fy=3)
    detection = PaintingDetector(max_width=480).detect(frame)
    assert detection.found
    assert np.abs(detection.quad - DEFAULT_QUAD * 3).max() < 40


def test_without_a_painting_outline_the_frame_edges_are_used():
    frame = wall()
    detection = PaintingDetector().detect(frame)
    assert not detection.found
    height, width = frame.shape[:2]
    assert detection.quad.tolist() == [[0, 0], [width - 1, 0], [width - 1, height - 1],
                                       [0, height - 1]]


def test_corners_are_ordered_clockwise_from_top_left():
    shuffled = DEFAULT_QUAD[[2, 0, 3, 1]]
    assert np.array_equal(order_corners(shuffled), DEFAULT_QUAD)
    diamond = np.array([[50, 0], [100, 50], [50, 100], [0, 50]], np.float32)
    ordered = order_corners(diamond)
    assert len({tuple(p) for p in ordered.tolist()}) == 4
