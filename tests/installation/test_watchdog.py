"""The kiosk watchdog: real threads that freeze are noticed, their stack is logged, the process
exits non-zero (so systemd restarts it), and systemd hears READY / WATCHDOG / STOPPING through a
real $NOTIFY_SOCKET."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from installation.config import (
    AudioOutputConfig,
    CameraConfig,
    ConfigError,
    KioskConfig,
    UiConfig,
    WatchdogConfig,
    load_config,
)
from installation.kiosk import build_kiosk
from installation.watchdog import (
    FREEZE_EXIT_CODE,
    Heartbeat,
    SystemdNotifier,
    Watchdog,
    watch_kiosk,
)
from tests.installation.helpers import FakeEngine, artwork, wait_until

REPO = Path(__file__).resolve().parents[2]


def _beat_then_block(heartbeat: Heartbeat, release: threading.Event) -> None:
    heartbeat.beat()
    _stuck_in_here(release)
    heartbeat.beat()


def _stuck_in_here(release: threading.Event) -> None:
    release.wait()


def _beat_forever(heartbeat: Heartbeat, stop: threading.Event) -> None:
    while not stop.wait(0.05):
        heartbeat.beat()


class Receiver:
    """A datagram socket standing in for systemd's notify socket."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.05)
        self.messages: list[str] = []

    def drain(self) -> list[str]:
        while True:
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except (TimeoutError, BlockingIOError):
                return self.messages

    def close(self) -> None:
        self.sock.close()


def test_a_frozen_thread_is_reported_with_its_stack_and_a_live_one_is_not():
    frozen, alive = Heartbeat("audio"), Heartbeat("UI")
    release, stop = threading.Event(), threading.Event()
    stuck = threading.Thread(target=_beat_then_block, args=(frozen, release), daemon=True)
    beating = threading.Thread(target=_beat_forever, args=(alive, stop), daemon=True)
    found = []
    watchdog = Watchdog([frozen, alive], freeze_seconds=0.6, on_freeze=found.append,
                        notifier=SystemdNotifier({}), interval=0.1)
    stuck.start()
    beating.start()
    watchdog.start()
    try:
        deadline = time.monotonic() + 5
        while not found and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # a still-frozen thread is reported once, not at every check
        assert [f.name for f in found] == ["audio"]
        freeze = found[0]
        assert freeze.thread_id == stuck.ident
        assert 0.6 < freeze.silent_seconds < 3.0
        assert "_stuck_in_here" in freeze.stack and "release.wait()" in freeze.stack
        assert "_beat_forever" not in freeze.stack
        release.set()  # it beats again and freezes no more: nothing new is reported
        stuck.join(timeout=2)
        time.sleep(0.3)
        assert len(found) == 1
    finally:
        watchdog.stop()
        stop.set()
        release.set()
    assert not watchdog.running


def test_a_thread_that_never_beat_is_not_judged_and_a_stalled_process_is_forgiven():
    clock = [100.0]
    idle, busy = Heartbeat("never"), Heartbeat("UI")
    watchdog = Watchdog([idle, busy], freeze_seconds=5.0, on_freeze=lambda f: None,
                        notifier=SystemdNotifier({}), clock=lambda: clock[0])
    busy.beat()
    busy.last = 100.0
    assert watchdog.check(104.0) == []
    assert [f.name for f in watchdog.check(105.5)] == ["UI"]
    busy.last = 106.0  # beats again, then the whole process is suspended for a minute
    watchdog._resumed = 170.0  # what the monitor sets when it finds itself unscheduled
    assert watchdog.check(172.0) == []
    assert [f.name for f in watchdog.check(175.5)] == ["UI"]


def test_the_default_answer_logs_the_stack_and_exits_non_zero(tmp_path):
    script = textwrap.dedent("""
        import logging, threading, time
        from installation.watchdog import Heartbeat, Watchdog
        logging.basicConfig(level=logging.INFO)
        heartbeat = Heartbeat("UI")
        def painting_loop_that_hangs():
            heartbeat.beat()
            threading.Event().wait()
        threading.Thread(target=painting_loop_that_hangs, daemon=True).start()
        Watchdog([heartbeat], freeze_seconds=0.5, interval=0.1).start()
        time.sleep(20)
        print("NOT RESTARTED")
    """)
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == FREEZE_EXIT_CODE, result.stderr[-2000:]
    assert time.monotonic() - started < 15
    assert "NOT RESTARTED" not in result.stdout
    assert "The UI thread has not responded for" in result.stderr
    assert "in painting_loop_that_hangs" in result.stderr  # the logged stack names it
    assert "most recent call first" in result.stderr  # faulthandler's dump of every thread


def test_systemd_hears_ready_watchdog_pings_status_and_stopping(tmp_path):
    path = str(tmp_path / "notify")
    receiver = Receiver(path)
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "300000"})
    assert notifier.watchdog_seconds == pytest.approx(0.3)
    heartbeat, release = Heartbeat("audio"), threading.Event()
    threading.Thread(target=_beat_then_block, args=(heartbeat, release), daemon=True).start()
    found = []
    watchdog = Watchdog([heartbeat], freeze_seconds=1.0, on_freeze=found.append,
                        notifier=notifier, interval=0.05)
    try:
        watchdog.start()
        time.sleep(0.8)
        before = receiver.drain()[:]
        assert before[0] == "READY=1"
        assert before.count("WATCHDOG=1") >= 3  # about every 0.15 s while all is well
        assert wait_for(lambda: found, 5)
        time.sleep(0.5)
        after = receiver.drain()[len(before):]
        assert "STATUS=The audio thread froze; restarting." in after
    finally:
        watchdog.stop()
        release.set()
    assert receiver.drain()[-1] == "STOPPING=1"
    receiver.close()


def test_an_abstract_notify_socket_works_and_a_missing_one_is_a_quiet_no_op():
    name = f"art2music-test-{time.monotonic_ns()}"
    receiver = Receiver("\0" + name)
    try:
        assert SystemdNotifier({"NOTIFY_SOCKET": "@" + name}).notify("READY=1")
        assert receiver.drain() == ["READY=1"]
    finally:
        receiver.close()
    assert not SystemdNotifier({}).notify("READY=1")
    assert not SystemdNotifier({"NOTIFY_SOCKET": "/nonexistent/notify"}).notify("READY=1")


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


@pytest.mark.parametrize("value", [0, 1, -5, 601, "nan"])
def test_freeze_seconds_outside_its_range_is_refused(tmp_path, value):
    config = tmp_path / "kiosk.toml"
    number = "nan" if value == "nan" else value
    config.write_text(f"[watchdog]\nfreeze_seconds = {number}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"'watchdog.freeze_seconds' must be between 3 and 600"):
        load_config(config)


def test_freeze_seconds_inside_its_range_and_the_switch_are_read(tmp_path):
    config = tmp_path / "kiosk.toml"
    config.write_text("[watchdog]\nfreeze_seconds = 45\nenabled = false\n", encoding="utf-8")
    assert load_config(config).watchdog == WatchdogConfig(enabled=False, freeze_seconds=45.0)
    assert KioskConfig().watchdog.enabled and KioskConfig().watchdog.freeze_seconds == 20.0


def test_the_real_kiosk_frozen_ui_thread_then_frozen_audio_thread(qapp, tmp_path):
    """The kiosk built as `main.py run` builds it: its UI timer and its audio callback beat; the
    UI thread (this test's thread) is blocked, then the audio callback is blocked for real."""
    config = KioskConfig(camera=CameraConfig(source="demo"),
                         audio=AudioOutputConfig(device="none"),
                         ui=UiConfig(fullscreen=False), log_dir=str(tmp_path / "logs"),
                         watchdog=WatchdogConfig(freeze_seconds=3.0))
    kiosk = build_kiosk(config, FakeEngine, artworks=[artwork(3)])
    found = []
    watch = watch_kiosk(kiosk, config.watchdog, on_freeze=found.append,
                        notifier=SystemdNotifier({}))
    assert watch is not None
    kiosk.start()
    watch.start()
    release = threading.Event()
    mixer = kiosk.player.mixer
    try:
        assert wait_until(lambda: watch.ui.beats >= 2 and watch.audio.beats >= 20, timeout=10)
        assert watch.audio.thread_id == kiosk.player.output._thread.ident  # the null sink's
        assert not found

        time.sleep(4.0)  # the UI thread (this one) processes no events: a frozen UI
        assert wait_until(lambda: found, timeout=3)
        assert [f.name for f in found] == ["UI"]
        assert "test_the_real_kiosk_frozen_ui_thread_then_frozen_audio_thread" in found[0].stack

        original = mixer.render

        def render_that_deadlocks(n):
            release.wait()
            return original(n)

        mixer.render = render_that_deadlocks  # the next audio callback hangs in here
        assert wait_until(lambda: len(found) == 2, timeout=8)
        assert found[1].name == "audio"
        assert "render_that_deadlocks" in found[1].stack
    finally:
        release.set()
        watch.stop()
        kiosk.shutdown()
        kiosk.window.close()


@pytest.mark.parametrize("enabled", [True, False])
def test_main_py_run_tells_systemd_it_is_ready_and_stopping(tmp_path, enabled):
    """Its unit is Type=notify: READY must come even with the watchdog switched off."""
    path = str(tmp_path / "notify")
    receiver = Receiver(path)
    config_file = tmp_path / "kiosk.toml"
    config_file.write_text(f'log_dir = "{tmp_path / "logs"}"\n[audio]\ndevice = "none"\n'
                           f'[watchdog]\nfreeze_seconds = 5\nenabled = {str(enabled).lower()}\n',
                           encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(tmp_path),
           "OMP_NUM_THREADS": "1", "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000"}
    result = subprocess.run(
        [sys.executable, "main.py", "run", "--demo", "--bundle", str(tmp_path / "no-bundle"),
         "--config", str(config_file), "--exit-after", "3"],
        cwd=REPO, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    messages = receiver.drain()
    receiver.close()
    assert messages[0] == "READY=1" and messages[-1] == "STOPPING=1"
    assert "WATCHDOG=1" in messages
    announced = "Watchdog on: the UI and audio threads must answer within 5 s; pinging systemd"
    assert (announced in result.stderr) == enabled
    assert ("a frozen thread is not noticed" in result.stderr) != enabled
