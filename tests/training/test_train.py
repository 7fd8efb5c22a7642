"""Training runs end to end on a tiny data set: loss falls, resumes are exact, CLI works."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import main
from tests.conftest import TINY_CLIP
from training.checkpoint import load_sidecar, load_tensors
from training.config import TrainConfig
from training.trainer import train

REPO = Path(__file__).resolve().parents[2]


def tiny_config(data: Path, out: Path, **overrides) -> TrainConfig:
    # one thread (tests/conftest.py, one_torch_thread): on the shared 2-core machine one
    # epoch took 2.5–3.5 s with one thread and 18–24 s with two (OpenMP barriers)
    values = dict(data=data, out=out, image_encoder=TINY_CLIP, text_encoder=TINY_CLIP,
                  model_size="tiny", epochs=3, batch_size=4, learning_rate=1e-2,
                  checkpoint_every=2, device="cpu", num_threads=1)
    values.update(overrides)
    return TrainConfig(**values)


@pytest.fixture(scope="module", autouse=True)
def torch_threads_restored():
    """train() sets PyTorch's process-wide thread count: the next modules get theirs back."""
    previous = torch.get_num_threads()
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def one_epoch_run(tiny_dataset, tmp_path_factory) -> Path:
    """One epoch of the tiny run, shared by the tests that read what it wrote."""
    out = tmp_path_factory.mktemp("one-epoch") / "run"
    train(tiny_config(tiny_dataset, out, epochs=1))
    return out


def test_loss_goes_down_and_artifacts_are_written(tiny_dataset, tmp_path):
    summary = train(tiny_config(tiny_dataset, tmp_path / "run", epochs=6))
    state = load_sidecar(tmp_path / "run" / "checkpoints", "last")
    losses = state["history"]["train_loss"]
    first, last = sum(losses[:3]) / 3, sum(losses[-3:]) / 3
    assert last < 0.7 * first, f"loss did not fall: {first:.3f} → {last:.3f}"
    assert summary["epoch"] == 6
    for name in ("best.safetensors", "best.json", "last.safetensors", "last.optim.safetensors"):
        assert (tmp_path / "run" / "checkpoints" / name).exists()
    assert (tmp_path / "run" / "loss_curves.png").stat().st_size > 10_000
    assert (tmp_path / "run" / "mel_validation.png").stat().st_size > 10_000
    best = load_sidecar(tmp_path / "run" / "checkpoints", "best")
    assert best["val_loss"] == pytest.approx(min(state["history"]["val_loss"]))
    assert best["model_config"]["decoder"]["frames"] == 896


def test_interrupted_run_resumes_to_the_same_state(tiny_dataset, tmp_path):
    straight = tmp_path / "straight"
    train(tiny_config(tiny_dataset, straight, epochs=2))
    interrupted = tmp_path / "interrupted"
    summary = train(tiny_config(tiny_dataset, interrupted, epochs=2, max_steps=4))
    assert summary["stopped_early"] and summary["step"] == 4
    train(tiny_config(tiny_dataset, interrupted, epochs=2, resume=True))
    a = load_tensors(straight / "checkpoints" / "last.safetensors")
    b = load_tensors(interrupted / "checkpoints" / "last.safetensors")
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=1e-6, msg=name)
    history_a = load_sidecar(straight / "checkpoints", "last")["history"]
    history_b = load_sidecar(interrupted / "checkpoints", "last")["history"]
    assert history_a["train_loss"] == pytest.approx(history_b["train_loss"], abs=1e-6)


def test_existing_run_is_not_overwritten_without_resume(tiny_dataset, one_epoch_run):
    with pytest.raises(FileExistsError, match="--resume"):
        train(tiny_config(tiny_dataset, one_epoch_run, epochs=1))


def test_embeddings_are_cached_once(tiny_dataset, one_epoch_run, tmp_path):
    cache = sorted((tiny_dataset / "embeddings").glob("*.safetensors"))
    assert len(cache) == 2
    mtimes = [path.stat().st_mtime_ns for path in cache]
    train(tiny_config(tiny_dataset, tmp_path / "run2", epochs=1))
    assert [path.stat().st_mtime_ns for path in cache] == mtimes


def test_train_cli_runs_as_a_subprocess(tiny_dataset, tmp_path):
    out = tmp_path / "cli-run"
    command = [sys.executable, "-c",
               "import sys; from tests.conftest import register_tiny_open_clip as r; r(); "
               "import main; sys.exit(main.main(sys.argv[1:]))",
               "train", "--data", str(tiny_dataset), "--out", str(out),
               "--image-encoder", TINY_CLIP, "--text-encoder", TINY_CLIP,
               "--model-size", "tiny", "--epochs", "1", "--batch-size", "4", "--device", "cpu",
               "--num-threads", "1"]  # as tiny_config
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout[result.stdout.index("{"):])
    assert summary["epoch"] == 1 and summary["step"] == 3
    assert (out / "checkpoints" / "best.safetensors").exists()


def test_train_help_lists_paper_defaults(capsys):
    # in this process: tests/test_main_cli.py runs `main.py train --help` itself
    with pytest.raises(SystemExit) as exited:
        main.main(["train", "--help"])
    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for expected in ("default: 10", "default: 32", "default: 0.0001", "default: 1.5",
                     "ViT-H-14", "--resume"):
        assert expected in text


def test_feelings_head_is_fitted_on_artemis_labels(one_epoch_run):
    head = json.loads((one_epoch_run / "checkpoints" / "feelings.json").read_text())
    assert head["labels"][0] == "amusement" and len(head["labels"]) == 9
    assert head["train_accuracy"] > 0.7
    tensors = load_tensors(one_epoch_run / "checkpoints" / "feelings.safetensors")
    assert tensors["weight"].shape == (9, 32)
