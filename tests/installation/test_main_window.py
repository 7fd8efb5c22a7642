"""The kiosk window at 1080p: readable at 2 m, touchable, and saved as a screenshot."""

import functools

import numpy as np
import pytest
from PyQt6.QtWidgets import QLabel, QLineEdit, QPushButton, QSlider

from installation.artworks import painted_samples
from installation.camera import PreviewFrame
from installation.sources import DemoWallSource
from installation.ui import theme
from installation.ui.main_window import MainWindow
from installation.ui.mel_view import mel_to_rgb
from installation.vision import VisionPipeline

FEELINGS = [("contentment", 0.41), ("awe", 0.22), ("amusement", 0.14), ("excitement", 0.1),
            ("sadness", 0.05)]


@functools.cache
def demo_preview() -> PreviewFrame:
    source = DemoWallSource(painted_samples(), gap_seconds=0.5, move_seconds=0.5)
    pipeline = VisionPipeline()
    for _ in range(40):
        frame = source.read()
        result = pipeline.process(frame.image, frame.timestamp)
    return PreviewFrame(np.ascontiguousarray(frame.image[..., ::-1]), result.detection.quad,
                        result.detection.found, result.state)


def demo_mel() -> np.ndarray:
    rng = np.random.default_rng(1)
    frames = np.arange(896)
    bins = np.arange(80)[:, None]
    pulse = 0.5 + 0.5 * np.sin(frames / 896 * 2 * np.pi * 12)[None, :]
    melody = 20 + 12 * np.sin(frames / 60.0)
    tone = np.exp(-((bins - melody[None, :]) ** 2) / 6.0)
    energy = 0.02 + np.exp(-bins / 18.0) * pulse * 0.4 + tone + 0.02 * rng.random((80, 896))
    return np.log(np.maximum(energy, 1e-5)).astype(np.float32)


@pytest.fixture
def window(qapp):
    window = MainWindow(painted_samples())
    window.resize(1920, 1080)
    window.show()
    qapp.processEvents()
    yield window
    window.close()


def fill(window: MainWindow, qapp) -> None:
    window.show_preview(demo_preview())
    window.preview.listening = True
    window.mel_view.set_mel(demo_mel(), "Now playing · 0:04 / 0:10")
    window.mel_view.set_progress(0.42)
    window.show_feelings(FEELINGS, ["contentment"])
    window.comment.field.setText("Like a slow summer evening 🌅")
    window.play_again_button.setEnabled(True)
    window.set_part_status("camera", "ok", "Camera live (demo wall).")
    window.set_part_status("audio", "ok", "Sound: default.")
    window.set_part_status("engine", "ok", "Music engine ready.")
    qapp.processEvents()


def test_screenshot(window, qapp, artifacts_dir):
    fill(window, qapp)
    path = artifacts_dir / "main_window.png"
    assert window.grab().save(str(path))
    window.show_attract(True)
    qapp.processEvents()
    assert window.grab().save(str(artifacts_dir / "main_window_attract.png"))
    assert path.stat().st_size > 50_000


def test_text_is_readable_at_two_metres(window, qapp):
    fill(window, qapp)
    too_small = []
    for widget in window.findChildren((QLabel, QPushButton, QLineEdit)):
        if not widget.isVisible() or not (widget.text() if hasattr(widget, "text") else ""):
            continue
        widget.ensurePolished()
        size = widget.font().pixelSize()
        if size == -1:
            size = round(widget.font().pointSizeF() * widget.logicalDpiY() / 72)
        if size < 28:
            too_small.append((widget.objectName() or type(widget).__name__, widget.text(), size))
    assert not too_small


def test_touch_targets_are_at_least_80_px(window, qapp):
    fill(window, qapp)
    controls = [w for w in window.findChildren((QPushButton, QLineEdit, QSlider))
                if w.isVisible()]
    assert len(controls) >= 9  # 5 chips, compose, play again, -/+ volume, field, slider
    small = [(type(w).__name__, getattr(w, "text", lambda: "")(), w.height())
             for w in controls if w.height() < 80]
    assert not small
    assert theme.TOUCH_PX >= 80


def test_chips_report_the_chosen_feelings(window, qapp):
    fill(window, qapp)
    chosen = []
    window.feelings_changed.connect(chosen.append)
    chips = window.chips.buttons()
    assert [c.text() for c in chips] == ["Contentment", "Awe", "Amusement", "Excitement",
                                         "Sadness"]
    chips[1].click()
    chips[0].click()
    assert chosen == [["contentment", "awe"], ["awe"]]


def test_volume_buttons_and_slider(window, qapp):
    volumes = []
    window.volume_changed.connect(volumes.append)
    window.volume.setValue(50)
    assert volumes[-1] == pytest.approx(0.5)


def test_mel_colours_put_low_frequencies_at_the_bottom():
    mel = np.full((80, 10), np.log(1e-5), np.float32)
    mel[0] = 0.0  # loud lowest band
    rgb = mel_to_rgb(mel)
    assert rgb.shape == (80, 10, 3)
    assert rgb[-1].mean() > rgb[0].mean()


def test_chips_wrap_onto_rows_without_being_cut(window, qapp):
    fill(window, qapp)
    window.show_feelings([(name, 0.1) for name in ("contentment", "amusement", "excitement",
                                                   "something else", "sadness", "disgust")])
    qapp.processEvents()
    chips = window.chips.buttons()
    rows = {chip.y() for chip in chips}
    assert len(rows) >= 2
    assert all(chip.geometry().bottom() < window.chips.height() for chip in chips)
    assert all(chip.geometry().right() < window.chips.width() for chip in chips)


def test_a_long_status_message_is_shown_whole(window, qapp):
    """Wrapped, never cut in the middle (issue 10): the long path breaks anywhere."""
    fill(window, qapp)
    message = ("The video file /srv/gallery/cameras/room-4/entrance/north-wall/" + "x" * 120
               + "/visit.mp4 does not exist. Retrying in 4 s.")
    window.set_part_status("camera", "error", message)
    qapp.processEvents()
    shown = window.status.message.shown_text()
    assert "…" not in shown and shown.count("\n") >= 1
    assert "".join(shown.split()) == "".join(message.split())
    assert shown.startswith("The video file") and shown.endswith("Retrying in 4 s.")
    assert window.status.message.toolTip() == message
