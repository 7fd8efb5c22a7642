"""Stage: recorded game soundtracks (Debian packages) cut into clips captioned from measurements.

Clips are not written out: a row names the original file and the clip's offset, and the dataset
builder reads ``AudioConfig.clip_seconds`` from there. Clips are spread evenly through each
track, and the number per track follows its length (at least one per track).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm

from core.mel import load_audio
from training.corpora.config import CorporaConfig
from training.corpora.debian import DebianError, ensure_installed, package_files
from training.corpora.music_captions import describe_recorded
from training.corpora.music_features import MusicFeatures, measure_features
from training.corpora.stages import StageStore

log = logging.getLogger(__name__)
SILENT_CLIP_DB = -45.0
EDGE_SECONDS = 1.0


@dataclass(frozen=True)
class Track:
    path: Path
    title: str
    source: str
    licence: str
    duration: float


@dataclass(frozen=True)
class RecordedSource:
    """One Debian music package and how its titles and licences are read."""

    name: str
    package: str
    suffixes: tuple[str, ...]
    licence: str

    @property
    def packages(self) -> tuple[str, ...]:
        """Debian packages this source needs (installed by `debian.ensure_installed`)."""
        return (self.package,)

    def tracks(self) -> list[Track]:
        tracks = []
        for file in package_files(self.package, self.suffixes):
            path = Path(file)
            tracks.append(Track(path, self.title(path), f"debian:{self.package}",
                                self.track_licence(path), float(sf.info(path).duration)))
        return tracks

    def title(self, path: Path) -> str:
        if self.name == "warzone2100":
            return _warzone_titles(path.parent).get(path.name, path.stem.replace("_", " "))
        if self.name == "singularity" and path.parent.name in ("win", "lose"):
            return f"{path.stem} ({path.parent.name})"
        return path.stem

    def track_licence(self, path: Path) -> str:
        if self.name == "warzone2100" and (path.parent / "license.txt").is_file() \
                and path.name != "track3_enhanced.opus":
            return "CC-BY-SA-3.0 or GPL-2+"
        return self.licence


SOURCES: tuple[RecordedSource, ...] = (
    RecordedSource("warzone2100", "warzone2100-music", (".opus",), "GPL-2+"),
    RecordedSource("wesnoth", "wesnoth-1.16-music", (".ogg",), "GPL-2+"),
    RecordedSource("singularity", "singularity-music", (".ogg",), "CC-BY-SA-3.0"),
)


def _warzone_titles(album_dir: Path) -> dict[str, str]:
    album = album_dir / "album.json"
    if not album.is_file():
        return {"menu.opus": "Menu Theme"}
    tracks = json.loads(album.read_text(encoding="utf-8")).get("tracks", [])
    return {t["filename"]: t["title"] for t in tracks if "filename" in t and "title" in t}


def allocate(durations: list[float], total: int, clip_seconds: float) -> list[int]:
    """Clips per track: one per track first, the rest proportional to length (largest
    remainder), never more than fit; with fewer clips than tracks, evenly chosen tracks get one.
    """
    capacity = [max(0, int((d - 2 * EDGE_SECONDS) // clip_seconds)) for d in durations]
    eligible = [i for i, c in enumerate(capacity) if c > 0]
    quota = [0] * len(durations)
    if total <= 0 or not eligible:
        return quota
    if total < len(eligible):
        for k in np.linspace(0, len(eligible) - 1, total).round().astype(int):
            quota[eligible[k]] = 1
        return quota
    for i in eligible:
        quota[i] = 1
    remaining = min(total, sum(capacity)) - len(eligible)
    while remaining > 0:
        open_tracks = [i for i in eligible if quota[i] < capacity[i]]
        weight = sum(durations[i] for i in open_tracks)
        ideal = {i: remaining * durations[i] / weight for i in open_tracks}
        floors = {i: min(capacity[i] - quota[i], int(ideal[i])) for i in open_tracks}
        if sum(floors.values()) == 0:
            for i in sorted(open_tracks, key=lambda i: -ideal[i])[:remaining]:
                quota[i] += 1
                remaining -= 1
            continue
        for i, add in floors.items():
            quota[i] += add
            remaining -= add
    return quota


def allocate_balanced(tracks: list[tuple[Track, RecordedSource]], total: int,
                      clip_seconds: float) -> list[int]:
    """Equal shares per source (what a small source cannot fill goes to the others), then
    :func:`allocate` within each source."""
    names = list(dict.fromkeys(source.name for _, source in tracks))
    members = {n: [i for i, (_, s) in enumerate(tracks) if s.name == n] for n in names}
    room = {n: sum(allocate([tracks[i][0].duration for i in members[n]], 10**9, clip_seconds))
            for n in names}
    share = dict.fromkeys(names, 0)
    left = min(total, sum(room.values()))
    while left > 0:
        hungry = [n for n in names if share[n] < room[n]]
        each = max(1, left // len(hungry))
        for n in hungry:
            give = min(room[n] - share[n], each, left)
            share[n] += give
            left -= give
    quota = [0] * len(tracks)
    for n in names:
        durations = [tracks[i][0].duration for i in members[n]]
        for i, q in zip(members[n], allocate(durations, share[n], clip_seconds), strict=True):
            quota[i] = q
    return quota


def clip_offsets(duration: float, count: int, clip_seconds: float) -> list[float]:
    """All clip start times of a track in order of preference: `count` evenly spread first."""
    n = max(0, int((duration - 2 * EDGE_SECONDS) // clip_seconds))
    starts = [EDGE_SECONDS + k * clip_seconds for k in range(n)]
    if not starts or count <= 0:
        return []
    chosen = sorted({int(round(i)) for i in np.linspace(0, n - 1, min(count, n))})
    return [starts[i] for i in chosen] + [s for i, s in enumerate(starts) if i not in chosen]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "track"


def _track_rows(track: Track, source: RecordedSource, count: int, config: CorporaConfig) -> list:
    rows, clip = [], config.audio.clip_seconds
    for offset in clip_offsets(track.duration, count, clip):
        if len(rows) >= count:
            break
        audio = load_audio(track.path, config.audio, offset=offset, duration=clip)
        audio = np.pad(audio[: config.audio.clip_samples],
                       (0, max(0, config.audio.clip_samples - audio.size)))
        features = measure_features(audio, config.audio.sample_rate)
        if features.rms_db < SILENT_CLIP_DB:
            continue
        rows.append({
            "id": f"{source.name}-{_slug(track.path.stem)}-{int(round(offset * 1000)):07d}",
            "audio_path": str(track.path),
            "offset": round(offset, 4),
            "duration": round(clip, 4),
            "source": track.source,
            "licence": track.licence,
            "track": track.title,
            "features": features.to_dict(),
        })
    return sorted(rows, key=lambda r: r["offset"])


def caption_row(row: dict) -> dict:
    """The row with caption, keywords, labels and feeling from its stored measurements.

    Captions are derived at assembly time, so a change of the caption rules needs no re-analysis.
    """
    features = MusicFeatures(**row["features"])
    description = describe_recorded(features, row["track"])
    head = {k: row[k] for k in ("id", "audio_path", "offset", "duration")}
    return {**head, "caption": description.caption, "labels": description.labels,
            "keywords": description.keywords, "feeling": description.feeling,
            **{k: v for k, v in row.items() if k not in head}}


def build_recorded(config: CorporaConfig, problems: list[str]) -> list[dict]:
    """Cuts and captions `config.recorded_clips` clips; unavailable sources go to `problems`."""
    if config.recorded_clips <= 0:
        return []
    tracks: list[tuple[Track, RecordedSource]] = []
    for source in SOURCES:
        try:
            ensure_installed(source.packages, install=config.install,
                             source=f"recorded music ({source.name})")
            tracks += [(t, source) for t in source.tracks()]
        except DebianError as error:
            problems.append(f"recorded source {source.name} skipped: {error}")
            log.warning("%s", problems[-1])
    if not tracks:
        return []
    quota = allocate_balanced(tracks, config.recorded_clips, config.audio.clip_seconds)
    store = StageStore(config.stages_dir / "recorded_music.jsonl")
    units = [f"{t.source}:{t.path}:{q}" for (t, _), q in zip(tracks, quota, strict=True)]
    progress = tqdm(total=sum(quota), desc="recorded music", unit="clip")
    for (track, source), count, unit in zip(tracks, quota, units, strict=True):
        if count and not store.done(unit):
            store.add(unit, _track_rows(track, source, count, config))
        progress.update(count)
    progress.close()
    return [caption_row(row) for row in store.rows(units)]
