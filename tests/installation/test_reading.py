"""The kiosk shows the engine's reading of the painting under the preview, and composes with it:
the commentary alone without a comment, joined with the visitor's words otherwise."""


import numpy as np

from installation.audio_player import AudioPlayer
from installation.camera import CameraWorker
from installation.composer import ComposeRequest, ComposerThread
from installation.config import AudioOutputConfig, KioskConfig, UiConfig
from installation.controller import KioskController
from installation.ui import theme
from installation.ui.main_window import MainWindow
from installation.vision import VisionPipeline
from tests.installation.helpers import FakeEngine, artwork, wait_until

SEA = "A painting of the sea in soft light, with cool colours of blue."


def test_the_composer_sends_the_reading_and_composes_with_it(qapp, player):
    engine = FakeEngine(commentary=SEA)
    composer = ComposerThread(lambda: engine, player, top_k=5)
    readings, pieces = [], []
    composer.reading_ready.connect(lambda pid, text: readings.append((pid, text)))
    composer.piece_ready.connect(pieces.append)
    composer.start()
    try:
        composer.submit(ComposeRequest(3, np.zeros((32, 32, 3), np.uint8)))
        assert wait_until(lambda: len(pieces) == 1, timeout=10)
        composer.submit(ComposeRequest(3, None, "It feels lonely"))
        assert wait_until(lambda: len(pieces) == 2, timeout=10)
    finally:
        composer.stop()
    assert readings == [(3, SEA)]
    assert engine.prompts[0].startswith(f"Art Commentary: {SEA}")
    assert engine.prompts[1].startswith(f"Art Commentary: It feels lonely. {SEA}")
    assert engine.calls.count("encode_image") == 1  # the reading is reused for the comment


def test_the_reading_appears_under_the_preview_for_the_painting_in_view(qapp):
    config = KioskConfig(audio=AudioOutputConfig(device="none"), ui=UiConfig(fullscreen=False))
    window = MainWindow([artwork(1)])
    player = AudioPlayer(config.audio, 22050)
    composer = ComposerThread(FakeEngine, player)
    controller = KioskController(config, window, CameraWorker(lambda: None, VisionPipeline()),
                                 composer, player)
    window.show()
    try:
        assert not window.reading.isVisible()
        controller.painting_id = 2
        controller._on_reading(1, "an older painting")  # stale: ignored
        assert not window.reading.isVisible()
        controller._on_reading(2, SEA)
        assert window.reading.isVisible() and window.reading.text().endswith(SEA)
        qapp.processEvents()
        window.reading.ensurePolished()
        assert window.reading.font().pixelSize() >= 28  # readable at two metres
        assert window.reading.geometry().top() >= window.preview.geometry().bottom()
        buttons = (window.compose_button, window.play_again_button)
        assert all(b.height() >= theme.TOUCH_PX - 8 for b in buttons)  # touch sizes kept
        controller._on_feelings(2, [("awe", 0.6), ("fear", 0.3)])
        assert window.chips.selected() == ["awe"]  # the engine's rule: the top feeling
        controller._on_visitor_left()
        assert not window.reading.isVisible()
    finally:
        window.close()
        player.close()
