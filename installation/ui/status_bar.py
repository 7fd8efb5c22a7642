"""Camera / sound / music-engine state as three labelled lights and a one-line message."""

from __future__ import annotations

from PyQt6.QtCore import QRectF, QSize, Qt
from PyQt6.QtGui import QPainter
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QWidget

from installation.ui import theme


class StatusLight(QWidget):
    """A coloured dot and a short label, e.g. "● Camera"."""

    def __init__(self, label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = label
        self.level = "idle"
        self.message = ""
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

    def set_state(self, level: str, message: str) -> None:
        self.level, self.message = level, message
        self.setToolTip(message)
        self.update()

    def sizeHint(self) -> QSize:
        width = self.fontMetrics().horizontalAdvance(self.label)
        return QSize(width + 76, 56)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.color(theme.PANEL_RAISED))
        rect = QRectF(self.rect())
        painter.drawRoundedRect(rect, rect.height() / 2, rect.height() / 2)
        painter.setBrush(theme.color(theme.STATE_COLOURS.get(self.level, theme.MUTED)))
        painter.drawEllipse(QRectF(20, rect.height() / 2 - 10, 20, 20))
        painter.setPen(theme.color(theme.TEXT))
        painter.setFont(self.font())
        painter.drawText(rect.adjusted(52, 0, 0, 0),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, self.label)
        painter.end()


class ElidedLabel(QLabel):
    """A one-line label that drops its middle ("…") when the text does not fit: a status
    message starts with what happened and ends with what the kiosk does next ("Retrying in
    4 s."), while a long file path in between matters least (full text as tooltip)."""

    def shown_text(self) -> str:
        """The text as drawn at the label's current width."""
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideMiddle,
                                             self.width())

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(QRectF(self.rect()), int(self.alignment()), self.shown_text())
        painter.end()


class StatusPanel(QWidget):
    """The bottom bar. ``message`` shows the most urgent of the three parts' messages."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.camera = StatusLight("Camera", self)
        self.audio = StatusLight("Sound", self)
        self.engine = StatusLight("Music engine", self)
        for light in self.lights():
            light.setFont(theme.font(theme.FONT_HINT_PX))
        self.message = ElidedLabel("", self)
        self.message.setAlignment(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft)
        self.message.setObjectName("hint")
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(14)
        for light in self.lights():
            layout.addWidget(light)
        layout.addSpacing(10)
        layout.addWidget(self.message, 1)

    def lights(self) -> list[StatusLight]:
        return [self.camera, self.audio, self.engine]

    def set_part(self, part: str, level: str, message: str) -> None:
        getattr(self, part).set_state(level, message)
        self._refresh_message()

    def _refresh_message(self) -> None:
        rank = {"error": 0, "warn": 1, "busy": 2, "ok": 3, "idle": 4}
        worst = min(self.lights(), key=lambda light: rank.get(light.level, 5))
        self.message.setText(worst.message)
        self.message.setToolTip(worst.message)
