"""Touch-only comment entry: the word row and the on-screen keyboard, shown together when the
comment field is tapped (or gets the focus) and hidden on Compose or Hide."""

from __future__ import annotations

from PyQt6.QtCore import QEvent, QObject, Qt, pyqtSignal
from PyQt6.QtGui import QFocusEvent
from PyQt6.QtWidgets import QFrame, QLineEdit, QVBoxLayout, QWidget

from installation.ui.touch_keyboard import TouchKeyboard
from installation.ui.word_row import WordRow, append_word

_OPENING_EVENTS = {QEvent.Type.MouseButtonPress, QEvent.Type.TouchBegin}
_QUIET_FOCUS = {Qt.FocusReason.ActiveWindowFocusReason, Qt.FocusReason.PopupFocusReason}
"""The field getting focus back with its window (or after a popup) is no visitor's tap."""


class KeyboardPanel(QFrame):
    """Types into ``field``; hidden until the field is tapped or focused by the visitor."""

    open_changed = pyqtSignal(bool)
    """True just before the panel shows, False just after it hides."""

    def __init__(self, field: QLineEdit, layout: str = "qwerty",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("keyboardPanel")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.field = field
        self.words = WordRow(self)
        self.keyboard = TouchKeyboard(field, layout, self)
        box = QVBoxLayout(self)
        box.setContentsMargins(16, 14, 16, 16)
        box.setSpacing(12)
        box.addWidget(self.words)
        box.addWidget(self.keyboard)
        self.words.word_tapped.connect(lambda word: append_word(self.field, word))
        self.keyboard.hide_requested.connect(self.close_keyboard)
        field.installEventFilter(self)
        self.setVisible(False)

    @property
    def is_open(self) -> bool:
        return not self.isHidden()

    def open_keyboard(self) -> None:
        if not self.is_open:
            self.open_changed.emit(True)  # first, so the window makes room before it shows
            self.setVisible(True)

    def close_keyboard(self) -> None:
        if self.is_open:
            self.setVisible(False)
            self.open_changed.emit(False)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.field and self.field.isEnabled():
            kind = event.type()
            if kind in _OPENING_EVENTS or (kind == QEvent.Type.FocusIn and isinstance(
                    event, QFocusEvent) and event.reason() not in _QUIET_FOCUS):
                self.open_keyboard()
        return False
