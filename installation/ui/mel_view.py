"""The now-playing view: the generated Mel spectrogram, revealed as the music plays.

A streamed piece's Mel arrives in parts while it plays: `set_mel` with the first frames and the
piece's length draws the frames still to come dark, and `extend_mel` adds frames in place.
"""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QRectF, Qt
from PyQt6.QtGui import QImage, QPainter, QPen
from PyQt6.QtWidgets import QSizePolicy, QWidget

from installation.ui import theme
from installation.ui.images import rgb_to_qimage, rounded_clip

_PALETTE = np.array([  # dark → warm → light, in the kiosk's colours
    (21, 18, 15), (58, 31, 64), (140, 48, 72), (214, 104, 58), (240, 190, 96), (250, 240, 200),
], dtype=np.float32)


def colour_map(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1] → RGB uint8 through the palette above."""
    positions = np.clip(values, 0.0, 1.0) * (len(_PALETTE) - 1)
    low = np.floor(positions).astype(int)
    high = np.minimum(low + 1, len(_PALETTE) - 1)
    frac = (positions - low)[..., None]
    return (_PALETTE[low] * (1 - frac) + _PALETTE[high] * frac).astype(np.uint8)


def mel_to_rgb(log_mel: np.ndarray, floor_db: float = 70.0, frames: int | None = None
               ) -> np.ndarray:
    """Natural-log Mel [n_mels, T] → RGB [n_mels, max(T, frames), 3], low frequencies at the
    bottom, the top ``floor_db`` dB of the piece mapped onto the palette; columns past T (the
    frames of a streamed piece not generated yet) in the palette's darkest colour."""
    db = np.asarray(log_mel, dtype=np.float32) * (20.0 / np.log(10.0))
    top = float(np.max(db)) if db.size else 0.0
    normalised = (db - (top - floor_db)) / floor_db
    missing = max(0, (frames or 0) - db.shape[-1])
    if missing:
        normalised = np.pad(normalised, ((0, 0), (0, missing)), constant_values=0.0)
    return colour_map(normalised[::-1])


class MelView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self._frames: int | None = None
        self._progress = 0.0
        self.caption = "Music will appear here"
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(200)

    @property
    def progress(self) -> float:
        return self._progress

    def set_mel(self, log_mel: np.ndarray | None, caption: str = "",
                frames: int | None = None) -> None:
        """A new piece's Mel (playhead back to the start); `frames`: the piece's length when
        `log_mel` holds only its first frames so far."""
        self._frames = frames
        self._image = self._render(log_mel)
        self._progress = 0.0
        self.caption = caption
        self.update()

    def extend_mel(self, log_mel: np.ndarray) -> None:
        """More frames of the piece shown (all it has so far); playhead and caption stay."""
        self._image = self._render(log_mel)
        self.update()

    def _render(self, log_mel: np.ndarray | None) -> QImage | None:
        if log_mel is None or log_mel.shape[-1] == 0:
            return None
        return rgb_to_qimage(mel_to_rgb(log_mel, frames=self._frames))

    def set_progress(self, fraction: float) -> None:
        fraction = float(np.clip(fraction, 0.0, 1.0))
        if abs(fraction - self._progress) > 1e-4:
            self._progress = fraction
            self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        area = QRectF(self.rect())
        painter.fillRect(area, theme.color(theme.PANEL))
        rounded_clip(painter, area, 18.0)
        painter.fillRect(area, theme.color(theme.BACKGROUND))
        if self._image is not None:
            played = area.width() * self._progress
            painter.setOpacity(0.22)  # what is still to come, faintly
            painter.drawImage(area, self._image)
            painter.setOpacity(1.0)
            source_w = self._image.width() * self._progress
            if source_w >= 1.0:
                painter.drawImage(QRectF(area.left(), area.top(), played, area.height()),
                                  self._image, QRectF(0, 0, source_w, self._image.height()))
            if 0.0 < self._progress < 1.0:
                painter.setPen(QPen(theme.color(theme.TEXT), 4))
                x = area.left() + played
                painter.drawLine(int(x), int(area.top()), int(x), int(area.bottom()))
        if self.caption:
            self._draw_caption(painter, area)
        painter.end()

    def _draw_caption(self, painter: QPainter, area: QRectF) -> None:
        painter.setFont(theme.font(theme.FONT_HINT_PX, bold=self._image is not None))
        if self._image is None:
            painter.setPen(theme.color(theme.MUTED))
            painter.drawText(area.adjusted(22, 16, -22, -16),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self.caption)
            return
        metrics = painter.fontMetrics()
        text = metrics.elidedText(self.caption, Qt.TextElideMode.ElideRight,
                                  int(area.width()) - 60)
        pill = QRectF(area.left() + 14, area.top() + 14,
                      metrics.horizontalAdvance(text) + 32, metrics.height() + 14)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.color(theme.BACKGROUND, 200))
        painter.drawRoundedRect(pill, pill.height() / 2, pill.height() / 2)
        painter.setPen(theme.color(theme.TEXT))
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, text)
