"""Camera / sound / music-engine state as three labelled lights and the most urgent message,
shown whole (wrapped)."""

from __future__ import annotations

from PyQt6.QtCore import QRectF, QSize, Qt
from PyQt6.QtGui import QPainter, QTextLayout, QTextOption
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


class StatusMessage(QLabel):
    """The status message, whole: wrapped over up to ``MAX_LINES`` lines (a long file path is
    broken anywhere rather than overflow), so an error is read in full on the screen. Only a
    message longer than that is cut, at its end ("…"); the full text is the tooltip and goes to
    the log with every state change."""

    MAX_LINES = 4

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        policy = QSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt's name)
        super().setText(text)
        self.updateGeometry()

    def lines(self, width: int | None = None) -> list[str]:
        """The lines as drawn at ``width`` (default: the label's width)."""
        width = max(1, self.width() if width is None else width)
        text = self.text()
        if not text:
            return []
        layout = QTextLayout(text, self.font())
        option = QTextOption()
        option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        layout.setTextOption(option)
        layout.beginLayout()
        lines: list[str] = []
        while (line := layout.createLine()).isValid():
            line.setLineWidth(width)
            if len(lines) == self.MAX_LINES - 1:  # the last line takes the rest, elided at end
                rest = text[line.textStart():].strip()
                lines.append(self.fontMetrics().elidedText(rest, Qt.TextElideMode.ElideRight,
                                                           width))
                break
            lines.append(text[line.textStart():line.textStart() + line.textLength()].strip())
        layout.endLayout()
        return lines

    def shown_text(self) -> str:
        """The text as drawn at the label's current width, lines joined by newlines."""
        return "\n".join(self.lines())

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt's name)
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt's name)
        return max(1, len(self.lines(width))) * self.fontMetrics().lineSpacing()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(200, self.heightForWidth(max(self.width(), 200)))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(0, self.fontMetrics().lineSpacing())

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        if self.height() != self.heightForWidth(self.width()):
            self.updateGeometry()  # a new width may need more or fewer lines

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.setFont(self.font())
        step = self.fontMetrics().lineSpacing()
        lines = self.lines()
        top = max(0, (self.height() - step * len(lines)) // 2)
        for index, line in enumerate(lines):
            painter.drawText(QRectF(0, top + index * step, self.width(), step),
                             int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), line)
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
        self.message = StatusMessage("", self)
        self.message.setAlignment(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft)
        self.message.setObjectName("hint")
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
