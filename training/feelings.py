"""A linear feelings head: image embedding → scores over the ArtEmis emotions (kiosk chips).

For CLIP bundles the chips can be zero-shot (text embeddings of emotion prompts); encoders
without a text side (perceptual, EfficientNet) need a head trained on labelled paintings. The
labels are the ArtEmis emotion that leads each row's `painting_emotion` (Sec. III.A.3).

`fit_and_report` trains it on the data set's train split (weight decay chosen on val) and
reports accuracy and a confusion matrix on the held-out test comments — paintings never seen
in training, the split is by image — against the majority-class guess::

    python -m training.feelings --data data/dataset --image-encoder \
        efficientnet:lite0+perceptual:imagenet --out runs/default/checkpoints

writes ``feelings.safetensors`` + ``feelings.json`` (what export reads) and
``feelings_report.json`` + ``feelings_confusion.png``. `main.py train` runs the same at the end.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from core.prompt import ARTEMIS_EMOTIONS
from training.checkpoint import save_json_atomic, save_tensors_atomic


@dataclass(frozen=True)
class FeelingsHeadConfig:
    epochs: int = 400
    learning_rate: float = 0.05
    weight_decay: float = 1e-3
    seed: int = 0


def fit_feelings_head(embeddings: np.ndarray, labels: list[str],
                      config: FeelingsHeadConfig = FeelingsHeadConfig()) -> dict:
    """Class-balanced multinomial logistic regression (full batch, Adam) over all 9 emotions.

    Returns weight [9, D], bias [9] and the training accuracy; emotions absent from the data
    keep a low bias so they are never the top chip by accident.
    """
    torch.manual_seed(config.seed)
    classes = list(ARTEMIS_EMOTIONS)
    targets = torch.tensor([classes.index(label) for label in labels])
    inputs = torch.from_numpy(np.asarray(embeddings, np.float32))
    counts = torch.bincount(targets, minlength=len(classes)).float()
    class_weights = torch.where(counts > 0, counts.sum() / (counts.clamp(min=1) * (counts > 0).sum()),
                                torch.zeros_like(counts))
    linear = torch.nn.Linear(inputs.shape[1], len(classes))
    optimizer = torch.optim.Adam(linear.parameters(), lr=config.learning_rate,
                                 weight_decay=config.weight_decay)
    loss_fn = torch.nn.CrossEntropyLoss(weight=class_weights)
    for _ in range(config.epochs):
        optimizer.zero_grad()
        loss_fn(linear(inputs), targets).backward()
        optimizer.step()
    with torch.no_grad():
        linear.bias[counts == 0] = linear.bias.min() - 5.0
        accuracy = float((linear(inputs).argmax(-1) == targets).float().mean())
    return {"weight": linear.weight.detach().clone(), "bias": linear.bias.detach().clone(),
            "accuracy": accuracy, "counts": counts.tolist()}


def predict(head: dict, embeddings: np.ndarray) -> np.ndarray:
    """Class indices (into ARTEMIS_EMOTIONS) a fitted head predicts for embeddings [N, D]."""
    inputs = torch.from_numpy(np.asarray(embeddings, np.float32))
    with torch.no_grad():
        return (inputs @ head["weight"].t() + head["bias"]).argmax(-1).numpy()


@dataclass
class FeelingsReport:
    """Held-out accuracy of the head against the majority-class guess, with its confusion."""

    labels: list[str]
    train_rows: int
    val_rows: int
    test_rows: int
    weight_decay: float
    train_accuracy: float
    val_accuracy: float | None
    test_accuracy: float | None
    majority_label: str
    majority_test_accuracy: float | None
    confusion: list[list[int]] = field(default_factory=list)
    """Rows: true emotion, columns: predicted emotion, on the test rows (label order above)."""
    per_class_recall: dict[str, float | None] = field(default_factory=dict)

    @property
    def margin(self) -> float | None:
        """Points by which the head beats the majority guess on the test rows."""
        if self.test_accuracy is None or self.majority_test_accuracy is None:
            return None
        return 100.0 * (self.test_accuracy - self.majority_test_accuracy)

    def to_dict(self) -> dict:
        return {**asdict(self), "margin_points": self.margin}


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    matrix = np.zeros((classes, classes), np.int64)
    np.add.at(matrix, (np.asarray(true, int), np.asarray(predicted, int)), 1)
    return matrix


def _accuracy(true: np.ndarray, predicted: np.ndarray) -> float | None:
    return float(np.mean(true == predicted)) if len(true) else None


def fit_and_report(embeddings: np.ndarray, labels: list[str | None], splits: list[str],
                   config: FeelingsHeadConfig = FeelingsHeadConfig(),
                   weight_decays: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 1e-1),
                   ) -> tuple[dict, FeelingsReport] | None:
    """Fits the head on the labelled train rows, picks the weight decay with the best val
    accuracy (the config's when there is no val row), and scores the test rows.

    Returns None when the train rows carry fewer than two emotions.
    """
    classes = list(ARTEMIS_EMOTIONS)
    rows = {name: [i for i, (label, split) in enumerate(zip(labels, splits, strict=True))
                   if label is not None and split == name] for name in ("train", "val", "test")}
    train_labels = [labels[i] for i in rows["train"]]
    if len(set(train_labels)) < 2:
        return None
    embeddings = np.asarray(embeddings, np.float32)
    targets = {name: np.array([classes.index(labels[i]) for i in index], int)
               for name, index in rows.items()}
    candidates = weight_decays if rows["val"] else (config.weight_decay,)
    best: tuple[float, float, dict] | None = None
    for decay in candidates:
        head = fit_feelings_head(embeddings[rows["train"]], train_labels,
                                 FeelingsHeadConfig(config.epochs, config.learning_rate, decay,
                                                    config.seed))
        score = (_accuracy(targets["val"], predict(head, embeddings[rows["val"]]))
                 if rows["val"] else head["accuracy"])
        if best is None or score > best[0]:
            best = (score, decay, head)
    assert best is not None
    _, decay, head = best
    test_predicted = (predict(head, embeddings[rows["test"]]) if rows["test"]
                      else np.zeros(0, int))
    majority = int(np.bincount(targets["train"], minlength=len(classes)).argmax())
    matrix = confusion_matrix(targets["test"], test_predicted, len(classes))
    recall = {label: (float(matrix[i, i] / matrix[i].sum()) if matrix[i].sum() else None)
              for i, label in enumerate(classes)}
    report = FeelingsReport(
        labels=classes, train_rows=len(rows["train"]), val_rows=len(rows["val"]),
        test_rows=len(rows["test"]), weight_decay=decay, train_accuracy=head["accuracy"],
        val_accuracy=(_accuracy(targets["val"], predict(head, embeddings[rows["val"]]))
                      if rows["val"] else None),
        test_accuracy=_accuracy(targets["test"], test_predicted),
        majority_label=classes[majority],
        majority_test_accuracy=_accuracy(targets["test"], np.full(len(targets["test"]), majority)),
        confusion=matrix.tolist(), per_class_recall=recall)
    return head, report


def plot_confusion(report: FeelingsReport, path: Path, title: str = "") -> None:
    """The test confusion matrix as a PNG, with the accuracies in the title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.asarray(report.confusion)
    figure, axis = plt.subplots(figsize=(8.5, 7.5))
    image = axis.imshow(matrix, cmap="Blues")
    ticks = range(len(report.labels))
    axis.set_xticks(ticks, report.labels, rotation=45, ha="right")
    axis.set_yticks(ticks, report.labels)
    for (i, j), count in np.ndenumerate(matrix):
        if count:
            axis.text(j, i, str(count), ha="center", va="center",
                      color="white" if count > matrix.max() / 2 else "black")
    axis.set_xlabel("predicted emotion")
    axis.set_ylabel("emotion of the held-out comment")
    accuracy = "—" if report.test_accuracy is None else f"{report.test_accuracy:.1%}"
    majority = ("—" if report.majority_test_accuracy is None
                else f"{report.majority_test_accuracy:.1%}")
    axis.set_title(f"{title}\nfeelings head on {report.test_rows} held-out comments: {accuracy} "
                   f"(majority guess '{report.majority_label}': {majority})", fontsize=10)
    figure.colorbar(image, ax=axis, fraction=0.04)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def train_feelings(data: Path, image_spec, out: Path, config: FeelingsHeadConfig = FeelingsHeadConfig(),
                   device: str = "cpu") -> FeelingsReport | None:
    """Caches the data set's image embeddings, fits and reports the head, and writes
    feelings.safetensors/.json, feelings_report.json and feelings_confusion.png into `out`."""
    from training.features import cache_image_embeddings

    rows, embeddings = cache_image_embeddings(Path(data), image_spec, device=device)
    labels = [leading_emotion(row.painting_emotion) for row in rows]
    result = fit_and_report(embeddings, labels, [row.split for row in rows], config)
    if result is None:
        return None
    head, report = result
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    save_feelings_head(out, head, image_spec.to_dict(), report)
    name = f"{image_spec.family}:{image_spec.name}"
    save_json_atomic(out / "feelings_report.json", {"image_encoder": image_spec.to_dict(),
                                                    "data": str(data), **report.to_dict()})
    plot_confusion(report, out / "feelings_confusion.png", name)
    return report


def leading_emotion(painting_emotion: list[str]) -> str | None:
    """The ArtEmis label of a manifest row, if its emotion list starts with one."""
    if painting_emotion and painting_emotion[0] in ARTEMIS_EMOTIONS:
        return painting_emotion[0]
    return None


def save_feelings_head(directory: Path, head: dict, image_encoder: dict,
                       report: FeelingsReport | None = None) -> Path:
    path = Path(directory) / "feelings.safetensors"
    save_tensors_atomic(path, {"weight": head["weight"], "bias": head["bias"]})
    save_json_atomic(Path(directory) / "feelings.json", {
        "labels": list(ARTEMIS_EMOTIONS),
        "train_accuracy": head["accuracy"],
        "label_counts": head["counts"],
        "image_encoder": image_encoder,
        **({} if report is None else {"test_accuracy": report.test_accuracy,
                                      "majority_test_accuracy": report.majority_test_accuracy,
                                      "weight_decay": report.weight_decay}),
    })
    return path


def main(argv: list[str] | None = None) -> int:
    from training.encoders import EncoderSpec

    parser = argparse.ArgumentParser(prog="python -m training.feelings", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="data set directory")
    parser.add_argument("--image-encoder", required=True,
                        help="family:name[:pretrained], e.g. efficientnet:lite0+perceptual:imagenet")
    parser.add_argument("--out", type=Path, required=True,
                        help="where to write the head and its report (a run's checkpoints/ folder "
                             "for export to find it)")
    parser.add_argument("--epochs", type=int, default=FeelingsHeadConfig.epochs)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    spec = EncoderSpec.parse(args.image_encoder)
    report = train_feelings(args.data, spec, args.out, FeelingsHeadConfig(epochs=args.epochs),
                            args.device)
    if report is None:
        print("feelings head: the train split has fewer than two labelled emotions; nothing fitted")
        return 1
    test = "—" if report.test_accuracy is None else f"{report.test_accuracy:.3f}"
    majority = "—" if report.majority_test_accuracy is None else f"{report.majority_test_accuracy:.3f}"
    margin = "—" if report.margin is None else f"{report.margin:+.1f} points"
    print(f"feelings head ({args.image_encoder}): {report.train_rows} train / {report.test_rows} "
          f"held-out comments, weight decay {report.weight_decay:g}; held-out accuracy {test} vs "
          f"majority '{report.majority_label}' {majority} ({margin}); report in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
