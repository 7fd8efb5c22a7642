"""The camera thread: reads frames, runs the vision pipeline, and reports through Qt signals.

It never exits on its own: when the source is lost (camera unplugged, video file gone) it says
so on ``status_changed`` and tries again with exponential back-off until ``stop()``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from PyQt6.QtCore import QThread, pyqtSignal

from installation.config import CameraConfig
from installation.sources import FrameSource, SourceError
from installation.steadiness import SteadyState
from installation.vision import VisionPipeline, VisionResult

log = logging.getLogger(__name__)

PREVIEW_STALL_S = 1.0
"""A preview the UI has not taken yet is replaced after this long anyway."""


class CameraState:
    CONNECTING = "connecting"
    LIVE = "live"
    LOST = "lost"


@dataclass(frozen=True)
class PreviewFrame:
    """A small RGB copy of the frame for the screen; ``quad`` is in its pixel coordinates."""

    rgb: np.ndarray
    quad: np.ndarray
    found: bool
    state: SteadyState


class CameraWorker(QThread):
    preview_ready = pyqtSignal(object)  # PreviewFrame, at most preview_fps per second
    painting_triggered = pyqtSignal(object)  # VisionResult with crop_rgb
    visitor_left = pyqtSignal()
    status_changed = pyqtSignal(str, str)  # CameraState, one-sentence message

    def __init__(self, source_factory: Callable[[], FrameSource], pipeline: VisionPipeline,
                 config: CameraConfig | None = None, realtime: bool = True,
                 parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("camera")
        self._source_factory = source_factory
        self._pipeline = pipeline
        self._config = config or CameraConfig()
        self._realtime = realtime
        self._stop = threading.Event()
        self._preview_taken = threading.Event()
        self._preview_taken.set()
        self._busy = threading.Event()
        self.state = CameraState.CONNECTING
        self.frames_read = 0

    def preview_taken(self) -> None:
        """The UI calls this when it has drawn a preview; until then no new one is queued (so a
        busy UI thread never piles up frames), except once a second."""
        self._preview_taken.set()

    def set_busy(self, busy: bool) -> None:
        """While busy (music being generated), frames are read but looked at only
        ``busy_fps`` times a second (any thread may call this)."""
        if busy != self._busy.is_set():
            log.debug("Camera %s", f"slowed to {self._config.busy_fps:g} frames/s while music is "
                      "generated" if busy else "back to full rate")
        (self._busy.set if busy else self._busy.clear)()

    @property
    def busy(self) -> bool:
        return self._busy.is_set()

    def stop(self, timeout_ms: int = 3000) -> None:
        self._stop.set()
        self.wait(timeout_ms)

    def run(self) -> None:
        threading.current_thread().name = "camera"
        source = self._source_factory()
        delay = self._config.retry_initial_s
        while not self._stop.is_set():
            try:
                source.open()
                self._set_state(CameraState.LIVE, f"Camera live ({source.description}).")
                delay = self._config.retry_initial_s
                self._pump(source)
            except SourceError as error:
                self._lost(str(error), delay)
            except Exception as error:  # a bug must not end the kiosk's camera
                log.exception("Unexpected error in the camera thread")
                self._lost(f"The camera stopped because of an internal error ({error}).", delay)
            finally:
                source.close()
            if self._stop.wait(delay):
                break
            delay = min(delay * 2.0, self._config.retry_max_s)

    def _lost(self, reason: str, delay: float) -> None:
        self._pipeline.reset()
        self._set_state(CameraState.LOST, f"{reason} Retrying in {delay:.0f} s."
                        if delay >= 1 else f"{reason} Retrying.")

    def _set_state(self, state: str, message: str) -> None:
        if state != self.state or state == CameraState.LOST:
            log.info("%s", message)
        self.state = state
        self.status_changed.emit(state, message)

    def _pump(self, source: FrameSource) -> None:
        preview_interval = 1.0 / max(self._config.preview_fps, 0.1)
        next_preview = last_preview = 0.0
        busy_interval = 1.0 / max(self._config.busy_fps, 0.1)
        next_due = time.monotonic()
        next_look = 0.0
        skip = getattr(source, "skip", None)
        while not self._stop.is_set():
            now = time.monotonic()
            if self._busy.is_set() and now < next_look:
                (skip or source.read)()  # keep pace with the source, look at nothing
                self.frames_read += 1
                next_due = self._pace(source, next_due, now)
                continue
            frame = source.read()
            self.frames_read += 1
            next_look = now + busy_interval
            result = self._pipeline.process(frame.image, frame.timestamp)
            if result.state.trigger:
                self.painting_triggered.emit(result)
            if result.state.visitor_left:
                self.visitor_left.emit()
            now = time.monotonic()
            if now >= next_preview and (self._preview_taken.is_set()
                                        or now - last_preview >= PREVIEW_STALL_S):
                next_preview, last_preview = now + preview_interval, now
                self._preview_taken.clear()
                self.preview_ready.emit(self._preview(result))
            next_due = self._pace(source, next_due, now)

    def _pace(self, source: FrameSource, next_due: float, now: float) -> float:
        """Waits until the next frame is due (real-time sources); returns when that is."""
        if self._realtime and source.frame_interval:
            next_due += source.frame_interval
            if next_due < now - 0.5:  # fell far behind: do not rush to catch up
                next_due = now
            self._stop.wait(max(0.0, next_due - now))
        return next_due

    def _preview(self, result: VisionResult) -> PreviewFrame:
        frame = result.frame
        scale = min(1.0, self._config.preview_max_width / frame.shape[1])
        if scale < 1.0:
            frame = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        return PreviewFrame(rgb, result.detection.quad * scale, result.detection.found,
                            result.state)
