"""The feelings head: fitted on the train split, scored on held-out comments against the
majority-class guess, with a confusion matrix; its command runs on a tiny data set."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.prompt import ARTEMIS_EMOTIONS
from training.feelings import FeelingsHeadConfig, confusion_matrix, fit_and_report

REPO = Path(__file__).resolve().parents[2]
FAST = FeelingsHeadConfig(epochs=150)


def clustered(seed: int = 0, per_class: int = 30, dim: int = 16):
    """Embeddings whose class shows in the first dimensions; 'awe' is the most common label."""
    rng = np.random.default_rng(seed)
    classes = ["awe", "awe", "sadness", "contentment", "fear"]
    labels, vectors, splits = [], [], []
    for index, label in enumerate(classes * per_class):
        centre = np.zeros(dim)
        centre[ARTEMIS_EMOTIONS.index(label)] = 3.0
        vectors.append(centre + rng.normal(size=dim))
        labels.append(label)
        splits.append(("train", "train", "train", "val", "test")[(index // 5) % 5])
    return np.asarray(vectors, np.float32), labels, splits


def test_the_head_beats_the_majority_guess_on_held_out_comments():
    embeddings, labels, splits = clustered()
    head, report = fit_and_report(embeddings, labels, splits, FAST)
    assert report.majority_label == "awe"
    assert report.test_rows == splits.count("test")
    assert report.test_accuracy > 0.9 and report.majority_test_accuracy == pytest.approx(0.4)
    assert report.margin > 50
    matrix = np.asarray(report.confusion)
    assert matrix.shape == (9, 9) and matrix.sum() == report.test_rows
    assert np.trace(matrix) == round(report.test_accuracy * report.test_rows)
    assert report.per_class_recall["amusement"] is None  # no held-out amusement comment
    assert report.weight_decay in (1e-4, 1e-3, 1e-2, 1e-1)
    assert head["weight"].shape == (9, 16)


def test_unlabelled_rows_are_skipped_and_one_emotion_is_not_enough():
    embeddings, labels, splits = clustered(per_class=4)
    labels[0] = None
    _, report = fit_and_report(embeddings, labels, splits, FAST)
    assert report.train_rows == splits.count("train") - 1
    assert fit_and_report(embeddings, ["awe"] * len(labels), splits, FAST) is None


def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    matrix = confusion_matrix(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 0]), 3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 0]]


def test_the_command_trains_on_efficientnet_features_and_writes_the_report(tiny_dataset, tmp_path):
    out = tmp_path / "checkpoints"
    data = Path(shutil.copytree(tiny_dataset, tmp_path / "dataset"))  # its embedding cache is ours
    command = [sys.executable, "-m", "training.feelings", "--data", str(data),
               "--image-encoder", "efficientnet:lite0+perceptual:imagenet", "--out", str(out),
               "--epochs", "100"]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "held-out accuracy" in result.stdout and "majority" in result.stdout
    report = json.loads((out / "feelings_report.json").read_text())
    assert report["image_encoder"]["family"] == "efficientnet"
    assert report["test_rows"] == 2 and report["val_rows"] == 2 and report["train_rows"] == 12
    assert len(report["confusion"]) == 9 and sum(map(sum, report["confusion"])) == 2
    assert (out / "feelings_confusion.png").stat().st_size > 10_000
    head = json.loads((out / "feelings.json").read_text())
    assert head["image_encoder"] == {"family": "efficientnet", "name": "lite0+perceptual",
                                     "pretrained": "imagenet"}
    from safetensors.numpy import load_file

    assert load_file(str(out / "feelings.safetensors"))["weight"].shape == (9, 1339)
