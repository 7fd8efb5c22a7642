"""Assembles the kiosk's parts from a config (used by ``app.run`` and the end-to-end tests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PyQt6.QtWidgets import QApplication

from core.audio_config import DEFAULT_AUDIO
from installation.artworks import load_artworks
from installation.audio_player import AudioPlayer
from installation.camera import CameraWorker
from installation.composer import ComposerThread, EngineLike
from installation.config import KioskConfig
from installation.controller import KioskController
from installation.listen import ListenMode, StreamFactory, attach_listen_mode
from installation.sources import DEMO_SOURCE, DemoWallSource, FrameSource, source_from_spec
from installation.ui.main_window import MainWindow
from installation.vision import VisionPipeline


@dataclass
class Kiosk:
    window: MainWindow
    controller: KioskController
    camera: CameraWorker
    composer: ComposerThread
    player: AudioPlayer
    listen: ListenMode | None = None

    def start(self) -> None:
        self.controller.start()

    def shutdown(self) -> None:
        if self.listen is not None:
            self.listen.stop()
        self.controller.shutdown()


def source_factory(config: KioskConfig, artworks: list[np.ndarray]) -> Callable[[], FrameSource]:
    camera = config.camera

    def make() -> FrameSource:
        if camera.source.strip().lower() == DEMO_SOURCE:
            return DemoWallSource(artworks)
        return source_from_spec(camera.source, camera.width, camera.height, camera.fps,
                                camera.image_seconds)

    return make


def build_kiosk(config: KioskConfig, engine_factory: Callable[[], EngineLike], *,
                realtime: bool = True, null_speed: float = 1.0, record_audio: bool = False,
                artworks: list[np.ndarray] | None = None,
                microphone: StreamFactory | None = None) -> Kiosk:
    """``realtime`` False reads file sources as fast as possible (tests); ``null_speed`` and
    ``record_audio`` configure the silent stand-in output used when there is no sound device;
    ``microphone`` replaces the listen mode's sounddevice input stream (tests)."""
    if artworks is None:
        artworks = load_artworks(config.resolve(config.artworks))
    window = MainWindow(artworks, config.vision.steady_seconds, config.ui.attract_cycle_seconds,
                        config.audio.volume, config.ui.keyboard_layout)
    player = AudioPlayer(config.audio, DEFAULT_AUDIO.sample_rate, null_speed=null_speed,
                         record=record_audio)
    camera = CameraWorker(source_factory(config, artworks), VisionPipeline(config.vision),
                          config.camera, realtime=realtime)
    loudness = config.audio.loudness_target_dbfs if config.audio.normalise_loudness else None
    composer = ComposerThread(engine_factory, player, config.ui.feelings_top_k,
                              config.engine_retry_s, target_dbfs=loudness,
                              log_comments=config.log_comments, seed=config.seed)
    controller = KioskController(config, window, camera, composer, player)
    player.on_status = controller.report_audio_status
    app = QApplication.instance()
    if app is not None:
        window.install_activity_filter(app)
    listen = attach_listen_mode(window, controller.start_painting, config.resolve(config.bundle),
                                config.resolve(config.artworks) / "index.npz",
                                stream_factory=microphone,
                                providers=list(config.engine_providers) or None)
    return Kiosk(window, controller, camera, composer, player, listen)
