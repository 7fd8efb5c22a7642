"""The live camera picture with the detected painting outlined and a "hold still" gauge."""

from __future__ import annotations

import cv2
from PyQt6.QtCore import QPointF, QRectF, Qt
from PyQt6.QtGui import QImage, QPainter, QPen, QPolygonF
from PyQt6.QtWidgets import QSizePolicy, QWidget

from installation.camera import PreviewFrame
from installation.ui import theme
from installation.ui.images import fit_rect, rgb_to_qimage, rounded_clip

RADIUS = 22.0
BACKDROP_SIZE = (24, 14)


class LivePreview(QWidget):
    def __init__(self, steady_seconds: float = 1.2, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.steady_seconds = steady_seconds
        self._image: QImage | None = None
        self._backdrop: QImage | None = None
        self._frame: PreviewFrame | None = None
        self.listening = False
        """True while music plays for the painting in view (changes the caption)."""
        self.message = "Waiting for the camera…"
        self.composing_text = "Composing…"
        """Caption once the painting is steady and before its music starts."""
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 240)

    def show_frame(self, frame: PreviewFrame) -> None:
        self._frame = frame
        self._image = rgb_to_qimage(frame.rgb)
        tiny = cv2.resize(frame.rgb, BACKDROP_SIZE, interpolation=cv2.INTER_AREA)
        self._backdrop = rgb_to_qimage(tiny)  # scaled up smoothly, it is a soft blur
        self.update()

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
            width, height = self._image.width(), self._image.height()
            if self._backdrop is not None:  # a dim, blurred copy fills the bands around it
                painter.setOpacity(0.3)
                painter.drawImage(fit_rect(width, height, area, cover=True), self._backdrop)
                painter.setOpacity(1.0)
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
        scale = target.width() / self._image.width()
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
