"""What a soak run measured, as a JSON report and a PNG (RSS and underflows over time).

The pass criteria are those of issue 10 for the 60-minute soak: no underflow block, RSS growth
under ``MAX_RSS_GROWTH_MB`` after the warm-up, no error in the log, no frozen thread, and at
least one piece played.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

MAX_RSS_GROWTH_MB = 50.0
MIN_SLOPE_SECONDS = 600.0


@dataclass(frozen=True)
class Sample:
    """The kiosk's counters at one moment of the soak."""

    seconds: float
    """Since the kiosk started."""
    rss_mb: float
    underflow_blocks: int
    device_underruns: int
    blocks_rendered: int
    pieces_played: int
    errors: int


def rss_mb() -> float:
    """This process's resident memory in MB (psutil; /proc/self/status without it)."""
    try:
        import psutil
    except ImportError:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
        raise RuntimeError("Cannot read this process's memory: no psutil and no "
                           "/proc/self/status.") from None
    return psutil.Process().memory_info().rss / 2**20


@dataclass
class SoakReport:
    minutes_requested: float
    seconds_run: float
    bundle: str
    video: str
    audio_output: str
    sample_rate: int
    block_size: int
    comments_sent: int
    pieces_composed: int
    pieces_played: int
    underflow_blocks: int
    device_underruns: int
    blocks_rendered: int
    render_errors: int
    log_warnings: int
    log_errors: int
    first_errors: list[str]
    freezes: list[str]
    rss_mb: dict[str, float | None]
    samples: list[dict[str, float]] = field(default_factory=list)
    verdict: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return bool(self.verdict.get("passed"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def rss_summary(samples: Sequence[Sample]) -> dict[str, float | None]:
    """Start, warm-up, end, peak and growth of RSS. The warm-up ends at the first sample after
    the first piece played (the engine's sessions and buffers exist by then; without one it
    never ends and the growth after it is 0: the pieces check fails); ``slope_mb_per_hour``
    is a least-squares line through the samples after it (None when they span under
    ``MIN_SLOPE_SECONDS``)."""
    rss = np.array([s.rss_mb for s in samples], dtype=np.float64)
    seconds = np.array([s.seconds for s in samples], dtype=np.float64)
    played = [i for i, s in enumerate(samples) if s.pieces_played > 0]
    warm = played[0] if played else len(samples) - 1  # never warm: growth cannot be judged
    after = slice(warm, None)
    slope = None  # over a few seconds a line says nothing about a leak
    if rss[after].size >= 3 and np.ptp(seconds[after]) >= MIN_SLOPE_SECONDS:
        slope = round(float(np.polyfit(seconds[after] / 3600.0, rss[after], 1)[0]), 1)
    return {
        "start": round(float(rss[0]), 1),
        "after_warmup": round(float(rss[warm]), 1),
        "warmup_seconds": round(float(seconds[warm]), 1),
        "warmup_ended": bool(played),
        "end": round(float(rss[-1]), 1),
        "peak": round(float(rss.max()), 1),
        "growth_after_warmup": round(float(rss[-1] - rss[warm]), 1),
        "growth_total": round(float(rss[-1] - rss[0]), 1),
        "slope_mb_per_hour": slope,
    }


def verdict(report: SoakReport) -> dict[str, Any]:
    checks = {
        "pieces_played": report.pieces_played > 0,
        "no_underflow": report.underflow_blocks == 0,
        "rss_growth_under_50_mb": report.rss_mb["growth_after_warmup"] < MAX_RSS_GROWTH_MB,
        "no_log_error": report.log_errors == 0 and report.render_errors == 0,
        "no_freeze": not report.freezes,
    }
    return {"passed": all(checks.values()), "checks": checks}


def write_report(report: SoakReport, out: Path) -> Path:
    """``soak.json`` in ``out`` (written atomically)."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "soak.json"
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)
    return path


def plot(report: SoakReport, path: Path) -> Path:
    """RSS, underflow blocks and pieces played over the soak, one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples = report.samples
    minutes = [s["seconds"] / 60.0 for s in samples]
    figure, (memory, audio) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    memory.plot(minutes, [s["rss_mb"] for s in samples], color="tab:blue")
    memory.set_ylabel("RSS (MB)")
    memory.set_title(f"Soak {report.seconds_run / 60:.1f} min: {report.pieces_played} pieces, "
                     f"{report.underflow_blocks} underflow blocks, RSS "
                     f"{report.rss_mb['growth_after_warmup']:+.1f} MB after the warm-up")
    memory.axvline(report.rss_mb["warmup_seconds"] / 60.0, color="grey", linestyle=":",
                   label="end of the warm-up (first piece played)")
    memory.legend(loc="lower right")
    memory.grid(alpha=0.3)
    audio.step(minutes, [s["underflow_blocks"] for s in samples], where="post",
               color="tab:red", label="underflow blocks")
    audio.step(minutes, [s["device_underruns"] for s in samples], where="post",
               color="tab:orange", linestyle="--", label="device underruns")
    audio.set_ylabel("blocks (cumulative)")
    worst = max([s["underflow_blocks"] for s in samples] + [s["device_underruns"] for s in samples])
    audio.set_ylim(-0.02 * max(1, worst), max(1, worst) * 1.1)
    audio.set_xlabel("minutes since the kiosk started")
    audio.grid(alpha=0.3)
    pieces = audio.twinx()
    pieces.step(minutes, [s["pieces_played"] for s in samples], where="post", color="tab:green",
                label="pieces played")
    pieces.set_ylabel("pieces played", color="tab:green")
    lines = audio.get_legend_handles_labels()[0] + pieces.get_legend_handles_labels()[0]
    audio.legend(lines, [line.get_label() for line in lines], loc="upper left")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
