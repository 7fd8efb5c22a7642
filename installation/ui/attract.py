"""The attract loop: sample artworks drift and dissolve into each other under an invitation.

It animates only while visible, so an idle kiosk does not spend the CPU on it otherwise.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
from PyQt6.QtCore import QRectF, Qt, QTimer
from PyQt6.QtGui import QImage, QLinearGradient, QPainter
from PyQt6.QtWidgets import QSizePolicy, QWidget

from installation.ui import theme
from installation.ui.images import bgr_to_qimage, fit_rect, rounded_clip

FADE_SECONDS = 1.5
FRAME_MS = 40


class AttractView(QWidget):
    def __init__(self, artworks_bgr: Sequence[np.ndarray], cycle_seconds: float = 6.0,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._images: list[QImage] = [bgr_to_qimage(a) for a in artworks_bgr]
        self.cycle_seconds = max(cycle_seconds, FADE_SECONDS + 0.5)
        self.headline = "Hold a painting up to the camera"
        self.subline = "…and hear the music it inspires"
        self._started = time.monotonic()
        self._timer = QTimer(self)
        self._timer.setInterval(FRAME_MS)
        self._timer.timeout.connect(self.update)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 240)

    def showEvent(self, event) -> None:
        self._started = time.monotonic()
        self._timer.start()
        super().showEvent(event)

    def hideEvent(self, event) -> None:
        self._timer.stop()
        super().hideEvent(event)

    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        area = QRectF(self.rect())
        painter.fillRect(area, theme.color(theme.BACKGROUND))
        rounded_clip(painter, area, 22.0)
        painter.fillRect(area, theme.color(theme.PANEL))
        if self._images:
            t = self.elapsed()
            index = int(t // self.cycle_seconds)
            phase = t % self.cycle_seconds
            self._draw_art(painter, area, index, phase, 1.0)
            fade_start = self.cycle_seconds - FADE_SECONDS
            if phase > fade_start and len(self._images) > 1:
                opacity = (phase - fade_start) / FADE_SECONDS
                self._draw_art(painter, area, index + 1, phase - self.cycle_seconds, opacity)
        self._draw_invitation(painter, area)
        painter.end()

    def _draw_art(self, painter: QPainter, area: QRectF, index: int, phase: float,
                  opacity: float) -> None:
        image = self._images[index % len(self._images)]
        zoom = 1.0 + 0.06 * (phase + FADE_SECONDS) / (self.cycle_seconds + FADE_SECONDS)
        target = fit_rect(image.width(), image.height(), area, cover=True)
        centre = target.center()
        target = QRectF(0, 0, target.width() * zoom, target.height() * zoom)
        target.moveCenter(centre)
        painter.setOpacity(max(0.0, min(1.0, opacity)))
        painter.drawImage(target, image)
        painter.setOpacity(1.0)

    def _draw_invitation(self, painter: QPainter, area: QRectF) -> None:
        shade = QLinearGradient(0, area.bottom() - 320, 0, area.bottom())
        shade.setColorAt(0.0, theme.color(theme.BACKGROUND, 0))
        shade.setColorAt(1.0, theme.color(theme.BACKGROUND, 235))
        painter.fillRect(QRectF(area.left(), area.bottom() - 320, area.width(), 320), shade)
        pulse = 0.75 + 0.25 * math.sin(self.elapsed() * 2.2)
        painter.setPen(theme.color(theme.TEXT, int(255 * pulse)))
        painter.setFont(theme.font(52, bold=True))
        painter.drawText(QRectF(area.left(), area.bottom() - 210, area.width(), 80),
                         Qt.AlignmentFlag.AlignCenter, self.headline)
        painter.setPen(theme.color(theme.ACCENT))
        painter.setFont(theme.font(34))
        painter.drawText(QRectF(area.left(), area.bottom() - 125, area.width(), 60),
                         Qt.AlignmentFlag.AlignCenter, self.subline)
