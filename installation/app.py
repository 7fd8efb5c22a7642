"""``main.py run``: starts the kiosk.

    python main.py run                      # camera 0, bundle assets/bundle, fullscreen
    python main.py run --demo --windowed    # sample artworks on a simulated wall, no hardware
    python main.py run --video visit.mp4 --config gallery.toml
    python main.py run --demo --exit-after 20 --screenshot shot.png

The kiosk never exits on its own, except after ``--exit-after SECONDS``. Without a display it
runs on Qt's offscreen platform (1920x1080) and logs what it plays to the console.
"""

from __future__ import annotations

import argparse
import faulthandler
import logging
import os
import signal
import sys
from collections.abc import Callable, MutableMapping
from pathlib import Path

from installation.config import (
    REPO_ROOT,
    ConfigError,
    KioskConfig,
    load_config,
    log_dir_of,
    with_overrides,
)
from installation.sources import DEMO_SOURCE

log = logging.getLogger(__name__)

HEADLESS_PLATFORM = "offscreen"
"""Qt platform used when no display is there (a server, CI): the window is drawn in memory."""
HEADLESS_SIZE = (1920, 1080)
"""Window size without a real screen (the offscreen screen is only 800x600)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="kiosk TOML file "
                        "(see assets/ui/kiosk.example.toml); defaults are used without it")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--camera", metavar="INDEX", help="camera device index (default 0)")
    source.add_argument("--video", type=Path, help="a video file as the camera (looped)")
    source.add_argument("--images", type=Path, metavar="DIR",
                        help="a folder of pictures shown one after another as the camera")
    parser.add_argument("--bundle", type=Path, help="model bundle directory "
                        "(default assets/bundle)")
    parser.add_argument("--demo", action="store_true",
                        help="run the sample artworks through the whole loop without a camera; "
                        "without a sound card the audio goes to a silent stand-in")
    parser.add_argument("--windowed", action="store_true", help="a window instead of fullscreen")
    parser.add_argument("--screenshot", type=Path, metavar="PATH",
                        help="save a picture of the window (at exit with --exit-after, "
                        "else after 5 s); with a live camera only if the config sets "
                        "live_screenshots")
    parser.add_argument("--keyboard", action="store_true",
                        help="open the on-screen keyboard at start (to check the layout set "
                        "in the config's ui.keyboard_layout; with --screenshot, a picture of it)")
    parser.add_argument("--exit-after", type=float, metavar="SECONDS",
                        help="quit after this many seconds (tests and CI)")
    parser.add_argument("--exit-after-pieces", type=int, metavar="N",
                        help="quit a second after the N-th piece was made (tests and CI; "
                        "--exit-after still caps the run)")


def config_from_args(args: argparse.Namespace) -> KioskConfig:
    config = load_config(args.config)
    camera: dict[str, object] = {}
    if args.camera is not None:
        camera["source"] = str(args.camera)
    elif args.video is not None:
        camera["source"] = str(args.video)
    elif args.images is not None:
        camera["source"] = str(args.images)
    elif args.demo:
        camera["source"] = DEMO_SOURCE
    sections: dict[str, object] = {"camera": camera}
    if args.bundle is not None:
        sections["bundle"] = str(args.bundle)
    if args.windowed:
        sections["ui"] = {"fullscreen": False}
    return with_overrides(config, **sections)


def engine_factory(config: KioskConfig) -> Callable[[], object]:
    """Loads ``engine.Engine`` from the bundle; every failure is one sentence for the screen."""
    bundle = config.resolve(config.bundle)
    providers = list(config.engine_providers) or None
    shown = bundle.relative_to(REPO_ROOT) if bundle.is_relative_to(REPO_ROOT) else bundle

    def load() -> object:
        try:
            from engine import Engine
        except ImportError as error:
            raise RuntimeError(f"The music engine cannot be imported ({error})") from None
        if not (bundle / "manifest.json").is_file():
            raise RuntimeError(f"No model bundle in {shown}; pass --bundle or export one")
        return Engine.load(bundle, providers=providers, vocoder=config.engine_vocoder)

    return load


def choose_qt_platform(environ: MutableMapping[str, str] = os.environ) -> str | None:
    """Picks Qt's offscreen platform when there is no display to show the window on.

    On Linux without ``$DISPLAY`` or ``$WAYLAND_DISPLAY`` (a fresh server, CI) Qt would abort
    while looking for X11; an explicit ``QT_QPA_PLATFORM`` always wins. Returns the platform
    set, or None when Qt is left to choose.
    """
    if environ.get("QT_QPA_PLATFORM") or not sys.platform.startswith("linux"):
        return None
    if environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return None
    environ["QT_QPA_PLATFORM"] = HEADLESS_PLATFORM
    return HEADLESS_PLATFORM


def bundle_problem(config: KioskConfig) -> str | None:
    """One actionable sentence when the configured model bundle is missing, else None."""
    bundle = config.resolve(config.bundle)
    if (bundle / "manifest.json").is_file():
        return None
    shown = bundle.relative_to(REPO_ROOT) if bundle.is_relative_to(REPO_ROOT) else bundle
    where = "does not exist" if not bundle.exists() else "has no manifest.json"
    return (f"The model bundle {shown} {where}: pass --bundle DIR, or write one with "
            f"`python main.py export --checkpoint RUN/checkpoints/best.safetensors --out "
            f"{shown}`. The kiosk starts anyway, shows this on screen and retries every "
            f"{config.engine_retry_s:g} s.")


def screenshot_problem(config: KioskConfig) -> str | None:
    """Why ``--screenshot`` may not save the screen (it shows the camera view and the visitor's
    comment): with a live camera only the config's ``live_screenshots`` allows it. None = it may.
    """
    if config.live_screenshots or not config.camera.source.strip().isdigit():
        return None
    return ("--screenshot is ignored: with a live camera the picture would keep the camera view "
            "and visitors' comments; set live_screenshots = true in the kiosk config to allow "
            "it.")


def run(args: argparse.Namespace) -> int:
    from installation.logging_setup import HeldRecords, setup_logging

    held = HeldRecords(logging.getLogger("installation.config"))  # e.g. a clamped volume
    with held:
        try:
            config: KioskConfig | None = config_from_args(args)
        except ConfigError as error:
            config, refusal = None, error
    if config is None:  # the refusal goes to the console and to the kiosk.log asked for
        setup_logging(KioskConfig().resolve(log_dir_of(args.config)))
        held.replay()
        log.error("The kiosk cannot start: %s", refusal)
        return 2

    log_path = setup_logging(config.resolve(config.log_dir))
    held.replay()
    # A crash inside Qt, OpenCV or ONNX Runtime then leaves every thread's stack on stderr
    # (the journal under systemd) instead of a bare exit status -11.
    faulthandler.enable(all_threads=True)
    log.info("Kiosk starting (log file %s).", log_path)
    if choose_qt_platform():
        log.info("No display ($DISPLAY and $WAYLAND_DISPLAY are unset): the kiosk runs "
                 "offscreen and reports what it plays here; --screenshot PATH saves its screen.")
    problem = bundle_problem(config)
    if problem:
        log.error("%s", problem)
    screenshot = args.screenshot
    if screenshot is not None and (refused := screenshot_problem(config)):
        log.warning("%s", refused)
        screenshot = None

    from PyQt6.QtCore import QTimer, qInstallMessageHandler
    from PyQt6.QtWidgets import QApplication

    from installation.kiosk import build_kiosk
    from installation.watchdog import watch_kiosk

    qInstallMessageHandler(_log_qt_message)

    sys.excepthook = _log_unhandled  # PyQt aborts on an exception in a slot unless hooked
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Art2Music Live")
    kiosk = build_kiosk(config, engine_factory(config))
    watchdog = watch_kiosk(kiosk, config.watchdog)  # before start: hooks the audio callback
    window = kiosk.window
    if app.platformName() in (HEADLESS_PLATFORM, "minimal"):
        window.resize(*HEADLESS_SIZE)  # no real screen to fill: the size of a 1080p kiosk
        window.show()
    elif config.ui.fullscreen:
        screen = app.primaryScreen()
        if screen is not None:  # without a window manager, fullscreen alone may not resize
            window.setGeometry(screen.geometry())
        window.showFullScreen()
    else:
        window.resize(1920, 1080)
        window.show()
    kiosk.start()
    if args.keyboard:  # as when a visitor taps the comment field
        window.comment.field.setFocus()
        window.keyboard.open_keyboard()
    watchdog.start()  # tells systemd READY=1

    def save_screenshot() -> None:
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            saved = window.grab().save(str(screenshot))
            log.info("Screenshot %s %s.", screenshot, "saved" if saved else "NOT saved")

    finished = False

    def finish() -> None:
        nonlocal finished
        if not finished:
            finished = True
            save_screenshot()
            app.quit()

    if args.exit_after_pieces:
        pieces = 0

        def count_piece(_piece) -> None:
            nonlocal pieces
            pieces += 1
            if pieces == args.exit_after_pieces:
                QTimer.singleShot(1000, finish)
        kiosk.composer.piece_ready.connect(count_piece)
    if args.exit_after is not None:
        QTimer.singleShot(round(args.exit_after * 1000), finish)
    elif screenshot is not None:
        QTimer.singleShot(5000, save_screenshot)

    signal.signal(signal.SIGINT, lambda *_: app.quit())
    signal.signal(signal.SIGTERM, lambda *_: app.quit())
    heartbeat = QTimer()  # lets Python run its signal handlers while Qt's loop is waiting
    heartbeat.timeout.connect(lambda: None)
    heartbeat.start(250)
    try:
        app.exec()
    finally:
        heartbeat.stop()
        watchdog.stop()  # the UI no longer beats once its loop ended
        kiosk.shutdown()
    log.info("Kiosk stopped.")
    return 0


_QT_NOISE = ("does not support propagateSizeHints",)
"""Qt messages that say nothing useful for a kiosk (the offscreen platform prints this one at
every layout change)."""


def _log_qt_message(kind, _context, message: str) -> None:
    """Qt's own warnings go to the kiosk log instead of straight to the terminal."""
    from PyQt6.QtCore import QtMsgType

    if any(noise in message for noise in _QT_NOISE):
        return
    level = (logging.DEBUG if kind in (QtMsgType.QtDebugMsg, QtMsgType.QtInfoMsg)
             else logging.WARNING)
    logging.getLogger("qt").log(level, "%s", message)


def _log_unhandled(kind, error, trace) -> None:
    """An error in a Qt slot is logged and the kiosk goes on (it must never close by itself)."""
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, error, trace)
        return
    log.error("Unexpected error in the kiosk; it keeps running.", exc_info=(kind, error, trace))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="art2music-kiosk", description=__doc__.split("\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))
