"""Benchmark report: a rich table, a CSV of stage latencies, a summary CSV and a PNG chart."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from rich.table import Table

from bench.latency import STAGES
from bench.stats import Summary
from engine.manifest import Manifest

UNTRAINED_LABEL = "UNTRAINED (random weights: latency and memory only, the audio is noise)"


def weights_label(manifest: Manifest) -> str:
    """What the bundle's weights are: trained (epoch/step), or the untrained label."""
    provenance = manifest.provenance
    vocoder = provenance.get("vocoder") or {}
    if provenance.get("untrained"):
        return UNTRAINED_LABEL
    label = f"trained (epoch {provenance.get('epoch')}, step {provenance.get('step')})"
    if vocoder.get("init") == "random":
        label += "; vocoder UNTRAINED (random HiFi-GAN)"
    return label


@dataclass
class BenchResult:
    """Stage summaries for the engine and (when available) PyTorch eager, plus the context."""

    engine: dict[str, Summary]
    eager: dict[str, Summary] = field(default_factory=dict)
    facts: dict[str, str | float | None] = field(default_factory=dict)
    differences: dict[str, float] = field(default_factory=dict)
    """Stage → max |engine − eager| output difference (bench.agreement)."""
    untrained: bool = False

    def ratio(self, stage: str) -> float | None:
        """Eager median / engine median (> 1: the engine is faster)."""
        if stage not in self.eager or stage not in self.engine or not self.engine[stage].median:
            return None
        return self.eager[stage].median / self.engine[stage].median


def _ms(summary: Summary | None, attribute: str) -> str:
    return "—" if summary is None else f"{getattr(summary, attribute) * 1e3:.1f}"


def facts_table(result: BenchResult) -> Table:
    """Bundle, providers, real-time factor, memory: one row each."""
    out = Table(title="Context", show_header=False)
    out.add_column("key", no_wrap=True)
    out.add_column("value", overflow="fold")
    for key, value in result.facts.items():
        out.add_row(key, "—" if value is None else str(value))
    return out


def table(result: BenchResult) -> Table:
    """One row per stage: engine and eager median / p95 in ms, their ratio, output difference."""
    title = "Art2Music latency (ms)"
    if result.untrained:
        title += f" — {UNTRAINED_LABEL}"
    out = Table(title=title)
    for column in ("stage", "engine median", "engine p95", "eager median", "eager p95",
                   "eager / engine", "max |Δ| vs eager"):
        out.add_column(column, justify="left" if column == "stage" else "right",
                       no_wrap=column == "stage")
    for stage in STAGES:
        if stage not in result.engine and stage not in result.eager:
            continue
        engine, eager = result.engine.get(stage), result.eager.get(stage)
        ratio = result.ratio(stage)
        difference = result.differences.get(stage)
        out.add_row(stage, _ms(engine, "median"), _ms(engine, "p95"), _ms(eager, "median"),
                    _ms(eager, "p95"), "—" if ratio is None else f"{ratio:.2f}×",
                    "—" if difference is None else f"{difference:.1e}")
    return out


def write_csv(result: BenchResult, folder: Path) -> tuple[Path, Path]:
    """`latency.csv` (one row per stage and backend) and `summary.csv` (key, value)."""
    folder.mkdir(parents=True, exist_ok=True)
    latency = folder / "latency.csv"
    with latency.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["stage", "backend", "median_ms", "p95_ms", "mean_ms", "repeats",
                         "eager_over_engine", "max_abs_diff_vs_eager"])
        for backend, summaries in (("engine", result.engine), ("eager", result.eager)):
            for stage in STAGES:
                if stage in summaries:
                    s = summaries[stage]
                    ratio = result.ratio(stage)
                    difference = result.differences.get(stage)
                    writer.writerow([stage, backend, f"{s.median * 1e3:.3f}",
                                     f"{s.p95 * 1e3:.3f}", f"{s.mean * 1e3:.3f}", s.count,
                                     "" if ratio is None else f"{ratio:.3f}",
                                     "" if difference is None else f"{difference:.3e}"])
    summary = folder / "summary.csv"
    with summary.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["key", "value"])
        for key, value in result.facts.items():
            writer.writerow([key, "" if value is None else value])
    return latency, summary


def write_png(result: BenchResult, path: Path) -> Path:
    """Horizontal bars of the median per stage (p95 as whiskers), engine next to eager."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    stages = [s for s in STAGES if s in result.engine]
    rows = np.arange(len(stages))
    figure, axis = plt.subplots(figsize=(8, 0.45 * len(stages) + 1.5))
    for offset, (label, summaries) in zip((-0.2, 0.2), (("engine", result.engine),
                                                         ("PyTorch eager", result.eager)),
                                          strict=True):
        medians = [summaries[s].median * 1e3 if s in summaries else 0 for s in stages]
        whiskers = [(summaries[s].p95 - summaries[s].median) * 1e3 if s in summaries else 0
                    for s in stages]
        if any(medians):
            axis.barh(rows + offset, medians, height=0.4, xerr=whiskers, label=label)
    axis.set_yticks(rows, stages)
    axis.invert_yaxis()
    axis.set_xlabel("milliseconds (bar: median, whisker: p95)")
    title = str(result.facts.get("bundle", ""))
    axis.set_title(f"{title}\nUNTRAINED weights: latency only" if result.untrained else title)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
