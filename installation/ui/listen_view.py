"""The listen mode's screens, laid over the whole kiosk window (issue 11).

Three pages: *recording* (a live level meter, seconds left, "Done" and "Cancel"), *match* (the
painting that fits, full screen, with its title, artist and feelings, "Play its music",
"Listen again", "Back") and *message* (one sentence: no microphone, heard nothing, …).
"""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QEvent, QObject, QRectF, Qt, pyqtSignal
from PyQt6.QtGui import QPainter
from PyQt6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from installation.ui import theme
from installation.ui.images import fit_rect, rgb_to_qimage

METER_FLOOR_DBFS = -60.0


def meter_percent(dbfs: float) -> int:
    """Level meter position: −60 dBFS (and below) = 0 %, 0 dBFS = 100 %."""
    return int(round(100 * min(1.0, max(0.0, 1.0 - dbfs / METER_FLOOR_DBFS))))


class PaintingCanvas(QWidget):
    """Draws one RGB picture as large as fits, keeping its aspect ratio."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image = None

    def set_image(self, rgb: np.ndarray | None) -> None:
        self._image = None if rgb is None else rgb_to_qimage(rgb)
        self.update()

    @property
    def has_image(self) -> bool:
        return self._image is not None

    def paintEvent(self, event) -> None:
        if self._image is None:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        target = fit_rect(self._image.width(), self._image.height(), QRectF(self.rect()))
        painter.drawImage(target, self._image)
        painter.end()


def _label(text: str, name: str, parent: QWidget, wrap: bool = True) -> QLabel:
    label = QLabel(text, parent)
    label.setObjectName(name)
    label.setWordWrap(wrap)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    return label


class ListenView(QWidget):
    """An overlay that covers its parent window while the listen mode is open."""

    stop_requested = pyqtSignal()
    cancel_requested = pyqtSignal()
    again_requested = pyqtSignal()
    play_requested = pyqtSignal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("listenView")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(f"QWidget#listenView {{ background: {theme.BACKGROUND}; }}")
        self.pages = QStackedWidget(self)
        self.recording = self._recording_page()
        self.match = self._match_page()
        self.message_page = self._message_page()
        for page in (self.recording, self.match, self.message_page):
            self.pages.addWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(theme.MARGIN_PX, theme.MARGIN_PX, theme.MARGIN_PX,
                                  theme.MARGIN_PX)
        layout.addWidget(self.pages)
        self._max_seconds = 15.0
        parent.installEventFilter(self)
        self.hide()

    # -- pages --------------------------------------------------------------------------------
    def _buttons(self, *buttons: QPushButton) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(18)
        row.addStretch(1)
        for button in buttons:
            button.setMinimumHeight(theme.TOUCH_PX)
            button.setMinimumWidth(280)
            row.addWidget(button)
        row.addStretch(1)
        return row

    def _recording_page(self) -> QWidget:
        page = QWidget(self)
        self.listening_title = _label("Listening…", "title", page)
        self.listening_hint = _label("Play or hum something close to the kiosk.", "hint", page)
        self.meter = QProgressBar(page)
        self.meter.setRange(0, 100)
        self.meter.setTextVisible(False)
        self.meter.setFixedHeight(48)
        self.meter.setStyleSheet(
            f"QProgressBar {{ background: {theme.PANEL_RAISED}; border-radius: 12px; }}"
            f"QProgressBar::chunk {{ background: {theme.ACCENT}; border-radius: 12px; }}")
        self.seconds = _label("", "subtitle", page)
        self.done_button = QPushButton("Done", page)
        self.done_button.setObjectName("primary")
        self.cancel_button = QPushButton("Cancel", page)
        self.done_button.clicked.connect(self.stop_requested)
        self.cancel_button.clicked.connect(self.cancel_requested)
        layout = QVBoxLayout(page)
        layout.addStretch(2)
        layout.addWidget(self.listening_title)
        layout.addWidget(self.listening_hint)
        layout.addSpacing(30)
        layout.addWidget(self.meter)
        layout.addWidget(self.seconds)
        layout.addStretch(1)
        layout.addLayout(self._buttons(self.done_button, self.cancel_button))
        layout.addStretch(2)
        return page

    def _match_page(self) -> QWidget:
        page = QWidget(self)
        self.canvas = PaintingCanvas(page)
        self.match_title = _label("", "title", page)
        self.match_feelings = _label("", "subtitle", page)
        self.match_others = _label("", "hint", page)
        self.play_button = QPushButton("Play its music", page)
        self.play_button.setObjectName("primary")
        self.again_button = QPushButton("Listen again", page)
        self.back_button = QPushButton("Back", page)
        self.play_button.clicked.connect(self.play_requested)
        self.again_button.clicked.connect(self.again_requested)
        self.back_button.clicked.connect(self.close_view)
        layout = QVBoxLayout(page)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.match_title)
        layout.addWidget(self.match_feelings)
        layout.addWidget(self.match_others)
        layout.addLayout(self._buttons(self.play_button, self.again_button, self.back_button))
        return page

    def _message_page(self) -> QWidget:
        page = QWidget(self)
        self.message = _label("", "title", page)
        self.retry_button = QPushButton("Listen again", page)
        self.message_back = QPushButton("Back", page)
        self.retry_button.clicked.connect(self.again_requested)
        self.message_back.clicked.connect(self.close_view)
        layout = QVBoxLayout(page)
        layout.addStretch(1)
        layout.addWidget(self.message)
        layout.addSpacing(30)
        layout.addLayout(self._buttons(self.retry_button, self.message_back))
        layout.addStretch(1)
        return page

    # -- what the listen mode shows -------------------------------------------------------------
    def _open(self, page: QWidget) -> None:
        self.pages.setCurrentWidget(page)
        self.setGeometry(self.parentWidget().rect())
        self.show()
        self.raise_()

    def show_recording(self, max_seconds: float) -> None:
        self._max_seconds = max_seconds
        self.listening_title.setText("Listening…")
        self.meter.setValue(0)
        self.seconds.setText(f"up to {max_seconds:.0f} s — press Done when you have played "
                             "enough")
        self.done_button.setEnabled(True)
        self._open(self.recording)

    def show_level(self, dbfs: float, seconds: float) -> None:
        self.meter.setValue(meter_percent(dbfs))
        left = max(0.0, self._max_seconds - seconds)
        self.seconds.setText(f"{seconds:.0f} s heard, {left:.0f} s left")

    def show_matching(self, seconds: float) -> None:
        self.listening_title.setText("Finding the painting that fits…")
        self.seconds.setText(f"{seconds:.0f} s heard")
        self.done_button.setEnabled(False)

    def show_match(self, result) -> None:
        best = result.matches[0]
        self.canvas.set_image(result.images[0])
        who = f" — {best.artist}" if best.artist else ""
        self.match_title.setText(f"{best.title}{who}")
        feelings = ", ".join(best.feelings)
        self.match_feelings.setText(f"It feels like: {feelings}" if feelings else "")
        others = [m.title for m in result.matches[1:]]
        self.match_others.setText(f"Also close: {', '.join(others)}" if others else "")
        self.play_button.setEnabled(result.images[0] is not None)
        self._open(self.match)

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self._open(self.message_page)

    def close_view(self) -> None:
        self.hide()

    @property
    def page(self) -> str:
        current = self.pages.currentWidget()
        return {id(self.recording): "recording", id(self.match): "match",
                id(self.message_page): "message"}[id(current)]

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.parentWidget() and event.type() == QEvent.Type.Resize:
            self.setGeometry(self.parentWidget().rect())
        return False
