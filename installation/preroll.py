"""When a streamed piece may start: once its buffered audio covers what is still to be made.

A piece is generated while it plays. If the PC makes audio at r seconds of music per second of
wall time and r < 1, starting at once runs the buffer dry again and again (issue 10: 126 blocks
of silence in a 45 s demo). Started with B seconds buffered and R seconds still to generate,
playback never catches up with generation when B + r·t ≥ t for every t ≤ R / r, i.e.

    B ≥ R · (1 − r) / r.

The rate is measured on the piece itself, from its second write on (the first one also carries
the decoder's start-up), and discounted by ``safety`` for a PC whose load changes. The first
sound may wait a little; it does not stutter. A rate of 1/``safety`` or more starts at once.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field


@dataclass
class PrerollGate:
    """Shared by one piece's producer (`record`) and the audio render thread (`ready`)."""

    total_samples: int
    """Samples of the whole piece (0: unknown, start on the first block as before)."""
    sample_rate: int
    safety: float = 0.8
    """Assume generation runs this fraction of its measured rate from now on."""
    min_seconds: float = 0.2
    """Buffered audio needed even when generation is fast enough."""
    _first_at: float | None = None
    _first_samples: int = 0
    _last_at: float | None = None
    _produced: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    opened_at: float | None = None
    """When `ready` first said yes (monotonic): the piece's first audible sample."""
    rate_at_open: float | None = None
    """The measured generation rate (× real time) when the gate opened; None if unmeasured."""
    buffered_at_open: float = 0.0
    """Seconds of audio buffered when the gate opened."""

    def record(self, produced_samples: int, now: float | None = None) -> None:
        """The producer has written `produced_samples` samples of the piece in total."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if self._first_at is None:
                self._first_at, self._first_samples = now, produced_samples
            self._last_at, self._produced = now, produced_samples

    def rate(self) -> float | None:
        """Seconds of music made per second of wall time since the first write (None until
        a second write)."""
        with self._lock:
            first, last, produced = self._first_at, self._last_at, self._produced
            first_samples = self._first_samples
        if first is None or last is None or last <= first or produced <= first_samples:
            return None
        return (produced - first_samples) / self.sample_rate / (last - first)

    def required_seconds(self, rate: float | None) -> float:
        """Buffered audio needed before the first sound at generation rate `rate`."""
        remaining = max(0, self.total_samples - self._produced) / self.sample_rate
        if remaining == 0:
            return 0.0
        if rate is None:
            return float("inf")
        effective = rate * self.safety
        if effective >= 1.0:
            return self.min_seconds
        return max(self.min_seconds, remaining * (1.0 - effective) / effective)

    def ready(self, buffered_samples: int, closed: bool, now: float | None = None) -> bool:
        """True when the piece may start with `buffered_samples` in its ring; stays True."""
        if self.opened_at is not None:
            return True
        if buffered_samples <= 0:
            return False
        rate = self.rate()
        buffered = buffered_samples / self.sample_rate
        if not (closed or self.total_samples <= 0
                or self._produced >= self.total_samples
                or buffered >= self.required_seconds(rate)):
            return False
        self.opened_at = time.monotonic() if now is None else now
        self.rate_at_open, self.buffered_at_open = rate, buffered
        return True
