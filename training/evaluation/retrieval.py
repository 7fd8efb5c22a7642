"""Music → artwork retrieval on held-out triplets (issue 11): `main.py eval --retrieval RUN`.

Every distinct (clip, painting) pair of the split is one query: the clip's Mel goes through the
music encoder and the split's paintings (the collection; all held out of training, the data set
is split by painting) are ranked by cosine to it. Reported: recall@1, recall@5, median and mean
rank of the pair's own painting for

* the trained model (``--retrieval RUN``);
* the colour-only baseline (``--retrieval-baseline RUN``: the same training with the art side
  reading only the 59 perceptual colour/light features);
* music-blind: every query is the mean training-clip embedding, so only the paintings'
  popularity in the shared space ranks them (a model that ignored the music would score this);
* random: the expected scores of a random ranking (recall@k = k / N).

Clips are shared between splits (the data set is split by painting), so the model's row is
also given for the queries whose clip never occurs in training ("model, unseen clips").

Writes ``OUT/retrieval/retrieval.json`` + ``.csv`` and ``retrieval_examples.png`` (a few queries
with their top-5 paintings, the pair's own painting framed).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.retrieval.data import (
    DEFAULT_IMAGE_ENCODER,
    DEFAULT_TEXT_ENCODER,
    RetrievalData,
    load_retrieval_data,
)
from training.retrieval.metrics import RetrievalScores, random_scores, ranks, scores_from_ranks
from training.retrieval.train import embed_art, embed_music, load_model


@dataclass
class RetrievalReport:
    split: str
    rows: dict[str, RetrievalScores]
    clips_seen_in_training: int
    clips: int
    examples: list[dict]

    def to_dict(self) -> dict:
        return {"split": self.split, "clips": self.clips,
                "clips_seen_in_training": self.clips_seen_in_training,
                "scores": {k: v.to_dict() for k, v in self.rows.items()},
                "examples": self.examples}


def _similarity(model, data: RetrievalData, split: str, blind: bool = False):
    pairs = data.pairs(split)
    collection = data.paintings(split)
    clips = np.unique(pairs[:, 0])
    music = embed_music(model, data.mels[clips])
    if blind:
        train_clips = np.unique(data.rows["train"][:, 0])
        mean = embed_music(model, data.mels[train_clips]).mean(axis=0)
        music = np.repeat((mean / np.linalg.norm(mean))[None], len(clips), axis=0)
    art = embed_art(model, data.images[collection])
    clip_pos = {c: i for i, c in enumerate(clips)}
    position = {p: i for i, p in enumerate(collection)}
    similarity = music[[clip_pos[c] for c in pairs[:, 0]]] @ art.T
    targets = np.array([position[p] for p in pairs[:, 1]])
    return pairs, collection, similarity, targets


def retrieval_report(run: Path, data_dir: Path, baseline: Path | None = None,
                     split: str = "test", examples: int = 4) -> RetrievalReport:
    model, info = load_model(run)
    provenance = info.get("provenance", {})
    data = load_retrieval_data(data_dir, provenance.get("image_encoder", DEFAULT_IMAGE_ENCODER),
                               provenance.get("text_encoder", DEFAULT_TEXT_ENCODER))
    pairs, collection, similarity, targets = _similarity(model, data, split)
    rows = {"model": scores_from_ranks(ranks(similarity, targets), len(collection))}
    if baseline is not None:
        colour, _ = load_model(baseline)
        _, _, colour_similarity, _ = _similarity(colour, data, split)
        rows["colour-only"] = scores_from_ranks(ranks(colour_similarity, targets),
                                                len(collection))
    _, _, blind, _ = _similarity(model, data, split, blind=True)
    rows["music-blind"] = scores_from_ranks(ranks(blind, targets), len(collection))
    rows["random"] = random_scores(len(pairs), len(collection))
    test_clips = set(np.unique(pairs[:, 0]).tolist())
    seen = test_clips & set(np.unique(data.rows["train"][:, 0]).tolist())
    unseen = np.array([c not in seen for c in pairs[:, 0]])
    if unseen.any():
        rows["model, unseen clips"] = scores_from_ranks(
            ranks(similarity[unseen], targets[unseen]), len(collection))
    chosen = np.random.default_rng(0).choice(len(pairs), size=min(examples, len(pairs)),
                                             replace=False)
    shown = []
    for q in sorted(chosen.tolist()):
        order = np.argsort(-similarity[q], kind="stable")[:5]
        shown.append({"clip": data.clip_ids[pairs[q, 0]],
                      "painting": data.image_paths[pairs[q, 1]],
                      "rank": int(ranks(similarity[q:q + 1], targets[q:q + 1])[0]),
                      "top": [{"painting": data.image_paths[collection[i]],
                               "score": float(similarity[q, i])} for i in order]})
    return RetrievalReport(split, rows, len(seen), len(test_clips), shown)


def write_report(report: RetrievalReport, out: Path, data_dir: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "retrieval.json", "csv": out / "retrieval.csv",
             "png": out / "retrieval_examples.png"}
    paths["json"].write_text(json.dumps(report.to_dict(), indent=1) + "\n", encoding="utf-8")
    with paths["csv"].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ranker", "queries", "collection", "recall_at_1", "recall_at_5",
                         "median_rank", "mean_rank"])
        for name, s in report.rows.items():
            writer.writerow([name, s.queries, s.collection, f"{s.recall_at_1:.4f}",
                             f"{s.recall_at_5:.4f}", f"{s.median_rank:g}", f"{s.mean_rank:.2f}"])
    _plot_examples(report, paths["png"], data_dir)
    return paths


def _plot_examples(report: RetrievalReport, path: Path, data_dir: Path) -> None:
    import cv2
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    manifest = {}
    with (Path(data_dir) / "manifest.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            manifest.setdefault(row["audio_id"], row)
    examples = report.examples
    import textwrap

    fig, axes = plt.subplots(len(examples), 7, figsize=(21, 3.3 * len(examples)), squeeze=False)
    for r, example in enumerate(examples):
        row = manifest.get(example["clip"], {})
        mel = np.load(Path(data_dir) / row["mel_path"]).astype(np.float32) if row else None
        ax = axes[r, 0]
        if mel is not None:
            ax.imshow(mel, origin="lower", aspect="auto", cmap="magma", vmin=-1, vmax=1)
        caption = textwrap.shorten(row.get("caption", ""), 90, placeholder="…")
        ax.set_title("query clip (log-Mel)\n" + "\n".join(textwrap.wrap(caption, 45)),
                     fontsize=8)
        ax.axis("off")
        ax = axes[r, 1]
        own_image = cv2.imread(example["painting"], cv2.IMREAD_COLOR)
        if own_image is not None:
            ax.imshow(cv2.cvtColor(own_image, cv2.COLOR_BGR2RGB))
        ax.set_title(f"its painting: rank #{example['rank']}", fontsize=9, color="green")
        ax.axis("off")
        for c, hit in enumerate(example["top"], start=2):
            ax = axes[r, c]
            image = cv2.imread(hit["painting"], cv2.IMREAD_COLOR)
            if image is not None:
                ax.imshow(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
            own = hit["painting"] == example["painting"]
            ax.set_title(f"#{c - 1}  cos {hit['score']:+.2f}" + ("  (its painting)" if own else ""),
                         fontsize=9, color="green" if own else "black")
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_edgecolor("green" if own else "white")
                spine.set_linewidth(5 if own else 0)
    collection = report.rows["model"].collection
    fig.suptitle(f"Music → artwork on held-out {report.split} paintings: each row a clip, its "
                 f"matched painting, and the top 5 of all {collection} (green: its own)",
                 fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def summary_lines(report: RetrievalReport) -> list[str]:
    lines = [f"music → artwork, {report.split} split: {report.rows['model'].queries} (clip, "
             f"painting) queries over a collection of {report.rows['model'].collection} "
             f"held-out paintings ({report.clips_seen_in_training} of {report.clips} clips also "
             "occur in training with other paintings)",
             f"{'ranker':<20} {'R@1':>6} {'R@5':>6} {'median rank':>12} {'mean rank':>10}"]
    for name, s in report.rows.items():
        lines.append(f"{name:<20} {s.recall_at_1:>6.3f} {s.recall_at_5:>6.3f} "
                     f"{s.median_rank:>12g} {s.mean_rank:>10.2f}")
    return lines
