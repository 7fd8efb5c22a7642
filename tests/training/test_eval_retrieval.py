"""`main.py eval --retrieval`: the retrieval report on a tiny data set, end to end (real
training CLI, real cached embeddings, real files), checked against independent arithmetic."""

from __future__ import annotations

import csv
import json

import cv2
import numpy as np
import pytest

import main
from tests.conftest import write_tiny_dataset
from training.encoders import EncoderSpec
from training.features import _cache_path, _encode_cached, cache_image_embeddings
from training.retrieval.data import load_retrieval_data
from training.retrieval.train import embed_art, embed_music, evaluate, load_model
from training.retrieval.train import main as train_main

IMAGE = "perceptual:v1"
TEXT = "sentence_transformers:cached-only"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    import torch

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("eval-retrieval")
    data = write_tiny_dataset(root / "data", n_clips=6, rows_per_clip=4)
    cache_image_embeddings(data, EncoderSpec.parse(IMAGE))
    comments = sorted({json.loads(line)["comment"]
                       for line in (data / "manifest.jsonl").read_text().splitlines()})
    rng = np.random.default_rng(0)
    _encode_cached(_cache_path(data, "comment", EncoderSpec.parse(TEXT)), comments,
                   lambda batch: rng.normal(size=(len(batch), 6)).astype(np.float32), 64, "c")
    for name, features in (("run", "full"), ("colour", "colour")):
        assert train_main(["--data", str(data), "--out", str(root / name), "--epochs", "2",
                           "--image-encoder", IMAGE, "--text-encoder", TEXT,
                           "--art-features", features, "--embed-dim", "8"]) == 0
    return root, data


def test_eval_retrieval_report(runs, capsys):
    root, data = runs
    out = root / "eval"
    assert main.main(["eval", "--retrieval", str(root / "run"), "--retrieval-baseline",
                      str(root / "colour"), "--data", str(data), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "music → artwork, test split" in printed
    report = json.loads((out / "retrieval" / "retrieval.json").read_text())
    scores = report["scores"]
    model, _ = load_model(root / "run")
    dataset = load_retrieval_data(data, IMAGE, TEXT)
    collection = dataset.paintings("test")
    n = len(collection)
    assert scores["random"]["recall_at_5"] == pytest.approx(min(1.0, 5 / n))
    assert scores["model"] == evaluate(model, dataset, "test").to_dict()
    # music-blind, by hand: one query (mean training-clip embedding) for every pair
    pairs = dataset.pairs("test")
    mean = embed_music(model, dataset.mels[np.unique(dataset.rows["train"][:, 0])]).mean(0)
    art = embed_art(model, dataset.images[collection])
    order = list(collection[np.argsort(-(art @ (mean / np.linalg.norm(mean))))])
    blind_ranks = [order.index(p) + 1 for p in pairs[:, 1]]
    assert scores["music-blind"]["median_rank"] == pytest.approx(np.median(blind_ranks))
    assert set(scores) >= {"model", "colour-only", "music-blind", "random"}
    rows = list(csv.DictReader((out / "retrieval" / "retrieval.csv").open()))
    assert [r["ranker"] for r in rows][:4] == ["model", "colour-only", "music-blind", "random"]
    figure = cv2.imread(str(out / "retrieval" / "retrieval_examples.png"))
    assert figure is not None and figure.shape[1] > 1000


def test_eval_retrieval_needs_data(runs, capsys):
    root, _ = runs
    assert main.main(["eval", "--retrieval", str(root / "run")]) == 2
    assert "--data" in capsys.readouterr().out
