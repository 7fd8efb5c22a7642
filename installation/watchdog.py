"""Notices a frozen UI or audio thread and ends the kiosk, so that its service restarts it.

Each watched thread beats a ``Heartbeat`` (the time and the thread's id): the UI thread from a
QTimer every half second, the audio thread at every callback. A monitor thread looks at them
every ``interval`` seconds. One silent for longer than ``freeze_seconds`` is frozen: the stack
of that thread (``sys._current_frames``) goes into the log, every thread's stack to stderr
(``faulthandler``, the journal under systemd), and the process ends with ``FREEZE_EXIT_CODE``,
so ``Restart=on-failure`` (installation/service.py) starts a fresh kiosk.

Under systemd (``Type=notify``) the monitor also tells the service manager ``READY=1`` and pings
``WATCHDOG=1`` through ``$NOTIFY_SOCKET`` while every heartbeat is fresh; if the monitor itself
stops (the whole process stuck in C code), the unit's ``WatchdogSec`` restarts the kiosk.

A heartbeat that has never beaten is not judged (a thread that never started is another
part's error, reported there); when the monitor itself was not scheduled for a while (the PC
suspended, one C call holding the interpreter), the silence is not counted against a thread.
"""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import os
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from installation.config import WatchdogConfig
    from installation.kiosk import Kiosk

log = logging.getLogger(__name__)

FREEZE_EXIT_CODE = 70
"""Exit status after a freeze (EX_SOFTWARE of sysexits.h): non-zero, so the service restarts."""
UI_BEAT_MS = 500
"""How often the UI thread beats while its event loop runs."""


class Heartbeat:
    """The last sign of life of one thread: ``beat()`` from that thread, often."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.last: float | None = None
        """``time.monotonic()`` of the last beat; None before the first."""
        self.thread_id: int | None = None
        self.beats = 0

    def beat(self) -> None:
        """Records that the calling thread is alive (cheap enough for an audio callback)."""
        self.thread_id = threading.get_ident()
        self.last = time.monotonic()
        self.beats += 1


def beating(callback: Callable[..., Any], heartbeat: Heartbeat) -> Callable[..., Any]:
    """``callback`` that beats ``heartbeat`` each time it is called, then does its work."""

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        heartbeat.beat()
        return callback(*args, **kwargs)

    wrapped.__wrapped__ = callback  # type: ignore[attr-defined]
    return wrapped


@dataclass(frozen=True)
class Freeze:
    """A thread found silent for too long."""

    name: str
    silent_seconds: float
    thread_id: int | None
    stack: str
    """Where the thread is stuck (innermost call last), as ``traceback`` prints it."""

    def describe(self, limit: float) -> str:
        return (f"The {self.name} thread has not responded for {self.silent_seconds:.1f} s "
                f"(limit {limit:g} s); it is stuck here:\n{self.stack}")


def thread_stack(thread_id: int | None) -> str:
    """The current stack of one thread, or why it cannot be shown."""
    frame = sys._current_frames().get(thread_id) if thread_id is not None else None
    if frame is None:
        return "  (the thread is gone or is not running Python code)\n"
    return "".join(traceback.format_stack(frame))


class SystemdNotifier:
    """``sd_notify`` in plain socket code: datagrams to ``$NOTIFY_SOCKET`` (absent = no-op)."""

    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        address = environ.get("NOTIFY_SOCKET", "")
        self.address = "\0" + address[1:] if address.startswith("@") else address
        self.watchdog_seconds: float | None = None
        """``WatchdogSec`` of the unit when it asks this process for pings, else None."""
        usec, pid = environ.get("WATCHDOG_USEC", ""), environ.get("WATCHDOG_PID", "")
        if usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid())):
            self.watchdog_seconds = int(usec) / 1e6
        self._warned = False

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def notify(self, message: str) -> bool:
        """Sends one state line (``READY=1``, ``WATCHDOG=1``, ``STATUS=...``); False on error."""
        if not self.address:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(self.address)
                sock.sendall(message.encode("utf-8"))
        except OSError as error:
            if not self._warned:
                log.warning("Cannot notify systemd at %s (%s); its watchdog may restart the "
                            "kiosk.", self.address.replace("\0", "@"), error)
                self._warned = True
            return False
        return True


def exit_on_freeze(freeze: Freeze) -> None:
    """The kiosk's answer to a freeze: every thread's stack to stderr, then exit non-zero."""
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):  # a broken handler must not keep the kiosk alive
            handler.flush()
    with contextlib.suppress(Exception):  # stderr may be closed under a service manager
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        sys.stderr.flush()
    os._exit(FREEZE_EXIT_CODE)


class Watchdog:
    """Watches heartbeats from a monitor thread; calls ``on_freeze`` for one silent too long.

    ``on_freeze`` defaults to ``exit_on_freeze``; a soak run or a test passes its own and the
    watchdog goes on (each stall is reported once, until that thread beats again).
    """

    def __init__(self, heartbeats: Sequence[Heartbeat], freeze_seconds: float,
                 on_freeze: Callable[[Freeze], None] | None = None,
                 notifier: SystemdNotifier | None = None, interval: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if freeze_seconds <= 0:
            raise ValueError(f"freeze_seconds must be positive, not {freeze_seconds}")
        self.heartbeats = list(heartbeats)
        self.freeze_seconds = float(freeze_seconds)
        self.on_freeze = on_freeze or exit_on_freeze
        self.notifier = notifier if notifier is not None else SystemdNotifier()
        self.interval = interval if interval is not None else min(1.0, self.freeze_seconds / 4)
        self.freezes: list[Freeze] = []
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._resumed = clock()
        """Silence before this time is not counted (start, or the end of a whole-process stall)."""
        self._reported: dict[str, float | None] = {}
        self._last_ping = -float("inf")

    def start(self) -> None:
        """Starts the monitor and tells systemd the kiosk is up."""
        self._stop.clear()
        self._resumed = self._clock()
        self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)
        self._thread.start()
        self.notifier.notify("READY=1")
        if self.heartbeats:
            log.info("Watchdog on: the %s threads must answer within %g s%s.",
                     " and ".join(h.name for h in self.heartbeats), self.freeze_seconds,
                     f"; pinging systemd every {self._ping_every():g} s"
                     if self.notifier.enabled and self.notifier.watchdog_seconds else "")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        self.notifier.notify("STOPPING=1")

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def check(self, now: float | None = None) -> list[Freeze]:
        """The heartbeats silent for more than ``freeze_seconds`` and not yet reported."""
        now = self._clock() if now is None else now
        frozen = []
        for heartbeat in self.heartbeats:
            last = heartbeat.last
            if last is None or self._reported.get(heartbeat.name, -1.0) == last:
                continue
            silent = now - max(last, self._resumed)
            if silent > self.freeze_seconds:
                self._reported[heartbeat.name] = last
                frozen.append(Freeze(heartbeat.name, now - last, heartbeat.thread_id,
                                     thread_stack(heartbeat.thread_id)))
        return frozen

    def _ping_every(self) -> float:
        seconds = self.notifier.watchdog_seconds
        return max(0.1, seconds / 2) if seconds else float("inf")

    def _run(self) -> None:
        last_tick = self._clock()
        while not self._stop.wait(self.interval):
            now = self._clock()
            stalled = now - last_tick - self.interval
            last_tick = now
            if stalled > max(2.0, self.interval * 3):
                log.warning("The whole kiosk process was not scheduled for %.1f s (a suspended "
                            "PC or an overloaded machine); the threads' silence is not counted.",
                            stalled)
                self._resumed = now
                continue
            freezes = self.check(now)
            for freeze in freezes:
                self.freezes.append(freeze)
                log.error("%s", freeze.describe(self.freeze_seconds))
                self.notifier.notify(f"STATUS=The {freeze.name} thread froze; restarting.")
            for freeze in freezes:
                self.on_freeze(freeze)
            if not freezes and now - self._last_ping >= self._ping_every():
                self._last_ping = now
                self.notifier.notify("WATCHDOG=1")


@dataclass
class KioskWatchdog:
    """The kiosk's watchdog with its two heartbeats and the UI timer that beats one."""

    watchdog: Watchdog
    ui: Heartbeat
    audio: Heartbeat
    timer: Any
    """The QTimer on the UI thread (kept here so that it lives as long as the watchdog)."""

    def start(self) -> None:
        self.timer.start(UI_BEAT_MS)
        self.watchdog.start()

    def stop(self) -> None:
        self.watchdog.stop()
        self.timer.stop()


def watch_kiosk(kiosk: Kiosk, config: WatchdogConfig,
                on_freeze: Callable[[Freeze], None] | None = None,
                notifier: SystemdNotifier | None = None) -> KioskWatchdog:
    """Hooks heartbeats into a built kiosk; call before ``kiosk.start()`` (the audio output takes
    the mixer's callback when it opens), then ``start()`` once the kiosk runs. With the config's
    watchdog off no thread is judged, but systemd still hears READY and the pings (its unit is
    ``Type=notify``)."""
    from PyQt6.QtCore import QTimer

    ui, audio = Heartbeat("UI"), Heartbeat("audio")
    timer = QTimer(kiosk.window)
    if config.enabled:
        mixer = kiosk.player.mixer
        mixer.callback = beating(mixer.callback, audio)  # every output calls mixer.callback
        timer.timeout.connect(ui.beat)
    else:
        log.info("Watchdog off (watchdog.enabled = false in the kiosk config): a frozen thread "
                 "is not noticed.")
    watchdog = Watchdog([ui, audio] if config.enabled else [], config.freeze_seconds,
                        on_freeze=on_freeze, notifier=notifier)
    return KioskWatchdog(watchdog, ui, audio, timer)
