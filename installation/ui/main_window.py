"""The kiosk window: camera (or attract loop) on the left, music and feelings on the right.

The window only displays state and reports what the visitor does; the controller decides.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PyQt6.QtCore import QEvent, QObject, Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSizePolicy,
    QSlider,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from installation.camera import PreviewFrame
from installation.ui import theme
from installation.ui.attract import AttractView
from installation.ui.chips import FeelingChips
from installation.ui.comment_box import CommentBox
from installation.ui.keyboard_panel import KeyboardPanel
from installation.ui.mel_view import MelView
from installation.ui.preview import LivePreview
from installation.ui.status_bar import StatusPanel

RIGHT_PANEL_WIDTH = 780
PLAY_AGAIN = "Play again"
NEW_VARIATION = "New variation"
"""The replay button's label when the engine samples: it composes the painting anew."""

_ACTIVITY_EVENTS = {QEvent.Type.MouseButtonPress, QEvent.Type.KeyPress, QEvent.Type.TouchBegin}


def _label(text: str, name: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setObjectName(name)
    return label


class MainWindow(QMainWindow):
    compose_requested = pyqtSignal(str, list)  # cleaned comment, chosen feelings
    play_again_requested = pyqtSignal()
    feelings_changed = pyqtSignal(list)
    volume_changed = pyqtSignal(float)
    user_activity = pyqtSignal()

    def __init__(self, artworks_bgr: Sequence[np.ndarray], steady_seconds: float = 1.2,
                 attract_cycle_seconds: float = 6.0, volume: float = 0.8,
                 keyboard_layout: str = "qwerty") -> None:
        super().__init__()
        self.setWindowTitle("Art2Music Live")
        self.setStyleSheet(theme.STYLE_SHEET)
        self.preview = LivePreview(steady_seconds)
        self.attract = AttractView(artworks_bgr, attract_cycle_seconds)
        self.stage = QStackedWidget()
        self.stage.addWidget(self.preview)
        self.stage.addWidget(self.attract)
        self.mel_view = MelView()
        self.chips = FeelingChips()
        self.comment = CommentBox()
        self.compose_button = QPushButton("Compose")
        self.compose_button.setObjectName("primary")
        self.play_again_button = QPushButton(PLAY_AGAIN)
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setRange(0, 100)
        self.volume.setValue(round(volume * 100))
        self.volume.setMinimumWidth(300)
        self.status = StatusPanel()
        self.feelings_hint = _label("Feelings appear when a painting is in view.", "hint", self)
        self.reading = _label("", "reading", self)
        self.reading.setWordWrap(True)
        self.reading.setVisible(False)
        self.keyboard = KeyboardPanel(self.comment.field, keyboard_layout)
        self.setCentralWidget(self._build())
        self.keyboard.ensurePolished()  # hidden keys measured in the kiosk's style, not Qt's
        self.play_again_button.setEnabled(False)
        self.compose_button.setEnabled(False)

        self.compose_button.clicked.connect(self._request_compose)
        self.compose_button.clicked.connect(self.keyboard.close_keyboard)
        self.keyboard.open_changed.connect(self._keyboard_toggled)
        self.comment.submitted.connect(lambda _text: self._request_compose())
        self.play_again_button.clicked.connect(self.play_again_requested)
        self.chips.selection_changed.connect(self.feelings_changed)
        self.volume.valueChanged.connect(lambda value: self.volume_changed.emit(value / 100.0))

    # -- layout -------------------------------------------------------------------------------
    def _build(self) -> QWidget:
        root = QWidget()
        outer = QVBoxLayout(root)
        outer.setContentsMargins(theme.MARGIN_PX, 18, theme.MARGIN_PX, 18)
        outer.setSpacing(18)
        outer.addLayout(self._header())
        body = QHBoxLayout()
        body.setSpacing(theme.MARGIN_PX)
        left = QVBoxLayout()
        left.setSpacing(14)
        left.addWidget(self.stage, 1)
        left.addStretch(0)  # takes the preview's room while the keyboard replaces it
        left.addWidget(self.reading)
        left.addWidget(self.keyboard)
        body.addLayout(left, 1)
        body.addWidget(self._music_panel())
        outer.addLayout(body, 1)
        outer.addWidget(self.status)
        return root

    def _header(self) -> QHBoxLayout:
        header = QHBoxLayout()
        header.setSpacing(20)
        header.addWidget(_label("Art2Music Live", "title", self))
        subtitle = _label("music composed for the painting in front of you", "subtitle", self)
        # the header's buttons come first on a 1920 px screen: the subtitle wraps if it must
        subtitle.setWordWrap(True)
        subtitle.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        header.addWidget(subtitle, 0, Qt.AlignmentFlag.AlignVCenter)
        header.addStretch(1)
        quieter = QPushButton("−")
        louder = QPushButton("+")
        for button, step in ((quieter, -10), (louder, 10)):
            button.setFixedWidth(theme.TOUCH_PX)
            button.setFont(theme.font(40, bold=True))
            button.setStyleSheet("padding: 0; font-size: 40px;")
            button.clicked.connect(lambda _=False, s=step: self.volume.setValue(
                self.volume.value() + s))
        header.addWidget(_label("Volume", "section", self))
        header.addWidget(quieter)
        header.addWidget(self.volume)
        header.addWidget(louder)
        return header

    def _music_panel(self) -> QFrame:
        panel = QFrame()
        panel.setObjectName("panel")
        panel.setFixedWidth(RIGHT_PANEL_WIDTH)
        layout = QVBoxLayout(panel)
        layout.setContentsMargins(30, 26, 30, 30)
        layout.setSpacing(16)
        layout.addWidget(_label("NOW PLAYING", "section", panel))
        layout.addWidget(self.mel_view, 1)
        layout.addSpacing(8)
        layout.addWidget(_label("HOW DOES IT FEEL?", "section", panel))
        layout.addWidget(self.feelings_hint)
        layout.addWidget(self.chips)
        layout.addWidget(self.comment)
        buttons = QHBoxLayout()
        buttons.setSpacing(18)
        buttons.addWidget(self.compose_button, 1)
        buttons.addWidget(self.play_again_button, 1)
        layout.addLayout(buttons)
        return panel

    # -- what the controller shows ------------------------------------------------------------
    def show_attract(self, on: bool) -> None:
        self.stage.setCurrentWidget(self.attract if on else self.preview)
        if on:
            self.keyboard.close_keyboard()

    @property
    def attract_active(self) -> bool:
        return self.stage.currentWidget() is self.attract

    def show_preview(self, frame: PreviewFrame) -> None:
        self.preview.show_frame(frame)

    def show_reading(self, text: str) -> None:
        """The engine's art commentary of the painting in view, under the preview ("" hides it)."""
        self.reading.setText(f"What the kiosk sees: {text}" if text else "")
        self.reading.setVisible(bool(text))
        self.keyboard.words.set_reading(text)

    def _keyboard_toggled(self, is_open: bool) -> None:
        """The open keyboard takes the camera preview's place (the painting is in front of the
        visitor); the reading stays above it, since the word row offers its words."""
        self.stage.setVisible(not is_open)

    def show_feelings(self, feelings: Sequence[tuple[str, float]] | Sequence[str],
                      selected: Sequence[str] = ()) -> None:
        self.chips.set_feelings(feelings, selected)
        self.keyboard.words.set_feelings(feelings)
        self.feelings_hint.setVisible(not feelings)
        self.compose_button.setEnabled(bool(feelings))

    def set_can_compose(self, on: bool) -> None:
        """A painting is in view and known to the engine: comments can be composed (also when
        the bundle offers no feeling chips)."""
        self.compose_button.setEnabled(on)

    def offer_variations(self, on: bool) -> None:
        """The replay button says "New variation" (the engine draws a new piece of the same
        painting) or "Play again" (the same piece is replayed)."""
        self.play_again_button.setText(NEW_VARIATION if on else PLAY_AGAIN)

    def set_part_status(self, part: str, level: str, message: str) -> None:
        """``part``: "camera" | "audio" | "engine"; ``level``: ok/busy/warn/error/idle."""
        self.status.set_part(part, level, message)

    # -- visitor input ------------------------------------------------------------------------
    def _request_compose(self) -> None:
        if self.compose_button.isEnabled():
            self.compose_requested.emit(self.comment.cleaned().text, self.chips.selected())

    def install_activity_filter(self, target: QObject) -> None:
        """Reports any touch, click or key press in the application as ``user_activity``."""
        target.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _ACTIVITY_EVENTS:
            self.user_activity.emit()
        return False
