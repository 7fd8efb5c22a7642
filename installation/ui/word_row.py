"""A row of words a visitor can tap to build a comment without typing: feeling words for the
painting in view, then words from the engine's reading of it (its art commentary)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QLineEdit, QSizePolicy, QWidget

from installation.ui import theme
from installation.ui.flow_layout import FlowLayout
from installation.ui.touch_button import TouchButton

FEELING_WORDS = {
    "amusement": "amusing", "awe": "awe-inspiring", "contentment": "content",
    "excitement": "exciting", "anger": "angry", "disgust": "disgusting", "fear": "fearful",
    "sadness": "sad",
}
"""The ArtEmis feelings as words that read well in a comment ("something else" has none)."""

DEFAULT_FEELINGS = ("contentment", "awe", "excitement", "sadness")
"""Feeling words offered while no painting is in view."""

MAX_FEELING_WORDS = 3
MAX_READING_WORDS = 6
MAX_LINES = 2
"""The row wraps onto at most this many lines, so the keyboard leaves room for the preview."""
SPACING = 12
_FILLERS = re.compile(r"[,;.]|\b(?:a painting|of|in|with|and|colours)\b", re.IGNORECASE)
_ARTICLE = re.compile(r"^(?:a|an|the)\s+", re.IGNORECASE)


def reading_words(commentary: str, limit: int = MAX_READING_WORDS) -> list[str]:
    """The phrases of the engine's commentary sentence (engine/commentary.py commentary_text,
    e.g. "A painting of cliffs in soft light, with warm colours of ochre and gold; busy with
    detail.") without its connecting words and articles: ["cliffs", "soft light", "warm",
    "ochre", "gold", "busy", "detail"], in order, each once, at most ``limit``."""
    words: list[str] = []
    for part in _FILLERS.split(commentary):
        word = _ARTICLE.sub("", " ".join(part.split()))
        if word and word.lower() not in words:
            words.append(word.lower())
    return words[:limit]


def append_word(field: QLineEdit, word: str) -> bool:
    """Puts ``word`` at the end of the field's text, after a space; False (and nothing typed)
    when the whole word does not fit in the field's length limit."""
    text = field.text()
    piece = word if not text or text[-1].isspace() else f" {word}"
    if _qt_length(text + piece) > field.maxLength():
        return False
    field.end(False)
    field.insert(piece)
    return True


def _qt_length(text: str) -> int:
    """Length as Qt counts it (UTF-16 units: an emoji is two)."""
    return len(text.encode("utf-16-le")) // 2


class WordRow(QWidget):
    word_tapped = pyqtSignal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = FlowLayout(self, spacing=SPACING)
        self._buttons: list[TouchButton] = []
        self._feelings: list[str] = list(DEFAULT_FEELINGS)
        self._reading: list[str] = []
        sizing = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        sizing.setHeightForWidth(True)
        self.setSizePolicy(sizing)
        self._rebuild()

    def set_feelings(self, feelings: Sequence[tuple[str, float]] | Sequence[str]) -> None:
        """The painting's feelings (names or (name, score) pairs, as the chips get them);
        empty = the default feeling words."""
        names = [f if isinstance(f, str) else f[0] for f in feelings]
        self._feelings = [n for n in names if n in FEELING_WORDS] or list(DEFAULT_FEELINGS)
        self._rebuild()

    def set_reading(self, commentary: str) -> None:
        """The engine's commentary of the painting in view ("" = none)."""
        self._reading = reading_words(commentary)
        self._rebuild()

    def words(self) -> list[str]:
        return [b.text() for b in self._buttons]

    def button(self, word: str) -> TouchButton:
        return next(b for b in self._buttons if b.text() == word)

    def _rebuild(self) -> None:
        for button in self._buttons:
            self._layout.removeWidget(button)
            button.hide()
            button.deleteLater()
        self._buttons = []
        words = [FEELING_WORDS[f] for f in self._feelings[:MAX_FEELING_WORDS]]
        words += [w for w in self._reading if w not in words]
        for word in words:
            button = TouchButton(word, self)
            button.setObjectName("word")
            button.setMinimumHeight(theme.TOUCH_PX)
            button.clicked.connect(lambda _=False, w=word: self.word_tapped.emit(w))
            self._layout.addWidget(button)
            button.show()
            self._buttons.append(button)
        self._fit_height()
        self.updateGeometry()

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._layout.heightForWidth(width)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_height()

    def _fit_height(self) -> None:
        """As many lines as the words need, at most MAX_LINES (words beyond stay hidden)."""
        line = max((b.sizeHint().height() for b in self._buttons), default=theme.TOUCH_PX)
        most = MAX_LINES * line + (MAX_LINES - 1) * SPACING
        needed = min(self._layout.heightForWidth(self.width()), most) if self._buttons else 0
        if self.height() != needed or self.minimumHeight() != needed:
            self.setFixedHeight(needed)
