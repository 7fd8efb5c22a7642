"""The kiosk-path report of `main.py eval --bundle`: distinct prompts, pairwise Mel distances and
the painting / comment shares of the variation, composed through Engine.compose."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import main
from training.evaluation.kiosk_path import painting_files, pairwise_distances, variation_shares

REPO = Path(__file__).resolve().parents[2]


def test_shares_of_a_grid_that_only_the_painting_changes_or_only_the_comment():
    rng = np.random.default_rng(0)
    by_painting = rng.normal(size=(4, 1, 10))
    assert variation_shares(np.repeat(by_painting, 3, axis=1)) == pytest.approx(
        {"painting": 1.0, "comment": 0.0, "interaction": 0.0})
    by_comment = rng.normal(size=(1, 3, 10))
    assert variation_shares(np.repeat(by_comment, 4, axis=0))["comment"] == pytest.approx(1.0)
    mixed = variation_shares(rng.normal(size=(4, 3, 10)))
    assert sum(mixed.values()) == pytest.approx(1.0)


def test_pairwise_distance_is_the_mean_absolute_difference():
    mels = np.stack([np.zeros((2, 3)), np.full((2, 3), 0.5), np.full((2, 3), -1.0)])
    distances = pairwise_distances(mels)
    assert distances.tolist() == [[0.0, 0.5, 1.0], [0.5, 0.0, 1.5], [1.0, 1.5, 0.0]]


def test_paintings_come_from_folders_files_and_jsonl(tmp_path):
    folder = REPO / "assets" / "artworks"
    corpus = tmp_path / "paintings.jsonl"
    corpus.write_text(json.dumps({"image_path": str(folder / "leonardo_mona_lisa.jpg")}) + "\n")
    files = painting_files((folder, corpus))
    assert files[0].name == "bruegel_the_harvesters.jpg" and len(files) == 8  # no duplicate
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(FileNotFoundError, match="no paintings"):
        painting_files((empty,))


def test_main_eval_with_a_bundle_writes_the_kiosk_path_report(tiny_bundle, tmp_path, capsys):
    # in this process: tests/training/test_musicality.py runs `main.py eval --bundle` itself,
    # and tests the musicality report (on by default)
    assert main.main(["eval", "--bundle", str(tiny_bundle), "--out", str(tmp_path),
                      "--limit", "3", "--no-musicality"]) == 0
    out = capsys.readouterr().out
    assert "distinct prompts" in out and "of the long-term spectrum: painting" in out
    report = json.loads((tmp_path / "kiosk_path" / "kiosk_path.json").read_text())
    assert len(report["paintings"]) == 3 and len(report["distances"]) == 3
    assert report["paintings"][0]["prompt"].startswith("Art Commentary: ")
    assert len(report["paintings"][0]["feelings"]) == 1  # the kiosk's rule: the top feeling
    assert sum(report["shares"].values()) == pytest.approx(1.0)
    assert sum(report["spectrum_shares"].values()) == pytest.approx(1.0)
    assert report["median_distance"] > 0
    for name in ("kiosk_path_paintings.csv", "kiosk_path_distances.csv", "kiosk_path.png"):
        assert (tmp_path / "kiosk_path" / name).stat().st_size > 0
    assert not (tmp_path / "musicality").exists()
    assert main.main(["eval", "--out", str(tmp_path)]) == 2
    assert "--bundle" in capsys.readouterr().out


def test_spectrum_shares_ignore_when_things_happen():
    rng = np.random.default_rng(3)
    level = rng.normal(size=(4, 1, 6, 1))  # each painting its own long-term spectrum
    timing = rng.normal(size=(4, 3, 6, 40)) * 2.0  # every piece its own onsets, mean zero
    timing -= timing.mean(axis=-1, keepdims=True)
    grid = level + timing
    assert variation_shares(grid)["painting"] < 0.5
    assert variation_shares(grid.mean(axis=-1))["painting"] == pytest.approx(1.0)


def test_replicated_shares_split_the_draw_from_painting_times_comment():
    from training.evaluation.kiosk_path import replicated_shares

    rng = np.random.default_rng(5)
    cells = rng.normal(size=(4, 3, 1, 6))  # painting × comment together, no main effects
    cells -= cells.mean(axis=0, keepdims=True)
    cells -= cells.mean(axis=1, keepdims=True)
    steady = np.repeat(cells, 2, axis=2)
    assert replicated_shares(steady) == pytest.approx(
        {"painting": 0.0, "comment": 0.0, "interaction": 1.0, "draw": 0.0}, abs=1e-9)
    noise = rng.normal(size=(1, 1, 5, 6))
    noise -= noise.mean(axis=2, keepdims=True)
    only_draws = np.broadcast_to(noise, (4, 3, 5, 6))  # every cell the same spread of draws
    assert replicated_shares(only_draws)["draw"] == pytest.approx(1.0)
    mixed = replicated_shares(rng.normal(size=(4, 3, 2, 6)))
    assert sum(mixed.values()) == pytest.approx(1.0)


def test_kiosk_path_draws_are_seeded_and_averaged(tiny_bundle, tmp_path, capsys):
    from training.evaluation.kiosk_path import KioskPathConfig, kiosk_path_report

    config = KioskPathConfig(bundle=tiny_bundle, paintings=(REPO / "assets" / "artworks",),
                             out=tmp_path, limit=3, draws=2, seed=11)
    first, again = kiosk_path_report(config), kiosk_path_report(config)
    assert len(first.draw_shares) == 2 and first.replicated_shares
    assert sum(first.replicated_shares.values()) == pytest.approx(1.0)
    assert first.shares == pytest.approx(
        {k: np.mean([d[k] for d in first.draw_shares]) for k in first.shares})
    assert first.to_dict() == again.to_dict()  # a seed reproduces the report
    with pytest.raises(ValueError, match="draws must be at least 1"):
        kiosk_path_report(KioskPathConfig(bundle=tiny_bundle, paintings=config.paintings,
                                          out=tmp_path, draws=0))
    assert main.main(["eval", "--bundle", str(tiny_bundle), "--out", str(tmp_path),
                      "--limit", "2", "--no-musicality", "--kiosk-draws", "2",
                      "--kiosk-seed", "3"]) == 0
    assert "kiosk path over 2 draws" in capsys.readouterr().out
