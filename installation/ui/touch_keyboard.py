"""The kiosk's on-screen keyboard (PyQt6's wheels carry no Qt virtual-keyboard plugin).

Touch-sized keys in the gallery's layout (``ui.keyboard_layout`` of the kiosk config), a row of
accented letters, one-shot shift, backspace, space, "Compose" (Enter) and a key that hides the
keyboard. Every key sends the same key events a hardware keyboard would to the target field,
so the field itself inserts the text, keeps its length limit and its cursor, and Enter reaches
it as ``returnPressed``. The keys never take focus, so the field keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass

from PyQt6.QtCore import QCoreApplication, Qt, pyqtSignal
from PyQt6.QtGui import QKeyEvent
from PyQt6.QtWidgets import QHBoxLayout, QLineEdit, QVBoxLayout, QWidget

from installation.config import KEYBOARD_LAYOUTS
from installation.ui.touch_button import TouchButton

SHIFT = "⇧"
BACKSPACE = "⌫"
SPACE = "space"
ENTER = "Compose ⏎"
HIDE = "Hide ⌄"
PUNCTUATION = (",", "'", ".", "!", "?")


@dataclass(frozen=True)
class KeyboardLayout:
    """The letter rows and the accent row of one layout (lower case)."""

    rows: tuple[str, str, str]
    accents: str


LAYOUTS: dict[str, KeyboardLayout] = {
    "qwerty": KeyboardLayout(("qwertyuiop", "asdfghjkl", "zxcvbnm"), "éèêàçñüöäß"),
    "azerty": KeyboardLayout(("azertyuiop", "qsdfghjklm", "wxcvbn"), "éèêàùçëïôœ"),
    "qwertz": KeyboardLayout(("qwertzuiopü", "asdfghjklöä", "yxcvbnm"), "ßéèêàçñôâë"),
}
assert tuple(LAYOUTS) == KEYBOARD_LAYOUTS, "config.KEYBOARD_LAYOUTS and LAYOUTS must agree"


def shifted(char: str) -> str:
    """``char`` in upper case, or as it is when it has no single upper-case letter (ß)."""
    upper = char.upper()
    return upper if len(upper) == 1 else char


class TouchKeyboard(QWidget):
    """Keys that type into ``target``; ``hide_requested`` when Compose or Hide is tapped."""

    hide_requested = pyqtSignal()

    def __init__(self, target: QLineEdit, layout: str = "qwerty",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        if layout not in LAYOUTS:
            raise ValueError(f"Keyboard layout '{layout}' is unknown; use one of "
                             f"{', '.join(LAYOUTS)}.")
        self.setObjectName("keyboard")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.target = target
        self.layout_name = layout
        self._letters: list[TouchButton] = []
        self._keys: dict[str, TouchButton] = {}
        spec = LAYOUTS[layout]
        rows = QVBoxLayout(self)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.setSpacing(8)
        rows.addLayout(self._row(spec.accents))
        rows.addLayout(self._row(spec.rows[0]))
        rows.addLayout(self._row(spec.rows[1]))
        rows.addLayout(self._row(spec.rows[2], left=SHIFT, right=BACKSPACE))
        rows.addLayout(self._bottom_row())
        self.shift_key.setCheckable(True)
        self.shift_key.toggled.connect(self._relabel)

    # -- building -----------------------------------------------------------------------------
    def _key(self, label: str, name: str = "key") -> TouchButton:
        key = TouchButton(label, self)
        key.setObjectName(name)
        self._keys.setdefault(label, key)
        return key

    def _row(self, chars: str, left: str = "", right: str = "") -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(8)
        if left:
            row.addWidget(self._action(left), 3)
        for char in chars:
            key = self._key(char)
            key.setProperty("char", char)
            key.clicked.connect(lambda _=False, k=key: self._type(str(k.property("char"))))
            self._letters.append(key)
            row.addWidget(key, 2)
        if right:
            row.addWidget(self._action(right), 3)
        return row

    def _bottom_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(8)
        row.addWidget(self._action(HIDE), 4)
        for mark in PUNCTUATION[:2]:
            row.addWidget(self._punctuation(mark), 2)
        row.addWidget(self._action(SPACE), 6)
        for mark in PUNCTUATION[2:]:
            row.addWidget(self._punctuation(mark), 2)
        row.addWidget(self._action(ENTER, "enterKey"), 6)
        return row

    def _punctuation(self, mark: str) -> TouchButton:
        key = self._key(mark)
        key.clicked.connect(lambda: self._send(Qt.Key.Key_unknown, mark))
        return key

    def _action(self, label: str, name: str = "actionKey") -> TouchButton:
        key = self._key(label, name)
        actions = {SHIFT: lambda: None, BACKSPACE: lambda: self._send(Qt.Key.Key_Backspace),
                   SPACE: lambda: self._send(Qt.Key.Key_Space, " "), ENTER: self._enter,
                   HIDE: self.hide_requested.emit}
        key.clicked.connect(actions[label])
        return key

    # -- what the keys do ---------------------------------------------------------------------
    @property
    def shift_key(self) -> TouchButton:
        return self._keys[SHIFT]

    def key(self, label: str) -> TouchButton:
        """The key showing ``label`` (a letter as written in the layout, or SHIFT, BACKSPACE,
        SPACE, ENTER, HIDE, a punctuation mark)."""
        return self._keys[label]

    def letter_keys(self) -> list[TouchButton]:
        return list(self._letters)

    def _type(self, char: str) -> None:
        self._send(Qt.Key.Key_unknown, shifted(char) if self.shift_key.isChecked() else char)
        self.shift_key.setChecked(False)  # one-shot, like a phone's keyboard

    def _enter(self) -> None:
        self._send(Qt.Key.Key_Return)
        self.hide_requested.emit()

    def _relabel(self, upper: bool) -> None:
        for key in self._letters:
            char = str(key.property("char"))
            key.setText(shifted(char) if upper else char)

    def _send(self, key: Qt.Key, text: str = "") -> None:
        """A key press and release to the field, as a hardware keyboard would send them."""
        for kind in (QKeyEvent.Type.KeyPress, QKeyEvent.Type.KeyRelease):
            QCoreApplication.sendEvent(self.target,
                                       QKeyEvent(kind, key, Qt.KeyboardModifier.NoModifier, text))
