"""The visitor's comment field with a one-line hint under it."""

from __future__ import annotations

import re
from dataclasses import replace

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QLabel, QLineEdit, QVBoxLayout, QWidget

from installation.comment import HINT_EMPTY, HINT_SHORTENED, CleanComment, clean_comment

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
        """The field's text through ``clean_comment``. A paste longer than INPUT_LIMIT has been
        cut by Qt, maybe inside a word, and cleaning may leave fewer than 600 characters (a
        paste of mostly blank lines): that last fragment is dropped, the hint says shortened."""
        raw = self.field.text()
        if len(raw.encode("utf-16-le")) // 2 < INPUT_LIMIT:  # Qt counts UTF-16 units
            return clean_comment(raw)
        comment = clean_comment(re.sub(r"\s+\S*\Z", "", raw) or raw)
        return replace(comment, hint=HINT_SHORTENED, shortened=True) if comment.text else comment

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
