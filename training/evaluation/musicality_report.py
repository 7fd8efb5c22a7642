"""The musicality report of ``main.py eval --bundle``: generated pieces against real clips.

Generated pieces are made on the kiosk's own path — ``Engine.compose`` of each painting without
a comment (per seed, once the decoder samples), the audio as the kiosk plays it
(``Piece.playback_audio``: vocoder + loudness gain) and the decoder's own log-Mel. Real clips
are the data set's split (``--data``, distinct clips, the reference clip of
``training.evaluation.data``) or one clip from the middle of each file of a folder
(``--real-music``), as long as the bundle's pieces. Both go through the same code
(:mod:`training.evaluation.musicality`); on top:

* FAD (musicnn, as Table IV: every 3 s patch embedding of all generated pieces vs all real clips);
* painting-dependence of the generated pieces (long-term spectrum and chroma histogram distance
  between paintings vs between seeds of one painting), and the same between real clips;
* ``mel_grid.png``: generated Mels beside real ones on one colour scale (natural-log Mel from the
  log floor to the normalisation ceiling).

Writes ``musicality.json``, ``musicality.csv`` (one row per piece), ``musicality_summary.csv``
(mean ± std per measure and set) and ``mel_grid.png``.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from core.audio_config import DEFAULT_MEL_NORM, AudioConfig, MelNormalization
from core.mel import load_audio
from core.mel import log_mel as compute_log_mel
from training.evaluation import metrics
from training.evaluation.kiosk_path import painting_files, read_rgb
from training.evaluation.musicality import (
    DEFINITIONS,
    ISSUE_9_REFERENCE,
    ISSUE_9_TARGETS,
    MEASURES,
    MusicalityMeasures,
    PieceDescriptors,
    aggregate,
    describe,
    measure,
    painting_dependence,
)

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3")


@dataclass(frozen=True)
class MusicalityConfig:
    """What to measure: the bundle's pieces of ``paintings`` (``pieces`` of them at most, painting
    by painting, ``seeds`` per painting) and real clips from ``real_music`` or ``data``/``split``."""

    bundle: Path
    paintings: tuple[Path, ...]
    out: Path
    pieces: int | None = None
    seeds: int = 1
    data: Path | None = None
    split: str = "test"
    real_music: Path | None = None
    real_clips: int | None = None
    musicnn_weights: Path | None = None
    embedding_layer: str = "penultimate"
    grid_rows: int = 6
    providers: tuple[str, ...] = ("cpu",)


@dataclass
class ScoredPiece:
    """One generated piece or real clip with its measures, descriptors and musicnn patches."""

    kind: str  # generated | real
    name: str
    seed: int | None
    measures: MusicalityMeasures
    descriptors: PieceDescriptors = field(repr=False)
    log_mel: np.ndarray = field(repr=False)
    embeddings: np.ndarray | None = field(default=None, repr=False)

    def row(self) -> dict:
        return {"kind": self.kind, "name": self.name,
                "seed": "" if self.seed is None else self.seed, **self.measures.to_dict()}


@dataclass
class MusicalityResult:
    generated: list[ScoredPiece]
    real: list[ScoredPiece]
    fad: dict
    painting_dependence: dict
    info: dict = field(default_factory=dict)

    def summary(self) -> dict[str, dict]:
        return {"generated": aggregate([p.measures for p in self.generated]),
                "real": aggregate([p.measures for p in self.real]) if self.real else None}

    def to_dict(self) -> dict:
        return {"summary": self.summary(), "fad": self.fad,
                "painting_dependence": self.painting_dependence,
                "pieces": [p.row() for p in self.generated + self.real], **self.info}


# ---------------------------------------------------------------------------------------------
# Pieces
# ---------------------------------------------------------------------------------------------

def composer(engine, seeds: int) -> Callable:
    """``compose(painting_or_reading, seed)`` on the kiosk path (no comment). More than one seed
    per painting needs a decoder that samples (``Engine.samples``), or every seed would give the
    same piece."""
    if seeds > 1 and not engine.samples:
        raise ValueError(f"{seeds} seeds per painting need a decoder that samples, but this "
                         "bundle's decoder gives one piece per painting; use "
                         "--musicality-seeds 1.")
    return lambda painting, seed: engine.compose(painting, "", seed=seed)


def generated_pieces(engine, files: list[Path], seeds: int, limit: int | None):
    """Yields (painting name, seed, log-Mel, playback audio), painting by painting; the seed is
    the piece's own (``Piece.seed``: None for a deterministic decoder)."""
    compose = composer(engine, seeds)
    count = 0
    for path in files:
        reading = None
        for seed in range(seeds):
            if limit is not None and count >= limit:
                return
            piece = compose(read_rgb(path) if reading is None else reading, seed)
            reading = piece.reading
            count += 1
            yield (path.stem, piece.seed, np.asarray(piece.log_mel),
                   piece.playback_audio())


def dataset_clips(data: Path, split: str, audio: AudioConfig, limit: int | None = None):
    """Yields (audio id, clip) for each distinct reference clip of the data set's split."""
    from training.evaluation.data import read_eval_rows, reference_audio

    seen: set[str] = set()
    for row in read_eval_rows(data, split):
        if row.audio_id in seen:
            continue
        if limit is not None and len(seen) >= limit:
            return
        seen.add(row.audio_id)
        yield row.audio_id, reference_audio(row, audio)


def folder_clips(folder: Path, audio: AudioConfig, limit: int | None = None):
    """Yields (file stem, clip) for the audio files of a folder (sorted): one clip of the
    bundle's length from the middle of each file, zero-padded when the file is shorter."""
    import librosa

    files = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"no audio files ({', '.join(AUDIO_SUFFIXES)}) in {folder}; "
                                "pass a folder of music recordings as --real-music.")
    for path in files[:limit]:
        offset = max(0.0, (librosa.get_duration(path=str(path)) - audio.clip_seconds) / 2)
        clip = load_audio(path, audio, offset=offset, duration=audio.clip_seconds)
        yield path.stem, np.pad(clip[: audio.clip_samples],
                                (0, max(0, audio.clip_samples - clip.size)))


def score(kind: str, name: str, seed: int | None, log_mel: np.ndarray | None,
          audio: np.ndarray, config: AudioConfig, norm: MelNormalization, embedder=None
          ) -> ScoredPiece:
    """Measures, descriptors and (with an embedder) musicnn patch embeddings of one piece."""
    mel = compute_log_mel(audio, config) if log_mel is None else log_mel
    embeddings = (embedder.embed_frames(audio, config.sample_rate) if embedder is not None
                  else None)
    return ScoredPiece(kind, name, seed, measure(audio, mel, config),
                       describe(audio, mel, config, norm), mel, embeddings)


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------

def _embedder(config: MusicalityConfig):
    from training.evaluation.musicnn import DEFAULT_WEIGHTS, MusicnnEmbedder

    try:
        return MusicnnEmbedder(config.musicnn_weights or DEFAULT_WEIGHTS,
                               config.embedding_layer), None
    except FileNotFoundError as error:
        return None, str(error)


def fad_entry(generated: list[ScoredPiece], real: list[ScoredPiece], embedder) -> dict:
    """FAD of all generated vs all real patch embeddings, with its sizes and any caveat."""
    if embedder is None:
        return {"value": None, "note": "no musicnn embedder"}
    ours = [p.embeddings for p in generated if p.embeddings is not None]
    theirs = [p.embeddings for p in real if p.embeddings is not None]
    sizes = {"generated_embeddings": int(sum(len(e) for e in ours)),
             "real_embeddings": int(sum(len(e) for e in theirs)),
             "generated_pieces": len(ours), "real_clips": len(theirs),
             "embedding_model": embedder.name,
             "definition": "Fréchet distance of Gaussian fits of every 3 s patch embedding"}
    if sizes["generated_embeddings"] < 2 or sizes["real_embeddings"] < 2:
        return {"value": None, **sizes, "note": "FAD needs at least 2 embeddings per set; "
                                                "give real clips (--data or --real-music)."}
    entry = {"value": metrics.fad(np.concatenate(theirs), np.concatenate(ours)), **sizes}
    dimension = ours[0].shape[1]
    if min(sizes["generated_embeddings"], sizes["real_embeddings"]) <= dimension:
        entry["warning"] = (f"fitted on fewer embeddings than their dimension ({dimension}): "
                            "rank-deficient covariances, a noisy FAD; issue 9 asks for ≥ 300 "
                            "generated pieces (--musicality-pieces, --musicality-seeds).")
    return entry


def musicality_report(config: MusicalityConfig, engine=None, embedder=None
                      ) -> MusicalityResult:
    """Composes, vocodes and measures the generated pieces, loads and measures the real clips."""
    from engine import Engine

    engine = engine or Engine.load(config.bundle, providers=list(config.providers))
    audio, norm = engine.manifest.audio, engine.manifest.mel_norm
    embedding_note = None
    if embedder is None:
        embedder, embedding_note = _embedder(config)
    files = painting_files(config.paintings)
    wanted = len(files) * config.seeds if config.pieces is None else config.pieces
    generated = [score("generated", name, seed, mel, wave, audio, norm, embedder)
                 for name, seed, mel, wave in tqdm(
                     generated_pieces(engine, files, config.seeds, config.pieces),
                     total=min(wanted, len(files) * config.seeds), desc="generated pieces",
                     unit="piece")]
    if config.real_music is not None:
        source = f"{config.real_music} (one clip from the middle of each file)"
        clips = folder_clips(config.real_music, audio, config.real_clips)
    elif config.data is not None:
        source = f"{config.data} {config.split} split (distinct reference clips)"
        clips = dataset_clips(config.data, config.split, audio, config.real_clips)
    else:
        source, clips = None, iter(())
    real = [score("real", name, None, None, wave, audio, DEFAULT_MEL_NORM, embedder)
            for name, wave in tqdm(clips, desc="real clips", unit="clip")]
    by_painting: dict[str, list[PieceDescriptors]] = {}
    for piece in generated:
        by_painting.setdefault(piece.name, []).append(piece.descriptors)
    dependence = {"generated": painting_dependence(by_painting).to_dict()}
    if len(real) > 1:
        dependence["real_clips"] = painting_dependence([[p.descriptors] for p in real]).to_dict()
    info = {
        "bundle": str(config.bundle), "paintings": [str(p) for p in config.paintings],
        "generated_pieces": len(generated), "pieces_requested": wanted,
        "seeds_per_painting": config.seeds, "real_source": source, "real_clips": len(real),
        "clip_seconds": round(audio.clip_seconds, 3),
        "generated": "Engine.compose(painting, no comment) as the kiosk: Mel measures on the "
                     "decoder's log-Mel, audio measures on Piece.playback_audio()",
        "real": "Mel measures on core.mel.log_mel of the clip, audio measures on the clip",
        "definitions": DEFINITIONS,
        "painting_dependence_definition": "mean distance between pieces of different "
            "paintings (between) and between pieces of one painting (within, seeds); "
            "long_term_spectrum: mean |Δ| of the time-mean normalised Mel; chroma_histogram: "
            "total variation of the time-summed chroma distributions; real_clips: each clip "
            "its own group",
        "issue_9_reference": ISSUE_9_REFERENCE, "issue_9_targets": ISSUE_9_TARGETS,
    }
    if embedding_note:
        info["embedding_note"] = embedding_note
    return MusicalityResult(generated, real, fad_entry(generated, real, embedder), dependence,
                            info)


def _json_safe(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def plot_mel_grid(generated: list[ScoredPiece], real: list[ScoredPiece], path: Path,
                  audio: AudioConfig, norm: MelNormalization = DEFAULT_MEL_NORM,
                  rows: int = 6) -> None:
    """Generated Mels (left) beside real ones (right), natural-log Mel on one colour scale
    [log_min, log_max] of the normalisation, time in seconds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = [c for c in (("generated", generated), ("real", real)) if c[1]]
    count = min(rows, max(len(c[1]) for c in columns))
    figure, axes = plt.subplots(count, len(columns), figsize=(6.5 * len(columns), 2.0 * count),
                                squeeze=False, sharex=True, sharey=True, layout="constrained")
    image = None
    for column, (label, pieces) in enumerate(columns):
        for row in range(count):
            axis = axes[row][column]
            if row >= len(pieces):
                axis.axis("off")
                continue
            piece = pieces[row]
            seconds = piece.log_mel.shape[1] * audio.hop_length / audio.sample_rate
            image = axis.imshow(piece.log_mel, origin="lower", aspect="auto", cmap="magma",
                                vmin=norm.log_min, vmax=norm.log_max,
                                extent=(0, seconds, 0, piece.log_mel.shape[0]))
            seed = "" if piece.seed is None else f" seed {piece.seed}"
            m = piece.measures
            axis.set_title(f"{label}: {piece.name[:34]}{seed} — flux {m.spectral_flux:.3f}, "
                           f"chroma change {m.chroma_change:.2f}", fontsize=7.5)
            axis.set_ylabel("Mel band", fontsize=7)
            axis.tick_params(labelsize=7)
        last = axes[min(count, len(pieces)) - 1][column]
        last.set_xlabel("seconds", fontsize=7)
        last.tick_params(labelbottom=True)
    figure.colorbar(image, ax=axes, fraction=0.03, aspect=40, label="natural-log Mel (nats)")
    figure.suptitle("Generated (kiosk path, no comment) vs real Mels, one colour scale",
                    fontsize=10)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def write_musicality(result: MusicalityResult, out: Path, audio: AudioConfig,
                     norm: MelNormalization = DEFAULT_MEL_NORM, grid_rows: int = 6
                     ) -> dict[str, Path]:
    """musicality.json, musicality.csv, musicality_summary.csv and mel_grid.png in ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "musicality.json", "csv": out / "musicality.csv",
             "summary": out / "musicality_summary.csv", "png": out / "mel_grid.png"}
    paths["json"].write_text(json.dumps(_json_safe(result.to_dict()), indent=2,
                                        ensure_ascii=False) + "\n", encoding="utf-8")
    with paths["csv"].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["kind", "name", "seed", *MEASURES])
        writer.writeheader()
        for piece in result.generated + result.real:
            writer.writerow(piece.row())
    summary = result.summary()
    with paths["summary"].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["measure", "generated_mean", "generated_std", "real_mean", "real_std"])
        for name in MEASURES:
            cells = []
            for kind in ("generated", "real"):
                stats = (summary[kind] or {}).get(name, {})
                cells += [stats.get("mean"), stats.get("std")]
            writer.writerow([name, *("" if v is None else f"{v:.4f}" for v in cells)])
    plot_mel_grid(result.generated, result.real, paths["png"], audio, norm, grid_rows)
    return paths


def summary_lines(result: MusicalityResult) -> list[str]:
    """The summary as text lines: measure, generated mean ± std, real mean ± std."""
    summary = result.summary()

    def cell(stats) -> str:
        if not stats or stats["mean"] is None:
            return "—"
        return f"{stats['mean']:.3f} ± {stats['std']:.3f}"

    lines = [f"{'measure':<22} {'generated':>16} {'real':>16}"]
    for name in MEASURES:
        lines.append(f"{name:<22} {cell(summary['generated'][name]):>16} "
                     f"{cell((summary['real'] or {}).get(name)):>16}")
    fad = result.fad.get("value")
    lines.append(f"{'FAD (musicnn)':<22} {'—' if fad is None else f'{fad:.3f}':>16}")
    return lines
