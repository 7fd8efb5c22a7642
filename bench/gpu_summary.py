"""Tables of a `bench/gpu_run.sh` run: latency per provider and TensorRT engine build time.

Each benchmark of the run wrote ``<work>/bench/<bundle>-<run>/{latency,summary}.csv``
(``main.py bench``), where ``<run>`` is ``tensorrt-cold`` (empty engine cache: the load includes
the engine build), ``tensorrt-warm`` (the same cache, now full), ``cuda`` or ``cpu``. This module
gathers them::

    python -m bench.gpu_summary runs/gpu_run

- ``gpu_table.csv``: bundle, run, providers actually used, stage, median and p95 in ms (the
  engine's rows; the README's GPU table comes from it, ``gpu_table.md`` is the same as Markdown);
- ``tensorrt_build.csv``: per bundle, the engine load + warm-up with a cold and with a warm
  TensorRT cache, and their difference, the engine build time (reported apart from latency).
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass
from pathlib import Path

COLD, WARM = "tensorrt-cold", "tensorrt-warm"
RUN_ORDER = (COLD, WARM, "cuda", "cpu")
KEY_STAGES = ("image", "text", "mel", "vocode first block", "image → first block",
              "image → full piece")


@dataclass(frozen=True)
class BenchRun:
    """One `main.py bench` output folder of the run."""

    bundle: str
    run: str
    folder: Path

    @classmethod
    def parse(cls, folder: Path) -> BenchRun | None:
        for run in RUN_ORDER:
            if folder.name.endswith("-" + run):
                return cls(folder.name[: -len(run) - 1], run, folder)
        return None

    def facts(self) -> dict[str, str]:
        with (self.folder / "summary.csv").open(newline="") as handle:
            return {row["key"]: row["value"] for row in csv.DictReader(handle)}

    def engine_rows(self) -> list[dict[str, str]]:
        with (self.folder / "latency.csv").open(newline="") as handle:
            return [row for row in csv.DictReader(handle) if row["backend"] == "engine"]


def completed_runs(work: Path) -> list[BenchRun]:
    """The benchmark folders under ``work/bench`` that finished (both CSVs written)."""
    runs = []
    for folder in sorted((Path(work) / "bench").glob("*")):
        run = BenchRun.parse(folder)
        if run and (folder / "summary.csv").is_file() and (folder / "latency.csv").is_file():
            runs.append(run)
    return sorted(runs, key=lambda r: (r.bundle, RUN_ORDER.index(r.run)))


def write_tables(work: Path) -> list[Path]:
    """Writes gpu_table.csv, gpu_table.md and tensorrt_build.csv into `work`; returns them."""
    work = Path(work)
    runs = completed_runs(work)
    table = work / "gpu_table.csv"
    markdown = ["| bundle | run | providers | stage | median ms | p95 ms |",
                "| --- | --- | --- | --- | --- | --- |"]
    with table.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["bundle", "run", "providers", "stage", "median_ms", "p95_ms"])
        for run in runs:
            providers = run.facts().get("providers", "")
            for row in run.engine_rows():
                writer.writerow([run.bundle, run.run, providers, row["stage"], row["median_ms"],
                                 row["p95_ms"]])
                if row["stage"] in KEY_STAGES:
                    markdown.append(f"| {run.bundle} | {run.run} | {providers} | {row['stage']} "
                                    f"| {float(row['median_ms']):.1f} | {float(row['p95_ms']):.1f} |")
    (work / "gpu_table.md").write_text("\n".join(markdown) + "\n")
    build = work / "tensorrt_build.csv"
    with build.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["bundle", "providers", "cold_load_s", "warm_load_s", "build_s"])
        for bundle in sorted({r.bundle for r in runs}):
            loads = {r.run: r.facts() for r in runs if r.bundle == bundle}
            if COLD not in loads:
                continue
            cold = float(loads[COLD]["engine_load_s"])
            warm = float(loads[WARM]["engine_load_s"]) if WARM in loads else None
            writer.writerow([bundle, loads[COLD].get("providers", ""), f"{cold:.3f}",
                             "" if warm is None else f"{warm:.3f}",
                             "" if warm is None else f"{cold - warm:.3f}"])
    return [table, work / "gpu_table.md", build]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path, help="the run's folder (GPU_RUN_OUT of gpu_run.sh)")
    for path in write_tables(parser.parse_args(argv).work):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
