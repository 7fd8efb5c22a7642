"""The kiosk's "listen" mode (issue 11): the visitor plays or hums something, the kiosk shows
the painting of its collection whose feeling fits, and can answer with its own piece for it.

``Recorder`` reads up to ``max_seconds`` from a sounddevice ``InputStream`` (or any stand-in
with the same constructor keywords, ``start``/``stop``/``close``, calling
``callback(indata [frames, channels] float32, frames, time, status)`` from its own thread) and
reports the level of every block. ``ListenMode`` runs record → highlight → music encoder →
collection match in a worker thread (engine/retrieval.py) and shows the stages on a
``ListenView``. Without a microphone (no PortAudio, no input device, the stream fails to open)
the view says so in one sentence and the kiosk goes on as before. Nothing heard is written to
disk or to the log.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from PyQt6.QtCore import QObject, pyqtSignal

log = logging.getLogger(__name__)

SILENT_DBFS = -55.0
"""A recording whose loudest block stays below this is treated as "heard nothing"."""
MIN_SECONDS = 1.0


@dataclass(frozen=True)
class ListenConfig:
    max_seconds: float = 15.0
    sample_rate: int = 22050
    block_size: int = 1024
    device: str | int | None = None
    top_k: int = 3


class MicrophoneError(RuntimeError):
    """No microphone can be opened; the message is one sentence for the screen."""


class InputStreamLike(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


StreamFactory = Callable[..., InputStreamLike]


def sounddevice_input_stream(**kwargs) -> InputStreamLike:
    """A sounddevice ``InputStream``; MicrophoneError when there is no usable microphone."""
    try:
        import sounddevice as sd  # needs the PortAudio library (Debian libportaudio2)
    except OSError as error:
        raise MicrophoneError(f"No microphone: PortAudio is not installed ({error}).") from None
    try:
        device = kwargs.get("device")
        if device is None and not any(d["max_input_channels"] > 0 for d in sd.query_devices()):
            raise MicrophoneError("No microphone was found; plug one in and press Listen again.")
        return sd.InputStream(**kwargs)
    except (sd.PortAudioError, ValueError) as error:
        raise MicrophoneError(f"The microphone cannot be opened ({str(error).rstrip('.')}); "
                              "check it and press Listen again.") from None


def level_dbfs(block: np.ndarray) -> float:
    """RMS level of a block in dB relative to full scale (−120 for digital silence)."""
    rms = float(np.sqrt(np.mean(np.square(block, dtype=np.float64)))) if block.size else 0.0
    return 20.0 * np.log10(max(rms, 1e-6))


class Recorder:
    """Records one take; `record` blocks (call it from a worker thread)."""

    def __init__(self, config: ListenConfig,
                 stream_factory: StreamFactory = sounddevice_input_stream,
                 on_level: Callable[[float, float], None] | None = None) -> None:
        self.config = config
        self.stream_factory = stream_factory
        self.on_level = on_level
        """Called with (level dBFS, seconds recorded so far) for every block."""

    def record(self, stop: threading.Event) -> np.ndarray:
        """Mono float32 audio at ``config.sample_rate``: up to ``max_seconds``, less when
        `stop` is set or the stream ends. MicrophoneError when it cannot be opened."""
        blocks: queue.Queue[np.ndarray | None] = queue.Queue()

        def callback(indata, frames, _time, status) -> None:
            if status:
                log.debug("microphone: %s", status)
            blocks.put(np.asarray(indata, dtype=np.float32).mean(axis=1).copy())

        def finished() -> None:
            blocks.put(None)

        stream = self.stream_factory(samplerate=self.config.sample_rate,
                                     blocksize=self.config.block_size, channels=1,
                                     dtype="float32", callback=callback,
                                     device=self.config.device, finished_callback=finished)
        limit = round(self.config.max_seconds * self.config.sample_rate)
        taken: list[np.ndarray] = []
        count = 0
        try:
            stream.start()
            deadline = time.monotonic() + self.config.max_seconds + 5.0
            while count < limit and not stop.is_set() and time.monotonic() < deadline:
                try:
                    block = blocks.get(timeout=0.1)
                except queue.Empty:
                    continue
                if block is None:
                    break
                block = block[:limit - count]
                taken.append(block)
                count += block.size
                if self.on_level is not None:
                    self.on_level(level_dbfs(block), count / self.config.sample_rate)
        finally:
            try:
                stream.stop()
            finally:
                stream.close()
        return np.concatenate(taken) if taken else np.zeros(0, np.float32)


@dataclass(frozen=True)
class ListenResult:
    """What the kiosk heard and what it matched: best first."""

    matches: tuple  # tuple[engine.retrieval.Match, ...]
    images: tuple  # RGB uint8 arrays of the matched artworks (None where unreadable)
    seconds: float
    window: tuple[float, float]


class _Signals(QObject):
    level = pyqtSignal(float, float)  # dBFS, seconds recorded
    recorded = pyqtSignal(float)  # seconds recorded; matching starts
    matched = pyqtSignal(object)  # ListenResult
    failed = pyqtSignal(str)  # one sentence for the screen


class ListenMode(QObject):
    """Wires the Listen button, the worker thread and the ``ListenView``.

    `retrieval_factory` returns an ``engine.retrieval.MusicRetrieval`` (called once, in the
    worker); `index_path` is the collection index (main.py index-collection); `compose` is
    called with the matched painting's RGB when the visitor asks for its music.
    """

    def __init__(self, view, retrieval_factory: Callable[[], object], index_path: Path,
                 compose: Callable[[np.ndarray], None], config: ListenConfig = ListenConfig(),
                 stream_factory: StreamFactory = sounddevice_input_stream) -> None:
        super().__init__()
        self.view = view
        self.config = config
        self.index_path = Path(index_path)
        self.compose = compose
        self.signals = _Signals()
        self._retrieval_factory = retrieval_factory
        self._retrieval = None
        self._index = None
        self._recorder = Recorder(config, stream_factory, self.signals.level.emit)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_result: ListenResult | None = None
        self.last_error = ""
        self.signals.level.connect(view.show_level)
        self.signals.recorded.connect(view.show_matching)
        self.signals.matched.connect(self._on_matched)
        self.signals.failed.connect(self._on_failed)
        view.stop_requested.connect(self.stop)
        view.cancel_requested.connect(self.cancel)
        view.again_requested.connect(self.start)
        view.play_requested.connect(self._play)

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Opens the view and starts recording (ignored while a take is running)."""
        if self.busy:
            return
        self._stop.clear()
        self.view.show_recording(self.config.max_seconds)
        self._thread = threading.Thread(target=self._work, name="listen", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ends the recording early; what was heard so far is matched."""
        self._stop.set()

    def cancel(self) -> None:
        self._stop.set()
        self._cancelled = True
        self.view.close_view()

    def wait(self, timeout: float = 10.0) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.busy

    def _work(self) -> None:
        self._cancelled = False
        try:
            audio = self._recorder.record(self._stop)
            seconds = audio.size / self.config.sample_rate
            if self._cancelled:
                return
            if seconds < MIN_SECONDS:
                raise MicrophoneError("I heard less than a second; press Listen and play a "
                                      "little longer.")
            if level_dbfs(audio) < SILENT_DBFS and \
                    float(np.max(np.abs(audio))) < 10 ** (SILENT_DBFS / 20):
                raise MicrophoneError("I heard nothing; play or hum a little louder, closer to "
                                      "the kiosk, and press Listen again.")
            self.signals.recorded.emit(seconds)
            result = self._match(audio, seconds)
            if not self._cancelled:
                self.signals.matched.emit(result)
        except MicrophoneError as error:
            self.signals.failed.emit(str(error))
        except Exception as error:  # the engine's errors are one sentence too
            log.exception("Listen mode failed.")
            self.signals.failed.emit(f"Matching failed: {error}")

    def _match(self, audio: np.ndarray, seconds: float) -> ListenResult:
        import cv2

        from engine.collection import CollectionIndex

        if self._retrieval is None:
            self._retrieval = self._retrieval_factory()
        if self._index is None:
            self._index = CollectionIndex.load(self.index_path)
        query = self._retrieval.embed_audio(audio, self.config.sample_rate)
        matches = tuple(self._retrieval.match(query.embedding, self._index, self.config.top_k))
        images = []
        for match in matches:
            bgr = cv2.imread(str(self._index.resolve(self._index.entries[match.index])),
                             cv2.IMREAD_COLOR)
            images.append(None if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        log.info("Listen: %.1f s heard, best match %s (%.3f).", seconds, matches[0].title,
                 matches[0].score)
        return ListenResult(matches, tuple(images), seconds, query.window_seconds)

    def _on_matched(self, result: ListenResult) -> None:
        self.last_result = result
        self.view.show_match(result)

    def _on_failed(self, message: str) -> None:
        self.last_error = message
        log.warning("Listen: %s", message)
        self.view.show_message(message)

    def _play(self) -> None:
        result = self.last_result
        if result is None or not result.images or result.images[0] is None:
            return
        self.view.close_view()
        self.compose(result.images[0])


LISTEN_LABEL = "Listen"


def _header_layout(window):
    """The window's header row (title … volume), or None when the layout is not the known one."""
    from PyQt6.QtWidgets import QBoxLayout

    central = window.centralWidget()
    outer = central.layout() if central is not None else None
    item = outer.itemAt(0) if outer is not None and outer.count() else None
    header = item.layout() if item is not None else None
    return header if isinstance(header, QBoxLayout) else None


def attach_listen_mode(window, compose: Callable[[np.ndarray], None], bundle_dir: Path,
                       index_path: Path, config: ListenConfig = ListenConfig(),
                       stream_factory: StreamFactory | None = None,
                       providers: list[str] | None = None) -> ListenMode:
    """Adds the "Listen" button to the window's header (or over its top-right corner) and the
    listen overlay; the retrieval graphs load on the first take, not at start-up."""
    from PyQt6.QtWidgets import QPushButton, QSpacerItem

    from installation.ui.listen_view import ListenView

    def retrieval():
        from engine.retrieval import MusicRetrieval

        return MusicRetrieval.load(bundle_dir, providers=providers)

    view = ListenView(window)
    mode = ListenMode(view, retrieval, index_path, compose, config,
                      stream_factory or sounddevice_input_stream)
    button = QPushButton(LISTEN_LABEL)
    button.setObjectName("primary")
    button.setToolTip("Play or hum something: the kiosk shows the painting that fits it")
    header = _header_layout(window)
    if header is not None:
        spacer = next((i for i in range(header.count())
                       if isinstance(header.itemAt(i), QSpacerItem)), header.count())
        header.insertWidget(spacer + 1, button)
    else:
        button.setParent(window)
        button.move(window.width() - 260, 20)
    button.clicked.connect(mode.start)
    window.listen_button = button
    window.listen_view = view
    return mode
