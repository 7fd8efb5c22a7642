"""training.vocoder.distill: a lighter generator distilled from a bigger one, on tiny configs.

The teacher is a tiny generator with two residual blocks per stage (kernels 3 and 5), the
student the `tiny` config with one (kernel 3); the music is the shipped example pieces."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from core.audio_config import DEFAULT_AUDIO
from training.vocoder.checkpoint import atomic_save_tensors
from training.vocoder.config import TINY, V1, V1_K3, get_config
from training.vocoder.distill import (
    DistillOptions,
    distill,
    init_from_teacher,
    stage_loss,
    teacher_stages,
)
from training.vocoder.distill_cli import main as cli_main
from training.vocoder.generator import Generator
from training.vocoder.losses import multi_resolution_stft_loss
from training.vocoder.pretrained import load_generator

TEACHER_CONFIG = replace(TINY, name="tiny-teacher", resblock_kernel_sizes=(3, 5),
                         resblock_dilation_sizes=((1, 3), (1, 3)))

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def music(example_music: Path) -> Path:
    return example_music


@pytest.fixture(scope="module")
def teacher_file(tmp_path_factory) -> Path:
    """A tiny two-kernel generator saved as fine-tuning writes one (safetensors + sidecar)."""
    torch.manual_seed(3)
    teacher = Generator(TEACHER_CONFIG)
    path = tmp_path_factory.mktemp("teacher") / "generator.safetensors"
    atomic_save_tensors(teacher.state_dict(), path)
    path.with_suffix(".json").write_text(json.dumps({"hifigan": TEACHER_CONFIG.to_dict()}))
    return path


def _options(music: Path, teacher: Path, run_dir: Path, **overrides) -> DistillOptions:
    values = {"student": "tiny", "teacher": str(teacher), "max_steps": 4, "local_steps": 2,
              "batch_size": 2, "pool_windows": 8, "check_windows": 2, "check_frames": 48,
              "checkpoint_every": 2, "progress": False}
    return DistillOptions(music=music, run_dir=run_dir, **{**values, **overrides})


def test_v1_k3_keeps_v1_but_one_residual_block_per_stage():
    assert get_config("v1-k3") is V1_K3
    assert V1_K3.upsample_rates == V1.upsample_rates
    assert V1_K3.upsample_initial_channel == V1.upsample_initial_channel
    assert V1_K3.resblock_kernel_sizes == (3,) and V1_K3.hop_length == 256


def test_a_student_of_the_teachers_own_config_is_the_teacher(teacher_file):
    teacher = load_generator(teacher_file)
    student = Generator(TEACHER_CONFIG)
    copied, total = init_from_teacher(student, teacher)
    assert copied == total
    mel = torch.randn(1, 80, 12)
    with torch.no_grad():
        torch.testing.assert_close(student(mel), teacher(mel))
    assert stage_loss(student, teacher_stages(teacher, mel))[0].item() == pytest.approx(0, abs=1e-6)


def test_the_student_takes_the_teachers_blocks_of_the_same_kernel(teacher_file):
    teacher = load_generator(teacher_file)
    student = Generator(TINY)
    copied, total = init_from_teacher(student, teacher)
    assert copied == total  # every student tensor has a teacher counterpart
    s, t = student.state_dict(), teacher.state_dict()
    # stage 2, the student's block 2 is the teacher's block 2·2 + 0 (kernel 3), not 5 (kernel 5)
    key = "resblocks.2.convs.0.parametrizations.weight.original1"
    torch.testing.assert_close(s[key], t["resblocks.4.convs.0.parametrizations.weight.original1"])
    assert s[key].shape != t["resblocks.5.convs.0.parametrizations.weight.original1"].shape
    mel = torch.randn(1, 80, 12)
    loss, terms = stage_loss(student, teacher_stages(teacher, mel))
    assert loss.item() > 0.05 and len([k for k in terms if k.startswith("stage") and k[5:].isdigit()]) == 3


def test_multi_resolution_stft_loss_is_zero_only_for_the_same_audio():
    audio = torch.randn(2, 8192)
    assert multi_resolution_stft_loss(audio, audio).item() == pytest.approx(0, abs=1e-6)
    assert multi_resolution_stft_loss(audio, 0.5 * audio).item() > 0.3


def test_distillation_brings_the_student_closer_to_the_teacher(music, teacher_file, tmp_path):
    run = tmp_path / "run"
    result = distill(_options(music, teacher_file, run, max_steps=30, local_steps=20,
                              checkpoint_every=30))
    first, last = result.scores[0], result.scores[-1]
    assert (first.step, last.step) == (0, 30)
    assert last.mcd_db < first.mcd_db
    assert np.isfinite(last.buzz_db)  # the check measures the frame-rate buzz too
    logged = [json.loads(line) for line in (run / "losses.jsonl").read_text().splitlines()]
    assert "line" not in logged[0] and all("line" in row for row in logged[20:])
    report = json.loads((run / "distill_report.json").read_text())
    assert report["student"] == "tiny" and len(report["scores"]) == 2
    assert (run / "distill_curve.png").stat().st_size > 0
    # what the exporter reads: the checkpoint with its config sidecar
    loaded = load_generator(run / "checkpoints" / "generator.safetensors")
    assert loaded.config.resblock_kernel_sizes == (3,)


def test_a_resumed_run_equals_an_uninterrupted_one(music, teacher_file, tmp_path):
    whole = distill(_options(music, teacher_file, tmp_path / "whole"))
    distill(_options(music, teacher_file, tmp_path / "split", max_steps=2))
    resumed = distill(_options(music, teacher_file, tmp_path / "split", resume=True))
    assert whole.step == resumed.step == 4
    a = load_file(str(tmp_path / "whole" / "checkpoints" / "generator.safetensors"))
    b = load_file(str(tmp_path / "split" / "checkpoints" / "generator.safetensors"))
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=1e-6, rtol=0)
    steps = [json.loads(line)["step"] for line in
             (tmp_path / "split" / "losses.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]


def test_an_existing_run_or_a_half_written_checkpoint_is_refused(music, teacher_file, tmp_path):
    run = tmp_path / "run"
    distill(_options(music, teacher_file, run, max_steps=2))
    with pytest.raises(FileExistsError, match="--resume"):
        distill(_options(music, teacher_file, run))
    sidecar = run / "checkpoints" / "generator.json"
    values = json.loads(sidecar.read_text())
    sidecar.write_text(json.dumps({**values, "step": 7}))
    with pytest.raises(ValueError, match="interrupted"):
        distill(_options(music, teacher_file, run, resume=True))


def test_the_cli_checks_numbers_and_reports(music, teacher_file, tmp_path, capsys):
    base = ["--music", str(music), "--teacher", str(teacher_file), "--student", "tiny",
            "--no-progress", "--pool-windows", "4", "--batch-size", "2"]
    assert cli_main([*base, "--run-dir", str(tmp_path / "a"), "--batch-size", "0"]) == 2
    assert "--batch-size must be positive" in capsys.readouterr().err
    assert cli_main([*base, "--run-dir", str(tmp_path / "a"), "--line-weight", "-1"]) == 2
    assert "--line-weight must be 0 or more" in capsys.readouterr().err
    assert cli_main([*base, "--run-dir", str(tmp_path / "b"), "--max-steps", "1",
                     "--local-steps", "0"]) == 0
    out = capsys.readouterr().out
    assert "step 1" in out and "MCD to the teacher" in out
    assert cli_main([*base, "--run-dir", str(tmp_path / "c"), "--music",
                     str(tmp_path / "missing")]) == 1
    assert "not a folder" in capsys.readouterr().err
    assert np.isfinite(json.loads((tmp_path / "b" / "distill_report.json").read_text())
                       ["scores"][-1]["mcd_db"])


def test_a_run_ships_as_a_float16_generator_the_exporter_loads(music, teacher_file, tmp_path,
                                                               capsys):
    from export.vocoder import load_vocoder
    from training.vocoder.ship import main as ship_main

    run = tmp_path / "run"
    distill(_options(music, teacher_file, run, max_steps=2))
    assert ship_main(["--run-dir", str(tmp_path / "none"), "--out", str(tmp_path / "x")]) == 1
    assert "distill-vocoder (or train-vocoder) first" in capsys.readouterr().err
    assert ship_main(["--run-dir", str(run), "--out", str(tmp_path / "shipped")]) == 0
    assert "step 2" in capsys.readouterr().out
    stored = load_file(str(tmp_path / "shipped" / "generator.safetensors"))
    assert all(value.dtype == torch.float16 for value in stored.values())
    sidecar = json.loads((tmp_path / "shipped" / "generator.json").read_text())
    assert "MIT" in sidecar["licence"] and "step-2" in sidecar["stored"]
    source = load_vocoder(tmp_path / "shipped", DEFAULT_AUDIO)
    original = load_generator(run / "checkpoints" / "generator.safetensors")
    mel = torch.randn(1, 80, 8)
    with torch.no_grad():
        torch.testing.assert_close(source.generator(mel), original(mel), atol=2e-2, rtol=0)
