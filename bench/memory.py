"""Memory while benchmarking: peak resident set size (psutil sampler) and GPU memory in use."""

from __future__ import annotations

import shutil
import subprocess
import threading

import psutil


class PeakRSS:
    """Samples this process's RSS every `interval` seconds while in a `with` block."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._process = psutil.Process()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, self._process.memory_info().rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRSS:
        self.peak_bytes = self._process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_bytes = max(self.peak_bytes, self._process.memory_info().rss)

    @property
    def peak_mb(self) -> float:
        return self.peak_bytes / 2**20


def gpu_memory_mb() -> float | None:
    """GPU memory in use on device 0 (pynvml, else nvidia-smi), None without an NVIDIA GPU."""
    try:
        import pynvml

        pynvml.nvmlInit()
        info = pynvml.nvmlDeviceGetMemoryInfo(pynvml.nvmlDeviceGetHandleByIndex(0))
        return info.used / 2**20
    except Exception:  # no pynvml, no driver, or no device: try nvidia-smi
        pass
    if shutil.which("nvidia-smi") is None:
        return None
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used",
                              "--format=csv,noheader,nounits"], capture_output=True, text=True,
                             timeout=10, check=True).stdout
        return float(out.splitlines()[0])
    except (subprocess.SubprocessError, ValueError, IndexError):
        return None
