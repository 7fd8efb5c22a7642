"""Builds an ArtiCaps-style data set by weak alignment (Sec. III.A.2–4 of Art2Music).

Pipeline: read the paintings and music corpora → emotional keywords of every comment and
keywords of captions that have none (III.A.3) → embed both corpora and pair each comment with
its most similar caption (III.A.2) → feeling-consistency analysis of the pairs (III.A.4) →
one cached Mel per matched clip (III.A.5) → ``manifest.jsonl`` with the composite prompt,
``similarity.png``, ``polarity.png`` and ``summary.json``. Re-running with the same inputs
reuses cached keywords, matches and Mels, so an interrupted build resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.audio_config import DEFAULT_AUDIO, DEFAULT_MEL_NORM, AudioConfig, MelNormalization
from core.mel import audio_file_to_mel
from core.prompt import build_prompt
from training.dataset.analysis import (
    POLARITIES,
    FeelingReport,
    keyword_similarity,
    painting_polarity,
    polarity_matrix,
    polarity_summary,
    similarity_stats,
)
from training.dataset.corpus import MusicRecord, PaintingRecord, read_music, read_paintings
from training.dataset.figures import plot_polarity_heatmap, plot_similarity_histogram
from training.dataset.keywords import KeywordConfig, KeywordExtractor, polarity
from training.dataset.manifest import dataset_relative, write_json_atomic, write_manifest
from training.dataset.matching import MatchResult, TextEncoder, match_texts
from training.dataset.mels import ensure_mels, mel_relpath
from training.dataset.sentence_encoder import PACKAGED_MINILM, load_sentence_encoder
from training.dataset.split import SPLIT_NAMES, assign_splits

log = logging.getLogger(__name__)

CACHE_DIR = "cache"
SIMILARITY_FIGURE = "similarity.png"
POLARITY_FIGURE = "polarity.png"
SUMMARY_NAME = "summary.json"


@dataclass
class DatasetBuildConfig:
    """Inputs, output folder and knobs of one build; defaults follow the paper."""

    paintings: Path
    music: Path
    out: Path
    encoder: str = PACKAGED_MINILM
    device: str | None = None
    seed: int = 0
    batch_size: int = 64
    limit: int | None = None
    split_ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)
    split_by_painting: bool = True
    """Keep all comments of one painting in one split (no painting leaks into val/test)."""
    feeling_analysis: bool = True
    check_files: bool = True
    progress: bool = True
    keywords: KeywordConfig = field(default_factory=KeywordConfig)
    audio: AudioConfig = DEFAULT_AUDIO
    mel_norm: MelNormalization = DEFAULT_MEL_NORM


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:16]


def _unique(words: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(word for word in words if word))


class _TextCache:
    """Keyword lists and match results of earlier runs, keyed by a hash of their inputs."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def _prune(self, kind: str, keep: Path) -> None:
        """Drops results of earlier inputs: only the latest one can be resumed."""
        for stale in self.folder.glob(f"{kind}-*"):
            if stale != keep:
                stale.unlink()

    def keywords(self, key: str, compute: Callable[[], dict]) -> dict:
        path = self.folder / f"keywords-{key}.json"
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
        value = compute()
        write_json_atomic(path, value, indent=None)
        self._prune("keywords", path)
        return value

    def matches(self, key: str, compute: Callable[[], MatchResult]) -> tuple[MatchResult, bool]:
        path = self.folder / f"match-{key}.npz"
        if path.is_file():
            with np.load(path) as data:
                return MatchResult(data["indices"], data["similarities"]), True
        result = compute()
        temp = path.with_name(f".{path.name}.tmp")
        with temp.open("wb") as handle:
            np.savez(handle, indices=result.indices, similarities=result.similarities)
        temp.replace(path)
        self._prune("match", path)
        return result, False


def _keywords(config: DatasetBuildConfig, extractor: KeywordExtractor | None,
              paintings: list[PaintingRecord], music: list[MusicRecord],
              cache: _TextCache) -> dict:
    comments = [p.comment for p in paintings]
    captions = [m.caption for m in music]
    missing = [i for i, m in enumerate(music) if m.keywords is None]

    def compute() -> dict:
        nonlocal extractor
        extractor = extractor or KeywordExtractor(config.keywords)
        progress = config.progress
        extracted = extractor.caption_keywords([captions[i] for i in missing], progress)
        caption_keywords = [list(m.keywords or ()) for m in music]
        for index, words in zip(missing, extracted, strict=True):
            caption_keywords[index] = words
        painting = extractor.emotion_keywords(comments, progress, "comment keywords")
        audio = extractor.emotion_keywords(captions, progress, "caption emotions")
        return {
            "painting": painting,
            "caption": caption_keywords,
            "audio_emotion": audio,
            "painting_score": [extractor.score(words) for words in painting],
            "audio_score": [extractor.score(words) for words in audio],
        }

    key = _digest("keywords", config.keywords, comments, captions,
                  [m.keywords for m in music])
    return cache.keywords(key, compute)


def _feeling_analysis(config: DatasetBuildConfig, encoder: TextEncoder,
                      paintings: list[PaintingRecord], painting_emotion: list[list[str]],
                      words: dict, match: MatchResult, out: Path) -> tuple[np.ndarray, dict]:
    """Keyword similarity per pair, polarity shares and the Fig. 2 heatmap (Sec. III.A.4)."""
    audio_emotion = [words["audio_emotion"][j] for j in match.indices]
    similarity = keyword_similarity(encoder, painting_emotion, audio_emotion,
                                    config.batch_size, config.progress)
    report = FeelingReport(
        similarity,
        [painting_polarity(p.emotion, words["painting_score"][i])
         for i, p in enumerate(paintings)],
        [polarity(words["audio_score"][j]) for j in match.indices],
    )
    means, counts = polarity_matrix(similarity, report.painting_polarity, report.audio_polarity)
    plot_polarity_heatmap(means, counts, POLARITIES, out / POLARITY_FIGURE)
    return similarity, {"keyword_similarity": similarity_stats(similarity),
                        "polarity": polarity_summary(report)}


def _manifest_rows(paintings: list[PaintingRecord], music: list[MusicRecord],
                   painting_emotion: list[list[str]], caption_keywords: list[list[str]],
                   match: MatchResult, splits: list[str], out: Path) -> list[dict]:
    """One contract row per comment with its matched clip and composite prompt (III.A.3)."""
    rows = []
    for i, painting in enumerate(paintings):
        j = int(match.indices[i])
        clip = music[j]
        rows.append({
            "id": painting.id,
            "image_path": dataset_relative(painting.image_path, out),
            "comment": painting.comment,
            "painting_emotion": painting_emotion[i],
            "audio_id": clip.audio_id,
            "audio_path": dataset_relative(clip.audio_path, out),
            "audio_offset": clip.offset,
            "caption": clip.caption,
            "audio_labels": list(clip.labels),
            "caption_keywords": list(caption_keywords[j]),
            "prompt": build_prompt(painting.comment, painting_emotion[i], clip.labels,
                                   caption_keywords[j]),
            "similarity": round(float(match.similarities[i]), 6),
            "mel_path": mel_relpath(clip.audio_id),
            "split": splits[i],
        })
    return rows


def build_dataset(config: DatasetBuildConfig, encoder: TextEncoder | None = None,
                  extractor: KeywordExtractor | None = None,
                  mel_fn: Callable[..., np.ndarray] = audio_file_to_mel) -> dict:
    """Builds the data set folder of docs/CONTRACTS.md and returns the summary dict.

    ``encoder``, ``extractor`` and ``mel_fn`` replace the default sentence encoder, keyword
    extractor and Mel function (tests pass a loaded model or a counting Mel function).
    """
    started = time.perf_counter()
    timings: dict[str, float] = {}
    out = Path(config.out)
    paintings = read_paintings(config.paintings, config.limit, config.check_files)
    music = read_music(config.music, config.check_files)
    log.info("read %d comments and %d captions", len(paintings), len(music))
    out.mkdir(parents=True, exist_ok=True)
    cache = _TextCache(out / CACHE_DIR)

    tick = time.perf_counter()
    words = _keywords(config, extractor, paintings, music, cache)
    timings["keywords"] = time.perf_counter() - tick

    def get_encoder() -> TextEncoder:
        nonlocal encoder
        if encoder is None:
            load_started = time.perf_counter()
            encoder = load_sentence_encoder(config.encoder, config.device)
            timings["encoder_load"] = time.perf_counter() - load_started
        return encoder

    comments = [p.comment for p in paintings]
    captions = [m.caption for m in music]
    encoder_name = getattr(encoder, "name", None) or config.encoder
    tick = time.perf_counter()
    match, cached = cache.matches(
        _digest("match", encoder_name, comments, captions),
        lambda: match_texts(get_encoder(), comments, captions, config.batch_size,
                            config.progress),
    )
    timings["matching"] = time.perf_counter() - tick - timings.get("encoder_load", 0.0)
    encoded = len(set(comments)) + len(set(captions))
    throughput = None if cached else encoded / max(timings["matching"], 1e-9)
    log.info("matched %d comments (%s)", len(comments), "cached" if cached else "computed")

    painting_emotion = [_unique(([p.emotion] if p.emotion else []) + words["painting"][i])
                        for i, p in enumerate(paintings)]
    analysis: dict = {}
    keyword_sim = None
    if config.feeling_analysis:
        tick = time.perf_counter()
        keyword_sim, analysis = _feeling_analysis(config, get_encoder(), paintings,
                                                  painting_emotion, words, match, out)
        timings["analysis"] = time.perf_counter() - tick
    plot_similarity_histogram(match.similarities, out / SIMILARITY_FIGURE, keyword_sim)

    groups = [str(p.image_path) if config.split_by_painting else p.id for p in paintings]
    splits = assign_splits(groups, config.seed, config.split_ratios)

    tick = time.perf_counter()
    matched = [music[j] for j in dict.fromkeys(int(j) for j in match.indices)]
    mel_stats = ensure_mels(matched, out, config.audio, config.mel_norm, config.progress, mel_fn)
    timings["mels"] = time.perf_counter() - tick

    rows = _manifest_rows(paintings, music, painting_emotion, words["caption"], match, splits,
                          out)
    write_manifest(out, rows)
    log.info("wrote %d rows to %s", len(rows), out)

    similarity = match.similarities.astype(np.float64)
    split_counts = Counter(splits)
    summary = {
        "dataset": str(out.resolve()),
        "encoder": encoder_name,
        "rows": len(rows),
        "paintings": len({str(p.image_path) for p in paintings}),
        "captions": len(music),
        "matched_clips": len(matched),
        "unused_clips": len(music) - len(matched),
        "mels_computed": mel_stats.computed,
        "mels_skipped": mel_stats.skipped,
        "splits": {name: split_counts.get(name, 0) for name in SPLIT_NAMES},
        "similarity": similarity_stats(similarity),
        "share_below_0.25": float((similarity < 0.25).mean()),
        **analysis,
        "licences": dict(Counter(clip.licence or "unknown" for clip in matched)),
        "matching_texts_per_s": throughput,
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
        "total_s": round(time.perf_counter() - started, 3),
    }
    write_json_atomic(out / SUMMARY_NAME, summary)
    return summary


__all__ = ["DatasetBuildConfig", "build_dataset"]
