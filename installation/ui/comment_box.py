"""The visitor's comment field with a one-line hint under it."""

from __future__ import annotations

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QLabel, QLineEdit, QVBoxLayout, QWidget

from installation.comment import HINT_EMPTY, CleanComment, clean_comment

INPUT_LIMIT = 2_000
"""Qt keeps at most this many typed/pasted characters (the prompt uses at most 600); laying out
10 000 pasted emoji would stall the screen for seconds."""


class CommentBox(QWidget):
    submitted = pyqtSignal(str)  # the cleaned text, on Enter

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.field = QLineEdit(self)
        self.field.setPlaceholderText("How does it make you feel?")
        self.field.setMaxLength(INPUT_LIMIT)
        self.hint = QLabel(HINT_EMPTY, self)
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        layout.addWidget(self.field)
        layout.addWidget(self.hint)
        self.field.textChanged.connect(self._update_hint)
        self.field.returnPressed.connect(lambda: self.submitted.emit(self.cleaned().text))

    def cleaned(self) -> CleanComment:
        return clean_comment(self.field.text())

    def clear(self) -> None:
        self.field.clear()

    def _update_hint(self) -> None:
        comment = self.cleaned()
        self.hint.setText(comment.hint)
        warning = comment.shortened or comment.removed_control
        if self.hint.property("warning") != warning:
            self.hint.setProperty("warning", warning)
            self.hint.style().unpolish(self.hint)
            self.hint.style().polish(self.hint)
