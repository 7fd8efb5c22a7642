"""Builds an ArtiCaps-style data set by weak alignment (Sec. III.A.2–4 of Art2Music).

Pipeline: read the paintings and music corpora → emotional keywords of every comment and
keywords of captions that have none (III.A.3) → embed both corpora and pair each comment with
its most similar caption (III.A.2), or with its ``matches_per_row`` most similar captions →
feeling-consistency analysis of the pairs (III.A.4) → one cached Mel per matched clip (III.A.5)
→ ``manifest.jsonl`` with the composite prompt, ``similarity.png``, ``polarity.png`` and
``summary.json``. Re-running with the same inputs reuses cached keywords, text embeddings,
matches and Mels, so an interrupted build resumes where it stopped.

Diversity-aware matching (``matches_per_row`` K > 1): the paper's argmax sends every comment to
one of few captions (71 of 1 200 clips on the default corpora), and an L1-trained decoder then
learns their mean. With K > 1 each comment becomes K manifest rows ``<id>-m0`` … ``<id>-m<K-1>``
(``-m0`` the argmax), each with its own caption, labels, keywords, similarity, Mel and composite
prompt; all K rows keep the split of their painting.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
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
from training.dataset.errors import DatasetError
from training.dataset.figures import plot_polarity_heatmap, plot_similarity_histogram
from training.dataset.keywords import KeywordConfig, KeywordExtractor, polarity
from training.dataset.manifest import dataset_relative, write_json_atomic, write_manifest
from training.dataset.matching import TextEncoder, TopMatches, embed_corpora, top_matches
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
    matches_per_row: int = 1
    """Captions paired with each comment, best first (1 = the paper's argmax, Sec. III.A.2)."""
    min_similarity: float | None = None
    """Matches after the best one below this cosine similarity are dropped (None: keep all)."""
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

    def _arrays(self, kind: str, key: str,
                compute: Callable[[], dict[str, np.ndarray]]) -> tuple[dict[str, np.ndarray], bool]:
        """Named arrays from ``<kind>-<key>.npz``, computed and written atomically if absent."""
        path = self.folder / f"{kind}-{key}.npz"
        if path.is_file():
            with np.load(path) as data:
                return {name: data[name] for name in data.files}, True
        arrays = compute()
        temp = path.with_name(f".{path.name}.tmp")
        with temp.open("wb") as handle:
            np.savez(handle, **arrays)
        temp.replace(path)
        self._prune(kind, path)
        return arrays, False

    def embeddings(self, key: str, compute: Callable[[], tuple[np.ndarray, np.ndarray]]
                   ) -> tuple[np.ndarray, np.ndarray, bool]:
        """Unit text embeddings of the comments and of the captions, and whether cached."""
        def arrays() -> dict[str, np.ndarray]:
            comments, captions = compute()
            return {"comments": comments, "captions": captions}

        data, cached = self._arrays("texts", key, arrays)
        return data["comments"], data["captions"], cached

    def matches(self, key: str, compute: Callable[[], TopMatches]) -> tuple[TopMatches, bool]:
        """Top-k matches; argmax files of earlier builds ([N] arrays) load as k = 1."""
        def arrays() -> dict[str, np.ndarray]:
            result = compute()
            return {"indices": result.indices, "similarities": result.similarities}

        data, cached = self._arrays("match", key, arrays)
        indices, similarities = data["indices"], data["similarities"]
        if indices.ndim == 1:
            indices, similarities = indices[:, None], similarities[:, None]
        return TopMatches(indices, similarities), cached


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


@dataclass(frozen=True)
class _Pairs:
    """The manifest's (comment, caption) pairs: row, rank among its matches, caption, cosine.

    Ordered by rank, then comment: the argmax pairs of all comments first, so the first rows
    of a split are the pairs an argmax build has (``eval --limit N`` sees N comments, not N/K).
    """

    rows: np.ndarray
    ranks: np.ndarray
    clips: np.ndarray
    similarities: np.ndarray

    @classmethod
    def of(cls, matches: TopMatches) -> _Pairs:
        rows, ranks, clips, similarities = matches.pairs()
        order = np.lexsort((rows, ranks))
        return cls(rows[order], ranks[order], clips[order], similarities[order])


def _feeling_analysis(config: DatasetBuildConfig, encoder: TextEncoder,
                      paintings: list[PaintingRecord], painting_emotion: list[list[str]],
                      words: dict, pairs: _Pairs, out: Path) -> tuple[np.ndarray, dict]:
    """Keyword similarity per pair, polarity shares and the Fig. 2 heatmap (Sec. III.A.4)."""
    audio_emotion = [words["audio_emotion"][j] for j in pairs.clips]
    similarity = keyword_similarity(encoder, [painting_emotion[i] for i in pairs.rows],
                                    audio_emotion, config.batch_size, config.progress)
    report = FeelingReport(
        similarity,
        [painting_polarity(paintings[i].emotion, words["painting_score"][i]) for i in pairs.rows],
        [polarity(words["audio_score"][j]) for j in pairs.clips],
    )
    means, counts = polarity_matrix(similarity, report.painting_polarity, report.audio_polarity)
    plot_polarity_heatmap(means, counts, POLARITIES, out / POLARITY_FIGURE)
    return similarity, {"keyword_similarity": similarity_stats(similarity),
                        "polarity": polarity_summary(report)}


def _manifest_rows(paintings: list[PaintingRecord], music: list[MusicRecord],
                   painting_emotion: list[list[str]], caption_keywords: list[list[str]],
                   pairs: _Pairs, splits: list[str], k: int, out: Path) -> Iterator[dict]:
    """One contract row per (comment, matched clip) with its composite prompt (III.A.3).

    With one match per comment the row id is the comment's id; with ``k`` > 1 it is
    ``<comment id>-m<rank>``, rank 0 the best match. ``splits`` is per comment. Rows are made
    one at a time (a generator) and written as they come: memory stays flat however many rows
    (455 k comments × K matches for ArtEmis); only the ids are kept, to refuse a repeated one.
    """
    seen: set[str] = set()
    for i, rank, j, score in zip(pairs.rows.tolist(), pairs.ranks.tolist(),
                                 pairs.clips.tolist(), pairs.similarities.tolist(), strict=True):
        painting, clip = paintings[i], music[j]
        row_id = painting.id if k == 1 else f"{painting.id}-m{rank}"
        if row_id in seen:
            raise DatasetError(f"manifest id {row_id!r} repeats (a comment id already ends in "
                               "-m<number>?); give those paintings-corpus lines other ids.")
        seen.add(row_id)
        yield {
            "id": row_id,
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
            "similarity": round(float(score), 6),
            "mel_path": mel_relpath(clip.audio_id),
            "split": splits[i],
        }


def _matching_knobs(config: DatasetBuildConfig) -> tuple[int, float | None]:
    """``matches_per_row`` and ``min_similarity``, checked."""
    k = int(config.matches_per_row)
    if k < 1:
        raise DatasetError(f"matches_per_row must be at least 1, got {config.matches_per_row}.")
    low = config.min_similarity
    if low is not None and not -1.0 <= low <= 1.0:
        raise DatasetError(f"min_similarity is a cosine similarity in [-1, 1], got {low}.")
    return k, (None if low is None else float(low))


def build_dataset(config: DatasetBuildConfig, encoder: TextEncoder | None = None,
                  extractor: KeywordExtractor | None = None,
                  mel_fn: Callable[..., np.ndarray] = audio_file_to_mel) -> dict:
    """Builds the data set folder of docs/CONTRACTS.md and returns the summary dict.

    ``encoder``, ``extractor`` and ``mel_fn`` replace the default sentence encoder, keyword
    extractor and Mel function (tests pass a loaded model or a counting Mel function).
    """
    started = time.perf_counter()
    timings: dict[str, float] = {}
    k, min_similarity = _matching_knobs(config)
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
    embedded_fresh = False

    def compute_matches() -> TopMatches:
        nonlocal embedded_fresh
        comment_vectors, caption_vectors, cached_vectors = cache.embeddings(
            _digest("texts", encoder_name, comments, captions),
            lambda: embed_corpora(get_encoder(), comments, captions, config.batch_size,
                                  config.progress))
        embedded_fresh = not cached_vectors
        return top_matches(comment_vectors, caption_vectors, k, min_similarity)

    tick = time.perf_counter()
    # k = 1 keeps the key of argmax-only builds, so their cached matches are reused.
    knobs = () if (k, min_similarity) == (1, None) else (k, min_similarity)
    matches, cached = cache.matches(
        _digest("match", encoder_name, comments, captions, *knobs), compute_matches)
    timings["matching"] = time.perf_counter() - tick - timings.get("encoder_load", 0.0)
    encoded = len(set(comments)) + len(set(captions))
    throughput = encoded / max(timings["matching"], 1e-9) if embedded_fresh else None
    log.info("matched %d comments with up to %d captions each (%s)", len(comments), k,
             "cached" if cached else "computed")
    pairs = _Pairs.of(matches)

    painting_emotion = [_unique(([p.emotion] if p.emotion else []) + words["painting"][i])
                        for i, p in enumerate(paintings)]
    analysis: dict = {}
    keyword_sim = None
    if config.feeling_analysis:
        tick = time.perf_counter()
        keyword_sim, analysis = _feeling_analysis(config, get_encoder(), paintings,
                                                  painting_emotion, words, pairs, out)
        timings["analysis"] = time.perf_counter() - tick
    plot_similarity_histogram(pairs.similarities, out / SIMILARITY_FIGURE, keyword_sim)

    # Splits are drawn per comment, before the K matches are expanded: every row of one
    # painting lands in one split, and the split equals that of the argmax build.
    groups = [str(p.image_path) if config.split_by_painting else p.id for p in paintings]
    comment_splits = assign_splits(groups, config.seed, config.split_ratios)

    tick = time.perf_counter()
    matched = [music[j] for j in dict.fromkeys(pairs.clips.tolist())]
    mel_stats = ensure_mels(matched, out, config.audio, config.mel_norm, config.progress, mel_fn)
    timings["mels"] = time.perf_counter() - tick

    rows = _manifest_rows(paintings, music, painting_emotion, words["caption"], pairs,
                          comment_splits, k, out)
    write_manifest(out, rows)
    n_rows = len(pairs.rows)
    log.info("wrote %d rows to %s", n_rows, out)

    similarity = pairs.similarities.astype(np.float64)
    split_counts = Counter(comment_splits[i] for i in pairs.rows.tolist())
    uses = np.bincount(pairs.clips, minlength=len(music))
    summary = {
        "dataset": str(out.resolve()),
        "encoder": encoder_name,
        "rows": n_rows,
        "comments": len(paintings),
        "paintings": len({str(p.image_path) for p in paintings}),
        "captions": len(music),
        "matches_per_row": k,
        "min_similarity": min_similarity,
        "matched_clips": len(matched),
        "unused_clips": len(music) - len(matched),
        "rows_per_matched_clip": {"mean": round(n_rows / max(len(matched), 1), 3),
                                  "max": int(uses.max(initial=0))},
        "mels_computed": mel_stats.computed,
        "mels_skipped": mel_stats.skipped,
        "splits": {name: split_counts.get(name, 0) for name in SPLIT_NAMES},
        "similarity": similarity_stats(similarity),
        "best_match_similarity": similarity_stats(pairs.similarities[pairs.ranks == 0]),
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
