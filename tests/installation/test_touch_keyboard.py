"""Touch-only comment entry: the on-screen keyboard and the word row, driven by taps (mouse
clicks and real QTouchEvents) in the real kiosk window, up to the controller's compose request."""

from __future__ import annotations

import pytest
from PyQt6.QtCore import QEvent, QPoint, QPointF, Qt
from PyQt6.QtGui import QEventPoint, QInputDevice, QPointingDevice, QTouchEvent
from PyQt6.QtTest import QTest
from PyQt6.QtWidgets import QApplication, QWidget

from engine.commentary import Looks, commentary_text
from installation.audio_player import AudioPlayer
from installation.camera import CameraWorker
from installation.composer import ComposeRequest, ComposerThread
from installation.config import (
    KEYBOARD_LAYOUTS,
    AudioOutputConfig,
    ConfigError,
    KioskConfig,
    UiConfig,
    load_config,
)
from installation.controller import KioskController
from installation.kiosk import build_kiosk
from installation.ui.comment_box import INPUT_LIMIT
from installation.ui.main_window import MainWindow
from installation.ui.touch_button import TouchButton
from installation.ui.touch_keyboard import BACKSPACE, ENTER, HIDE, LAYOUTS, SHIFT, SPACE
from installation.ui.word_row import FEELING_WORDS, reading_words
from installation.vision import VisionPipeline
from tests.installation.helpers import FakeEngine, artwork

FEELINGS = [("contentment", 0.41), ("awe", 0.22), ("sadness", 0.14), ("something else", 0.1)]
COMMENTARY = commentary_text(["cliffs", "a lady in a gown"],
                             Looks(light="soft light", warmth="warm", palette=("ochre", "gold"),
                                   busyness="busy with detail"))


@pytest.fixture
def kiosk(qapp, monkeypatch):
    """The real window and controller (threads not started); the composer's requests kept."""
    config = KioskConfig(audio=AudioOutputConfig(device="none"), ui=UiConfig(fullscreen=False))
    window = MainWindow([artwork(1)], keyboard_layout=config.ui.keyboard_layout)
    player = AudioPlayer(config.audio, 22050)
    composer = ComposerThread(FakeEngine, player)
    requests: list[ComposeRequest] = []
    monkeypatch.setattr(composer, "submit", requests.append)
    controller = KioskController(config, window, CameraWorker(lambda: None, VisionPipeline()),
                                 composer, player)
    window.resize(1920, 1080)
    window.show()
    window.activateWindow()
    qapp.processEvents()
    controller._on_feelings(controller.painting_id, FEELINGS)  # the engine has read a painting
    controller._on_reading(controller.painting_id, COMMENTARY)
    qapp.processEvents()
    yield window, controller, requests
    window.close()
    player.close()


def tap(widget: QWidget) -> None:
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton)


def open_by_tap(window: MainWindow, qapp) -> None:
    tap(window.comment.field)
    qapp.processEvents()
    assert window.keyboard.is_open


# ---------------------------------------------------------------------------- real touches
TOUCHSCREEN = QPointingDevice("kiosk touchscreen (test)", 4711, QInputDevice.DeviceType.TouchScreen,
                              QPointingDevice.PointerType.Finger,
                              QInputDevice.Capability.Position, 10, 0)


class Finger:
    """One finger on the window: QTouchEvents to the touch-accepting widget under it, as Qt
    delivers them (TouchBegin to the widget hit, then updates and the end to that widget)."""

    def __init__(self, window: QWidget, finger_id: int) -> None:
        self.window, self.id, self.target = window, finger_id, None

    def _send(self, kind: QEvent.Type, state: QEventPoint.State, at: QPoint) -> None:
        point = QEventPoint(self.id, state, QPointF(at), QPointF(self.window.mapToGlobal(at)))
        event = QTouchEvent(kind, TOUCHSCREEN, Qt.KeyboardModifier.NoModifier, [point])
        QApplication.sendEvent(self.target, event)
        assert event.isAccepted()

    def down(self, widget: QWidget) -> None:
        at = widget.mapTo(self.window, widget.rect().center())
        hit = self.window.childAt(at)
        while hit is not None and not hit.testAttribute(
                Qt.WidgetAttribute.WA_AcceptTouchEvents):
            hit = hit.parentWidget()
        assert hit is widget, f"a finger at {at} touches {hit}, not {widget}"
        self.target, self.at = hit, at
        self._send(QEvent.Type.TouchBegin, QEventPoint.State.Pressed, at)

    def move_by(self, dx: int, dy: int) -> None:
        self.at = self.at + QPoint(dx, dy)
        self._send(QEvent.Type.TouchUpdate, QEventPoint.State.Updated, self.at)

    def up(self, dx: int = 0, dy: int = 0) -> None:
        """Lifts the finger, ``dx, dy`` away from where it was last (no update between)."""
        self.at = self.at + QPoint(dx, dy)
        self._send(QEvent.Type.TouchEnd, QEventPoint.State.Released, self.at)


def touch_tap(window: QWidget, widget: QWidget) -> None:
    finger = Finger(window, 0)
    finger.down(widget)
    finger.up()


# ---------------------------------------------------------------------------- the tests
def test_a_comment_typed_by_taps_reaches_the_controller_exactly(kiosk, qapp):
    window, _controller, requests = kiosk
    assert not window.keyboard.is_open
    open_by_tap(window, qapp)
    keys = window.keyboard.keyboard
    tap(keys.key(SHIFT))
    assert keys.key("c").text() == "C" and keys.key("é").text() == "É"
    for label in ("c", "a", "f", "é", SPACE, "x", BACKSPACE, SHIFT, "ß", "o", "ö"):
        tap(keys.key(label))
    assert window.comment.field.text() == "Café ßoö"  # shift is one-shot; ß has no capital
    for label in ("!", ENTER):
        tap(keys.key(label))
    qapp.processEvents()
    assert requests == [ComposeRequest(0, None, "Café ßoö!", ("contentment",))]
    assert not window.keyboard.is_open  # Compose closes it
    assert QApplication.focusWidget() is window.comment.field


def test_real_touch_events_type_and_send(kiosk, qapp):
    window, _controller, requests = kiosk
    open_by_tap(window, qapp)
    keys = window.keyboard.keyboard
    for label in (SHIFT, "h", "i", SPACE, "è"):
        touch_tap(window, keys.key(label))
    # Two fingers overlapping, as in fast typing: both keys count (Qt's touch-to-mouse
    # translation would follow the first finger only).
    first, second = Finger(window, 1), Finger(window, 2)
    first.down(keys.key("r"))
    second.down(keys.key("e"))
    first.up()
    second.up()
    # A finger that slides off a key before lifting types nothing.
    slip = Finger(window, 3)
    slip.down(keys.key("q"))
    slip.move_by(0, -300)
    slip.up()
    jump = Finger(window, 4)  # or lifts elsewhere (a touchscreen may send no update)
    jump.down(keys.key("w"))
    jump.up(0, -300)
    assert window.comment.field.text() == "Hi ère"
    touch_tap(window, keys.key(BACKSPACE))
    touch_tap(window, keys.key(ENTER))
    qapp.processEvents()
    assert [r.comment for r in requests] == ["Hi èr"]
    assert QApplication.focusWidget() is window.comment.field


def test_the_compose_button_sends_what_the_keys_typed_and_closes_the_keyboard(kiosk, qapp):
    window, _controller, requests = kiosk
    open_by_tap(window, qapp)
    for label in ("s", "e", "a"):
        tap(window.keyboard.keyboard.key(label))
    tap(window.compose_button)
    assert [r.comment for r in requests] == ["sea"]
    assert not window.keyboard.is_open


def test_tapped_words_build_a_comment_without_typing(kiosk, qapp):
    window, _controller, requests = kiosk
    open_by_tap(window, qapp)
    words = window.keyboard.words
    assert words.words()[:3] == ["content", "awe-inspiring", "sad"]  # the painting's feelings
    assert "something else" not in words.words()
    for word in ("sad", "soft light", "cliffs"):
        touch_tap(window, words.button(word))
    tap(window.keyboard.keyboard.key(ENTER))
    assert [r.comment for r in requests] == ["sad soft light cliffs"]


def test_the_reading_gives_its_phrases_as_words():
    assert COMMENTARY == ("A painting of cliffs and a lady in a gown in soft light, with warm "
                          "colours of ochre and gold; busy with detail.")
    assert reading_words(COMMENTARY, limit=20) == ["cliffs", "lady", "gown", "soft light", "warm",
                                                   "ochre", "gold", "busy", "detail"]
    assert reading_words(commentary_text([], Looks(light="deep shadow", palette=("grey",)))) \
        == ["deep shadow", "grey"]
    assert reading_words("") == []
    assert len(reading_words(COMMENTARY)) == 6


def test_word_row_follows_the_painting(kiosk, qapp):
    window, controller, _requests = kiosk
    window.show_feelings([("fear", 0.5), ("anger", 0.3)])
    window.show_reading("A painting of the sea in deep shadow.")
    assert window.keyboard.words.words() == ["fearful", "angry", "sea", "deep shadow"]
    controller._on_visitor_left()  # no painting: the general feeling words, no reading words
    assert window.keyboard.words.words() == [FEELING_WORDS[f] for f in
                                             ("contentment", "awe", "excitement")]


def test_typing_and_words_keep_the_fields_length_limit(kiosk, qapp):
    window, _controller, _requests = kiosk
    open_by_tap(window, qapp)
    field = window.comment.field
    field.setText("x" * (INPUT_LIMIT - 2))
    for label in ("a", "b", "c"):
        tap(window.keyboard.keyboard.key(label))
    assert field.text() == "x" * (INPUT_LIMIT - 2) + "ab"
    tap(window.keyboard.keyboard.key(BACKSPACE))
    tap(window.keyboard.words.button("sad"))  # " sad" does not fit whole: nothing is added
    assert field.text() == "x" * (INPUT_LIMIT - 2) + "a"


def test_opens_on_tap_or_focus_and_closes_on_hide_attract_and_leaving(kiosk, qapp):
    window, controller, _requests = kiosk
    field = window.comment.field
    field.setFocus(Qt.FocusReason.ActiveWindowFocusReason)  # the window's own focus: no tap
    qapp.processEvents()
    assert not window.keyboard.is_open
    field.clearFocus()
    field.setFocus(Qt.FocusReason.TabFocusReason)
    assert window.keyboard.is_open
    assert not window.stage.isVisible()  # the keyboard takes the preview's room
    tap(window.keyboard.keyboard.key(HIDE))
    assert not window.keyboard.is_open and window.stage.isVisible()
    assert field.hasFocus()
    open_by_tap(window, qapp)  # a tap on the focused field opens it again
    window.show_attract(True)
    assert not window.keyboard.is_open
    window.show_attract(False)
    open_by_tap(window, qapp)
    controller._on_visitor_left()
    assert not window.keyboard.is_open


@pytest.mark.parametrize("layout", KEYBOARD_LAYOUTS)
def test_every_layout_fits_a_1080p_kiosk_with_touch_sized_unclipped_keys(qapp, layout):
    window = MainWindow([artwork(1)], keyboard_layout=layout)
    window.resize(1920, 1080)
    window.show()
    window.show_feelings(FEELINGS)
    window.show_reading(COMMENTARY)
    window.keyboard.open_keyboard()
    qapp.processEvents()
    try:
        assert window.size().height() == 1080
        keys = [k for k in window.keyboard.findChildren(TouchButton) if k.isVisible()]
        letters = "".join(str(k.property("char")) for k in window.keyboard.keyboard.letter_keys())
        spec = LAYOUTS[layout]
        assert letters == spec.accents + "".join(spec.rows)
        assert set("abcdefghijklmnopqrstuvwxyz") <= set(letters)
        assert all(k.width() >= 80 and k.height() >= 80 for k in keys)
        assert all(k.width() >= k.sizeHint().width() for k in keys), "a key's label is cut"
        assert window.keyboard.geometry().bottom() < window.status.geometry().top()
    finally:
        window.close()


def test_the_kiosk_builds_the_keyboard_in_the_configured_layout(qapp):
    config = KioskConfig(audio=AudioOutputConfig(device="none"),
                         ui=UiConfig(keyboard_layout="qwertz"))
    kiosk = build_kiosk(config, FakeEngine, artworks=[artwork(1)])
    try:
        keyboard = kiosk.window.keyboard.keyboard
        assert keyboard.layout_name == "qwertz"
        assert [k.property("char") for k in keyboard.letter_keys()][10:16] == list("qwertz")
    finally:
        kiosk.shutdown()
        qapp.removeEventFilter(kiosk.window)  # build_kiosk made the window the app's filter
        kiosk.window.close()


def test_the_layout_is_a_config_setting(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text('[ui]\nkeyboard_layout = "azerty"\n', encoding="utf-8")
    assert load_config(path).ui.keyboard_layout == "azerty"
    path.write_text('[ui]\nkeyboard_layout = "dvorak"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="keyboard_layout.*qwerty, azerty, qwertz"):
        load_config(path)


def test_screenshot_with_the_keyboard_open(kiosk, qapp, artifacts_dir):
    window, _controller, _requests = kiosk
    open_by_tap(window, qapp)
    for label in (SHIFT, "s", "o", "f", "t", SPACE):
        touch_tap(window, window.keyboard.keyboard.key(label))
    touch_tap(window, window.keyboard.words.button("content"))
    path = artifacts_dir / "main_window_keyboard.png"
    assert window.grab().save(str(path))
    assert path.stat().st_size > 50_000
