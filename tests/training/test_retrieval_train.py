"""The retrieval model, its loss and scores, and its training loop on learnable synthetic data."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.retrieval_fixture import synthetic_data
from training.retrieval.metrics import random_scores, ranks, scores_from_ranks
from training.retrieval.model import (
    TINY,
    RetrievalConfig,
    RetrievalModel,
    mel_statistics,
    multi_positive_infonce,
)
from training.retrieval.train import TrainConfig, evaluate, load_model, train


def test_ranks_count_ties_against_the_target():
    similarity = np.array([[0.9, 0.5, 0.1],
                           [0.2, 0.2, 0.2],
                           [0.0, 0.3, 0.7]])
    assert ranks(similarity, np.array([0, 1, 1])).tolist() == [1, 3, 2]


def test_scores_from_ranks_and_random_expectation():
    scores = scores_from_ranks(np.array([1, 2, 6, 10]), collection=10)
    assert (scores.recall_at_1, scores.recall_at_5, scores.median_rank) == (0.25, 0.5, 4.0)
    assert scores.mean_rank == pytest.approx(4.75)
    chance = random_scores(100, 45)
    assert chance.recall_at_5 == pytest.approx(5 / 45)
    assert chance.median_rank == 23


def test_mel_statistics_known_answer():
    mel = torch.tensor([[[0.0, 1.0, 0.0, 1.0], [2.0, 2.0, 2.0, 2.0]]])
    stats = mel_statistics(mel)[0]
    np.testing.assert_allclose(stats[:2], [0.5, 2.0])
    np.testing.assert_allclose(stats[2:4], [0.5, 1e-3], atol=1e-6)
    np.testing.assert_allclose(stats[4:], [1.0, 0.0])


def test_infonce_is_log_batch_for_equal_logits_and_small_when_aligned():
    a = torch.nn.functional.normalize(torch.eye(4), dim=-1)
    eye = torch.eye(4, dtype=torch.bool)
    aligned = multi_positive_infonce(a, a, eye, torch.tensor(20.0))
    flat = multi_positive_infonce(a, a, eye, torch.tensor(0.0))
    assert float(flat) == pytest.approx(np.log(4), abs=1e-6)
    assert float(aligned) < 1e-6
    # two positives per row: the target is spread over both, so the loss is log 2 at best
    pairs = eye | torch.tensor([[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]],
                               dtype=torch.bool)
    b = torch.nn.functional.normalize(torch.tensor([[1., 0], [1, 0], [0, 1], [0, 1]]), dim=-1)
    assert float(multi_positive_infonce(b, b, pairs, torch.tensor(50.0))) == pytest.approx(
        np.log(2), abs=1e-4)


def test_towers_give_unit_vectors_and_colour_only_reads_the_last_features():
    model = RetrievalModel(TINY).eval()
    music = model.music(torch.rand(2, TINY.n_mels, 20) * 2 - 1)
    assert music.shape == (2, TINY.embed_dim)
    np.testing.assert_allclose(music.norm(dim=-1).detach(), 1.0, atol=1e-6)
    colour = RetrievalModel(RetrievalConfig(**{**TINY.to_dict(), "art_features": "colour"}))
    colour.eval()
    image = torch.rand(1, TINY.image_dim)
    changed = image.clone()
    changed[:, :TINY.image_dim - TINY.colour_dim] = 0  # only non-colour values change
    torch.testing.assert_close(colour.art(image), colour.art(changed))


def test_training_learns_a_shared_latent_and_round_trips(tmp_path):
    torch.set_num_threads(1)
    data = synthetic_data(n_mels=8, frames=16, image_dim=12, clips=40)
    config = RetrievalConfig(n_mels=8, image_dim=12, text_dim=6, embed_dim=8,
                             conv_channels=4, hidden=32, dropout=0.0)
    untrained = evaluate(RetrievalModel(config), data, "test")
    model, report = train(data, config, TrainConfig(epochs=60, batch_size=20, crop_frames=16,
                                                    level_shift=0.0, learning_rate=5e-3),
                          tmp_path / "run")
    test = evaluate(model, data, "test")
    assert test.collection == 10
    assert test.median_rank <= 2 < untrained.median_rank
    assert report["test"]["recall_at_5"] == pytest.approx(test.recall_at_5)
    loaded, info = load_model(tmp_path / "run")
    mel = torch.from_numpy(data.mels[:2])
    torch.testing.assert_close(loaded.music(mel), model.music(mel))
    assert info["best_epoch"] >= 1 and len(info["history"]) == 60


def test_load_model_names_the_missing_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="train it first"):
        load_model(tmp_path / "nowhere")
