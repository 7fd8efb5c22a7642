"""The status bar shows an error whole (issue 10: long errors were cut in the middle): wrapped
over up to four lines at the kiosk's 1080p width, cut only at the end beyond that, with the
full text as tooltip. Real widgets, offscreen."""

from __future__ import annotations

import pytest

from installation.artworks import painted_samples
from installation.ui.main_window import MainWindow
from installation.ui.status_bar import StatusMessage

BUNDLE_ERROR = ("The music engine cannot start: bundle file text_encoder.onnx is corrupt or was "
                "modified (SHA-256 mismatch); re-export it with `main.py export` or re-install "
                "the bundle. The kiosk shows the camera meanwhile and retries every 30 s.")


@pytest.fixture
def window(qapp):
    window = MainWindow(painted_samples())
    window.resize(1920, 1080)
    window.show()
    qapp.processEvents()
    yield window
    window.close()


def show(window: MainWindow, qapp, message: str) -> StatusMessage:
    window.set_part_status("engine", "error", message)
    for _ in range(3):
        qapp.processEvents()
    return window.status.message


def test_a_long_error_is_shown_whole_over_lines_that_fit(window, qapp, artifacts_dir):
    label = show(window, qapp, BUNDLE_ERROR)
    lines = label.lines()
    assert 2 <= len(lines) <= StatusMessage.MAX_LINES
    assert " ".join(lines) == BUNDLE_ERROR  # every word, in order, nothing elided
    metrics = label.fontMetrics()
    assert all(metrics.horizontalAdvance(line) <= label.width() for line in lines)
    assert label.height() >= len(lines) * metrics.lineSpacing()  # the bar grew to hold them
    assert label.geometry().bottom() <= window.status.height()
    assert window.status.geometry().bottom() <= window.centralWidget().height()
    assert window.grab().save(str(artifacts_dir / "status_long_error.png"))


def test_a_short_message_stays_one_line(window, qapp):
    label = show(window, qapp, "Music engine ready.")
    assert label.lines() == ["Music engine ready."]
    assert label.height() < 2 * label.fontMetrics().lineSpacing() or \
        label.height() <= window.status.camera.height()


def test_only_a_message_beyond_four_lines_is_cut_at_its_end(window, qapp):
    message = "Start of a very long error. " + "detail " * 200 + "END"
    label = show(window, qapp, message)
    lines = label.lines()
    assert len(lines) == StatusMessage.MAX_LINES
    assert lines[0].startswith("Start of a very long error.")
    assert lines[-1].endswith("…") and "END" not in label.shown_text()
    assert label.toolTip() == message


def test_the_lines_follow_the_width(window, qapp):
    label = show(window, qapp, BUNDLE_ERROR)
    wide, narrow = label.lines(4000), label.lines(400)
    assert wide == [BUNDLE_ERROR]
    assert len(narrow) == StatusMessage.MAX_LINES and narrow[-1].endswith("…")
