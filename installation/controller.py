"""Wires the camera thread, the composer thread, the audio player and the window together.

Runs on the UI thread and only reacts to signals; nothing here waits for inference or audio.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np
from PyQt6.QtCore import QObject, QTimer, pyqtSignal

from core.audio_config import DEFAULT_AUDIO, AudioConfig
from installation.audio_player import AudioPlayer, AudioState
from installation.camera import CameraState, CameraWorker, PreviewFrame
from installation.composer import (
    ComposedMel,
    ComposedPiece,
    ComposeRequest,
    ComposerThread,
    EngineState,
)
from installation.config import KioskConfig
from installation.ui.main_window import MainWindow
from installation.vision import VisionResult

log = logging.getLogger(__name__)

CAMERA_LEVELS = {CameraState.LIVE: "ok", CameraState.CONNECTING: "busy", CameraState.LOST: "error"}
AUDIO_LEVELS = {AudioState.DEVICE: "ok", AudioState.STARTING: "busy", AudioState.NO_DEVICE: "warn"}
ENGINE_LEVELS = {EngineState.READY: "ok", EngineState.LOADING: "busy", EngineState.BUSY: "busy",
                 EngineState.ERROR: "error"}


def _clock(samples: float, sample_rate: int) -> str:
    seconds = int(samples / sample_rate)
    return f"{seconds // 60}:{seconds % 60:02d}"


class _AudioStatusBridge(QObject):
    """Carries the audio player's status (reported from its own thread) to the UI thread."""

    changed = pyqtSignal(str, str)


class KioskController(QObject):
    painting_started = pyqtSignal(int)  # painting id (for tests and logs)

    def __init__(self, config: KioskConfig, window: MainWindow, camera: CameraWorker,
                 composer: ComposerThread, player: AudioPlayer,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.config = config
        self.window = window
        self.camera = camera
        self.composer = composer
        self.player = player
        self._clock = clock
        self.painting_id = 0
        self.piece_id: int | None = None
        self.last_piece: ComposedPiece | None = None
        self._mels: dict[int, np.ndarray] = {}
        """Log-Mels of this painting's pieces by piece id (for "Play again")."""
        self._shown_piece: int | None = None
        """The piece whose Mel the view shows (a streamed one grows there); None: no piece's."""
        self._newest_piece = 0
        """The newest piece whose Mel reached the view (ids only grow: older Mels are late)."""
        self.mel_frames = 0
        self.feelings: list[tuple[str, float]] = []
        self.can_compose = False
        """True once the engine has seen the painting in view (its feelings arrived)."""
        self._last_activity = clock()
        self._view_empty = True

        self.audio_bridge = _AudioStatusBridge()
        self.audio_bridge.changed.connect(self._on_audio_status)
        self._recompose_timer = QTimer(self)
        self._recompose_timer.setSingleShot(True)
        self._recompose_timer.setInterval(round(config.ui.recompose_delay_seconds * 1000))
        self._recompose_timer.timeout.connect(self._recompose)
        self._playhead_timer = QTimer(self)
        self._playhead_timer.setInterval(40)
        self._playhead_timer.timeout.connect(self._update_playhead)
        self._attract_timer = QTimer(self)
        self._attract_timer.setInterval(500)
        self._attract_timer.timeout.connect(self._check_attract)
        self._connect()

    @property
    def audio_config(self) -> AudioConfig:
        engine = self.composer.engine
        return getattr(engine, "audio", None) or DEFAULT_AUDIO

    def _connect(self) -> None:
        self.camera.preview_ready.connect(self._on_preview)
        self.camera.painting_triggered.connect(self._on_painting)
        self.camera.visitor_left.connect(self._on_visitor_left)
        self.camera.status_changed.connect(self._on_camera_status)
        self.composer.engine_status.connect(self._on_engine_status)
        self.composer.feelings_ready.connect(self._on_feelings)
        self.composer.reading_ready.connect(self._on_reading)
        self.composer.mel_ready.connect(self._on_mel)
        self.composer.mel_growing.connect(self._on_mel)
        self.composer.piece_ready.connect(self._on_piece)
        self.composer.failed.connect(self._on_failed)
        self.window.compose_requested.connect(self._on_compose_requested)
        self.window.feelings_changed.connect(lambda _f: self._recompose_timer.start())
        self.window.play_again_requested.connect(self.play_again)
        self.window.volume_changed.connect(self.player.set_volume)
        self.window.user_activity.connect(self._on_activity)

    def report_audio_status(self, state: str, message: str) -> None:
        """The AudioPlayer's ``on_status`` callback (any thread)."""
        self.audio_bridge.changed.emit(state, message)

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        self.window.set_part_status("camera", "busy", "Connecting to the camera…")
        self.window.set_part_status("audio", "busy", "Opening the sound device…")
        self.window.set_part_status("engine", "busy", "Loading the music engine…")
        self.player.start()
        self.composer.start()
        self.camera.start()
        self._playhead_timer.start()
        self._attract_timer.start()

    def shutdown(self) -> None:
        for timer in (self._recompose_timer, self._playhead_timer, self._attract_timer):
            timer.stop()
        self.camera.stop()
        self.composer.stop()
        self.player.close()

    # -- camera -------------------------------------------------------------------------------
    def _on_preview(self, frame: PreviewFrame) -> None:
        self.window.show_preview(frame)
        self.camera.preview_taken()
        self._view_empty = frame.state.empty
        if not frame.state.empty:
            self._last_activity = self._clock()
            if self.window.attract_active:
                self.window.show_attract(False)

    def _on_painting(self, result: VisionResult) -> None:
        self.start_painting(result.crop_rgb, f"in view (outline found: {result.detection.found})")

    def start_painting(self, crop_rgb, origin: str = "from the listen mode") -> None:
        """Composes for a new painting (RGB): the camera's crop, or the listen mode's match."""
        self.painting_id += 1
        log.info("Painting %d %s.", self.painting_id, origin)
        self.feelings = []
        self.can_compose = False
        self.last_piece = None
        self._mels.clear()
        self.window.show_feelings([])
        self.window.show_reading("")
        self.window.comment.clear()
        self.window.play_again_button.setEnabled(False)
        self.window.preview.listening = False
        self._clear_mel("Composing music for this painting…"
                        if self.composer.state != EngineState.ERROR else
                        "The music engine is not ready yet; see the status bar.")
        self.window.show_attract(False)
        self.composer.submit(ComposeRequest(self.painting_id, crop_rgb))
        self.painting_started.emit(self.painting_id)

    def _on_visitor_left(self) -> None:
        log.info("Visitor left: fading out.")
        self.composer.cancel()
        self.player.fade_out()
        self.feelings = []
        self.can_compose = False
        self.window.show_feelings([])
        self.window.show_reading("")
        self.window.comment.clear()
        self.window.keyboard.close_keyboard()
        self.window.preview.listening = False
        self.window.play_again_button.setEnabled(False)
        self.piece_id = None
        self._clear_mel("Music will appear here")

    def _on_camera_status(self, state: str, message: str) -> None:
        self.window.set_part_status("camera", CAMERA_LEVELS.get(state, "warn"), message)
        if state == CameraState.LOST:
            self.window.preview.clear("The camera is not available right now.")

    # -- composer -----------------------------------------------------------------------------
    def _on_engine_status(self, state: str, message: str) -> None:
        self.window.set_part_status("engine", ENGINE_LEVELS.get(state, "warn"), message)
        self.camera.set_busy(state == EngineState.BUSY)
        ready = state in (EngineState.READY, EngineState.BUSY)
        self.window.preview.composing_text = (
            "Composing…" if ready else "The music engine is not ready yet")
        if ready:
            self.window.offer_variations(self.composer.varies)

    def _on_feelings(self, painting_id: int, feelings: list[tuple[str, float]]) -> None:
        if painting_id != self.painting_id:
            return
        from engine.reading import prompt_feelings  # loaded with the engine that sent these

        self.feelings = list(feelings)
        self.can_compose = True
        top = list(prompt_feelings(self.feelings))  # the chips the music was composed with
        self.window.chips.blockSignals(True)
        self.window.show_feelings(self.feelings, selected=top)
        self.window.chips.blockSignals(False)
        self.window.set_can_compose(True)

    def _on_reading(self, painting_id: int, text: str) -> None:
        if painting_id == self.painting_id:
            self.window.show_reading(text)

    def _on_mel(self, mel: ComposedMel) -> None:
        """A piece's Mel, whole (`mel_ready`), or the first frames of a streamed piece and then
        more of them (`mel_growing`, ending with `mel_ready`): the first shows the piece."""
        if mel.painting_id != self.painting_id:
            return
        if mel.complete:
            self._mels[mel.piece_id] = mel.log_mel
        if mel.piece_id <= self._newest_piece:  # more of a streamed piece
            if mel.piece_id == self._shown_piece:  # and the view still shows it
                self.window.mel_view.extend_mel(mel.log_mel)
            return
        self._newest_piece = self._shown_piece = self.piece_id = mel.piece_id
        log.info("Now playing piece %d for painting %d (%.1f s): %s", mel.piece_id,
                 mel.painting_id, mel.total_frames * self.audio_config.hop_length
                 / self.player.sample_rate, mel.log_prompt)
        self.mel_frames = mel.total_frames
        self.window.mel_view.set_mel(mel.log_mel, "Starting…", frames=mel.total_frames)
        self.window.preview.listening = True

    def _clear_mel(self, caption: str) -> None:
        """The Mel view without a piece, with `caption` (late frames of a streamed piece are
        not shown again)."""
        self._shown_piece = None
        self.window.mel_view.set_mel(None, caption)

    def _on_piece(self, piece: ComposedPiece) -> None:
        if piece.painting_id != self.painting_id:
            return
        self.last_piece = piece
        self.window.play_again_button.setEnabled(piece.audio.size > 0)
        log.info("Piece %d for painting %d: %.1f s of audio, ready %.2f s after the request.",
                 piece.piece_id, piece.painting_id, piece.audio.size / self.player.sample_rate,
                 piece.seconds)

    def _on_failed(self, painting_id: int, message: str) -> None:
        self.window.set_part_status("engine", "error", message)
        if painting_id == self.painting_id:
            self._clear_mel("The music could not be composed this time.")

    # -- visitor ------------------------------------------------------------------------------
    def _on_compose_requested(self, comment: str, feelings: list[str]) -> None:
        self._recompose_timer.stop()
        if not self.can_compose:
            return
        self._clear_mel("Composing with your words…")
        self.composer.submit(ComposeRequest(self.painting_id, None, comment,
                                            tuple(feelings) if feelings else None))

    def _recompose(self) -> None:
        self._on_compose_requested(self.window.comment.cleaned().text,
                                   self.window.chips.selected())

    def play_again(self) -> None:
        """A new variation of the last piece (same painting, comment and feelings, a new seed)
        when the engine samples; otherwise the last piece replayed as it was."""
        piece = self.last_piece
        if piece is None or piece.audio.size == 0:
            return
        if self.composer.varies:
            log.info("New variation of piece %d for painting %d.", piece.piece_id,
                     piece.painting_id)
            self._clear_mel("Composing a new variation…")
            self.composer.submit(ComposeRequest(piece.painting_id, None, piece.comment,
                                                piece.feelings))
            return
        writer = self.player.play_samples(piece.audio)
        self.piece_id = writer.id
        log_mel = self._mels.get(piece.piece_id)
        self._shown_piece = None  # the replay is not streamed
        if log_mel is not None:
            self.mel_frames = log_mel.shape[-1]
            self.window.mel_view.set_mel(log_mel, "Starting…")
        self.window.preview.listening = True

    def _on_activity(self) -> None:
        self._last_activity = self._clock()
        if self.window.attract_active:
            self.window.show_attract(False)

    def _on_audio_status(self, state: str, message: str) -> None:
        self.window.set_part_status("audio", AUDIO_LEVELS.get(state, "warn"), message)

    # -- timers -------------------------------------------------------------------------------
    def _update_playhead(self) -> None:
        piece = self.player.mixer.now_playing
        if piece is None or piece.id != self.piece_id or not self.mel_frames:
            return
        total = self.mel_frames * self.audio_config.hop_length
        rate = self.player.sample_rate
        self.window.mel_view.set_progress(piece.played / total)
        if piece.finished:
            caption = f"Finished — tap “{self.window.play_again_button.text()}”"
        else:
            caption = f"Now playing · {_clock(piece.played, rate)} / {_clock(total, rate)}"
        if self.window.mel_view.caption != caption:
            self.window.mel_view.caption = caption
            self.window.mel_view.update()

    def _check_attract(self) -> None:
        idle = self._clock() - self._last_activity
        if (self._view_empty and not self.window.attract_active
                and idle >= self.config.ui.attract_after_seconds):
            log.info("Idle for %.0f s: attract loop.", idle)
            self.window.show_attract(True)
