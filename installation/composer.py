"""The inference thread: every engine call of the kiosk happens here, never on the UI thread.

It loads the engine (retrying while the bundle is missing or broken), then serves compose
requests one at a time. The newest request wins: submitting one cancels the one in progress,
whose audio stops being streamed (the mixer crossfades to the new piece when it starts).

A sampling decoder's piece is streamed (engine.Piece.streamed): its Mel is generated block by
block while the first blocks already play. The composer then sends the frames made so far
(``mel_growing``) before each block, and the whole Mel (``mel_ready``) once the last frame is
made; a Mel made at once goes out whole (``mel_ready``) before the first block, as always.

A bundle with a light second vocoder (``export.replace_vocoder --light``): when a whole piece
took longer to make than it lasts (slower than real time, so the pre-roll gate keeps visitors
waiting), the composer switches the engine to the light vocoder for the next pieces and logs
why (:func:`too_slow`).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
from PyQt6.QtCore import QThread, pyqtSignal

from installation.audio_player import AudioPlayer
from installation.comment import loggable_prompt

if TYPE_CHECKING:  # the engine (onnxruntime) is imported when it is loaded, see app.py
    from engine import Piece, Reading

log = logging.getLogger(__name__)

LIGHT_VOCODER_BELOW = 1.0
"""Switch to the bundle's light vocoder when a piece is made slower than this × real time."""


def too_slow(audio_seconds: float, generation_seconds: float,
             threshold: float = LIGHT_VOCODER_BELOW) -> float | None:
    """The generation rate (× real time) when it is below `threshold`, else None."""
    if audio_seconds <= 0 or generation_seconds <= 0:
        return None
    rate = audio_seconds / generation_seconds
    return rate if rate < threshold else None


class EngineLike(Protocol):
    """The part of ``engine.Engine`` (docs/CONTRACTS.md) the kiosk uses: the same `describe`
    and `compose` as ``export.examples`` and the kiosk-path report of ``main.py eval``, so the
    kiosk plays exactly what they measure (same feelings rule, prompt and loudness gain)."""

    samples: bool
    """True when the decoder samples: each `compose` with ``seed`` None is a new variation."""

    def describe(self, rgb_uint8_hwc: np.ndarray) -> Reading: ...

    def compose(self, painting: np.ndarray | Reading, comment: str = "",
                feelings: Sequence[str] | None = None, *,
                target_dbfs: float | None = ..., seed: int | None = ...) -> Piece: ...


class EngineState:
    LOADING = "loading"
    READY = "ready"
    BUSY = "composing"
    ERROR = "error"


@dataclass(frozen=True)
class ComposeRequest:
    painting_id: int
    crop_rgb: np.ndarray | None
    """The painting; None = the painting of the previous request with this painting_id."""
    comment: str = ""
    feelings: tuple[str, ...] | None = None
    """Chosen feelings; None = the engine's rule (engine.prompt_feelings: the top predicted)."""


@dataclass(frozen=True)
class ComposedMel:
    painting_id: int
    piece_id: int
    log_mel: np.ndarray
    prompt: str
    log_prompt: str
    """The prompt as the kiosk log may show it (the comment redacted unless ``log_comments``)."""
    frames: int = 0
    """Mel frames of the whole piece (0: all of ``log_mel``); ``log_mel`` holds fewer while a
    streamed piece is being generated."""

    @property
    def total_frames(self) -> int:
        return self.frames or int(self.log_mel.shape[-1])

    @property
    def complete(self) -> bool:
        return self.log_mel.shape[-1] == self.total_frames


@dataclass(frozen=True)
class ComposedPiece:
    painting_id: int
    piece_id: int
    audio: np.ndarray
    seconds: float
    """Wall time from request to the last audio block."""
    comment: str = ""
    feelings: tuple[str, ...] | None = None
    """The request's comment and feelings (kept in memory only, for a new variation)."""
    seed: int | None = None
    """The sampling seed the piece was drawn with (None: the engine does not sample)."""


class _Cancelled(Exception):
    pass


class ComposerThread(QThread):
    engine_status = pyqtSignal(str, str)  # EngineState, one-sentence message
    feelings_ready = pyqtSignal(int, object)  # painting_id, list[(feeling, score)]
    reading_ready = pyqtSignal(int, str)  # painting_id, the engine's art commentary ("" = none)
    mel_ready = pyqtSignal(object)  # ComposedMel, the whole Mel, once per piece (see above)
    mel_growing = pyqtSignal(object)  # ComposedMel, a streamed piece's frames so far
    piece_ready = pyqtSignal(object)  # ComposedPiece (all audio streamed)
    failed = pyqtSignal(int, str)  # painting_id, one-sentence message

    def __init__(self, engine_factory: Callable[[], EngineLike], player: AudioPlayer,
                 top_k: int = 5, retry_s: float = 30.0, target_dbfs: float | None = None,
                 log_comments: bool = False, seed: int | None = None, parent=None) -> None:
        """`target_dbfs`: bring every piece to this RMS level, estimated from its Mel before
        the first block plays (core/loudness.py); None keeps the vocoder's level.
        `log_comments`: log prompts as composed; False replaces the visitor's comment in them
        by its length (KioskConfig.log_comments). `seed`: a sampling engine draws every piece
        with it (KioskConfig.seed, to reproduce a logged piece); None = a new seed each time."""
        super().__init__(parent)
        self.setObjectName("composer")
        self._engine_factory = engine_factory
        self._player = player
        self._top_k = top_k
        self._retry_s = retry_s
        self._target_dbfs = target_dbfs
        self._log_comments = log_comments
        self._seed = seed
        self._requests: queue.Queue[ComposeRequest | None] = queue.Queue()
        self._cancel = threading.Event()
        self._stop = threading.Event()
        self._engine: EngineLike | None = None
        self._readings: dict[int, Reading] = {}
        self.state = EngineState.LOADING

    @property
    def engine(self) -> EngineLike | None:
        return self._engine

    @property
    def varies(self) -> bool:
        """True when composing the same request again gives a new variation: the engine
        samples and no seed is pinned. False also while no engine is loaded."""
        return self._seed is None and self._engine is not None and self._engine.samples

    # -- UI thread ----------------------------------------------------------------------------
    def submit(self, request: ComposeRequest) -> None:
        """Queues ``request`` and cancels whatever is being composed."""
        self._cancel.set()
        self._requests.put(request)

    def cancel(self) -> None:
        """Stops the current composition (e.g. the visitor has left)."""
        self._cancel.set()
        self._requests.put(None)

    def stop(self, timeout_ms: int = 5000) -> None:
        self._stop.set()
        self._cancel.set()
        self._requests.put(None)
        self.wait(timeout_ms)

    # -- worker thread ------------------------------------------------------------------------
    def run(self) -> None:
        threading.current_thread().name = "composer"
        while not self._stop.is_set():
            if self._engine is None and not self._load_engine():
                self._stop.wait(self._retry_s)
                continue
            try:
                request = self._requests.get(timeout=0.5)
            except queue.Empty:
                continue
            self._cancel.clear()  # before draining: a later submit() cancels this one again
            request = self._latest(request)
            if request is None:
                continue
            self._set_state(EngineState.BUSY, "Composing music for this painting…")
            try:
                self._compose(request)
            except _Cancelled:
                log.info("Composition for painting %d cancelled.", request.painting_id)
            except Exception as error:
                log.exception("Composition failed")
                self.failed.emit(request.painting_id,
                                 f"The music could not be composed ({error}).")
            self._set_state(EngineState.READY, "Music engine ready.")

    def _latest(self, request: ComposeRequest | None) -> ComposeRequest | None:
        """Drops queued requests that a newer one has replaced."""
        while True:
            try:
                request = self._requests.get_nowait()
            except queue.Empty:
                return request

    def _load_engine(self) -> bool:
        self._set_state(EngineState.LOADING, "Loading the music engine…")
        started = time.monotonic()
        try:
            self._engine = self._engine_factory()
        except Exception as error:
            log.warning("Engine load failed: %s", error)
            self._set_state(EngineState.ERROR, f"{str(error).rstrip('.')}; retrying in "
                            f"{self._retry_s:g} s.")
            return False
        log.info("Engine loaded in %.1f s.", time.monotonic() - started)
        if self._seed is not None:
            log.info("Seed %d pinned by the kiosk config: %s", self._seed,
                     "a painting gets the same piece every time." if self._engine.samples else
                     "unused, this bundle's decoder does not sample.")
        self._set_state(EngineState.READY, "Music engine ready.")
        return True

    def _check(self) -> None:
        if self._cancel.is_set() or self._stop.is_set():
            raise _Cancelled

    def _compose(self, request: ComposeRequest) -> None:
        engine = self._engine
        assert engine is not None
        started = time.monotonic()
        if request.crop_rgb is not None:
            reading = engine.describe(request.crop_rgb)
            self._readings = {request.painting_id: reading}
            self.feelings_ready.emit(request.painting_id, list(reading.feelings[: self._top_k]))
            self.reading_ready.emit(request.painting_id, reading.text)
        elif request.painting_id in self._readings:
            reading = self._readings[request.painting_id]
        else:
            raise RuntimeError("that painting is no longer in view")
        self._check()
        piece = engine.compose(reading, request.comment, request.feelings,
                               target_dbfs=self._target_dbfs, seed=self._seed)
        logged = loggable_prompt(piece.prompt, request.comment, reading.text, self._log_comments)
        log.info("Painting %d prompt (%d chars): %s", request.painting_id, len(piece.prompt),
                 logged)
        if piece.seed is not None:  # with the painting and the prompt, the piece can be redrawn
            log.info("Painting %d seed %d", request.painting_id, piece.seed)
        if self._target_dbfs is not None:
            log.info("Painting %d loudness gain %+.1f dB", request.painting_id,
                     20 * np.log10(max(piece.gain, 1e-12)))
        self._check()
        writer = self._player.begin_piece(total_samples=piece.frames * piece.hop_length,
                                          requested_at=started)
        log.info("Painting %d plays as piece %d", request.painting_id, writer.id)
        shown = self._show_mel(request.painting_id, writer.id, piece, logged, -1)
        chunks: list[np.ndarray] = []
        try:
            for chunk in piece.playback_blocks():
                chunk = np.asarray(chunk, dtype=np.float32).reshape(-1)
                chunks.append(chunk)
                if self._cancel.is_set():
                    raise _Cancelled
                shown = self._show_mel(request.painting_id, writer.id, piece, logged, shown)
                if not writer.write(chunk):
                    raise _Cancelled
        except BaseException:
            writer.cancel()
            raise
        writer.finish()
        audio = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
        self._lighten_if_slow(engine, audio.size / piece.sample_rate, time.monotonic() - started)
        self.piece_ready.emit(ComposedPiece(request.painting_id, writer.id, audio,
                                            time.monotonic() - started, request.comment,
                                            request.feelings, piece.seed))

    @staticmethod
    def _lighten_if_slow(engine: EngineLike, audio_seconds: float, seconds: float) -> None:
        light = getattr(engine, "light_vocoder_name", None)
        if light is None or engine.vocoder_name == light:
            return
        rate = too_slow(audio_seconds, seconds)
        if rate is not None and engine.use_light_vocoder(True):
            log.warning("The last piece was made at %.2f× real time (below %.1f×): the next "
                        "pieces play with the light vocoder %s instead of the full one.",
                        rate, LIGHT_VOCODER_BELOW, light)

    def _show_mel(self, painting_id: int, piece_id: int, piece: Piece, logged: str,
                  shown: int) -> int:
        """Sends the piece's Mel frames made so far when there are more than the `shown` ones:
        `mel_ready` when they are all of them, else `mel_growing`. Generates no frame (the
        blocks do); returns the frames sent."""
        so_far = np.asarray(piece.mel_so_far(), dtype=np.float32)
        frames = int(so_far.shape[-1])
        if frames == shown:
            return shown
        mel = ComposedMel(painting_id, piece_id, so_far, piece.prompt, logged, piece.frames)
        (self.mel_ready if mel.complete else self.mel_growing).emit(mel)
        return frames

    def _set_state(self, state: str, message: str) -> None:
        if state != self.state:
            log.info("%s", message)
        self.state = state
        self.engine_status.emit(state, message)
