"""The controller's own decisions (no threads started): attract loop and status display."""

import threading

import numpy as np
import pytest

from installation.audio_player import AudioPlayer, AudioState
from installation.camera import CameraState, CameraWorker, PreviewFrame
from installation.composer import ComposedMel, ComposerThread, EngineState
from installation.config import AudioOutputConfig, KioskConfig, UiConfig
from installation.controller import KioskController
from installation.steadiness import SteadyState
from installation.ui.main_window import MainWindow
from installation.vision import VisionPipeline
from tests.installation.helpers import FakeEngine, artwork, wait_until


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def parts(qapp):
    config = KioskConfig(audio=AudioOutputConfig(device="none"),
                         ui=UiConfig(attract_after_seconds=10.0, fullscreen=False))
    window = MainWindow([artwork(1)])
    player = AudioPlayer(config.audio, 22050)
    camera = CameraWorker(lambda: None, VisionPipeline())
    composer = ComposerThread(FakeEngine, player)
    clock = Clock()
    controller = KioskController(config, window, camera, composer, player, clock=clock)
    window.show()
    yield controller, window, clock
    window.close()


def preview(empty: bool) -> PreviewFrame:
    quad = np.array([[0, 0], [9, 0], [9, 9], [0, 9]], np.float32)
    return PreviewFrame(np.zeros((10, 10, 3), np.uint8), quad, not empty,
                        SteadyState(moving=False, empty=empty, still_for=1.0))


def test_attract_loop_starts_when_idle_and_stops_for_a_painting_or_a_touch(parts, qapp):
    controller, window, clock = parts
    controller._on_preview(preview(empty=True))
    clock.now += 5
    controller._check_attract()
    assert not window.attract_active
    clock.now += 6
    controller._check_attract()
    assert window.attract_active
    controller._on_preview(preview(empty=False))  # a painting comes into view
    assert not window.attract_active
    controller._on_preview(preview(empty=True))
    clock.now += 11
    controller._check_attract()
    assert window.attract_active
    window.user_activity.emit()  # a touch
    assert not window.attract_active


def test_status_bar_shows_each_part(parts, qapp):
    controller, window, _ = parts
    controller._on_camera_status(CameraState.LOST, "The video file x.mp4 does not exist. "
                                                   "Retrying in 1 s.")
    controller._on_engine_status(EngineState.READY, "Music engine ready.")
    status = window.status
    assert status.camera.level == "error" and status.engine.level == "ok"
    assert status.message.text().startswith("The video file x.mp4 does not exist.")
    assert window.preview.caption() == "The camera is not available right now."

    thread = threading.Thread(target=controller.report_audio_status,
                              args=(AudioState.NO_DEVICE, "No sound device (no sound card "
                                                          "was found), retrying every 5 s."))
    thread.start()
    thread.join()
    assert wait_until(lambda: status.audio.level == "warn", timeout=2)
    controller._on_camera_status(CameraState.LIVE, "Camera live (camera 0).")
    assert status.message.text().startswith("No sound device")


def test_the_preview_says_when_the_engine_is_not_ready(parts, qapp):
    controller, window, _ = parts
    controller._on_engine_status(EngineState.ERROR, "No model bundle in assets/bundle; pass "
                                                    "--bundle or export one; retrying in 30 s.")
    window.show_preview(PreviewFrame(np.zeros((10, 10, 3), np.uint8),
                                     np.zeros((4, 2), np.float32), True,
                                     SteadyState(moving=False, empty=False, still_for=5.0)))
    assert window.preview.caption() == "The music engine is not ready yet"


def test_a_streamed_pieces_mel_grows_in_the_view_and_late_frames_stay_out(parts, qapp, caplog):
    """The first frames start the piece (the rest drawn dark), more frames extend it with the
    playhead kept, the whole Mel is kept for "Play again"; once the view moved on (the visitor
    left), late frames of that piece are not shown again."""
    controller, window, _ = parts
    controller.painting_id = 1
    mel = np.log(np.random.default_rng(0).uniform(0.01, 1.0, (80, 20))).astype(np.float32)

    def part(frames: int, piece_id: int = 7) -> ComposedMel:
        return ComposedMel(1, piece_id, mel[:, :frames], "prompt", "logged prompt", 20)

    caplog.set_level("INFO", logger="installation.controller")
    controller._on_mel(part(0))
    view = window.mel_view
    assert controller.piece_id == 7 and controller.mel_frames == 20
    assert view.caption == "Starting…" and view._image is None
    controller._on_mel(part(8))
    assert view._image.width() == 20
    dark = view._image.pixelColor(19, 0)
    assert (dark.red(), dark.green(), dark.blue()) == (21, 18, 15)  # not made yet
    view.set_progress(0.25)
    controller._on_mel(part(20))
    assert view.progress == 0.25 and view.caption == "Starting…"
    assert view._image.pixelColor(19, 0) != dark
    np.testing.assert_array_equal(controller._mels[7], mel)
    assert caplog.text.count("Now playing piece 7") == 1
    assert "logged prompt" in caplog.text and ": prompt" not in caplog.text

    controller._on_visitor_left()
    controller._on_mel(part(8, 7))  # late frames of piece 7: not shown
    assert view._image is None and controller.piece_id is None
    controller._on_mel(part(12, piece_id=8))  # the next piece starts
    controller._on_visitor_left()
    controller._on_mel(part(20, piece_id=8))  # late: the visitor has left
    assert view._image is None and controller.piece_id is None
    assert caplog.text.count("Now playing piece 8") == 1
