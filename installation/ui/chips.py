"""A row of toggleable feeling chips (the engine's predicted ArtEmis feelings)."""

from __future__ import annotations

from collections.abc import Sequence

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QPushButton, QSizePolicy, QWidget

from installation.ui import theme
from installation.ui.flow_layout import FlowLayout


class FeelingChips(QWidget):
    selection_changed = pyqtSignal(list)  # list[str] of checked feelings, in display order

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = FlowLayout(self, spacing=16)
        self._buttons: list[QPushButton] = []
        sizing = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        sizing.setHeightForWidth(True)
        self.setSizePolicy(sizing)

    def set_feelings(self, feelings: Sequence[tuple[str, float]] | Sequence[str],
                     selected: Sequence[str] = ()) -> None:
        """Replaces the chips; ``feelings`` are names or (name, score) pairs."""
        for button in self._buttons:
            self._layout.removeWidget(button)
            button.deleteLater()
        self._buttons = []
        for item in feelings:
            name = item if isinstance(item, str) else item[0]
            button = QPushButton(name.capitalize(), self)
            button.setObjectName("chip")
            button.setCheckable(True)
            button.setChecked(name in selected)
            button.setProperty("feeling", name)
            button.setMinimumHeight(theme.TOUCH_PX)
            button.toggled.connect(self._emit)
            self._layout.addWidget(button)
            self._buttons.append(button)
        self._fit_height()
        self.updateGeometry()

    def feelings(self) -> list[str]:
        return [str(b.property("feeling")) for b in self._buttons]

    def selected(self) -> list[str]:
        return [str(b.property("feeling")) for b in self._buttons if b.isChecked()]

    def buttons(self) -> list[QPushButton]:
        return list(self._buttons)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._layout.heightForWidth(width)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_height()

    def _fit_height(self) -> None:
        """Box layouts do not ask a child for its height-for-width: ask for the wrapped rows."""
        needed = self._layout.heightForWidth(self.width()) if self._buttons else 0
        if self.minimumHeight() != needed:
            self.setMinimumHeight(needed)

    def _emit(self) -> None:
        self.selection_changed.emit(self.selected())
