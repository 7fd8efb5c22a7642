"""Whether every requested corpora source was built, and what to run when one was not.

A source that yields fewer than `MIN_SHARE` of the items requested (a soundtrack package: no
clip at all) is a shortfall. `build-corpora` then exits 1 with one line per source naming its
missing Debian packages and the apt-get command, unless `--allow-partial` accepts the partial
corpus: trained on whatever a machine happens to have installed, the recipe would give other
data on every machine (issue 9: 600 composed clips silently missing without FluidSynth).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from training.corpora import masterpieces as masterpiece_source
from training.corpora import portraits as portrait_source
from training.corpora import procedural_music as procedural_source
from training.corpora.config import CorporaConfig
from training.corpora.debian import apt_command, missing_packages
from training.corpora.recorded import SOURCES as RECORDED_SOURCES

MIN_SHARE = 0.8
"""A source must deliver at least this share of what was requested."""


@dataclass(frozen=True)
class SourceCount:
    """Items one source was asked for and built, the least accepted, and its Debian packages."""

    name: str
    unit: str
    requested: int
    built: int
    needed: int
    packages: tuple[str, ...] = ()

    @property
    def short(self) -> bool:
        return self.built < self.needed

    def to_dict(self) -> dict:
        return {"name": self.name, "unit": self.unit, "requested": self.requested,
                "built": self.built, "needed": self.needed, "packages": list(self.packages)}


def _count(name: str, unit: str, requested: int, built: int,
           packages: tuple[str, ...] = ()) -> SourceCount:
    return SourceCount(name, unit, requested, built, math.ceil(MIN_SHARE * max(requested, 0)),
                       packages)


def _images(rows: list[dict]) -> int:
    return len({row["image_path"] for row in rows})


def _masterpieces_requested(built: int) -> int:
    try:
        return len(masterpiece_source.load_comments())
    except masterpiece_source.MasterpieceError:
        return built  # a missing comments file is reported by the stage itself


def source_counts(config: CorporaConfig, recorded: list[dict], procedural: list[dict],
                  masterpieces: list[dict], painterly: list[dict],
                  portraits: list[dict]) -> list[SourceCount]:
    """Requested and built sizes of every source of one build."""
    counts = [_count("recorded music", "clips", config.recorded_clips, len(recorded),
                     tuple(p for s in RECORDED_SOURCES for p in s.packages))]
    if config.recorded_clips >= len(RECORDED_SOURCES):
        # The clips are shared out again when a soundtrack is missing, so check each one.
        share = config.recorded_clips // len(RECORDED_SOURCES)
        for source in RECORDED_SOURCES:
            built = sum(row["source"] == f"debian:{source.package}" for row in recorded)
            counts.append(SourceCount(f"recorded music ({source.name})", "clips", share, built,
                                      1, source.packages))
    counts += [
        _count("procedural music", "clips", config.procedural_clips, len(procedural),
               procedural_source.PACKAGES),
        _count("masterpieces", "paintings", _masterpieces_requested(_images(masterpieces)),
               _images(masterpieces), masterpiece_source.PACKAGES),
        _count("painterly images", "images", config.painterly_images, _images(painterly)),
        _count("portraits", "images", config.portraits, _images(portraits),
               portrait_source.PACKAGES),
    ]
    return counts


def explain(count: SourceCount) -> str:
    """One actionable sentence on a shortfall: what is missing and the command that fixes it."""
    text = (f"{count.name}: built {count.built} of {count.requested} {count.unit} requested "
            f"(at least {count.needed} needed)")
    missing = missing_packages(count.packages)
    if missing:
        text += (f"; its Debian packages {' '.join(missing)} are missing: run "
                 f"`{apt_command(missing)}` and rerun build-corpora (finished work is kept)")
    else:
        text += "; see `problems` in summary.json and rerun build-corpora"
    return text + ", or pass --allow-partial to build without it."
