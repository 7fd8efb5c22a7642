"""Training under torchrun: 2 gloo processes follow the one-process loss curve, resume exactly.

The two-process runs are the real CLI (`torchrun --standalone --nproc_per_node 2 main.py
train|train-vocoder`) on the CPU, stopped part-way and resumed from their checkpoint; the
reference is the same tiny config straight through in one process. With global batch semantics
(each rank takes half of every global batch, DDP averages the gradients) the curves agree to
the float rounding of the all-reduce. One torchrun launch per trainer keeps this under a minute.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.conftest import TINY_CLIP
from training.checkpoint import load_sidecar, load_tensors
from training.distributed import Distributed
from training.trainer import train
from training.vocoder.finetune import FinetuneOptions, finetune

REPO = Path(__file__).resolve().parents[2]



def torchrun(*args: str, processes: int = 2) -> subprocess.CompletedProcess:
    """`main.py` under torchrun on the CPU (gloo). The data set's embeddings are cached by the
    one-process reference run first, so the ranks build no encoder."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc_per_node={processes}", "main.py", *args]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=240)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_one_process_is_rank_0_of_1_and_shards_nothing():
    context = Distributed.from_env("cpu")
    assert (context.rank, context.world_size, context.enabled) == (0, 1, False)
    rows = torch.arange(5)
    assert context.shard(rows)[0] is rows and context.shard(rows)[1] == 1.0


def test_shards_of_a_global_batch_weight_the_mean_back_to_the_global_mean():
    rows = torch.arange(5)
    shards = [Distributed(rank, 2).shard(rows) for rank in range(2)]
    assert [s[0].tolist() for s in shards] == [[0, 2, 4], [1, 3]]
    # mean over ranks of weight·(shard mean) == the global mean, for any per-row losses
    losses = torch.tensor([0.3, 1.0, 2.0, 5.0, 7.0])
    weighted = [losses[s].mean() * w for s, w in shards]
    assert float(sum(weighted) / 2) == pytest.approx(float(losses.mean()))
    # a rank without rows still takes part (the first row), with weight 0
    rows, weight = Distributed(2, 3).shard(torch.arange(2))
    assert rows.tolist() == [0] and weight == 0.0


def _train_args(data: Path, out: Path, **extra: str) -> list[str]:
    args = {"data": data, "out": out, "image-encoder": TINY_CLIP, "text-encoder": TINY_CLIP,
            "model-size": "tiny", "epochs": 2, "batch-size": 4, "learning-rate": 1e-2,
            "checkpoint-every": 2, "device": "cpu", "num-threads": 1, **extra}
    return ["train", *[item for key, value in args.items() for item in (f"--{key}", str(value))]]


def test_train_two_gloo_processes_follow_the_single_process_curve_and_resume(
        tiny_dataset, tmp_path):
    from tests.training.test_train import tiny_config

    single = tmp_path / "single"
    previous = torch.get_num_threads()
    try:
        train(tiny_config(tiny_dataset, single, epochs=2))  # also writes the embedding cache
        # Two processes for the first epoch, stopped at step 3 ...
        double = tmp_path / "double"
        torchrun(*_train_args(tiny_dataset, double, **{"max-steps": "3"}))
        assert load_sidecar(double / "checkpoints", "last")["step"] == 3
        assert (double / "loss_curves.png").stat().st_size > 10_000  # rank 0's figures
        # ... resumed to the end (every rank reads the same checkpoint; here one process).
        train(tiny_config(tiny_dataset, double, epochs=2, resume=True))
    finally:
        torch.set_num_threads(previous)

    one = load_sidecar(single / "checkpoints", "last")["history"]
    two = load_sidecar(double / "checkpoints", "last")["history"]
    assert len(one["train_loss"]) == len(two["train_loss"]) >= 6
    assert two["train_step"] == one["train_step"]
    assert two["train_loss"] == pytest.approx(one["train_loss"], rel=1e-4, abs=1e-5)
    assert two["val_loss"] == pytest.approx(one["val_loss"], rel=1e-4, abs=1e-5)
    a = load_tensors(single / "checkpoints" / "last.safetensors")
    b = load_tensors(double / "checkpoints" / "last.safetensors")
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(b[name], a[name], rtol=1e-4, atol=1e-5, msg=name)


def test_train_vocoder_two_gloo_processes_follow_the_single_process_curve_and_resume(tmp_path):
    from tests.training.test_vocoder_finetune import write_wav_dataset

    (tmp_path / "data").mkdir()
    dataset = write_wav_dataset(tmp_path / "data")
    single = tmp_path / "single"
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        finetune(FinetuneOptions(dataset=dataset, run_dir=single, config="tiny", max_steps=4,
                                 checkpoint_every=2, log_every=1, progress=False,
                                 device="cpu", predicted_mels=dataset / "predicted",
                                 predicted_fraction=0.5))
    finally:
        torch.set_num_threads(previous)
    double = tmp_path / "double"
    common = ["train-vocoder", "--dataset", str(dataset), "--run-dir", str(double),
              "--config", "tiny", "--checkpoint-every", "2", "--log-every", "1",
              "--no-progress", "--device", "cpu", "--predicted-mels", str(dataset / "predicted")]
    torchrun(*common, "--max-steps", "2")
    # resumed to step 4 from the two-process checkpoint (every rank reads the same files)
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        finetune(FinetuneOptions(dataset=dataset, run_dir=double, config="tiny", max_steps=4,
                                 resume=True, checkpoint_every=2, log_every=1, progress=False,
                                 device="cpu", predicted_mels=dataset / "predicted",
                                 predicted_fraction=0.5))
    finally:
        torch.set_num_threads(previous)

    def curve(run: Path) -> list[dict]:
        return [json.loads(line) for line in (run / "losses.jsonl").read_text().splitlines()]

    one, two = curve(single), curve(double)
    assert [r["step"] for r in two] == [r["step"] for r in one] == [1, 2, 3, 4]
    for a, b in zip(one, two, strict=True):
        for key in ("loss_g", "loss_d", "mel_l1", "fm", "adv", "predicted_share"):
            assert b[key] == pytest.approx(a[key], rel=1e-3, abs=1e-4), (a["step"], key)
    g1 = load_tensors(single / "checkpoints" / "generator.safetensors")
    g2 = load_tensors(double / "checkpoints" / "generator.safetensors")
    # Adam moves a weight by at most ~lr (2e-4) a step whatever its gradient's size, so a
    # near-zero gradient whose rounding differs can move it up to 4 steps × lr differently.
    for name in g1:
        torch.testing.assert_close(g2[name], g1[name], rtol=0, atol=4 * 2e-4, msg=name)

