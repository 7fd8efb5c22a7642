"""A push button that takes touches itself and never takes the keyboard focus.

Qt turns an unhandled touch into mouse events for the *first* finger only, so two quick taps
with two fingers (how people type on a screen keyboard) lose the second key. A
``TouchButton`` accepts touch events, so every finger that lifts inside it is one click; a
mouse (or a touch a platform already turned into mouse events) clicks it as usual. It has no
focus, so the text field being typed into keeps the cursor.
"""

from __future__ import annotations

from PyQt6.QtCore import QEvent, QPointF, Qt
from PyQt6.QtGui import QTouchEvent
from PyQt6.QtWidgets import QPushButton, QWidget

_TOUCH_EVENTS = {QEvent.Type.TouchBegin, QEvent.Type.TouchUpdate, QEvent.Type.TouchEnd,
                 QEvent.Type.TouchCancel}


class TouchButton(QPushButton):
    """A button for the on-screen keyboard and the word row: one click per finger lifted over
    it (a finger that slides off before lifting does not click), no focus."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_AcceptTouchEvents)
        self._fingers: set[int] = set()

    def event(self, event: QEvent) -> bool:
        if event.type() in _TOUCH_EVENTS and isinstance(event, QTouchEvent):
            self._touch(event)
            event.accept()
            return True
        return super().event(event)

    def _touch(self, event: QTouchEvent) -> None:
        if event.type() == QEvent.Type.TouchCancel:
            self._fingers.clear()
            self.setDown(False)
            return
        clicks = 0
        for point in event.points():
            state = point.state()
            inside = self._inside(point.globalPosition())
            if state == point.State.Pressed and self.isEnabled():
                self._fingers.add(point.id())
            elif state == point.State.Released and point.id() in self._fingers:
                self._fingers.discard(point.id())
                clicks += inside
            elif state == point.State.Updated and not inside:
                self._fingers.discard(point.id())  # slid off: this finger no longer clicks
        self.setDown(bool(self._fingers))
        for _ in range(clicks):
            self.click()

    def _inside(self, global_position: QPointF) -> bool:
        return self.rect().contains(self.mapFromGlobal(global_position).toPoint())
