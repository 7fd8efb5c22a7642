"""How much the painting and the comment change the music, measured on the kiosk's own path.

Every piece is made by ``Engine.compose`` on a bundle — the same feelings rule, art commentary,
prompt and loudness gain as the kiosk and ``export.examples`` — for

* each painting without a comment (what a silent visitor hears): the number of distinct
  prompts, and the pairwise distances between different paintings' Mels;
* each painting × each comment of ``COMMENTS`` (five moods): a two-way decomposition of the
  Mels' variation into painting, comment and interaction shares (sums of squares over every
  Mel bin, as in a balanced two-way ANOVA without replication).

A sampling decoder draws every piece anew, so one report is one draw: with ``draws`` > 1 the
grid is composed that many times, the shares are the mean over the draws (each draw's are kept),
and the replicated decomposition splits the interaction into what painting × comment do
together and the draw itself (``replicated_shares``). A ``seed`` makes the draws reproducible
(piece i of draw d gets seed + 100 003 · d + i); without one every piece gets a fresh seed, as
in the kiosk.

Distance = mean absolute difference of normalised log-Mels on [-1, 1] (core.mel.normalize).
``main.py eval --bundle assets/bundle --paintings assets/artworks`` writes
``kiosk_path.json``, ``kiosk_path_paintings.csv``, ``kiosk_path_distances.csv`` and
``kiosk_path.png`` into ``--out``.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from core.mel import normalize

COMMENTS: tuple[str, ...] = (
    "It makes me feel calm and peaceful, like a quiet Sunday morning.",
    "So sad and lonely; it reminds me of someone I lost.",
    "Full of joy and energy, I want to dance!",
    "Dark and frightening, something terrible is about to happen.",
    "Majestic and awe-inspiring, I feel very small in front of it.",
)
"""Visitor comments of five different moods for the painting × comment grid."""

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")


@dataclass(frozen=True)
class KioskPathConfig:
    """What to compose: a bundle, paintings (files, folders or a JSONL with image_path), comments."""

    bundle: Path
    paintings: tuple[Path, ...]
    out: Path
    comments: tuple[str, ...] = COMMENTS
    limit: int | None = None
    providers: tuple[str, ...] = ("cpu",)
    draws: int = 1
    seed: int | None = None


@dataclass
class PaintingRow:
    """One painting without a comment, as the kiosk composes it."""

    name: str
    commentary: str
    feelings: list[str]
    prompt: str
    gain_db: float


@dataclass
class KioskPathResult:
    paintings: list[PaintingRow]
    distinct_prompts: int
    distances: list[list[float]]
    """[P, P] Mel distances between paintings without a comment."""
    median_distance: float
    mean_distance: float
    shares: dict[str, float] = field(default_factory=dict)
    """painting / comment / interaction shares of the Mel variation over the grid."""
    spectrum_shares: dict[str, float] = field(default_factory=dict)
    """The same shares of the pieces' long-term spectra (each Mel averaged over time): what a
    piece sounds like overall, without when each onset falls, which a sampling decoder draws
    anew for every piece (so it lands in the frame-by-frame interaction)."""
    draw_shares: list[dict[str, float]] = field(default_factory=list)
    """`shares` of each draw (their mean is `shares`)."""
    draw_spectrum_shares: list[dict[str, float]] = field(default_factory=list)
    replicated_shares: dict[str, float] = field(default_factory=dict)
    """With ≥ 2 draws: painting / comment / interaction / draw shares of the long-term spectra,
    the interaction now measured on the cell means, so the draw's own spread is apart."""
    info: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {**asdict(self), "paintings": [asdict(p) for p in self.paintings]}


def painting_files(sources: tuple[Path, ...]) -> list[Path]:
    """Image files from files, folders (sorted) and JSONL corpora (``image_path`` per line)."""
    files: list[Path] = []
    for source in sources:
        source = Path(source)
        if source.is_dir():
            files += sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        elif source.suffix == ".jsonl":
            for line in source.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    path = Path(json.loads(line)["image_path"])
                    files.append(path if path.is_absolute() else source.parent / path)
        else:
            files.append(source)
    unique = list(dict.fromkeys(files))
    if not unique:
        raise FileNotFoundError(f"no paintings in {', '.join(map(str, sources))}; pass image "
                                "files, a folder of images or a paintings JSONL.")
    return unique


def read_rgb(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"painting {path} is missing or unreadable; fix --paintings.")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def pairwise_distances(mels: np.ndarray) -> np.ndarray:
    """[N, N] mean absolute differences between normalised Mels [N, ...]."""
    flat = mels.reshape(len(mels), -1)
    return np.abs(flat[:, None, :] - flat[None, :, :]).mean(-1)


def variation_shares(grid: np.ndarray) -> dict[str, float]:
    """Painting, comment and interaction shares of the total sum of squares of `grid`
    [P, C, ...] (P paintings × C comments, one Mel each), summed over every Mel bin."""
    paintings, comments = grid.shape[:2]
    flat = grid.reshape(paintings, comments, -1).astype(np.float64)
    grand = flat.mean(axis=(0, 1))
    by_painting = flat.mean(axis=1) - grand
    by_comment = flat.mean(axis=0) - grand
    total = float(((flat - grand) ** 2).sum())
    painting = float(comments * (by_painting ** 2).sum())
    comment = float(paintings * (by_comment ** 2).sum())
    if total <= 0:
        return {"painting": 0.0, "comment": 0.0, "interaction": 0.0}
    return {"painting": painting / total, "comment": comment / total,
            "interaction": max(0.0, total - painting - comment) / total}


def replicated_shares(grid: np.ndarray) -> dict[str, float]:
    """Painting, comment, interaction and draw shares of the total sum of squares of `grid`
    [P, C, D, ...] (D ≥ 2 draws of every painting × comment), summed over the trailing values:
    a balanced two-way ANOVA with replication, where the interaction is that of the cell means
    and the draw is the spread of the draws around their cell's mean."""
    paintings, comments, draws = grid.shape[:3]
    flat = grid.reshape(paintings, comments, draws, -1).astype(np.float64)
    cells = flat.mean(axis=2)
    grand = cells.mean(axis=(0, 1))
    total = float(((flat - grand) ** 2).sum())
    painting = float(comments * draws * ((cells.mean(axis=1) - grand) ** 2).sum())
    comment = float(paintings * draws * ((cells.mean(axis=0) - grand) ** 2).sum())
    draw = float(((flat - cells[:, :, None]) ** 2).sum())
    if total <= 0:
        return {"painting": 0.0, "comment": 0.0, "interaction": 0.0, "draw": 0.0}
    interaction = max(0.0, total - painting - comment - draw)
    return {"painting": painting / total, "comment": comment / total,
            "interaction": interaction / total, "draw": draw / total}


def _piece_seed(config: KioskPathConfig, draw: int, index: int) -> int | None:
    return None if config.seed is None else int(config.seed + 100_003 * draw + index)


def _mean_shares(shares: list[dict[str, float]]) -> dict[str, float]:
    return {k: float(np.mean([s[k] for s in shares])) for k in shares[0]} if shares else {}


def kiosk_path_report(config: KioskPathConfig, engine=None) -> KioskPathResult:
    """Composes every painting (alone and with each comment) through ``Engine.compose``,
    `config.draws` times (the no-comment distances come from the first draw)."""
    from engine import Engine

    if config.draws < 1:
        raise ValueError(f"draws must be at least 1, got {config.draws}")
    engine = engine or Engine.load(config.bundle, providers=list(config.providers))
    norm = engine.manifest.mel_norm
    files = painting_files(config.paintings)[: config.limit]
    rows, alone, readings = [], [], []
    for index, path in enumerate(files):
        piece = engine.compose(read_rgb(path), "", seed=_piece_seed(config, 0, index))
        reading = piece.reading
        readings.append(reading)
        rows.append(PaintingRow(path.stem, reading.text if reading else "", list(piece.feelings),
                                piece.prompt, round(20 * float(np.log10(max(piece.gain, 1e-12))),
                                                    2)))
        alone.append(normalize(piece.log_mel, norm))
    distances = pairwise_distances(np.stack(alone))
    upper = distances[np.triu_indices(len(files), k=1)]
    enough = bool(config.comments) and len(files) > 1
    draws = config.draws if enough else 0
    spectra = []  # [D][P, C, n_mels]
    draw_shares, draw_spectrum_shares = [], []
    for draw in range(draws):
        grid = np.asarray([
            [normalize(engine.compose(reading, comment, seed=_piece_seed(
                config, draw, len(files) * (1 + c) + p)).log_mel, norm)
             for c, comment in enumerate(config.comments)]
            for p, reading in enumerate(readings)])
        draw_shares.append(variation_shares(grid))
        spectra.append(grid.mean(axis=-1))
        draw_spectrum_shares.append(variation_shares(spectra[-1]))
    replicated = (replicated_shares(np.stack(spectra, axis=2)) if len(spectra) > 1 else {})
    info = {"bundle": Path(config.bundle).name, "paintings": len(files),
            "comments": list(config.comments), "draws": config.draws, "seed": config.seed,
            "distance": "mean |Δ| of normalised log-Mels on [-1, 1]",
            "shares": "two-way sums of squares over painting × comment, every Mel bin (mean "
                      "over the draws)",
            "spectrum_shares": "the same over each piece's time-averaged Mel (long-term "
                               "spectrum)",
            "replicated_shares": "long-term spectra of every draw: painting, comment, "
                                 "interaction of the cell means, and the draw"}
    return KioskPathResult(
        paintings=rows, distinct_prompts=len({r.prompt for r in rows}),
        distances=np.round(distances, 5).tolist(),
        median_distance=float(np.median(upper)) if upper.size else 0.0,
        mean_distance=float(np.mean(upper)) if upper.size else 0.0,
        shares=_mean_shares(draw_shares), spectrum_shares=_mean_shares(draw_spectrum_shares),
        draw_shares=draw_shares, draw_spectrum_shares=draw_spectrum_shares,
        replicated_shares=replicated, info=info)


def write_kiosk_path(result: KioskPathResult, out: Path) -> dict[str, Path]:
    """kiosk_path.json, kiosk_path_paintings.csv, kiosk_path_distances.csv and kiosk_path.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "kiosk_path.json", "paintings": out / "kiosk_path_paintings.csv",
             "distances": out / "kiosk_path_distances.csv", "png": out / "kiosk_path.png"}
    paths["json"].write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n",
                             encoding="utf-8")
    with paths["paintings"].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(asdict(result.paintings[0])))
        writer.writeheader()
        for row in result.paintings:
            writer.writerow({**asdict(row), "feelings": ", ".join(row.feelings)})
    names = [row.name for row in result.paintings]
    with paths["distances"].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["painting", *names])
        for name, values in zip(names, result.distances, strict=True):
            writer.writerow([name, *values])
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 5.5),
                                         gridspec_kw={"width_ratios": [1.6, 1]})
    image = left.imshow(np.asarray(result.distances), cmap="viridis")
    short = [n[:18] for n in names]
    left.set_xticks(range(len(names)), short, rotation=90, fontsize=7)
    left.set_yticks(range(len(names)), short, fontsize=7)
    left.set_title(f"Mel distance between paintings, no comment (median "
                   f"{result.median_distance:.3f}; {result.distinct_prompts}/{len(names)} "
                   "distinct prompts)", fontsize=9)
    figure.colorbar(image, ax=left, fraction=0.04)
    labels = list(result.shares) or ["painting", "comment", "interaction"]
    x = np.arange(len(labels))
    for offset, (shares, hatch, name) in enumerate(
            ((result.shares, "", "Mel frame by frame"),
             (result.spectrum_shares, "//", "long-term spectrum"))):
        values = [100 * shares.get(k, 0.0) for k in labels]
        bars = right.bar(x + (offset - 0.5) * 0.4, values, width=0.4, hatch=hatch, label=name,
                         color=["#c08a3e", "#3e6fc0", "#999999"][: len(labels)])
        for bar, value in zip(bars, values, strict=True):
            right.text(bar.get_x() + bar.get_width() / 2, value + 1, f"{value:.1f}",
                       ha="center", fontsize=7)
    right.set_xticks(x, labels)
    right.legend(fontsize=7)
    right.set_ylim(0, 105)
    right.set_ylabel("% of the Mel variation over painting × comment")
    right.set_title("what changes the music", fontsize=9)
    figure.tight_layout()
    figure.savefig(paths["png"], dpi=110)
    plt.close(figure)
    return paths
