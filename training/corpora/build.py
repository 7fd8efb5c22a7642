"""Builds both corpora, stage by stage (each resumable), and writes the JSON summary."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from pathlib import Path

from training.corpora.artworks import export_samples
from training.corpora.completeness import explain, source_counts
from training.corpora.config import CorporaConfig
from training.corpora.debian import DebianError
from training.corpora.masterpieces import build_masterpieces, load_comments
from training.corpora.portraits import build_portraits
from training.corpora.procedural_music import build_procedural
from training.corpora.procedural_paintings import build_painterly
from training.corpora.recorded import build_recorded
from training.corpora.stages import write_json, write_jsonl
from training.corpora.summary import summarise
from training.corpora.synth import SynthError

log = logging.getLogger(__name__)
SECONDS_PER_ITEM = {"recorded": 0.35, "procedural": 0.5, "painterly": 0.08, "portraits": 0.1}
"""Measured on one core of the 2-core build machine (librosa already warm)."""


def estimate_seconds(config: CorporaConfig) -> float:
    """Rough single-core build time: per-item rates plus start-up, masterpieces and slack."""
    return (40 + config.recorded_clips * SECONDS_PER_ITEM["recorded"]
            + config.procedural_clips * SECONDS_PER_ITEM["procedural"]
            + config.painterly_images * SECONDS_PER_ITEM["painterly"]
            + config.portraits * SECONDS_PER_ITEM["portraits"])


def build_corpora(config: CorporaConfig) -> dict:
    """Runs every stage into `config.out`; returns (and writes) the summary.

    ``summary["shortfalls"]`` holds one actionable line per source that came out empty or far
    smaller than requested (see `completeness.py`); the CLI fails on them.
    """
    out = config.out
    out.mkdir(parents=True, exist_ok=True)
    log.info("Building corpora in %s; estimated %.0f min on one core.", out,
             estimate_seconds(config) / 60)
    problems: list[str] = []
    timings: dict[str, float] = {}

    def timed(name, function, *args):
        start = time.monotonic()
        rows = function(*args)
        timings[name] = round(time.monotonic() - start, 1)
        return rows

    recorded = timed("recorded_music", build_recorded, config, problems)
    try:
        procedural = timed("procedural_music", build_procedural, config)
    except (DebianError, SynthError) as error:
        problems.append(f"procedural music skipped: {error}")
        procedural = []
    masterpieces = timed("masterpieces", build_masterpieces, config, problems)
    painterly = timed("painterly", build_painterly, config)
    portraits = timed("portraits", build_portraits, config, problems)

    music, paintings = recorded + procedural, masterpieces + painterly + portraits
    write_jsonl(out / "music.jsonl", music)
    write_jsonl(out / "paintings.jsonl", paintings)
    write_jsonl(out / "paintings.train.jsonl", (r for r in paintings if not r["held_out"]))
    write_jsonl(out / "paintings.heldout.jsonl", (r for r in paintings if r["held_out"]))
    samples = _export_artworks(config, masterpieces, problems)
    counts = source_counts(config, recorded, procedural, masterpieces, painterly, portraits)

    summary = {
        "out": str(out),
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()
                   if k != "audio"},
        "clip_seconds": round(config.audio.clip_seconds, 4),
        "seconds": timings,
        "total_seconds": round(sum(timings.values()), 1),
        **summarise(music, paintings),
        "sample_artworks": [str(p) for p in samples],
        "problems": problems,
        "sources": [count.to_dict() for count in counts],
        "shortfalls": [explain(count) for count in counts if count.short],
    }
    write_json(out / "summary.json", summary)
    return summary


def _export_artworks(config: CorporaConfig, masterpieces: list[dict],
                     problems: list[str]) -> list[Path]:
    if not config.export_artworks or not masterpieces:
        return []
    canvases = {r["id"].rsplit("-c", 1)[0]: config.out / r["image_path"] for r in masterpieces}
    try:
        return export_samples(load_comments(), canvases)
    except (OSError, ValueError) as error:
        problems.append(f"sample artworks not written: {error}")
        return []
