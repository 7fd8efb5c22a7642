"""A soak run: the real kiosk for N minutes on a video camera, with visitors' comments.

The kiosk is built exactly as ``main.py run`` builds it (``build_kiosk``, the engine from the
bundle, the watchdog), on Qt's offscreen platform when there is no display, with the silent
real-time output when there is no sound card. The camera is a video of the sample artworks
being hung on a wall one after another (``write_soak_video``, the demo wall's drawing); every
``comment_every_s`` seconds a comment is typed into the comment field and Compose is tapped.
Every ``sample_every_s`` seconds the counters are sampled (``soak_report.Sample``).
"""

from __future__ import annotations

import itertools
import logging
import signal
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from installation.config import KioskConfig
from installation.soak_report import Sample, SoakReport, rss_mb, rss_summary, verdict
from installation.sources import DemoWallSource

log = logging.getLogger(__name__)

COMMENTS = (
    "It makes me feel calm, a little sad.",
    "So much energy, I love these colours!",
    "Quiet and mysterious, like a dream at night.",
    "Joyful and bright, it reminds me of summer.",
    "A bit frightening, the dark corners worry me.",
    "Peaceful. I could look at it for hours.",
)
"""What the soak's visitor writes, in turn."""
VIDEO_SIZE = (640, 360)
VIDEO_FPS = 10.0
FIRST_ERRORS_KEPT = 20


def write_soak_video(path: Path, artworks: Sequence[np.ndarray], hold_seconds: float,
                     gap_seconds: float = 2.5, fps: float = VIDEO_FPS,
                     size: tuple[int, int] = VIDEO_SIZE) -> Path:
    """One pass of the demo wall (each artwork carried in, held ``hold_seconds``, taken away)
    as an mp4v video; the camera loops it."""
    wall = DemoWallSource(artworks, size=size, fps=fps, hold_seconds=hold_seconds,
                          gap_seconds=gap_seconds)
    period = wall.gap_seconds + wall.move_seconds + wall.hold_seconds
    frames = round(period * len(artworks) * fps)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write the soak video {path}; pass --video FILE.")
    try:
        for _ in range(frames):
            writer.write(wall.read().image)
    finally:
        writer.release()
    return path


class LogCounter(logging.Handler):
    """Counts the kiosk's warnings and errors; keeps the first errors' text for the report."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.warnings = 0
        self.errors = 0
        self.first_errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.errors += 1
            if len(self.first_errors) < FIRST_ERRORS_KEPT:
                self.first_errors.append(f"{record.name}: {record.getMessage()}"[:500])
        else:
            self.warnings += 1


@dataclass(frozen=True)
class SoakSettings:
    minutes: float
    comment_every_s: float = 15.0
    sample_every_s: float = 1.0


class Soak:
    """Drives a built kiosk from the UI thread's timers and samples its counters."""

    def __init__(self, kiosk, settings: SoakSettings, counter: LogCounter) -> None:
        from PyQt6.QtCore import QTimer

        self.kiosk = kiosk
        self.settings = settings
        self.counter = counter
        self.samples: list[Sample] = []
        self.comments_sent = 0
        self.pieces_composed = 0
        self.played: set[int] = set()
        self.freezes: list[str] = []
        self._comments = itertools.cycle(COMMENTS)
        self._clock = time.monotonic
        self._started = 0.0
        self._timers = []
        for interval, slot in ((settings.sample_every_s, self.sample),
                               (settings.comment_every_s, self.comment), (0.1, self._watch_piece)):
            timer = QTimer()
            timer.setInterval(round(interval * 1000))
            timer.timeout.connect(slot)
            self._timers.append(timer)
        kiosk.composer.piece_ready.connect(self._on_piece_ready)

    def on_freeze(self, freeze) -> None:
        """The watchdog's answer during a soak: counted, and the run goes on to its report."""
        self.freezes.append(f"{freeze.name} thread silent {freeze.silent_seconds:.1f} s")

    def start(self) -> None:
        self._started = self._clock()
        for timer in self._timers:
            timer.start()
        self.sample()

    def stop(self) -> None:
        for timer in self._timers:
            timer.stop()
        self._watch_piece()
        self.sample()

    def _on_piece_ready(self, _piece) -> None:
        self.pieces_composed += 1

    def _watch_piece(self) -> None:
        piece = self.kiosk.player.mixer.now_playing
        if piece is not None and piece.played > 0:
            self.played.add(piece.id)

    def comment(self) -> None:
        """Types the next comment and taps Compose, as a visitor would (only once the kiosk has
        read the painting: the button is disabled before)."""
        window = self.kiosk.window
        if not window.compose_button.isEnabled():
            return
        window.comment.field.setText(next(self._comments))
        window.compose_button.click()
        self.comments_sent += 1

    def sample(self) -> None:
        stats = self.kiosk.player.mixer.stats
        self.samples.append(Sample(
            seconds=round(self._clock() - self._started, 2), rss_mb=round(rss_mb(), 1),
            underflow_blocks=stats.underflows, device_underruns=stats.device_status_flags,
            blocks_rendered=stats.blocks_rendered, pieces_played=len(self.played),
            errors=self.counter.errors))

    def report(self, config: KioskConfig, video: Path, audio_output: str) -> SoakReport:
        stats = self.kiosk.player.mixer.stats
        report = SoakReport(
            minutes_requested=self.settings.minutes,
            seconds_run=self.samples[-1].seconds,
            bundle=str(config.resolve(config.bundle)), video=str(video),
            audio_output=audio_output, sample_rate=self.kiosk.player.sample_rate,
            block_size=config.audio.block_size, comments_sent=self.comments_sent,
            pieces_composed=self.pieces_composed, pieces_played=len(self.played),
            underflow_blocks=stats.underflows, device_underruns=stats.device_status_flags,
            blocks_rendered=stats.blocks_rendered, render_errors=stats.render_errors,
            log_warnings=self.counter.warnings, log_errors=self.counter.errors,
            first_errors=list(self.counter.first_errors), freezes=list(self.freezes),
            rss_mb=rss_summary(self.samples),
            samples=[asdict(sample) for sample in self.samples])
        report.verdict = verdict(report)
        return report


def run_soak(config: KioskConfig, video: Path, settings: SoakSettings) -> SoakReport:
    """Runs the kiosk for ``settings.minutes`` (on the process's QApplication, made if there is
    none) and returns what it measured; SIGINT / SIGTERM end it early, with a report."""
    from PyQt6.QtCore import QTimer, qInstallMessageHandler
    from PyQt6.QtWidgets import QApplication

    from installation.app import HEADLESS_PLATFORM, HEADLESS_SIZE, _log_qt_message, engine_factory
    from installation.artworks import load_artworks
    from installation.kiosk import build_kiosk
    from installation.watchdog import watch_kiosk

    counter = LogCounter()
    logging.getLogger().addHandler(counter)
    qInstallMessageHandler(_log_qt_message)  # Qt's warnings into the log, as in `main.py run`
    app = QApplication.instance() or QApplication(["art2music-soak"])
    artworks = load_artworks(config.resolve(config.artworks))
    kiosk = build_kiosk(config, engine_factory(config), artworks=artworks)
    soak = Soak(kiosk, settings, counter)
    watchdog = watch_kiosk(kiosk, config.watchdog, on_freeze=soak.on_freeze)
    window = kiosk.window
    if app.platformName() in (HEADLESS_PLATFORM, "minimal"):
        window.resize(*HEADLESS_SIZE)
    else:
        window.resize(1280, 720)
    window.show()
    kiosk.start()
    watchdog.start()
    soak.start()
    QTimer.singleShot(round(settings.minutes * 60_000), app.quit)
    previous = {sig: signal.signal(sig, lambda *_: app.quit())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    wake = QTimer()  # lets Python run its signal handlers while Qt's loop waits
    wake.timeout.connect(lambda: None)
    wake.start(250)
    try:
        app.exec()
    finally:
        wake.stop()
        soak.stop()
        watchdog.stop()
        output = kiosk.player.output
        audio_output = getattr(output, "description", "none")
        kiosk.shutdown()
        window.close()
        logging.getLogger().removeHandler(counter)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return soak.report(config, video, audio_output)
