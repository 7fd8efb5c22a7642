"""A linear feelings head: image embedding → scores over the ArtEmis emotions (kiosk chips).

For CLIP bundles the chips can be zero-shot (text embeddings of emotion prompts); encoders
without a text side (the perceptual default) need a head trained on labelled paintings. The
labels are the ArtEmis emotion that leads each row's `painting_emotion` (Sec. III.A.3).
"""

from __future__ import annotations

from dataclasses import dataclass
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


def leading_emotion(painting_emotion: list[str]) -> str | None:
    """The ArtEmis label of a manifest row, if its emotion list starts with one."""
    if painting_emotion and painting_emotion[0] in ARTEMIS_EMOTIONS:
        return painting_emotion[0]
    return None


def save_feelings_head(directory: Path, head: dict, image_encoder: dict) -> Path:
    path = Path(directory) / "feelings.safetensors"
    save_tensors_atomic(path, {"weight": head["weight"], "bias": head["bias"]})
    save_json_atomic(Path(directory) / "feelings.json", {
        "labels": list(ARTEMIS_EMOTIONS),
        "train_accuracy": head["accuracy"],
        "label_counts": head["counts"],
        "image_encoder": image_encoder,
    })
    return path
