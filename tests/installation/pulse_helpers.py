"""A real sound server for the audio tests: a private PulseAudio with a null sink, a recorder on
the sink's monitor (what was actually played), and the arithmetic to compare a recording with
what the kiosk was given.

Needs Debian ``pulseaudio pulseaudio-utils libasound2-plugins`` (install.sh installs them; see
../shared/ENVIRONMENT.md). PortAudio reaches the server through ALSA's ``pulse`` plugin: its
``default`` and ``pulse`` devices play into the server's default sink. A sink in the player's own
format (float32, 22 050 Hz, mono) means nothing is resampled or converted, so the recording can
be compared with the player's input sample by sample.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

PROGRAMS = ("pulseaudio", "pactl", "parec")
ALSA_PULSE_PLUGIN = "/usr/lib/*/alsa-lib/libasound_module_pcm_pulse.so"
"""ALSA's pulse plugin (Debian libasound2-plugins): how PortAudio reaches the server."""


def missing_reason() -> str | None:
    """Why a real PulseAudio cannot be used here, in one sentence (None: it can)."""
    missing = [name for name in PROGRAMS if shutil.which(name) is None]
    if missing:
        return (f"PulseAudio is not installed ({', '.join(missing)} missing; Debian pulseaudio "
                "pulseaudio-utils)")
    if not glob.glob(ALSA_PULSE_PLUGIN):
        return "ALSA's pulse plugin is not installed (Debian libasound2-plugins)"
    try:
        import sounddevice  # noqa: F401
    except OSError as error:
        return f"PortAudio is not installed ({error})"
    return None


def refresh_portaudio() -> None:
    """PortAudio lists devices once per initialisation: look again (new server or none)."""
    import sounddevice as sd

    sd._terminate()
    sd._initialize()


@dataclass
class PulseServer:
    """One private PulseAudio daemon (own runtime folder, no system config) with a null sink
    that is the default sink; its monitor is the default source."""

    runtime: Path
    sink: str
    sample_rate: int
    channels: int
    sample_format: str
    env: dict[str, str] = field(repr=False)
    pid: int | None = None

    @classmethod
    def start(cls, sink: str = "kiosk", sample_rate: int = 22050, channels: int = 1,
              sample_format: str = "float32le", timeout_s: float = 30.0) -> PulseServer:
        runtime = Path(tempfile.mkdtemp(prefix="pulse-"))
        runtime.chmod(0o700)
        env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "HOME": str(runtime),
               "PULSE_SERVER": f"unix:{runtime}/pulse/native"}
        server = cls(runtime, sink, sample_rate, channels, sample_format, env)
        try:
            subprocess.run(
                ["pulseaudio", "-D", "-n", "--exit-idle-time=-1", "--system=false",
                 "--load=module-native-protocol-unix",
                 f"--load=module-null-sink sink_name={sink} format={sample_format} "
                 f"rate={sample_rate} channels={channels}"],
                env=env, check=True, timeout=timeout_s, capture_output=True)
            pid_file = next(runtime.rglob("pid"), None)
            server.pid = int(pid_file.read_text().split()[0]) if pid_file else None
            server.pactl("set-default-sink", sink)
            server.pactl("set-default-source", server.monitor)
        except BaseException:
            server.stop()
            raise
        return server

    @property
    def monitor(self) -> str:
        """The source that hears everything played into the sink."""
        return f"{self.sink}.monitor"

    def pactl(self, *args: str) -> str:
        return subprocess.run(["pactl", *args], env=self.env, check=True, timeout=10,
                              capture_output=True, text=True).stdout

    def use_here(self, monkeypatch) -> None:
        """Points this process (PortAudio through ALSA's pulse plugin) at the server."""
        for key in ("XDG_RUNTIME_DIR", "HOME", "PULSE_SERVER"):
            monkeypatch.setenv(key, self.env[key])
        refresh_portaudio()

    def recorder(self, path: Path) -> MonitorRecorder:
        return MonitorRecorder(self, path)

    def stop(self) -> None:
        """Ends the daemon by its PID (never by name) and removes its runtime folder."""
        if self.pid is None:
            pid_file = next(self.runtime.rglob("pid"), None)
            with contextlib.suppress(ValueError, OSError):
                self.pid = int(pid_file.read_text().split()[0]) if pid_file else None
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            deadline = time.monotonic() + 5.0
            while time.monotonic() < deadline and _alive(self.pid):
                time.sleep(0.05)
            self.pid = None
        shutil.rmtree(self.runtime, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a daemon we started but nobody reaps shows as a zombie: that is gone too
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    return True


class MonitorRecorder:
    """``parec`` on the sink's monitor, in the sink's own format, raw into a file."""

    def __init__(self, server: PulseServer, path: Path) -> None:
        self.server, self.path = server, path
        self._process: subprocess.Popen | None = None
        self._file = None

    def start(self, timeout_s: float = 10.0) -> None:
        """Starts recording and returns once the first samples have arrived."""
        server = self.server
        self._file = self.path.open("wb")
        self._process = subprocess.Popen(
            ["parec", f"--device={server.monitor}", f"--format={server.sample_format}",
             f"--rate={server.sample_rate}", f"--channels={server.channels}", "--raw",
             "--latency-msec=20"], stdout=self._file, stderr=subprocess.DEVNULL, env=server.env)
        deadline = time.monotonic() + timeout_s
        while self.path.stat().st_size == 0:
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"parec recorded nothing from {server.monitor} in "
                                   f"{timeout_s:g} s")
            time.sleep(0.01)

    def stop(self) -> np.ndarray:
        """Stops recording; returns everything recorded (float32, first channel)."""
        if self._process is not None:
            self._process.send_signal(signal.SIGINT)  # parec writes what it holds and exits
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._file is not None:
            self._file.close()
            self._file = None
        data = np.fromfile(self.path, dtype=np.float32)
        channels = self.server.channels
        return data[: data.size // channels * channels].reshape(-1, channels)[:, 0]


@contextlib.contextmanager
def busy_processes(count: int = 2) -> Iterator[list[subprocess.Popen]]:
    """`count` processes that each keep one core busy (``while True: pass``) meanwhile."""
    processes = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                 for _ in range(count)]
    try:
        yield processes
    finally:
        for process in processes:
            process.kill()
        for process in processes:
            process.wait(timeout=10)


# ------------------------------------------------------------------------------- comparison
def find_offset(recording: np.ndarray, reference: np.ndarray) -> int:
    """Where `reference` starts in `recording`: the peak of their cross-correlation."""
    from scipy.signal import correlate

    if reference.size > recording.size:
        raise ValueError("the recording is shorter than the reference")
    scores = correlate(recording.astype(np.float64), reference.astype(np.float64),
                       mode="valid", method="fft")
    return int(np.argmax(scores))


def zero_runs(x: np.ndarray, min_samples: int = 16) -> list[tuple[int, int]]:
    """(start, length) of every run of at least `min_samples` exactly-zero samples: what a
    sound server plays when a stream runs dry (music never holds exact zeros that long)."""
    silent = np.concatenate([[False], x == 0.0, [False]])
    edges = np.flatnonzero(np.diff(silent.astype(np.int8)))
    starts, ends = edges[0::2], edges[1::2]
    return [(int(s), int(e - s)) for s, e in zip(starts, ends, strict=True)
            if e - s >= min_samples]


def equal_power(length: int) -> tuple[np.ndarray, np.ndarray]:
    """The falling (cos) and rising (sin) gains of an equal-power ramp of `length` samples:
    sample k of the ramp has cos(π/2·k/length) and sin(π/2·k/length)."""
    t = np.arange(length) / length
    return np.cos(0.5 * np.pi * t), np.sin(0.5 * np.pi * t)
