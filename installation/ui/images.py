"""numpy ↔ Qt image helpers and drawing of a picture fitted into a rectangle."""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QRectF
from PyQt6.QtGui import QImage, QPainter, QPainterPath


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """An owned copy of an RGB uint8 [H, W, 3] array as a QImage."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width = rgb.shape[:2]
    return QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


def bgr_to_qimage(bgr: np.ndarray) -> QImage:
    return rgb_to_qimage(np.ascontiguousarray(bgr[..., ::-1]))


def fit_rect(image_w: float, image_h: float, area: QRectF, cover: bool = False) -> QRectF:
    """The rectangle an image of that size takes when scaled into ``area`` keeping its aspect
    ratio: inside it (``cover`` False) or filling it (``cover`` True), centred."""
    if image_w <= 0 or image_h <= 0:
        return QRectF(area)
    scale = (max if cover else min)(area.width() / image_w, area.height() / image_h)
    width, height = image_w * scale, image_h * scale
    return QRectF(area.center().x() - width / 2, area.center().y() - height / 2, width, height)


def rounded_clip(painter: QPainter, rect: QRectF, radius: float) -> None:
    path = QPainterPath()
    path.addRoundedRect(rect, radius, radius)
    painter.setClipPath(path)
