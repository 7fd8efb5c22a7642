"""The live camera picture with the detected painting outlined and a "hold still" gauge."""

from __future__ import annotations

import time

import cv2
import numpy as np
from PyQt6.QtCore import QPointF, QRectF, Qt
from PyQt6.QtGui import QImage, QPainter, QPen, QPolygonF
from PyQt6.QtWidgets import QSizePolicy, QWidget

from installation.camera import PreviewFrame
from installation.ui import theme
from installation.ui.images import fit_rect, rgb_to_qimage, rounded_clip

RADIUS = 22.0
BACKDROP_SIZE = (24, 14)
BACKDROP_OPACITY = 0.3
BACKDROP_EVERY_S = 1.0
"""The blurred backdrop follows the camera once a second (it is a soft glow)."""


class LivePreview(QWidget):
    def __init__(self, steady_seconds: float = 1.2, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.steady_seconds = steady_seconds
        self._image: QImage | None = None
        self._backdrop: QImage | None = None
        self._backdrop_at = 0.0
        self._frame: PreviewFrame | None = None
        self.listening = False
        """True while music plays for the painting in view (changes the caption)."""
        self.message = "Waiting for the camera…"
        self.composing_text = "Composing…"
        """Caption once the painting is steady and before its music starts."""
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 240)

    def show_frame(self, frame: PreviewFrame) -> None:
        """Takes a new camera frame. It is scaled here, once, to the size it is drawn at (by
        OpenCV), so painting is a plain copy: Qt's smooth scaling of every frame cost the UI
        thread as much CPU as the music's vocoder on a 2-core PC."""
        self._frame = frame
        height, width = frame.rgb.shape[:2]
        area = QRectF(self.rect())
        target = fit_rect(width, height, area)
        size = (max(1, round(target.width())), max(1, round(target.height())))
        rgb = frame.rgb
        if size != (width, height):
            shrink = size[0] < width
            rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if shrink
                             else cv2.INTER_LINEAR)
        self._image = rgb_to_qimage(rgb)
        now = time.monotonic()
        if self._backdrop is None or now - self._backdrop_at >= BACKDROP_EVERY_S:
            self._backdrop_at = now
            self._backdrop = self._make_backdrop(frame.rgb, area)
        self.update()

    @staticmethod
    def _make_backdrop(rgb, area: QRectF) -> QImage:
        """A soft, dim copy of the frame covering `area`, already blended with the panel."""
        height, width = rgb.shape[:2]
        cover = fit_rect(width, height, area, cover=True)
        tiny = cv2.resize(rgb, BACKDROP_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)
        panel = theme.color(theme.PANEL)
        base = np.array([panel.red(), panel.green(), panel.blue()], np.float32)
        dim = (BACKDROP_OPACITY * tiny + (1.0 - BACKDROP_OPACITY) * base).astype(np.uint8)
        size = (max(1, round(cover.width())), max(1, round(cover.height())))
        # blending before scaling up is the same blend (both are linear) on 336 pixels
        return rgb_to_qimage(cv2.resize(dim, size, interpolation=cv2.INTER_LINEAR))

    def clear(self, message: str) -> None:
        self._frame, self._image, self._backdrop, self.message = None, None, None, message
        self.update()

    def caption(self) -> str:
        frame = self._frame
        if frame is None:
            return self.message
        if frame.state.empty:
            return "Hold a painting up to the camera"
        if frame.state.moving:
            return "Hold it still…"
        if self.listening:
            return "Listening to this painting"
        if frame.state.still_for < self.steady_seconds:
            return "Hold it still…"
        return self.composing_text

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        area = QRectF(self.rect())
        painter.fillRect(area, theme.color(theme.BACKGROUND))
        rounded_clip(painter, area, RADIUS)
        painter.fillRect(area, theme.color(theme.PANEL))
        if self._image is not None and self._frame is not None:
            height, width = self._frame.rgb.shape[:2]
            if self._backdrop is not None:  # a dim, blurred copy fills the bands around it
                painter.drawImage(fit_rect(width, height, area, cover=True), self._backdrop)
            target = fit_rect(width, height, area)
            painter.drawImage(target, self._image)
            self._draw_outline(painter, target)
        self._draw_caption(painter, area)
        painter.end()

    def _draw_outline(self, painter: QPainter, target: QRectF) -> None:
        frame = self._frame
        assert frame is not None and self._image is not None
        if frame.state.empty:
            return
        scale = target.width() / frame.rgb.shape[1]
        points = [QPointF(target.x() + x * scale, target.y() + y * scale) for x, y in frame.quad]
        colour = theme.ACCENT if frame.found else theme.MUTED
        pen = QPen(theme.color(colour), 6)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        if not frame.found:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPolygon(QPolygonF(points))
        if frame.found:
            painter.setBrush(theme.color(colour))
            for point in points:
                painter.drawEllipse(point, 10, 10)

    def _draw_caption(self, painter: QPainter, area: QRectF) -> None:
        text = self.caption()
        painter.setFont(theme.font(34, bold=True))
        metrics = painter.fontMetrics()
        width = metrics.horizontalAdvance(text) + 64
        height = 84
        box = QRectF(area.center().x() - width / 2, area.bottom() - height - 28, width, height)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.color(theme.BACKGROUND, 215))
        painter.drawRoundedRect(box, height / 2, height / 2)
        frame = self._frame
        if frame is not None and not frame.state.empty and not frame.state.moving \
                and not self.listening:
            progress = min(1.0, frame.state.still_for / max(self.steady_seconds, 1e-3))
            bar = QRectF(box.left() + 32, box.bottom() - 14, (box.width() - 64) * progress, 6)
            painter.setBrush(theme.color(theme.ACCENT))
            painter.drawRoundedRect(bar, 3, 3)
        painter.setPen(theme.color(theme.TEXT))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
